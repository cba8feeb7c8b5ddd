/**
 * The IP options of an echo reply (RFC 791 record route and timestamp, as RFC 1122 3.2.2.6 asks
 * them reflected). A pure function over Buffers: the request's option bytes in, the reply's out.
 */

const OPT_EOL = 0;
const OPT_NOP = 1;
const OPT_RR = 7;
const OPT_TS = 68;
/** Most option bytes an IPv4 header holds. */
export const MAX_IP_OPTIONS = 40;

/**
 * How many times the host stamps an option it reflects: 2 for Linux (once when the request is
 * received, ip_options_compile, and once when the reply leaves, ip_options_build), 1 for BSD
 * (ip_dooptions on input, icmp_reflect copies).
 */
export type OptionStamps = 1 | 2;

/** Milliseconds since midnight UT, the RFC 791/792 timestamp format. */
export function msSinceMidnightUtc(timeMs: number): number {
  return Math.floor(timeMs) % 86_400_000;
}

/**
 * Write the reply's options into `out` (at least MAX_IP_OPTIONS bytes) from the request's options
 * at `req[off, off+len)`: record route and timestamp are copied and stamped `stamps` times with
 * `ownIp` and `nowMs`; every other option is dropped; the result is padded with EOL to a multiple
 * of 4. Returns the reply's option length (0: nothing to reflect, or malformed options).
 */
export function reflectEchoOptions(req: Buffer, off: number, len: number, ownIp: number, nowMs: number, stamps: OptionStamps, out: Buffer): number {
  let n = 0;
  let i = 0;
  const ts = msSinceMidnightUtc(nowMs);
  while (i < len) {
    const type = req[off + i] as number;
    if (type === OPT_EOL) break;
    if (type === OPT_NOP) { i++; continue; }
    if (i + 1 >= len) return 0;
    const optLen = req[off + i + 1] as number;
    if (optLen < 2 || i + optLen > len) return 0;
    if ((type === OPT_RR && optLen >= 3) || (type === OPT_TS && optLen >= 4)) {
      if (n + optLen > MAX_IP_OPTIONS) return 0;
      req.copy(out, n, off + i, off + i + optLen);
      for (let s = 0; s < stamps; s++) {
        if (type === OPT_RR) stampRecordRoute(out, n, optLen, ownIp);
        else stampTimestamp(out, n, optLen, ownIp, ts);
      }
      n += optLen;
    }
    i += optLen;
  }
  while (n % 4 !== 0) out[n++] = OPT_EOL;
  return n;
}

/** Record route: our address at the pointer, if a whole slot is left. */
function stampRecordRoute(o: Buffer, at: number, optLen: number, ip: number): void {
  const ptr = o[at + 2] as number;
  if (ptr < 4 || ptr + 3 > optLen) return;
  o.writeUInt32BE(ip >>> 0, at + ptr - 1);
  o[at + 2] = ptr + 4;
}

/** Timestamp: flag 0 time only, 1 address and time, 3 time where our address is prespecified; else count an overflow. */
function stampTimestamp(o: Buffer, at: number, optLen: number, ip: number, ts: number): void {
  const ptr = o[at + 2] as number;
  const flag = (o[at + 3] as number) & 0x0f;
  const slot = flag === 0 ? 4 : 8;
  if (ptr < 5 || ptr + slot - 1 > optLen) {
    const overflow = (o[at + 3] as number) >> 4;
    if (overflow < 15) o[at + 3] = ((overflow + 1) << 4) | flag;
    return;
  }
  if (flag === 0) {
    o.writeUInt32BE(ts, at + ptr - 1);
  } else if (flag === 1) {
    o.writeUInt32BE(ip >>> 0, at + ptr - 1);
    o.writeUInt32BE(ts, at + ptr + 3);
  } else if (flag === 3) {
    if (o.readUInt32BE(at + ptr - 1) !== ip >>> 0) return;
    o.writeUInt32BE(ts, at + ptr + 3);
  } else {
    return;
  }
  o[at + 2] = ptr + slot;
}
