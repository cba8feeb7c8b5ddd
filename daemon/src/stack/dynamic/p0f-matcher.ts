/**
 * p0f 3's SYN fingerprint and match, over a captured frame, without allocating: `SynFacts` is
 * filled in place from the IPv4 and TCP headers exactly as p0f's process.c `parse_packet` reads
 * them, and `matchSyn` walks the signatures as fp_tcp.c `tcp_find_match` does (same option
 * layout; quirks equal, or differing only in `df`/`id+` lost or `id-`/`ecn` gained = fuzzy; TTL
 * within 35 hops below the signature's, else fuzzy; wildcards; window as a value, a modulus, or a
 * multiple of MSS/MTU; a specific signature wins at once, else the first generic one, else the
 * first fuzzy one unless it names a userland tool).
 */
import { P0fDatabase, Quirk, WinType } from './p0f-signatures';

/** p0f config.h MAX_DIST: TTL distance beyond which a match is only fuzzy. */
const MAX_DIST = 35;
/** p0f config.h MAX_TCP_OPT. */
const MAX_TCP_OPT = 24;

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_PUSH = 0x08;
const TCP_ACK = 0x10;
const TCP_URG = 0x20;
const TCP_ECE = 0x40;
const TCP_CWR = 0x80;

/** What p0f takes from one SYN. Reused for every packet. */
export class SynFacts {
  ttl = 0;
  ipOptionsLength = 0;
  /** IP header + TCP header bytes (p0f tot_hdr). */
  totalHeader = 0;
  quirks = 0;
  win = 0;
  mss = 0;
  wscale = 0;
  ts1 = 0;
  readonly layout = new Uint8Array(MAX_TCP_OPT);
  layoutLength = 0;
  eolPad = 0;
  payloadClass = 0;

  /**
   * Reads the SYN whose IPv4 header starts at `ipOff` of `buf` (`ipLength` bytes of datagram
   * there). False when p0f would not fingerprint it: not IPv4/TCP, a fragment, truncated, or not a
   * plain SYN (SYN without ACK, FIN or RST).
   */
  read(buf: Buffer, ipOff: number, ipLength: number): boolean {
    if (ipLength < 40 || buf.length < ipOff + ipLength || (buf[ipOff] as number) >> 4 !== 4) return false;
    const hl = ((buf[ipOff] as number) & 0x0f) * 4;
    const totalLength = Math.min(buf.readUInt16BE(ipOff + 2), ipLength);
    if (hl < 20 || totalLength < hl + 20 || buf[ipOff + 9] !== 6) return false;
    const flagsOff = buf.readUInt16BE(ipOff + 6);
    if ((flagsOff & ~(0x4000 | 0x8000)) !== 0) return false; // MF or an offset: p0f lets fragments slide
    let q = 0;
    const tos = buf[ipOff + 1] as number;
    if ((tos & 0x03) !== 0) q |= Quirk.ECN;
    if ((flagsOff & 0x8000) !== 0) q |= Quirk.NZ_MBZ;
    const id = buf.readUInt16BE(ipOff + 4);
    if ((flagsOff & 0x4000) !== 0) {
      q |= Quirk.DF;
      if (id !== 0) q |= Quirk.NZ_ID;
    } else if (id === 0) q |= Quirk.ZERO_ID;
    this.ttl = buf[ipOff + 8] as number;
    this.ipOptionsLength = hl - 20;

    const t = ipOff + hl;
    const segLength = totalLength - hl;
    const doffByte = buf[t + 12] as number;
    const doff = (doffByte >> 4) * 4;
    if (doff < 20 || doff > segLength) return false;
    const flags = buf[t + 13] as number;
    if ((flags & (TCP_SYN | TCP_ACK | TCP_FIN | TCP_RST)) !== TCP_SYN) return false;
    this.totalHeader = hl + doff;
    this.win = buf.readUInt16BE(t + 14);
    if ((flags & (TCP_ECE | TCP_CWR)) !== 0 || (doffByte & 0x01) !== 0) q |= Quirk.ECN;
    if (buf.readUInt32BE(t + 4) === 0) q |= Quirk.ZERO_SEQ;
    // p0f tests `RD32(ack) & !(flags & RST)` on the raw little-endian word: only the low bit of the
    // ack's first byte on the wire (bit 24) counts. Reproduced, so decoyd's verdicts are p0f's.
    if (((buf[t + 8] as number) & 1) !== 0) q |= Quirk.NZ_ACK;
    if ((flags & TCP_URG) !== 0) q |= Quirk.URG;
    else if (buf.readUInt16BE(t + 18) !== 0) q |= Quirk.NZ_URG;
    if ((flags & TCP_PUSH) !== 0) q |= Quirk.PUSH;
    this.payloadClass = segLength > doff ? 1 : 0;

    // Options, as parse_packet walks them (including where it gives up).
    const end = t + doff;
    let p = t + 20;
    let n = 0;
    this.eolPad = 0;
    this.mss = 0;
    this.wscale = 0;
    this.ts1 = 0;
    let aborted = false;
    while (p < end && n < MAX_TCP_OPT) {
      const kind = buf[p++] as number;
      this.layout[n++] = kind;
      if (kind === 0) {
        this.eolPad = end - p;
        while (p < end) if (buf[p++] !== 0) break;
        if (p !== end) {
          q |= Quirk.OPT_EOL_NZ;
          p = end;
        }
        continue;
      }
      if (kind === 1) continue;
      const len = p < end ? (buf[p] as number) : -1;
      if (kind === 2) {
        if (len !== 4) q |= Quirk.OPT_BAD;
        if (p + 3 > end) { aborted = true; break; }
        this.mss = buf.readUInt16BE(p + 1);
        p += 3;
      } else if (kind === 3) {
        if (len !== 3) q |= Quirk.OPT_BAD;
        if (p + 2 > end) { aborted = true; break; }
        this.wscale = buf[p + 1] as number;
        if (this.wscale > 14) q |= Quirk.OPT_EXWS;
        p += 2;
      } else if (kind === 4) {
        if (len !== 2) q |= Quirk.OPT_BAD;
        if (p + 1 > end) { aborted = true; break; }
        p += 1;
      } else if (kind === 5) {
        if (len < 10 || len > 34 || p - 1 + len > end) { aborted = true; break; }
        p += len - 1;
      } else if (kind === 8) {
        if (len !== 10) q |= Quirk.OPT_BAD;
        if (p + 9 > end) { aborted = true; break; }
        this.ts1 = buf.readUInt32BE(p + 1);
        if (this.ts1 === 0) q |= Quirk.OPT_ZERO_TS1;
        if (buf.readUInt32BE(p + 5) !== 0) q |= Quirk.OPT_NZ_TS2;
        p += 9;
      } else {
        if (len < 2 || len > 40 || p - 1 + len > end) { aborted = true; break; }
        p += len - 1;
      }
    }
    if (aborted || p !== end) q |= Quirk.OPT_BAD;
    this.layoutLength = n;
    this.quirks = q;
    return true;
  }
}

