/**
 * The immutable part of an OS personality: everything that follows from one nmap-os-db entry and
 * the values chosen for a host (T lines, SYN layout model, echo and unreachable shapes, the ISN
 * plan, timestamp class, IP ID counter layout). Hosts whose chosen values are identical share one
 * instance (`compiledPersonalityFor` interns them); only counters, clocks and randomness are per host.
 */

import type { IcmpErrorLimit } from '../host-personality';
import { behaviourOf } from '../behaviour/family';
import type { FamilyBehaviour } from '../behaviour/types';
import type { OsFingerprint, TestName } from '../osdb/types';
import { type ChosenValues, MAX_EXTRA_HOPS, answeredSeqSlots, emptySynSamplesAreResets, isnTargetFor } from './choose';
import { expressionAllows } from './expression';
import { IpIdClass, IsnPlan, IsnTarget, TsClass, parseIpIdClass, planIsn, tsClassFor } from './generators';
import { LayoutSample, NMAP_ECN_OFFER, NMAP_SEQ_OFFERS, Offer, SynLayoutModel } from './syn-layout';
import { LineDefaults, TcpLineModel, compileTcpLine } from './tcp-line';
import { parseOptionString } from './tcp-options';

export interface EchoModel {
  reply: boolean;
  ttl: number;
  /** DFI: N clear, Y set, S copy the request, O the opposite of the request. */
  dfi: 'N' | 'Y' | 'S' | 'O';
  /** CD: Z zero, S copy the request's code, O another code, or a fixed code. */
  cd: 'Z' | 'S' | 'O' | number;
}

export interface UnreachableModel {
  reply: boolean;
  ttl: number;
  df: boolean;
  /** The ICMP error's IP total length for Nmap's 328-byte probe (IPL). */
  ipl: number;
  unused: number;
  /** Quoted IP total length: keep, a fixed offset, or byte-swapped. */
  ripl: { kind: 'keep' } | { kind: 'offset'; delta: number } | { kind: 'swap' };
  rid: number;
  ripck: 'G' | 'Z' | 'I';
  ruck: number;
  rud: boolean;
  /** Extra hops the quote claims (see UdpUnreachableReply.quotedTtlDecrement). */
  quotedTtlDecrement: number;
}

export type LineName = 'T1' | 'T2' | 'T3' | 'T4' | 'T5' | 'T6' | 'T7' | 'ECN';

/** One IP ID counter a host creates: its class, the label of its random stream and its band. */
export interface IpIdCounterSpec {
  cls: IpIdClass;
  label: 'tcp' | 'icmp' | 'closed';
  lo: number;
  hi: number;
}

/**
 * How a host's IP ID counters are laid out (TI, CI, II, SS): the TCP counter always exists; ICMP
 * and RSTs either share an existing counter or get their own.
 */
export interface IpIdPlan {
  tcpOpen: IpIdCounterSpec;
  icmp: 'tcp' | IpIdCounterSpec;
  tcpClosed: 'tcp' | 'icmp' | IpIdCounterSpec;
  classes: { tcpOpen: IpIdClass; tcpClosed: IpIdClass; icmp: IpIdClass; shared: string };
}

/** Nmap's U1 probe: 328-byte datagram, IP ID 0x1042 (digest §1.5); RIPL/RID values are relative to it. */
export const U1_PROBE_LENGTH = 0x148;

export class CompiledPersonality {
  readonly name: string;
  readonly vendor: string | undefined;
  readonly icmpErrorLimit: IcmpErrorLimit | null;
  /** The OS family's behaviour table, chosen from the entry's Class lines. */
  readonly behaviour: FamilyBehaviour;
  readonly lines: Readonly<Record<LineName, TcpLineModel>>;
  readonly ecnCc: string;
  readonly hasEcnLine: boolean;
  readonly synLayout: SynLayoutModel;
  /** SYN offers (Nmap's exact SEQ probes) the host answers with a reset, and that reset's window. */
  readonly refusedSyns: readonly RefusedSyn[];
  readonly echo: EchoModel;
  readonly unreachable: UnreachableModel;
  readonly isnTarget: IsnTarget;
  readonly isnPlan: IsnPlan;
  readonly tsClass: TsClass;
  readonly ipIds: IpIdPlan;

