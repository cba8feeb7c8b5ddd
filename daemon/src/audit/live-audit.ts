/**
 * `decoyd audit CONFIG`: the configuration run in a lab of its own and probed as a skeptical
 * scanner would. Builds namespaces (documentation addresses only), starts decoyd in the honeynet
 * namespace; p0f watches kernel connects to one open port of each host; then from the scanner
 * namespace it runs, in parallel: nmap -O -sV on every host, one
 * unanswered SYN per host whose SYN/ACK retransmissions are timed, and ICMP timestamp and
 * address-mask requests. live-judge.ts compares what was seen with the personality, its MAC
 * vendor and its family's behaviour table; the static audit's findings come along. The lab and
 * decoyd are always removed. Bounded: every probe has a deadline.
 */
import type { ChildProcess } from 'node:child_process';
import { createLab, type Lab } from '../lab/netns';
import { parseNmapXml, type NmapHost } from '../lab/nmap-xml';
import { splitLines } from '../lab/run-command';
import type { DecoydConfig } from '../config/types';
import { parseIp } from '../wire/address';
import { behaviourOf } from '../personality/behaviour/family';
import { FINDING_WEIGHT, auditStatic, formatFinding, formatReportTail, type AuditReport, type Finding, type HostReport, type StaticAuditData } from './static-audit';
import { judgeLive, type LiveObservation } from './live-judge';
import { p0fSynAckLabels } from './p0f-watch';

export interface LiveAuditOptions {
  configPath: string;
  /** Compiled CLI entry point that runs the daemon (`main.js run …`). */
  mainJs: string;
  /** Progress lines (stderr in the CLI). */
  progress?: (line: string) => void;
  /** Lab name prefix (pid and counter are appended). */
  labName?: string;
}

export interface LiveHostReport extends HostReport {
  observed: LiveObservation;
  /** Findings only the live run shows (also merged into `findings`). */
  liveFindings: Finding[];
}

export interface LiveAuditReport extends Omit<AuditReport, 'hosts'> {
  hosts: LiveHostReport[];
  elapsedMs: number;
}

const DOC_RANGES = ['192.0.2.', '198.51.100.', '203.0.113.'];
const READY_TIMEOUT_MS = 30_000;
const NMAP_TIMEOUT_MS = 100_000;
/** SYN/ACK retransmissions are watched this long: the longest schedule (Linux, 31 s) plus slack. */
const RETRANSMIT_WATCH_MS = 34_000;
/** Source ports of the timing SYNs: below 1024, where nmap never picks its own. */
const TIMING_PORT_BASE = 700;
const MAX_HOSTS = 60;
const STOP_GRACE_MS = 5_000;

function inDocRanges(ip: string): boolean {
  return DOC_RANGES.some((p) => ip.startsWith(p));
}

/** A scanner address per /24 of the hosts: the lowest of .2–.254 that no host or claim uses. */
function scannerAddresses(cfg: DecoydConfig): string[] {
  const taken = new Set(cfg.hosts.map((h) => h.address));
  const claimed = (ip: string): boolean => cfg.claims.some((c) => inPrefix(ip, c.range));
  const nets = [...new Set(cfg.hosts.map((h) => h.address.split('.').slice(0, 3).join('.')))];
  return nets.map((net) => {
    for (let i = 2; i < 255; i++) {
      const ip = `${net}.${i}`;
      if (!taken.has(ip) && !claimed(ip)) return `${ip}/24`;
    }
    throw new Error(`no free address in ${net}.0/24 for the audit's scanner`);
  });
}

function inPrefix(ip: string, range: string): boolean {
  const [base, len] = range.split('/');
  const bits = Number(len ?? 32);
  const a = parseIp(ip);
  const b = parseIp(base as string);
  if (a < 0 || b < 0) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}

