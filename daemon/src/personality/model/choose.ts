/**
 * Resolve every attribute expression of one nmap-os-db entry to one concrete value, the value a
 * host would show Nmap (digest §5.2). Choices are seeded per host: the same seed always gives the
 * same values, different hosts may differ within what the expressions allow. Typical values are
 * preferred: ranges resolve towards their middle, T to the TG initial TTL, option strings and
 * windows agree with each other, GCD/ISR/SP only where the ISN generator is checked to meet them.
 */

import type { OsFingerprint, TestName } from '../osdb/types';
import { Alternative, expressionAllows, hex, isHexNumber, parseAlternatives } from './expression';
import { IsnGenerator, IsnTarget, nmapSeqStats, stepsBackwards } from './generators';
import { parseOptionString, layoutShift, OptionToken } from './tcp-options';
import { SeededRandom } from './prng';

/** Test → attribute → concrete value, formatted as Nmap prints it. */
export type ChosenValues = Map<TestName, Map<string, string>>;


export function chooseValues(fp: OsFingerprint, seed: number): ChosenValues {
  const out: ChosenValues = new Map();
  const rngFor = (test: string, attr: string): SeededRandom => SeededRandom.derive(seed, `${test}.${attr}`);
  const set = (test: TestName, attr: string, value: string): void => {
    let m = out.get(test);
    if (!m) {
      m = new Map();
      out.set(test, m);
    }
    m.set(attr, value);
  };

  chooseTtls(fp, rngFor, set);
  chooseOptionStrings(fp, rngFor, set);
  chooseWindows(fp, rngFor, set);
  chooseHandshake(fp, set);
  chooseSeq(fp, rngFor, set, answeredSeqSlots(fp, out));

  for (const [test, attrs] of fp.tests) {
    for (const [attr, expr] of attrs) {
      if (out.get(test)?.has(attr)) continue;
      set(test, attr, chooseGeneric(test, attr, expr, rngFor(test, attr)));
    }
  }
  return out;
}

type RngFor = (test: string, attr: string) => SeededRandom;

/**
 * T1 is the answer to every plain SYN on an open port. Where its F/A/S expressions allow a real
 * SYN/ACK (flags A+S, ack = seq + 1, own ISN), take it: an alternative such as `F=A|AS` or `A=O|S+`
 * picked at random would answer SYNs with a bare ACK or a wrong ack number, so the port would not be
 * open to any scanner or client (nmap then finds no open port and cannot run its open-port tests).
 */
function chooseHandshake(fp: OsFingerprint, set: Setter): void {
  const t1 = fp.tests.get('T1');
  if (!t1 || t1.get('R') === 'N') return;
  const flags = t1.get('F');
  if (flags === undefined) return;
  const synAck = flags.split('|').find((f) => f.includes('A') && f.includes('S') && !f.includes('R'));
  if (synAck === undefined) return;
  set('T1', 'F', synAck);
  const ack = t1.get('A');
  if (ack !== undefined && ack.split('|').includes('S+')) set('T1', 'A', 'S+');
  const seq = t1.get('S');
  if (seq !== undefined && seq.split('|').includes('O')) set('T1', 'S', 'O');
}
type Setter = (test: TestName, attr: string, value: string) => void;

/** Values that Nmap prints as `G` instead of a number: choosing them would read as `G`. */
const G_COLLISION: Record<string, number> = { 'U1.RIPL': 0x148, 'U1.RID': 0x1042 };

/** Generic choice: pick an alternative (first one favoured), then a value inside it. */
export function chooseGeneric(test: string, attr: string, expr: string, rng: SeededRandom): string {
  const avoid = G_COLLISION[`${test}.${attr}`];
  let alts = parseAlternatives(expr);
  if (avoid !== undefined) alts = alts.filter((a) => !(a.kind === 'literal' && a.text === hex(avoid)));
  if (alts.length === 0) return expr.split('|')[0];
  const alt = rng.nextFloat() < 0.5 ? alts[0] : rng.pick(alts);
  return valueIn(alt, rng, avoid);
}

