/**
 * A host's OS personality built from one nmap-os-db entry. Every packet the decoy sends is shaped
 * here, whoever asked: SYNs get options and windows from the learned per-offer layout rules, other
 * segments are classified by flags and port state (the situations T2–T7 sample), and ICMP/UDP
 * answers follow IE and U1. Per-host values are chosen once from the seed; the ISN, IP ID and
 * timestamp processes run continuously from the packets' capture times.
 */

import {
  ConnectionShape,
  DatagramShape,
  HostPersonality,
  IcmpEchoIn,
  IcmpEchoReply,
  IpIdKind,
  TcpFlag,
  TcpReply,
  TcpSegmentIn,
  UdpUnreachableReply,
} from '../host-personality';
import type { OsFingerprint, TestName } from '../osdb/types';
import { ChosenValues, chooseValues } from './choose';
import { expressionAllows } from './expression';
import {
  IpIdClass,
  IpIdCounter,
  IsnGenerator,
  TimestampClock,
  parseIpIdClass,
  tsClassFor,
} from './generators';
import { SeededRandom } from './prng';
import { LayoutSample, NMAP_ECN_OFFER, NMAP_SEQ_OFFERS, SynAnswer, SynLayoutModel } from './syn-layout';
import { LineDefaults, TcpLineModel, compileTcpLine } from './tcp-line';
import { OptBit, OptionToken, layoutHasTimestamp, layoutShift, parseOptionString, writeOptions } from './tcp-options';

export interface OsDbPersonalityOptions {
  /** Per-host seed (e.g. hostSeed(ip, template)). */
  seed: number;
  /** Uptime at `startTimeMs`; default: a seeded uptime that keeps growing across restarts. */
  uptimeSeconds?: number;
  /** Reference instant for `uptimeSeconds` (ms since epoch); default Date.now(). */
  startTimeMs?: number;
}

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

/** Nmap's U1 probe: 328-byte datagram, IP ID 0x1042 (digest §1.5); RIPL/RID values are relative to it. */
const U1_PROBE_LENGTH = 0x148;
const ECN_SETUP = TcpFlag.ECE | TcpFlag.CWR;

export class OsDbPersonality implements HostPersonality {
  readonly name: string;
  readonly vendor: string | undefined;
  readonly chosen: ChosenValues;
  readonly synLayout: SynLayoutModel;
  readonly lines: Readonly<Record<'T1' | 'T2' | 'T3' | 'T4' | 'T5' | 'T6' | 'T7' | 'ECN', TcpLineModel>>;
  readonly ecnCc: string;
  readonly echo: EchoModel;
  readonly unreachable: UnreachableModel;
  readonly isn: IsnGenerator;
  readonly clock: TimestampClock;
  readonly ipIdClasses: { tcpOpen: IpIdClass; tcpClosed: IpIdClass; icmp: IpIdClass; shared: string };

  private readonly tcpOpenIds: IpIdCounter;
  private readonly tcpClosedIds: IpIdCounter;
  private readonly icmpIds: IpIdCounter;
  private readonly rng: SeededRandom;
  private readonly optionScratch = Buffer.alloc(40);
  /** TSecr for layouts that echo a timestamp the peer did not send. */
  private readonly staleEcho: number;

