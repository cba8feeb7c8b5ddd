import { internetChecksum } from './checksum';
import { Malformed } from './malformed';

/** ICMPv4 (RFC 792). */
export const ICMP_HEADER_LEN = 8;
export const IcmpType = {
  ECHO_REPLY: 0, DEST_UNREACHABLE: 3, ECHO_REQUEST: 8, TIME_EXCEEDED: 11,
  TIMESTAMP: 13, TIMESTAMP_REPLY: 14, ADDRESS_MASK: 17, ADDRESS_MASK_REPLY: 18,
} as const;
export const UnreachableCode = { NET: 0, HOST: 1, PROTOCOL: 2, PORT: 3 } as const;

export class IcmpView {
  buf: Buffer = Buffer.alloc(0);
  off = 0;
  length = 0;

  wrap(buf: Buffer, off: number, ipPayloadLength: number): number {
    this.buf = buf;
    this.off = off;
    this.length = ipPayloadLength;
    if (ipPayloadLength < ICMP_HEADER_LEN) return Malformed.TRUNCATED;
    if (internetChecksum(buf, off, off + ipPayloadLength) !== 0) return Malformed.BAD_CHECKSUM;
    return Malformed.OK;
  }

  get type(): number { return this.buf[this.off]; }
  get code(): number { return this.buf[this.off + 1]; }
  get identifier(): number { return this.buf.readUInt16BE(this.off + 4); }
  get sequence(): number { return this.buf.readUInt16BE(this.off + 6); }
  get dataOffset(): number { return this.off + ICMP_HEADER_LEN; }
  get dataLength(): number { return this.length - ICMP_HEADER_LEN; }
}

/** Fill in the ICMP checksum of a message at [off, off+length) whose bytes are in place. */
export function finishIcmp(buf: Buffer, off: number, length: number): void {
  buf[off + 2] = 0;
  buf[off + 3] = 0;
  buf.writeUInt16BE(internetChecksum(buf, off, off + length), off + 2);
}
