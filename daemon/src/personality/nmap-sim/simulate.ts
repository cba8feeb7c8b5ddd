/**
 * An offline Nmap 7.93 `-O` round against a HostPersonality: the same probes in the same order
 * and spacing (osscan2.cc), fed to the personality as the stack would, and the subject
 * fingerprint computed from its replies exactly as Nmap computes it. No packets are sent.
 *
 * Assumptions: one open and one closed TCP port and a closed UDP port are known (the ideal
 * case); the path is symmetric with `hops` routers' worth of TTL decrement (default 1 = same LAN,
 * so T = the initial TTL); replies arrive promptly (only Nmap's send times enter the rates).
 */
import {
  HostPersonality,
  IcmpEchoIn,
  IcmpEchoReply,
  TcpFlag,
  TcpReply,
  TcpSegmentIn,
  UdpUnreachableReply,
} from '../host-personality';
import type { ObservedFingerprint, TestName } from '../osdb/types';
import { crc32 } from './checksum';
import {
  ECN_FLAGS,
  ECN_RESERVED,
  ECN_URGENT_POINTER,
  IE_PROBES,
  PROBE_OPTIONS,
  PROBE_WINDOWS,
  SEQ_PROBE_DELAY_MS,
  TUI_MAX_SENDS,
  TUI_PROBE_DELAY_MS,
  T_PROBES,
  U1_TOTAL_LENGTH,
} from './probes';
import { SeqSamples, computeSeqLine } from './seq-line';
import { nmapOptionString, nmapTimestamp, offeredOptions } from './tcp-options';
import { buildUdpProbe, readU1 } from './u1';

export interface NmapSimOptions {
  /** Time of SEQ probe #1, ms since the epoch (default 1 700 000 000 000). */
  startMs?: number;
  /** Seed for Nmap's random choices (base seq, ack, ports, probe TTL/IP IDs, small send jitter). */
  seed?: number;
  /** Hop distance of a symmetric path (default 1 = same LAN). */
  hops?: number;
  /** One-way latency scanner → target, ms (default 0.2). */
  latencyMs?: number;
  /** Time after which an unanswered TUI probe is resent, ms (default 600). */
  retransmitAfterMs?: number;
  openPort?: number;
  closedPort?: number;
  closedUdpPort?: number;
}

/** A full record of the round, for callers that want more than the fingerprint. */
export interface NmapSimResult {
  fingerprint: ObservedFingerprint;
  /** Hop distance Nmap derived from U1 (-1 if no U1 reply). */
  distance: number;
  /** Every probe delivered to the personality, in order, with whether it answered. */
  log: Array<{ probe: string; timeMs: number; replied: boolean }>;
}

const SCANNER_ADDR = '198.51.100.2';
const TARGET_ADDR = '198.51.100.10';

/** Small deterministic PRNG (mulberry32) for Nmap's random choices. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What Nmap saw of one TCP reply. */
interface TcpSeen {
  flags: number;
  reserved: number;
  seq: number;
  ack: number;
  window: number;
  urgentPointer: number;
  /** Option area as on the wire: padded with zeros to a multiple of 4. */
  options: Buffer;
  payload: Buffer | null;
  ttl: number;
  df: boolean;
  ipId: number;
}

function freshTcpReply(): TcpReply {
  return {
    flags: 0,
    reserved: 0,
    seq: 0,
    ack: 0,
    window: 0,
    urgentPointer: 0,
    options: Buffer.alloc(0),
    optionsLength: 0,
    payload: null,
    ttl: 64,
    df: false,
    ipId: 0,
  };
}

function hx(n: number): string {
  return (n >>> 0).toString(16).toUpperCase();
}

/** processT1_7Resp / processTEcnResp quirks: R = reserved bits or NS set; U = urgent pointer without URG. */
function quirks(r: TcpSeen): string {
  let q = '';
  if (r.reserved !== 0 || (r.flags & TcpFlag.NS) !== 0) q += 'R';
  if ((r.flags & TcpFlag.URG) === 0 && r.urgentPointer !== 0) q += 'U';
  return q;
}

function flagString(flags: number): string {
  let s = '';
  if (flags & TcpFlag.ECE) s += 'E';
  if (flags & TcpFlag.URG) s += 'U';
  if (flags & TcpFlag.ACK) s += 'A';
  if (flags & TcpFlag.PSH) s += 'P';
  if (flags & TcpFlag.RST) s += 'R';
  if (flags & TcpFlag.SYN) s += 'S';
  if (flags & TcpFlag.FIN) s += 'F';
  return s;
}

