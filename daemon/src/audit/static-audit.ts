/**
 * `decoyd audit --static`: lints a configuration for what a skeptical scanner would notice without
 * sending a packet. Contradictions between layers (the stack's OS family, the services and
 * banners, the MAC vendor, the initial TTL) per host, and population-level tells (every address
 * alive with one fingerprint, identical hosts, implausible port sets). Pure: the caller resolves
 * the personalities and the MAC table.
 */
import type { DecoydConfig, PortRule, TemplateConfig } from '../config/types';
import { chooseMac, type MacPrefixes } from '../config/mac';
import { behaviourOf } from '../personality/behaviour/family';
import type { FamilyId } from '../personality/behaviour/types';
import type { OsFingerprint } from '../personality/osdb/types';
import { macToString, parseIp } from '../wire/address';

export type Severity = 'high' | 'medium' | 'low';

export interface Finding {
  severity: Severity;
  /** Stable identifier for machines (`windows-service-on-other-os`, …). */
  code: string;
  message: string;
}

export interface HostReport {
  address: string;
  template: string;
  personality: string;
  family: FamilyId;
  /** The OS group banners and services are compared with (windows, linux, bsd, darwin, cisco, embedded, …). */
  osGroup: string;
  mac: string;
  macVendor: string;
  initialTtl: number | null;
  openPorts: string[];
  findings: Finding[];
  /** 100 minus the findings' weights, at least 0. */
  score: number;
}

export interface AuditReport {
  config: string;
  hosts: HostReport[];
  /** Findings about the population as a whole (claim ranges, identical hosts). */
  population: Finding[];
  /** Mean host score minus the population findings' weights, at least 0. */
  score: number;
}

export interface StaticAuditData {
  /** Entries by Fingerprint name (the first is what a host of that name is judged by). */
  fingerprints: ReadonlyMap<string, readonly OsFingerprint[]>;
  macPrefixes: MacPrefixes;
  /** The daemon's MAC seed (0 today). */
  macSeed?: number;
  /** Personality used by templates without one. */
  defaultPersonality: string;
}

const WEIGHT: Record<Severity, number> = { high: 30, medium: 15, low: 5 };

/** The OS group of a family, the granularity at which services and banners contradict a stack. */
export function osGroupOf(family: FamilyId): string {
  if (family.startsWith('windows')) return 'windows';
  if (family === 'freebsd' || family === 'openbsd' || family === 'netbsd') return 'bsd';
  if (family === 'cisco-ios') return 'cisco';
  return family;
}

/** Services that exist on one OS group only: port → [groups where it is plausible, what it is, severity elsewhere]. */
export const OS_SPECIFIC_TCP: ReadonlyMap<number, [readonly string[], string, Severity]> = new Map([
  [135, [['windows'], 'MSRPC endpoint mapper', 'high']],
  [1433, [['windows'], 'Microsoft SQL Server', 'high']],
  [3389, [['windows'], 'RDP', 'high']],
  [5985, [['windows'], 'WinRM', 'high']],
  [5986, [['windows'], 'WinRM over TLS', 'high']],
  [445, [['windows', 'darwin'], 'SMB (Samba makes it possible elsewhere, but it stands out)', 'medium']],
  [139, [['windows'], 'NetBIOS session service', 'medium']],
  [548, [['darwin'], 'AFP', 'medium']],
  [3689, [['darwin'], 'DAAP (iTunes sharing)', 'medium']],
  [62078, [['darwin'], 'iPhone lockdownd', 'high']],
  [9100, [['embedded', 'linux'], 'JetDirect raw printing', 'medium']],
  [515, [['embedded', 'linux', 'bsd', 'solaris'], 'LPD', 'low']],
]);
export const OS_SPECIFIC_UDP: ReadonlyMap<number, [readonly string[], string, Severity]> = new Map([
  [137, [['windows'], 'NetBIOS name service', 'medium']],
  [138, [['windows'], 'NetBIOS datagram service', 'medium']],
  [1434, [['windows'], 'SQL Server browser', 'high']],
]);

/** Banner words that name an OS group. */
const BANNER_OS: ReadonlyArray<[RegExp, string]> = [
  [/\bcisco\b|\bIOS\b/i, 'cisco'],
  [/microsoft|windows|\bIIS\b/i, 'windows'],
  [/freebsd|openbsd|netbsd/i, 'bsd'],
  [/ubuntu|debian|linux|centos|red ?hat|fedora|alpine|raspbian/i, 'linux'],
  [/darwin|mac ?os|macos/i, 'darwin'],
  [/solaris|sunos/i, 'solaris'],
];

/** MAC vendor words → kind of hardware. */
const VENDOR_KINDS: ReadonlyArray<[RegExp, string]> = [
  [/canon|brother|lexmark|xerox|ricoh|epson|kyocera|konica|sharp|oki data|zebra/i, 'printer'],
  [/^apple/i, 'apple'],
  [/cisco/i, 'cisco'],
  [/juniper|routerboard|ubiquiti|aruba|netgear|tp-link|d-link|zyxel/i, 'network'],
];

