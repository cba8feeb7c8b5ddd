/**
 * Response synthesis: for (proto, port, identity) find the nmap-service-probes rules that print
 * exactly the configured product and version, generate bytes each rule matches with the values
 * pinned into its capture groups, and keep the first candidate that survives the whole chain
 * nmap would test (earlier rules of the probe, its fallbacks, NULL), so no other rule wins.
 */

import type { ServiceIdentitySpec } from '../../config/types';
import { SeededRandom } from '../../personality/model/prng';
import { generateVerified } from '../probes/generate';
import { firstMatch, matchChain, parseTemplate, probeOrder, substitute, versionInfo, type TemplatePart, type VersionInfo } from '../probes/matcher';
import { ruleRegex, type InfoField, type MatchRule, type Probe, type ProbeProto, type ServiceProbeFile } from '../probes/service-probes';

/** What one port of one host sends: the probe it answers and the exact bytes (latin1). */
export interface IdentityPlan {
  proto: ProbeProto;
  port: number;
  tls: boolean;
  spec: ServiceIdentitySpec;
  probe: Probe;
  rule: MatchRule;
  response: string;
  /** What nmap prints for the response (checked, equal to the configured values). */
  printed: VersionInfo;
  /** Where the probe sits in nmap's order for this port (0 = NULL, banner on connect). */
  position: number;
  /** Offset of a 29-byte HTTP date in `response`, refreshed to the current time when sent. */
  dateAt?: number;
  /** Byte ranges of `response` refilled with fresh printable random bytes per connection (salts, challenges). */
  nonces?: { at: number; len: number }[];
  /** Payloads of the protocol's other probes (answered with silence, never with `response`). */
  otherPayloads: string[];
}

/** A rule whose templates can print the configured values, with the capture values that do it. */
export interface Candidate {
  probe: Probe;
  rule: MatchRule;
  position: number;
  /** Alternative pin sets (group → capture text), tried in order. */
  pinSets: Map<number, string>[];
  /** Groups that take the host name (h/ captured), pinned per host when they accept it. */
  hostnameGroups: number[];
}

const SPEC_FIELD: Record<InfoField, keyof ServiceIdentitySpec | undefined> = {
  p: 'product', v: 'version', i: 'info', h: 'hostname', o: 'os', d: 'devicetype',
};

export function serviceNameOf(spec: ServiceIdentitySpec): string | undefined {
  if (spec.name === undefined) return undefined;
  if (spec.name === 'https') return 'http';
  return spec.name.startsWith('ssl/') ? spec.name.slice(4) : spec.name;
}

/** Inverts one helper: capture texts that the helper turns into `text`. */
function invertPart(part: Extract<TemplatePart, { kind: 'ref' }>, text: string): string[] {
  switch (part.helper) {
    case 'plain': case 'P': return [text];
    case 'SUBST': {
      if (part.repl === '' || part.find === undefined || part.repl === undefined) return [text];
      return [text.split(part.repl).join(part.find)];
    }
    case 'I': {
      if (!/^\d+$/.test(text)) return [];
      let v = BigInt(text);
      const out: string[] = [];
      for (const width of [1, 2, 4, 8]) {
        if (v >= 1n << BigInt(width * 8)) continue;
        const bytes: number[] = [];
        let x = v;
        for (let i = 0; i < width; i++) { bytes.unshift(Number(x & 0xffn)); x >>= 8n; }
        if (part.endian === '<') bytes.reverse();
        out.push(String.fromCharCode(...bytes));
      }
      v = 0n;
      return out;
    }
  }
}

/**
 * Capture assignments that make `template` print exactly `value`; [] when impossible,
 * [empty map] when the template is a literal equal to the value.
 */