/** Runs the audit; always removes the lab. */
export async function runLiveAudit(cfg: DecoydConfig, data: StaticAuditData, opts: LiveAuditOptions): Promise<LiveAuditReport> {
  const started = Date.now();
  const log = opts.progress ?? ((): void => undefined);
  if (cfg.hosts.length === 0) throw new Error('the configuration has no static hosts to audit');
  if (cfg.hosts.length > MAX_HOSTS) throw new Error(`at most ${MAX_HOSTS} hosts per live audit`);
  const outside = cfg.hosts.filter((h) => !inDocRanges(h.address)).map((h) => h.address);
  if (outside.length > 0) {
    throw new Error(`the live audit runs only documentation addresses (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24); not: ${outside.join(', ')}`);
  }
  const staticReport = auditStatic(cfg, data);
  const scanners = scannerAddresses(cfg);
  let lab: Lab | undefined;
  let daemon: ChildProcess | undefined;
  try {
    lab = await createLab({ name: opts.labName ?? 'decoyd-audit', scannerAddress: scanners[0] });
    for (const extra of scanners.slice(1)) await lab.exec(lab.scannerNs, ['ip', 'addr', 'add', extra, 'dev', lab.scannerIf]);
    log(`lab ${lab.name}: scanner ${scanners.join(', ')}; starting decoyd`);
    daemon = await startDaemon(lab, opts);
    log('decoyd is up; probing');
    const targets = staticReport.hosts.map((h) => h.address);
    // p0f first, on its own: it must see kernel connects only, not nmap's crafted SYNs.
    const connectTargets = staticReport.hosts.flatMap((h) => {
      const port = h.openPorts.find((p) => p.startsWith('tcp/'));
      return port === undefined ? [] : [{ address: h.address, port: Number(port.slice(4)) }];
    });
    const p0f = await p0fSynAckLabels(lab, connectTargets);
    log(p0f === null ? 'p0f did not run (is it installed?)' : 'p0f done');
    const [nmap, timing, icmp] = await Promise.all([
      nmapScan(lab, cfg, targets),
      synAckTiming(lab, staticReport.hosts),
      icmpQueries(lab, targets),
    ]);
    log('probes done');
    const hosts = staticReport.hosts.map((h) => {
      const n = nmap.get(h.address);
      const hasOpenTcp = connectTargets.some((t) => t.address === h.address);
      const observed = observation(h, n, timing.get(h.address) ?? null, icmp.get(h.address), p0f === null || !hasOpenTcp ? null : p0f.get(h.address) ?? '');
      const fp = data.fingerprints.get(h.personality)?.[0];
      const behaviour = behaviourOf(fp?.classes ?? [], fp?.cpes ?? []);
      const liveFindings = judgeLive(observed, {
        personality: h.personality, classes: fp?.classes ?? [], family: h.family, initialTtl: h.initialTtl,
        printer: fp?.classes.some((c) => c.deviceType === 'printer') ?? false,
      }, behaviour);
      const findings = [...h.findings, ...liveFindings];
      const score = Math.max(0, 100 - findings.reduce((s, f) => s + FINDING_WEIGHT[f.severity], 0));
      return { ...h, findings, score, observed, liveFindings };
    });
    const mean = hosts.reduce((s, r) => s + r.score, 0) / hosts.length;
    const score = Math.max(0, Math.round(mean - staticReport.population.reduce((s, f) => s + FINDING_WEIGHT[f.severity], 0)));
    return { config: staticReport.config, population: staticReport.population, hosts, score, elapsedMs: Date.now() - started };
  } finally {
    if (daemon !== undefined) await stopChild(daemon);
    if (lab !== undefined) await lab.destroy();
  }
}

async function startDaemon(lab: Lab, opts: LiveAuditOptions): Promise<ChildProcess> {
  const child = lab.spawn(lab.honeyNs, [process.execPath, opts.mainJs, 'run', '--config', opts.configPath, '--interface', lab.honeyIf], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    if (stderr.length < 4096) stderr += c.toString();
  });
  const ok = await new Promise<boolean>((resolveReady) => {
    const timer = setTimeout(() => resolveReady(false), READY_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveReady(false);
    });
    splitLines(child.stdout, (line) => {
      if (line.includes('"action":"daemon.start"')) {
        clearTimeout(timer);
        resolveReady(true);
      }
    });
  });
  if (!ok) {
    await stopChild(child);
    throw new Error(`decoyd did not start in the lab: ${stderr.trim()}`);
  }
  return child;
}

