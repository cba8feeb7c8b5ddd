import { emptyOptionSummary, summariseTcpOptions, type TcpOptionSummary } from '../../wire/tcp';
/** Reading TCP options the way Nmap 7.93 does (osscan2.cc get_tcpopt_string, tcpip.cc gettcpopt_ts). */

/**
 * Nmap's option string (e.g. `M5B4ST11NW7`) for the option area `opts` (length = data offset × 4 − 20,
 * padding included). `after` are the bytes that follow the options in the segment (the payload):
 * 7.93 does not skip an unknown option's length, so it may read on into them. Returns '' where
 * Nmap's parse fails (truncated option, runaway string, or reading past the segment).
 */
export function nmapOptionString(opts: Buffer, after: Buffer | null = null): string {
  const byteAt = (i: number): number => {
    if (i < opts.length) return opts[i];
    const j = i - opts.length;
    return after !== null && j < after.length ? after[j] : -1;
  };
  let out = '';
  let length = opts.length;
  let q = 0;
  // Nmap stops when the string would overflow its 256-byte buffer (max step 5 characters).
  while (length > 0 && out.length < 256 - 5) {
    const raw = byteAt(q++);
    if (raw < 0) return '';
    // `opcode = *q++` reads a signed char: bytes ≥ 0x80 are unknown kinds.
    const opcode = raw;
    if (opcode === 0) {
      out += 'L';
      length--;
    } else if (opcode === 1) {
      out += 'N';
      length--;
    } else if (opcode === 2) {
      if (length < 4) break;
      const hi = byteAt(q + 1);
      const lo = byteAt(q + 2);
      if (hi < 0 || lo < 0) return '';
      out += `M${((hi << 8) | lo).toString(16).toUpperCase()}`;
      q += 3;
      length -= 4;
    } else if (opcode === 3) {
      if (length < 3) break;
      const shift = byteAt(q + 1);
      if (shift < 0) return '';
      out += `W${shift.toString(16).toUpperCase()}`;
      q += 2;
      length -= 3;
    } else if (opcode === 4) {
      if (length < 2) break;
      out += 'S';
      q += 1;
      length -= 2;
    } else if (opcode === 8) {
      if (length < 10) break;
      let tsval = 0;
      let tsecr = 0;
      for (let k = 0; k < 4; k++) {
        const a = byteAt(q + 1 + k);
        const b = byteAt(q + 5 + k);
        if (a < 0 || b < 0) return '';
        tsval |= a;
        tsecr |= b;
      }
      out += `T${tsval !== 0 ? 1 : 0}${tsecr !== 0 ? 1 : 0}`;
      q += 9;
      length -= 10;
    }
    // Any other kind: 7.93 has consumed the kind byte only and goes on with the next byte.
  }
  return length > 0 ? '' : out;
}

/** Nmap's gettcpopt_ts: the TSval of a well-formed timestamp option, or null if none is found. */
export function nmapTimestamp(opts: Buffer): number | null {
  let p = 0;
  let len = opts.length;
  while (len > 0 && p < opts.length && opts[p] !== 0) {
    const op = opts[p++];
    if (op === 1) {
      len--;
      continue;
    }
    if (p >= opts.length) break;
    const oplen = opts[p++];
    if (oplen < 2 || oplen > len) break;
    if (op === 8 && oplen === 10) {
      if (p + 4 > opts.length) break;
      return opts.readUInt32BE(p);
    }
    len -= oplen;
    p += oplen - 2;
  }
  return null;
}

/** What a probe offers, for filling TcpSegmentIn: the stack's own option walk over the probe's bytes. */
export function offeredOptions(opts: Buffer): TcpOptionSummary {
  const r = emptyOptionSummary();
  summariseTcpOptions(opts, 0, opts.length, r);
  return r;
}
