/**
 * Parser for nmap's nmap-service-probes (the installed file, read at run time; never vendored).
 * Grammar per nmap's service_scan.cc: Exclude, Probe, ports, sslports, rarity, fallback,
 * totalwaitms, tcpwrappedms, match and softmatch with version-info templates.
 */

import { readFileSync } from 'node:fs';
import { compileJs, parseRegex, type ParsedRegex } from './pcre';

export const DEFAULT_SERVICE_PROBES_FILE = '/usr/share/nmap/nmap-service-probes';
export const DEFAULT_TOTALWAITMS = 5000;
export const DEFAULT_TCPWRAPPEDMS = 2000;
export const DEFAULT_RARITY = 5;

export type ProbeProto = 'tcp' | 'udp';

/** A version-info field: p/ v/ i/ h/ o/ d/. */
export type InfoField = 'p' | 'v' | 'i' | 'h' | 'o' | 'd';
export const INFO_FIELDS: readonly InfoField[] = ['p', 'v', 'i', 'h', 'o', 'd'];

export interface MatchRule {
  soft: boolean;
  service: string;
  pattern: string;
  caseless: boolean;
  dotall: boolean;
  /** Templates as written (without delimiters), by field. */
  info: Partial<Record<InfoField, string>>;
  cpe: string[];
  /** 1-based line in the probe file. */
  line: number;
  /** The probe that owns the rule. */
  probe: Probe;
  /** Parsed and compiled lazily (12k rules: compile only what is used). */
  parsed?: ParsedRegex;
  compiled?: RegExp;
  /** Set when the pattern could not be parsed by our PCRE subset. */
  broken?: string;
}

export interface Probe {
  proto: ProbeProto;
  name: string;
  /** The bytes sent, as latin1. Empty for NULL. */
  payload: string;
  noPayload: boolean;
  ports: PortSet;
  sslports: PortSet;
  rarity: number;
  fallback: string[];
  totalwaitms: number;
  tcpwrappedms: number;
  line: number;
  /** Position in file order among all probes. */
  order: number;
  rules: MatchRule[];
}

export class PortSet {
  private readonly ranges: [number, number][] = [];
  add(spec: string): void {
    for (const part of spec.split(',')) {
      const t = part.trim();
      if (t === '') continue;
      const m = /^(\d+)(?:-(\d+))?$/.exec(t);
      if (m === null) throw new Error(`bad port list entry "${t}"`);
      this.ranges.push([Number(m[1]), Number(m[2] ?? m[1])]);
    }
  }
  has(port: number): boolean {
    return this.ranges.some(([a, b]) => port >= a && port <= b);
  }
  get empty(): boolean { return this.ranges.length === 0; }
}

export interface ServiceProbeFile {
  file: string;
  probes: Probe[];
  /** `Exclude` ports, as written (`T:9100-9107`). */
  exclude: string[];
}

export class ProbeFileError extends Error {}

/** C escapes as nmap's cstring_unescape reads them. */
export function unescapeC(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== '\\' || i + 1 >= text.length) { out += c; continue; }
    const n = text[++i];
    switch (n) {
      case '0': out += '\0'; break;
      case 'a': out += '\x07'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case 'x': {
        const h = text.slice(i + 1, i + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(h)) throw new ProbeFileError(`bad \\x escape "\\x${h}"`);
        out += String.fromCharCode(parseInt(h, 16));
        i += 2;
        break;
      }
      default: out += n;
    }
  }
  return out;
}

/** Reads a `<letter><delim>…<delim>` token at `pos`; returns body and the index after it. */
function delimited(line: string, pos: number): { body: string; end: number } {
  const delim = line[pos];
  const close = line.indexOf(delim, pos + 1);
  if (delim === undefined || close < 0) throw new ProbeFileError('unterminated delimiter');
  return { body: line.slice(pos + 1, close), end: close + 1 };
}

