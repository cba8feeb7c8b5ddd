/**
 * Honeyd script actions at run time. TCP: the script starts when the handshake completes, with
 * the connection on its stdin/stdout (honeyd.c:generic_connect, tcp.c); the peer's FIN becomes EOF
 * on its stdin, its EOF on stdout our FIN. UDP: one run per datagram, the datagram on stdin (then
 * EOF), each chunk it writes one reply datagram (udp.c). Bounds: a process slot per run (per
 * template and in all), wall time, output bytes; memory and fds are rlimits set by the broker.
 * A bound hit is a `script.limit` event; the script's process group is killed and the connection
 * closed with FIN after what was already written.
 */
import type { Socket } from 'node:net';
import type { TemplateConfig } from '../../config/types';
import type { ServiceActionEvent } from '../../events/event';
import type { DatagramService, Endpoint, StreamContext, StreamService, StreamSession } from '../service';
import { looksOutOfMemory, type ScriptRunner } from './script-runner';

const STDERR_TAIL_BYTES = 512;
/** Honeyd writes at most 2048 bytes per UDP datagram (udp.c). */
export const MAX_UDP_REPLY_BYTES = 2048;
/** Reply datagrams per UDP run: a script cannot turn one spoofed datagram into a flood. */
export const MAX_UDP_REPLIES = 8;
/** How long a finished run waits for a stdio connection still on its way. */
const LATE_STDIO_MS = 1000;

const INERT: StreamSession = { onData: () => {}, onEnd: () => {}, onClose: () => {} };

interface ScriptSpecContext {
  runner: ScriptRunner;
  command: string;
  templateName: string;
  template?: TemplateConfig;
}

function refBase(proto: 'tcp' | 'udp', remote: Endpoint, local: Endpoint, template: string): Omit<ServiceActionEvent, 'kind' | 'time'> {
  return { proto, srcIp: remote.address, srcPort: remote.port, dstIp: local.address, dstPort: local.port, template };
}

/** One script process and its streams; the TCP and UDP faces differ only in what they do with stdio. */
class ScriptRun {
  id = '';
  pid: number | undefined;
  readonly startedAt = Date.now();
  exited = false;
  stdio: Socket | null = null;
  private stderrTail = Buffer.alloc(0);
  private timer: NodeJS.Timeout | null = null;
  private lateTimer: NodeJS.Timeout | null = null;
  bytesIn = 0;
  bytesOut = 0;
  limitHit: string | null = null;
  private released = false;
  private forgotten = false;
  stdioDone = false;

  constructor(
    readonly s: ScriptSpecContext,
    readonly base: Omit<ServiceActionEvent, 'kind' | 'time'>,
    readonly commandLine: string,
    readonly uid: number,
    readonly gid: number,
    private readonly hooks: { stdio(sock: Socket): void; ended(): void },
  ) {}

  begin(request: Parameters<ScriptRunner['broker']['start']>[0]): void {
    const runner = this.s.runner;
    this.timer = setTimeout(() => this.limit('time', `still running after ${runner.limits.scriptTimeoutSeconds} s`), runner.limits.scriptTimeoutSeconds * 1000);
    this.timer.unref();
    this.id = runner.broker.start(request, {
      started: (pid) => {
        this.pid = pid;
        runner.events.emit({ ...this.base, kind: 'script.start', time: Date.now(), command: this.commandLine, pid, uid: this.uid, gid: this.gid });
      },
      stdio: (sock) => {
        if (this.stdio !== null || this.stdioDone) { sock.destroy(); return; }
        this.stdio = sock;
        if (this.lateTimer !== null) { clearTimeout(this.lateTimer); this.lateTimer = null; }
        sock.on('error', () => {});
        sock.on('close', () => { this.stdioDone = true; this.maybeForget(); });
        this.hooks.stdio(sock);
      },
      stderr: (sock) => {
        sock.on('error', () => {});
        sock.on('data', (chunk: Buffer) => {
          this.stderrTail = Buffer.concat([this.stderrTail, chunk]);
          if (this.stderrTail.length > STDERR_TAIL_BYTES) this.stderrTail = this.stderrTail.subarray(this.stderrTail.length - STDERR_TAIL_BYTES);
        });
        sock.resume();
      },
      exited: (code, signal) => this.finish(code, signal, undefined),
      failed: (reason) => this.finish(null, null, reason),
    });
  }

