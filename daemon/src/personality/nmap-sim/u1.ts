/**
 * U1: the ICMP port unreachable a personality describes (UdpUnreachableReply), built the way the
 * stack builds it (the probe quoted as received, then the overrides), and read back the way
 * Nmap 7.93 reads it (osscan2.cc processResp / processTUdpResp).
 */
import type { UdpUnreachableReply } from '../host-personality';
import { internetChecksum } from './checksum';
import { U1_IP_ID, U1_PAYLOAD_BYTE, U1_PAYLOAD_LENGTH, U1_TOTAL_LENGTH } from './probes';

export interface UdpProbeAsReceived {
  /** The whole 328-byte datagram as it arrived at the target. */
  bytes: Buffer;
  /** UDP checksum Nmap computed and sent (to compare RUCK). */
  udpChecksum: number;
  srcPort: number;
  dstPort: number;
}

function ipv4(addr: string): number[] {
  return addr.split('.').map((x) => Number(x));
}

/** The U1 datagram Nmap sends, as the target receives it `hops − 1` routers later. */
export function buildUdpProbe(src: string, dst: string, srcPort: number, dstPort: number, sentTtl: number, hops: number): UdpProbeAsReceived {
  const b = Buffer.alloc(U1_TOTAL_LENGTH);
  const s = ipv4(src);
  const d = ipv4(dst);
  b[0] = 0x45;
  b.writeUInt16BE(U1_TOTAL_LENGTH, 2);
  b.writeUInt16BE(U1_IP_ID, 4);
  b[8] = sentTtl;
  b[9] = 17;
  b.set(s, 12);
  b.set(d, 16);
  b.writeUInt16BE(srcPort, 20);
  b.writeUInt16BE(dstPort, 22);
  b.writeUInt16BE(8 + U1_PAYLOAD_LENGTH, 24);
  b.fill(U1_PAYLOAD_BYTE, 28);
  // UDP checksum over the pseudo-header, header and data.
  const pseudo = Buffer.alloc(12);
  pseudo.set(s, 0);
  pseudo.set(d, 4);
  pseudo[9] = 17;
  pseudo.writeUInt16BE(8 + U1_PAYLOAD_LENGTH, 10);
  const pseudoSum = 0xffff & ~internetChecksum(pseudo);
  const udpChecksum = internetChecksum(b, 20, U1_TOTAL_LENGTH, pseudoSum);
  b.writeUInt16BE(udpChecksum, 26);
  b.writeUInt16BE(internetChecksum(b, 0, 20), 10);
  // Each router decrements the TTL and patches the header checksum.
  for (let h = 1; h < hops; h++) {
    b[8] = b[8] - 1;
    b.writeUInt16BE(0, 10);
    b.writeUInt16BE(internetChecksum(b, 0, 20), 10);
  }
  return { bytes: b, udpChecksum, srcPort, dstPort };
}

/** The ICMP error's quoted bytes (everything after the 8-byte ICMP header), overrides applied. */
export function buildQuote(probe: UdpProbeAsReceived, r: UdpUnreachableReply): Buffer {
  const quoteLength = Math.max(0, r.totalLength - 20 - 8);
  const q = Buffer.alloc(quoteLength);
  probe.bytes.copy(q, 0, 0, Math.min(quoteLength, probe.bytes.length));
  if (r.quotedTotalLength >= 0 && q.length >= 4) q.writeUInt16BE(r.quotedTotalLength & 0xffff, 2);
  if (r.quotedIpId >= 0 && q.length >= 6) q.writeUInt16BE(r.quotedIpId & 0xffff, 4);
  if (r.quotedTtlDecrement > 0 && q.length >= 9) q[8] = Math.max(0, (q[8] as number) - r.quotedTtlDecrement);
  if (r.quotedUdpChecksum >= 0 && q.length >= 28) q.writeUInt16BE(r.quotedUdpChecksum & 0xffff, 26);
  if (r.corruptQuotedPayload && q.length > 28) q[28] ^= 0xff;
  if (q.length >= 20) {
    q.writeUInt16BE(0, 10);
    const good = internetChecksum(q, 0, 20);
    if (r.quotedIpChecksum === 'G') q.writeUInt16BE(good, 10);
    else if (r.quotedIpChecksum === 'I') q.writeUInt16BE((good ^ 0x5555) || 1, 10);
  }
  return q;
}

/**
 * The U1 attributes Nmap derives (T holds the raw received TTL in decimal, as in Nmap before
 * makeFP), plus the quoted TTL for the hop count; null when Nmap would not accept the reply.
 */
export function readU1(probe: UdpProbeAsReceived, r: UdpUnreachableReply, receivedTtl: number): { attrs: Map<string, string>; quotedTtl: number } | null {
  const quote = buildQuote(probe, r);
  // processResp: ≥ 8 ICMP + 28 quoted bytes, and 8 bytes after the quoted IP header.
  if (r.totalLength - 20 < 8 + 28 || quote.length < 28) return null;
  const ihl = (quote[0] & 0x0f) * 4;
  if (quote.length - ihl < 8) return null;
  if (quote.readUInt16BE(ihl) !== probe.srcPort || quote.readUInt16BE(ihl + 2) !== probe.dstPort) return null;
  const hx = (n: number): string => n.toString(16).toUpperCase();
  const a = new Map<string, string>();
  a.set('R', 'Y');
  a.set('DF', r.df ? 'Y' : 'N');
  a.set('T', String(receivedTtl));
  a.set('IPL', hx(r.totalLength & 0xffff));
  // 7.93 prints the 32-bit unused field through %hX: its low 16 bits.
  a.set('UN', hx((r.unused >>> 0) & 0xffff));
  const ripl = quote.readUInt16BE(2);
  a.set('RIPL', ripl === U1_TOTAL_LENGTH ? 'G' : hx(ripl));
  const rid = quote.readUInt16BE(4);
  a.set('RID', rid === U1_IP_ID ? 'G' : hx(rid));
  const ck = quote.readUInt16BE(10);
  if (ck === 0) a.set('RIPCK', 'Z');
  else {
    const copy = Buffer.from(quote.subarray(0, 20));
    copy.writeUInt16BE(0, 10);
    a.set('RIPCK', internetChecksum(copy) === ck ? 'G' : 'I');
  }
  const uck = quote.readUInt16BE(ihl + 6);
  a.set('RUCK', uck === probe.udpChecksum ? 'G' : hx(uck));
  let rud = 'G';
  for (let i = ihl + 8; i < quote.length; i++) {
    if (quote[i] !== U1_PAYLOAD_BYTE) {
      rud = 'I';
      break;
    }
  }
  a.set('RUD', rud);
  return { attrs: a, quotedTtl: quote[8] };
}
