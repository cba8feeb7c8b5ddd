/**
 * Hand-rolled test frames and a hand-rolled parser for checking replies. Deliberately independent
 * of daemon/src/wire (own checksum, own field offsets) so that a bug there makes tests fail
 * instead of agreeing with itself.
 */

export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';

export function macBytes(text: string): Buffer {
  const parts = text.split(':');
  if (parts.length !== 6) throw new Error(`bad MAC ${text}`);
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

export function macText(buf: Buffer, off = 0): string {
  return [...buf.subarray(off, off + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Dotted quad → unsigned 32-bit number. */
export function ipNum(text: string): number {
  const p = text.split('.').map(Number);
  if (p.length !== 4 || p.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) throw new Error(`bad IP ${text}`);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

export function ipText(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** RFC 1071 ones-complement sum of 16-bit big-endian words, folded and complemented. */
export function checksum16(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += bytes[i] * 256 + bytes[i + 1];
  if (bytes.length % 2 === 1) sum += bytes[bytes.length - 1] * 256;
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return 0xffff - sum;
}

function pseudoSum(src: string | number, dst: string | number, proto: number, length: number): number {
  const s = typeof src === 'number' ? src : ipNum(src);
  const d = typeof dst === 'number' ? dst : ipNum(dst);
  return Math.floor(s / 65536) + (s % 65536) + Math.floor(d / 65536) + (d % 65536) + proto + length;
}

/** Checksum of a TCP/UDP segment with the IPv4 pseudo-header; 0 means the stored checksum is right. */
export function transportChecksum(src: string | number, dst: string | number, proto: number, segment: Uint8Array): number {
  return checksum16(segment, pseudoSum(src, dst, proto, segment.length));
}

export function ethernet(dst: string, src: string, etherType: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(14);
  macBytes(dst).copy(head, 0);
  macBytes(src).copy(head, 6);
  head.writeUInt16BE(etherType, 12);
  return Buffer.concat([head, payload]);
}

export interface ArpSpec {
  op: number;
  sha: string;
  spa: string;
  tha?: string;
  tpa: string;
  htype?: number;
  ptype?: number;
  hlen?: number;
  plen?: number;
}

export function arpPacket(a: ArpSpec): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt16BE(a.htype ?? 1, 0);
  b.writeUInt16BE(a.ptype ?? 0x0800, 2);
  b[4] = a.hlen ?? 6;
  b[5] = a.plen ?? 4;
  b.writeUInt16BE(a.op, 6);
  macBytes(a.sha).copy(b, 8);
  b.writeUInt32BE(ipNum(a.spa), 14);
  macBytes(a.tha ?? '00:00:00:00:00:00').copy(b, 18);
  b.writeUInt32BE(ipNum(a.tpa), 24);
  return b;
}

/** An ARP frame; `ethDst` defaults to broadcast for requests and to the target MAC for replies. */
export function arpFrame(a: ArpSpec & { ethSrc?: string; ethDst?: string; pad?: boolean }): Buffer {
  const dst = a.ethDst ?? (a.op === 1 ? BROADCAST_MAC : a.tha ?? BROADCAST_MAC);
  const f = ethernet(dst, a.ethSrc ?? a.sha, 0x0806, arpPacket(a));
  return a.pad === false ? f : Buffer.concat([f, Buffer.alloc(Math.max(0, 60 - f.length))]);
}

export interface Ipv4Spec {
  src: string;
  dst: string;
  proto: number;
  payload: Buffer;
  id?: number;
  ttl?: number;
  tos?: number;
  df?: boolean;
  mf?: boolean;
  /** Fragment offset in bytes (multiple of 8). */
  fragOffset?: number;
  options?: Buffer;
  /** Override the header-length nibble (in 32-bit words). */
  ihl?: number;
  /** Override the total length field. */
  totalLength?: number;
  /** Store this checksum instead of the right one. */
  checksum?: number;
}

export function ipv4Packet(s: Ipv4Spec): Buffer {
  const opts = s.options ?? Buffer.alloc(0);
  if (opts.length % 4 !== 0) throw new Error('IPv4 options must be padded to 4 bytes');
  const hl = 20 + opts.length;
  const h = Buffer.alloc(hl);
  h[0] = 0x40 | (s.ihl ?? hl / 4);
  h[1] = s.tos ?? 0;
  h.writeUInt16BE(s.totalLength ?? hl + s.payload.length, 2);
  h.writeUInt16BE(s.id ?? 0x1234, 4);
  const frag = ((s.df ? 0x4000 : 0) | (s.mf ? 0x2000 : 0) | ((s.fragOffset ?? 0) / 8)) & 0xffff;
  h.writeUInt16BE(frag, 6);
  h[8] = s.ttl ?? 64;
  h[9] = s.proto;
  h.writeUInt32BE(ipNum(s.src), 12);
  h.writeUInt32BE(ipNum(s.dst), 16);
  opts.copy(h, 20);
  h.writeUInt16BE(s.checksum ?? checksum16(h), 10);
  return Buffer.concat([h, s.payload]);
}

export const Flag = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80 } as const;

export interface TcpSpec {
  srcPort: number;
  dstPort: number;
  seq?: number;
  ack?: number;
  flags: number;
  window?: number;
  urgent?: number;
  /** Raw option bytes; padded with zeros (EOL) to a multiple of 4. */
  options?: Buffer;
  payload?: Buffer;
  /** Override the data-offset nibble (in words). */
  dataOffset?: number;
  badChecksum?: boolean;
}

export function tcpSegment(src: string, dst: string, t: TcpSpec): Buffer {
  const raw = t.options ?? Buffer.alloc(0);
  const opts = Buffer.concat([raw, Buffer.alloc((4 - (raw.length % 4)) % 4)]);
  const payload = t.payload ?? Buffer.alloc(0);
  const hl = 20 + opts.length;
  const s = Buffer.alloc(hl + payload.length);
  s.writeUInt16BE(t.srcPort, 0);
  s.writeUInt16BE(t.dstPort, 2);
  s.writeUInt32BE((t.seq ?? 0) >>> 0, 4);
  s.writeUInt32BE((t.ack ?? 0) >>> 0, 8);
  s[12] = (t.dataOffset ?? hl / 4) << 4 | ((t.flags >> 8) & 1);
  s[13] = t.flags & 0xff;
  s.writeUInt16BE(t.window ?? 64240, 14);
  s.writeUInt16BE(t.urgent ?? 0, 18);
  opts.copy(s, 20);
  payload.copy(s, hl);
  const c = transportChecksum(src, dst, 6, s);
  s.writeUInt16BE(t.badChecksum ? c ^ 0x0101 : c, 16);
  return s;
}

export function udpDatagram(src: string, dst: string, srcPort: number, dstPort: number, payload: Buffer, checksum: 'good' | 'zero' | 'bad' = 'good'): Buffer {
  const d = Buffer.alloc(8 + payload.length);
  d.writeUInt16BE(srcPort, 0);
  d.writeUInt16BE(dstPort, 2);
  d.writeUInt16BE(d.length, 4);
  payload.copy(d, 8);
  if (checksum !== 'zero') {
    let c = transportChecksum(src, dst, 17, d);
    if (c === 0) c = 0xffff;
    d.writeUInt16BE(checksum === 'bad' ? c ^ 0x00ff : c, 6);
  }
  return d;
}

export function icmpMessage(type: number, code: number, rest: number, data: Buffer, badChecksum = false): Buffer {
  const m = Buffer.alloc(8 + data.length);
  m[0] = type;
  m[1] = code;
  m.writeUInt32BE(rest >>> 0, 4);
  data.copy(m, 8);
  const c = checksum16(m);
  m.writeUInt16BE(badChecksum ? c ^ 0x1111 : c, 2);
  return m;
}

/** Standard SYN options as Linux sends them: MSS, SACK-permitted, timestamps, NOP, window scale. */
export function linuxSynOptions(tsVal: number, mss = 1460, wscale = 7): Buffer {
  const o = Buffer.alloc(20);
  o.set([2, 4, mss >> 8, mss & 255, 4, 2, 8, 10], 0);
  o.writeUInt32BE(tsVal >>> 0, 8);
  o.writeUInt32BE(0, 12);
  o.set([1, 3, 3, wscale], 16);
  return o;
}

/** An Ethernet + IPv4 frame, padded to 60 bytes as a NIC would. */
export function ipFrame(ethDst: string, ethSrc: string, ip: Ipv4Spec, pad = true): Buffer {
  const f = ethernet(ethDst, ethSrc, 0x0800, ipv4Packet(ip));
  return pad && f.length < 60 ? Buffer.concat([f, Buffer.alloc(60 - f.length)]) : f;
}

export function tcpFrame(ethDst: string, ethSrc: string, src: string, dst: string, t: TcpSpec, ip: Partial<Ipv4Spec> = {}): Buffer {
  return ipFrame(ethDst, ethSrc, { src, dst, proto: 6, df: true, ...ip, payload: tcpSegment(src, dst, t) });
}

export function udpFrame(ethDst: string, ethSrc: string, src: string, dst: string, srcPort: number, dstPort: number, payload: Buffer, ip: Partial<Ipv4Spec> = {}): Buffer {
  return ipFrame(ethDst, ethSrc, { src, dst, proto: 17, ...ip, payload: udpDatagram(src, dst, srcPort, dstPort, payload) });
}

export function icmpFrame(ethDst: string, ethSrc: string, src: string, dst: string, msg: Buffer, ip: Partial<Ipv4Spec> = {}): Buffer {
  return ipFrame(ethDst, ethSrc, { src, dst, proto: 1, ...ip, payload: msg });
}

// ---- parsing replies (hand-written, strict) ----

export interface ParsedTcp {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  dataOffset: number;
  options: Buffer;
  payload: Buffer;
  checksumOk: boolean;
}

export interface ParsedUdp {
  srcPort: number;
  dstPort: number;
  length: number;
  payload: Buffer;
  checksumOk: boolean;
}

export interface ParsedIcmp {
  type: number;
  code: number;
  rest: number;
  data: Buffer;
  checksumOk: boolean;
}

export interface ParsedArp {
  htype: number;
  ptype: number;
  op: number;
  sha: string;
  spa: string;
  tha: string;
  tpa: string;
}

export interface ParsedIpv4 {
  headerLength: number;
  /** Option bytes between the fixed header and the payload. */
  options: Buffer;
  tos: number;
  totalLength: number;
  id: number;
  df: boolean;
  mf: boolean;
  fragOffset: number;
  ttl: number;
  proto: number;
  src: string;
  dst: string;
  headerChecksumOk: boolean;
  payload: Buffer;
}

export interface ParsedFrame {
  length: number;
  dst: string;
  src: string;
  etherType: number;
  arp?: ParsedArp;
  ip?: ParsedIpv4;
  tcp?: ParsedTcp;
  udp?: ParsedUdp;
  icmp?: ParsedIcmp;
  /** Problems found while parsing (empty for a well-formed frame). */
  problems: string[];
}

/** Parse a frame we expect to be well-formed, collecting every problem instead of throwing. */
export function parseFrame(frame: Buffer): ParsedFrame {
  const problems: string[] = [];
  const out: ParsedFrame = { length: frame.length, dst: '', src: '', etherType: -1, problems };
  if (frame.length < 14) { problems.push('shorter than an Ethernet header'); return out; }
  out.dst = macText(frame, 0);
  out.src = macText(frame, 6);
  out.etherType = frame.readUInt16BE(12);
  const body = frame.subarray(14);
  if (out.etherType === 0x0806) {
    if (body.length < 28) { problems.push('short ARP'); return out; }
    out.arp = {
      htype: body.readUInt16BE(0), ptype: body.readUInt16BE(2), op: body.readUInt16BE(6),
      sha: macText(body, 8), spa: ipText(body.readUInt32BE(14)), tha: macText(body, 18), tpa: ipText(body.readUInt32BE(24)),
    };
    return out;
  }
  if (out.etherType !== 0x0800) { problems.push(`ethertype ${out.etherType}`); return out; }
  if (body.length < 20) { problems.push('short IPv4'); return out; }
  const hl = (body[0] & 15) * 4;
  const total = body.readUInt16BE(2);
  if (body[0] >> 4 !== 4) problems.push('IP version');
  if (hl < 20 || hl > body.length) { problems.push('IP header length'); return out; }
  if (total < hl || total > body.length) { problems.push(`IP total length ${total} vs ${body.length}`); return out; }
  const fragField = body.readUInt16BE(6);
  const ip: ParsedIpv4 = {
    headerLength: hl, options: Buffer.from(body.subarray(20, Math.max(20, hl))), tos: body[1], totalLength: total, id: body.readUInt16BE(4),
    df: (fragField & 0x4000) !== 0, mf: (fragField & 0x2000) !== 0, fragOffset: (fragField & 0x1fff) * 8,
    ttl: body[8], proto: body[9], src: ipText(body.readUInt32BE(12)), dst: ipText(body.readUInt32BE(16)),
    headerChecksumOk: checksum16(body.subarray(0, hl)) === 0,
    payload: Buffer.from(body.subarray(hl, total)),
  };
  out.ip = ip;
  if (!ip.headerChecksumOk) problems.push('IP header checksum');
  if (total < body.length && frame.length > 60) problems.push('trailing bytes beyond IP total length in a frame over 60 bytes');
  if (frame.length < 60) problems.push('frame shorter than 60 bytes');
  const p = ip.payload;
  if (ip.mf || ip.fragOffset !== 0) return out;
  if (ip.proto === 6) {
    if (p.length < 20) { problems.push('short TCP'); return out; }
    const doff = (p[12] >> 4) * 4;
    if (doff < 20 || doff > p.length) { problems.push('TCP data offset'); return out; }
    out.tcp = {
      srcPort: p.readUInt16BE(0), dstPort: p.readUInt16BE(2), seq: p.readUInt32BE(4), ack: p.readUInt32BE(8),
      flags: ((p[12] & 1) << 8) | p[13], window: p.readUInt16BE(14), dataOffset: doff,
      options: Buffer.from(p.subarray(20, doff)), payload: Buffer.from(p.subarray(doff)),
      checksumOk: transportChecksum(ip.src, ip.dst, 6, p) === 0,
    };
    if (!out.tcp.checksumOk) problems.push('TCP checksum');
  } else if (ip.proto === 17) {
    if (p.length < 8) { problems.push('short UDP'); return out; }
    const len = p.readUInt16BE(4);
    if (len !== p.length) problems.push('UDP length');
    out.udp = {
      srcPort: p.readUInt16BE(0), dstPort: p.readUInt16BE(2), length: len, payload: Buffer.from(p.subarray(8, len)),
      checksumOk: p.readUInt16BE(6) === 0 || transportChecksum(ip.src, ip.dst, 17, p.subarray(0, len)) === 0,
    };
    if (!out.udp.checksumOk) problems.push('UDP checksum');
  } else if (ip.proto === 1) {
    if (p.length < 8) { problems.push('short ICMP'); return out; }
    out.icmp = {
      type: p[0], code: p[1], rest: p.readUInt32BE(4), data: Buffer.from(p.subarray(8)),
      checksumOk: checksum16(p) === 0,
    };
    if (!out.icmp.checksumOk) problems.push('ICMP checksum');
  }
  return out;
}
