/**
 * The daemon's side of the script broker (native/actions/script-broker.c): a root helper started
 * before the privilege drop that forks each script in an empty network namespace, as its
 * template's uid/gid, with Honeyd's rlimits. The script's stdin/stdout and stderr are Unix
 * connections back to a socket decoyd listens on; each run is named by a random 64-bit token the
 * script's connections present first, so nothing else can pose as a script's stream.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** dist/daemon/src/services/actions → dist/native */
const NATIVE_DIR = resolve(__dirname, '../../../../native');

/** The broker binary, or a sentence saying why it cannot be used. */
export function findScriptBroker(dir = NATIVE_DIR): string {
  const path = resolve(dir, 'decoyd-script-broker');
  accessSync(path, constants.X_OK);
  return path;
}

const SOCKET_DIR_PREFIX = 'decoyd-scripts-';
const SOCKET_DIR_NAME = /^decoyd-scripts-([0-9]{1,10})-[A-Za-z0-9]{6}$/;

const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Removes the socket directories of decoyds that ended without stop() (SIGKILL, a crash): each is
 * named with its daemon's pid, and goes only when that process is gone and the directory is a
 * real one of our own user (never a link someone else put there). A directory whose pid a live
 * process has reused stays. Returns the names removed.
 */
export function removeStaleSocketDirs(dir = tmpdir(), alive: (pid: number) => boolean = processAlive, uid = process.getuid?.() ?? -1): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = SOCKET_DIR_NAME.exec(name);
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || alive(pid)) continue;
    const path = join(dir, name);
    try {
      const st = lstatSync(path);
      if (!st.isDirectory() || st.uid !== uid) continue;
      rmSync(path, { recursive: true, force: true });
      removed.push(name);
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
  return removed;
}

export interface ScriptRequest {
  argv: string[];
  env: string[];
  uid: number;
  gid: number;
  maxfds: number;
  memoryBytes: number;
  cwd: string;
}

/** What the broker and the script's connections tell one run. */
export interface RunListener {
  started(pid: number): void;
  /** The script's stdin/stdout connection arrived. */
  stdio(sock: Socket): void;
  stderr(sock: Socket): void;
  exited(code: number | null, signal: string | null): void;
  /** The broker could not start it (or is gone). */
  failed(reason: string): void;
}

const HEADER = 9;
/** Bytes of a header or line kept before a connection or the broker is deemed broken. */
const MAX_LINE = 512;

const SIGNAL_NAMES: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 13: 'SIGPIPE', 14: 'SIGALRM', 15: 'SIGTERM', 24: 'SIGXCPU', 25: 'SIGXFSZ' };

export class ScriptBroker {
  private child: ChildProcess | null = null;
  private server: Server | null = null;
  private dir: string | null = null;
  private readonly runs = new Map<string, RunListener>();
  private problem: string | null = null;
  private lineBuf = '';

  constructor(private readonly binary: string, private readonly onProblem: (message: string) => void) {}

  /** Listen and start the broker; call while still root (before `--user` drops privileges). Idempotent. */
  prepare(): void {
    if (this.child !== null || this.problem !== null) return;
    removeStaleSocketDirs();
    this.dir = mkdtempSync(join(tmpdir(), `${SOCKET_DIR_PREFIX}${process.pid}-`));
    const path = join(this.dir, 's');
    this.server = createServer((sock) => this.accept(sock));
    this.server.on('error', (err) => this.fail(`script socket: ${err.message}`));
    this.server.listen(path);
    this.server.unref();
    const child = spawn(this.binary, [path], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout?.setEncoding('latin1');
    child.stdout?.on('data', (text: string) => this.onReports(text));
    let err = '';
    child.stderr?.on('data', (b: Buffer) => { err = (err + b.toString('utf8')).slice(-MAX_LINE); });
    child.stdin?.on('error', () => {});
    child.on('error', (e) => this.fail(`script broker: ${e.message}`));
    child.on('exit', (code, signal) => this.fail(`script broker exited (${signal ?? `code ${code}`})${err === '' ? '' : `: ${err.trim()}`}`));
  }

  get available(): boolean { return this.child !== null && this.problem === null; }

  /** Starts a run; the listener hears everything about it. Returns its token. */
  start(req: ScriptRequest, listener: RunListener): string {
    const id = randomBytes(8).readBigUInt64BE().toString();
    if (!this.available) {
      queueMicrotask(() => listener.failed(this.problem ?? 'the script broker is not running'));
      return id;
    }
    this.runs.set(id, listener);
    const fields = ['S', id, String(req.uid), String(req.gid), String(req.maxfds), String(req.memoryBytes), req.cwd, String(req.argv.length), ...req.argv, String(req.env.length), ...req.env];
    this.child?.stdin?.write(`${fields.join('\0')}\0\0`);
    return id;
  }

  /** Signals a run's process group (no-op once it is gone). */
  kill(id: string, signal = 9): void {
    if (this.available && this.runs.has(id)) this.child?.stdin?.write(`K\0${id}\0${signal}\0\0`);
  }

  /** Forget a run whose connection is gone (its exit report is then ignored). */
  forget(id: string): void {
    this.runs.delete(id);
  }

  stop(): void {
    this.problem ??= 'stopped';
    this.child?.stdin?.end();
    this.child?.kill('SIGTERM');
    this.server?.close();
    if (this.dir !== null) {
      try { rmSync(this.dir, { recursive: true, force: true }); } catch { /* owned by root after --user */ }
    }
  }

  private fail(message: string): void {
    if (this.problem !== null) return;
    this.problem = message;
    this.onProblem(message);
    const runs = [...this.runs.values()];
    this.runs.clear();
    for (const r of runs) r.failed(message);
  }

  private onReports(text: string): void {
    this.lineBuf += text;
    let nl: number;
    while ((nl = this.lineBuf.indexOf('\n')) >= 0) {
      const line = this.lineBuf.slice(0, nl);
      this.lineBuf = this.lineBuf.slice(nl + 1);
      const [what, id, a, b] = line.split(' ');
      const run = id === undefined ? undefined : this.runs.get(id);
      if (run === undefined || id === undefined) continue;
      if (what === 'P') run.started(Number(a));
      else if (what === 'X') {
        // Kept until the listener forgets it: its connections may still be on their way.
        if (a === 'signal') run.exited(null, SIGNAL_NAMES[Number(b)] ?? `signal ${b}`);
        else run.exited(Number(b), null);
      } else if (what === 'F') {
        this.runs.delete(id);
        run.failed(line.split(' ').slice(2).join(' '));
      }
    }
    if (this.lineBuf.length > MAX_LINE) this.lineBuf = '';
  }

  /** A script's connection: 8-byte token and a kind byte, then its stream. */
  private accept(sock: Socket): void {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      if (head.length < HEADER) return;
      sock.off('data', onData);
      sock.pause();
      sock.setTimeout(0);
      const id = head.readBigUInt64BE(0).toString();
      const kind = head[8];
      const run = this.runs.get(id);
      if (run === undefined) { sock.destroy(); return; }
      const rest = head.subarray(HEADER);
      if (rest.length > 0) sock.unshift(rest);
      if (kind === 0x6f) run.stdio(sock);
      else if (kind === 0x65) run.stderr(sock);
      else sock.destroy();
    };
    sock.on('data', onData);
    sock.on('error', () => sock.destroy());
    sock.setTimeout(10_000, () => { if (head.length < HEADER) sock.destroy(); });
  }
}

export { SIGNAL_NAMES };