/** A concrete value inside one alternative; ranges resolve into their middle half. */
export function valueIn(alt: Alternative, rng: SeededRandom, avoid?: number): string {
  let v: number;
  switch (alt.kind) {
    case 'literal':
      return alt.text;
    case 'range': {
      const quarter = Math.floor((alt.hi - alt.lo) / 4);
      v = rng.int(alt.lo + quarter, alt.hi - quarter);
      break;
    }
    case 'greater':
      v = alt.than + 1 + rng.int(0, 15);
      break;
    case 'less':
      v = Math.max(0, alt.than - 1 - rng.int(0, Math.min(15, Math.max(0, alt.than - 1))));
      break;
  }
  if (avoid !== undefined && v === avoid) v = v + 1 <= rangeHi(alt) ? v + 1 : v - 1;
  return hex(v);
}

function rangeHi(alt: Alternative): number {
  return alt.kind === 'range' ? alt.hi : alt.kind === 'less' ? alt.than - 1 : 0xffffffff;
}

// ---------------------------------------------------------------------------------------------
// TTL: T and TG

const TTL_LINES: TestName[] = ['T1', 'T2', 'T3', 'T4', 'T5', 'T6', 'T7', 'ECN', 'U1', 'IE'];

/** Nmap's TG rounding of a received TTL. */
export function ttlGuess(ttl: number): number {
  return ttl <= 32 ? 0x20 : ttl <= 64 ? 0x40 : ttl <= 128 ? 0x80 : 0xff;
}

function allowsNumber(expr: string | undefined, v: number): boolean {
  if (expr === undefined) return true;
  return parseAlternatives(expr).some((a) =>
    a.kind === 'literal'
      ? isHexNumber(a.text) && parseInt(a.text, 16) === v
      : a.kind === 'range'
        ? v >= a.lo && v <= a.hi
        : a.kind === 'greater'
          ? v > a.than
          : v < a.than,
  );
}

/** Common initial TTLs, in the order they are preferred. */
const INITIAL_TTLS = [64, 128, 255, 32];
/**
 * Most extra hops a U1 quote may claim. Nmap's U1 leaves with a TTL of 51–64 (unix time mod 14,
 * plus 51), so up to 51 extra hops always fit in the quote; more (an entry such as T=134 on a 255
 * stack needs 53) fit in the rounds whose TTL is high enough, and read 0 (fewer hops) otherwise.
 */
export const MAX_EXTRA_HOPS = 63;

/**
 * Extra hops (beyond one) Nmap must have counted for every T to be an initial TTL plus that
 * distance, while TG (read from the raw TTL) still names the initial one: e.g. T=41/TG=40 on the
 * TCP lines with T=100/TG=FF on IE is a 64/255 host whose U1 quote claimed one more hop. 0 when the
 * T values fit at one hop or when no single distance fits them all.
 */
function commonExtraHops(fp: OsFingerprint): number {
  const lines: Array<[string | undefined, string | undefined]> = [];
  for (const test of TTL_LINES) {
    const attrs = fp.tests.get(test);
    if (attrs && (attrs.has('T') || attrs.has('TG'))) lines.push([attrs.get('T'), attrs.get('TG')]);
  }
  const fits = (d: number, ttls: readonly number[]): boolean =>
    lines.every(([t, tg]) => ttls.some((ttl) => allowsNumber(t, ttl + d) && allowsNumber(tg, ttlGuess(ttl))));
  if (fits(0, INITIAL_TTLS)) return 0;
  for (let d = 1; d <= MAX_EXTRA_HOPS; d++) if (fits(d, INITIAL_TTLS)) return d;
  // Else a distance at which some line needs an uncommon initial TTL (e.g. ICMP sent with 253).
  if (fits(0, ANY_TTL)) return 0;
  for (let d = 1; d <= MAX_EXTRA_HOPS; d++) if (fits(d, ANY_TTL)) return d;
  return 0;
}

