import { internetChecksum } from './checksum';
import { Malformed } from './malformed';

/** IPv4 (RFC 791): a reusable view over a received packet and a header writer. */
export const IPV4_MIN_HEADER = 20;
export const IpProto = { ICMP: 1, TCP: 6, UDP: 17 } as const;

export class Ipv4View {
  buf: Buffer = Buffer.alloc(0);
  off = 0;

  /**
   * Validate the header of a packet at `off` with `available` bytes of frame behind it.
   * Ethernet padding beyond the total length is allowed; a total length beyond the frame is not.
   */
  wrap(buf: Buffer, off: number, available: number): number {
    this.buf = buf;
    this.off = off;
    if (available < IPV4_MIN_HEADER) return Malformed.TRUNCATED;
    if (buf[off] >>> 4 !== 4) return Malformed.BAD_VERSION;
    const hl = this.headerLength;
    if (hl < IPV4_MIN_HEADER || hl > available) return Malformed.BAD_HEADER_LENGTH;
    const total = this.totalLength;
    if (total < hl || total > available) return Malformed.BAD_TOTAL_LENGTH;
    if (internetChecksum(buf, off, off + hl) !== 0) return Malformed.BAD_CHECKSUM;
    return Malformed.OK;
  }

  get headerLength(): number { return (this.buf[this.off] & 0x0f) * 4; }
  get tos(): number { return this.buf[this.off + 1]; }
  get totalLength(): number { return this.buf.readUInt16BE(this.off + 2); }
  get id(): number { return this.buf.readUInt16BE(this.off + 4); }
  get df(): boolean { return (this.buf[this.off + 6] & 0x40) !== 0; }
  get mf(): boolean { return (this.buf[this.off + 6] & 0x20) !== 0; }
  /** The reserved ("evil") bit. */
  get reservedFlag(): boolean { return (this.buf[this.off + 6] & 0x80) !== 0; }
  /** Fragment offset in bytes. */
  get fragmentOffset(): number { return (this.buf.readUInt16BE(this.off + 6) & 0x1fff) * 8; }
  get isFragment(): boolean { return this.mf || this.fragmentOffset !== 0; }
  get ttl(): number { return this.buf[this.off + 8]; }
  get protocol(): number { return this.buf[this.off + 9]; }
  get src(): number { return this.buf.readUInt32BE(this.off + 12); }
  get dst(): number { return this.buf.readUInt32BE(this.off + 16); }
  get payloadOffset(): number { return this.off + this.headerLength; }
  get payloadLength(): number { return this.totalLength - this.headerLength; }
}

export interface Ipv4HeaderFields {
  tos: number;
  totalLength: number;
  id: number;
  df: boolean;
  ttl: number;
  protocol: number;
  src: number;
  dst: number;
}

/** Write a 20-byte IPv4 header (no options) at `off`, with its checksum. */
export function writeIpv4(buf: Buffer, off: number, f: Ipv4HeaderFields): void {
  buf[off] = 0x45;
  buf[off + 1] = f.tos;
  buf.writeUInt16BE(f.totalLength, off + 2);
  buf.writeUInt16BE(f.id & 0xffff, off + 4);
  buf[off + 6] = f.df ? 0x40 : 0;
  buf[off + 7] = 0;
  buf[off + 8] = f.ttl;
  buf[off + 9] = f.protocol;
  buf[off + 10] = 0;
  buf[off + 11] = 0;
  buf.writeUInt32BE(f.src >>> 0, off + 12);
  buf.writeUInt32BE(f.dst >>> 0, off + 16);
  buf.writeUInt16BE(internetChecksum(buf, off, off + 20), off + 10);
}
