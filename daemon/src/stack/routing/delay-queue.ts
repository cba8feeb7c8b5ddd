/**
 * A bounded delay queue for frames: a timer wheel of 1 ms slots over a pool of preallocated frame
 * buffers. Enqueueing copies the frame into a free buffer (O(1), no allocation); a full pool or a
 * delay beyond the wheel's span refuses the frame, and the caller drops and counts it. Frames due
 * in the same slot come out in the order they went in.
 *
 * Each entry carries a small tag and one object reference for the caller (what to do with the
 * frame when it is due, and for whom).
 */

export const DELAY_SLOT_MS = 1;

export type DueHandler<T> = (frame: Buffer, length: number, tag: number, ref: T | null, dueMs: number) => void;

export class DelayQueue<T> {
  /** One view per pool buffer, all over a single allocation. */
  private readonly frames: Buffer[];
  private readonly lengths: Uint16Array;
  private readonly due: Float64Array;
  private readonly tags: Uint8Array;
  private readonly refs: (T | null)[];
  /** Free list and per-slot lists share one `next` array (intrusive singly linked lists). */
  private readonly next: Int32Array;
  private readonly heads: Int32Array;
  private readonly tails: Int32Array;
  /** A due frame is handed out from here, so its pool buffer is free for what the handler sends. */
  private readonly current: Buffer;
  private freeHead = 0;
  /** The first wheel tick not yet drained. */
  private cursor = -1;
  private held = 0;
  /** Inside runDue: the cursor belongs to the drain loop then. */
  private draining = false;
  readonly counters = { queued: 0, poolFull: 0, tooLong: 0, tooLarge: 0 };

  constructor(
    readonly capacity: number,
    readonly frameSize: number,
    /** Longest delay accepted, milliseconds. */
    readonly spanMs: number,
  ) {
    const pool = Buffer.alloc(capacity * frameSize);
    this.frames = [];
    for (let i = 0; i < capacity; i++) this.frames.push(pool.subarray(i * frameSize, (i + 1) * frameSize));
    this.current = Buffer.alloc(frameSize);
    this.lengths = new Uint16Array(capacity);
    this.due = new Float64Array(capacity);
    this.tags = new Uint8Array(capacity);
    this.refs = new Array<T | null>(capacity).fill(null);
    this.next = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.next[i] = i + 1 < capacity ? i + 1 : -1;
    if (capacity === 0) this.freeHead = -1;
    const slots = Math.ceil(spanMs / DELAY_SLOT_MS) + 2;
    this.heads = new Int32Array(slots).fill(-1);
    this.tails = new Int32Array(slots).fill(-1);
  }

  get size(): number { return this.held; }

  /** Copies `length` bytes of `frame` to be handed back at `dueMs`. False (and counted) when refused. */
  enqueue(frame: Buffer, length: number, dueMs: number, tag: number, ref: T | null, nowMs: number): boolean {
    if (length > this.frameSize) {
      this.counters.tooLarge++;
      return false;
    }
    if (dueMs - nowMs > this.spanMs) {
      this.counters.tooLong++;
      return false;
    }
    const i = this.freeHead;
    if (i < 0) {
      this.counters.poolFull++;
      return false;
    }
    const nowTick = Math.floor(nowMs / DELAY_SLOT_MS);
    // An empty queue starts at the present; during a drain, frames already due join the current slot.
    if (this.held === 0 && !this.draining && this.cursor < nowTick) this.cursor = nowTick;
    let tick = Math.floor(dueMs / DELAY_SLOT_MS);
    // Already due: the next drain hands it back.
    if (tick < this.cursor) tick = this.cursor;
    // A late drain leaves the cursor behind: never wrap onto a slot of an earlier turn of the wheel.
    if (tick - this.cursor >= this.heads.length) {
      this.counters.tooLong++;
      return false;
    }
    this.freeHead = this.next[i] as number;
    frame.copy(this.frames[i] as Buffer, 0, 0, length);
    this.lengths[i] = length;
    this.due[i] = dueMs;
    this.tags[i] = tag;
    this.refs[i] = ref;
    this.next[i] = -1;
    const slot = tick % this.heads.length;
    const tail = this.tails[slot] as number;
    if (tail < 0) this.heads[slot] = i;
    else this.next[tail] = i;
    this.tails[slot] = i;
    this.held++;
    this.counters.queued++;
    return true;
  }

  /** When the earliest held frame is due (the start of its slot), or Infinity when empty. */
  nextDueMs(): number {
    if (this.held === 0) return Infinity;
    const n = this.heads.length;
    for (let k = 0; k < n; k++) {
      const tick = this.cursor + k;
      if ((this.heads[tick % n] as number) >= 0) return tick * DELAY_SLOT_MS;
    }
    return Infinity;
  }

  /**
   * Hands back every frame whose slot has begun by `nowMs`, in order, to `handle`. The frame is
   * valid only during the call (one buffer, reused). Frames enqueued from inside `handle` that are
   * already due come out in this same run; a runDue from inside `handle` does nothing. Returns how
   * many were handed back.
   */
  runDue(nowMs: number, handle: DueHandler<T>): number {
    if (this.draining) return 0;
    const target = Math.floor(nowMs / DELAY_SLOT_MS);
    let count = 0;
    this.draining = true;
    try {
      count = this.drain(target, handle);
    } finally {
      this.draining = false;
    }
    return count;
  }

  private drain(target: number, handle: DueHandler<T>): number {
    const n = this.heads.length;
    let count = 0;
    while (this.held > 0 && this.cursor <= target) {
      const slot = this.cursor % n;
      let i = this.heads[slot] as number;
      while (i >= 0) {
        this.heads[slot] = this.next[i] as number;
        if (this.heads[slot] < 0) this.tails[slot] = -1;
        this.held--;
        count++;
        const ref = this.refs[i] as T | null;
        const length = this.lengths[i] as number;
        this.refs[i] = null;
        (this.frames[i] as Buffer).copy(this.current, 0, 0, length);
        this.next[i] = this.freeHead;
        this.freeHead = i;
        // The reply to a delayed frame may need a pool buffer itself: the one just freed.
        handle(this.current, length, this.tags[i] as number, ref, this.due[i] as number);
        i = this.heads[slot] as number;
      }
      if (this.held > 0) this.cursor++;
    }
    return count;
  }

  /** Hands back everything held, due or not, in due order by slot (shutdown). */
  drainAll(handle: DueHandler<T>): number {
    return this.held === 0 ? 0 : this.runDue((this.cursor + this.heads.length) * DELAY_SLOT_MS, handle);
  }
}