export function solveTemplate(template: string, value: string): Map<number, string>[] {
  const parts = parseTemplate(template);
  const refs = parts.filter((p): p is Extract<TemplatePart, { kind: 'ref' }> => p.kind === 'ref');
  if (refs.length === 0) return substitute(template, []) === value ? [new Map()] : [];
  const source = parts.map((p) => (p.kind === 'text' ? p.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : '([\\s\\S]+?)')).join('');
  const m = new RegExp(`^${source}$`).exec(value);
  if (m === null) return [];
  let sets: Map<number, string>[] = [new Map()];
  refs.forEach((ref, k) => {
    const options = invertPart(ref, m[k + 1]);
    const next: Map<number, string>[] = [];
    for (const s of sets) {
      for (const o of options) {
        const have = s.get(ref.group);
        if (have !== undefined && have !== o) continue;
        next.push(new Map(s).set(ref.group, o));
      }
    }
    sets = next;
  });
  // Forward check: substitution of the solution prints the value (trailing-strip included).
  return sets.filter((s) => {
    const caps: string[] = [];
    for (const [g, v] of s) caps[g] = v;
    return substitute(template, caps) === value;
  }).slice(0, 8);
}

function mergePins(a: Map<number, string>[], b: Map<number, string>[]): Map<number, string>[] {
  const out: Map<number, string>[] = [];
  for (const x of a) {
    for (const y of b) {
      let ok = true;
      for (const [g, v] of y) if (x.has(g) && x.get(g) !== v) { ok = false; break; }
      if (ok) out.push(new Map([...x, ...y]));
      if (out.length >= 16) return out;
    }
  }
  return out;
}

/** Candidate rules for an identity on a port, best first (earliest probe nmap sends, then file order). */
export function findCandidates(file: ServiceProbeFile, proto: ProbeProto, port: number, spec: ServiceIdentitySpec): Candidate[] {
  const wanted = serviceNameOf(spec);
  const order = probeOrder(file, proto, port, spec.tls);
  const out: Candidate[] = [];
  order.forEach((probe, position) => {
    for (const rule of probe.rules) {
      if (rule.soft) continue;
      if (wanted !== undefined && rule.service !== wanted) continue;
      const c = candidateFor(rule, spec);
      if (c !== undefined) out.push({ probe, rule, position, ...c });
    }
  });
  // Earliest probe first (fewest silent waits for nmap), then rules that print least beyond the
  // configured values (fewer made-up captures), then file order.
  // Anchored rules read like a whole reply (status line, greeting); unanchored ones match a fragment.
  const rank = new Map(out.map((c) => [c, (c.rule.pattern.startsWith('^') && !c.rule.pattern.startsWith('^.*') ? 0 : 3) + freeRefs(c, spec)]));
  return out.sort((a, b) => a.position - b.position || (rank.get(a) as number) - (rank.get(b) as number) || a.rule.line - b.rule.line);
}

function candidateFor(rule: MatchRule, spec: ServiceIdentitySpec): Pick<Candidate, 'pinSets' | 'hostnameGroups'> | undefined {
  let pins: Map<number, string>[] = [new Map()];
  for (const field of ['p', 'v', 'i', 'h', 'o', 'd'] as InfoField[]) {
    const key = SPEC_FIELD[field] as keyof ServiceIdentitySpec;
    const value = spec[key];
    const template = rule.info[field];
    if (typeof value !== 'string') continue;
    if (template === undefined) {
      if (field === 'p' || field === 'v') return undefined; // product and version must be printed
      continue;
    }
    const solved = solveTemplate(template, value);
    if (solved.length === 0) return undefined;
    pins = mergePins(pins, solved);
    if (pins.length === 0) return undefined;
  }
  const hostnameGroups: number[] = [];
  if (spec.hostname === undefined && rule.info.h !== undefined) {
    for (const part of parseTemplate(rule.info.h)) if (part.kind === 'ref' && part.helper === 'plain') hostnameGroups.push(part.group);
  }
  return { pinSets: pins, hostnameGroups };
}