const ANY_TTL = Array.from({ length: 255 }, (_, i) => i + 1);

function chooseTtls(fp: OsFingerprint, rngFor: RngFor, set: Setter): void {
  let previous = -1;
  const extra = commonExtraHops(fp);
  for (const test of TTL_LINES) {
    const attrs = fp.tests.get(test);
    if (!attrs) continue;
    const tExpr = attrs.get('T');
    const tgExpr = attrs.get('TG');
    if (tExpr === undefined && tgExpr === undefined) continue;
    const ok = (ttl: number): boolean => allowsNumber(tExpr, ttl + extra) && allowsNumber(tgExpr, ttlGuess(ttl));
    let ttl = -1;
    if (previous > 0 && ok(previous)) ttl = previous;
    if (ttl < 0) {
      const initials = INITIAL_TTLS.filter(ok);
      if (initials.length > 0) {
        // Prefer the initial TTL the TG expression names first.
        const tgFirst = tgExpr ? parseAlternatives(tgExpr)[0] : undefined;
        const named = tgFirst && tgFirst.kind === 'literal' ? parseInt(tgFirst.text, 16) : NaN;
        ttl = initials.includes(named) ? named : initials[0];
      }
    }
    if (ttl < 0 && extra > 0) {
      // An uncommon initial TTL at the common distance: the middle of those that fit.
      const fitting = ANY_TTL.filter(ok);
      if (fitting.length > 0) ttl = fitting[Math.floor(fitting.length / 2)];
    }
    if (ttl < 0 && tExpr) {
      const v = parseInt(chooseGeneric(test, 'T', tExpr, rngFor(test, 'T')), 16);
      if (v >= 1 && v <= 255) ttl = v;
    }
    if (ttl < 0 && tgExpr) ttl = Math.min(255, parseInt(chooseGeneric(test, 'TG', tgExpr, rngFor(test, 'TG')), 16) || 64);
    if (ttl < 1) ttl = 64;
    if (tExpr !== undefined) set(test, 'T', hex(ttl));
    if (tgExpr !== undefined) set(test, 'TG', hex(ttlGuess(ttl)));
    previous = ttl;
  }
}

// ---------------------------------------------------------------------------------------------
// Option strings: one coherent layout family (same window scale, same timestamp style)

const OPTION_ATTRS: Array<[TestName, string]> = [
  ['OPS', 'O1'], ['OPS', 'O2'], ['OPS', 'O3'], ['OPS', 'O4'], ['OPS', 'O5'], ['OPS', 'O6'],
  ['ECN', 'O'], ['T2', 'O'], ['T3', 'O'], ['T4', 'O'], ['T5', 'O'], ['T6', 'O'], ['T7', 'O'],
];

interface LayoutFeatures {
  shift: number;
  tsStyle: string;
  empty: boolean;
}

function features(tokens: OptionToken[]): LayoutFeatures {
  const t = tokens.find((x) => x.kind === 'T');
  return {
    shift: layoutShift(tokens),
    tsStyle: t && t.kind === 'T' ? `${t.valNonZero ? 1 : 0}${t.ecrNonZero ? 1 : 0}` : '',
    empty: tokens.length === 0,
  };
}

