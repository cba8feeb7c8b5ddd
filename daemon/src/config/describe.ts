/**
 * Human-readable summary of a resolved configuration: what `decoyd check FILE` prints.
 * Lists every host with its template, personality, MAC, port states and defaults, then the
 * claim ranges, DHCP clients, limits and claim settings.
 */

import { redactUrl } from '../fleet/pg-schema';
import { ipToString, macToString, parseIp } from '../wire/address';
import { chooseMac } from './mac';
import type { MacPrefixes } from './mac-prefixes';
import { parseCidrStrict } from './model';
import type { OsDbNames } from './osdb-names';
import { formatIssue, type ConfigIssue } from './errors';
import type { PersonalityMapping } from './personality-resolve';
import { conditionMatchesLabel } from '../stack/dynamic/os-condition';
import type { P0fLabel } from '../stack/dynamic/p0f-signatures';
import { sshPersonaFor } from '../services/ssh/versions';
import { hasshServer } from '../services/ssh/kexinit';
import type { DecoydConfig, DynamicCondition, LoginPolicy, PortRule, ServiceIdentitySpec, ServiceSpec, TemplateConfig } from './types';
import type { HttpOptions } from './http-options';

export interface DescribeData {
  osDbNames?: OsDbNames;
  /** When present, MACs are computed as the daemon will choose them. */
  macPrefixes?: MacPrefixes;
  /** The daemon's MAC seed, if it uses one. */
  macSeed?: number;
  /** Personality names that were not in nmap-os-db and what they became. */
  personalityMappings?: readonly PersonalityMapping[];
  /** Warnings from loading: listed last. */
  warnings?: readonly ConfigIssue[];
  /** Why subsystem programs cannot be started here (their native helpers are missing), if so. */
  subsystemProblem?: string;
  /** p0f's labels (or why they could not be read), to show what each `source os` rule means. */
  p0fLabels?: readonly P0fLabel[] | string;
}

