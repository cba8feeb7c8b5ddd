/**
 * Optional packet capture into rotating pcap files (classic libpcap format, readable by tcpdump
 * and Wireshark) of every frame decoyd receives and sends. The frame path only copies the frame
 * into a preallocated chunk; full chunks (and, once a second, the partly filled one) are written
 * by asynchronous file I/O off the frame path. When every chunk is waiting for the disk, frames
 * are dropped and counted. Files rotate by size; the oldest beyond `maxFiles` is deleted.
 */
import { closeSync, openSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

export interface CaptureOptions {
  dir: string;
  /** A file is closed and a new one started before it would exceed this size. */
  maxFileBytes: number;
  /** Files kept; the oldest is deleted when a new one starts. */
  maxFiles: number;
  /** Bytes of frames buffered towards the disk at most (split in chunks of 1 MiB). */
  bufferBytes: number;
  flushIntervalMs?: number;
}

export const DEFAULT_CAPTURE: Omit<CaptureOptions, 'dir'> = { maxFileBytes: 64 << 20, maxFiles: 8, bufferBytes: 16 << 20 };

const GLOBAL_HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;
const SNAPLEN = 65535;
const FILE_PATTERN = /^decoyd-(\d{6})\.pcap$/;

export function pcapGlobalHeader(): Buffer {
  const h = Buffer.alloc(GLOBAL_HEADER_LEN);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(SNAPLEN, 16);
  h.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  return h;
}

interface Chunk { buf: Buffer; used: number }

export class PcapRecorder {
  private readonly free: Chunk[] = [];
  private current: Chunk | null;
  private readonly queue: Chunk[] = [];
  private writing = false;
  private file: FileHandle | null = null;
  private fileIndex: number;
  private fileBytes = 0;
  private readonly timer: NodeJS.Timeout;
  private idle: (() => void)[] = [];
  /** 1 MiB, or less so that at least two chunks fit in one file. */
  private readonly chunkBytes: number;
  /** Frames written into chunks, and frames dropped because every chunk was waiting for the disk. */
  frames = 0;
  dropped = 0;
  private reportedDrops = 0;

  constructor(private readonly opts: CaptureOptions, private readonly report: (message: string) => void) {
    this.chunkBytes = Math.max(RECORD_HEADER_LEN + SNAPLEN, Math.min(1 << 20, Math.floor((opts.maxFileBytes - GLOBAL_HEADER_LEN) / 2)));
    const chunks = Math.max(2, Math.floor(opts.bufferBytes / this.chunkBytes));
    for (let k = 0; k < chunks; k++) this.free.push({ buf: Buffer.allocUnsafe(this.chunkBytes), used: 0 });
    this.current = this.free.pop() ?? null;
    this.fileIndex = Math.max(0, ...this.files().map((f) => Number(FILE_PATTERN.exec(f)?.[1] ?? 0)));
    let ticks = 0;
    this.timer = setInterval(() => {
      this.flush();
      // Drops are reported at most every 10 flushes (10 s by default), as counts.
      if (++ticks % 10 === 0 && this.dropped !== this.reportedDrops) {
        this.report(`capture: ${this.dropped - this.reportedDrops} frames dropped (disk behind, ${opts.bufferBytes} bytes buffered; ${this.dropped} since start)`);
        this.reportedDrops = this.dropped;
      }
    }, opts.flushIntervalMs ?? 1000);
    this.timer.unref();
  }

  /** Existing capture files, oldest first. */
  files(): string[] {
    try {
      return readdirSync(this.opts.dir).filter((f) => FILE_PATTERN.test(f)).sort();
    } catch {
      return [];
    }
  }

  /** Frame path: copies the frame into the current chunk. No allocation, no I/O. */
  record(frame: Buffer, length: number, timeMs: number): void {
    const need = RECORD_HEADER_LEN + length;
    let c = this.current;
    if (c !== null && c.used + need > this.chunkBytes) {
      this.queue.push(c);
      c = this.current = this.free.pop() ?? null;
      this.pump();
    }
    if (c === null) {
      c = this.current = this.free.pop() ?? null;
      if (c === null) {
        this.dropped++;
        return;
      }
    }
    const b = c.buf;
    let o = c.used;
    b.writeUInt32LE(Math.floor(timeMs / 1000), o);
    b.writeUInt32LE((timeMs % 1000) * 1000, o + 4);
    b.writeUInt32LE(length, o + 8);
    b.writeUInt32LE(length, o + 12);
    o += RECORD_HEADER_LEN;
    frame.copy(b, o, 0, length);
    c.used = o + length;
    this.frames++;
  }

  /** Hands the partly filled chunk to the writer (timer, extraction, shutdown). */
  flush(): void {
    const c = this.current;
    if (c === null || c.used === 0) return;
    this.queue.push(c);
    this.current = this.free.pop() ?? null;
    this.pump();
  }

  /** Resolves when everything recorded so far is in the files. */
  settled(): Promise<void> {
    this.flush();
    if (!this.writing && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private pump(): void {
    if (this.writing) return;
    const c = this.queue.shift();
    if (c === undefined) {
      for (const resolve of this.idle.splice(0)) resolve();
      return;
    }
    this.writing = true;
    void this.writeChunk(c).catch((err: unknown) => this.report(`capture: ${err instanceof Error ? err.message : String(err)}`)).finally(() => {
      c.used = 0;
      if (this.current === null) this.current = c;
      else this.free.push(c);
      this.writing = false;
      this.pump();
    });
  }

  private async writeChunk(c: Chunk): Promise<void> {
    if (this.file === null || this.fileBytes + c.used > this.opts.maxFileBytes) await this.rotate();
    const file = this.file as FileHandle;
    await file.write(c.buf, 0, c.used);
    this.fileBytes += c.used;
  }

  private async rotate(): Promise<void> {
    if (this.file !== null) await this.file.close();
    this.fileIndex++;
    const name = join(this.opts.dir, `decoyd-${String(this.fileIndex).padStart(6, '0')}.pcap`);
    this.file = await open(name, 'w');
    await this.file.write(pcapGlobalHeader());
    this.fileBytes = GLOBAL_HEADER_LEN;
    const all = this.files();
    for (const old of all.slice(0, Math.max(0, all.length - this.opts.maxFiles))) {
      try {
        unlinkSync(join(this.opts.dir, old));
      } catch {
        // already gone
      }
    }
  }

  /**
   * A pcap file of the records from or to `src` (IPv4 source/destination, or ARP sender/target)
   * in the files, oldest first, up to `maxBytes`. Files are parsed one at a time, yielding
   * between slices so the frame path keeps running.
   */
  async extract(src: string, maxBytes = 64 << 20): Promise<Buffer> {
    await this.settled();
    const want = ipBytes(src);
    const parts: Buffer[] = [pcapGlobalHeader()];
    let total = GLOBAL_HEADER_LEN;
    for (const name of this.files()) {
      let data: Buffer;
      try {
        data = await readFile(join(this.opts.dir, name));
      } catch {
        continue; // rotated away meanwhile
      }
      let o = GLOBAL_HEADER_LEN;
      let sliceEnd = o + (4 << 20);
      while (o + RECORD_HEADER_LEN <= data.length) {
        const incl = data.readUInt32LE(o + 8);
        const end = o + RECORD_HEADER_LEN + incl;
        if (end > data.length) break; // a record still being written
        if (matches(data, o + RECORD_HEADER_LEN, incl, want)) {
          if (total + end - o > maxBytes) return Buffer.concat(parts);
          parts.push(data.subarray(o, end));
          total += end - o;
        }
        o = end;
        if (o > sliceEnd) {
          sliceEnd = o + (4 << 20);
          await new Promise((r) => setImmediate(r));
        }
      }
    }
    return Buffer.concat(parts);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.settled();
    await this.file?.close();
    this.file = null;
  }
}

function ipBytes(ip: string): number {
  const p = ip.split('.').map(Number);
  return (((p[0] ?? 0) << 24) | ((p[1] ?? 0) << 16) | ((p[2] ?? 0) << 8) | (p[3] ?? 0)) >>> 0;
}

function matches(b: Buffer, o: number, len: number, ip: number): boolean {
  if (len < 14) return false;
  const type = b.readUInt16BE(o + 12);
  if (type === 0x0800 && len >= 34) return b.readUInt32BE(o + 26) === ip || b.readUInt32BE(o + 30) === ip;
  if (type === 0x0806 && len >= 42) return b.readUInt32BE(o + 28) === ip || b.readUInt32BE(o + 38) === ip;
  return false;
}

/** For tests and tools: makes sure the directory can hold capture files. */
export function checkCaptureDir(dir: string): void {
  const probe = join(dir, '.decoyd-write-test');
  const fd = openSync(probe, 'w');
  writeSync(fd, 'x');
  closeSync(fd);
  unlinkSync(probe);
}