function parseMatch(line: string, soft: boolean, probe: Probe, lineNo: number): MatchRule {
  const rest = line.slice(soft ? 10 : 6);
  const sp = rest.indexOf(' ');
  if (sp < 0) throw new ProbeFileError('match needs a service and a pattern');
  const service = rest.slice(0, sp);
  let pos = sp + 1;
  if (rest[pos] !== 'm') throw new ProbeFileError('pattern must start with m');
  const pat = delimited(rest, pos + 1);
  pos = pat.end;
  let caseless = false;
  let dotall = false;
  while (pos < rest.length && rest[pos] !== ' ') {
    const f = rest[pos++];
    if (f === 'i') caseless = true;
    else if (f === 's') dotall = true;
    else throw new ProbeFileError(`illegal regex flag "${f}"`);
  }
  const info: Partial<Record<InfoField, string>> = {};
  const cpe: string[] = [];
  while (pos < rest.length) {
    while (rest[pos] === ' ') pos++;
    if (pos >= rest.length) break;
    if (rest.startsWith('cpe:', pos)) {
      const t = delimited(rest, pos + 4);
      cpe.push(t.body);
      pos = t.end;
      if (rest[pos] === 'a') pos++;
      continue;
    }
    const field = rest[pos] as InfoField;
    if (!INFO_FIELDS.includes(field)) throw new ProbeFileError(`unknown version field "${rest.slice(pos, pos + 3)}"`);
    const t = delimited(rest, pos + 1);
    info[field] = t.body; // a repeated template replaces the earlier one, as in nmap
    pos = t.end;
  }
  return { soft, service, pattern: pat.body, caseless, dotall, info, cpe, line: lineNo, probe };
}

function parseProbeLine(line: string, lineNo: number, order: number): Probe {
  const m = /^Probe (TCP|UDP) (\S+) q(.)/.exec(line);
  if (m === null) throw new ProbeFileError('bad Probe line');
  const body = delimited(line, m[0].length - 1);
  const tail = line.slice(body.end).trim();
  return {
    proto: m[1] === 'TCP' ? 'tcp' : 'udp', name: m[2], payload: unescapeC(body.body), noPayload: tail === 'no-payload',
    ports: new PortSet(), sslports: new PortSet(), rarity: DEFAULT_RARITY, fallback: [],
    totalwaitms: DEFAULT_TOTALWAITMS, tcpwrappedms: DEFAULT_TCPWRAPPEDMS, line: lineNo, order, rules: [],
  };
}

export function parseServiceProbes(text: string, file = DEFAULT_SERVICE_PROBES_FILE): ServiceProbeFile {
  const probes: Probe[] = [];
  const exclude: string[] = [];
  let current: Probe | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    const lineNo = i + 1;
    if (line === '' || line.startsWith('#') || /^\s*$/.test(line)) continue;
    try {
      const word = line.slice(0, line.indexOf(' ') < 0 ? line.length : line.indexOf(' '));
      const arg = line.slice(word.length + 1).trim();
      if (word === 'Probe') {
        current = parseProbeLine(line, lineNo, probes.length);
        probes.push(current);
        continue;
      }
      if (word === 'Exclude') { exclude.push(arg); continue; }
      if (current === undefined) throw new ProbeFileError(`"${word}" before any Probe`);
      switch (word) {
        case 'match': current.rules.push(parseMatch(line, false, current, lineNo)); break;
        case 'softmatch': current.rules.push(parseMatch(line, true, current, lineNo)); break;
        case 'ports': current.ports.add(arg); break;
        case 'sslports': current.sslports.add(arg); break;
        case 'rarity': current.rarity = Number(arg); break;
        case 'fallback': current.fallback = arg.split(',').map((s) => s.trim()).filter((s) => s !== ''); break;
        case 'totalwaitms': current.totalwaitms = Number(arg); break;
        case 'tcpwrappedms': current.tcpwrappedms = Number(arg); break;
        default: throw new ProbeFileError(`unknown directive "${word}"`);
      }
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new ProbeFileError(`${file}:${lineNo}: ${why}`);
    }
  }
  return { file, probes, exclude };
}

export function loadServiceProbes(file = DEFAULT_SERVICE_PROBES_FILE): ServiceProbeFile {
  return parseServiceProbes(readFileSync(file, 'latin1'), file);
}

/** The rule's regex, parsed and compiled on first use; undefined when our PCRE subset rejects it. */
export function ruleRegex(rule: MatchRule): { parsed: ParsedRegex; compiled: RegExp } | undefined {
  if (rule.broken !== undefined) return undefined;
  if (rule.parsed === undefined || rule.compiled === undefined) {
    try {
      rule.parsed = parseRegex(rule.pattern, rule.caseless, rule.dotall);
      rule.compiled = compileJs(rule.parsed);
    } catch (err) {
      rule.broken = err instanceof Error ? err.message : String(err);
      return undefined;
    }
  }
  return { parsed: rule.parsed, compiled: rule.compiled };
}
