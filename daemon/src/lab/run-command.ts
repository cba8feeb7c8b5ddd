/**
 * Running external commands for the lab: argv arrays only (never a shell string), every call bounded
 * by a timeout, output collected as text.
 */
import { execFile } from 'node:child_process';

export interface CommandResult {
  /** Exit code, or null when the process was ended by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the timeout ended the process. */
  timedOut: boolean;
}

export interface RunOptions {
  timeoutMs?: number;
  /** Text written to the command's stdin (then stdin is closed). */
  input?: string;
  /** Cap on collected stdout/stderr bytes. */
  maxBufferBytes?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_BUFFER = 16 * 1024 * 1024;

/** Runs `file argv…` and resolves with its result; never rejects for a non-zero exit. */
export function runCommand(file: string, argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve) => {
    const started = Date.now();
    const child = execFile(
      file,
      [...argv],
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: opts.maxBufferBytes ?? DEFAULT_MAX_BUFFER, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const err = error as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean; signal?: NodeJS.Signals }) | null;
        const spawnFailed = err !== null && typeof err.code === 'string';
        const timedOut = err !== null && err.killed === true && Date.now() - started >= timeoutMs - 5;
        resolve({
          code: spawnFailed ? 127 : child.exitCode,
          signal: child.signalCode,
          stdout: String(stdout),
          stderr: spawnFailed ? `${String(stderr)}${err?.message ?? ''}` : String(stderr),
          timedOut,
        });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Like runCommand, but rejects with a readable error unless the command exits 0. */
export async function runChecked(file: string, argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  const result = await runCommand(file, argv, opts);
  if (result.code !== 0) {
    const why = result.timedOut ? `timed out after ${opts.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms` : `exit ${result.code ?? result.signal}`;
    throw new Error(`${file} ${argv.join(' ')}: ${why}: ${result.stderr.trim() || result.stdout.trim()}`);
  }
  return result;
}

/** Calls onLine for every complete line of a stream (and the unterminated rest at its end). */
export function splitLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (stream === null) return;
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    let newline = pending.indexOf('\n');
    while (newline !== -1) {
      onLine(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
  });
  stream.on('end', () => {
    if (pending.length > 0) onLine(pending);
    pending = '';
  });
}