function chooseOptionStrings(fp: OsFingerprint, rngFor: RngFor, set: Setter): void {
  let reference: LayoutFeatures | null = null;
  // Option layouts must agree with the timestamp class: TS=U means no T option anywhere.
  const tsExpr = fp.tests.get('SEQ')?.get('TS');
  const wantTs = tsExpr === undefined ? null : tsExpr === 'U' ? false : tsExpr.split('|').includes('U') ? null : true;
  const tsClasses = tsExpr === undefined ? [] : tsExpr.split('|').filter((v) => v !== 'U');
  const tsZero = tsClasses.length === 0 ? null : tsClasses.every((v) => v === '0') ? true : tsClasses.includes('0') ? null : false;
  for (const [test, attr] of OPTION_ATTRS) {
    const expr = fp.tests.get(test)?.get(attr);
    if (expr === undefined) continue;
    const candidates = expr
      .split('|')
      .map((text) => ({ text, tokens: parseOptionString(text) }))
      .filter((c): c is { text: string; tokens: OptionToken[] } => c.tokens !== null);
    if (candidates.length === 0) {
      set(test, attr, expr.split('|')[0]);
      continue;
    }
    const rng = rngFor(test, attr);
    let best = candidates[0];
    if (candidates.length > 1) {
      const scored = candidates.map((c) => {
        const f = features(c.tokens);
        let score = f.empty ? -1 : 0;
        if (test === 'OPS' && wantTs !== null && (f.tsStyle !== '') === wantTs) score += 4;
        // TS=0 is a zero TSval (`T0x`); any other TS class needs a ticking one (`T1x`).
        if (test === 'OPS' && f.tsStyle !== '' && tsZero !== null && (f.tsStyle[0] === '0') === tsZero) score += 3;
        if (reference) {
          if (f.shift === reference.shift) score += 2;
          if (f.tsStyle === reference.tsStyle) score += 2;
          if (f.empty === reference.empty) score += 1;
        }
        return { c, score: score + rng.nextFloat() * 0.5 };
      });
      scored.sort((a, b) => b.score - a.score);
      best = scored[0].c;
    }
    const f = features(best.tokens);
    if (reference === null && !f.empty && test === 'OPS') reference = f;
    set(test, attr, best.text);
  }
}

// ---------------------------------------------------------------------------------------------
// Windows: W1–W6 agree with each other where alternatives allow

function chooseWindows(fp: OsFingerprint, rngFor: RngFor, set: Setter): void {
  const win = fp.tests.get('WIN');
  if (!win) return;
  const chosen: number[] = [];
  for (let i = 1; i <= 6; i++) {
    const attr = `W${i}`;
    const expr = win.get(attr);
    if (expr === undefined) continue;
    const alts = parseAlternatives(expr);
    const rng = rngFor('WIN', attr);
    const reuse = chosen.find((w) => alts.some((a) => a.kind === 'literal' && a.text === hex(w)) || allowsNumber(expr, w));
    let value: string;
    if (reuse !== undefined && allowsNumber(expr, reuse)) value = hex(reuse);
    else {
      const nonZero = alts.filter((a) => !(a.kind === 'literal' && (a.text === '0' || a.text === '')));
      value = valueIn(nonZero.length > 0 ? nonZero[0] : alts[0] ?? { kind: 'literal', text: expr }, rng);
    }
    if (isHexNumber(value)) chosen.push(parseInt(value, 16));
    set('WIN', attr, value);
  }
}

// ---------------------------------------------------------------------------------------------
// SEQ: GCD, then a feasible (ISR, SP) pair, then the classes

/** Nmap's six SEQ probes, by slot. */
const ALL_SEQ_SLOTS: readonly number[] = [0, 1, 2, 3, 4, 5];

/**
 * Whether the entry's SEQ samples with no options at all were resets rather than SYN/ACKs: Nmap
 * classes TS as U as soon as one SEQ SYN/ACK lacks a timestamp, so where TS rules U out and T1 is
 * a SYN/ACK, an empty Ox (typically `O5=`/`O6=` with a zero window on Windows) was no SYN/ACK.
 */
export function emptySynSamplesAreResets(fp: OsFingerprint, chosen: ChosenValues): boolean {
  const tsExpr = fp.tests.get('SEQ')?.get('TS');
  if (tsExpr === undefined || tsExpr.split('|').includes('U')) return false;
  const t1 = chosen.get('T1');
  const flags = t1?.get('F') ?? 'AS';
  return t1?.get('R') !== 'N' && flags.includes('S') && flags.includes('A');
}