/**
 * How much a rule prints beyond the configured values: capture references nothing pins (made-up
 * text), and literal extra-info (such a rule describes a particular build, e.g. "unauthenticated
 * root shell"). Without a configured version, a rule that makes one up ranks last.
 */
function freeRefs(c: Candidate, spec: ServiceIdentitySpec): number {
  let n = 0;
  if (spec.version === undefined && c.rule.info.v?.includes('$') === true) n += 50;
  // Extra-info beyond "protocol $N" describes a particular build (e.g. "FreeBSD", "unauthenticated root shell").
  if (spec.info === undefined && c.rule.info.i !== undefined && c.rule.info.i.replace(/protocol \$\d/, '').replace(/[;, ]/g, '') !== '') n += 4;
  if (spec.os === undefined && c.rule.info.o !== undefined) n += 1;
  const pinned = new Set<number>(c.pinSets[0]?.keys() ?? []);
  for (const field of ['i', 'h', 'o', 'd'] as InfoField[]) {
    const t = c.rule.info[field];
    if (t === undefined) continue;
    if (typeof spec[SPEC_FIELD[field] as keyof ServiceIdentitySpec] === 'string') continue;
    const hinted = captureHints(c.rule);
    for (const part of parseTemplate(t)) {
      if (part.kind === 'ref' && !pinned.has(part.group) && !hinted.has(part.group) && !(field === 'h' && c.hostnameGroups.includes(part.group))) n += 2;
    }
  }
  return n;
}

/** Plausible values for captures the config leaves free, keyed by how the rule prints them. */
function captureHints(rule: MatchRule): Map<number, string> {
  const hints = new Map<number, string>();
  const info = rule.info.i;
  if (info !== undefined) {
    const m = /protocol \$(\d)/.exec(info);
    if (m !== null) hints.set(Number(m[1]), rule.service === 'ssh' ? '2.0' : '3');
    const up = /uptime \$(\d)/.exec(info);
    if (up !== null) hints.set(Number(up[1]), String(86400 + (rule.line * 7919) % 3000000));
  }
  return hints;
}

function isHttpProbe(probe: Probe): boolean {
  return /^(GET|OPTIONS|HEAD) \S+ HTTP\/1\.[01]\r\n/.test(probe.payload);
}

/** RFC 7231 IMF-fixdate, always 29 bytes. */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/**
 * A whole HTTP response built around the headers the rule needs (taken from the generated
 * string): status 200, Date, the rule's headers, the usual entity headers and a small page. Tried
 * before the bare generated string; kept only if it still first-matches the same rule.
 */
function httpVariants(generated: string, hostname: string, rng: SeededRandom): { text: string; dateAt: number }[] {
  const m = /^HTTP\/1\.([01]) \d\d\d ?/.exec(generated);
  if (m === null) return [];
  const rest = generated.slice(m[0].length);
  const headers: string[] = [];
  for (const hm of rest.matchAll(/([A-Za-z][A-Za-z0-9-]*): ?([^\r\n]*)/g)) headers.push(`${hm[1]}: ${hm[2]}`);
  if (headers.length === 0 || /\r?\n\r?\n\S/.test(rest)) return [];
  const body = `<html><head><title>${hostname}</title></head><body><h1>${hostname}</h1><p>Nothing to see here yet.</p></body></html>\n`;
  const date = httpDate(Date.now());
  const modified = httpDate(Date.now() - rng.int(30, 900) * 86_400_000);
  const etag = `"${rng.nextU32().toString(16).slice(0, 4)}-${rng.nextU32().toString(16)}"`;
  const head = `HTTP/1.${m[1]} 200 OK\r\nDate: `;
  const tail = `\r\n${headers.join('\r\n')}\r\nLast-Modified: ${modified}\r\nETag: ${etag}\r\nAccept-Ranges: bytes\r\nContent-Length: ${body.length}\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n`;
  const lean = `\r\n${headers.join('\r\n')}\r\nConnection: close\r\n\r\n`;
  return [
    { text: head + date + tail + body, dateAt: head.length },
    { text: head + date + lean, dateAt: head.length },
  ];
}