function initialTtlGuess(ttl: number): number {
  if (ttl <= 32) return 32;
  if (ttl <= 64) return 64;
  if (ttl <= 128) return 128;
  return 255;
}

class NmapRound {
  private readonly rand: () => number;
  private readonly hops: number;
  private readonly latencyMs: number;
  private readonly retransmitAfterMs: number;
  private readonly openPort: number;
  private readonly closedPort: number;
  private readonly closedUdpPort: number;
  /** Nmap's per-round randoms. */
  private readonly seqBase: number;
  private readonly ackBase: number;
  private readonly tcpPortBase: number;
  private readonly udpPortBase: number;
  private readonly icmpEchoId: number;
  private readonly udpTtl: number;

  private now: number;
  readonly log: NmapSimResult['log'] = [];

  // Results, mirroring HostOsScanStats.
  private readonly seq: SeqSamples;
  private lastIpId = 0;
  private readonly opsValues: Array<string | null> = [null, null, null, null, null, null];
  private readonly winValues: Array<string | null> = [null, null, null, null, null, null];
  /** FPtests[3..12]: ECN, T1..T7, U1, IE. */
  private readonly lines = new Map<TestName, Map<string, string>>();
  private firstEcho: { which: 0 | 1; reply: IcmpEchoReply } | null = null;
  distance = -1;

  constructor(private readonly p: HostPersonality, opts: NmapSimOptions) {
    this.rand = rng(opts.seed ?? 0x5eed);
    this.hops = Math.max(1, Math.floor(opts.hops ?? 1));
    this.latencyMs = opts.latencyMs ?? 0.2;
    this.retransmitAfterMs = opts.retransmitAfterMs ?? 600;
    this.openPort = opts.openPort ?? 22;
    this.closedPort = opts.closedPort ?? 1;
    this.closedUdpPort = opts.closedUdpPort ?? 30000 + Math.floor(this.rand() * 14781);
    this.now = opts.startMs ?? 1_700_000_000_000;
    this.seqBase = this.randU32();
    this.ackBase = this.randU32();
    // 7.93: magic_port (33000 + random below 31000) plus a random byte, fixed for the scan.
    const magicPort = 33000 + Math.floor(this.rand() * 31000);
    this.tcpPortBase = Math.min(magicPort + Math.floor(this.rand() * 256), 65535 - 20);
    this.udpPortBase = Math.min(magicPort + Math.floor(this.rand() * 256), 65535);
    this.icmpEchoId = Math.floor(this.rand() * 0xfffe);
    this.udpTtl = (Math.floor(this.now / 1000) % 14) + 51;
    this.seq = {
      seqs: [0, 0, 0, 0, 0, 0],
      timestamps: [0, 0, 0, 0, 0, 0],
      sendTimesUs: [0, 0, 0, 0, 0, 0],
      tsClass: 'unknown',
      tcpIpIds: [null, null, null, null, null, null],
      closedIpIds: [null, null, null],
      icmpIpIds: [null, null],
    };
  }

  private randU32(): number {
    return Math.floor(this.rand() * 4294967296) >>> 0;
  }

  /** Probe TTL as sent (Nmap: random 37-59 per packet) and as it arrives. */
  private probeTtlArriving(): number {
    return Math.max(1, 37 + Math.floor(this.rand() * 23) - (this.hops - 1));
  }

  private arriving(ttl: number): number {
    return ttl - (this.hops - 1);
  }