export function describeConfig(cfg: DecoydConfig, data: DescribeData = {}): string {
  const out: string[] = [];
  out.push(`configuration ${cfg.source}`);
  out.push(`  interface          ${cfg.interface ?? '(not set; give it on the command line)'}`);
  out.push(`  nmap-os-db         ${cfg.osDb.join(', ')}`);
  out.push(`  nmap-mac-prefixes  ${cfg.macPrefixes}`);
  out.push(`  log level          ${cfg.log.level}`);
  out.push('');

  const hosts = [...cfg.hosts].sort((a, b) => parseIp(a.address) - parseIp(b.address));
  out.push(`hosts (${hosts.length})`);
  for (const host of hosts) {
    const tmpl = cfg.templates.get(host.template);
    const inClaim = cfg.claims.find((c) => containsAddress(c.range, host.address));
    const note = (inClaim ? `; inside claim ${inClaim.range}, this binding wins` : '') + topologyNote(cfg, host.address);
    out.push(`  ${host.address}  template ${host.template}  (${host.origin}${note})`);
    if (tmpl) describeTemplate(out, tmpl, parseIp(host.address), data, false, cfg);
  }
  out.push('');

  // Every template, bound or not: Honeyd files often define templates only `dynamic` rules or `dhcp` use.
  out.push(`templates (${cfg.templates.size})`);
  for (const [name, tmpl] of cfg.templates) {
    const users = cfg.hosts.filter((h) => h.template === name).length;
    const what = tmpl.dynamic
      ? `dynamic, ${(tmpl.rules ?? []).length} rules`
      : `${tmpl.personality === undefined ? 'built-in default personality' : `"${tmpl.personality}"`}, ${tmpl.ports.length} ports`;
    out.push(`  ${name}  ${what}; ${users === 0 ? 'no host bound' : `${users} host${users === 1 ? '' : 's'}`}`);
  }
  out.push('');

  out.push(`claim ranges (${cfg.claims.length})`);
  if (cfg.claims.length === 0) out.push('  none: only the hosts above are answered for');
  for (const claim of cfg.claims) {
    const cidr = parseCidrStrict(claim.range);
    const size = typeof cidr === 'string' ? 0 : 2 ** (32 - cidr.prefix);
    const statics = cfg.hosts.filter((h) => containsAddress(claim.range, h.address)).length;
    out.push(`  ${claim.range}  template ${claim.template}  (${size} addresses, ${statics} statically bound; ${claim.origin})`);
    const tmpl = cfg.templates.get(claim.template);
    if (tmpl && typeof cidr !== 'string') {
      // Show the MAC the first usable address would get; each address gets its own.
      describeTemplate(out, tmpl, size > 2 ? cidr.network + 1 : cidr.network, data, true);
    }
  }
  out.push('');

  out.push(`dhcp clients (${cfg.dhcp.length})`);
  if (cfg.dhcp.length === 0) out.push('  none');
  for (const d of cfg.dhcp) {
    const on = d.interface === undefined ? "the daemon's interface" : d.interface;
    const mac = d.ethernet === undefined ? 'MAC from the OS vendor' : `MAC from "${d.ethernet}"`;
    const name = d.hostname === undefined ? 'hostname chosen to fit the OS' : `hostname ${d.hostname}`;
    out.push(`  template ${d.template} on ${on}: address from the LAN's DHCP server; ${mac}; ${name} (${d.origin})`);
  }
  out.push('');
  describeHoneydExtras(out, cfg, data);

  describeTopology(out, cfg);

  if ((cfg.ship ?? []).length > 0) {
    out.push(`shippers (${(cfg.ship ?? []).length})`);
    for (const s of cfg.ship ?? []) {
      if (s.kind === 'postgres') {
        out.push(`  ${s.name}  postgres ${redactUrl(s.url)}  batches of ${s.batch} events every ${s.intervalMs} ms from the store's outbox; reconnect backoff up to ${s.reconnectMaxMs} ms`);
        continue;
      }
      const tls = s.tls === undefined ? '' : `, ${s.tls.verify ? 'verifying the collector' : 'NOT verifying the collector'}${s.tls.caFile === undefined ? ' against the system CAs' : ` against ${s.tls.caFile}`}${s.tls.certFile === undefined ? '' : ', client certificate'}`;
      const kinds = s.kinds === undefined ? 'every event kind' : `${s.kinds.length} event kinds`;
      out.push(`  ${s.name}  syslog ${s.transport}://${s.host}:${s.port}  facility ${s.facility}, ${s.transport === 'udp' ? 'one datagram per event' : s.transport === 'tls' ? 'octet-counted' : s.framing}${tls}; ${kinds}, queue ${s.queueEvents} events, messages up to ${s.maxMessageBytes} bytes`);
    }
    out.push('');
  }
  out.push('limits');
  for (const [key, value] of Object.entries(cfg.limits)) out.push(`  ${key.padEnd(24)}${value}`);
  out.push('claim settings');
  for (const [key, value] of Object.entries(cfg.claim)) out.push(`  ${key.padEnd(24)}${String(value)}`);
  const warnings = data.warnings ?? [];
  if (warnings.length > 0) {
    const refusing = warnings.filter((w) => w.blocksRun).length;
    out.push('');
    out.push(`warnings (${warnings.length}${refusing > 0 ? `; ${refusing} make decoyd run refuse to start` : ''})`);
    for (const w of warnings) out.push(`  ${formatIssue(w)}`);
  }
  return out.join('\n') + '\n';
}

/** Where a bound address sits in the topology, as `check` shows it. */
function topologyNote(cfg: DecoydConfig, address: string): string {
  const t = cfg.topology;
  if (t.entries.length === 0) return '';
  if (t.entries.some((e) => e.router === address)) return '; entry router, on the LAN';
  const link = t.links
    .filter((l) => containsAddress(l.network, address))
    .sort((a, b) => Number(b.network.split('/')[1]) - Number(a.network.split('/')[1]))[0];
  const isRouter = [...t.links, ...t.routes, ...t.unreach].some((r) => r.router === address) || t.routes.some((r) => r.gateway === address);
  if (isRouter) return '; virtual router, no ARP';
  return link ? `; behind virtual router ${link.router}, no ARP` : '';
}

/** The routers as configured: entries, then each router's links, routes and unreach networks. */
function describeTopology(out: string[], cfg: DecoydConfig): void {
  const t = cfg.topology;
  if (t.entries.length + t.links.length + t.routes.length + t.unreach.length === 0) return;
  out.push(`topology (${t.entries.length} entries, ${t.links.length} links, ${t.routes.length} routes, ${t.unreach.length} unreach)`);
  for (const e of t.entries) out.push(`  entry ${e.router} for ${e.network ?? '0.0.0.0/0'}  (${e.origin})`);
  for (const l of t.links) out.push(`  ${l.router}  link ${l.network}  (${l.origin})`);
  for (const r of t.routes) {
    const latency = r.latencyMs ?? 3;
    const attrs = [`latency ${latency} ms ± ${r.jitterMs ?? latency / 10}`];
    if (r.lossPercent !== undefined) attrs.push(`loss ${r.lossPercent} %`);
    if (r.bandwidthBps !== undefined) attrs.push(`bandwidth ${r.bandwidthBps} bit/s`);
    if (r.dropBetweenMs !== undefined) attrs.push(`drop between ${r.dropBetweenMs.low}-${r.dropBetweenMs.high} ms`);
    out.push(`  ${r.router}  ${r.network} via ${r.gateway}  ${attrs.join(', ')}  (${r.origin})`);
  }
  for (const u of t.unreach) out.push(`  ${u.router}  unreach ${u.network}  (${u.origin})`);
  out.push('');
}