  /** A bound was hit: report once, kill the group, let the face close its side. */
  limit(which: string, reason: string): void {
    if (this.exited || this.limitHit !== null) return;
    this.limitHit = which;
    this.s.runner.events.emit({ ...this.base, kind: 'script.limit', time: Date.now(), command: this.commandLine, pid: this.pid, limit: which, reason });
    this.kill();
    this.stdio?.destroy();
    this.stdioDone = true;
    this.hooks.ended();
  }

  kill(): void {
    if (!this.exited && this.id !== '') this.s.runner.broker.kill(this.id, 9);
  }

  private finish(code: number | null, signal: string | null, failure: string | undefined): void {
    if (this.exited) return;
    this.exited = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.release();
    const tail = this.stderrTail.toString('utf8').trim();
    if (this.limitHit === null && failure === undefined && (code !== 0 || signal !== null) && looksOutOfMemory(tail)) {
      this.s.runner.events.emit({ ...this.base, kind: 'script.limit', time: Date.now(), command: this.commandLine, pid: this.pid, limit: 'memory', reason: `ran out of its ${this.s.runner.limits.scriptMemoryBytes}-byte address space` });
    }
    const reason = failure ?? (this.limitHit !== null ? `killed at the ${this.limitHit} limit` : tail === '' ? undefined : tail);
    this.s.runner.events.emit({
      ...this.base, kind: 'script.exit', time: Date.now(), command: this.commandLine, pid: this.pid,
      ...(code !== null ? { exitCode: code } : {}), ...(signal !== null ? { signal } : {}),
      durationMs: Date.now() - this.startedAt, bytesIn: this.bytesIn, bytesOut: this.bytesOut,
      ...(reason !== undefined ? { reason: reason.slice(-STDERR_TAIL_BYTES) } : {}),
    });
    if (failure !== undefined) { this.stdioDone = true; this.hooks.ended(); this.maybeForget(); return; }
    if (this.stdio === null && !this.stdioDone) {
      // Its stdio connection may still be on its way; past that, the run is over.
      this.lateTimer = setTimeout(() => { this.stdioDone = true; this.hooks.ended(); this.maybeForget(); }, LATE_STDIO_MS);
      this.lateTimer.unref();
      return;
    }
    this.maybeForget();
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.s.runner.release(this.s.templateName);
  }

  private maybeForget(): void {
    if (this.forgotten || !this.exited || !this.stdioDone) return;
    this.forgotten = true;
    this.s.runner.broker.forget(this.id);
  }

  /** The connection is gone: a script still running is killed (Honeyd let it run on EOF). */
  abandon(): void {
    if (this.lateTimer !== null) { clearTimeout(this.lateTimer); this.lateTimer = null; }
    this.kill();
    this.stdio?.destroy();
    this.stdioDone = true;
    this.maybeForget();
  }
}

export class ScriptStreamService implements StreamService {
  readonly name = 'script';
  constructor(private readonly s: ScriptSpecContext) {}

