/**
 * Classic libpcap file format (not pcapng): a 24-byte global header, then records of a 16-byte
 * header plus the captured bytes. Reads both byte orders and both timestamp resolutions
 * (microsecond magic a1b2c3d4, nanosecond magic a1b23c4d); writes little-endian.
 * parsePcap/serializePcap are pure; readPcapFile/writePcapFile only add the file I/O.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export const LINKTYPE_ETHERNET = 1;
export const PCAP_GLOBAL_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;

const MAGIC_MICRO = 0xa1b2c3d4;
const MAGIC_NANO = 0xa1b23c4d;
/** Largest record we accept; libpcap itself caps snaplen at 262144. */
const MAX_RECORD_LEN = 262144;

export interface PcapRecord {
  /** Seconds since the epoch. */
  tsSec: number;
  /** Fraction of the second, in microseconds or nanoseconds depending on the file. */
  tsFrac: number;
  /** Length of the packet on the wire (may exceed data.length when the capture was cut short). */
  origLen: number;
  /** The captured bytes (a copy, safe to keep). */
  data: Buffer;
}

export interface PcapFile {
  linkType: number;
  snapLen: number;
  /** True when tsFrac is in nanoseconds. */
  nanosecond: boolean;
  records: PcapRecord[];
}

export class PcapFormatError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at byte ${offset})`);
    this.name = 'PcapFormatError';
  }
}

/** Parses a whole classic pcap file; throws PcapFormatError on anything malformed or truncated. */
export function parsePcap(buf: Buffer): PcapFile {
  if (buf.length < PCAP_GLOBAL_HEADER_LEN) throw new PcapFormatError('shorter than the pcap global header', 0);
  const magicLE = buf.readUInt32LE(0);
  const magicBE = buf.readUInt32BE(0);
  let littleEndian: boolean;
  let nanosecond: boolean;
  if (magicLE === MAGIC_MICRO || magicLE === MAGIC_NANO) {
    littleEndian = true;
    nanosecond = magicLE === MAGIC_NANO;
  } else if (magicBE === MAGIC_MICRO || magicBE === MAGIC_NANO) {
    littleEndian = false;
    nanosecond = magicBE === MAGIC_NANO;
  } else {
    throw new PcapFormatError(`unknown magic 0x${magicBE.toString(16)} (pcapng is not supported)`, 0);
  }
  const u16 = (off: number): number => (littleEndian ? buf.readUInt16LE(off) : buf.readUInt16BE(off));
  const u32 = (off: number): number => (littleEndian ? buf.readUInt32LE(off) : buf.readUInt32BE(off));
  const versionMajor = u16(4);
  if (versionMajor !== 2) throw new PcapFormatError(`unsupported version ${versionMajor}.${u16(6)}`, 4);
  const snapLen = u32(16);
  // The upper bits of the link-type field may carry FCS information; the type is the low 16 bits.
  const linkType = u32(20) & 0xffff;
  const fracLimit = nanosecond ? 1_000_000_000 : 1_000_000;

  const records: PcapRecord[] = [];
  let off = PCAP_GLOBAL_HEADER_LEN;
  while (off < buf.length) {
    if (buf.length - off < PCAP_RECORD_HEADER_LEN) throw new PcapFormatError('truncated record header', off);
    const tsSec = u32(off);
    const tsFrac = u32(off + 4);
    const inclLen = u32(off + 8);
    const origLen = u32(off + 12);
    if (tsFrac >= fracLimit) throw new PcapFormatError(`timestamp fraction ${tsFrac} out of range`, off + 4);
    if (inclLen > MAX_RECORD_LEN) throw new PcapFormatError(`record length ${inclLen} is implausible`, off + 8);
    if (inclLen > origLen) throw new PcapFormatError(`captured length ${inclLen} exceeds original length ${origLen}`, off + 8);
    const start = off + PCAP_RECORD_HEADER_LEN;
    if (buf.length - start < inclLen) throw new PcapFormatError(`truncated record data (${inclLen} bytes announced)`, start);
    records.push({ tsSec, tsFrac, origLen, data: Buffer.from(buf.subarray(start, start + inclLen)) });
    off = start + inclLen;
  }
  return { linkType, snapLen, nanosecond, records };
}

export interface PcapRecordInput {
  tsSec?: number;
  tsFrac?: number;
  origLen?: number;
  data: Buffer;
}

export interface PcapFileInput {
  linkType?: number;
  snapLen?: number;
  nanosecond?: boolean;
  records: readonly PcapRecordInput[];
}

/** Serialises records as a little-endian classic pcap file (Ethernet unless told otherwise). */
export function serializePcap(file: PcapFileInput): Buffer {
  const total = file.records.reduce((sum, r) => sum + PCAP_RECORD_HEADER_LEN + r.data.length, PCAP_GLOBAL_HEADER_LEN);
  const out = Buffer.alloc(total);
  out.writeUInt32LE(file.nanosecond === true ? MAGIC_NANO : MAGIC_MICRO, 0);
  out.writeUInt16LE(2, 4);
  out.writeUInt16LE(4, 6);
  out.writeInt32LE(0, 8); // thiszone: timestamps are UTC
  out.writeUInt32LE(0, 12); // sigfigs
  out.writeUInt32LE(file.snapLen ?? MAX_RECORD_LEN, 16);
  out.writeUInt32LE(file.linkType ?? LINKTYPE_ETHERNET, 20);
  let off = PCAP_GLOBAL_HEADER_LEN;
  for (const record of file.records) {
    const origLen = record.origLen ?? record.data.length;
    if (origLen < record.data.length) throw new RangeError(`origLen ${origLen} is below the captured length ${record.data.length}`);
    out.writeUInt32LE(record.tsSec ?? 0, off);
    out.writeUInt32LE(record.tsFrac ?? 0, off + 4);
    out.writeUInt32LE(record.data.length, off + 8);
    out.writeUInt32LE(origLen, off + 12);
    record.data.copy(out, off + PCAP_RECORD_HEADER_LEN);
    off += PCAP_RECORD_HEADER_LEN + record.data.length;
  }
  return out;
}

export function readPcapFile(path: string): PcapFile {
  return parsePcap(readFileSync(path));
}

export function writePcapFile(path: string, file: PcapFileInput): void {
  writeFileSync(path, serializePcap(file));
}

/** Record time in milliseconds since the epoch (fractional). */
export function recordTimeMs(file: Pick<PcapFile, 'nanosecond'>, record: PcapRecord): number {
  return record.tsSec * 1000 + record.tsFrac / (file.nanosecond ? 1_000_000 : 1_000);
}