function describeTemplate(
  out: string[],
  tmpl: TemplateConfig,
  ip: number,
  data: DescribeData,
  sample = false,
  cfg?: DecoydConfig,
): void {
  if (tmpl.dynamic) {
    // A dynamic template has no behaviour of its own; its rules' templates answer.
    const rules = tmpl.rules ?? [];
    out.push(`      dynamic      ${rules.length} rules; per new flow the first that holds answers (none: the first rule's template)`);
    for (const rule of rules) {
      out.push(`        ${conditionText(rule.condition)} -> ${rule.template}`);
      if (rule.condition.kind === 'os') out.push(`          ${osRuleText(rule.condition.value, data.p0fLabels)}`);
    }
    const first = rules[0] === undefined ? undefined : cfg?.templates.get(rules[0].template);
    if (first !== undefined) {
      const info = first.personality === undefined ? undefined : data.osDbNames?.get(first.personality);
      const own = tmpl.ethernet === undefined ? { ...first } : { ...first, ethernet: tmpl.ethernet };
      out.push(`      mac          ${macText(own, info?.vendor, ip, data, sample)}, shared by every rule (ARP answers as ${first.name})`);
    }
    return;
  }
  const info = tmpl.personality === undefined ? undefined : data.osDbNames?.get(tmpl.personality);
  let personality = tmpl.personality === undefined ? 'built-in default' : `"${tmpl.personality}"`;
  if (info?.vendor) personality += `  [class vendor ${info.vendor}]`;
  if (info && info.count > 1) personality += `  (${info.count} entries share this name)`;
  out.push(`      personality  ${personality}`);
  out.push(`      mac          ${macText(tmpl, info?.vendor, ip, data, sample)}`);
  out.push(`      open         ${portList(tmpl.ports, 'open', true)}`);
  out.push(`      reset        ${portList(tmpl.ports, 'reset', false)}`);
  out.push(`      blocked      ${portList(tmpl.ports, 'block', false)}`);
  out.push(`      other ports  tcp ${tmpl.defaults.tcp}, udp ${tmpl.defaults.udp}; icmp ${tmpl.defaults.icmp}`);
  const extras: string[] = [];
  if (tmpl.uptime !== undefined) extras.push(`uptime ${formatUptime(tmpl.uptime)}`);
  if (tmpl.dropRateIn > 0) extras.push(`drops ${tmpl.dropRateIn}% of inbound packets`);
  if (tmpl.dropRateSyn !== undefined) extras.push(`drops ${tmpl.dropRateSyn}% of new SYNs`);
  if (tmpl.uid !== undefined) extras.push(`scripts and subsystems as uid ${tmpl.uid}${tmpl.gid !== undefined ? ` gid ${tmpl.gid}` : ''}`);
  if (tmpl.maxfds !== undefined) extras.push(`maxfds ${tmpl.maxfds}`);
  if (tmpl.spoof) extras.push(`spoof${tmpl.spoof.from ? ` from ${tmpl.spoof.from}` : ''}${tmpl.spoof.to ? ` to ${tmpl.spoof.to}` : ''}`);
  if (tmpl.annotation) extras.push(`annotate${tmpl.annotation.finscan === false ? ' no finscan' : tmpl.annotation.finscan ? ' finscan' : ''}${tmpl.annotation.fragment ? ` fragment ${tmpl.annotation.fragment}` : ''}`);
  if (extras.length > 0) out.push(`      ${extras.join('; ')}`);
  const defaults = tmpl.defaultServices;
  if (defaults?.tcp) out.push(`      other tcp    ${serviceText(defaults.tcp)}`);
  if (defaults?.udp) out.push(`      other udp    ${serviceText(defaults.udp)}`);
  for (const sub of tmpl.subsystems ?? []) {
    const user = tmpl.uid === undefined ? 'as nobody' : `as uid ${tmpl.uid}${tmpl.gid === undefined ? '' : ` gid ${tmpl.gid}`}`;
    out.push(`      subsystem    ${JSON.stringify(sub.command)}${sub.shared ? ' shared' : ''}${sub.restart ? ' restart' : ''} (${sub.origin})`);
    out.push(`                   ${sub.shared ? 'one program for every host of the template' : 'one program per host'}, run by /bin/sh -c ${user} in an empty network`);
    out.push(`                   namespace; its TCP listeners open ports the template does not define${sub.restart ? '; restarted when it dies' : ''}`);
    if (data.subsystemProblem !== undefined) out.push(`                   cannot start here: ${data.subsystemProblem}`);
  }
}