/** Which hardware kinds a group runs on: a kind not listed contradicts the stack. */
const KINDS_FOR_GROUP: Record<string, readonly string[]> = {
  windows: ['pc'],
  linux: ['pc', 'network', 'printer', 'apple'],
  bsd: ['pc', 'network'],
  darwin: ['apple'],
  cisco: ['cisco'],
  solaris: ['pc'],
  embedded: ['pc', 'printer', 'network', 'cisco', 'apple'],
};

function hardwareKind(vendor: string): string {
  for (const [re, kind] of VENDOR_KINDS) if (re.test(vendor)) return kind;
  return 'pc';
}

/** The initial TTL the family's stacks use. */
export function expectedTtl(group: string): number {
  if (group === 'windows') return 128;
  if (group === 'cisco' || group === 'solaris') return 255;
  return 64;
}

/** Initial TTL of an entry: its T1 (or IE) line's TG, in hex. */
function initialTtlOf(fp: OsFingerprint): number | null {
  for (const test of ['T1', 'IE', 'T5'] as const) {
    const tg = fp.tests.get(test)?.get('TG');
    if (tg !== undefined && /^[0-9A-F]+$/i.test(tg)) return parseInt(tg, 16);
  }
  return null;
}

function openPorts(t: TemplateConfig): PortRule[] {
  return t.ports.filter((p) => p.action === 'open');
}

/** The OS group a banner or -sV text names, if any. */
export function bannerOsGroup(text: string): string | undefined {
  for (const [re, group] of BANNER_OS) if (re.test(text)) return group;
  return undefined;
}

/** A finding when a MAC vendor's hardware does not run the stack's OS group; null when it fits. */
export function macVendorFinding(mac: string, vendor: string, family: FamilyId, printerPersonality: boolean): Finding | null {
  const group = osGroupOf(family);
  const kind = hardwareKind(vendor);
  const allowed = KINDS_FOR_GROUP[group] ?? ['pc'];
  if (kind === 'printer' && !printerPersonality) {
    return { severity: 'high', code: 'mac-vendor-contradicts-os', message: `MAC ${mac} is a ${vendor} (printer maker) address on a ${family} personality` };
  }
  if (!allowed.includes(kind)) {
    return { severity: 'medium', code: 'mac-vendor-contradicts-os', message: `MAC ${mac} (${vendor}, ${kind} hardware) does not run ${family}` };
  }
  return null;
}

export const FINDING_WEIGHT = WEIGHT;

function auditTemplateHost(address: string, t: TemplateConfig, data: StaticAuditData): HostReport {
  const name = t.personality ?? data.defaultPersonality;
  const fp = data.fingerprints.get(name)?.[0];
  const findings: Finding[] = [];
  const family = fp !== undefined ? behaviourOf(fp.classes, fp.cpes).family : 'linux';
  const group = osGroupOf(family);
  if (fp === undefined) findings.push({ severity: 'low', code: 'unknown-personality', message: `personality "${name}" not found in the OS database: judged as Linux` });
  const ip = parseIp(address);

  // Services that belong to another OS.
  for (const p of openPorts(t)) {
    const table = p.proto === 'tcp' ? OS_SPECIFIC_TCP : OS_SPECIFIC_UDP;
    const rule = table.get(p.port);
    if (rule !== undefined && !rule[0].includes(group)) {
      findings.push({ severity: rule[2], code: 'service-of-other-os', message: `${p.proto}/${p.port} (${rule[1]}) is open on a ${family} stack` });
    }
    // What the service says about its OS: a raw banner, or an identity's product, version, info and os fields.
    const svc = p.service;
    const said = svc?.kind === 'banner' ? svc.banner
      : svc?.kind === 'identity' || svc?.kind === 'ssh' || svc?.kind === 'telnet' || svc?.kind === 'line' || svc?.kind === 'dns' || svc?.kind === 'snmp' ? [svc.identity.product, svc.identity.version, svc.identity.info, svc.identity.os].filter((x) => x !== undefined).join(' ')
      : '';
    if (said !== '') {
      for (const [re, bannerGroup] of BANNER_OS) {
        if (re.test(said) && bannerGroup !== group) {
          findings.push({ severity: 'high', code: 'banner-names-other-os', message: `${p.proto}/${p.port} ${svc?.kind === 'banner' ? 'banner' : 'identity'} ${JSON.stringify(said.trim())} names ${bannerGroup}, the stack is ${family}` });
          break;
        }
      }
    }
  }

  // MAC vendor against the personality.
  let mac = '';
  let macVendor = '';
  try {
    const m = chooseMac(t.ethernet, fp?.classes[0]?.vendor, ip, data.macPrefixes, data.macSeed ?? 0);
    mac = macToString(m);
    macVendor = data.macPrefixes.vendorOf(m.readUIntBE(0, 3)) ?? 'unregistered prefix';
    const printerPersonality = fp?.classes.some((c) => c.deviceType === 'printer') ?? false;
    const f = macVendorFinding(mac, macVendor, family, printerPersonality);
    if (f !== null) findings.push(f);
  } catch (err) {
    findings.push({ severity: 'medium', code: 'mac-unresolvable', message: err instanceof Error ? err.message : String(err) });
  }

  // Initial TTL against the family.
  const ttl = fp !== undefined ? initialTtlOf(fp) : null;
  if (ttl !== null && ttl !== expectedTtl(group) && group !== 'embedded' && group !== 'linux') {
    findings.push({ severity: 'low', code: 'ttl-unusual-for-family', message: `initial TTL ${ttl} is unusual for ${family} (expected ${expectedTtl(group)})` });
  }

  // Implausible port sets.
  const open = openPorts(t);
  if (t.defaults.tcp === 'open') findings.push({ severity: 'high', code: 'all-ports-open', message: 'every TCP port is open: scanners label such hosts SYN/ACK honeypots' });
  else if (open.filter((p) => p.proto === 'tcp').length > 100) findings.push({ severity: 'high', code: 'too-many-open-ports', message: `${open.length} open TCP ports` });
  else if (open.filter((p) => p.proto === 'tcp').length > 30) findings.push({ severity: 'medium', code: 'many-open-ports', message: `${open.length} open TCP ports` });
  if (t.defaults.udp === 'open') findings.push({ severity: 'medium', code: 'all-udp-open', message: 'every UDP port is open' });
  const anyClosed = t.defaults.tcp === 'reset' || t.ports.some((p) => p.proto === 'tcp' && p.action === 'reset');
  if (open.length > 0 && !anyClosed) findings.push({ severity: 'low', code: 'no-closed-port', message: 'no closed TCP port: nmap -O warns its result is unreliable, as for a firewalled host' });

  const score = Math.max(0, 100 - findings.reduce((s, f) => s + WEIGHT[f.severity], 0));
  return {
    address, template: t.name, personality: name, family, osGroup: group, mac, macVendor, initialTtl: ttl,
    openPorts: open.map((p) => `${p.proto}/${p.port}`), findings, score,
  };
}

