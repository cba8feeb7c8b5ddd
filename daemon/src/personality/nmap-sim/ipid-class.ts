/** Nmap 7.93's IP ID sequence classes (osscan2.cc get_diffs / identify_sequence, IPv4, not localhost). */

export type IpIdClass = 'constant' | 'incr-by-2' | 'incr' | 'broken-incr' | 'rpi' | 'rd' | 'zero' | 'unknown';

/** Classify 16-bit IP IDs in reply order (needs ≥ 2 samples; callers apply Nmap's minimums). */
export function classifyIpIds(ids: readonly number[]): IpIdClass {
  const n = ids.length;
  if (n < 2) return 'unknown';
  const diffs: number[] = [];
  let allZero = true;
  for (let i = 1; i < n; i++) {
    if (ids[i - 1] !== 0 || ids[i] !== 0) allZero = false;
    // u32 difference of the 16-bit values: any decrease becomes huge.
    const d = (ids[i] - ids[i - 1]) >>> 0;
    diffs.push(d);
    if (n > 2 && d > 20000) return 'rd';
  }
  if (allZero) return 'zero';
  for (let i = 0; i < diffs.length; i++) diffs[i] &= 0xffff;

  if (diffs.every((d) => d === 0)) return 'constant';
  for (const d of diffs) {
    if (d > 1000 && (d % 256 !== 0 || d >= 25600)) return 'rpi';
  }
  if (diffs.every((d) => d <= 5120 && d % 256 === 0)) return 'broken-incr';
  if (diffs.every((d) => d % 2 === 0)) return 'incr-by-2';
  if (diffs.every((d) => d <= 9)) return 'incr';
  return 'unknown';
}

/** The attribute value Nmap prints for a class (null = attribute omitted). */
export function ipIdClassValue(cls: IpIdClass, firstId: number): string | null {
  switch (cls) {
    case 'constant':
      return firstId.toString(16).toUpperCase();
    case 'incr':
    case 'incr-by-2':
      return 'I';
    case 'broken-incr':
      return 'BI';
    case 'rpi':
      return 'RI';
    case 'rd':
      return 'RD';
    case 'zero':
      return 'Z';
    default:
      return null;
  }
}
