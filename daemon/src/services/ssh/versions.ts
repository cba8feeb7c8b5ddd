/**
 * What each claimed SSH server version sends: its identification string and its KEXINIT lists,
 * in the server's own order, so the HASSH-server of a decoy fits its banner.
 *
 * Sources (read at the release tags of openssh/openssh-portable and mkj/dropbear):
 * - kex / ciphers / MACs: `KEX_SERVER_KEX`, `KEX_SERVER_ENCRYPT`, `KEX_SERVER_MAC` in myproposal.h
 *   (WITH_OPENSSL, OPENSSL_HAS_ECC, HAVE_EVP_SHA256);
 * - host-key list: sshd.c `list_hostkey_types()` over the default HostKey order (RSA, ECDSA,
 *   Ed25519) and `append_hostkey_type()`'s HostKeyAlgorithms filter (no `ssh-rsa` from 8.8);
 * - `ext-info-s,kex-strict-s-v00@openssh.com`: kex.c `kex_proposal_populate_entries()` from 9.6;
 *   the distributions' Terrapin (CVE-2023-48795) backports append `kex-strict-s-v00@openssh.com` alone;
 * - Dropbear: common-algo.c with default_options.h / sysoptions.h (2022.83);
 * - CentOS 7's 7.4p1 is Red Hat's build: its sshd_config(5) defaults (CBC ciphers and SHA-1
 *   exchanges kept), not upstream's.
 */

import type { Distro } from '../interactive/host-profile';

/** Which generation of OpenSSH's identification-exchange code answers a bad line (ident.ts). */
export type IdentStyle = 'openssh-legacy' | 'openssh' | 'dropbear';

export interface SshPersona {
  /** Table key, for messages and the README. */
  id: string;
  /** nmap's product, as the ssh rule prints it. */
  product: 'OpenSSH' | 'Dropbear sshd';
  /** The software part of the identification (`OpenSSH_8.9p1 Ubuntu-3ubuntu0.10`). */
  software: string;
  kex: string[];
  hostKeyAlgorithms: string[];
  ciphers: string[];
  macs: string[];
  compression: string[];
  /** Host key types generated per host, in HostKey order. */
  hostKeys: Array<'rsa' | 'ecdsa' | 'ed25519'>;
  rsaBits: number;
  /** What a `none` request is refused with (the methods sshd_config leaves on). */
  authMethods: string[];
  identStyle: IdentStyle;
  /** The OS the distribution build belongs to (the fake shell's flavour). */
  distro: DistroName;
}

export type DistroName = Distro;

const CURVE = ['curve25519-sha256', 'curve25519-sha256@libssh.org'];
const ECDH = ['ecdh-sha2-nistp256', 'ecdh-sha2-nistp384', 'ecdh-sha2-nistp521'];
const DH_SHA2 = ['diffie-hellman-group-exchange-sha256', 'diffie-hellman-group16-sha512', 'diffie-hellman-group18-sha512', 'diffie-hellman-group14-sha256'];
const SNTRUP_OPENSSH = 'sntrup761x25519-sha512@openssh.com';
const STRICT_S = 'kex-strict-s-v00@openssh.com';

const KEX_7X = [...CURVE, ...ECDH, ...DH_SHA2, 'diffie-hellman-group14-sha1'];
const KEX_82 = [...CURVE, ...ECDH, ...DH_SHA2];
const KEX_89 = [...CURVE, ...ECDH, SNTRUP_OPENSSH, ...DH_SHA2];
const KEX_90 = [SNTRUP_OPENSSH, ...CURVE, ...ECDH, ...DH_SHA2];
/** Red Hat's openssh-7.4p1 (RHEL/CentOS 7) KexAlgorithms default. */
const KEX_RHEL7 = [...CURVE, ...ECDH, 'diffie-hellman-group-exchange-sha256', 'diffie-hellman-group16-sha512', 'diffie-hellman-group18-sha512',
  'diffie-hellman-group-exchange-sha1', 'diffie-hellman-group14-sha256', 'diffie-hellman-group14-sha1', 'diffie-hellman-group1-sha1'];

const ENC_7X = ['chacha20-poly1305@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com'];
const ENC_RHEL7 = [...ENC_7X, 'aes128-cbc', 'aes192-cbc', 'aes256-cbc', 'blowfish-cbc', 'cast128-cbc', '3des-cbc'];
const MAC_OPENSSH = ['umac-64-etm@openssh.com', 'umac-128-etm@openssh.com', 'hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha1-etm@openssh.com',
  'umac-64@openssh.com', 'umac-128@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512', 'hmac-sha1'];
const COMP_DELAYED = ['none', 'zlib@openssh.com'];

