/**
 * `decoyd lab`: a ready-to-scan demo. Builds the `decoyd-demo` namespace lab, runs decoyd in the
 * honeynet namespace on the demo configuration, tells the user how to scan it from the scanner
 * namespace, streams decoyd's log, and on Ctrl-C (or SIGTERM) stops decoyd and deletes the lab.
 */
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { createLab, destroyLabNamed, type Lab } from './netns';
import { splitLines } from './run-command';
import { loadConfig } from '../config/load';

export const DEMO_LAB_NAME = 'decoyd-demo';

export interface DemoLabOptions {
  /** Configuration to run; default configs/demo.yaml of this checkout. */
  configPath?: string;
  /** Compiled CLI entry point; default dist/daemon/src/cli/main.js next to this file. */
  mainJs?: string;
  /** Where instructions and the daemon's log go; default process.stdout / process.stderr. */
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
  /** How long to wait for the daemon's `daemon.start` line; default 30 s. */
  readyTimeoutMs?: number;
  /** For tests: resolves to stop the demo as a signal would. */
  stopSignal?: Promise<void>;
}

/** dist/daemon/src/lab → repository root. */
const REPO_ROOT = resolve(__dirname, '../../../..');
const DAEMON_STOP_GRACE_MS = 5_000;

/**
 * Runs the demo until SIGINT/SIGTERM (or the daemon exits); always deletes the lab.
 * Resolves with a process exit code: 0 after a requested stop, else the daemon's failure.
 */
export async function runDemoLab(opts: DemoLabOptions = {}): Promise<number> {
  const out = opts.out ?? process.stdout;
  const err = opts.err ?? process.stderr;
  const configPath = resolve(opts.configPath ?? resolve(REPO_ROOT, 'configs/demo.yaml'));
  const mainJs = opts.mainJs ?? resolve(__dirname, '../cli/main.js');
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    err.write('decoyd lab: needs root (it creates network namespaces); try: sudo decoyd lab\n');
    return 1;
  }
  if (!existsSync(mainJs)) {
    err.write(`decoyd lab: ${mainJs} is missing; run npm run build\n`);
    return 1;
  }
  // Fail on a bad configuration before building anything.
  const config = loadConfig(configPath, { checkDataFiles: false });

  const stale = await destroyLabNamed(DEMO_LAB_NAME);
  if (stale.length > 0) err.write(`decoyd lab: removed a stale lab: ${stale.join(', ')}\n`);

  let requestedStop = false;
  let wake: () => void = () => undefined;
  const stopRequested = new Promise<void>((resolveStop) => {
    wake = resolveStop;
  });
  const onSignal = (): void => {
    requestedStop = true;
    wake();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  void opts.stopSignal?.then(onSignal);

  let lab: Lab | undefined;
  let daemon: ChildProcess | undefined;
  try {
    lab = await createLab({ name: DEMO_LAB_NAME, unique: false });
    const child = lab.spawn(lab.honeyNs, [process.execPath, mainJs, 'run', '--config', configPath, '--interface', lab.honeyIf], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    daemon = child;
    const exited = new Promise<number>((resolveExit) => {
      child.once('exit', (code, signal) => resolveExit(code ?? (signal ? 128 : 1)));
    });
    child.stderr?.pipe(err, { end: false });

    let readyTimer: NodeJS.Timeout | undefined;
    const ready = new Promise<boolean>((resolveReady) => {
      readyTimer = setTimeout(() => resolveReady(false), opts.readyTimeoutMs ?? 30_000);
      splitLines(child.stdout, (line) => {
        out.write(`${line}\n`);
        if (line.includes('"action":"daemon.start"')) resolveReady(true); // the ECS event.action
      });
    });
    const first = await Promise.race([ready.then((ok) => (ok ? 'ready' : 'timeout')), exited.then(() => 'exited'), stopRequested.then(() => 'stop')]);
    if (readyTimer) clearTimeout(readyTimer);
    if (first === 'ready') {
      out.write(instructions(lab, config.hosts, config.claims));
    } else if (first === 'timeout') {
      err.write('decoyd lab: the daemon did not report daemon.start in time; stopping\n');
      return 1;
    } else if (first === 'exited') {
      const code = await exited;
      err.write(`decoyd lab: the daemon exited (${code}) before it was ready\n`);
      return code === 0 ? 1 : code;
    }
    if (first === 'ready') {
      const why = await Promise.race([exited.then(() => 'exited' as const), stopRequested.then(() => 'stop' as const)]);
      if (why === 'exited') {
        const code = await exited;
        err.write(`decoyd lab: the daemon exited (${code})\n`);
        return code;
      }
    }
    return 0;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    if (daemon) await stopChild(daemon);
    if (lab) {
      await lab.destroy();
      err.write(`decoyd lab: ${requestedStop ? 'stopped; ' : ''}lab ${lab.name} removed\n`);
    }
  }
}

function instructions(lab: Lab, hosts: ReadonlyArray<{ address: string; template: string }>, claims: ReadonlyArray<{ range: string; template: string }>): string {
  const scan = `ip netns exec ${lab.scannerNs}`;
  const first = hosts[0]?.address ?? '198.51.100.10';
  const lines = [
    '',
    `decoyd lab is up. Scanner namespace: ${lab.scannerNs} (${lab.scannerAddress} on ${lab.scannerIf});`,
    `decoyd runs in ${lab.honeyNs} on ${lab.honeyIf}, which has no address of its own.`,
    '',
    'Decoys:',
    ...hosts.map((h) => `  ${h.address.padEnd(16)} ${h.template}`),
    ...claims.map((c) => `  ${c.range.padEnd(16)} ${c.template} (claimed after unanswered ARP)`),
    '',
    'Try, from another terminal:',
    `  sudo ${scan} nmap -sS -O ${first}`,
    `  sudo ${scan} nmap -sn ${lab.scannerAddress.replace(/\.\d+\//, '.0/')}`,
    `  sudo ${scan} arping -c 3 -i ${lab.scannerIf} ${first}`,
    `  sudo ${scan} hping3 -S -p 22 -c 3 ${first}`,
    `  sudo ${scan} ping -c 3 ${first}`,
    '',
    'Press Ctrl-C to stop decoyd and remove the lab.',
    '',
  ];
  return `${lines.join('\n')}\n`;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.pid !== undefined) kill(child.pid, 'SIGKILL');
  }, DAEMON_STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

