/**
 * Which TCP options (and window) a host answers a SYN with, learned from its O1–O6/W1–W6 (and
 * ECN) samples against the options each of Nmap's probes offered. The key is what was offered
 * (the set of option kinds and the MSS value), never the probe's window, port or option order, so
 * any SYN — Nmap's, a port scanner's or a real client's — is answered by the same rules.
 */

import {
  OptBit,
  OptionToken,
  layoutBytes,
  layoutKinds,
  layoutMss,
  formatOptionString,
} from './tcp-options';

/** What a SYN offered: OptBit mask and MSS value (-1 if none). */
export interface Offer {
  mask: number;
  mss: number;
}

export interface LayoutSample {
  /** Where the sample came from (`O1`, `ECN`…), for descriptions. */
  source: string;
  offer: Offer;
  /** Options of the reply; null when the entry gives only the window (the layout is then derived). */
  tokens: OptionToken[] | null;
  window: number;
}

/** A sample whose option layout is known. */
type LayoutKnown = LayoutSample & { tokens: OptionToken[] };

export interface SynAnswer {
  tokens: readonly OptionToken[];
  /** MSS value to write (the layout's own value when it has no MSS). */
  mss: number;
  window: number;
  /** The sample it derives from, and whether it was used as is. */
  source: string;
  exact: boolean;
}

/** Options offered by Nmap's six SEQ probes and its ECN probe (digest §1.2–1.3). */
export const NMAP_SEQ_OFFERS: readonly Offer[] = [
  { mask: OptBit.W | OptBit.M | OptBit.T | OptBit.S, mss: 1460 },
  { mask: OptBit.M | OptBit.W | OptBit.S | OptBit.T, mss: 1400 },
  { mask: OptBit.T | OptBit.W | OptBit.M, mss: 640 },
  { mask: OptBit.S | OptBit.T | OptBit.W, mss: -1 },
  { mask: OptBit.M | OptBit.S | OptBit.T | OptBit.W, mss: 536 },
  { mask: OptBit.M | OptBit.S | OptBit.T, mss: 265 },
];
export const NMAP_ECN_OFFER: Offer = { mask: OptBit.W | OptBit.M | OptBit.S, mss: 1460 };

/** How the host decides to send one option kind. */
export type SendRule = 'always' | 'if-offered' | 'never';

type MssRule = { kind: 'min'; cap: number; whenAbsent: number } | { kind: 'fixed' };

const KINDS: Array<keyof typeof OptBit> = ['M', 'W', 'S', 'T'];
const CACHE_LIMIT = 512;

export class SynLayoutModel {
  readonly rules: Record<keyof typeof OptBit, SendRule>;
  private readonly mssRule: MssRule;
  /** Window = k × MSS when the samples show that relation, else 0. */
  private readonly windowPerMss: number;
  private readonly padsWithEol: boolean;
  private readonly cache = new Map<number, SynAnswer>();

  private readonly known: readonly LayoutKnown[];

  /**
   * `timestamps`: whether the host's SEQ line says it sends timestamps (TS ≠ U); used when no
   * sample shows what happens when a timestamp is offered.
   */
  constructor(
    readonly samples: readonly LayoutSample[],
    timestamps: boolean,
  ) {
    let known = samples.filter((s): s is LayoutKnown => s.tokens !== null);
    if (known.length === 0) {
      // Nothing to learn from: an RFC host sending its MSS, and timestamps if its SEQ line has them.
      const tokens: OptionToken[] = [{ kind: 'M', mss: 1460 }];
      if (timestamps) tokens.push({ kind: 'N' }, { kind: 'N' }, { kind: 'T', valNonZero: true, ecrNonZero: true });
      const window = samples.find((s) => s.window > 0)?.window ?? 0xffff;
      known = [{ source: 'default', offer: NMAP_SEQ_OFFERS[0], tokens, window }];
    }
    this.known = known;
    this.rules = { M: 'never', W: 'never', S: 'never', T: 'never' };
    for (const k of KINDS) this.rules[k] = inferRule(known, OptBit[k]);
    if (this.rules.T === 'never' && timestamps && !known.some((s) => s.offer.mask & OptBit.T)) this.rules.T = 'if-offered';
    this.mssRule = inferMssRule(known);
    this.windowPerMss = inferWindowPerMss(known);
    this.padsWithEol = known.some((s) => s.tokens.some((t) => t.kind === 'L'));
  }

  /** The options this host sends for an offer (OptBit mask). */
  sentKinds(offerMask: number): number {
    let sent = 0;
    for (const k of KINDS) {
      const r = this.rules[k];
      if (r === 'always' || (r === 'if-offered' && offerMask & OptBit[k])) sent |= OptBit[k];
    }
    return sent;
  }

  answer(offerMask: number, offerMss: number): SynAnswer {
    const key = offerMask * 65537 + (offerMss + 1);
    const hit = this.cache.get(key);
    if (hit) return hit;
    const a = this.compute(offerMask, offerMss);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(key, a);
    return a;
  }

  describeMssRule(): string {
    const r = this.mssRule;
    return r.kind === 'min' ? `min(offered, ${r.cap}), ${r.whenAbsent} when not offered` : 'fixed per layout';
  }

  private compute(offerMask: number, offerMss: number): SynAnswer {
    const exact = this.samples.find((s) => s.offer.mask === offerMask && s.offer.mss === offerMss);
    if (exact && exact.tokens) {
      return { tokens: exact.tokens, mss: layoutMss(exact.tokens), window: exact.window, source: exact.source, exact: true };
    }
    const derived = this.derive(offerMask, offerMss);
    // A window-only sample still fixes the window for its exact offer.
    if (exact) return { ...derived, window: exact.window, source: `${exact.source} window, ${derived.source} layout` };
    return derived;
  }

