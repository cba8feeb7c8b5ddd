/**
 * Splits a client's bytes into command lines with a hard bound: a line is at most `maxBytes`
 * (without its CR LF); past that the rest of it is skipped and the line is reported as too long,
 * as line-oriented servers do. Pure: no timers, no I/O.
 */

export interface ReadLine {
  /** The line without CR LF (latin1, one char per byte); cut at the bound when `tooLong`. */
  text: string;
  /** The line was longer than the bound; `length` is how long it really was. */
  tooLong: boolean;
  length: number;
}

export class LineReader {
  private parts: Buffer[] = [];
  private held = 0;
  private skipped = 0;

  constructor(public maxBytes: number) {}

  /** Lines completed by `data`, in order. Bytes after the last LF wait (at most `maxBytes`). */
  push(data: Buffer): ReadLine[] {
    const out: ReadLine[] = [];
    let start = 0;
    for (;;) {
      const nl = data.indexOf(0x0a, start);
      const end = nl < 0 ? data.length : nl;
      const piece = data.subarray(start, end);
      if (this.skipped > 0) {
        this.skipped += piece.length;
      } else if (this.held + piece.length > this.maxBytes) {
        const room = this.maxBytes - this.held;
        if (room > 0) { this.parts.push(piece.subarray(0, room)); this.held += room; }
        this.skipped = piece.length - Math.max(0, room);
      } else if (piece.length > 0) {
        this.parts.push(piece);
        this.held += piece.length;
      }
      if (nl < 0) break;
      out.push(this.finish());
      start = nl + 1;
    }
    return out;
  }

  /** Bytes waiting for their LF. */
  get pending(): number {
    return this.held;
  }

  private finish(): ReadLine {
    let text = Buffer.concat(this.parts).toString('latin1');
    const length = this.held + this.skipped;
    const tooLong = this.skipped > 0;
    if (!tooLong && text.endsWith('\r')) text = text.slice(0, -1);
    this.parts = [];
    this.held = 0;
    this.skipped = 0;
    return { text, tooLong, length };
  }
}

/** The first word of a command line, upper-cased, and the rest after one space. */
export function splitCommand(line: string): { verb: string; arg: string } {
  const sp = line.indexOf(' ');
  if (sp < 0) return { verb: line.toUpperCase(), arg: '' };
  return { verb: line.slice(0, sp).toUpperCase(), arg: line.slice(sp + 1) };
}

/** SASL PLAIN's `authzid \0 authcid \0 password`, from base64; undefined when malformed. */
export function decodeSaslPlain(b64: string): { user: string; password: string } | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64.trim())) return undefined;
  const parts = Buffer.from(b64.trim(), 'base64').toString('latin1').split('\u0000');
  if (parts.length !== 3) return undefined;
  return { user: parts[1] as string, password: parts[2] as string };
}

/** One base64 line of AUTH LOGIN; undefined when not base64. */
export function decodeBase64Line(b64: string): string | undefined {
  const t = b64.trim();
  if (t === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(t)) return undefined;
  return Buffer.from(t, 'base64').toString('latin1');
}
