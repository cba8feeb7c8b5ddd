import { finishChecksum, pseudoHeaderSum, sumBytes } from './checksum';
import { Malformed } from './malformed';

/** UDP (RFC 768). */
export const UDP_HEADER_LEN = 8;

export class UdpView {
  buf: Buffer = Buffer.alloc(0);
  off = 0;

  wrap(buf: Buffer, off: number, ipPayloadLength: number): number {
    this.buf = buf;
    this.off = off;
    if (ipPayloadLength < UDP_HEADER_LEN) return Malformed.TRUNCATED;
    const len = this.length;
    if (len < UDP_HEADER_LEN || len > ipPayloadLength) return Malformed.BAD_TOTAL_LENGTH;
    return Malformed.OK;
  }

  get srcPort(): number { return this.buf.readUInt16BE(this.off); }
  get dstPort(): number { return this.buf.readUInt16BE(this.off + 2); }
  get length(): number { return this.buf.readUInt16BE(this.off + 4); }
  get checksum(): number { return this.buf.readUInt16BE(this.off + 6); }
  get payloadOffset(): number { return this.off + UDP_HEADER_LEN; }
  get payloadLength(): number { return this.length - UDP_HEADER_LEN; }

  /** A zero checksum means "not computed" (RFC 768) and is valid. */
  checksumValid(src: number, dst: number): boolean {
    if (this.checksum === 0) return true;
    const len = this.length;
    return finishChecksum(sumBytes(this.buf, this.off, this.off + len, pseudoHeaderSum(src, dst, 17, len))) === 0;
  }
}

/** Write a UDP header for a payload already placed after it; computes the checksum. Returns the datagram length. */
export function writeUdp(buf: Buffer, off: number, srcPort: number, dstPort: number, payloadLength: number, src: number, dst: number): number {
  const len = UDP_HEADER_LEN + payloadLength;
  buf.writeUInt16BE(srcPort, off);
  buf.writeUInt16BE(dstPort, off + 2);
  buf.writeUInt16BE(len, off + 4);
  buf[off + 6] = 0;
  buf[off + 7] = 0;
  let sum = finishChecksum(sumBytes(buf, off, off + len, pseudoHeaderSum(src, dst, 17, len)));
  if (sum === 0) sum = 0xffff;
  buf.writeUInt16BE(sum, off + 6);
  return len;
}
