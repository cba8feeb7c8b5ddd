/**
 * Checks that need the whole configuration (or the Nmap data files), shared by both front
 * ends: references to templates, repeated addresses, overlapping claim ranges, personality
 * names present in nmap-os-db, and ethernet values that are a unicast MAC or a known vendor.
 */

import { parseIp, parseMac } from '../wire/address';
import type { IssueList } from './errors';
import type { MacPrefixes } from './mac-prefixes';
import { DEFAULT_TEMPLATE_NAME, parseCidrStrict, cidrsOverlap, cidrContains, type Cidr, type Located, type ParsedConfig } from './model';
import type { OsDbNames } from './osdb-names';
import { checkTopology } from './topology-check';

export interface ValidationData {
  /** Fingerprint names to check personalities against; skipped when absent. */
  osDbNames?: OsDbNames;
  /** Vendor table to check ethernet vendor names against; skipped when absent. */
  macPrefixes?: MacPrefixes;
  /** Personality names were already resolved or reported (Honeyd syntax: personality-resolve.ts). */
  personalitiesResolved?: boolean;
}

export function validateParsed(parsed: ParsedConfig, issues: IssueList, data: ValidationData = {}): void {
  const { config, origins } = parsed;
  const report = (at: Located, message: string): void => issues.add(at.pos, message, at.keyPath);

  const firstBinding = new Map<string, string>();
  config.hosts.forEach((host, i) => {
    const at = origins.hosts[i];
    if (!config.templates.has(host.template)) report(at.template, `unknown template "${host.template}"`);
    const first = firstBinding.get(host.address);
    if (first !== undefined) report(at.address, `duplicate address ${host.address} (first bound at ${first})`);
    else firstBinding.set(host.address, host.origin);
  });

  const ranges: { cidr: Cidr; text: string; origin: string }[] = [];
  config.claims.forEach((claim, i) => {
    const at = origins.claims[i];
    if (!config.templates.has(claim.template)) {
      const hint = claim.template === DEFAULT_TEMPLATE_NAME ? ' (a claim without a template uses "default")' : '';
      report(at.template, `unknown template "${claim.template}"${hint}`);
    }
    const cidr = parseCidrStrict(claim.range);
    if (typeof cidr === 'string') return;
    const clash = ranges.find((r) => cidrsOverlap(r.cidr, cidr));
    if (clash) report(at.range, `range ${claim.range} overlaps ${clash.text} (at ${clash.origin})`);
    else ranges.push({ cidr, text: claim.range, origin: claim.origin });
  });

  const dhcpMacs = new Map<string, string>();
  config.dhcp.forEach((binding, i) => {
    const at = origins.dhcp[i];
    if (at === undefined) return;
    // Two DHCP clients with one MAC would be one client to the server (and to the switch).
    const fixed = parseMac(binding.ethernet ?? config.templates.get(binding.template)?.ethernet ?? '');
    if (fixed !== null) {
      const key = fixed.toString('hex');
      const first = dhcpMacs.get(key);
      if (first !== undefined) report(at.ethernet ?? at.template, `MAC ${binding.ethernet ?? config.templates.get(binding.template)?.ethernet} is already used by the dhcp binding at ${first}`);
      else dhcpMacs.set(key, binding.origin);
    }
    if (!config.templates.has(binding.template)) report(at.template, `unknown template "${binding.template}"`);
    if (binding.ethernet !== undefined) {
      const message = ethernetProblem(binding.ethernet, data.macPrefixes);
      if (message) report(at.ethernet ?? at.template, message);
    }
  });
  const at = (origin: string): Located => {
    const i = origin.lastIndexOf(':');
    return { pos: { file: origin.slice(0, i), line: Number(origin.slice(i + 1)) } };
  };
  for (const tmpl of config.templates.values()) {
    for (const rule of tmpl.rules ?? []) {
      const target = config.templates.get(rule.template);
      if (!target) report(at(rule.origin), `unknown template "${rule.template}" in a rule of dynamic template "${tmpl.name}"`);
      else if (target.dynamic) report(at(rule.origin), `a dynamic template's rule must name a plain template; "${rule.template}" is dynamic`);
    }
  }

  for (const [name, tmpl] of config.templates) {
    if (tmpl.personality !== undefined && data.osDbNames && !data.personalitiesResolved && !data.osDbNames.has(tmpl.personality)) {
      const at = origins.personality.get(name) ?? origins.templates.get(name);
      if (at) report(at, `unknown personality "${tmpl.personality}": no such Fingerprint in ${config.osDb.join(', ')}${suggestName(tmpl.personality, data.osDbNames)}`);
    }
    if (tmpl.ethernet !== undefined) {
      const at = origins.ethernet.get(name) ?? origins.templates.get(name);
      const message = ethernetProblem(tmpl.ethernet, data.macPrefixes);
      if (message && at) report(at, message);
    }
  }
  checkTopology(config, issues);
}

/** True when a static binding sits inside a claim range (it wins; describe.ts says so). */
export function hostInClaims(address: string, claims: readonly { range: string }[]): string | undefined {
  const ip = parseIp(address);
  for (const claim of claims) {
    const cidr = parseCidrStrict(claim.range);
    if (typeof cidr !== 'string' && cidrContains(cidr, ip)) return claim.range;
  }
  return undefined;
}

function ethernetProblem(ethernet: string, prefixes: MacPrefixes | undefined): string | undefined {
  const mac = parseMac(ethernet);
  if (mac) return (mac[0] & 1) === 1 ? `ethernet ${ethernet} is a multicast address; a host needs a unicast MAC` : undefined;
  if (/^[0-9a-f*]{1,2}([:-][0-9a-f*]{1,2})+$/i.test(ethernet)) return `"${ethernet}" is not a MAC address (expected six hex pairs like 00:11:22:33:44:55)`;
  if (prefixes && prefixes.findVendor(ethernet).ouis.length === 0) return `unknown ethernet vendor "${ethernet}" (not in nmap-mac-prefixes)`;
  return undefined;
}

/** ` (did you mean "…"?)` for a case slip or a name given only in part. */
function suggestName(wanted: string, names: OsDbNames): string {
  const lower = wanted.toLowerCase();
  let partial: string | undefined;
  for (const name of names.keys()) {
    const candidate = name.toLowerCase();
    if (candidate === lower) return ` (did you mean "${name}"?)`;
    if (partial === undefined && candidate.includes(lower)) partial = name;
  }
  return partial === undefined ? '' : ` (did you mean "${partial}"?)`;
}
