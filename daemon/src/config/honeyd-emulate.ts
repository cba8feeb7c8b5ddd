/**
 * The Honeyd-syntax form of decoyd's emulators, with their default options (every login refused,
 * no pages or files of the operator's; the YAML form sets the rest):
 *   add T tcp port 22 open emulate ssh product "OpenSSH" version "8.9p1 Ubuntu 3ubuntu0.10"
 *   add T tcp port 23 open emulate telnet product "Linux telnetd"
 *   add T tcp port 80 open emulate http product "nginx" version "1.22.1" [tls]
 *   add T tcp port 21 open emulate ftp|smtp|pop3|imap product "vsftpd" version "3.0.3" [tls]
 *   add T udp port 53 open emulate dns product "ISC BIND" version "9.18.28"
 *   add T udp port 161 open emulate snmp product "net-snmp"
 * plus the identity fields of `open service` (info, hostname, os, devicetype).
 */
import type { ServiceSpec } from './types';
import { honeydIdentity, type IdentityToken } from './honeyd-identity';
import { sshDefaults, telnetDefaults } from './yaml-ssh-telnet';
import { DEFAULT_HTTP_MAX_FILES, DEFAULT_HTTP_MAX_PAGE_BYTES } from './http-options';
import { lineServiceDefaults, type LineProtocol } from './mail-ftp-options';
import { NMAP_NAME, TLS_NAME } from './yaml-mail-ftp';
import { sshPersonaFor } from '../services/ssh/versions';
import { flavourOf } from '../services/telnet/negotiation';
import { httpProduct, httpProductNames } from '../services/interactive/http/products';
import { LINE_PRODUCTS } from '../services/mail/mail-service';

const KINDS = ['ssh', 'telnet', 'http', 'ftp', 'smtp', 'pop3', 'imap', 'dns', 'snmp'] as const;
const USAGE = `expected: open emulate ${KINDS.join('|')} product "PRODUCT" [version "V"]`;

export function honeydEmulated(words: readonly IdentityToken[]): ServiceSpec | string {
  const kind = words[1]?.text ?? '';
  if (!(KINDS as readonly string[]).includes(kind)) return `${USAGE}, got "${kind}"`;
  const id = honeydIdentity(words);
  if (id === undefined || typeof id === 'string') return (id ?? USAGE).replace('open service NAME', `open emulate ${kind}`);
  if (id.kind !== 'identity') return 'expected an identity';
  const identity = id.identity;
  const quote = (names: readonly string[]): string => names.map((n) => JSON.stringify(n)).join(', ');
  switch (kind) {
    case 'ssh': {
      const p = sshPersonaFor(identity.product, identity.version);
      if (typeof p === 'string') return p;
      return { kind: 'ssh', identity, ssh: sshDefaults() };
    }
    case 'telnet':
      if (flavourOf(identity.product) === undefined) return `the telnet emulator offers "Linux telnetd", "BusyBox telnetd", "Cisco router telnetd" and "Cisco IOS telnetd", not "${identity.product}"`;
      return { kind: 'telnet', identity, telnet: telnetDefaults() };
    case 'http':
      if (httpProduct(identity.product) === undefined) return `the HTTP emulator has no style for "${identity.product}"; it emulates ${quote(httpProductNames())}`;
      identity.name = identity.tls ? 'https' : 'http';
      return { kind: 'http', identity, http: { pages: {}, auth: [], headers: [], limits: {}, maxFiles: DEFAULT_HTTP_MAX_FILES, maxPageBytes: DEFAULT_HTTP_MAX_PAGE_BYTES } };
    case 'dns':
      identity.name = NMAP_NAME.dns as string;
      return { kind: 'dns', identity, dns: { records: {}, maxAnswersPerSecond: 100 } };
    case 'snmp':
      identity.name = NMAP_NAME.snmp as string;
      return { kind: 'snmp', identity, snmp: { community: 'public', maxAnswersPerSecond: 100 } };
    default: {
      const protocol = kind as LineProtocol;
      if (LINE_PRODUCTS[protocol][identity.product] === undefined) return `the ${protocol} emulator speaks as ${quote(Object.keys(LINE_PRODUCTS[protocol]))}, not "${identity.product}"`;
      identity.name = identity.tls ? (TLS_NAME[protocol] as string) : (NMAP_NAME[protocol] as string);
      return { kind: 'line', protocol, identity, options: lineServiceDefaults(protocol) };
    }
  }
}