/** sshd.c list_hostkey_types() for RSA, ECDSA P-256 and Ed25519 keys. */
const HOSTKEYS_74 = ['ssh-rsa', 'rsa-sha2-512', 'rsa-sha2-256', 'ecdsa-sha2-nistp256', 'ssh-ed25519'];
const HOSTKEYS_79 = ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ssh-ed25519'];
const HOSTKEYS_88 = ['rsa-sha2-512', 'rsa-sha2-256', 'ecdsa-sha2-nistp256', 'ssh-ed25519'];

const PW = ['publickey', 'password'];

/** A distribution build: how its package revision reads and from which revision Terrapin's fix is in. */
interface OpenSshBuild {
  id: DistroName;
  upstream: string;
  /** nmap's word between version and revision (`Ubuntu`, `Debian`), or none (CentOS prints bare `7.4`). */
  vendor?: 'Ubuntu' | 'Debian';
  /** Package revision as nmap prints it after the vendor word, e.g. /^3ubuntu0\.(\d+)$/; the number is the patch level. */
  revision?: RegExp;
  /** Patch level from which `kex-strict-s-v00@openssh.com` is appended (undefined: never; 0: always). */
  strictFrom?: number;
  base: Omit<SshPersona, 'id' | 'product' | 'software' | 'distro' | 'identStyle'>;
  identStyle: IdentStyle;
  /** Extra changes from some patch level on (Debian 12's later KEX list). */
  later?: { from: number; kex: string[] };
}

const BUILDS: OpenSshBuild[] = [
  { id: 'centos7', upstream: '7.4', identStyle: 'openssh-legacy',
    base: { kex: KEX_RHEL7, hostKeyAlgorithms: HOSTKEYS_74, ciphers: ENC_RHEL7, macs: MAC_OPENSSH, compression: COMP_DELAYED, hostKeys: ['rsa', 'ecdsa', 'ed25519'], rsaBits: 2048,
      authMethods: ['publickey', 'gssapi-keyex', 'gssapi-with-mic', 'password'] } },
  { id: 'ubuntu1804', upstream: '7.6p1', vendor: 'Ubuntu', revision: /^4ubuntu0\.(\d+)$/, identStyle: 'openssh-legacy',
    base: { kex: KEX_7X, hostKeyAlgorithms: HOSTKEYS_74, ciphers: ENC_7X, macs: MAC_OPENSSH, compression: COMP_DELAYED, hostKeys: ['rsa', 'ecdsa', 'ed25519'], rsaBits: 2048, authMethods: PW } },
  { id: 'debian10', upstream: '7.9p1', vendor: 'Debian', revision: /^10\+deb10u(\d+)$/, strictFrom: 4, identStyle: 'openssh-legacy',
    base: { kex: KEX_7X, hostKeyAlgorithms: HOSTKEYS_79, ciphers: ENC_7X, macs: MAC_OPENSSH, compression: COMP_DELAYED, hostKeys: ['rsa', 'ecdsa', 'ed25519'], rsaBits: 2048, authMethods: PW } },
  { id: 'ubuntu2004', upstream: '8.2p1', vendor: 'Ubuntu', revision: /^4ubuntu0\.(\d+)$/, strictFrom: 10, identStyle: 'openssh',
    base: { kex: KEX_82, hostKeyAlgorithms: HOSTKEYS_79, ciphers: ENC_7X, macs: MAC_OPENSSH, compression: COMP_DELAYED, hostKeys: ['rsa', 'ecdsa', 'ed25519'], rsaBits: 3072, authMethods: PW } },
  { id: 'ubuntu2204', upstream: '8.9p1', vendor: 'Ubuntu', revision: /^3ubuntu0\.(\d+)$/, strictFrom: 5, identStyle: 'openssh',
    base: { kex: KEX_89, hostKeyAlgorithms: HOSTKEYS_88, ciphers: ENC_7X, macs: MAC_OPENSSH, compression: COMP_DELAYED, hostKeys: ['rsa', 'ecdsa', 'ed25519'], rsaBits: 3072, authMethods: PW } },
  { id: 'debian12', upstream: '9.2p1', vendor: 'Debian', revision: /^2\+deb12u(\d+)$/, strictFrom: 2, identStyle: 'openssh',
    base: { kex: KEX_90, hostKeyAlgorithms: HOSTKEYS_88, ciphers: ENC_7X, macs: MAC_OPENSSH, compression: COMP_DELAYED, hostKeys: ['rsa', 'ecdsa', 'ed25519'], rsaBits: 3072, authMethods: PW },
    // 1:9.2p1-2+deb12u4 "Make sntrup761x25519-sha512 key exchange algorithm available without the @openssh.com suffix too" (changelog.Debian).
    later: { from: 4, kex: ['sntrup761x25519-sha512', ...KEX_90] } },
  { id: 'ubuntu2404', upstream: '9.6p1', vendor: 'Ubuntu', revision: /^3ubuntu13(?:\.(\d+))?$/, strictFrom: 0, identStyle: 'openssh',
    base: { kex: [...KEX_90, 'ext-info-s'], hostKeyAlgorithms: HOSTKEYS_88, ciphers: ENC_7X, macs: MAC_OPENSSH, compression: COMP_DELAYED, hostKeys: ['rsa', 'ecdsa', 'ed25519'], rsaBits: 3072, authMethods: PW } },
];

