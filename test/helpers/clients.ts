/**
 * Wrappers for the packet clients the tests drive from the scanner namespace: arping (Habets 2.23)
 * and hping3. Every run has a bounded count and a deadline; output is parsed into plain objects.
 */
import type { Lab } from '../../daemon/src/lab/netns';

export interface ArpingReply {
  mac: string;
  ip: string;
  index: number;
}

export interface ArpingResult {
  exitCode: number | null;
  transmitted: number;
  received: number;
  replies: ArpingReply[];
  stdout: string;
}

export interface ArpingOptions {
  /** Requests to send (1..100, default 3). */
  count?: number;
  /** Seconds between requests (arping -W; default 0.2). */
  intervalSec?: number;
  /** Namespace to run in; default the scanner. */
  ns?: string;
  /** Interface; default the scanner interface. */
  ifName?: string;
  /** Source address (-S). */
  sourceIp?: string;
  /** Unsolicited/gratuitous mode (-U), e.g. a real host announcing its address. */
  unsolicited?: boolean;
}

/** `arping -c N -W interval -w deadline -i IF target`, parsed. Never waits longer than count×interval+2 s. */
export async function arping(lab: Lab, target: string, opts: ArpingOptions = {}): Promise<ArpingResult> {
  const count = clampInt(opts.count ?? 3, 1, 100);
  const intervalSec = Math.min(Math.max(opts.intervalSec ?? 0.2, 0.01), 5);
  const deadlineSec = Math.ceil(count * intervalSec + 1);
  const argv = ['arping', '-c', String(count), '-W', String(intervalSec), '-w', String(deadlineSec), '-i', opts.ifName ?? lab.scannerIf];
  if (opts.sourceIp !== undefined) argv.push('-S', opts.sourceIp);
  if (opts.unsolicited === true) argv.push('-U');
  argv.push(target);
  const result = await lab.exec(opts.ns ?? lab.scannerNs, argv, { timeoutMs: (deadlineSec + 2) * 1000 });
  return { exitCode: result.code, ...parseArpingOutput(result.stdout), stdout: result.stdout };
}

/** Parses arping 2.23 output: `42 bytes from MAC (IP): index=N time=…` and the statistics line. */
export function parseArpingOutput(stdout: string): Omit<ArpingResult, 'exitCode' | 'stdout'> {
  const replies: ArpingReply[] = [];
  for (const m of stdout.matchAll(/^\d+ bytes from ([0-9a-fA-F:]{17}) \((\d+\.\d+\.\d+\.\d+)\): index=(\d+)/gm)) {
    replies.push({ mac: (m[1] as string).toLowerCase(), ip: m[2] as string, index: Number(m[3]) });
  }
  const stats = /(\d+) packets transmitted, (\d+) packets received/.exec(stdout);
  return {
    transmitted: stats ? Number(stats[1]) : 0,
    received: stats ? Number(stats[2]) : replies.length,
    replies,
  };
}

export type HpingMode = 'syn' | 'ack' | 'fin' | 'null' | 'xmas' | 'rst' | 'udp' | 'icmp';

export interface HpingOptions {
  mode: HpingMode;
  /** Destination port (TCP/UDP). */
  port?: number;
  /** Packets to send (1..1000, default 1). */
  count?: number;
  /** Microseconds between packets (hping3 -i u…; default 100000). */
  intervalUs?: number;
  /** Payload bytes (-d). */
  dataLen?: number;
  /** Fixed source port (-s, with -k to keep it). */
  sourcePort?: number;
  ns?: string;
}

/** One hping3 answer line. TCP replies carry flags/window; ICMP errors carry the error text. */
export interface HpingReply {
  ip: string;
  len?: number;
  ttl?: number;
  df?: boolean;
  id?: number;
  sport?: number;
  flags?: string;
  win?: number;
  icmpSeq?: number;
  /** e.g. `Port Unreachable` for an ICMP error. */
  icmpError?: string;
}

export interface HpingResult {
  exitCode: number | null;
  transmitted: number;
  received: number;
  replies: HpingReply[];
  stdout: string;
}

const MODE_FLAGS: Record<HpingMode, string[]> = {
  syn: ['-S'],
  ack: ['-A'],
  fin: ['-F'],
  null: [],
  xmas: ['-F', '-P', '-U'],
  rst: ['-R'],
  udp: ['-2'],
  icmp: ['-1'],
};

export async function hping3(lab: Lab, target: string, opts: HpingOptions): Promise<HpingResult> {
  const count = clampInt(opts.count ?? 1, 1, 1000);
  const intervalUs = clampInt(opts.intervalUs ?? 100_000, 100, 5_000_000);
  const argv = ['hping3', '-n', '-c', String(count), '-i', `u${intervalUs}`, ...MODE_FLAGS[opts.mode]];
  if (opts.port !== undefined && opts.mode !== 'icmp') argv.push('-p', String(opts.port));
  if (opts.dataLen !== undefined) argv.push('-d', String(clampInt(opts.dataLen, 0, 65000)));
  if (opts.sourcePort !== undefined) argv.push('-s', String(opts.sourcePort), '-k');
  argv.push(target);
  // hping3 waits about a second after the last packet for late replies.
  const timeoutMs = Math.ceil((count * intervalUs) / 1000) + 4000;
  const result = await lab.exec(opts.ns ?? lab.scannerNs, argv, { timeoutMs });
  // hping3 prints replies on stdout and its statistics on stderr.
  return { exitCode: result.code, ...parseHpingOutput(`${result.stdout}\n${result.stderr}`), stdout: result.stdout };
}

/** Parses hping3 reply lines and statistics. */
export function parseHpingOutput(output: string): Omit<HpingResult, 'exitCode' | 'stdout'> {
  const replies: HpingReply[] = [];
  const lines = output.split('\n');
  for (const line of lines) {
    const icmpError = /^ICMP (.+?) from ip=(\d+\.\d+\.\d+\.\d+)/.exec(line);
    if (icmpError) {
      replies.push({ ip: icmpError[2] as string, icmpError: icmpError[1] as string });
      continue;
    }
    if (!/^len=\d+ ip=/.test(line)) continue;
    const fields = new Map<string, string>();
    let df = false;
    for (const token of line.trim().split(/\s+/)) {
      const eq = token.indexOf('=');
      if (eq > 0) fields.set(token.slice(0, eq), token.slice(eq + 1));
      else if (token === 'DF') df = true;
    }
    const num = (key: string): number | undefined => (fields.has(key) ? Number(fields.get(key)) : undefined);
    const reply: HpingReply = { ip: fields.get('ip') ?? '', df };
    const assign = <K extends keyof HpingReply>(key: K, value: HpingReply[K] | undefined): void => {
      if (value !== undefined) reply[key] = value;
    };
    assign('len', num('len'));
    assign('ttl', num('ttl'));
    assign('id', num('id'));
    assign('sport', num('sport'));
    assign('flags', fields.get('flags'));
    assign('win', num('win'));
    assign('icmpSeq', num('icmp_seq'));
    replies.push(reply);
  }
  const stats = /(\d+) packets transmitted, (\d+) packets received/.exec(output);
  return { transmitted: stats ? Number(stats[1]) : 0, received: stats ? Number(stats[2]) : replies.length, replies };
}

function clampInt(value: number, min: number, max: number): number {
  if (!Number.isFinite(value)) return min;
  return Math.min(Math.max(Math.round(value), min), max);
}