/** The SEQ slots (0–5) the host answers with a SYN/ACK, so the ISN steps Nmap reads between them. */
export function answeredSeqSlots(fp: OsFingerprint, chosen: ChosenValues): readonly number[] {
  if (!emptySynSamplesAreResets(fp, chosen)) return ALL_SEQ_SLOTS;
  const ops = chosen.get('OPS');
  const slots = ALL_SEQ_SLOTS.filter((i) => ops?.get(`O${i + 1}`) !== '');
  return slots.length === ALL_SEQ_SLOTS.length ? ALL_SEQ_SLOTS : slots;
}

function chooseSeq(fp: OsFingerprint, rngFor: RngFor, set: Setter, slots: readonly number[]): void {
  const seq = fp.tests.get('SEQ');
  if (!seq) return;
  const gcdExpr = seq.get('GCD');
  const isrExpr = seq.get('ISR');
  const spExpr = seq.get('SP');
  if (gcdExpr === undefined && isrExpr === undefined && spExpr === undefined) return;
  const units = gcdCandidates(gcdExpr);
  if (units.length === 0) {
    // Only a constant ISN is allowed.
    if (gcdExpr !== undefined) set('SEQ', 'GCD', '0');
    if (isrExpr !== undefined) set('SEQ', 'ISR', '0');
    if (spExpr !== undefined) set('SEQ', 'SP', '0');
    return;
  }
  const plans = isnPlans(units, gcdExpr, isrExpr, spExpr, slots);
  const pick = plans.good.length > 0 ? rngFor('SEQ', 'ISR').pick(plans.good) : plans.fallback;
  if (gcdExpr !== undefined) set('SEQ', 'GCD', hex(pick.gcd));
  if (isrExpr !== undefined) set('SEQ', 'ISR', hex(pick.isr));
  if (spExpr !== undefined) set('SEQ', 'SP', hex(pick.sp));
}

interface IsnPlans {
  good: IsnTarget[];
  fallback: IsnTarget;
}

/** The search depends on the expressions only, so every host of an entry shares its result (bounded memo). */
const ISN_PLANS = new Map<string, IsnPlans>();
const MAX_ISN_PLANS = 10_000;

function isnPlans(
  units: number[],
  gcdExpr: string | undefined,
  isrExpr: string | undefined,
  spExpr: string | undefined,
  slots: readonly number[],
): IsnPlans {
  const key = `${gcdExpr}\u0000${isrExpr}\u0000${spExpr}\u0000${slots.join(',')}`;
  const cached = ISN_PLANS.get(key);
  if (cached !== undefined) return cached;
  const isrValues = candidateNumbers(isrExpr, 0x10b);
  const spValues = candidateNumbers(spExpr, 0xfc);
  const isrMid = middle(isrValues);
  const spMid = middle(spValues);
  const distance = (t: IsnTarget): number => Math.abs(t.isr - isrMid) + Math.abs(t.sp - spMid);
  // Units in the order the entry lists them; a later unit is used only if an earlier one cannot work.
  // Within a unit, plans whose ISR and SP stay off their range's edges (margin) come first.
  const wantMargin = Math.min(wideRange(isrExpr), wideRange(spExpr));
  let good: IsnTarget[] = [];
  let fallback: IsnTarget | undefined;
  for (const unit of units) {
    const edge: IsnTarget[] = [];
    const plans: IsnTarget[] = [];
    for (const isr of isrValues) {
      for (const sp of spValues) {
        const plan: IsnTarget = { gcd: unit, isr, sp, steps: slots.length - 1 };
        if (plausibleIsnPlan(plan)) plans.push(plan);
      }
    }
    plans.sort((a, b) => distance(a) - distance(b));
    fallback ??= plans[0];
    let evaluated = 0;
    for (const plan of nearestThenSpread(plans, 200, 100)) {
      if (good.length > 0 && distance(plan) > distance(good[0]) + 2) break;
      if (++evaluated > 300) break;
      let margin = isnPlanMargin(plan, gcdExpr, isrExpr, spExpr, slots);
      if (margin < 0 && stepsBackwards(plan)) margin = isnPlanMargin({ ...plan, skewed: true }, gcdExpr, isrExpr, spExpr, slots);
      if (margin >= wantMargin) good.push(plan);
      else if (margin >= 0) edge.push(plan);
    }
    if (good.length === 0) good = edge;
    if (good.length > 0) break;
  }
  const result: IsnPlans = { good, fallback: fallback ?? { gcd: units[0], isr: isrMid, sp: spMid, steps: slots.length - 1 } };
  if (ISN_PLANS.size >= MAX_ISN_PLANS) ISN_PLANS.clear();
  ISN_PLANS.set(key, result);
  return result;
}


