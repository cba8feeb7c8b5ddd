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
  IcmpErrorLimit,
  IcmpEchoReply,
  IpIdKind,
  TcpFlag,
  TcpReply,
  TcpSegmentIn,
  UdpUnreachableReply,
} from '../host-personality';
import type { FamilyBehaviour } from '../behaviour/types';
import type { TcpTimingProfile } from '../../stack/tcp/timing';
import type { OsFingerprint } from '../osdb/types';
import { ChosenValues, chooseValues } from './choose';
import {
  CompiledPersonality,
  EchoModel,
  IpIdCounterSpec,
  IpIdPlan,
  LineName,
  U1_PROBE_LENGTH,
  UnreachableModel,
  compiledPersonalityFor,
} from './compiled-personality';
import { IpIdClass, IpIdCounter, IsnGenerator, TimestampClock } from './generators';
import { SeededRandom } from './prng';
import { SynAnswer, SynLayoutModel } from './syn-layout';
import { TcpLineModel } from './tcp-line';
import { OptBit, OptionToken, layoutHasTimestamp, layoutShift, writeOptions } from './tcp-options';

export type { EchoModel, UnreachableModel } from './compiled-personality';

export interface OsDbPersonalityOptions {
  /** Per-host seed (e.g. hostSeed(ip, template)). */
  seed: number;
  /** Uptime at `startTimeMs`; default: a seeded uptime that keeps growing across restarts. */
  uptimeSeconds?: number;
  /** Reference instant for `uptimeSeconds` (ms since epoch); default Date.now(). */
  startTimeMs?: number;
  /**
   * Share the compiled model with other hosts that chose the same values from the same entry
   * (default true). False compiles a private copy; replies are the same either way.
   */
  intern?: boolean;
}

const ECN_SETUP = TcpFlag.ECE | TcpFlag.CWR;

/**
 * Option scratch for every OsDbPersonality: a reply's options are valid until the next call into
 * any personality, and the stack writes each reply before it asks for the next.
 */
const OPTION_SCRATCH = Buffer.alloc(40);

export class OsDbPersonality implements HostPersonality {
  /** The immutable model, shared between hosts whose chosen values are identical. */
  readonly compiled: CompiledPersonality;
  readonly isn: IsnGenerator;
  readonly clock: TimestampClock;

  private readonly tcpOpenIds: IpIdCounter;
  private readonly tcpClosedIds: IpIdCounter;
  private readonly icmpIds: IpIdCounter;
  /** Service datagrams' IP IDs (UdpBehaviour.ipId): an own counter, the host-wide one, or random. */
  private readonly udpIds: IpIdCounter;
  private readonly rng: SeededRandom;
  /** TSecr for layouts that echo a timestamp the peer did not send. */
  private readonly staleEcho: number;
  /**
   * TSval the last respondTcp drew for a new connection's SYN/ACK, and its capture time; -1 when
   * that reply showed no clock. connectionShape turns it into the connection's TS offset.
   */
  private synAckTsVal = -1;
  private synAckTimeMs = 0;
  /** isnFromAck: the SYN ack field less the ISN at the current burst's start. */
  private ackIsnOffset = 0;

  constructor(fingerprint: OsFingerprint, opts: OsDbPersonalityOptions) {
    const seed = opts.seed >>> 0;
    const chosen = chooseValues(fingerprint, seed);
    this.compiled = opts.intern === false ? new CompiledPersonality(fingerprint, chosen) : compiledPersonalityFor(fingerprint, chosen);
    const c = this.compiled;
    this.rng = SeededRandom.derive(seed, 'runtime');
    this.staleEcho = SeededRandom.derive(seed, 'stale-echo').nextU32() | 1;
    this.isn = new IsnGenerator(c.isnTarget, SeededRandom.derive(seed, 'isn'), c.isnPlan);

    // Timestamp clock, booted at a seeded instant so uptime keeps growing across restarts.
    const startMs = opts.startTimeMs ?? Date.now();
    const bootMs = opts.uptimeSeconds !== undefined ? startMs - opts.uptimeSeconds * 1000 : seededBootTime(seed, startMs);
    this.clock = new TimestampClock(c.tsClass, bootMs, SeededRandom.derive(seed, 'ts'));

    // IP ID counters, laid out (and shared between kinds) as the compiled plan says.
    const ids: IpIdPlan = c.ipIds;
    const counter = (spec: IpIdCounterSpec): IpIdCounter =>
      new IpIdCounter(spec.cls, SeededRandom.derive(seed, `ipid.${spec.label}`), spec.lo, spec.hi);
    this.tcpOpenIds = counter(ids.tcpOpen);
    this.icmpIds = ids.icmp === 'tcp' ? this.tcpOpenIds : counter(ids.icmp);
    this.tcpClosedIds = ids.tcpClosed === 'tcp' ? this.tcpOpenIds : ids.tcpClosed === 'icmp' ? this.icmpIds : counter(ids.tcpClosed);
    // Not one of nmap's samples, so it never moves TI/CI/II unless the family shares one counter.
    const udp = c.behaviour.udp.ipId;
    this.udpIds = udp === 'shared-counter'
      ? this.tcpOpenIds
      : new IpIdCounter(udp === 'random' ? 'RD' : 'I', SeededRandom.derive(seed, 'ipid.udp'), 0, 0x10000);
  }