function serviceText(s: ServiceSpec): string {
  switch (s.kind) {
    case 'none':
      return 'accept and discard';
    case 'banner':
      return `banner ${JSON.stringify(s.banner)}`;
    case 'echo':
      return 'echo';
    case 'identity':
      return `identity ${JSON.stringify(s.identity.product)}`;
    case 'script':
      return `script ${JSON.stringify(s.command)}`;
    case 'proxy':
      return `proxy ${s.target}`;
    case 'internal':
      return `internal ${JSON.stringify(s.module)} (not run yet)`;
    case 'tarpit':
      return `tarpit${s.inner ? ` + ${serviceText(s.inner)}` : ''}`;
    // ssh / telnet emulators
    case 'ssh':
      return `ssh emulator ${JSON.stringify(s.identity.product)}${s.identity.version === undefined ? '' : ' ' + s.identity.version}, ${sshDescription(s.identity.product, s.identity.version)}; ${loginText(s.ssh.auth)}, MaxAuthTries ${s.ssh.maxAuthTries}`;
    case 'telnet':
      return `telnet emulator ${JSON.stringify(s.identity.product)}; ${loginText(s.telnet.auth)}, ${s.telnet.maxAttempts} attempts`;
    case 'http':
      return httpServiceText(s.identity, s.http);
    case 'line':
      return `${s.protocol} emulator ${JSON.stringify(s.identity.product)}${s.identity.version === undefined ? '' : ' ' + s.identity.version}${s.identity.tls ? ' in TLS' : s.options.starttls ? ' (STARTTLS offered)' : ''}; ${s.options.auth.mode === 'refuse' ? 'every login refused' : s.options.auth.mode === 'accept' ? `logins for ${s.options.auth.credentials.map((c) => c.user).join(', ')}` : `logins after ${s.options.auth.attempts} refusals per source`}`;
    case 'dns':
      return `dns responder ${JSON.stringify(s.identity.product)}, ${Object.keys(s.dns.records).length} A records, no recursion`;
    case 'snmp':
      return `snmp agent ${JSON.stringify(s.identity.product)}, community ${JSON.stringify(s.snmp.community)}, system group`;
  }
}

/** Which p0f labels a `source os` name matches (stack/dynamic/os-condition.ts). */
function osRuleText(name: string, labels: readonly P0fLabel[] | string | undefined): string {
  if (labels === undefined) return 'p0f labels: (not read)';
  if (typeof labels === 'string') return `p0f labels: cannot read them (${labels}); this rule never holds`;
  const hit = [...new Set(labels.filter((l) => conditionMatchesLabel(name, l)).map((l) => l.text))];
  if (hit.length === 0) return `p0f labels: none is named ${JSON.stringify(name)}; this rule never holds`;
  const shown = hit.slice(0, 8).join(', ');
  return `p0f labels (${hit.length}): ${shown}${hit.length > 8 ? ', …' : ''}`;
}

// ssh / telnet emulators
function loginText(a: LoginPolicy): string {
  if (a.mode === 'refuse') return 'every login refused';
  if (a.mode === 'accept') return `fake shell for ${a.credentials.map((c) => c.user).join(', ')}`;
  return `fake shell after ${a.attempts} refusals per source`;
}

function sshDescription(product: string, version: string | undefined): string {
  const p = sshPersonaFor(product, version);
  if (typeof p === 'string') return p;
  return `ident "SSH-2.0-${p.software}", ${p.id} KEXINIT (HASSH-server ${hasshServer(p.kex, p.ciphers, p.macs, p.compression)})`;
}