  constructor(
    readonly fingerprint: OsFingerprint,
    readonly chosen: ChosenValues,
  ) {
    this.name = fingerprint.name;
    this.vendor = fingerprint.classes[0]?.vendor;
    // Linux kernels (Android and embedded Linux included) rate-limit ICMP errors per peer, BSDs per host, …
    this.behaviour = behaviourOf(fingerprint.classes, fingerprint.cpes);
    this.icmpErrorLimit = this.behaviour.icmp.errorLimit;
    const v = (test: TestName, attr: string): string | undefined => chosen.get(test)?.get(attr);
    const has = (test: TestName): boolean => fingerprint.tests.has(test);

    // Lines, with RFC 793 shapes for lines the entry lacks.
    const base = baseIpFields(chosen);
    const def = (flags: string, seq: LineDefaults['seq'], ack: LineDefaults['ack'], reply: boolean): LineDefaults => ({
      flags, seq, ack, reply, df: base.df, ttl: base.ttl,
    });
    const line = (t: LineName, d: LineDefaults): TcpLineModel =>
      compileTcpLine(t, has(t) ? chosen.get(t) ?? new Map() : undefined, d);
    this.lines = {
      T1: line('T1', def('AS', 'O', 'S+', true)),
      T2: line('T2', def('AR', 'Z', 'S', false)),
      T3: line('T3', def('AS', 'O', 'S+', false)),
      T4: line('T4', def('R', 'A', 'Z', true)),
      T5: line('T5', def('AR', 'Z', 'S+', true)),
      T6: line('T6', def('R', 'A', 'Z', true)),
      T7: line('T7', def('AR', 'Z', 'S+', true)),
      ECN: line('ECN', def('AS', 'O', 'S+', true)),
    };
    this.ecnCc = v('ECN', 'CC') ?? 'N';
    this.hasEcnLine = has('ECN');

    const ts = v('SEQ', 'TS');
    const samples = layoutSamples(chosen);
    this.refusedSyns = refusedSyns(fingerprint, chosen, samples);
    const answered = samples.filter((s) => !this.refusedSyns.some((r) => r.offer === s.offer));
    this.synLayout = new SynLayoutModel(answered, ts !== undefined ? ts !== 'U' : true);
    this.echo = echoModel(chosen, base.ttl);
    this.unreachable = unreachableModel(fingerprint, chosen, has('U1'), this.echo.ttl);

    const gcd = parseInt(v('SEQ', 'GCD') ?? '1', 16);
    this.isnTarget = isnTargetFor(
      fingerprint,
      parseInt(v('SEQ', 'ISR') ?? '10B', 16),
      parseInt(v('SEQ', 'SP') ?? 'FC', 16),
      Number.isFinite(gcd) ? gcd : 1,
      answeredSeqSlots(fingerprint, chosen),
    );
    this.isnPlan = planIsn(this.isnTarget);
    this.tsClass = tsClassFor(ts);
    this.ipIds = ipIdPlan(v('SEQ', 'TI'), v('SEQ', 'CI'), v('SEQ', 'II'), v('SEQ', 'SS'));
  }
}

// ---------------------------------------------------------------------------------------------
// Interning

/** Distinct value sets kept per entry; past this, further hosts compile their own (bounded memory). */
const MAX_INTERNED_PER_ENTRY = 4096;
const interned = new WeakMap<OsFingerprint, Map<string, CompiledPersonality>>();

/**
 * The compiled personality for `fp` with `chosen` values: an existing instance when another host
 * chose exactly the same values from the same entry, else a new one (kept for the next host).
 */
export function compiledPersonalityFor(fp: OsFingerprint, chosen: ChosenValues): CompiledPersonality {
  let byKey = interned.get(fp);
  if (byKey === undefined) {
    byKey = new Map();
    interned.set(fp, byKey);
  }
  const key = chosenValuesKey(chosen);
  const hit = byKey.get(key);
  if (hit !== undefined) return hit;
  const compiled = new CompiledPersonality(fp, chosen);
  if (byKey.size < MAX_INTERNED_PER_ENTRY) byKey.set(key, compiled);
  return compiled;
}

/** A canonical text of chosen values: tests and attributes sorted, so insertion order never matters. */
export function chosenValuesKey(chosen: ChosenValues): string {
  const tests = [...chosen.keys()].sort();
  let key = '';
  for (const t of tests) {
    const attrs = chosen.get(t) as Map<string, string>;
    key += `${t}(`;
    for (const a of [...attrs.keys()].sort()) key += `${a}=${attrs.get(a) as string}%`;
    key += ')';
  }
  return key;
}

// ---------------------------------------------------------------------------------------------
// Compilation helpers

function isCounter(c: IpIdClass): boolean {
  return c === 'I' || c === 'BI' || c === 'RI';
}

