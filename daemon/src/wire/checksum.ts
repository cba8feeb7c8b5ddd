/** RFC 1071 Internet checksum over buffer ranges, without copying. */

/** Add bytes [start, end) to a running 32-bit ones-complement sum (big-endian 16-bit words). */
export function sumBytes(buf: Buffer, start: number, end: number, sum: number): number {
  let i = start;
  const evenEnd = end - ((end - start) & 1);
  for (; i < evenEnd; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (i < end) sum += buf[i] << 8;
  // No folding here: even a 64 KiB datagram sums to under 2^32, far inside a double's exact range.
  return sum;
}

/** Fold a running sum to 16 bits and complement it. */
export function finishChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

export function internetChecksum(buf: Buffer, start: number, end: number): number {
  return finishChecksum(sumBytes(buf, start, end, 0));
}

/** The IPv4 pseudo-header sum for TCP/UDP checksums. */
export function pseudoHeaderSum(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}
