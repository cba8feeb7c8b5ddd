/**
 * Pieces both front ends share: defaults, value vocabularies, and the parse result that
 * carries source positions alongside the DecoydConfig for the checks that run after parsing.
 */

import { emptyTopology } from './topology';
import { ipToString, parseIp } from '../wire/address';
import type { SourcePos } from './errors';
import {
  DEFAULT_CLAIM,
  DEFAULT_DETECT,
  DEFAULT_LIMITS,
  type DecoydConfig,
  type IcmpAction,
  type PortAction,
  type Proto,
  type TemplateConfig,
} from './types';

export const DEFAULT_OSDB_FILE = '/usr/share/nmap/nmap-os-db';
export const DEFAULT_MAC_PREFIXES_FILE = '/usr/share/nmap/nmap-mac-prefixes';
export const DEFAULT_SERVICE_PROBES_FILE = '/usr/share/nmap/nmap-service-probes';

/** A template not otherwise configured behaves like a host with nothing listening. */
export const DEFAULT_TEMPLATE_DEFAULTS: TemplateConfig['defaults'] = { tcp: 'reset', udp: 'reset', icmp: 'open' };

/** Honeyd's catch-all template; decoyd uses it for claim ranges that name no template. */
export const DEFAULT_TEMPLATE_NAME = 'default';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = DecoydConfig['log']['level'];

/** Names usable in both syntaxes (Honeyd's word token starts with a letter). */
export const TEMPLATE_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.\-]*$/;

/** Where a value came from, for messages raised after parsing. */
export interface Located {
  pos: SourcePos;
  keyPath?: string;
}

export interface ConfigOrigins {
  /** Where each template was created. */
  templates: Map<string, Located>;
  personality: Map<string, Located>;
  ethernet: Map<string, Located>;
  /** Parallel to config.hosts. */
  hosts: { address: Located; template: Located }[];
  /** Parallel to config.claims. */
  claims: { range: Located; template: Located }[];
  /** Parallel to config.dhcp. */
  dhcp: { template: Located; ethernet?: Located }[];
  /** Parallel to config.osDb; undefined entries are defaults. */
  osDb: (Located | undefined)[];
  macPrefixes: Located | undefined;
  /** Where each port's service was given, by `template\0proto/port`. */
  services: Map<string, Located>;
  /** Honeyd `annotate "NAME"` statements, for checking NAME against nmap-os-db. */
  annotations: { personality: string; at: Located }[];
}

export interface ParsedConfig {
  config: DecoydConfig;
  origins: ConfigOrigins;
}

export function emptyOrigins(): ConfigOrigins {
  return {
    templates: new Map(),
    personality: new Map(),
    ethernet: new Map(),
    hosts: [],
    claims: [],
    dhcp: [],
    osDb: [undefined],
    macPrefixes: undefined,
    services: new Map(),
    annotations: [],
  };
}

export function emptyConfig(source: string): DecoydConfig {
  return {
    source,
    osDb: [DEFAULT_OSDB_FILE],
    macPrefixes: DEFAULT_MAC_PREFIXES_FILE,
    templates: new Map(),
    hosts: [],
    claims: [],
    dhcp: [],
    realHosts: [],
    limits: { ...DEFAULT_LIMITS },
    claim: { ...DEFAULT_CLAIM },
    log: { level: 'info' },
    detect: { ...DEFAULT_DETECT },
    topology: emptyTopology(),
    serviceProbes: DEFAULT_SERVICE_PROBES_FILE,
  };
}

export function newTemplate(name: string): TemplateConfig {
  return { name, dropRateIn: 0, defaults: { ...DEFAULT_TEMPLATE_DEFAULTS }, ports: [] };
}

/** A deep copy under a new name: later changes to either side never reach the other. */
export function copyTemplate(source: TemplateConfig, name: string): TemplateConfig {
  // Templates are plain data (strings, numbers, arrays, objects), so structuredClone is a full copy.
  const copy = structuredClone(source);
  copy.name = name;
  return copy;
}

/** Port action words; Honeyd's `closed` and DataSoft's `filtered` are aliases. */
export function parsePortAction(word: string): PortAction | undefined {
  switch (word) {
    case 'open':
      return 'open';
    case 'reset':
    case 'closed':
      return 'reset';
    case 'block':
    case 'filtered':
      return 'block';
    default:
      return undefined;
  }
}

export function parseIcmpAction(word: string): IcmpAction | undefined {
  if (word === 'open') return 'open';
  if (word === 'block' || word === 'filtered') return 'block';
  return undefined;
}

export function isProto(word: string): word is Proto {
  return word === 'tcp' || word === 'udp';
}

export function isLogLevel(word: string): word is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(word);
}

/** Strict dotted-quad check (no leading zeros that some parsers read as octal). */
export function checkIpv4(text: string): string | undefined {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(text) || parseIp(text) < 0) return `expected a dotted IPv4 address, got "${text}"`;
  if (text.split('.').some((part) => part.length > 1 && part.startsWith('0'))) {
    return `leading zeros are ambiguous in "${text}"`;
  }
  return undefined;
}

/**
 * A hostname for DHCP option 12: one DNS label (RFC 1123: letters, digits, inner hyphens, at most
 * 63 characters), as real clients send their short name.
 */
export function checkDhcpHostname(text: string): string | undefined {
  if (/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(text)) return undefined;
  return `expected a hostname of letters, digits and inner hyphens (at most 63 characters), got "${text}"`;
}

export interface Cidr {
  network: number;
  prefix: number;
}

/** Parses `a.b.c.d/n` with no host bits set; returns an error message otherwise. */
export function parseCidrStrict(text: string): Cidr | string {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!m) return `expected a CIDR range like 198.51.100.128/25, got "${text}"`;
  const addressError = checkIpv4(m[1]);
  if (addressError) return `expected a CIDR range like 198.51.100.128/25, got "${text}"`;
  const prefix = Number(m[2]);
  if (prefix > 32) return `prefix length ${prefix} is over 32 in "${text}"`;
  const ip = parseIp(m[1]);
  const size = 2 ** (32 - prefix);
  const network = ip - (ip % size);
  if (network !== ip) return `"${text}" has host bits set; the range is ${ipToString(network)}/${prefix}`;
  return { network, prefix };
}

export function cidrContains(range: Cidr, ip: number): boolean {
  const size = 2 ** (32 - range.prefix);
  return ip >= range.network && ip < range.network + size;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b.network) || cidrContains(b, a.network);
}


/** Equal behaviour, ignoring the name (port order counts: it is the order of the source). */
export function sameTemplateContent(a: TemplateConfig, b: TemplateConfig): boolean {
  return canonicalJson({ ...a, name: '' }) === canonicalJson({ ...b, name: '' });
}

/** JSON with object keys sorted, so two equal values built in different orders compare equal. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