  constructor(
    readonly fingerprint: OsFingerprint,
    opts: OsDbPersonalityOptions,
  ) {
    this.name = fingerprint.name;
    this.vendor = fingerprint.classes[0]?.vendor;
    const seed = opts.seed >>> 0;
    this.chosen = chooseValues(fingerprint, seed);
    this.rng = SeededRandom.derive(seed, 'runtime');
    this.staleEcho = SeededRandom.derive(seed, 'stale-echo').nextU32() | 1;
    const v = (test: TestName, attr: string): string | undefined => this.chosen.get(test)?.get(attr);
    const has = (test: TestName): boolean => fingerprint.tests.has(test);

    // Lines, with RFC 793 shapes for lines the entry lacks.
    const base = baseIpFields(this.chosen);
    const def = (flags: string, seq: LineDefaults['seq'], ack: LineDefaults['ack'], reply: boolean): LineDefaults => ({
      flags, seq, ack, reply, df: base.df, ttl: base.ttl,
    });
    const line = (t: 'T1' | 'T2' | 'T3' | 'T4' | 'T5' | 'T6' | 'T7' | 'ECN', d: LineDefaults): TcpLineModel =>
      compileTcpLine(t, has(t) ? this.chosen.get(t) ?? new Map() : undefined, d);
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

    const ts = v('SEQ', 'TS');
    this.synLayout = new SynLayoutModel(layoutSamples(this.chosen), ts !== undefined ? ts !== 'U' : true);
    this.echo = echoModel(this.chosen, base.ttl);
    this.unreachable = unreachableModel(fingerprint, this.chosen, has('U1'), this.echo.ttl);

    // ISN process.
    const gcd = parseInt(v('SEQ', 'GCD') ?? '1', 16);
    this.isn = new IsnGenerator(
      { isr: parseInt(v('SEQ', 'ISR') ?? '10B', 16), sp: parseInt(v('SEQ', 'SP') ?? 'FC', 16), gcd: Number.isFinite(gcd) ? gcd : 1 },
      SeededRandom.derive(seed, 'isn'),
    );

    // Timestamp clock, booted at a seeded instant so uptime keeps growing across restarts.
    const startMs = opts.startTimeMs ?? Date.now();
    const bootMs = opts.uptimeSeconds !== undefined ? startMs - opts.uptimeSeconds * 1000 : seededBootTime(seed, startMs);
    this.clock = new TimestampClock(tsClassFor(v('SEQ', 'TS')), bootMs, SeededRandom.derive(seed, 'ts'));

    // IP ID counters and how they are shared (TI, CI, II, SS).
    const ti = parseIpIdClass(v('SEQ', 'TI'));
    const ci = parseIpIdClass(v('SEQ', 'CI'));
    const ii = parseIpIdClass(v('SEQ', 'II'));
    const tcpOpen: IpIdClass = ti ?? ci ?? 'I';
    const tcpClosed: IpIdClass = ci ?? (isCounter(tcpOpen) ? tcpOpen : 'I');
    const icmp: IpIdClass = ii ?? 'I';
    const ss = v('SEQ', 'SS');
    const idRng = (label: string): SeededRandom => SeededRandom.derive(seed, `ipid.${label}`);
    let shared: string;
    if (ss === 'S' && isCounter(tcpOpen) && tcpOpen === icmp) {
      this.tcpOpenIds = new IpIdCounter(tcpOpen, idRng('tcp'));
      this.icmpIds = this.tcpOpenIds;
      shared = 'one counter for TCP and ICMP';
    } else if (ss === 'S' || ss === 'O') {
      // Separate counters placed so that Nmap's SS test reads S (ICMP below TCP) or O (ICMP far above).
      const [tcpLo, tcpHi, icmpLo, icmpHi] = ss === 'S' ? [30000, 0x10000, 0, 20000] : [0, 30000, 40000, 0x10000];
      this.tcpOpenIds = new IpIdCounter(tcpOpen, idRng('tcp'), tcpLo, tcpHi);
      this.icmpIds = new IpIdCounter(icmp, idRng('icmp'), icmpLo, icmpHi);
      shared = `separate TCP (${tcpLo}-${tcpHi - 1}) and ICMP (${icmpLo}-${icmpHi - 1}) counters`;
    } else if (isCounter(tcpOpen) && tcpOpen === icmp) {
      this.tcpOpenIds = new IpIdCounter(tcpOpen, idRng('tcp'));
      this.icmpIds = this.tcpOpenIds;
      shared = 'one counter for TCP and ICMP';
    } else {
      this.tcpOpenIds = new IpIdCounter(tcpOpen, idRng('tcp'));
      this.icmpIds = new IpIdCounter(icmp, idRng('icmp'));
      shared = 'separate TCP and ICMP counters';
    }
    if (isCounter(tcpClosed) && tcpClosed === tcpOpen) this.tcpClosedIds = this.tcpOpenIds;
    else if (isCounter(tcpClosed) && tcpClosed === icmp && this.icmpIds !== this.tcpOpenIds) this.tcpClosedIds = this.icmpIds;
    else this.tcpClosedIds = new IpIdCounter(tcpClosed, idRng('closed'));
    if (this.tcpClosedIds === this.tcpOpenIds) shared += '; RSTs share the TCP counter';
    else if (this.tcpClosedIds === this.icmpIds) shared += '; RSTs share the ICMP counter';
    else shared += '; RSTs have their own counter';
    this.ipIdClasses = { tcpOpen, tcpClosed, icmp, shared };
  }