/**
 * A well-formed DNS answer to nmap's version.bind query around the version text the rule
 * captured: the query's ID, QR/AA/RD/RA, one question, one TXT CHAOS answer with true lengths.
 * Unanchored rules match it as they matched the bare generated string; verified by the caller.
 */
interface Variant { text: string; dateAt?: number; nonces?: { at: number; len: number }[] }

/**
 * A whole MySQL protocol-10 greeting around the version the rule captured: thread id, the two
 * salt halves (refilled per connection), capabilities, charset and the auth plugin, as 5.x/8.x send.
 */
function mysqlVariants(generated: string, rng: SeededRandom): Variant[] {
  const m = /^[\s\S]\0\0\0\n([^\0]+)\0/.exec(generated);
  if (m === null) return [];
  const le = (n: number, bytes: number): string => { let o = ''; for (let i = 0; i < bytes; i++) o += String.fromCharCode((n >>> (8 * i)) & 0xff); return o; };
  const salt = (n: number): string => { let o = ''; for (let i = 0; i < n; i++) o += String.fromCharCode(rng.int(0x21, 0x7e)); return o; };
  const head = '\n' + m[1] + '\0' + le(rng.int(8, 4000), 4);
  const mid = '\0' + le(0xf7ff, 2) + '\x21' + le(0x0002, 2) + le(0x81ff, 2) + '\x15' + '\0'.repeat(10);
  const payload = head + salt(8) + mid + salt(12) + '\0mysql_native_password\0';
  const text = le(payload.length, 3) + '\0' + payload;
  return [{ text, nonces: [{ at: 4 + head.length, len: 8 }, { at: 4 + head.length + 8 + mid.length, len: 12 }] }];
}

function dnsVariants(generated: string, query: string): { text: string; dateAt: undefined }[] {
  const at = generated.indexOf('\xc0\x0c\0\x10\0\x03');
  if (at < 0 || query.length < 12) return [];
  let version = generated.slice(at + 13);
  const nul = version.indexOf('\0');
  if (nul >= 0) version = version.slice(0, nul);
  if (version.length === 0 || version.length > 200) return [];
  const u16 = (n: number): string => String.fromCharCode(n >> 8, n & 0xff);
  const header = query.slice(0, 2) + '\x85\x80' + u16(1) + u16(1) + u16(0) + u16(0);
  const question = query.slice(12);
  const answer = '\xc0\x0c\0\x10\0\x03' + '\0\0\0\0' + u16(version.length + 1) + String.fromCharCode(version.length) + version;
  return [{ text: header + question + answer, dateAt: undefined }];
}

const HOST_WORDS = ['mail', 'ftp', 'www', 'srv', 'fs', 'db', 'gw', 'files', 'app', 'web', 'backup', 'nas', 'dev', 'ops', 'intra'];

/** A host name drawn from the host's seed, used where a rule captures one and none is configured. */
export function seededHostname(rng: SeededRandom): string {
  return `${rng.pick(HOST_WORDS)}${rng.int(1, 40)}`;
}

function printable(text: string): boolean {
  return /^[\x09\x0a\x0d\x20-\x7e]*$/.test(text);
}

/** Whether nmap would print exactly the configured values for this hit. */
function printsSpec(printed: VersionInfo, spec: ServiceIdentitySpec): boolean {
  for (const field of ['p', 'v', 'i', 'h', 'o', 'd'] as InfoField[]) {
    const value = spec[SPEC_FIELD[field] as keyof ServiceIdentitySpec];
    if (typeof value !== 'string') continue;
    if (printed[field] !== undefined && printed[field] !== value) return false;
    if ((field === 'p' || field === 'v') && printed[field] !== value) return false;
  }
  return true;
}

