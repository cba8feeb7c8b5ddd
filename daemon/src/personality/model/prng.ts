/**
 * Small deterministic randomness for per-host choices: a string hash to derive seeds
 * and a splitmix32 generator. Same seed → same sequence, across restarts and platforms.
 */

/** FNV-1a over the UTF-16 code units of `text`, mixed with `seed`; 32-bit unsigned. */
export function hashString(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return finalMix(h);
}

/** Per-host seed: the same host address and template always give the same seed. */
export function hostSeed(hostAddress: string, templateName: string): number {
  return hashString(`${hostAddress}\u0000${templateName}`);
}

function finalMix(x: number): number {
  let z = x >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** splitmix32: tiny, fast, good enough statistical quality for choosing values. */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A child generator whose stream depends only on this seed and `label` (order-independent). */
  static derive(seed: number, label: string): SeededRandom {
    return new SeededRandom(hashString(label, seed));
  }

  nextU32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    return finalMix(this.state);
  }

  /** Uniform in [0, 1). */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [lo, hi] (inclusive); hi < lo returns lo. */
  int(lo: number, hi: number): number {
    if (hi <= lo) return lo;
    return lo + Math.floor(this.nextFloat() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }
}
