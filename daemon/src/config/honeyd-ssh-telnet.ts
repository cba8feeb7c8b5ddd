/**
 * The Honeyd-syntax form of the SSH / Telnet emulators, with their default options (every login
 * refused; the YAML form sets the rest):
 *   add T tcp port 22 open emulate ssh product "OpenSSH" version "8.9p1 Ubuntu 3ubuntu0.10"
 *   add T tcp port 23 open emulate telnet product "Linux telnetd"
 */
import type { ServiceSpec } from './types';
import { honeydIdentity, type IdentityToken } from './honeyd-identity';
import { sshDefaults, telnetDefaults } from './yaml-ssh-telnet';
import { sshPersonaFor } from '../services/ssh/versions';
import { flavourOf } from '../services/telnet/negotiation';

export function honeydEmulated(words: readonly IdentityToken[]): ServiceSpec | string {
  const kind = words[1]?.text;
  if (kind !== 'ssh' && kind !== 'telnet') return `expected: open emulate ssh|telnet product "PRODUCT" [version "V"], got "${kind ?? ''}"`;
  const id = honeydIdentity(words);
  if (id === undefined || typeof id === 'string') return (id ?? 'expected: open emulate ssh|telnet product "PRODUCT" [version "V"]').replace('open service NAME', 'open emulate ssh|telnet');
  if (id.kind !== 'identity') return 'expected an identity';
  if (kind === 'ssh') {
    const p = sshPersonaFor(id.identity.product, id.identity.version);
    if (typeof p === 'string') return p;
    return { kind: 'ssh', identity: id.identity, ssh: sshDefaults() };
  }
  if (flavourOf(id.identity.product) === undefined) return `the telnet emulator offers "Linux telnetd", "BusyBox telnetd", "Cisco router telnetd" and "Cisco IOS telnetd", not "${id.identity.product}"`;
  return { kind: 'telnet', identity: id.identity, telnet: telnetDefaults() };
}