/** `win / d` when d divides the window (p0f's RET_IF_DIV), else -1. */
function divides(win: number, d: number): number {
  return d !== 0 && win % d === 0 ? Math.floor(win / d) : -1;
}

/** detect_win_multi for a SYN: the window as a multiple of MSS (or MTU), else -1; sets `useMtu`. No closures: it runs per SYN. */
function windowMultiple(f: SynFacts, out: { useMtu: boolean }): number {
  const win = f.win;
  const mss = f.mss;
  out.useMtu = false;
  if (win === 0 || mss < 100) return -1;
  let r: number;
  if ((r = divides(win, mss)) >= 0) return r;
  if (f.ts1 !== 0 && (r = divides(win, mss - 12)) >= 0) return r;
  if ((r = divides(win, 1500 - 40)) >= 0) return r;
  if ((r = divides(win, 1500 - 40 - 12)) >= 0) return r;
  out.useMtu = true;
  if ((r = divides(win, mss + 40)) >= 0) return r;
  if ((r = divides(win, mss + f.totalHeader)) >= 0) return r;
  if ((r = divides(win, 1500)) >= 0) return r;
  out.useMtu = false;
  return -1;
}

const winOut = { useMtu: false };

/** The label p0f gives this SYN, or -1 (no match, or only a fuzzy match naming a userland tool). */
export function matchSyn(db: P0fDatabase, f: SynFacts): number {
  const winMulti = windowMultiple(f, winOut);
  const useMtu = winOut.useMtu;
  let fuzzyMatch = -1;
  let genericMatch = -1;
  const sigs = db.syn;
  for (let i = 0; i < sigs.length; i++) {
    const s = sigs[i] as (typeof sigs)[number];
    if (s.layout.length !== f.layoutLength) continue;
    let same = true;
    for (let k = 0; k < f.layoutLength; k++) if (s.layout[k] !== f.layout[k]) { same = false; break; }
    if (!same) continue;
    let fuzzy = false;
    // An IPv4 packet: a signature for any version loses its IPv6-only quirk.
    const refQuirks = s.ipVersion === -1 ? s.quirks & ~Quirk.FLOW : s.quirks;
    if (refQuirks !== f.quirks) {
      const deleted = (refQuirks ^ f.quirks) & refQuirks;
      const added = (refQuirks ^ f.quirks) & f.quirks;
      if (fuzzyMatch >= 0 || (deleted & ~(Quirk.DF | Quirk.NZ_ID)) !== 0 || (added & ~(Quirk.ZERO_ID | Quirk.ECN)) !== 0) continue;
      fuzzy = true;
    }
    if (s.eolPad !== f.eolPad || s.ipOptionsLength !== f.ipOptionsLength) continue;
    if (s.badTtl) {
      if (s.ttl < f.ttl) continue;
    } else if (s.ttl < f.ttl || s.ttl - f.ttl > MAX_DIST) fuzzy = true;
    if (s.mss !== -1 && s.mss !== f.mss) continue;
    if (s.wscale !== -1 && s.wscale !== f.wscale) continue;
    if (s.payloadClass !== -1 && s.payloadClass !== f.payloadClass) continue;
    switch (s.winType) {
      case WinType.NORMAL: if (s.win !== f.win) continue; break;
      case WinType.MOD: if (f.win % s.win !== 0) continue; break;
      case WinType.MSS: if (useMtu || s.win !== winMulti) continue; break;
      case WinType.MTU: if (!useMtu || s.win !== winMulti) continue; break;
      default: break;
    }
    const generic = (db.labels[s.label] as (typeof db.labels)[number]).generic;
    if (!fuzzy) {
      if (!generic) return s.label;
      if (genericMatch < 0) genericMatch = i;
    } else if (fuzzyMatch < 0) fuzzyMatch = i;
  }
  if (genericMatch >= 0) return (sigs[genericMatch] as (typeof sigs)[number]).label;
  if (fuzzyMatch < 0) return -1;
  const label = (sigs[fuzzyMatch] as (typeof sigs)[number]).label;
  return (db.labels[label] as (typeof db.labels)[number]).osClass === '!' ? -1 : label;
}