  /** Deliver one TCP probe; returns what Nmap receives, or null for silence. */
  private sendTcp(
    label: string,
    state: 'open' | 'closed',
    srcPort: number,
    seq: number,
    ack: number,
    flags: number,
    reserved: number,
    urgentPointer: number,
    shape: number,
    df: boolean,
  ): TcpSeen | null {
    const options = PROBE_OPTIONS[shape];
    const offered = offeredOptions(options);
    const timeMs = this.now + this.latencyMs;
    const seg: TcpSegmentIn = {
      srcPort,
      dstPort: state === 'open' ? this.openPort : this.closedPort,
      flags,
      reserved,
      seq: seq >>> 0,
      ack: ack >>> 0,
      window: PROBE_WINDOWS[shape],
      urgentPointer,
      payloadLength: 0,
      mss: offered.mss,
      wscale: offered.wscale,
      sackPermitted: offered.sackPermitted,
      hasTimestamp: offered.hasTimestamp,
      tsVal: offered.tsVal,
      tsEcr: offered.tsEcr,
      ipTtl: this.probeTtlArriving(),
      ipDf: df,
      ipId: Math.floor(this.rand() * 65536),
      timeMs,
    };
    const out = freshTcpReply();
    const replied = this.p.respondTcp(seg, state, out);
    this.log.push({ probe: label, timeMs, replied });
    if (!replied) return null;
    if (out.optionsLength < 0 || out.optionsLength > 40 || out.optionsLength > out.options.length) {
      throw new Error(`${this.p.name}: ${label} reply has an invalid options length ${out.optionsLength}`);
    }
    const padded = Buffer.alloc((out.optionsLength + 3) & ~3);
    out.options.copy(padded, 0, 0, out.optionsLength);
    const ttl = this.arriving(out.ttl & 0xff);
    if (ttl <= 0) return null; // expired on the way back
    return {
      flags: out.flags & 0x1ff,
      reserved: out.reserved & 7,
      seq: out.seq >>> 0,
      ack: out.ack >>> 0,
      window: out.window & 0xffff,
      urgentPointer: out.urgentPointer & 0xffff,
      options: padded,
      payload: out.payload !== null && out.payload.length > 0 ? Buffer.from(out.payload) : null,
      ttl,
      df: out.df,
      ipId: out.ipId & 0xffff,
    };
  }

  // ---- the SEQ phase -------------------------------------------------------------------------

  runSeqPhase(): void {
    for (let i = 0; i < 6; i++) {
      if (i > 0) this.now += SEQ_PROBE_DELAY_MS + this.rand() * 2; // Nmap sends at ≥ 100 ms gaps
      this.seq.sendTimesUs[i] = Math.round(this.now * 1000);
      const r = this.sendTcp(`SEQ${i + 1}`, 'open', this.tcpPortBase + i, this.seqBase + i, this.ackBase, TcpFlag.SYN, 0, 0, i, false);
      if (r === null) continue;
      if (this.processSeqReply(r, i)) this.seq.tcpIpIds[i] = r.ipId;
      if (i === 0) this.processT(r, 0);
      this.processOps(r, i);
      this.processWin(r, i);
    }
  }

  /** processTSeqResp. */
  private processSeqReply(r: TcpSeen, i: number): boolean {
    if (this.lastIpId !== 0 && r.ipId === this.lastIpId) return false; // taken for a duplicate
    this.lastIpId = r.ipId;
    if (r.flags & TcpFlag.RST) return false;
    if ((r.flags & (TcpFlag.SYN | TcpFlag.ACK)) !== (TcpFlag.SYN | TcpFlag.ACK)) return false;
    // Nmap matches by ack − base − 1 but falls back to the probe number, so the slot is i.
    const n = i;
    if (this.seq.seqs[n] !== 0) return false;
    this.seq.seqs[n] = r.seq;
    const ts = nmapTimestamp(r.options);
    if (ts === null) this.seq.tsClass = 'unsupported';
    else if (ts === 0) this.seq.tsClass = 'zero';
    this.seq.timestamps[n] = ts ?? 0;
    return true;
  }

  private processOps(r: TcpSeen, i: number): boolean {
    if (this.opsValues[i] !== null) return false;
    this.opsValues[i] = nmapOptionString(r.options, r.payload);
    return true;
  }

  private processWin(r: TcpSeen, i: number): boolean {
    if (this.winValues[i] !== null) return false;
    this.winValues[i] = hx(r.window);
    return true;
  }

  // ---- the TUI phase -------------------------------------------------------------------------

  runTuiPhase(): void {
    type Probe = { label: string; send: (retransmitted: boolean) => boolean; sends: number; lastSent: number };
    const queue: Probe[] = [];
    const add = (label: string, send: (retransmitted: boolean) => boolean): void => {
      queue.push({ label, send, sends: 0, lastSent: 0 });
    };
    add('IE1', (re) => this.sendEcho(0, re));
    add('IE2', (re) => this.sendEcho(1, re));
    add('U1', () => this.sendU1());
    for (let i = 0; i < 6; i++) {
      if (this.opsValues[i] === null || this.winValues[i] === null) add(`OPS${i + 1}`, () => this.sendOpsProbe(i));
    }
    add('ECN', () => this.sendEcn());
    for (let t = 0; t < 7; t++) {
      if (t === 0 && this.lines.has('T1')) continue;
      add(T_PROBES[t].test, () => this.sendTProbe(t));
    }
    // Start a little after the SEQ phase ends; then ≥ 25 ms between probes. Unanswered probes go
    // to the back of the queue and are resent after their timeout, up to 4 sends in all.
    this.now += 20;
    let first = true;
    for (let guard = 0; queue.length > 0 && guard < 200; guard++) {
      const probe = queue.shift() as Probe;
      if (!first) this.now += TUI_PROBE_DELAY_MS + this.rand() * 2;
      first = false;
      if (probe.sends > 0 && this.now < probe.lastSent + this.retransmitAfterMs) this.now = probe.lastSent + this.retransmitAfterMs;
      const answered = probe.send(probe.sends > 0);
      probe.sends++;
      probe.lastSent = this.now;
      if (!answered && probe.sends < TUI_MAX_SENDS) queue.push(probe);
    }
  }