  open(ctx: StreamContext): StreamSession {
    const runner = this.s.runner;
    const base = refBase('tcp', ctx.remote, ctx.local, this.s.templateName);
    const prepared = runner.prepare(this.s.template, this.s.templateName, this.s.command, ctx.remote, ctx.local);
    if (prepared === null) { ctx.end(); return INERT; }
    if (!runner.acquire(this.s.templateName)) {
      runner.refused(base, prepared.commandLine);
      ctx.end();
      return INERT;
    }
    // Bytes from the peer before the script's stdin is there (at most a window: the socket is paused).
    let early: Buffer[] | null = [];
    let peerEnded = false;
    let held: Buffer | null = null;
    let scriptEnded = false;
    let closed = false;
    const maxOut = runner.limits.scriptMaxOutputBytes;
    const flush = (): boolean => {
      if (held === null) return true;
      const room = ctx.writable ?? held.length;
      if (room <= 0) return false;
      const n = Math.min(room, held.length);
      ctx.write(held.subarray(0, n));
      held = n === held.length ? null : held.subarray(n);
      return held === null;
    };
    const endToPeer = (): void => { if (!closed && flush()) ctx.end(); };
    const run = new ScriptRun(this.s, base, prepared.commandLine, prepared.request.uid, prepared.request.gid, {
      stdio: (sock) => {
        sock.on('data', (chunk: Buffer) => {
          if (run.bytesOut + chunk.length > maxOut) {
            const fits = chunk.subarray(0, Math.max(0, maxOut - run.bytesOut));
            run.bytesOut += fits.length;
            if (fits.length > 0) held = held === null ? Buffer.from(fits) : Buffer.concat([held, fits]);
            run.limit('output', `wrote more than ${maxOut} bytes`);
            return;
          }
          run.bytesOut += chunk.length;
          held = held === null ? chunk : Buffer.concat([held, chunk]);
          if (!flush()) sock.pause();
        });
        sock.on('drain', () => ctx.resume?.());
        sock.on('end', () => { scriptEnded = true; endToPeer(); });
        sock.on('close', () => { scriptEnded = true; endToPeer(); });
        for (const b of early ?? []) sock.write(b);
        early = null;
        if (peerEnded) sock.end();
        sock.resume();
        ctx.resume?.();
      },
      ended: () => { scriptEnded = true; endToPeer(); },
    });
    ctx.pause?.();
    run.begin(prepared.request);
    return {
      onData: (data) => {
        run.bytesIn += data.length;
        const sock = run.stdio;
        if (sock === null) {
          if (early !== null) early.push(Buffer.from(data));
          ctx.pause?.();
          return;
        }
        if (!run.stdioDone && !sock.write(data)) ctx.pause?.();
      },
      onEnd: () => {
        peerEnded = true;
        if (run.stdio !== null && !run.stdioDone) run.stdio.end();
      },
      onDrain: () => {
        if (!flush()) return;
        if (scriptEnded) ctx.end();
        else run.stdio?.resume();
      },
      onClose: () => {
        closed = true;
        held = null;
        early = null;
        run.abandon();
      },
    };
  }
}

/** UDP: one run per datagram; Honeyd's SOCK_DGRAM stdio becomes stdin = the datagram, then EOF. */
export class ScriptDatagramService implements DatagramService {
  readonly name = 'script';
  constructor(private readonly s: ScriptSpecContext) {}

  onDatagram(data: Buffer, remote: Endpoint, local: Endpoint, reply: (data: Buffer) => void): void {
    const runner = this.s.runner;
    const base = refBase('udp', remote, local, this.s.templateName);
    const prepared = runner.prepare(this.s.template, this.s.templateName, this.s.command, remote, local);
    if (prepared === null) return;
    if (!runner.acquire(this.s.templateName)) {
      runner.refused(base, prepared.commandLine);
      return;
    }
    const maxOut = runner.limits.scriptMaxOutputBytes;
    let replies = 0;
    const run = new ScriptRun(this.s, base, prepared.commandLine, prepared.request.uid, prepared.request.gid, {
      stdio: (sock) => {
        sock.on('data', (chunk: Buffer) => {
          for (let off = 0; off < chunk.length; off += MAX_UDP_REPLY_BYTES) {
            const part = chunk.subarray(off, Math.min(chunk.length, off + MAX_UDP_REPLY_BYTES));
            if (run.bytesOut + part.length > maxOut) { run.limit('output', `wrote more than ${maxOut} bytes`); return; }
            if (replies >= MAX_UDP_REPLIES) { run.limit('output', `wrote more than ${MAX_UDP_REPLIES} datagrams`); return; }
            replies++;
            run.bytesOut += part.length;
            reply(Buffer.from(part));
          }
        });
        run.bytesIn = data.length;
        sock.end(data);
        sock.resume();
      },
      ended: () => {},
    });
    run.begin(prepared.request);
  }
}