/**
 * The first `near` items, then `spread` more evenly spaced over the rest: when no plan near a wide
 * range's middle can work (a low deviation needs a low rate), one far from it still may.
 */
function nearestThenSpread<T>(sorted: readonly T[], near: number, spread: number): T[] {
  if (sorted.length <= near + spread) return sorted.slice();
  const out = sorted.slice(0, near);
  const rest = sorted.length - near;
  for (let i = 0; i < spread; i++) out.push(sorted[near + Math.floor((i * rest) / spread)]);
  return out;
}

/**
 * The ISN target for chosen SEQ values: the skewed pattern only where the symmetric one cannot give
 * the entry's values (SP close to ISR), so hosts that match with the symmetric one keep their ISNs.
 */
export function isnTargetFor(
  fp: OsFingerprint,
  isr: number,
  sp: number,
  gcd: number,
  slots: readonly number[] = ALL_SEQ_SLOTS,
): IsnTarget {
  const target: IsnTarget = { isr, sp, gcd };
  if (slots.length !== ALL_SEQ_SLOTS.length) target.steps = slots.length - 1;
  const seq = fp.tests.get('SEQ');
  const [g, i, s] = [seq?.get('GCD'), seq?.get('ISR'), seq?.get('SP')];
  if (stepsBackwards(target) && !isnPlanMeets(target, g, i, s, slots) && isnPlanMeets({ ...target, skewed: true }, g, i, s, slots)) {
    target.skewed = true;
  }
  return target;
}

/** Cheap bound before simulating: 100 ms steps must stay below 2^31 (MOD_DIFF would fold them). */
function plausibleIsnPlan(plan: IsnTarget): boolean {
  const mean = Math.pow(2, plan.isr / 8);
  const sigma = plan.sp === 0 ? 0 : Math.pow(2, plan.sp / 8) * (plan.gcd > 9 ? plan.gcd : 1);
  return (mean + 1.265 * sigma) * 0.1 < 1.9e9;
}

/** Step units the GCD expression allows (small range values first); empty if only 0 is allowed. */
function gcdCandidates(expr: string | undefined): number[] {
  if (expr === undefined) return [1];
  const out: number[] = [];
  for (const a of parseAlternatives(expr)) {
    if (a.kind === 'range') for (let v = Math.max(1, a.lo); v <= a.hi && v < Math.max(1, a.lo) + 6; v++) out.push(v);
    else if (a.kind === 'literal' && isHexNumber(a.text) && parseInt(a.text, 16) > 0) out.push(parseInt(a.text, 16));
    else if (a.kind === 'greater') {
      // `>X` admits any larger unit: a large one keeps the multiples small, which is how a fast
      // ISN clock (ISR) with a small deviation (SP) survives Nmap's timing jitter.
      for (let u = a.than + 1; u < 0x40000000; u *= 2) out.push(u);
    }
  }
  return out.slice(0, 16);
}

/** Nmap's send gaps with jitter (ms): the plan must hold for each pattern. */
const CHECK_GAPS_MS = [
  [100, 101.7, 100.3, 101.1, 100.6],
  [101.9, 100.2, 101.4, 100.8, 100.05],
  // The edges of Nmap's spacing (100 ms plus up to 2 ms): plans on a bin's edge fail one of these.
  [100, 102, 100, 102, 100],
  [102, 100, 102, 100, 102],
  [100, 100, 100, 100, 100],
  [102, 102, 102, 102, 102],
];