  private derive(offerMask: number, offerMss: number): SynAnswer {
    const sent = this.sentKinds(offerMask);
    const closer = (a: LayoutKnown, b: LayoutKnown): number => mssDistance(a.offer.mss, offerMss) - mssDistance(b.offer.mss, offerMss);
    const same = this.known.filter((s) => layoutKinds(s.tokens) === sent).sort(closer);
    let base: LayoutKnown | undefined = same[0];
    let tokens: OptionToken[] = base ? base.tokens : [];
    if (!base) {
      // Closest sample: fewest missing kinds, then fewest extra kinds, then nearest MSS.
      const ranked = this.known.slice().sort((a, b) => {
        const ka = layoutKinds(a.tokens);
        const kb = layoutKinds(b.tokens);
        return popcount(sent & ~ka) - popcount(sent & ~kb) || popcount(ka & ~sent) - popcount(kb & ~sent) || closer(a, b);
      });
      base = ranked[0];
      tokens = this.trim(base ? base.tokens : [], sent);
    }
    const mss = this.mssFor(offerMss, tokens);
    let window = base ? base.window : 0xffff;
    if (this.windowPerMss > 0 && mss > 0) window = Math.min(0xffff, this.windowPerMss * mss);
    return { tokens, mss, window, source: base ? base.source : 'none', exact: false };
  }

  private mssFor(offerMss: number, tokens: readonly OptionToken[]): number {
    const own = layoutMss(tokens);
    if (own < 0) return -1;
    const r = this.mssRule;
    if (r.kind === 'min') return offerMss < 0 ? r.whenAbsent : Math.min(r.cap, offerMss);
    return own;
  }

  /** Drop options not in `keep` together with their leading NOP padding, then re-align to 4 bytes. */
  private trim(tokens: readonly OptionToken[], keep: number): OptionToken[] {
    const out: OptionToken[] = [];
    for (const t of tokens) {
      if (t.kind === 'M' || t.kind === 'W' || t.kind === 'S' || t.kind === 'T') {
        if (!(keep & OptBit[t.kind])) {
          while (out.length > 0 && out[out.length - 1].kind === 'N') out.pop();
          continue;
        }
      }
      out.push(t);
    }
    while (out.length > 0 && (out[out.length - 1].kind === 'L' || out[out.length - 1].kind === 'N')) out.pop();
    // Kinds the host sends but the template lacks: MSS first, the others appended NOP-aligned.
    const have = layoutKinds(out);
    if (keep & OptBit.M && !(have & OptBit.M)) out.unshift({ kind: 'M', mss: 1460 });
    if (keep & OptBit.W && !(have & OptBit.W)) out.push({ kind: 'N' }, { kind: 'W', shift: 0 });
    if (keep & OptBit.S && !(have & OptBit.S)) out.push({ kind: 'N' }, { kind: 'N' }, { kind: 'S' });
    if (keep & OptBit.T && !(have & OptBit.T)) out.push({ kind: 'N' }, { kind: 'N' }, { kind: 'T', valNonZero: true, ecrNonZero: true });
    const need = (4 - (layoutBytes(out) % 4)) % 4;
    if (need > 0) {
      if (this.padsWithEol) for (let i = 0; i < need; i++) out.push({ kind: 'L' });
      else {
        let at = out.findIndex((t) => t.kind === 'S');
        if (at < 0) at = out.length - 1;
        for (let i = 0; i < need; i++) out.splice(at, 0, { kind: 'N' });
      }
    }
    return out;
  }
}

export function describeAnswer(a: SynAnswer): string {
  return formatOptionString(a.tokens.map((t) => (t.kind === 'M' && a.mss >= 0 ? { kind: 'M', mss: a.mss } : t)));
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x; v; v &= v - 1) n++;
  return n;
}

function mssDistance(a: number, b: number): number {
  if (a < 0 || b < 0) return a === b ? 0 : 100;
  return Math.abs(Math.log2(Math.max(a, 1) / Math.max(b, 1)));
}

function inferRule(samples: readonly LayoutKnown[], bit: number): SendRule {
  const sending = samples.filter((s) => layoutKinds(s.tokens) & bit);
  if (sending.length === 0) return 'never';
  const unoffered = samples.filter((s) => !(s.offer.mask & bit));
  if (unoffered.length > 0 && unoffered.every((s) => layoutKinds(s.tokens) & bit)) return 'always';
  return 'if-offered';
}

function inferMssRule(samples: readonly LayoutKnown[]): MssRule {
  const withMss = samples.filter((s) => layoutMss(s.tokens) >= 0);
  if (withMss.length === 0) return { kind: 'fixed' };
  const cap = Math.max(...withMss.map((s) => layoutMss(s.tokens)));
  const offered = withMss.filter((s) => s.offer.mss >= 0);
  const absent = withMss.find((s) => s.offer.mss < 0);
  const distinct = new Set(offered.map((s) => layoutMss(s.tokens)));
  if (offered.length >= 2 && distinct.size > 1 && offered.every((s) => layoutMss(s.tokens) === Math.min(cap, s.offer.mss))) {
    return { kind: 'min', cap, whenAbsent: absent ? layoutMss(absent.tokens) : cap };
  }
  return { kind: 'fixed' };
}

function inferWindowPerMss(samples: readonly LayoutKnown[]): number {
  const seq = samples.filter((s) => layoutMss(s.tokens) > 0 && s.window > 0);
  if (seq.length < 3 || new Set(seq.map((s) => s.window)).size < 2) return 0;
  const k = seq[0].window / layoutMss(seq[0].tokens);
  if (!Number.isInteger(k)) return 0;
  return seq.every((s) => s.window === k * layoutMss(s.tokens)) ? k : 0;
}
