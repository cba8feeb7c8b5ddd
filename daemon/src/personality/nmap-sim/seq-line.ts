/**
 * The SEQ line (osscan2.cc makeTSeqFP, Nmap 7.93): SP, GCD, ISR from the ISNs of the SEQ SYN/ACKs
 * against Nmap's send times, TI/CI/II/SS from IP IDs, TS from the TSvals.
 */
import { classifyIpIds, ipIdClassValue } from './ipid-class';

export type TsClass = 'unknown' | 'unsupported' | 'zero';

/** What Nmap kept from the SEQ phase; arrays are per probe slot (0-5). */
export interface SeqSamples {
  /** ISN per slot; 0 = no (usable) reply, as in Nmap. */
  seqs: number[];
  /** TSval per slot (0 when absent). */
  timestamps: number[];
  /** Nmap's send time of each SEQ probe, integer microseconds. */
  sendTimesUs: number[];
  /** Set while reading replies: a reply without TS → unsupported; TSval 0 → zero. */
  tsClass: TsClass;
  /** IP IDs of useful SEQ replies, of T5-T7 replies, of IE replies; null = missing. */
  tcpIpIds: Array<number | null>;
  closedIpIds: Array<number | null>;
  icmpIpIds: Array<number | null>;
}

/** u32 MOD_DIFF: the smaller of (a − b) and (b − a) mod 2^32. */
function modDiff(a: number, b: number): number {
  const x = (a - b) >>> 0;
  const y = (b - a) >>> 0;
  return x < y ? x : y;
}

function gcdAll(vals: readonly number[]): number {
  if (vals.length === 0) return 1;
  let a = vals[0];
  for (let i = 1; i < vals.length; i++) {
    let b = vals[i];
    if (a < b) [a, b] = [b, a];
    while (b !== 0) [a, b] = [b, a % b];
  }
  return a;
}

/** C's `(unsigned int)` of a double that fits (truncation toward zero), kept as u32. */
function toUint(x: number): number {
  return Math.trunc(x) >>> 0;
}

function hex(n: number): string {
  return (n >>> 0).toString(16).toUpperCase();
}

export function computeSeqLine(s: SeqSamples): Map<string, string> {
  const line = new Map<string, string>();
  // Squeeze out missing replies (ISN 0 counts as missing, as in Nmap).
  const seqs: number[] = [];
  const tss: number[] = [];
  const times: number[] = [];
  for (let i = 0; i < s.seqs.length; i++) {
    if (s.seqs[i] !== 0) {
      seqs.push(s.seqs[i]);
      tss.push(s.timestamps[i]);
      times.push(s.sendTimesUs[i]);
    }
  }
  const responses = seqs.length;
  const seqDiffs: number[] = [];
  const tsDiffs: number[] = [];
  const usDiffs: number[] = [];
  const rates: number[] = [];
  let avgRate = 0;
  for (let j = 1; j < responses; j++) {
    seqDiffs.push(modDiff(seqs[j], seqs[j - 1]));
    tsDiffs.push(modDiff(tss[j], tss[j - 1]));
    let us = times[j] - times[j - 1];
    if (us === 0) us = 1;
    usDiffs.push(us);
    // seq_rates[] is a C float.
    const rate = Math.fround((seqDiffs[j - 1] * 1000000.0) / us);
    rates.push(rate);
    avgRate += rate;
  }

  if (responses >= 4) {
    avgRate /= responses - 1;
    let seqRate = avgRate;
    const gcd = gcdAll(seqDiffs);
    let index = 0;
    if (gcd === 0) {
      seqRate = 0;
    } else {
      seqRate = Math.log(seqRate) / Math.log(2.0);
      seqRate = toUint(seqRate * 8 + 0.5);
      const divGcd = gcd > 9 ? gcd | 0 : 1; // an int in C
      const fDiv = Math.fround(divGcd);
      let stddev = 0;
      for (const r of rates) {
        const t = Math.fround(r / fDiv) - avgRate / divGcd;
        stddev += t * t;
      }
      stddev /= responses - 2;
      stddev = Math.sqrt(stddev);
      index = stddev <= 1 ? 0 : Math.trunc((Math.log(stddev) / Math.log(2.0)) * 8 + 0.5);
    }
    line.set('SP', hex(index));
    line.set('GCD', hex(gcd));
    line.set('ISR', hex(seqRate));
  }

  // IP ID classes: TI needs 3 samples, CI and II 2.
  const present = (xs: Array<number | null>): number[] => xs.filter((x): x is number => x !== null);
  const tcp = present(s.tcpIpIds);
  const closed = present(s.closedIpIds);
  const icmp = present(s.icmpIpIds);
  const ti = tcp.length >= 3 ? classifyIpIds(tcp) : 'unknown';
  const ci = closed.length >= 2 ? classifyIpIds(closed) : 'unknown';
  const ii = icmp.length >= 2 ? classifyIpIds(icmp) : 'unknown';
  const put = (attr: string, v: string | null): void => {
    if (v !== null) line.set(attr, v);
  };
  put('TI', ipIdClassValue(ti, tcp[0] ?? 0));
  put('CI', ipIdClassValue(ci, closed[0] ?? 0));
  put('II', ipIdClassValue(ii, icmp[0] ?? 0));

  const ssEligible = (c: string): boolean => c === 'incr' || c === 'broken-incr' || c === 'rpi';
  if (ssEligible(ti) && ssEligible(ii)) {
    const last = tcp[tcp.length - 1];
    const avg = Math.floor(((last - tcp[0]) >>> 0) / (tcp.length - 1)) >>> 0;
    const limit = (last + 3 * avg) >>> 0;
    line.set('SS', icmp[0] < limit ? 'S' : 'O');
  }

  // TS: a class forced while reading replies wins; else the mean tick rate over the gaps.
  let tsValue: string | null = null;
  if (s.tsClass === 'zero') tsValue = '0';
  else if (s.tsClass === 'unsupported') tsValue = 'U';
  else if (responses >= 2) {
    let hz = 0;
    for (let i = 0; i < responses - 1; i++) hz += tsDiffs[i] / (usDiffs[i] / 1000000.0) / (responses - 1);
    if (hz > 0) {
      let v: number;
      if (hz <= 5.66) v = 1;
      else if (hz > 70 && hz <= 150) v = 7;
      else if (hz > 150 && hz <= 350) v = 8;
      else v = toUint(0.5 + Math.log(hz) / Math.log(2.0));
      tsValue = hex(v);
    }
  }
  if (tsValue !== null) line.set('TS', tsValue);
  return line;
}
