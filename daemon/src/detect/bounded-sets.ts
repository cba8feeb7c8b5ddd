/**
 * Fixed-size sets for per-flow counting on the frame path: no allocation after construction,
 * O(1) insert, and a clear that costs what was inserted (a flow is recycled often under a flood).
 */

/** Distinct unsigned 32-bit values (addresses), exact up to `capacity`; beyond it the count saturates. */
export class BoundedIntSet {
  /** Open addressing, load factor <= 1/2. Slot value -1 = empty (values are stored as int32). */
  private readonly slots: Int32Array;
  private readonly mask: number;
  /** Values in insertion order: samples for events and the list of slots to clear. */
  private readonly items: Int32Array;
  private count = 0;
  /** Values seen after the set was full that were not in it (counted, not stored; may repeat). */
  private overflowed = 0;

  constructor(readonly capacity: number) {
    let size = 4;
    while (size < capacity * 2) size *= 2;
    this.slots = new Int32Array(size).fill(-1);
    this.mask = size - 1;
    this.items = new Int32Array(capacity);
  }

  get size(): number { return this.count; }
  /** True once values arrived that the set had no room for: `size` is then a lower bound. */
  get saturated(): boolean { return this.overflowed > 0; }

  /** Adds `value`; true when it was not in the set. */
  add(value: number): boolean {
    const v = value | 0;
    let i = Math.imul(v, 0x9e3779b1) >>> 0 & this.mask;
    for (;;) {
      const s = this.slots[i];
      if (s === v) return false;
      if (s === -1) break;
      i = (i + 1) & this.mask;
    }
    if (this.count >= this.capacity) {
      this.overflowed++;
      return false;
    }
    this.slots[i] = v;
    this.items[this.count++] = v;
    return true;
  }

  has(value: number): boolean {
    const v = value | 0;
    let i = Math.imul(v, 0x9e3779b1) >>> 0 & this.mask;
    for (;;) {
      const s = this.slots[i];
      if (s === v) return true;
      if (s === -1) return false;
      i = (i + 1) & this.mask;
    }
  }

  /** The first `limit` values in insertion order, as unsigned numbers (timer side only: allocates). */
  sample(limit: number): number[] {
    const n = Math.min(limit, this.count);
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(this.items[i] >>> 0);
    return out;
  }

  clear(): void {
    if (this.count * 4 > this.slots.length) this.slots.fill(-1);
    else {
      // Re-find each stored value's slot: cheaper than a full fill when few were stored.
      for (let k = 0; k < this.count; k++) {
        const v = this.items[k];
        let i = Math.imul(v, 0x9e3779b1) >>> 0 & this.mask;
        while (this.slots[i] !== v) i = (i + 1) & this.mask;
        this.slots[i] = -1;
      }
      // Removing entries can break probe chains of the rest; all are removed, so nothing remains to find.
    }
    this.count = 0;
    this.overflowed = 0;
  }
}

/** Distinct 16-bit values (ports, or IP protocol numbers), exact: one bit each (8 KiB). */
export class PortBitmap {
  private readonly words = new Uint32Array(2048);
  /** Word indices made non-zero, so clear() touches only those (up to TRACKED, then a full fill). */
  private readonly touched = new Uint16Array(64);
  private touchedCount = 0;
  private count = 0;

  get size(): number { return this.count; }

  add(value: number): boolean {
    const w = (value >>> 5) & 2047;
    const bit = 1 << (value & 31);
    const word = this.words[w];
    if ((word & bit) !== 0) return false;
    if (word === 0 && this.touchedCount <= this.touched.length) {
      if (this.touchedCount < this.touched.length) this.touched[this.touchedCount] = w;
      this.touchedCount++;
    }
    this.words[w] = word | bit;
    this.count++;
    return true;
  }

  has(value: number): boolean {
    return (this.words[(value >>> 5) & 2047] & (1 << (value & 31))) !== 0;
  }

  /** The lowest `limit` values (timer side only: allocates). */
  sample(limit: number): number[] {
    const out: number[] = [];
    for (let w = 0; w < 2048 && out.length < limit; w++) {
      let word = this.words[w];
      while (word !== 0 && out.length < limit) {
        const low = word & -word;
        out.push(w * 32 + (31 - Math.clz32(low)));
        word ^= low;
      }
    }
    return out;
  }

  /** True when every value present is in `allowed`. */
  onlyWithin(allowed: readonly number[]): boolean {
    let n = 0;
    for (const v of allowed) if (this.has(v)) n++;
    return n === this.count;
  }

  clear(): void {
    if (this.touchedCount > this.touched.length) this.words.fill(0);
    else for (let i = 0; i < this.touchedCount; i++) this.words[this.touched[i]] = 0;
    this.touchedCount = 0;
    this.count = 0;
  }
}

/**
 * A fixed-capacity map from an unsigned 32-bit key to an object, without allocation on insert or
 * delete (a JS Map churned by a spoofed-source flood rehashes and feeds the garbage collector).
 * Linear probing with backward-shift deletion, load factor <= 1/2.
 */
export class BoundedIntMap<V> {
  private readonly keys: Uint32Array;
  private readonly used: Uint8Array;
  private readonly values: (V | undefined)[];
  private readonly mask: number;
  private count = 0;

  constructor(readonly capacity: number) {
    let size = 4;
    while (size < capacity * 2) size *= 2;
    this.keys = new Uint32Array(size);
    this.used = new Uint8Array(size);
    this.values = new Array<V | undefined>(size).fill(undefined);
    this.mask = size - 1;
  }

  get size(): number { return this.count; }

  private home(key: number): number {
    return (Math.imul(key ^ (key >>> 16), 0x45d9f3b) >>> 0) & this.mask;
  }

  get(key: number): V | undefined {
    const k = key >>> 0;
    for (let i = this.home(k); this.used[i] === 1; i = (i + 1) & this.mask) {
      if (this.keys[i] === k) return this.values[i];
    }
    return undefined;
  }

  /** Inserts or replaces; false when the map is full and `key` is new. */
  set(key: number, value: V): boolean {
    const k = key >>> 0;
    let i = this.home(k);
    for (; this.used[i] === 1; i = (i + 1) & this.mask) {
      if (this.keys[i] === k) { this.values[i] = value; return true; }
    }
    if (this.count >= this.capacity) return false;
    this.used[i] = 1;
    this.keys[i] = k;
    this.values[i] = value;
    this.count++;
    return true;
  }

  delete(key: number): boolean {
    const k = key >>> 0;
    let i = this.home(k);
    for (; this.used[i] === 1; i = (i + 1) & this.mask) {
      if (this.keys[i] === k) break;
    }
    if (this.used[i] !== 1) return false;
    // Backward shift: move later entries of the run into the hole when their home allows it.
    let hole = i;
    for (let j = (i + 1) & this.mask; this.used[j] === 1; j = (j + 1) & this.mask) {
      const h = this.home(this.keys[j] as number);
      const between = hole <= j ? hole < h && h <= j : hole < h || h <= j;
      if (between) continue;
      this.keys[hole] = this.keys[j] as number;
      this.values[hole] = this.values[j];
      hole = j;
    }
    this.used[hole] = 0;
    this.values[hole] = undefined;
    this.count--;
    return true;
  }
}