/** Lint `cfg`: one report per static host, plus population findings. */
export function auditStatic(cfg: DecoydConfig, data: StaticAuditData): AuditReport {
  const hosts: HostReport[] = [];
  for (const h of cfg.hosts) {
    const t = cfg.templates.get(h.template);
    if (t !== undefined) hosts.push(auditTemplateHost(h.address, t, data));
  }
  const population: Finding[] = [];
  for (const c of cfg.claims) {
    const prefix = Number(c.range.split('/')[1] ?? 32);
    const size = 2 ** (32 - prefix);
    // Claiming needs repeated unanswered requests, so a sweep does not wake every address; those that wake look alike.
    if (size >= 16) {
      population.push({ severity: size >= 64 ? 'medium' : 'low', code: 'every-address-alive', message: `claim ${c.range}: up to ${size} unused addresses come alive as template ${c.template}, all with one fingerprint and one port set` });
    }
  }
  // Identical hosts: same personality and same open ports.
  const groups = new Map<string, HostReport[]>();
  for (const r of hosts) {
    const key = `${r.personality}|${[...r.openPorts].sort().join(',')}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  for (const [, same] of groups) {
    if (same.length >= 3) {
      population.push({ severity: same.length >= 8 ? 'high' : 'medium', code: 'identical-hosts', message: `${same.length} hosts (${same.map((r) => r.address).join(', ')}) have the same personality and the same open ports` });
    }
  }
  const mean = hosts.length === 0 ? 100 : hosts.reduce((s, r) => s + r.score, 0) / hosts.length;
  const score = Math.max(0, Math.round(mean - population.reduce((s, f) => s + WEIGHT[f.severity], 0)));
  return { config: cfg.source, hosts, population, score };
}

/** The human-readable report. */
/** One finding as the audit reports print it. */
export function formatFinding(f: Finding): string {
  return `    ${f.severity.toUpperCase().padEnd(6)} ${f.code}: ${f.message}`;
}

/** The closing part every audit report shares: the population findings and the score. */
export function formatReportTail(out: string[], r: Pick<AuditReport, 'population' | 'score'>): string {
  out.push('');
  out.push(`population${r.population.length === 0 ? ': no finding' : ''}`);
  for (const f of r.population) out.push(formatFinding(f));
  out.push('');
  out.push(`score ${r.score}/100`);
  return out.join('\n') + '\n';
}

export function formatAuditReport(r: AuditReport): string {
  const out: string[] = [`decoyd audit --static ${r.config}`, ''];
  for (const h of r.hosts) {
    out.push(`${h.address}  ${h.template}  "${h.personality}"  family ${h.family}  score ${h.score}`);
    out.push(`    mac ${h.mac} (${h.macVendor})  initial TTL ${h.initialTtl ?? '?'}  open ${h.openPorts.join(' ') || 'none'}`);
    if (h.findings.length === 0) out.push('    no contradiction found');
    for (const f of h.findings) out.push(formatFinding(f));
  }
  return formatReportTail(out, r);
}
