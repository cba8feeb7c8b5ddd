import { finishChecksum, pseudoHeaderSum, sumBytes } from './checksum';
import { Malformed } from './malformed';

/** TCP (RFC 9293): a lossless view (all 9 flag bits, reserved bits, raw options) and a writer. */
export const TCP_MIN_HEADER = 20;
export const TcpOpt = { EOL: 0, NOP: 1, MSS: 2, WSCALE: 3, SACK_PERMITTED: 4, SACK: 5, TIMESTAMP: 8 } as const;

/** Options as offered by the peer; filled by `readTcpOptions` into a reused object. */
export interface TcpOptionSummary {
  /** -1 when absent. */
  mss: number;
  wscale: number;
  sackPermitted: boolean;
  hasTimestamp: boolean;
  tsVal: number;
  tsEcr: number;
  /** False when an option's length field runs past the header or is < 2. */
  wellFormed: boolean;
}

export function emptyOptionSummary(): TcpOptionSummary {
  return { mss: -1, wscale: -1, sackPermitted: false, hasTimestamp: false, tsVal: 0, tsEcr: 0, wellFormed: true };
}

export class TcpView {
  buf: Buffer = Buffer.alloc(0);
  off = 0;
  /** Segment length (header + payload) as given by the IP layer. */
  segmentLength = 0;

  wrap(buf: Buffer, off: number, segmentLength: number): number {
    this.buf = buf;
    this.off = off;
    this.segmentLength = segmentLength;
    if (segmentLength < TCP_MIN_HEADER) return Malformed.TRUNCATED;
    const hl = this.headerLength;
    if (hl < TCP_MIN_HEADER || hl > segmentLength) return Malformed.BAD_DATA_OFFSET;
    return Malformed.OK;
  }

  get srcPort(): number { return this.buf.readUInt16BE(this.off); }
  get dstPort(): number { return this.buf.readUInt16BE(this.off + 2); }
  get seq(): number { return this.buf.readUInt32BE(this.off + 4); }
  get ack(): number { return this.buf.readUInt32BE(this.off + 8); }
  get headerLength(): number { return (this.buf[this.off + 12] >>> 4) * 4; }
  /** The three reserved bits (between data offset and NS). */
  get reserved(): number { return (this.buf[this.off + 12] >>> 1) & 0x07; }
  /** 9 flag bits: NS(0x100) CWR ECE URG ACK PSH RST SYN FIN. */
  get flags(): number { return ((this.buf[this.off + 12] & 1) << 8) | this.buf[this.off + 13]; }
  get window(): number { return this.buf.readUInt16BE(this.off + 14); }
  get checksum(): number { return this.buf.readUInt16BE(this.off + 16); }
  get urgentPointer(): number { return this.buf.readUInt16BE(this.off + 18); }
  get optionsOffset(): number { return this.off + TCP_MIN_HEADER; }
  get optionsLength(): number { return this.headerLength - TCP_MIN_HEADER; }
  get payloadOffset(): number { return this.off + this.headerLength; }
  get payloadLength(): number { return this.segmentLength - this.headerLength; }

  /** Verify the checksum against the IPv4 pseudo-header. */
  checksumValid(src: number, dst: number): boolean {
    const sum = sumBytes(this.buf, this.off, this.off + this.segmentLength, pseudoHeaderSum(src, dst, 6, this.segmentLength));
    return finishChecksum(sum) === 0;
  }
}

/** Walk the raw options and summarise what was offered. Unknown kinds are skipped by length, never thrown on. */
export function readTcpOptions(view: TcpView, out: TcpOptionSummary): void {
  summariseTcpOptions(view.buf, view.optionsOffset, view.off + view.headerLength, out);
}