/** Dropbear 2020.81 – 2022.83 with default options (Debian's packages build zlib in). */
const DROPBEAR_BASE: Omit<SshPersona, 'id' | 'software'> = {
  product: 'Dropbear sshd',
  kex: [...CURVE, 'ecdh-sha2-nistp521', 'ecdh-sha2-nistp384', 'ecdh-sha2-nistp256', 'diffie-hellman-group14-sha256', 'diffie-hellman-group14-sha1', 'kexguess2@matt.ucc.asn.au'],
  hostKeyAlgorithms: ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'rsa-sha2-256', 'ssh-rsa'],
  ciphers: ['chacha20-poly1305@openssh.com', 'aes128-ctr', 'aes256-ctr'],
  macs: ['hmac-sha1', 'hmac-sha2-256'],
  compression: ['zlib@openssh.com', 'none'],
  hostKeys: ['ed25519', 'ecdsa', 'rsa'],
  rsaBits: 2048,
  authMethods: ['publickey', 'password'],
  identStyle: 'dropbear',
  distro: 'embedded',
};
const DROPBEAR_VERSIONS = ['2019.78', '2020.79', '2020.80', '2020.81', '2022.82', '2022.83'];

/** What the configured product/version would be served as, or why it cannot be. */
export function sshPersonaFor(product: string, version: string | undefined): SshPersona | string {
  if (product === 'Dropbear sshd') {
    if (version === undefined || !DROPBEAR_VERSIONS.includes(version)) return `Dropbear sshd needs a version among ${DROPBEAR_VERSIONS.join(', ')}`;
    return { ...DROPBEAR_BASE, id: `dropbear-${version}`, software: `dropbear_${version}` };
  }
  if (product !== 'OpenSSH') return `the ssh emulator offers OpenSSH and Dropbear sshd, not "${product}"`;
  if (version === undefined) return `OpenSSH needs a version (${supportedVersions().join('; ')})`;
  const words = version.split(' ');
  const upstream = words[0] ?? '';
  const build = BUILDS.find((b) => b.upstream === upstream);
  if (build === undefined) return `no KEXINIT table for OpenSSH ${upstream} (${supportedVersions().join('; ')})`;
  let level: number | undefined;
  if (build.vendor === undefined) {
    if (words.length !== 1) return `OpenSSH ${upstream} is served as ${build.id}, whose ident has no distribution suffix: version "${upstream}"`;
  } else {
    if (words.length !== 3 || words[1] !== build.vendor || build.revision === undefined) return `OpenSSH ${upstream} is served as ${build.id}: version "${upstream} ${build.vendor} REVISION" (e.g. ${exampleOf(build)})`;
    const m = build.revision.exec(words[2] as string);
    if (m === null) return `"${words[2]}" is not a ${build.id} package revision (e.g. ${exampleOf(build)})`;
    level = m[1] === undefined ? 0 : Number(m[1]);
  }
  const strict = build.strictFrom !== undefined && (level ?? 0) >= build.strictFrom;
  let kex = build.later !== undefined && level !== undefined && level >= build.later.from ? build.later.kex : build.base.kex;
  if (strict && !kex.includes(STRICT_S)) kex = [...kex, STRICT_S];
  const software = build.vendor === undefined ? `OpenSSH_${upstream}` : `OpenSSH_${upstream} ${build.vendor}-${words[2]}`;
  return { ...build.base, kex, id: build.id, product: 'OpenSSH', software, identStyle: build.identStyle, distro: build.id };
}

function exampleOf(b: OpenSshBuild): string {
  const examples: Partial<Record<DistroName, string>> = {
    ubuntu1804: '7.6p1 Ubuntu 4ubuntu0.7', debian10: '7.9p1 Debian 10+deb10u2', ubuntu2004: '8.2p1 Ubuntu 4ubuntu0.13',
    ubuntu2204: '8.9p1 Ubuntu 3ubuntu0.10', debian12: '9.2p1 Debian 2+deb12u7', ubuntu2404: '9.6p1 Ubuntu 3ubuntu13.5',
  };
  return JSON.stringify(examples[b.id] ?? b.upstream);
}

export function supportedVersions(): string[] {
  return ['OpenSSH "7.4" (CentOS 7)', ...BUILDS.filter((b) => b.vendor !== undefined).map((b) => `OpenSSH ${exampleOf(b)}`), `Dropbear sshd ${DROPBEAR_VERSIONS.join('|')}`];
}

/** The identification line the server sends. */
export function identLine(p: SshPersona): string {
  return `SSH-2.0-${p.software}\r\n`;
}
