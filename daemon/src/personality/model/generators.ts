/**
 * The per-host processes behind Nmap's SEQ line (digest §5.5–§5.7): initial sequence numbers,
 * IP ID counters and the TCP timestamp clock. All take time from the packet's capture time.
 */

import { SeededRandom } from './prng';

/** A gap longer than this ends a burst: the ISN deviation pattern and counters may re-plan. */
const BURST_GAP_MS = 800;
/** Zero-mean pattern with sample standard deviation 1 (divisor n−1): any rotation keeps both. */
const Z_PATTERN = [1.265, -1.265, 0.632, -0.632, 0];
/**
 * The same mean and deviation with a low value near the smallest possible (one large step, four
 * small ones, kept distinct so that their GCD stays the unit):
 * for hosts whose deviation is close to their mean rate (SP ≈ ISR), where Z_PATTERN's low values
 * would step backwards and Nmap, reading step sizes, would see a higher rate and a lower deviation.
 */
const SKEWED_PATTERN = [1.7779, -0.2963, -0.3951, -0.4939, -0.5926];
/** Steps Nmap reads from a full SEQ burst (six SYN/ACKs). */
const FULL_BURST_STEPS = 5;

/** `raw` shifted and scaled to mean 0 and sample deviation 1 (divisor n−1, as Nmap's SP). */
function normalised(raw: readonly number[]): number[] {
  const n = raw.length;
  if (n < 2) return raw.map(() => 0);
  const mean = raw.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(raw.reduce((a, x) => a + (x - mean) * (x - mean), 0) / (n - 1));
  return raw.map((x) => (x - mean) / sd);
}

/** Z_PATTERN for a burst of `n` steps (a host that answers fewer of Nmap's SEQ SYNs with a SYN/ACK). */
function zPattern(n: number): number[] {
  if (n === FULL_BURST_STEPS) return Z_PATTERN.slice();
  const raw: number[] = [];
  for (let i = 0; i < n; i++) raw.push(i % 2 === 0 ? Math.ceil(i / 2) + 1 : -(Math.ceil(i / 2)));
  return normalised(n % 2 === 1 ? raw.map((x, i) => (i === n - 1 ? 0 : x)) : raw);
}

/** SKEWED_PATTERN for `n` steps: one large step, the rest small and distinct. */
function skewedPattern(n: number): number[] {
  if (n === FULL_BURST_STEPS) return SKEWED_PATTERN.slice();
  return normalised(Array.from({ length: n }, (_, i) => (i === 0 ? 1 : -0.05 * i)));
}
/** Steps must stay below 2^31, or Nmap's MOD_DIFF folds them back. */
const MAX_STEP = 0x7f000000;
const NOMINAL_GAP_S = 0.1;
/** Steps of a burst whose rates are tracked (Nmap's SEQ burst has five). */
const BURST_RATES = 8;

export interface IsnTarget {
  /** Target ISR (8·log2 of the mean rate per second). */
  isr: number;
  /** Target SP (8·log2 of the rate deviation in units of g). */
  sp: number;
  /** GCD of the steps; 0 = constant ISN. */
  gcd: number;
  /**
   * Steps Nmap reads per SEQ burst: the SYN/ACKs among its six SYNs, less one (default 5). A host
   * that resets some of those SYNs plans its deviation over the steps Nmap actually sees.
   */
  steps?: number;
  /** Rate-based deviations from SKEWED_PATTERN (no backward steps) instead of the symmetric one. */
  skewed?: boolean;
}