/**
 * What the host's clock reads against Nmap's (ms) per probe of a burst: the capture instant differs
 * from Nmap's send stamp by a few microseconds of path and stamping jitter, and Nmap's stamps are
 * whole microseconds. A time-proportional ISN with a fast clock turns that into deviation (SP).
 */
const HOST_CLOCK_JITTER_MS = [0, 0.004, -0.004, 0.004, -0.004, 0.004];

/** Run the ISN generator over Nmap-like bursts and check GCD/ISR/SP land where the entry allows. */
export function isnPlanMeets(
  plan: IsnTarget,
  gcdExpr?: string,
  isrExpr?: string,
  spExpr?: string,
  slots: readonly number[] = ALL_SEQ_SLOTS,
): boolean {
  return isnPlanMargin(plan, gcdExpr, isrExpr, spExpr, slots) >= 0;
}

/** Margin wanted off a range's edges: 1 where the expression has a range at least 3 wide. */
function wideRange(expr: string | undefined): number {
  if (expr === undefined) return 0;
  return parseAlternatives(expr).some((a) => a.kind === 'range' && a.hi - a.lo >= 2) ? 1 : 0;
}

/** How far (0 or 1) `v` sits inside the values `expr` allows on both sides; -1 if outside. */
function marginOf(expr: string | undefined, v: number): number {
  if (expr === undefined) return 1;
  if (!expressionAllows(expr, hex(v))) return -1;
  return v > 0 && expressionAllows(expr, hex(v - 1)) && expressionAllows(expr, hex(v + 1)) ? 1 : 0;
}

/**
 * Over Nmap-like bursts, the least margin by which ISR and SP land inside the entry's ranges
 * (0 on an edge, 1 inside), or -1 when GCD, ISR or SP misses in some burst.
 */
export function isnPlanMargin(
  plan: IsnTarget,
  gcdExpr?: string,
  isrExpr?: string,
  spExpr?: string,
  slots: readonly number[] = ALL_SEQ_SLOTS,
): number {
  let margin = 1;
  const gen = new IsnGenerator(plan, new SeededRandom(0x5eed));
  let t = 1e9;
  for (const gaps of CHECK_GAPS_MS) {
    t += 10000;
    // Nmap's six send instants; the host draws an ISN only for the probes it answers with a SYN/ACK.
    const sent = [t];
    for (const g of gaps) sent.push((t += g));
    const isns: number[] = [];
    const seen: number[] = [];
    for (const slot of slots) {
      isns.push(gen.next(sent[slot] + HOST_CLOCK_JITTER_MS[slot]));
      seen.push(sent[slot]);
    }
    const got = nmapSeqStats(isns, seen.slice(1).map((s, i) => (s - seen[i]) / 1000));
    if (gcdExpr !== undefined && !expressionAllows(gcdExpr, hex(got.gcd))) return -1;
    margin = Math.min(margin, marginOf(isrExpr, got.isr), marginOf(spExpr, got.sp));
    if (margin < 0) return -1;
  }
  return margin;
}

/** The integers an expression allows (ranges enumerated, capped), or `fallback` if none. */
function candidateNumbers(expr: string | undefined, fallback: number): number[] {
  if (expr === undefined) return [fallback];
  const out: number[] = [];
  for (const a of parseAlternatives(expr)) {
    if (a.kind === 'range') for (let v = a.lo; v <= a.hi && v - a.lo < 512; v++) out.push(v);
    else if (a.kind === 'literal' && isHexNumber(a.text)) out.push(parseInt(a.text, 16));
    else if (a.kind === 'greater') out.push(a.than + 1);
    else if (a.kind === 'less' && a.than > 0) out.push(a.than - 1);
  }
  return out.length > 0 ? out : [fallback];
}

function middle(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