  // -------------------------------------------------------------------------------------------
  // TCP

  respondTcp(seg: TcpSegmentIn, state: 'open' | 'closed', out: TcpReply): boolean {
    const f = seg.flags;
    if (f & TcpFlag.RST) return false; // never answer a reset
    const syn = (f & TcpFlag.SYN) !== 0;
    const ack = (f & TcpFlag.ACK) !== 0;
    if (state === 'open') {
      if (syn && !ack) {
        if (f & (TcpFlag.FIN | TcpFlag.PSH | TcpFlag.URG)) return this.fromLine(this.lines.T3, seg, out);
        if ((f & ECN_SETUP) === ECN_SETUP && this.fingerprint.tests.has('ECN')) return this.ecnSynAck(seg, out);
        return this.synAck(seg, out);
      }
      return this.fromLine(ack ? this.lines.T4 : this.lines.T2, seg, out);
    }
    if (syn && !ack) return this.fromLine(this.lines.T5, seg, out);
    return this.fromLine(ack ? this.lines.T6 : this.lines.T7, seg, out);
  }

  /** The offer (OptBit mask, MSS) a segment makes. */
  private static offerMask(seg: TcpSegmentIn): number {
    return (
      (seg.mss >= 0 ? OptBit.M : 0) |
      (seg.wscale >= 0 ? OptBit.W : 0) |
      (seg.sackPermitted ? OptBit.S : 0) |
      (seg.hasTimestamp ? OptBit.T : 0)
    );
  }

  /** SYN/ACK-class reply to a plain SYN: T1's header fields, layout and window from the offer. */
  private synAck(seg: TcpSegmentIn, out: TcpReply): boolean {
    const t1 = this.lines.T1;
    if (!t1.reply) return false;
    const answer = this.synLayout.answer(OsDbPersonality.offerMask(seg), seg.mss);
    this.fillHeader(t1, t1.flags, seg, out);
    out.window = answer.window;
    this.fillOptions(answer.tokens, answer.mss, seg, out, true);
    return true;
  }

  /** Reply to an ECN-setup SYN: like a SYN/ACK, with the ECN line's IP fields, quirks and CC flags. */
  private ecnSynAck(seg: TcpSegmentIn, out: TcpReply): boolean {
    const line = this.lines.ECN;
    if (!line.reply) return false;
    let flags = this.lines.T1.flags & ~ECN_SETUP;
    if (this.ecnCc === 'Y') flags |= TcpFlag.ECE;
    else if (this.ecnCc === 'S') flags |= ECN_SETUP;
    else if (this.ecnCc === 'O') flags |= TcpFlag.CWR;
    const answer = this.synLayout.answer(OsDbPersonality.offerMask(seg), seg.mss);
    this.fillHeader(line, flags, seg, out);
    out.window = answer.window;
    this.fillOptions(answer.tokens, answer.mss, seg, out, true);
    return true;
  }