/** The same walk over raw option bytes [start, end). */
export function summariseTcpOptions(buf: Buffer, start: number, end: number, out: TcpOptionSummary): void {
  out.mss = -1;
  out.wscale = -1;
  out.sackPermitted = false;
  out.hasTimestamp = false;
  out.tsVal = 0;
  out.tsEcr = 0;
  out.wellFormed = true;
  let i = start;
  while (i < end) {
    const kind = buf[i];
    if (kind === TcpOpt.EOL) break;
    if (kind === TcpOpt.NOP) { i++; continue; }
    if (i + 1 >= end) { out.wellFormed = false; break; }
    const len = buf[i + 1];
    if (len < 2 || i + len > end) { out.wellFormed = false; break; }
    switch (kind) {
      case TcpOpt.MSS: if (len === 4) out.mss = buf.readUInt16BE(i + 2); break;
      case TcpOpt.WSCALE: if (len === 3) out.wscale = buf[i + 2]; break;
      case TcpOpt.SACK_PERMITTED: if (len === 2) out.sackPermitted = true; break;
      case TcpOpt.TIMESTAMP:
        if (len === 10) { out.hasTimestamp = true; out.tsVal = buf.readUInt32BE(i + 2); out.tsEcr = buf.readUInt32BE(i + 6); }
        break;
      default: break;
    }
    i += len;
  }
}

export interface TcpHeaderFields {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** 9-bit flags. */
  flags: number;
  reserved: number;
  window: number;
  urgentPointer: number;
}

/** Bytes an option list of `optionsLength` takes in the header: padded to a 32-bit boundary. */
export function tcpOptionSpace(optionsLength: number): number {
  return (optionsLength + 3) & ~3;
}

/**
 * Write a TCP header with `optionsLength` bytes of options taken from `options`, zero-padded (EOL)
 * to a multiple of 4 (a personality may hand over an unaligned layout), followed by `payloadLength` bytes
 * already placed after the padded options, and compute the checksum. Returns the segment length.
 */
export function writeTcp(
  buf: Buffer, off: number, f: TcpHeaderFields,
  options: Buffer | null, optionsLength: number,
  payloadLength: number, src: number, dst: number,
): number {
  const space = tcpOptionSpace(optionsLength);
  const hl = TCP_MIN_HEADER + space;
  buf.writeUInt16BE(f.srcPort, off);
  buf.writeUInt16BE(f.dstPort, off + 2);
  buf.writeUInt32BE(f.seq >>> 0, off + 4);
  buf.writeUInt32BE(f.ack >>> 0, off + 8);
  buf[off + 12] = ((hl / 4) << 4) | ((f.reserved & 7) << 1) | ((f.flags >>> 8) & 1);
  buf[off + 13] = f.flags & 0xff;
  buf.writeUInt16BE(f.window & 0xffff, off + 14);
  buf[off + 16] = 0;
  buf[off + 17] = 0;
  buf.writeUInt16BE(f.urgentPointer & 0xffff, off + 18);
  if (options !== null && optionsLength > 0) options.copy(buf, off + TCP_MIN_HEADER, 0, optionsLength);
  buf.fill(0, off + TCP_MIN_HEADER + (options !== null ? optionsLength : 0), off + hl);
  const segLen = hl + payloadLength;
  const sum = sumBytes(buf, off, off + segLen, pseudoHeaderSum(src, dst, 6, segLen));
  buf.writeUInt16BE(finishChecksum(sum), off + 16);
  return segLen;
}

const FLAG_LETTERS: Array<[number, string]> = [
  [0x02, 'S'], [0x01, 'F'], [0x04, 'R'], [0x08, 'P'], [0x10, 'A'], [0x20, 'U'], [0x40, 'E'], [0x80, 'W'], [0x100, 'N'],
];

/** tcpdump-like flag letters (`S`, `SA`, `FPU`, `.` for none); used in logs only. */
export function tcpFlagsToString(flags: number): string {
  let s = '';
  for (const [bit, letter] of FLAG_LETTERS) if (flags & bit) s += letter;
  return s === '' ? '.' : s;
}