/** `http "nginx" 1.18.0 (tls; 3 pages, dir /srv/www; auth /admin)`. */
function httpServiceText(id: ServiceIdentitySpec, http: HttpOptions): string {
  const parts: string[] = [];
  if (id.tls) parts.push('tls');
  const pages = Object.keys(http.pages).length;
  if (pages > 0) parts.push(`${pages} page${pages === 1 ? '' : 's'}`);
  if (http.pagesDir !== undefined) parts.push(`dir ${http.pagesDir}`);
  if (http.auth.length > 0) parts.push(`basic auth ${http.auth.map((a) => a.path).join(' ')}`);
  if (http.headers.length > 0) parts.push(`${http.headers.length} extra header${http.headers.length === 1 ? '' : 's'}`);
  return `http emulator ${JSON.stringify(id.product)}${id.version === undefined ? '' : ' ' + id.version}${parts.length > 0 ? ` (${parts.join('; ')})` : ''}`;
}

function conditionText(c: DynamicCondition): string {
  const clock = (sec: number): string => `${String(Math.floor(sec / 3600)).padStart(2, '0')}:${String(Math.floor((sec % 3600) / 60)).padStart(2, '0')}`;
  switch (c.kind) {
    case 'os':
      return `source os = ${JSON.stringify(c.value)}`;
    case 'ip':
      return `source ip = ${c.value}`;
    case 'time':
      return `time ${clock(c.value.startSeconds)}-${clock(c.value.endSeconds)}`;
    case 'proto':
      return c.value;
    case 'default':
      return 'otherwise';
  }
}

/** Personality mapping and real hosts (the topology is described by describeTopology). */
function describeHoneydExtras(out: string[], cfg: DecoydConfig, data: DescribeData): void {
  const mappings = data.personalityMappings ?? [];
  if (mappings.length > 0) {
    out.push(`personality mapping (${mappings.length}: names not in nmap-os-db)`);
    for (const m of mappings) {
      const users = m.templates.length > 0 ? `; templates ${m.templates.join(', ')}` : '';
      out.push(`  "${m.wanted}" -> "${m.chosen}"`);
      out.push(`      ${m.reason} (${m.origin}${users})`);
    }
    out.push('');
  }
  const real = cfg.realHosts ?? [];
  if (real.length > 0) {
    out.push(`real hosts in the topology (${real.length}; reached through the entry router, decoyd forwards to and from them)`);
    for (const r of real) out.push(`  ${r.address} on ${r.interface}  (${r.origin})`);
    out.push('');
  }
}

function macText(tmpl: TemplateConfig, osVendor: string | undefined, ip: number, data: DescribeData, sample: boolean): string {
  const given = tmpl.ethernet === undefined ? 'from the OS vendor' : `from "${tmpl.ethernet}"`;
  if (!data.macPrefixes) return `(chosen at start, ${given})`;
  try {
    const mac = chooseMac(tmpl.ethernet, osVendor, ip, data.macPrefixes, data.macSeed);
    const vendor = data.macPrefixes.vendorOf(mac.readUIntBE(0, 3)) ?? 'unregistered prefix';
    const prefix = sample ? `e.g. ${ipToString(ip)} -> ` : '';
    return `${prefix}${macToString(mac)} (${vendor}; ${given})`;
  } catch (err) {
    return `(cannot choose: ${err instanceof Error ? err.message : String(err)})`;
  }
}

function portList(ports: readonly PortRule[], action: PortRule['action'], withService: boolean): string {
  const chosen = ports.filter((p) => p.action === action);
  if (chosen.length === 0) return '-';
  return chosen
    .map((p) => {
      const name = `${p.proto}/${p.port}`;
      if (!withService || !p.service) return name;
      if (p.service.kind === 'banner') return `${name} (banner ${JSON.stringify(p.service.banner)})`;
      if (p.service.kind === 'identity') {
        const id = p.service.identity;
        const tunnel = id.tls && id.name !== 'https' && id.name?.startsWith('ssl/') !== true ? 'ssl/' : '';
        return `${name} (${tunnel}${id.name ?? 'service'} ${JSON.stringify(id.product)}${id.version === undefined ? '' : ' ' + id.version})`;
      }
      if (p.service.kind === 'echo' || p.service.kind === 'none') return `${name} (${p.service.kind})`;
      return `${name} (${serviceText(p.service)})`;
    })
    .join(', ');
}

function formatUptime(seconds: number): string {
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  return days > 0 ? `${days}d ${hours}h` : `${hours}h ${Math.floor((seconds % 3600) / 60)}m`;
}

function containsAddress(range: string, address: string): boolean {
  const cidr = parseCidrStrict(range);
  if (typeof cidr === 'string') return false;
  const ip = parseIp(address);
  return ip >= cidr.network && ip < cidr.network + 2 ** (32 - cidr.prefix);
}
