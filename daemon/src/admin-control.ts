/**
 * The daemon's side of the admin API's control interface (admin-api/src/control.ts): lists and
 * changes decoy hosts through the address manager's own bind/unbind (so a POSTed host is probed
 * exactly as at start), lists templates and searches personalities.
 */
import type { AddHostResult, AdminControl, HostInfo, PersonalityInfo, TemplateInfo } from '../../admin-api/src/control';
import type { DecoydConfig } from './config/types';
import type { DaemonParts } from './daemon';
import type { OsDbNames } from './config/osdb-names';
import type { DecoyHost } from './stack/decoy-table';
import { ipToString, parseCidr, parseIp } from './wire/address';

interface IndexedPersonality { info: PersonalityInfo; text: string }

export class DaemonControl implements AdminControl {
  /**
   * Built once at start from the name index the configuration check already read (config/osdb-names.ts),
   * so a search never reads or parses nmap-os-db on the request path: it is one pass over ~5,600
   * lower-cased strings (well under a millisecond).
   */
  private readonly personalityIndex: IndexedPersonality[];

  constructor(
    private readonly cfg: DecoydConfig,
    private readonly parts: DaemonParts,
    osDbNames: OsDbNames | undefined,
    private readonly createHost: (ip: number, template: string) => DecoyHost | undefined,
    private readonly counters: () => Record<string, number>,
  ) {
    this.personalityIndex = [];
    for (const [name, entry] of osDbNames ?? []) {
      const classes = entry.classes.map((c) => [c.vendor, c.family, c.generation, c.type].filter((x) => x !== '').join(' | '));
      this.personalityIndex.push({ info: { name, classes }, text: [name, ...classes].join('\n').toLowerCase() });
    }
  }

  hosts(): HostInfo[] {
    const out: HostInfo[] = [];
    const seen = new Set<number>();
    const addresses = this.parts.engine.addresses;
    for (const ip of addresses.staticAddresses()) {
      seen.add(ip);
      const host = this.parts.table.get(ip);
      const phase = addresses.staticPhase(ip) ?? 'unknown';
      const bound = host ?? this.parts.staticHosts.find((h) => h.ip === ip);
      out.push({ address: ipToString(ip), template: bound?.template.name ?? '', mac: bound?.macText ?? '', origin: 'static', state: phase });
    }
    for (const host of this.parts.table.hosts()) {
      if (seen.has(host.ip)) continue;
      out.push({ address: host.ipText, template: host.template.name, mac: host.macText, origin: host.origin, state: 'active' });
    }
    return out.sort((a, b) => parseIp(a.address) - parseIp(b.address));
  }

  addHost(address: string, template: string): AddHostResult {
    const ip = parseIp(address);
    if (ip < 0) return { ok: false, status: 400, error: `${address} is not an IPv4 address` };
    if (!this.parts.templates.has(template)) return { ok: false, status: 404, error: `no template "${template}"` };
    // The capture filter is fixed at start: a new host must sit in a network it already lets through.
    const inCapture = this.parts.captureNetworks.some((net) => {
      const c = parseCidr(net);
      return c !== null && ip >= c.network && ip < c.network + c.size;
    });
    if (!inCapture) return { ok: false, status: 400, error: `${address} is outside the captured networks (${this.parts.captureNetworks.join(', ')})` };
    const addresses = this.parts.engine.addresses;
    if (addresses.staticPhase(ip) !== undefined || this.parts.table.has(ip)) return { ok: false, status: 409, error: `${address} is already a decoy` };
    const host = this.createHost(ip, template);
    if (host === undefined) return { ok: false, status: 404, error: `no template "${template}"` };
    addresses.bindStatic([host], Date.now());
    return { ok: true, host: { address, template, mac: host.macText, origin: 'static', state: addresses.staticPhase(ip) ?? 'probing' } };
  }

  removeHost(address: string): boolean {
    const ip = parseIp(address);
    return ip >= 0 && this.parts.engine.addresses.unbindStatic(ip, Date.now());
  }

  templates(): TemplateInfo[] {
    return [...this.cfg.templates.values()].map((t) => ({
      name: t.name, personality: t.personality, defaults: { ...t.defaults },
      ports: t.ports.map((p) => ({ proto: p.proto, port: p.port, action: p.action, ...(p.service === undefined ? {} : { service: p.service.kind }) })),
    }));
  }

  personalities(query: string, limit: number): PersonalityInfo[] {
    const needle = query.toLowerCase();
    const out: PersonalityInfo[] = [];
    for (const p of this.personalityIndex) {
      if (out.length >= limit) break;
      if (p.text.includes(needle)) out.push(p.info);
    }
    return out;
  }

  stats(): Record<string, number> {
    return this.counters();
  }
}