/**
 * Bytes for one candidate, checked against nmap's chain; undefined when every variation loses to
 * another rule. Text responses get a line ending when the rule leaves room for one.
 */
export function synthesizeCandidate(file: ServiceProbeFile, cand: Candidate, spec: ServiceIdentitySpec, seed: number): IdentityPlan | undefined {
  const rx = ruleRegex(cand.rule);
  if (rx === undefined) return undefined;
  const chain = matchChain(file, cand.probe);
  const rng = SeededRandom.derive(seed, `${cand.rule.line}`);
  const hostname = seededHostname(SeededRandom.derive(seed, 'hostname'));
  for (const base of cand.pinSets) {
    const tries: Map<number, string>[] = [];
    const hinted = new Map(base);
    for (const [g, v] of captureHints(cand.rule)) if (!hinted.has(g)) hinted.set(g, v);
    for (const g of cand.hostnameGroups) if (!hinted.has(g)) hinted.set(g, hostname);
    if (hinted.size > base.size) tries.push(hinted);
    tries.push(base);
    for (const pins of tries) {
      for (let attempt = 0; attempt < 8; attempt++) {
        const gen = generateVerified(rx.parsed, rx.compiled, { pins, rng, variation: attempt });
        if (gen === undefined) continue;
        const texts = !gen.text.endsWith('\n') && printable(gen.text) && gen.text.length > 0 ? [gen.text + '\r\n', gen.text] : [gen.text];
        const http = isHttpProbe(cand.probe) ? httpVariants(gen.text, hostname, rng) : [];
        const dns = cand.probe.name === 'DNSVersionBindReq' ? dnsVariants(gen.text, cand.probe.payload) : [];
        const mysql = cand.rule.service === 'mysql' && cand.probe.name === 'NULL' ? mysqlVariants(gen.text, rng) : [];
        const variants: Variant[] = [...http, ...dns, ...mysql, ...texts.map((t) => ({ text: t }))];
        for (const { text, dateAt, nonces } of variants) {
          const hit = firstMatch(chain, text);
          if (hit === undefined || hit.rule !== cand.rule) continue;
          const printed = versionInfo(hit);
          if (!printsSpec(printed, spec)) continue;
          const otherPayloads = file.probes.filter((p) => p.proto === cand.probe.proto && p !== cand.probe && p.payload !== '').map((p) => p.payload);
          const plan: IdentityPlan = { proto: cand.probe.proto, port: 0, tls: spec.tls, spec, probe: cand.probe, rule: cand.rule, response: text, printed, position: cand.position, otherPayloads };
          if (dateAt !== undefined) plan.dateAt = dateAt;
          if (nonces !== undefined) plan.nonces = nonces;
          return plan;
        }
      }
    }
  }
  return undefined;
}

/** The plan for one host: the first candidate that verifies, with fillers drawn from `seed`. */
export function synthesize(file: ServiceProbeFile, candidates: readonly Candidate[], spec: ServiceIdentitySpec, port: number, seed: number, maxCandidates = 40): IdentityPlan | undefined {
  let tried = 0;
  for (const cand of candidates) {
    if (tried++ >= maxCandidates) break;
    const plan = synthesizeCandidate(file, cand, spec, seed);
    if (plan !== undefined) return { ...plan, port };
  }
  return undefined;
}

/** Literal products (p/ without captures) of hard rules, for search and "did you mean" hints. */
export function literalProducts(file: ServiceProbeFile): Map<string, MatchRule[]> {
  const out = new Map<string, MatchRule[]>();
  for (const probe of file.probes) {
    for (const rule of probe.rules) {
      const p = rule.info.p;
      if (rule.soft || p === undefined || p.includes('$')) continue;
      const list = out.get(p);
      if (list === undefined) out.set(p, [rule]);
      else list.push(rule);
    }
  }
  return out;
}