  private sendOpsProbe(i: number): boolean {
    const r = this.sendTcp(`OPS${i + 1}`, 'open', this.tcpPortBase + 6 + i, this.seqBase, this.ackBase, TcpFlag.SYN, 0, 0, i, false);
    if (r === null) return false;
    const a = this.processOps(r, i);
    const b = this.processWin(r, i);
    return a || b;
  }

  private sendEcn(): boolean {
    const r = this.sendTcp('ECN', 'open', this.tcpPortBase + 12, this.seqBase, 0, ECN_FLAGS, ECN_RESERVED, ECN_URGENT_POINTER, 6, false);
    if (r === null || this.lines.has('ECN')) return false;
    const a = new Map<string, string>();
    a.set('R', 'Y');
    a.set('DF', r.df ? 'Y' : 'N');
    a.set('T', String(r.ttl));
    a.set('W', hx(r.window));
    a.set('O', nmapOptionString(r.options, r.payload));
    const ece = (r.flags & TcpFlag.ECE) !== 0;
    const cwr = (r.flags & TcpFlag.CWR) !== 0;
    a.set('CC', ece && cwr ? 'S' : ece ? 'Y' : !cwr ? 'N' : 'O');
    a.set('Q', quirks(r));
    this.lines.set('ECN', a);
    return true;
  }

  private sendTProbe(t: number): boolean {
    const spec = T_PROBES[t];
    const r = this.sendTcp(spec.test, spec.port, this.tcpPortBase + 13 + t, this.seqBase, this.ackBase, spec.flags, 0, 0, spec.shape, spec.df);
    if (r === null) return false;
    const useful = this.processT(r, t);
    if (useful && t >= 4) this.seq.closedIpIds[t - 4] = r.ipId;
    return useful;
  }

  /** processT1_7Resp. */
  private processT(r: TcpSeen, t: number): boolean {
    const name = T_PROBES[t].test;
    if (this.lines.has(name)) return false;
    const a = new Map<string, string>();
    a.set('R', 'Y');
    a.set('DF', r.df ? 'Y' : 'N');
    a.set('T', String(r.ttl));
    if (t !== 0) a.set('W', hx(r.window));
    const ackBase = this.ackBase >>> 0;
    a.set('S', r.seq === 0 ? 'Z' : r.seq === ackBase ? 'A' : r.seq === ((ackBase + 1) >>> 0) ? 'A+' : 'O');
    const seqBase = this.seqBase >>> 0;
    a.set('A', r.ack === 0 ? 'Z' : r.ack === seqBase ? 'S' : r.ack === ((seqBase + 1) >>> 0) ? 'S+' : 'O');
    a.set('F', flagString(r.flags));
    if (t !== 0) a.set('O', nmapOptionString(r.options, r.payload));
    const rd = (r.flags & TcpFlag.RST) !== 0 && r.payload !== null ? crc32(r.payload).toString(16).toUpperCase().padStart(8, '0') : '0';
    a.set('RD', rd);
    a.set('Q', quirks(r));
    this.lines.set(name, a);
    return true;
  }