/** nmap -O -sV over every host: the configured open TCP ports plus one closed port. */
async function nmapScan(lab: Lab, cfg: DecoydConfig, targets: readonly string[]): Promise<Map<string, NmapHost>> {
  const open = new Set<number>();
  for (const t of cfg.templates.values()) for (const p of t.ports) if (p.proto === 'tcp' && p.action === 'open') open.add(p.port);
  let closed = 1;
  while (open.has(closed)) closed++;
  const ports = [...open, closed].sort((a, b) => a - b).join(',');
  const r = await lab.exec(lab.scannerNs, ['nmap', '-n', '-sS', '-sV', '--version-light', '-O', '-T4', '-p', ports, ...targets, '-oX', '-'], {
    timeoutMs: NMAP_TIMEOUT_MS,
  });
  const out = new Map<string, NmapHost>();
  if (r.timedOut || !r.stdout.includes('<nmaprun')) throw new Error(`nmap failed in the lab (exit ${r.code}): ${r.stderr.trim()}`);
  for (const h of parseNmapXml(r.stdout).hosts) out.set(h.address, h);
  return out;
}

/**
 * One SYN per host with an open TCP port, never answered: the scanner's kernel is kept from
 * resetting the SYN/ACK by an input rule in the lab's own scanner namespace; tcpdump times every
 * SYN/ACK that comes back. Offsets are ms after the first SYN/ACK.
 */
