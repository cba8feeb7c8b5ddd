/**
 * tcpdump inside a lab namespace, writing a classic pcap file, for asserting what was on the wire.
 * The capture is ready when tcpdump reports "listening on"; stop() ends it with SIGINT so it
 * flushes, and returns the parsed frames.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Lab } from '../../daemon/src/lab/netns';
import { splitLines } from './daemon';
import { readPcapFile, type PcapFile } from './pcap-file';

export interface CaptureOptions {
  /** pcap filter expression, passed as one argv element per word to tcpdump. */
  filter?: readonly string[];
  /** Output file, kept after stop(); default a temp file that stop() deletes once read. */
  file?: string;
  /** Stop by itself after this many frames. */
  maxFrames?: number;
  /** Put the interface in promiscuous mode (default true: decoy MACs are not the interface's). */
  promiscuous?: boolean;
  /** How long to wait for tcpdump to be ready; default 5 s. */
  readyTimeoutMs?: number;
}

export interface Capture {
  /** The pcap being written (a temp file is deleted by stop() after it is read). */
  readonly file: string;
  readonly pid: number;
  /** Ends tcpdump (SIGINT, then SIGKILL after 3 s) and returns what it captured. Idempotent. */
  stop(): Promise<PcapFile>;
}

/** Starts tcpdump on `ifName` in namespace `ns` and resolves once it is listening. */
export async function startCapture(lab: Lab, ns: string, ifName: string, opts: CaptureOptions = {}): Promise<Capture> {
  const tempFile = opts.file === undefined;
  const file = opts.file ?? join(mkdtempSync(join(tmpdir(), 'decoyd-cap-')), 'capture.pcap');
  // -Z root: keep writing as root (tcpdump would otherwise drop to its own user and may not own the
  // directory); -U plus --immediate-mode: hand over and flush each packet at once, so a stop loses
  // nothing (otherwise frames wait in a TPACKET_V3 block until its 1 s timeout and die with tcpdump).
  const argv = ['tcpdump', '-Z', 'root', '-U', '--immediate-mode', '-n', '-s', '0', '-i', ifName, '-w', file];
  if (opts.promiscuous === false) argv.push('-p');
  if (opts.maxFrames !== undefined) argv.push('-c', String(opts.maxFrames));
  argv.push(...(opts.filter ?? []));

  const child = lab.spawn(ns, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (child.pid === undefined) throw new Error('tcpdump did not start');
  const pid = child.pid;
  const stderr: string[] = [];
  let exited = false;
  const exitPromise = new Promise<void>((resolveExit) => {
    child.once('exit', () => {
      exited = true;
      resolveExit();
    });
  });

  await new Promise<void>((resolveReady, rejectReady) => {
    const timer = setTimeout(() => {
      kill(pid, 'SIGKILL');
      rejectReady(new Error(`tcpdump not ready within ${opts.readyTimeoutMs ?? 5000} ms: ${stderr.join(' ')}`));
    }, opts.readyTimeoutMs ?? 5000);
    splitLines(child.stderr, (line) => {
      stderr.push(line);
      if (/listening on/.test(line)) {
        clearTimeout(timer);
        resolveReady();
      }
    });
    void exitPromise.then(() => {
      clearTimeout(timer);
      rejectReady(new Error(`tcpdump exited before it was ready: ${stderr.join(' ')}`));
    });
  });

  let stopping: Promise<PcapFile> | undefined;
  const stop = (): Promise<PcapFile> => {
    stopping ??= (async () => {
      if (!exited) {
        kill(pid, 'SIGINT');
        const timer = setTimeout(() => kill(pid, 'SIGKILL'), 3000);
        await exitPromise;
        clearTimeout(timer);
      }
      try {
        return readPcapFile(file);
      } finally {
        if (tempFile) rmSync(dirname(file), { recursive: true, force: true });
      }
    })();
    return stopping;
  };
  return { file, pid, stop };
}

/** Captures for a fixed time (bounded, at most 60 s) and returns the frames. */
export async function captureFor(lab: Lab, ns: string, ifName: string, durationMs: number, opts: CaptureOptions = {}): Promise<PcapFile> {
  const capture = await startCapture(lab, ns, ifName, opts);
  await new Promise((resolveWait) => setTimeout(resolveWait, Math.min(Math.max(durationMs, 0), 60_000)));
  return capture.stop();
}

function kill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}