  /** A reply shaped by one T line (T2–T7, and T3's SYN/ACKs). */
  private fromLine(line: TcpLineModel, seg: TcpSegmentIn, out: TcpReply): boolean {
    if (!line.reply) return false;
    this.fillHeader(line, line.flags, seg, out);
    out.window = line.window;
    this.fillOptions(line.options, -1, seg, out, (line.flags & TcpFlag.SYN) !== 0);
    if (line.rstData) out.payload = line.rstData;
    return true;
  }

  private fillHeader(line: TcpLineModel, flags: number, seg: TcpSegmentIn, out: TcpReply): void {
    const isSyn = (flags & TcpFlag.SYN) !== 0;
    out.flags = flags;
    out.reserved = line.quirkReserved ? (seg.reserved !== 0 ? seg.reserved : 4) : 0;
    out.urgentPointer = line.quirkUrgent && !(flags & TcpFlag.URG) ? (seg.urgentPointer !== 0 ? seg.urgentPointer : 0x8000 | (this.rng.nextU32() & 0x7fff)) : 0;
    out.seq = this.seqFor(line.seq, seg, isSyn);
    out.ack = this.ackFor(line.ack, seg);
    out.ttl = line.ttl;
    out.df = line.df;
    out.ipId = this.nextIpId(isSyn || !(flags & TcpFlag.RST) ? 'tcp-open' : 'tcp-closed', seg.timeMs);
    out.payload = null;
  }

  private seqFor(rule: TcpLineModel['seq'], seg: TcpSegmentIn, isSyn: boolean): number {
    switch (rule) {
      case 'Z':
        return 0;
      case 'A':
        return seg.ack >>> 0;
      case 'A+':
        return (seg.ack + 1) >>> 0;
      case 'O': {
        let s = isSyn ? this.isn.next(seg.timeMs) : this.rng.nextU32();
        if (s === 0 || s === seg.ack >>> 0 || s === (seg.ack + 1) >>> 0) s = (s + 0x10000) >>> 0;
        return s;
      }
    }
  }

  private ackFor(rule: TcpLineModel['ack'], seg: TcpSegmentIn): number {
    switch (rule) {
      case 'Z':
        return 0;
      case 'S':
        return seg.seq >>> 0;
      case 'S+':
        return (seg.seq + 1) >>> 0;
      case 'O': {
        // What counting the segment's sequence space gives (e.g. SYN+FIN → seq+2), else another value.
        const f = seg.flags;
        const space = (f & TcpFlag.SYN ? 1 : 0) + (f & TcpFlag.FIN ? 1 : 0) + seg.payloadLength;
        const step = space >= 2 ? space : 0x10000 + (this.rng.nextU32() & 0xffff);
        return (seg.seq + step) >>> 0;
      }
    }
  }

  private fillOptions(tokens: readonly OptionToken[], mss: number, seg: TcpSegmentIn, out: TcpReply, newConnection: boolean): void {
    let tsVal = 0;
    if (layoutHasTimestamp(tokens)) tsVal = newConnection ? this.clock.synAckValue(seg.timeMs) : this.clock.value(seg.timeMs);
    out.options = this.optionScratch;
    // Some stacks echo a non-zero TSecr even when none was offered (Tx1 without a peer timestamp).
    const echo = seg.hasTimestamp && seg.tsVal !== 0 ? seg.tsVal : this.staleEcho;
    out.optionsLength = writeOptions(tokens, this.optionScratch, mss, tsVal < 0 ? 0 : tsVal, echo);
  }

