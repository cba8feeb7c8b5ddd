/**
 * nmap's matching, in process: which probes nmap sends to a port and in what order, which rule
 * wins for a response (first match across the probe, its fallbacks, then NULL), and the
 * version-info substitution ($1..$9, $P, $SUBST, $I) that produces the printed fields.
 */

import { INFO_FIELDS, ruleRegex, type InfoField, type MatchRule, type Probe, type ProbeProto, type ServiceProbeFile } from './service-probes';

export const DEFAULT_INTENSITY = 7;
/** nmap's field buffers (service_scan.cc): a longer substitution leaves the field empty. */
export const FIELD_CAP: Record<InfoField, number> = { p: 80, v: 80, h: 80, i: 256, o: 32, d: 32 };

/**
 * Probes nmap -sV sends to `port`, in order (service_scan.cc nextProbe): NULL first (TCP only),
 * then probes listing the port (`sslports` inside a TLS tunnel), then the rest with rarity ≤ intensity.
 */
export function probeOrder(file: ServiceProbeFile, proto: ProbeProto, port: number, tunnel = false, intensity = DEFAULT_INTENSITY): Probe[] {
  const own = file.probes.filter((p) => p.proto === proto);
  const out: Probe[] = [];
  const nul = own.find((p) => p.name === 'NULL');
  if (proto === 'tcp' && nul !== undefined) out.push(nul);
  const listed = (p: Probe): boolean => (tunnel ? p.sslports.has(port) : p.ports.has(port));
  for (const p of own) if (p !== nul && listed(p)) out.push(p);
  for (const p of own) if (p !== nul && !listed(p) && p.rarity <= intensity) out.push(p);
  return out;
}

/** Rules tested against a response to `probe`, in nmap's order: its own, its fallbacks, then NULL (TCP). */
export function matchChain(file: ServiceProbeFile, probe: Probe): MatchRule[] {
  const byName = (name: string): Probe | undefined => file.probes.find((p) => p.name === name && p.proto === probe.proto)
    ?? file.probes.find((p) => p.name === name);
  const rules = [...probe.rules];
  const seen = new Set<Probe>([probe]);
  for (const name of probe.fallback) {
    const fb = byName(name);
    if (fb !== undefined && !seen.has(fb)) { seen.add(fb); rules.push(...fb.rules); }
  }
  if (probe.proto === 'tcp') {
    const nul = byName('NULL');
    if (nul !== undefined && !seen.has(nul)) rules.push(...nul.rules);
  }
  return rules;
}

export interface RuleHit {
  rule: MatchRule;
  captures: (string | undefined)[];
}

/** The first rule of `rules` whose regex matches `subject` (latin1), as nmap's testMatch. */
export function firstMatch(rules: readonly MatchRule[], subject: string): RuleHit | undefined {
  for (const rule of rules) {
    const rx = ruleRegex(rule);
    if (rx === undefined) continue;
    const m = rx.compiled.exec(subject);
    if (m !== null) return { rule, captures: Array.from(m) };
  }
  return undefined;
}

/** One parsed piece of a version-info template. */
export type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'ref'; group: number; helper: 'plain' | 'P' | 'SUBST' | 'I'; find?: string; repl?: string; endian?: '>' | '<' };

export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = '';
  let i = 0;
  const flush = (): void => { if (text !== '') { parts.push({ kind: 'text', text }); text = ''; } };
  while (i < template.length) {
    if (template[i] === '$') {
      const rest = template.slice(i);
      let m = /^\$(\d)/.exec(rest);
      if (m !== null) { flush(); parts.push({ kind: 'ref', group: Number(m[1]), helper: 'plain' }); i += m[0].length; continue; }
      m = /^\$P\((\d)\)/.exec(rest);
      if (m !== null) { flush(); parts.push({ kind: 'ref', group: Number(m[1]), helper: 'P' }); i += m[0].length; continue; }
      m = /^\$SUBST\((\d),"([^"]*)","([^"]*)"\)/.exec(rest);
      if (m !== null) { flush(); parts.push({ kind: 'ref', group: Number(m[1]), helper: 'SUBST', find: m[2], repl: m[3] }); i += m[0].length; continue; }
      m = /^\$I\((\d),"([<>])"\)/.exec(rest);
      if (m !== null) { flush(); parts.push({ kind: 'ref', group: Number(m[1]), helper: 'I', endian: m[2] as '>' | '<' }); i += m[0].length; continue; }
    }
    text += template[i++];
  }
  flush();
  return parts;
}

/** Applies one helper to a capture, as nmap's substvar does. */
export function applyHelper(part: Extract<TemplatePart, { kind: 'ref' }>, capture: string): string {
  switch (part.helper) {
    case 'plain': return capture;
    case 'P': {
      let out = '';
      for (const ch of capture) { const c = ch.charCodeAt(0); if (c >= 0x20 && c < 0x7f) out += ch; }
      return out;
    }
    case 'SUBST': return part.find === '' ? capture : capture.split(part.find as string).join(part.repl as string);
    case 'I': {
      if (capture.length > 8) return '';
      let v = 0n;
      const bytes = [...capture].map((c) => BigInt(c.charCodeAt(0)));
      if (part.endian === '<') bytes.reverse();
      for (const b of bytes) v = (v << 8n) | b;
      return v.toString();
    }
  }
}

/** nmap's dotmplsubst: substitute, strip trailing blanks and commas; undefined if a group is unset. */
export function substitute(template: string, captures: readonly (string | undefined)[]): string | undefined {
  let out = '';
  for (const part of parseTemplate(template)) {
    if (part.kind === 'text') { out += part.text; continue; }
    const cap = captures[part.group];
    if (cap === undefined) return undefined;
    out += applyHelper(part, cap);
  }
  return out.replace(/[\s,]+$/, '');
}

export type VersionInfo = Partial<Record<InfoField, string>>;

/** The fields nmap would print for a hit (empty or over-long fields left out). */
export function versionInfo(hit: RuleHit): VersionInfo {
  const out: VersionInfo = {};
  for (const f of INFO_FIELDS) {
    const t = hit.rule.info[f];
    if (t === undefined) continue;
    const v = substitute(t, hit.captures);
    if (v !== undefined && v !== '' && v.length < FIELD_CAP[f]) out[f] = v;
  }
  return out;
}