  private sendEcho(which: 0 | 1, retransmitted: boolean): boolean {
    const spec = IE_PROBES[which];
    const timeMs = this.now + this.latencyMs;
    const req: IcmpEchoIn = { code: spec.code, ipDf: spec.df, ipTtl: this.probeTtlArriving(), ipTos: spec.tos, timeMs };
    const out: IcmpEchoReply = { code: 0, ttl: 64, df: false, ipId: 0, tos: 0 };
    const replied = this.p.respondIcmpEcho(req, out);
    this.log.push({ probe: `IE${which + 1}`, timeMs, replied });
    if (!replied) return false;
    const ttl = this.arriving(out.ttl & 0xff);
    if (ttl <= 0) return false;
    const reply: IcmpEchoReply = { code: out.code & 0xff, ttl, df: out.df, ipId: out.ipId & 0xffff, tos: out.tos };
    // processTIcmpResp: the first reply is stored; the other one completes the IE line.
    if (this.lines.has('IE')) return false;
    let useful = false;
    if (this.firstEcho === null) {
      this.firstEcho = { which, reply };
      useful = true;
    } else if (this.firstEcho.which !== which) {
      const r1 = which === 0 ? reply : this.firstEcho.reply;
      const r2 = which === 0 ? this.firstEcho.reply : reply;
      const a = new Map<string, string>();
      a.set('R', 'Y');
      a.set('DFI', r1.df && r2.df ? 'Y' : r1.df && !r2.df ? 'S' : !r1.df && !r2.df ? 'N' : 'O');
      a.set('T', String(r1.ttl));
      a.set('CD', r1.code === r2.code ? (r1.code === 0 ? 'Z' : hx(r1.code)) : r1.code === 9 && r2.code === 0 ? 'S' : 'O');
      this.lines.set('IE', a);
      useful = true;
    }
    // IP IDs of replies to retransmitted echoes are not used for II.
    if (useful && !retransmitted) this.seq.icmpIpIds[which] = reply.ipId;
    return useful;
  }

  private sendU1(): boolean {
    if (this.lines.has('U1')) return false;
    const probe = buildUdpProbe(SCANNER_ADDR, TARGET_ADDR, this.udpPortBase, this.closedUdpPort, this.udpTtl, this.hops);
    const timeMs = this.now + this.latencyMs;
    const out: UdpUnreachableReply = {
      ttl: 64,
      df: false,
      ipId: 0,
      tos: 0,
      unused: 0,
      totalLength: 56,
      quotedTotalLength: -1,
      quotedIpId: -1,
      quotedIpChecksum: 'G',
      quotedUdpChecksum: -1,
      corruptQuotedPayload: false,
      quotedTtlDecrement: 0,
    };
    const replied = this.p.respondUdpClosed(U1_TOTAL_LENGTH, timeMs, out);
    this.log.push({ probe: 'U1', timeMs, replied });
    if (!replied) return false;
    const ttl = this.arriving(out.ttl & 0xff);
    if (ttl <= 0) return false;
    const seen = readU1(probe, out, ttl);
    if (seen === null) return false;
    this.lines.set('U1', seen.attrs);
    if (this.distance === -1) this.distance = this.udpTtl - seen.quotedTtl + 1;
    return true;
  }

  // ---- makeFP --------------------------------------------------------------------------------

  fingerprint(): ObservedFingerprint {
    const fp: ObservedFingerprint = new Map();
    const seqLine = computeSeqLine(this.seq);
    if (seqLine.size > 0) fp.set('SEQ', seqLine);
    if (this.opsValues.every((v) => v !== null)) {
      fp.set('OPS', new Map(this.opsValues.map((v, i) => [`O${i + 1}`, v as string])));
    }
    if (this.winValues.every((v) => v !== null)) {
      fp.set('WIN', new Map(this.winValues.map((v, i) => [`W${i + 1}`, v as string])));
    }
    const rest: TestName[] = ['ECN', 'T1', 'T2', 'T3', 'T4', 'T5', 'T6', 'T7', 'U1', 'IE'];
    for (const name of rest) {
      const line = this.lines.get(name);
      // Both an open and a closed TCP port are known here, so every missing line reads R=N.
      if (line === undefined) {
        fp.set(name, new Map([['R', 'N']]));
        continue;
      }
      const out = new Map<string, string>();
      for (const [attr, value] of line) {
        if (attr !== 'T') {
          out.set(attr, value);
          continue;
        }
        const ttl = Number(value);
        if (this.distance !== -1) out.set('T', hx((ttl + this.distance - 1) & 0xffff));
        else out.set('TG', hx(initialTtlGuess(ttl)));
      }
      fp.set(name, out);
    }
    return fp;
  }
}

/** Run one simulated Nmap 7.93 OS-detection round and return everything it recorded. */
export function simulateNmapRound(p: HostPersonality, opts: NmapSimOptions = {}): NmapSimResult {
  const round = new NmapRound(p, opts);
  round.runSeqPhase();
  round.runTuiPhase();
  return { fingerprint: round.fingerprint(), distance: round.distance, log: round.log };
}

/** The subject fingerprint Nmap 7.93 would build for this personality in one round. */
export function simulateNmapFingerprint(p: HostPersonality, opts: { startMs?: number } & NmapSimOptions = {}): ObservedFingerprint {
  return simulateNmapRound(p, opts).fingerprint;
}