  connectionShape(syn: TcpSegmentIn, out: ConnectionShape): void {
    const answer: SynAnswer = this.synLayout.answer(OsDbPersonality.offerMask(syn), syn.mss);
    const t1 = this.lines.T1;
    out.ttl = t1.ttl;
    out.df = t1.df;
    out.window = answer.window;
    const shift = layoutShift(answer.tokens);
    out.wscale = shift >= 0 && syn.wscale >= 0 ? shift : -1;
    const ours = answer.mss >= 0 ? answer.mss : 536;
    out.mss = Math.min(ours, syn.mss >= 0 ? syn.mss : 536);
    out.timestamps = syn.hasTimestamp && layoutHasTimestamp(answer.tokens) && this.clock.cls.kind !== 'none';
  }

  /** UDP from services: the host's TCP initial TTL and path-MTU (DF) policy, as T1 shows them. */
  datagramShape(out: DatagramShape): void {
    out.ttl = this.lines.T1.ttl;
    out.df = this.lines.T1.df;
  }

  tsVal(timeMs: number): number {
    return this.clock.value(timeMs);
  }

  nextIpId(kind: IpIdKind, timeMs: number): number {
    const counter = kind === 'tcp-open' ? this.tcpOpenIds : kind === 'tcp-closed' ? this.tcpClosedIds : this.icmpIds;
    return counter.next(timeMs);
  }

  // -------------------------------------------------------------------------------------------
  // ICMP and UDP

  respondIcmpEcho(req: IcmpEchoIn, out: IcmpEchoReply): boolean {
    const e = this.echo;
    if (!e.reply) return false;
    out.ttl = e.ttl;
    out.df = e.dfi === 'Y' ? true : e.dfi === 'N' ? false : e.dfi === 'S' ? req.ipDf : !req.ipDf;
    out.code = e.cd === 'Z' ? 0 : e.cd === 'S' ? req.code : e.cd === 'O' ? (req.code === 0 ? 1 : 0) : e.cd;
    out.tos = req.ipTos;
    out.ipId = this.icmpIds.next(req.timeMs);
    return true;
  }

  respondUdpClosed(ipTotalLength: number, timeMs: number, out: UdpUnreachableReply): boolean {
    const u = this.unreachable;
    if (!u.reply) return false;
    out.ttl = u.ttl;
    out.df = u.df;
    out.tos = 0;
    out.ipId = this.icmpIds.next(timeMs);
    out.unused = u.unused;
    // IPL beyond the whole probe (e.g. 576-byte errors) means the host pads its errors to that size.
    out.totalLength = u.ipl > 28 + U1_PROBE_LENGTH ? u.ipl : 28 + Math.max(0, Math.min(ipTotalLength, u.ipl - 28));
    out.quotedTotalLength =
      u.ripl.kind === 'keep'
        ? -1
        : u.ripl.kind === 'swap'
          ? ((ipTotalLength & 0xff) << 8) | ((ipTotalLength >>> 8) & 0xff)
          : Math.max(0, Math.min(0xffff, ipTotalLength + u.ripl.delta));
    out.quotedIpId = u.rid;
    out.quotedIpChecksum = u.ripck;
    out.quotedUdpChecksum = u.ruck;
    out.corruptQuotedPayload = u.rud;
    out.quotedTtlDecrement = u.quotedTtlDecrement;
    return true;
  }
}

function isCounter(c: IpIdClass): boolean {
  return c === 'I' || c === 'BI' || c === 'RI';
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
    for (let extra = 1; extra <= 16; extra++) {
      if (expressionAllows(tExpr, (ttl + extra).toString(16).toUpperCase())) return extra;
    }
  }
  return 0;
}

/** A boot instant derived from the seed: uptime grows with wall time and "reboots" every 30 days. */
function seededBootTime(seed: number, nowMs: number): number {
  const period = 30 * 86400 * 1000;
  const offset = SeededRandom.derive(seed, 'boot').nextU32() % period;
  const sinceBoot = (((nowMs - offset) % period) + period) % period;
  // Keep at least an hour of uptime so the guess never reads as a fresh boot.
  return nowMs - Math.max(sinceBoot, 3600 * 1000);
}
