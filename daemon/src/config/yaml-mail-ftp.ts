/**
 * YAML for the FTP, SMTP, POP3 and IMAP emulators and the DNS and SNMP responders:
 *
 *   service: { emulate: ftp | smtp | pop3 | imap, product, version, tls, …identity keys,
 *              auth: refuse | { accept: ["user:password"] } | { any_after: N }, hostname,
 *              starttls, max_line_bytes, max_commands, max_sessions, idle_seconds, max_auth_failures,
 *              fail_delay_ms, max_message_bytes, max_recipients, files: { name: content },
 *              passive_wait_seconds }
 *   service: { emulate: dns, product, version, records: { name: IPv4 }, max_answers_per_second }
 *   service: { emulate: snmp, product, community, sys_descr, sys_contact, sys_location, sys_name, max_answers_per_second }
 */
import { lineServiceDefaults, type LineProtocol } from './mail-ftp-options';
import type { ServiceSpec } from './types';
import type { KeyPath } from './yaml-positions';
import { isMapping, type YamlMapping, type YamlReader } from './yaml-reader';
import { readLoginPolicy } from './yaml-ssh-telnet';
import { LINE_PRODUCTS } from '../services/mail/mail-service';

const LINE_KEYS = ['auth', 'hostname', 'starttls', 'max_line_bytes', 'max_commands', 'max_sessions', 'idle_seconds', 'max_auth_failures', 'fail_delay_ms', 'max_message_bytes', 'max_recipients', 'files', 'passive_wait_seconds'];
const DNS_KEYS = ['records', 'max_answers_per_second'];
const SNMP_KEYS = ['community', 'sys_descr', 'sys_contact', 'sys_location', 'sys_name', 'max_answers_per_second'];
/** nmap's service names for each emulator, clear and over TLS (the Honeyd form uses them too). */
export const NMAP_NAME: Record<string, string> = { ftp: 'ftp', smtp: 'smtp', pop3: 'pop3', imap: 'imap', dns: 'domain', snmp: 'snmp' };
export const TLS_NAME: Record<string, string> = { ftp: 'ftps', smtp: 'smtps', pop3: 'pop3s', imap: 'imaps' };

type IdentityReader = (r: YamlReader, at: KeyPath, value: YamlMapping) => ServiceSpec | undefined;

export const MAIL_FTP_EMULATORS = ['ftp', 'smtp', 'pop3', 'imap', 'dns', 'snmp'];

export function readMailFtpService(r: YamlReader, at: KeyPath, value: YamlMapping, readIdentity: IdentityReader): ServiceSpec | undefined {
  const kind = value.emulate as string;
  const own = kind === 'dns' ? DNS_KEYS : kind === 'snmp' ? SNMP_KEYS : LINE_KEYS;
  const identityPart: YamlMapping = {};
  const mine: YamlMapping = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'emulate') continue;
    if (own.includes(k)) mine[k] = v;
    else identityPart[k] = v;
  }
  const tls = identityPart.tls === true;
  if (identityPart.name === undefined) identityPart.name = tls ? `ssl/${NMAP_NAME[kind]}` : NMAP_NAME[kind];
  const id = readIdentity(r, at, identityPart);
  if (id === undefined || id.kind !== 'identity') return undefined;
  const identity = id.identity;
  const int = (key: string, min: number, max: number, dflt: number): number => (mine[key] === undefined ? dflt : r.integer(mine[key], [...at, key], min, max) ?? dflt);
  const str = (key: string): string | undefined => (mine[key] === undefined ? undefined : r.string(mine[key], [...at, key]));
  if (kind === 'dns') {
    const records: Record<string, string> = {};
    if (mine.records !== undefined) {
      const m = r.anyMapping(mine.records, [...at, 'records']);
      for (const [name, addr] of Object.entries(m ?? {})) {
        const a = r.string(addr, [...at, 'records', name]);
        if (a === undefined) continue;
        if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(a) || a.split('.').some((x) => Number(x) > 255)) { r.error([...at, 'records', name], `expected an IPv4 address, got ${JSON.stringify(a)}`); continue; }
        records[name.toLowerCase().replace(/\.$/, '')] = a;
      }
    }
    return { kind: 'dns', identity, dns: { records, maxAnswersPerSecond: int('max_answers_per_second', 1, 100_000, 100) } };
  }
  if (kind === 'snmp') {
    const snmp = { community: str('community') ?? 'public', maxAnswersPerSecond: int('max_answers_per_second', 1, 100_000, 100) } as { community: string; maxAnswersPerSecond: number; sysDescr?: string; sysContact?: string; sysLocation?: string; sysName?: string };
    const d = str('sys_descr'); if (d !== undefined) snmp.sysDescr = d;
    const c = str('sys_contact'); if (c !== undefined) snmp.sysContact = c;
    const l = str('sys_location'); if (l !== undefined) snmp.sysLocation = l;
    const n = str('sys_name'); if (n !== undefined) snmp.sysName = n;
    return { kind: 'snmp', identity, snmp };
  }
  const protocol = kind as LineProtocol;
  if (LINE_PRODUCTS[protocol][identity.product] === undefined) {
    r.error([...at, 'product'], `the ${protocol} emulator speaks as ${Object.keys(LINE_PRODUCTS[protocol]).map((p) => JSON.stringify(p)).join(', ')}, not "${identity.product}"`);
    return undefined;
  }
  if (identity.tls) identity.name = TLS_NAME[protocol] ?? identity.name;
  const d = lineServiceDefaults(protocol);
  const auth = readLoginPolicy(r, [...at, 'auth'], mine.auth);
  if (auth === undefined) return undefined;
  const files: Record<string, string> = {};
  if (mine.files !== undefined) {
    const m = r.anyMapping(mine.files, [...at, 'files']);
    for (const [name, content] of Object.entries(m ?? {})) {
      const c = r.string(content, [...at, 'files', name]);
      if (c === undefined) continue;
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) { r.error([...at, 'files', name], 'expected a plain file name (letters, digits, ".", "_", "-")'); continue; }
      files[name] = c;
    }
  }
  const starttls = mine.starttls === undefined ? d.starttls : r.boolean(mine.starttls, [...at, 'starttls']) ?? d.starttls;
  const options = {
    ...d, auth, files, starttls,
    maxLineBytes: int('max_line_bytes', 64, 65536, d.maxLineBytes),
    maxCommands: int('max_commands', 1, 100_000, d.maxCommands),
    maxSessions: int('max_sessions', 1, 65_536, d.maxSessions),
    idleSeconds: int('idle_seconds', 1, 86_400, d.idleSeconds),
    maxAuthFailures: int('max_auth_failures', 1, 100, d.maxAuthFailures),
    failDelayMs: int('fail_delay_ms', 0, 30_000, d.failDelayMs),
    maxMessageBytes: int('max_message_bytes', 1024, 1 << 30, d.maxMessageBytes),
    maxRecipients: int('max_recipients', 1, 10_000, d.maxRecipients),
    passiveWaitSeconds: int('passive_wait_seconds', 1, 600, d.passiveWaitSeconds),
  };
  const hostname = str('hostname');
  if (hostname !== undefined) (options as { hostname?: string }).hostname = hostname;
  return { kind: 'line', protocol, identity, options };
}

export function isMailFtpEmulator(value: unknown): value is YamlMapping {
  return isMapping(value) && typeof value.emulate === 'string' && MAIL_FTP_EMULATORS.includes(value.emulate);
}