/** Nmap's ISR/SP for a list of steps taken at `gapS` spacing (digest §2.2); used to plan and in tests. */
export function nmapIsrSp(steps: readonly number[], gapS: number, gcd: number): { isr: number; sp: number } {
  const rates = steps.map((d) => d / gapS);
  const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
  const isr = mean > 0 ? Math.floor(8 * Math.log2(mean) + 0.5) : 0;
  const g = gcd > 9 ? gcd : 1;
  const scaled = rates.map((r) => r / g);
  const m = scaled.reduce((a, b) => a + b, 0) / scaled.length;
  const variance = scaled.reduce((a, r) => a + (r - m) * (r - m), 0) / Math.max(1, scaled.length - 1);
  const sigma = Math.sqrt(variance);
  return { isr, sp: sigma <= 1 ? 0 : Math.floor(8 * Math.log2(sigma) + 0.5) };
}

/** Nmap's SEQ numbers (GCD, ISR, SP) from successive ISNs and the gaps (s) between their probes. */
export function nmapSeqStats(isns: readonly number[], gapsS: readonly number[]): { gcd: number; isr: number; sp: number } {
  const diffs: number[] = [];
  for (let i = 1; i < isns.length; i++) {
    const a = (isns[i] - isns[i - 1] + 4294967296) % 4294967296;
    diffs.push(Math.min(a, 4294967296 - a === 4294967296 ? 0 : 4294967296 - a));
  }
  const g = diffs.reduce((x, y) => gcd(x, y), 0);
  if (g === 0) return { gcd: 0, isr: 0, sp: 0 };
  const rates = diffs.map((d, i) => d / Math.max(gapsS[i], 1e-6));
  const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
  const isr = mean > 0 ? Math.floor(8 * Math.log2(mean) + 0.5) : 0;
  const div = g > 9 ? g : 1;
  const scaled = rates.map((r) => r / div);
  const m = scaled.reduce((a, b) => a + b, 0) / scaled.length;
  const sigma = Math.sqrt(scaled.reduce((a, r) => a + (r - m) * (r - m), 0) / Math.max(1, scaled.length - 1));
  return { gcd: g, isr, sp: sigma <= 1 ? 0 : Math.floor(8 * Math.log2(sigma) + 0.5) };
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Whether the symmetric pattern would step backwards (then SKEWED_PATTERN may be needed). */
export function stepsBackwards(target: IsnTarget): boolean {
  const plan = planIsn({ ...target, skewed: false });
  return !plan.quantised && plan.meanRate - Math.max(...plan.pattern) * plan.sigmaRate < 0;
}

/** What an ISN target implies for every host that has it: immutable, so hosts may share one. */
export interface IsnPlan {
  readonly meanRate: number;
  readonly sigmaRate: number;
  /** Steps are whole multiples of the GCD (else rate × gap, rounded to it). */
  readonly quantised: boolean;
  /** Per-burst deviations: z-values (continuous) or step multiples of the GCD (quantised). */
  readonly pattern: readonly number[];
  /** Median of the pattern (quantised plans): the typical multiple. */
  readonly meanMultiple: number;
}

function burstSteps(target: IsnTarget): number {
  const n = target.steps ?? FULL_BURST_STEPS;
  return Number.isInteger(n) && n >= 1 && n <= FULL_BURST_STEPS ? n : FULL_BURST_STEPS;
}

export function planIsn(target: IsnTarget): IsnPlan {
  const meanRate = Math.pow(2, target.isr / 8);
  const g = target.gcd > 9 ? target.gcd : 1;
  const sigmaRate = target.sp === 0 ? 0 : Math.pow(2, target.sp / 8) * g;
  // Whole multiples when a step is only a few GCDs: then neither rounding nor Nmap's timing
  // jitter shows as deviation. Larger steps are rate × gap, rounded to the GCD.
  const quantised = target.gcd > 0 && (meanRate * NOMINAL_GAP_S) / target.gcd <= 16;
  const n = burstSteps(target);
  const pattern = quantised ? planMultiples(target) : target.skewed === true ? skewedPattern(n) : zPattern(n);
  const sorted = [...pattern].sort((a, b) => a - b);
  return { meanRate, sigmaRate, quantised, pattern, meanMultiple: sorted[Math.floor(sorted.length / 2)] ?? 0 };
}

/**
 * ISNs whose per-probe rate has a controlled mean (ISR) and deviation (SP), quantised to the GCD.
 * Within a burst the deviations cycle through one permutation of a fixed pattern (one value per
 * step Nmap reads, normally 5), so that many consecutive steps have the planned mean and deviation; a new permutation is drawn per burst.
 */
export class IsnGenerator {
  private isn: number;
  private lastMs = Number.NEGATIVE_INFINITY;
  private index = 0;
  /** GCD of the step multiples since the burst began (0 before the first). */
  private burstMultiples = 0;
  private readonly order: number[];
  /** Rates (multiples per second) of this burst's steps so far, as taken and as planned. */
  private readonly burstRates = new Float64Array(BURST_RATES);
  private readonly plannedRates = new Float64Array(BURST_RATES);

  constructor(
    readonly target: IsnTarget,
    private readonly rng: SeededRandom,
    /** Pass a plan shared between hosts of the same target; computed here otherwise. */
    readonly plan: IsnPlan = planIsn(target),
  ) {
    this.isn = rng.nextU32() | 1;
    this.order = plan.pattern.map((_, i) => i);
  }

  get pattern(): readonly number[] {
    return this.plan.pattern;
  }

  get quantised(): boolean {
    return this.plan.quantised;
  }

  /**
   * A whole number of units near `x`: of the two neighbours, the one that keeps the burst's rate
   * deviation closest to the plan's. Rounding a small step to whole units adds up to half a unit
   * of noise per probe; at slow ISN clocks that noise alone would move SP by several bins.
   */
  private roundTowardsPlan(x: number, gapS: number, plannedRate: number): number {
    const n = this.index - 1;
    const lo = Math.floor(x);
    if (n < 1 || n >= BURST_RATES || lo === x) return Math.round(x);
    const want = deviationWith(this.plannedRates, n, Math.abs(plannedRate));
    // The two neighbours, or one unit further where that is still closer to the planned rate
    // than a unit (the deviation then catches up within the burst instead of drifting).
    let best = Math.round(x);
    let bestMiss = Infinity;
    for (let k = lo - 1; k <= lo + 2; k++) {
      if (Math.abs(k - x) > 1.5 || (x >= 0 && k < 0)) continue;
      const miss = Math.abs(deviationWith(this.burstRates, n, Math.abs(k) / gapS) - want) + (Math.abs(k - x) > 1 ? 0.5 : 0);
      if (miss < bestMiss) {
        bestMiss = miss;
        best = k;
      }
    }
    return best;
  }

  /**
   * Which of the cycle's unused multiples to take for a step after `gapS`. Nmap reads multiple /
   * gap, and its gaps run up to 2 % over 100 ms: a large multiple after a short gap (or a small
   * one after a long gap) reads as more deviation than planned. So a multiple above the typical
   * one waits for a long gap, one below it for a short gap, unless no other slot is left.
   */
  private multipleSlot(gapS: number): number {
    const len = this.plan.pattern.length;
    const at = this.index % len;
    const typical = this.plan.meanMultiple;
    const long = gapS >= NOMINAL_GAP_S * 1.01;
    let outliers = 0;
    let pick = -1;
    let typicalAt = -1;
    for (let j = at; j < len; j++) {
      const k = this.plan.pattern[this.order[j]];
      if (k === typical) {
        if (typicalAt < 0) typicalAt = j;
        continue;
      }
      outliers++;
      if (pick < 0 && (k > typical) === long) pick = j;
    }
    if (pick < 0) pick = outliers === len - at || typicalAt < 0 ? at : typicalAt;
    // Swap it into the current position so the cycle's remaining slots stay the unused ones.
    const chosen = this.order[pick];
    this.order[pick] = this.order[at];
    this.order[at] = chosen;
    return chosen;
  }

  /** Whether the last next() began a new burst (its gap exceeded BURST_GAP_MS). */
  burstStarted = false;

  /** The ISN for a SYN/ACK sent at `timeMs`. */
  next(timeMs: number): number {
    const { gcd: unit } = this.target;
    if (unit === 0) return this.isn;
    const gapMs = timeMs - this.lastMs;
    this.lastMs = timeMs;
    let step: number;
    this.burstStarted = !(gapMs <= BURST_GAP_MS);
    if (this.burstStarted) {
      // A new burst: time-proportional progress, then a fresh deviation order.
      const gapS = Number.isFinite(gapMs) ? Math.max(0, gapMs) / 1000 : 0;
      step = Math.round((this.plan.meanRate * gapS) / unit) * unit + unit * this.rng.int(0, 7);
      this.rng.shuffle(this.order);
      this.index = 0;
      this.burstMultiples = 0;
    } else {
      const plan = this.plan;
      const gapS = Math.max(gapMs, 1) / 1000;
      const slot = plan.quantised ? this.multipleSlot(gapS) : this.order[this.index % plan.pattern.length];
      this.index++;
      if (plan.quantised) {
        // Planned multiples assume 100 ms spacing; wider spacing scales the count.
        const scale = Math.max(1, Math.round(gapS / NOMINAL_GAP_S));
        step = plan.pattern[slot] * scale * unit;
      } else {
        // A negative rate is a backwards step: Nmap's MOD_DIFF reads its size.
        const rate = plan.meanRate + plan.sigmaRate * plan.pattern[slot];
        let k = this.roundTowardsPlan((rate * gapS) / unit, gapS, rate / unit);
        // The burst's last planned step: if every multiple so far shares a factor, Nmap would
        // read a GCD of that many units and divide the deviation (SP) by it. One unit more or
        // less is invisible in the rate.
        if (this.index === plan.pattern.length && gcd(this.burstMultiples, Math.abs(k)) > 1) {
          k = gcd(this.burstMultiples, Math.abs(k + 1)) === 1 ? k + 1 : k - 1;
        }
        this.burstMultiples = gcd(this.burstMultiples, Math.abs(k));
        const n = this.index - 1;
        if (n < BURST_RATES) {
          this.burstRates[n] = Math.abs(k) / gapS;
          this.plannedRates[n] = Math.abs(rate / unit);
        }
        step = k * unit;
      }
      if (Math.abs(step) > MAX_STEP) step = Math.sign(step) * Math.floor(MAX_STEP / unit) * unit;
    }
    this.isn = (this.isn + (step % 4294967296) + 4294967296) % 4294967296;
    return this.isn;
  }
}

/** Sample standard deviation of the first n values of xs plus x (n + 1 values, divisor n). */
function deviationWith(xs: Float64Array, n: number, x: number): number {
  let sum = x;
  for (let i = 0; i < n; i++) sum += xs[i];
  const mean = sum / (n + 1);
  let sq = (x - mean) * (x - mean);
  for (let i = 0; i < n; i++) sq += (xs[i] - mean) * (xs[i] - mean);
  return n > 0 ? Math.sqrt(sq / n) : 0;
}

/**
 * For GCD > 9 the steps are whole multiples k·GCD. Pick five k (gcd 1) whose rates at 100 ms give
 * the target ISR and SP as closely as possible.
 */
export function planMultiples(target: IsnTarget): number[] {
  const unit = target.gcd;
  const g = unit > 9 ? unit : 1;
  const mu = (Math.pow(2, target.isr / 8) * NOMINAL_GAP_S) / unit;
  // Nmap's deviation is of rate/g, and rate = k·unit/gap.
  const s = target.sp === 0 ? 0 : (Math.pow(2, target.sp / 8) * NOMINAL_GAP_S * g) / unit;
  let ks = zPattern(burstSteps(target)).map((z) => Math.max(0, Math.round(mu + s * z)));
  const cost = (k: number[]): number => {
    if (k.every((x) => x === 0)) return Infinity;
    const gk = k.reduce((a, b) => gcd(a, b), 0);
    const r = nmapIsrSp(k.map((x) => x * unit), NOMINAL_GAP_S, unit);
    return Math.abs(r.isr - target.isr) + Math.abs(r.sp - target.sp) + (gk === 1 || target.sp === 0 ? 0 : 100);
  };
  let best = cost(ks);
  for (let round = 0; round < 40 && best > 0; round++) {
    let improved = false;
    for (let i = 0; i < ks.length; i++) {
      for (const d of [-1, 1]) {
        const trial = ks.slice();
        trial[i] = Math.max(0, trial[i] + d);
        const c = cost(trial);
        if (c < best) {
          best = c;
          ks = trial;
          improved = true;
        }
      }
    }
    if (!improved) break;
  }
  return ks;
}

// ---------------------------------------------------------------------------------------------
// IP ID

export type IpIdClass = 'Z' | 'RD' | 'RI' | 'BI' | 'I' | { fixed: number };

export function parseIpIdClass(text: string | undefined): IpIdClass | undefined {
  if (text === undefined) return undefined;
  if (text === 'Z' || text === 'RD' || text === 'RI' || text === 'BI' || text === 'I') return text;
  if (/^[0-9A-F]+$/i.test(text)) return { fixed: parseInt(text, 16) & 0xffff };
  return undefined;
}

export function ipIdClassName(c: IpIdClass): string {
  return typeof c === 'string' ? c : c.fixed.toString(16).toUpperCase();
}

/** RI steps: above Nmap's 1000 threshold, never a multiple of 256, far below the 20000 RD limit. */
const RI_MIN = 1001;
const RI_MAX = 2000;

/**
 * One IP ID counter of a class. `lo`/`hi` keep the visible values in a band (used to place a
 * separate ICMP counter above or below the TCP one for SS); near the top of its band the counter
 * re-bases between bursts, so no wrap (which Nmap reads as RD) falls inside a probe burst.
 */
export class IpIdCounter {
  private value: number;
  private lastMs = Number.NEGATIVE_INFINITY;

  constructor(
    readonly cls: IpIdClass,
    private readonly rng: SeededRandom,
    private readonly lo = 0,
    private readonly hi = 0x10000,
  ) {
    this.value = lo + rng.int(0, Math.max(0, Math.min(2000, hi - lo - 1)));
  }

  next(timeMs: number): number {
    const gap = timeMs - this.lastMs;
    this.lastMs = timeMs;
    const betweenBursts = !(gap <= 500);
    const c = this.cls;
    if (typeof c !== 'string') return c.fixed;
    switch (c) {
      case 'Z':
        return 0;
      case 'RD':
        // Every step either jumps > 20000 or wraps (a decrease): Nmap's rule 1 fires on any 3 samples.
        this.value = (this.value + 20001 + this.rng.int(0, 25000)) & 0xffff;
        return this.value;
      case 'I': {
        if (betweenBursts && this.value > this.hi - 256) this.value = this.lo + this.rng.int(0, 255);
        this.value = this.value + 1 >= this.hi ? this.lo : this.value + 1;
        return this.value;
      }
      case 'RI': {
        // Re-base at every burst start: a round of Nmap draws about a dozen values from one counter.
        if (betweenBursts && this.value > this.lo + 4 * RI_MAX) this.value = this.lo + this.rng.int(0, 1000);
        let step = this.rng.int(RI_MIN, RI_MAX);
        if (step % 256 === 0) step++;
        this.value += step;
        if (this.value >= this.hi) this.value = this.lo + (this.value - this.hi);
        return this.value;
      }
      case 'BI': {
        // The true counter counts by one; the wire shows it byte-swapped (+256 per packet).
        // The visible high byte is the true low byte: keep it inside the band, with room for a burst.
        const low = this.value & 0xff;
        const bandLo = this.lo >>> 8;
        const bandHi = Math.min(0x100, Math.ceil(this.hi / 256));
        if (betweenBursts && (low < bandLo || low >= bandHi - 24)) this.value = (((this.value >>> 8) + 1) << 8 | bandLo) & 0xffff;
        this.value = (this.value + 1) & 0xffff;
        return ((this.value & 0xff) << 8) | (this.value >>> 8);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// TCP timestamps

export type TsClass =
  | { kind: 'none' }
  | { kind: 'zero' }
  | { kind: 'clock'; hz: number }
  /** Random TSval per connection with controlled spread (Nmap's TS=21/22). */
  | { kind: 'per-connection'; log2Rate: number };

/** Map an Nmap TS value to a clock (digest §2.2 table: the middle of each bin). */
export function tsClassFor(text: string | undefined): TsClass {
  if (text === undefined) return { kind: 'clock', hz: 1000 };
  if (text === 'U') return { kind: 'none' };
  if (text === '0') return { kind: 'zero' };
  const v = parseInt(text, 16);
  if (!Number.isFinite(v)) return { kind: 'clock', hz: 1000 };
  if (v === 1) return { kind: 'clock', hz: 2 };
  if (v === 7) return { kind: 'clock', hz: 100 };
  if (v === 8) return { kind: 'clock', hz: 250 };
  // Real clocks where one sits in the bin (9 → 500, A → 1000, B → 2000 Hz); else the bin centre 2^v.
  if (v >= 9 && v <= 0xb) return { kind: 'clock', hz: 500 * Math.pow(2, v - 9) };
  if (v >= 0x20) return { kind: 'per-connection', log2Rate: v };
  return { kind: 'clock', hz: Math.pow(2, v) };
}

/** The host's TS clock: TSval = uptime ticks, plus per-connection random values for TS=21/22. */
export class TimestampClock {
  private lastConnTs = 0;
  private lastConnMs = Number.NEGATIVE_INFINITY;

  constructor(
    readonly cls: TsClass,
    /** Boot instant (ms since epoch): the clock reads 0 ticks there. */
    readonly bootTimeMs: number,
    private readonly rng: SeededRandom,
  ) {}

  /** Host clock frequency used for ordinary segments (per-connection hosts tick at 1000 Hz between). */
  get hz(): number {
    return this.cls.kind === 'clock' ? this.cls.hz : 1000;
  }

  /** Host-wide TSval at `timeMs`; -1 when the host sends no timestamps. */
  value(timeMs: number): number {
    if (this.cls.kind === 'none') return -1;
    if (this.cls.kind === 'zero') return 0;
    const ticks = Math.floor(((timeMs - this.bootTimeMs) * this.hz) / 1000);
    return ((ticks % 4294967296) + 4294967296) % 4294967296;
  }

  /** TSval for the SYN/ACK of a new connection at `timeMs`. */
  synAckValue(timeMs: number): number {
    if (this.cls.kind !== 'per-connection') return this.value(timeMs);
    const gap = timeMs - this.lastConnMs;
    this.lastConnMs = timeMs;
    if (!(gap <= BURST_GAP_MS)) {
      this.lastConnTs = this.rng.nextU32();
      return this.lastConnTs;
    }
    // Within a burst: steps whose mean rate lands in the middle of the TS bin (2^v per second).
    const center = Math.pow(2, this.cls.log2Rate);
    const rate = center * (0.8 + this.rng.nextFloat() * 0.15);
    let step = Math.round((rate * Math.max(gap, 1)) / 1000);
    if (step > MAX_STEP) step = MAX_STEP;
    const sign = this.rng.nextFloat() < 0.5 ? -1 : 1;
    this.lastConnTs = (this.lastConnTs + sign * step + 4294967296) % 4294967296;
    return this.lastConnTs >>> 0;
  }
}
