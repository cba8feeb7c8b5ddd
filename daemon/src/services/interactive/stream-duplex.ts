/**
 * A connection's StreamContext as a node Duplex, with backpressure both ways, for libraries that
 * speak over a socket (ssh2): what the library writes goes out only as fast as the send buffer
 * takes it (its write callback waits for `onDrain`), and when the library stops reading, the
 * connection is paused, so the TCP window closes towards the peer.
 */
import { Duplex } from 'node:stream';
import type { StreamContext } from '../service';

export class StreamDuplex extends Duplex {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly remoteFamily = 'IPv4';
  private pending: Buffer[] = [];
  private pendingCallbacks: Array<() => void> = [];
  private paused = false;
  private gone = false;
  /** Bytes to swallow from the start of the output (a prefix already sent by someone else). */
  private skip: Buffer | undefined;

  constructor(private readonly ctx: StreamContext, opts: { highWaterMark?: number } = {}) {
    super({ allowHalfOpen: true, highWaterMark: opts.highWaterMark ?? 64 * 1024 });
    this.remoteAddress = ctx.remote.address;
    this.remotePort = ctx.remote.port;
  }

  /** The first write that starts with exactly these bytes loses them (the ident sent before the library ran). */
  swallowPrefix(prefix: Buffer): void {
    this.skip = prefix;
  }

  /** Bytes from the peer. */
  deliver(data: Buffer): void {
    if (this.gone) return;
    if (!this.push(data) && !this.paused) {
      this.paused = true;
      this.ctx.pause?.();
    }
  }

  /** The peer sent FIN. */
  deliverEnd(): void {
    if (!this.gone) this.push(null);
  }

  /** The send buffer has room again. */
  drained(): void {
    this.flush();
  }

  /** The connection is gone. */
  connectionGone(): void {
    if (this.gone) return;
    this.gone = true;
    this.pending = [];
    const cbs = this.pendingCallbacks;
    this.pendingCallbacks = [];
    for (const cb of cbs) cb();
    this.destroy();
  }

  setNoDelay(): this { return this; }
  setKeepAlive(): this { return this; }

  override _read(): void {
    if (this.paused) {
      this.paused = false;
      this.ctx.resume?.();
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.gone) { cb(); return; }
    if (this.skip !== undefined) {
      const skip = this.skip;
      this.skip = undefined;
      if (chunk.length >= skip.length && chunk.subarray(0, skip.length).equals(skip)) chunk = chunk.subarray(skip.length);
    }
    if (chunk.length === 0) { cb(); return; }
    this.pending.push(chunk);
    this.pendingCallbacks.push(() => cb());
    this.flush();
  }

  override _final(cb: (err?: Error | null) => void): void {
    const finish = (): void => { if (!this.gone) this.ctx.end(); cb(); };
    if (this.pending.length === 0) finish();
    else this.pendingCallbacks.push(finish);
  }

  private flush(): void {
    while (this.pending.length > 0 && !this.gone) {
      const head = this.pending[0] as Buffer;
      const room = this.ctx.writable ?? head.length;
      if (room <= 0) return;
      if (room < head.length) {
        this.ctx.write(head.subarray(0, room));
        this.pending[0] = head.subarray(room);
        return;
      }
      this.ctx.write(head);
      this.pending.shift();
      // A callback per written chunk; _final's finisher sits after the last one.
      const cb = this.pendingCallbacks.shift();
      cb?.();
    }
    if (this.pending.length === 0 && this.pendingCallbacks.length > 0) {
      const rest = this.pendingCallbacks;
      this.pendingCallbacks = [];
      for (const cb of rest) cb();
    }
  }
}