/** IP ID counters and how they are shared, from the SEQ line's TI, CI, II and SS. */
function ipIdPlan(tiText: string | undefined, ciText: string | undefined, iiText: string | undefined, ss: string | undefined): IpIdPlan {
  const ti = parseIpIdClass(tiText);
  const ci = parseIpIdClass(ciText);
  const ii = parseIpIdClass(iiText);
  const tcpOpen: IpIdClass = ti ?? ci ?? 'I';
  const tcpClosed: IpIdClass = ci ?? (isCounter(tcpOpen) ? tcpOpen : 'I');
  const icmp: IpIdClass = ii ?? 'I';
  const full = (cls: IpIdClass, label: IpIdCounterSpec['label']): IpIdCounterSpec => ({ cls, label, lo: 0, hi: 0x10000 });
  let tcpSpec: IpIdCounterSpec;
  let icmpSpec: IpIdPlan['icmp'];
  let shared: string;
  if (ss === 'S' && isCounter(tcpOpen) && tcpOpen === icmp) {
    tcpSpec = full(tcpOpen, 'tcp');
    icmpSpec = 'tcp';
    shared = 'one counter for TCP and ICMP';
  } else if (ss === 'S' || ss === 'O') {
    // Separate counters placed so that Nmap's SS test reads S (ICMP below TCP) or O (ICMP far above).
    const [tcpLo, tcpHi, icmpLo, icmpHi] = ss === 'S' ? [30000, 0x10000, 0, 20000] : [0, 30000, 40000, 0x10000];
    tcpSpec = { cls: tcpOpen, label: 'tcp', lo: tcpLo, hi: tcpHi };
    icmpSpec = { cls: icmp, label: 'icmp', lo: icmpLo, hi: icmpHi };
    shared = `separate TCP (${tcpLo}-${tcpHi - 1}) and ICMP (${icmpLo}-${icmpHi - 1}) counters`;
  } else if (isCounter(tcpOpen) && tcpOpen === icmp) {
    tcpSpec = full(tcpOpen, 'tcp');
    icmpSpec = 'tcp';
    shared = 'one counter for TCP and ICMP';
  } else {
    tcpSpec = full(tcpOpen, 'tcp');
    icmpSpec = full(icmp, 'icmp');
    shared = 'separate TCP and ICMP counters';
  }
  let closedSpec: IpIdPlan['tcpClosed'];
  if (isCounter(tcpClosed) && tcpClosed === tcpOpen) closedSpec = 'tcp';
  else if (isCounter(tcpClosed) && tcpClosed === icmp && icmpSpec !== 'tcp') closedSpec = 'icmp';
  else closedSpec = full(tcpClosed, 'closed');
  if (closedSpec === 'tcp') shared += '; RSTs share the TCP counter';
  else if (closedSpec === 'icmp') shared += '; RSTs share the ICMP counter';
  else shared += '; RSTs have their own counter';
  return { tcpOpen: tcpSpec, icmp: icmpSpec, tcpClosed: closedSpec, classes: { tcpOpen, tcpClosed, icmp, shared } };
}

/** TTL and DF used where a line is missing: T1's, else any TCP line's, else 64/DF. */
function baseIpFields(chosen: ChosenValues): { ttl: number; df: boolean } {
  for (const t of ['T1', 'T5', 'T4', 'T6', 'T7', 'ECN', 'T3', 'T2'] as TestName[]) {
    const m = chosen.get(t);
    const ttl = m?.get('T') ?? m?.get('TG');
    if (m && ttl !== undefined && m.get('R') !== 'N') return { ttl: Math.min(255, parseInt(ttl, 16)), df: m.get('DF') !== 'N' };
  }
  return { ttl: 64, df: true };
}

function layoutSamples(chosen: ChosenValues): LayoutSample[] {
  const samples: LayoutSample[] = [];
  const ops = chosen.get('OPS');
  const win = chosen.get('WIN');
  if (win) {
    for (let i = 1; i <= 6; i++) {
      const o = ops?.get(`O${i}`);
      const w = win.get(`W${i}`);
      const tokens = o !== undefined ? parseOptionString(o) : null;
      if (w === undefined) continue;
      samples.push({ source: `O${i}`, offer: NMAP_SEQ_OFFERS[i - 1], tokens, window: parseInt(w, 16) || 0 });
    }
  }
  const ecn = chosen.get('ECN');
  if (ecn && ecn.get('R') !== 'N') {
    const o = ecn.get('O');
    const tokens = o !== undefined ? parseOptionString(o) : null;
    const w = ecn.get('W');
    if (w !== undefined) samples.push({ source: 'ECN', offer: NMAP_ECN_OFFER, tokens, window: parseInt(w, 16) || 0 });
  }
  return samples;
}

/** A SYN offer the host resets instead of answering (see `refusedSyns`). */
export interface RefusedSyn {
  offer: Offer;
  window: number;
}