async function synAckTiming(lab: Lab, hosts: readonly HostReport[]): Promise<Map<string, number[]>> {
  const probed = hosts.map((h, i) => ({ address: h.address, port: h.openPorts.find((p) => p.startsWith('tcp/')), src: TIMING_PORT_BASE + i }))
    .filter((p): p is { address: string; port: string; src: number } => p.port !== undefined);
  const result = new Map<string, number[]>();
  if (probed.length === 0) return result;
  const last = TIMING_PORT_BASE + hosts.length - 1;
  const nft = `table inet decoyd_audit {\n  chain in {\n    type filter hook input priority 0;\n    tcp dport ${TIMING_PORT_BASE}-${last} drop\n  }\n}\n`;
  const loaded = await lab.exec(lab.scannerNs, ['nft', '-f', '-'], { input: nft, timeoutMs: 5000 });
  if (loaded.code !== 0) throw new Error(`nft in the scanner namespace failed: ${loaded.stderr.trim()}`);
  const filter = `tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack) and dst portrange ${TIMING_PORT_BASE}-${last}`;
  const dump = lab.spawn(lab.scannerNs, ['tcpdump', '-i', lab.scannerIf, '-n', '-l', '-tt', '-U', filter], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  splitLines(dump.stdout, (line) => {
    if (lines.length < 10_000) lines.push(line);
  });
  // tcpdump says "listening on …" on stderr once the capture is open.
  await new Promise<void>((resolveListening) => {
    const timer = setTimeout(resolveListening, 3000);
    dump.stderr?.on('data', (c: Buffer) => {
      if (c.toString().includes('listening')) {
        clearTimeout(timer);
        resolveListening();
      }
    });
  });
  await Promise.all(probed.map((p) => lab.exec(lab.scannerNs, ['hping3', '-q', '-S', '-c', '1', '-s', String(p.src), '-k', '-p', p.port.slice(4), p.address], { timeoutMs: 5000 })));
  await new Promise((r) => setTimeout(r, RETRANSMIT_WATCH_MS));
  await stopChild(dump);
  const times = new Map<string, number[]>();
  for (const line of lines) {
    // 1700000000.123456 IP 198.51.100.10.22 > 198.51.100.2.700: Flags [S.], …
    const m = /^(\d+\.\d+) IP (\d+\.\d+\.\d+\.\d+)\.\d+ > /.exec(line);
    if (m === null) continue;
    const list = times.get(m[2] as string) ?? [];
    list.push(Number(m[1]) * 1000);
    times.set(m[2] as string, list);
  }
  for (const [address, ts] of times) result.set(address, ts.map((t) => Math.round(t - (ts[0] as number))));
  for (const p of probed) if (!result.has(p.address)) result.set(p.address, []);
  return result;
}

/** ICMP timestamp (13) and address-mask (17) requests, two each: answered or not. */
async function icmpQueries(lab: Lab, targets: readonly string[]): Promise<Map<string, { ts: boolean; mask: boolean }>> {
  const ask = async (address: string, flag: string): Promise<boolean> => {
    const r = await lab.exec(lab.scannerNs, ['hping3', '-c', '2', '-i', 'u300000', flag, address], { timeoutMs: 8000 });
    return r.stdout.split('\n').some((l) => l.includes(`ip=${address}`));
  };
  const out = new Map<string, { ts: boolean; mask: boolean }>();
  await Promise.all(targets.map(async (a) => {
    const [ts, mask] = await Promise.all([ask(a, '--icmp-ts'), ask(a, '--icmp-addr')]);
    out.set(a, { ts, mask });
  }));
  return out;
}

function observation(h: HostReport, n: NmapHost | undefined, synAcks: number[] | null, icmp: { ts: boolean; mask: boolean } | undefined, p0fLabel: string | null): LiveObservation {
  const openPorts = (n?.ports ?? []).filter((p) => p.state === 'open');
  const obs: LiveObservation = {
    address: h.address,
    up: n !== undefined && n.state === 'up',
    osMatches: (n?.osMatches ?? []).map((m) => ({ name: m.name, accuracy: m.accuracy, classes: m.classes.map((c) => ({ vendor: c.vendor, osFamily: c.osFamily, osGen: c.osGen, type: c.type })) })),
    openPorts: openPorts.map((p) => `${p.protocol}/${p.port}`),
    services: openPorts.filter((p) => p.service !== undefined && p.service.method === 'probed').map((p) => ({
      proto: p.protocol, port: p.port, name: p.service?.name ?? '', product: p.service?.product, version: p.service?.version,
      extraInfo: p.service?.extraInfo, osType: p.service?.osType,
    })),
    synAckOffsetsMs: synAcks,
    synAckWatchMs: RETRANSMIT_WATCH_MS,
    icmpTimestampReply: icmp?.ts ?? null,
    icmpAddressMaskReply: icmp?.mask ?? null,
    p0fSynAck: p0fLabel,
  };
  if (n?.mac !== undefined) obs.mac = n.mac.toLowerCase();
  if (n?.vendor !== undefined) obs.macVendor = n.vendor;
  const ttl = openPorts.find((p) => p.reasonTtl !== undefined)?.reasonTtl;
  if (ttl !== undefined) obs.replyTtl = ttl;
  if (n?.distance !== undefined) obs.distance = n.distance;
  return obs;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }, STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/** The human-readable live report. */
export function formatLiveReport(r: LiveAuditReport): string {
  const out: string[] = [`decoyd audit ${r.config} (live, ${(r.elapsedMs / 1000).toFixed(0)} s)`, ''];
  for (const h of r.hosts) {
    const o = h.observed;
    out.push(`${h.address}  ${h.template}  "${h.personality}"  family ${h.family}  score ${h.score}`);
    out.push(`    nmap -O: ${o.osMatches[0] !== undefined ? `${o.osMatches[0].name} (${o.osMatches[0].accuracy} %)` : 'no match'}  MAC ${o.mac ?? '?'} (${o.macVendor ?? '?'})  TTL ${o.replyTtl ?? '?'}`);
    out.push(`    open ${o.openPorts.join(' ') || 'none'}${o.services.length > 0 ? `  -sV ${o.services.map((s) => `${s.port}:${[s.name, s.product, s.version].filter(Boolean).join(' ')}`).join('; ')}` : ''}`);
    out.push(`    SYN/ACK at ${o.synAckOffsetsMs === null ? 'n/a' : o.synAckOffsetsMs.map((t) => (t / 1000).toFixed(1)).join(', ')} s  ICMP timestamp ${fmtBool(o.icmpTimestampReply)}  mask ${fmtBool(o.icmpAddressMaskReply)}  p0f ${o.p0fSynAck === null ? 'n/a' : o.p0fSynAck === '' || o.p0fSynAck === '???' ? 'no match' : o.p0fSynAck}`);
    if (h.findings.length === 0) out.push('    no contradiction found');
    for (const f of h.findings) out.push(formatFinding(f));
  }
  return formatReportTail(out, r);
}

function fmtBool(b: boolean | null): string {
  return b === null ? 'n/a' : b ? 'answered' : 'ignored';
}
