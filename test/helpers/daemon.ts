/**
 * Starts the real decoyd (compiled CLI) inside a lab's honeynet namespace and follows its pino
 * JSON log on stdout, so tests can wait for events instead of sleeping.
 */
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Lab } from '../../daemon/src/lab/netns';
import { splitLines } from '../../daemon/src/lab/run-command';
import { fromEcs } from '../../daemon/src/events/ecs';

/**
 * One parsed log line. decoyd writes ECS documents; event lines are read back through the exact
 * inverse of its mapping (events/ecs.ts `fromEcs`), so `kind` (`daemon.start`, `arp.reply`,
 * `tcp.packet`…), `time` and the event's own field names are set, and `ecs` holds the line as written.
 */
export interface DaemonLogLine {
  kind?: string;
  level?: number | string;
  msg?: string;
  time?: number;
  ecs?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface StartDaemonOptions {
  /** Capture interface; default the lab's honeynet interface. */
  interface?: string;
  /** Passed as --user. */
  user?: string;
  /** Extra CLI arguments after the standard ones. */
  extraArgs?: readonly string[];
  /** How long to wait for `daemon.start`; default 15 s. */
  readyTimeoutMs?: number;
  /** Path of the CLI entry point; default the compiled dist/daemon/src/cli/main.js. */
  mainJs?: string;
}

export interface DaemonExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface DaemonHandle {
  readonly pid: number;
  /** Every JSON line so far, in order (grows while the daemon runs). */
  readonly events: DaemonLogLine[];
  /** stdout lines that were not JSON, and stderr lines. */
  readonly otherOutput: string[];
  /** Resolves with the first line (already seen or future) that matches; rejects on timeout or exit. */
  waitForEvent(pred: (line: DaemonLogLine) => boolean, timeoutMs?: number): Promise<DaemonLogLine>;
  /** Lines whose kind equals `kind`. */
  eventsOfKind(kind: string): DaemonLogLine[];
  /** SIGTERM, then SIGKILL after graceMs (default 5 s). Resolves with how it exited. Idempotent. */
  stop(graceMs?: number): Promise<DaemonExit>;
  /** Resolves when the process exits by itself or by stop(). */
  readonly exited: Promise<DaemonExit>;
}

/** dist/test/helpers → dist/daemon/src/cli/main.js */
export const DEFAULT_MAIN_JS = resolve(__dirname, '../../daemon/src/cli/main.js');
const MAX_KEPT_LINES = 200_000;

/**
 * Starts `decoyd run --config FILE --interface IF` in the lab's honeynet namespace and waits for
 * the `daemon.start` line. `config` is a path to an existing file, or YAML text (written to a temp file).
 */
export async function startDaemon(lab: Lab, config: string, opts: StartDaemonOptions = {}): Promise<DaemonHandle> {
  const mainJs = opts.mainJs ?? DEFAULT_MAIN_JS;
  if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run npm run build first`);
  let tempDir: string | undefined;
  let configPath = config;
  if (config.includes('\n') || !existsSync(config)) {
    tempDir = mkdtempSync(join(tmpdir(), 'decoyd-test-'));
    configPath = join(tempDir, 'config.yaml');
    writeFileSync(configPath, config);
  }
  const argv = [process.execPath, mainJs, 'run', '--config', configPath, '--interface', opts.interface ?? lab.honeyIf];
  if (opts.user !== undefined) argv.push('--user', opts.user);
  argv.push(...(opts.extraArgs ?? []));

  const child = lab.spawn(lab.honeyNs, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const handle = followDaemon(child, () => {
    if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
  });
  try {
    await handle.waitForEvent((line) => line.kind === 'daemon.start', opts.readyTimeoutMs ?? 15_000);
  } catch (err) {
    await handle.stop(1000);
    throw err;
  }
  return handle;
}

function followDaemon(child: ChildProcess, onExit: () => void): DaemonHandle {
  if (child.pid === undefined) throw new Error('decoyd did not start (no pid)');
  const pid = child.pid;
  const events: DaemonLogLine[] = [];
  const otherOutput: string[] = [];
  const waiters = new Set<() => void>();
  let exitInfo: DaemonExit | undefined;

  const notify = (): void => {
    for (const waiter of [...waiters]) waiter();
  };
  const keep = <T>(list: T[], item: T): void => {
    if (list.length < MAX_KEPT_LINES) list.push(item);
  };
  splitLines(child.stdout, (line) => {
    const parsed = parseJsonLine(line);
    if (parsed) keep(events, parsed);
    else if (line.trim().length > 0) keep(otherOutput, line);
    notify();
  });
  splitLines(child.stderr, (line) => {
    if (line.trim().length > 0) keep(otherOutput, `stderr: ${line}`);
  });
  const exited = new Promise<DaemonExit>((resolveExit) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      onExit();
      resolveExit(exitInfo);
      notify();
    });
  });

  const tail = (): string => [...events.slice(-5).map((e) => JSON.stringify(e)), ...otherOutput.slice(-10)].join('\n');

  const waitForEvent = (pred: (line: DaemonLogLine) => boolean, timeoutMs = 10_000): Promise<DaemonLogLine> =>
    new Promise((resolveWait, rejectWait) => {
      let scanned = 0;
      const check = (): boolean => {
        for (; scanned < events.length; scanned++) {
          const line = events[scanned] as DaemonLogLine;
          if (pred(line)) {
            finish();
            resolveWait(line);
            return true;
          }
        }
        if (exitInfo !== undefined) {
          finish();
          rejectWait(new Error(`decoyd exited (${exitInfo.code ?? exitInfo.signal}) before the awaited event; last output:\n${tail()}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        finish();
        rejectWait(new Error(`no matching decoyd event within ${timeoutMs} ms; last output:\n${tail()}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        waiters.delete(onNotify);
      };
      const onNotify = (): void => {
        check();
      };
      if (!check()) waiters.add(onNotify);
    });

  let stopping: Promise<DaemonExit> | undefined;
  const stop = (graceMs = 5000): Promise<DaemonExit> => {
    if (stopping) return stopping;
    stopping = (async () => {
      if (exitInfo !== undefined) return exitInfo;
      signal(pid, 'SIGTERM');
      const timer = setTimeout(() => signal(pid, 'SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    })();
    return stopping;
  };

  return {
    pid,
    events,
    otherOutput,
    waitForEvent,
    eventsOfKind: (kind) => events.filter((e) => e.kind === kind),
    stop,
    exited,
  };
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already exited
  }
}

function parseJsonLine(line: string): DaemonLogLine | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const doc = value as Record<string, unknown>;
    const event = doc.event as Record<string, unknown> | undefined;
    if (typeof event?.action !== 'string') return doc as DaemonLogLine;
    return { ...fromEcs(doc), level: doc.level as string | undefined, ecs: doc };
  } catch {
    return undefined;
  }
}


export { splitLines };