  // The compiled model's parts, under the names the rest of decoyd reads.
  get fingerprint(): OsFingerprint { return this.compiled.fingerprint; }
  get name(): string { return this.compiled.name; }
  get vendor(): string | undefined { return this.compiled.vendor; }
  get icmpErrorLimit(): IcmpErrorLimit | null { return this.compiled.icmpErrorLimit; }
  get behaviour(): FamilyBehaviour { return this.compiled.behaviour; }
  /** The TCP layer's timing seam: the family's retransmission, TIME_WAIT and delayed-ACK values. */
  get tcpTiming(): TcpTimingProfile { return this.compiled.behaviour.tcp.timing; }
  get chosen(): ChosenValues { return this.compiled.chosen; }
  get synLayout(): SynLayoutModel { return this.compiled.synLayout; }
  get lines(): Readonly<Record<LineName, TcpLineModel>> { return this.compiled.lines; }
  get ecnCc(): string { return this.compiled.ecnCc; }
  get echo(): EchoModel { return this.compiled.echo; }
  get unreachable(): UnreachableModel { return this.compiled.unreachable; }
  get ipIdClasses(): { tcpOpen: IpIdClass; tcpClosed: IpIdClass; icmp: IpIdClass; shared: string } { return this.compiled.ipIds.classes; }

  // -------------------------------------------------------------------------------------------
  // TCP