/**
 * SEQ samples that cannot have been SYN/ACKs: Nmap classes TS as U as soon as one SEQ SYN/ACK lacks
 * a timestamp, so an entry whose TS rules U out but whose Ox shows no options at all (typically
 * `O6=` with `W6=0` on Windows, or the later probes of a SYN-rate-limited printer) saw something
 * else there, a reset, which Nmap records for OPS/WIN but not for SEQ. Answering that exact offer
 * with a reset reproduces the entry; every other SYN is answered as the remaining samples show.
 */
function refusedSyns(fp: OsFingerprint, chosen: ChosenValues, samples: readonly LayoutSample[]): RefusedSyn[] {
  // Hosts whose T1 is no SYN/ACK (e.g. F=A, a bare ACK) answer SYNs that way and count for no SEQ.
  if (!emptySynSamplesAreResets(fp, chosen)) return [];
  return samples
    .filter((s) => s.source !== 'ECN' && s.tokens !== null && s.tokens.length === 0)
    .map((s) => ({ offer: s.offer, window: s.window }));
}

function echoModel(chosen: ChosenValues, fallbackTtl: number): EchoModel {
  const ie = chosen.get('IE');
  const ttlText = ie?.get('T') ?? ie?.get('TG');
  const dfi = ie?.get('DFI');
  const cd = ie?.get('CD');
  return {
    reply: ie?.get('R') !== 'N',
    ttl: ttlText !== undefined ? Math.min(255, parseInt(ttlText, 16)) : fallbackTtl,
    dfi: dfi === 'Y' || dfi === 'S' || dfi === 'O' ? dfi : 'N',
    cd: cd === 'S' || cd === 'O' || cd === 'Z' ? cd : cd !== undefined && /^[0-9A-F]+$/i.test(cd) ? parseInt(cd, 16) & 0xff : 'Z',
  };
}

function unreachableModel(fp: OsFingerprint, chosen: ChosenValues, present: boolean, fallbackTtl: number): UnreachableModel {
  const u = chosen.get('U1');
  const num = (a: string, dflt: number): number => {
    const s = u?.get(a);
    return s !== undefined && /^[0-9A-F]+$/i.test(s) ? parseInt(s, 16) : dflt;
  };
  const ttlText = u?.get('T') ?? u?.get('TG');
  const ripl = u?.get('RIPL');
  let riplModel: UnreachableModel['ripl'] = { kind: 'keep' };
  if (ripl !== undefined && ripl !== 'G' && /^[0-9A-F]+$/i.test(ripl)) {
    const v = parseInt(ripl, 16);
    riplModel = v === ((U1_PROBE_LENGTH & 0xff) << 8 | U1_PROBE_LENGTH >>> 8) ? { kind: 'swap' } : { kind: 'offset', delta: v - U1_PROBE_LENGTH };
  }
  const rid = u?.get('RID');
  const ruck = u?.get('RUCK');
  const ripck = u?.get('RIPCK');
  return {
    reply: present ? u?.get('R') !== 'N' : true,
    ttl: ttlText !== undefined ? Math.min(255, parseInt(ttlText, 16)) : fallbackTtl,
    df: u?.get('DF') === 'Y',
    ipl: num('IPL', 0x38),
    unused: num('UN', 0) & 0xffff,
    ripl: riplModel,
    rid: rid === undefined || rid === 'G' ? -1 : num('RID', -1) & 0xffff,
    ripck: ripck === 'Z' || ripck === 'I' ? ripck : 'G',
    ruck: ruck === undefined || ruck === 'G' ? -1 : num('RUCK', 0) & 0xffff,
    rud: u?.get('RUD') === 'I',
    quotedTtlDecrement: extraHopsFor(fp, chosen),
  };
}

const TTL_TESTS: TestName[] = ['ECN', 'T1', 'T2', 'T3', 'T4', 'T5', 'T6', 'T7', 'U1', 'IE'];

/**
 * Nmap prints T = received TTL + hops - 1, with hops read from the U1 quote. An entry whose T lies
 * above 255 (T=100 for a 255 stack) was a device whose quote claimed more hops: find that count.
 */
function extraHopsFor(fp: OsFingerprint, chosen: ChosenValues): number {
  for (const test of TTL_TESTS) {
    const tExpr = fp.tests.get(test)?.get('T');
    const ttlText = chosen.get(test)?.get('T') ?? chosen.get(test)?.get('TG');
    if (tExpr === undefined || ttlText === undefined) continue;
    const ttl = Math.min(255, parseInt(ttlText, 16));
    if (expressionAllows(tExpr, ttl.toString(16).toUpperCase())) continue;
    for (let extra = 1; extra <= MAX_EXTRA_HOPS; extra++) {
      if (expressionAllows(tExpr, (ttl + extra).toString(16).toUpperCase())) return extra;
    }
  }
  return 0;
}
