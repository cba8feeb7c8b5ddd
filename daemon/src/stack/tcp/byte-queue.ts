/**
 * Bounded byte queues for the socket layer: bytes live in fixed-size chunks drawn from a shared
 * budget, so appending never copies what is already queued, consuming frees whole chunks, and the
 * bytes held by all connections together never exceed the budget's limit.
 */

/** Chunk size: a few full segments, small enough that an idle connection holds little. */
export const CHUNK_SIZE = 16384;

/** Bytes of buffer memory all connections may hold together; chunks are counted whole. */
export class BufferBudget {
  /** Bytes currently held in chunks and out-of-order segments. */
  used = 0;
  /** Highest `used` ever seen (tests assert the bound with it). */
  peak = 0;
  /** Times an allocation was refused because the budget was exhausted. */
  refusals = 0;
  private readonly free: Buffer[] = [];

  constructor(readonly limit: number, private readonly maxFreeChunks = 64) {}

  /** Room for `n` more bytes? */
  canTake(n: number): boolean { return this.used + n <= this.limit; }

  take(n: number): boolean {
    if (this.used + n > this.limit) { this.refusals++; return false; }
    this.used += n;
    if (this.used > this.peak) this.peak = this.used;
    return true;
  }

  give(n: number): void { this.used -= n; }

  /** A chunk, or null when the budget is spent. */
  chunk(): Buffer | null {
    if (!this.take(CHUNK_SIZE)) return null;
    return this.free.pop() ?? Buffer.allocUnsafe(CHUNK_SIZE);
  }

  release(chunk: Buffer): void {
    this.give(CHUNK_SIZE);
    if (this.free.length < this.maxFreeChunks) this.free.push(chunk);
  }
}

/** A FIFO of bytes with a per-queue capacity, in chunks from a BufferBudget. */
export class ByteQueue {
  private chunks: Buffer[] = [];
  /** Offset of the first queued byte in chunks[0]. */
  private head = 0;
  private len = 0;

  constructor(private readonly budget: BufferBudget, readonly capacity: number) {}

  get length(): number { return this.len; }

  /** Bytes that could be appended now (per-queue room; the shared budget may still refuse). */
  get room(): number { return this.capacity - this.len; }

  /** Copy up to `n` bytes of `src` from `off` in; returns how many were taken. */
  append(src: Buffer, off: number, n: number): number {
    let want = Math.min(n, this.capacity - this.len);
    let taken = 0;
    while (want > 0) {
      const tailUsed = (this.head + this.len) - (this.chunks.length - 1) * CHUNK_SIZE;
      let chunk: Buffer;
      let at: number;
      if (this.chunks.length > 0 && tailUsed < CHUNK_SIZE) {
        chunk = this.chunks[this.chunks.length - 1] as Buffer;
        at = tailUsed;
      } else {
        const c = this.budget.chunk();
        if (c === null) break;
        this.chunks.push(c);
        chunk = c;
        at = 0;
      }
      const k = Math.min(want, CHUNK_SIZE - at);
      src.copy(chunk, at, off + taken, off + taken + k);
      taken += k;
      want -= k;
      this.len += k;
    }
    return taken;
  }

  /** Copy `n` queued bytes starting `offset` bytes after the head into `dst` at `dstOff`. */
  copyOut(offset: number, n: number, dst: Buffer, dstOff: number): void {
    let pos = this.head + offset;
    let i = Math.floor(pos / CHUNK_SIZE);
    pos -= i * CHUNK_SIZE;
    while (n > 0) {
      const chunk = this.chunks[i] as Buffer;
      const k = Math.min(n, CHUNK_SIZE - pos);
      chunk.copy(dst, dstOff, pos, pos + k);
      dstOff += k;
      n -= k;
      pos = 0;
      i++;
    }
  }

  /** Drop `n` bytes from the head, returning emptied chunks to the budget. */
  consume(n: number): void {
    n = Math.min(n, this.len);
    this.len -= n;
    this.head += n;
    while (this.chunks.length > 0 && (this.head >= CHUNK_SIZE || (this.len === 0))) {
      if (this.len === 0) {
        // Keep nothing for an empty queue: an idle connection holds no chunk.
        for (const c of this.chunks) this.budget.release(c);
        this.chunks = [];
        this.head = 0;
        break;
      }
      this.budget.release(this.chunks.shift() as Buffer);
      this.head -= CHUNK_SIZE;
    }
  }

  /** Release everything. */
  clear(): void { this.consume(this.len); }
}