  respondTcp(seg: TcpSegmentIn, state: 'open' | 'closed', out: TcpReply): boolean {
    const f = seg.flags;
    this.synAckTsVal = -1;
    if (f & TcpFlag.RST) return false; // never answer a reset
    const syn = (f & TcpFlag.SYN) !== 0;
    const ack = (f & TcpFlag.ACK) !== 0;
    if (state === 'open') {
      if (syn && !ack) {
        if (f & (TcpFlag.FIN | TcpFlag.PSH | TcpFlag.URG)) return this.fromLine(this.lines.T3, seg, out);
        if ((f & ECN_SETUP) === ECN_SETUP && this.compiled.hasEcnLine) return this.ecnSynAck(seg, out);
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
    if (this.compiled.refusedSyns.length > 0 && this.refuseSyn(seg, out)) return true;
    if (!t1.reply) {
      // Entries such as "Asus RT-N10" answer Nmap's ECN SYN but none of its six SEQ SYNs: all six
      // offer timestamps and the ECN SYN does not. Such a stack drops SYNs offering timestamps and
      // answers the rest (a port scan's SYN included) as its ECN line shows.
      const ecn = this.lines.ECN;
      if (!this.compiled.hasEcnLine || !ecn.reply || seg.hasTimestamp) return false;
      return this.synAckFrom(ecn, TcpFlag.SYN | TcpFlag.ACK, seg, out);
    }
    return this.synAckFrom(t1, t1.flags, seg, out);
  }

  /** A reset for a SYN whose exact offer the entry shows refused (CompiledPersonality.refusedSyns). */
  private refuseSyn(seg: TcpSegmentIn, out: TcpReply): boolean {
    const mask = OsDbPersonality.offerMask(seg);
    const refused = this.compiled.refusedSyns.find((r) => r.offer.mask === mask && r.offer.mss === seg.mss);
    if (refused === undefined) return false;
    const t1 = this.lines.T1;
    out.flags = TcpFlag.RST | TcpFlag.ACK;
    out.reserved = 0;
    out.urgentPointer = 0;
    out.seq = 0;
    out.ack = (seg.seq + 1) >>> 0;
    out.ttl = t1.ttl;
    out.df = t1.df;
    // Sent statelessly, as stacks send resets for segments no socket takes: IP ID 0, no counter
    // step (a step would move the shared counter between Nmap's SEQ and ICMP samples; SS reads it).
    out.ipId = 0;
    out.window = refused.window;
    out.options = OPTION_SCRATCH;
    out.optionsLength = 0;
    out.payload = null;
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
    return this.synAckFrom(line, flags, seg, out);
  }

  /** A new connection's SYN/ACK: `line`'s IP fields and quirks, window and options from the offer's layout. */
  private synAckFrom(line: TcpLineModel, flags: number, seg: TcpSegmentIn, out: TcpReply): boolean {
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
    out.seq = this.seqFor(line.seq, seg, isSyn, line === this.lines.T1);
    out.ack = this.ackFor(line.ack, seg);
    out.ttl = line.ttl;
    out.df = line.df;
    out.ipId = this.nextIpId(isSyn || !(flags & TcpFlag.RST) ? 'tcp-open' : 'tcp-closed', seg.timeMs);
    out.payload = null;
  }

  /**
   * A SYN/ACK of a host whose T1 shows S=A while its SEQ line shows a moving ISN (3Com WX1200):
   * the first SYN/ACK of a burst takes the SYN's ack field, later ones move on from it by the
   * ISN process's steps.
   */
  private isnFromAck(seg: TcpSegmentIn): number {
    const isn = this.isn.next(seg.timeMs);
    if (this.isn.burstStarted) this.ackIsnOffset = (seg.ack - isn) >>> 0;
    return (isn + this.ackIsnOffset) >>> 0;
  }

  private seqFor(rule: TcpLineModel['seq'], seg: TcpSegmentIn, isSyn: boolean, newConnection: boolean): number {
    switch (rule) {
      case 'Z':
        return 0;
      case 'A':
        return isSyn && newConnection && this.compiled.isnTarget.gcd !== 0 ? this.isnFromAck(seg) : seg.ack >>> 0;
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
    if (layoutHasTimestamp(tokens)) {
      tsVal = newConnection ? this.clock.synAckValue(seg.timeMs) : this.clock.value(seg.timeMs);
      // Remember a SYN/ACK's clock where the wire shows it: the connection's segments continue it.
      if (newConnection && tsVal >= 0 && showsTsVal(tokens)) {
        this.synAckTsVal = tsVal;
        this.synAckTimeMs = seg.timeMs;
      }
    }
    out.options = OPTION_SCRATCH;
    // Some stacks echo a non-zero TSecr even when none was offered (Tx1 without a peer timestamp).
    const echo = seg.hasTimestamp && seg.tsVal !== 0 ? seg.tsVal : this.staleEcho;
    out.optionsLength = writeOptions(tokens, OPTION_SCRATCH, mss, tsVal < 0 ? 0 : tsVal, echo);
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
    // A random TSval per connection (TS=21/22): later segments keep the SYN/ACK's distance from
    // the host clock. One-clock hosts drew the SYN/ACK's TSval from that clock: offset 0.
    out.tsOffset = 0;
    if (this.synAckTsVal >= 0 && this.clock.cls.kind === 'per-connection') {
      const hostTs = this.clock.value(this.synAckTimeMs);
      if (hostTs >= 0) out.tsOffset = (this.synAckTsVal - hostTs + 4294967296) % 4294967296;
    }
    out.ipIdNext = this.tcpOpenIds.cls === 'Z' && out.df ? this.rng.nextU32() & 0xffff : -1;
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
    const counter = kind === 'tcp-open' ? this.tcpOpenIds : kind === 'tcp-closed' ? this.tcpClosedIds : kind === 'udp' ? this.udpIds : this.icmpIds;
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

/** Whether a layout's timestamp option carries a real TSval (T1x), not a zero (T0x). */
function showsTsVal(tokens: readonly OptionToken[]): boolean {
  for (const t of tokens) if (t.kind === 'T') return t.valNonZero;
  return false;
}

/** A boot instant derived from the seed: uptime grows with wall time and "reboots" every 30 days. */
function seededBootTime(seed: number, nowMs: number): number {
  const period = 30 * 86400 * 1000;
  const offset = SeededRandom.derive(seed, 'boot').nextU32() % period;
  const sinceBoot = (((nowMs - offset) % period) + period) % period;
  // Keep at least an hour of uptime so the guess never reads as a fresh boot.
  return nowMs - Math.max(sinceBoot, 3600 * 1000);
}
