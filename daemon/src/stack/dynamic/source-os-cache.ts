/**
 * The last passive OS guess per source address, for dynamic templates' `source os` rules:
 * a fixed-capacity LRU over typed arrays (no allocation per lookup or update). When full, the
 * least recently seen source is forgotten.
 */
export class SourceOsCache {
  private readonly keys: Uint32Array;
  private readonly labels: Int32Array;
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private readonly chain: Int32Array;
  private readonly buckets: Int32Array;
  private readonly mask: number;
  private head = -1; // most recent
  private tail = -1; // least recent
  private used = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error('SourceOsCache capacity must be a positive integer');
    this.keys = new Uint32Array(capacity);
    this.labels = new Int32Array(capacity);
    this.prev = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
    this.chain = new Int32Array(capacity);
    let size = 1;
    while (size < capacity * 2) size *= 2;
    this.buckets = new Int32Array(size).fill(-1);
    this.mask = size - 1;
  }

  get size(): number { return this.used; }

  /** The label remembered for `ip`, or -1; counts as a use. */
  get(ip: number): number {
    const slot = this.find(ip >>> 0);
    if (slot < 0) return -1;
    this.touch(slot);
    return this.labels[slot] as number;
  }

  set(ip: number, label: number): void {
    const key = ip >>> 0;
    let slot = this.find(key);
    if (slot < 0) {
      if (this.used < this.capacity) slot = this.used++;
      else {
        slot = this.tail;
        this.unlinkLru(slot);
        this.unchain(slot);
      }
      this.keys[slot] = key;
      const b = this.bucketOf(key);
      this.chain[slot] = this.buckets[b] as number;
      this.buckets[b] = slot;
      this.prev[slot] = -1;
      this.next[slot] = -1;
      this.pushFront(slot);
    } else this.touch(slot);
    this.labels[slot] = label;
  }

  private bucketOf(key: number): number {
    return (Math.imul(key, 0x9e3779b1) >>> 0) & this.mask;
  }

  private find(key: number): number {
    for (let s = this.buckets[this.bucketOf(key)] as number; s >= 0; s = this.chain[s] as number) if (this.keys[s] === key) return s;
    return -1;
  }

  private unchain(slot: number): void {
    const b = this.bucketOf(this.keys[slot] as number);
    let s = this.buckets[b] as number;
    if (s === slot) { this.buckets[b] = this.chain[slot] as number; return; }
    while (s >= 0) {
      const n = this.chain[s] as number;
      if (n === slot) { this.chain[s] = this.chain[slot] as number; return; }
      s = n;
    }
  }

  private touch(slot: number): void {
    if (slot === this.head) return;
    this.unlinkLru(slot);
    this.pushFront(slot);
  }

  private unlinkLru(slot: number): void {
    const p = this.prev[slot] as number;
    const n = this.next[slot] as number;
    if (p >= 0) this.next[p] = n; else this.head = n;
    if (n >= 0) this.prev[n] = p; else this.tail = p;
    this.prev[slot] = -1;
    this.next[slot] = -1;
  }

  private pushFront(slot: number): void {
    this.next[slot] = this.head;
    this.prev[slot] = -1;
    if (this.head >= 0) this.prev[this.head] = slot;
    this.head = slot;
    if (this.tail < 0) this.tail = slot;
  }
}
