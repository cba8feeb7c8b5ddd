/**
 * Starting and stopping a contained program: the launcher (native/subsystem/launch.c) gives it an
 * empty network namespace, its own session and the given uid/gid before it runs `/bin/sh -c`.
 * This is the subsystems' own small process facility (Honeyd scripts have theirs in
 * services/actions/); the two may be unified later.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { SubsystemNative } from './native';

export interface ContainedSpawn {
  native: SubsystemNative;
  command: string;
  uid: number;
  gid: number;
  cwd: string;
  /** Added to the inherited environment. */
  env: Record<string, string>;
  /** Bytes of the program's stderr kept (the tail), for the exit event. */
  stderrTailBytes: number;
}

export interface ContainedProcess {
  readonly child: ChildProcess;
  /** The last `stderrTailBytes` the program wrote to stderr. */
  stderrTail(): string;
}

export function spawnContained(opts: ContainedSpawn): ContainedProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env, DECOYD_SUBSYSTEM_SHIM: opts.native.shim };
  delete env.LD_PRELOAD;
  const child = spawn(opts.native.launcher, [String(opts.uid), String(opts.gid), opts.command], {
    cwd: opts.cwd, env, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let tail = Buffer.alloc(0);
  child.stderr?.on('data', (chunk: Buffer) => {
    tail = Buffer.concat([tail, chunk]);
    if (tail.length > opts.stderrTailBytes) tail = tail.subarray(tail.length - opts.stderrTailBytes);
  });
  return { child, stderrTail: () => tail.toString('utf8') };
}

/** Signals the program's whole process group (the launcher made it a session leader). */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
