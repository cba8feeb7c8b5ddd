/**
 * Per-host X.509 v3 certificates, built with node:crypto and a small DER writer (no dependency:
 * a certificate is a handful of fixed structures). What a scanner reads off the certificate fits
 * the host and the product it claims to be:
 *
 * - `snakeoil`: what Debian/Ubuntu's ssl-cert package makes at install time for Apache, nginx,
 *   Postfix, Dovecot…: self-signed, subject = issuer = `CN=<fqdn>`, SAN `DNS:<fqdn>`, RSA 2048,
 *   valid ten years from the install day, a random 20-byte serial (`openssl req -x509`).
 * - `windows`: what IIS Manager / New-SelfSignedCertificate make: self-signed `CN=<HOSTNAME>`
 *   (the NetBIOS-style upper-case machine name), RSA 2048, one year, serverAuth EKU.
 * - `vendor`: an embedded device's factory certificate: subject `CN=<address>` (or the name),
 *   issuer a vendor CA (`C=…, O=<vendor>, OU=…, CN=…`), long validity; the issuer certificate is
 *   not sent, as devices do not send it.
 *
 * Serial and validity are drawn from the host seed (stable across restarts, different per host;
 * a certificate whose period ran out is followed by the next one, as a renewal would be).
 * The key is made fresh per daemon start (a key derived from a 32-bit seed could be recomputed by
 * anyone). RSA keys are made on libuv's thread pool (`issueHostCertificate` is async) so a first
 * handshake never stalls the packet path; `makeHostCertificate` is the synchronous ECDSA form.
 *
 * Stable API (used by HTTPS, SMTPS, IMAPS, POP3S):
 *   certificateProfileFor(product, osClass?, vendor?) → CertificateProfile
 *   issueHostCertificate({ hostname, address?, seed, profile?, now? }) → Promise<HostCertificate>
 *   makeHostCertificate(commonName, seed, now?) → HostCertificate (ECDSA P-256, snakeoil names)
 */

import { createPrivateKey, createPublicKey, generateKeyPair, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { SeededRandom } from '../../personality/model/prng';
import { persistentKey } from '../keys/key-directory';

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let x = n; x > 0; x >>= 8) bytes.unshift(x & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
}

const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
const NULL = Buffer.from([0x05, 0x00]);

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const bytes: number[] = [(parts[0] as number) * 40 + (parts[1] as number)];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let x = p >>> 7; x > 0; x >>>= 7) chunk.unshift(0x80 | (x & 0x7f));
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function integer(bytes: Buffer): Buffer {
  let b = bytes;
  while (b.length > 1 && b[0] === 0 && ((b[1] as number) & 0x80) === 0) b = b.subarray(1);
  if ((b[0] as number) & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

/** UTCTime through 2049, GeneralizedTime after (RFC 5280 §4.1.2.5). */
function time(d: Date): Buffer {
  const p = (n: number): string => String(n).padStart(2, '0');
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  const y = d.getUTCFullYear();
  return y < 2050 ? tlv(0x17, Buffer.from(`${p(y % 100)}${rest}`, 'ascii')) : tlv(0x18, Buffer.from(`${y}${rest}`, 'ascii'));
}

/** One distinguished-name attribute, in the order it appears (C, ST, L, O, OU, CN). */
export interface NameAttribute {
  type: 'C' | 'ST' | 'L' | 'O' | 'OU' | 'CN';
  value: string;
}

const NAME_OIDS: Record<NameAttribute['type'], string> = { C: '2.5.4.6', ST: '2.5.4.8', L: '2.5.4.7', O: '2.5.4.10', OU: '2.5.4.11', CN: '2.5.4.3' };

function name(attrs: readonly NameAttribute[]): Buffer {
  // countryName is a PrintableString (RFC 5280 Appendix A); the others UTF8String, as OpenSSL writes them.
  return seq(...attrs.map((a) => set(seq(oid(NAME_OIDS[a.type]), tlv(a.type === 'C' ? 0x13 : 0x0c, Buffer.from(a.value, 'utf8'))))));
}

/** `C = US, O = Acme, CN = x` as OpenSSL prints it (for tests and `decoyd services show`). */
export function nameText(attrs: readonly NameAttribute[]): string {
  return attrs.map((a) => `${a.type} = ${a.value}`).join(', ');
}

export type CertificateStyle = 'snakeoil' | 'windows' | 'vendor';

/** How a host's certificate looks; `certificateProfileFor` picks one for a product. */
export interface CertificateProfile {
  style: CertificateStyle;
  keyType: 'rsa2048' | 'ec-p256';
  /** vendor: the issuing CA's name. */
  issuer?: NameAttribute[];
  /** Validity in days, and the least age of a certificate in use (days). */
  validityDays: number;
  minAgeDays: number;
}

export interface HostCertificate {
  keyPem: string;
  certPem: string;
  commonName: string;
  subject: NameAttribute[];
  issuer: NameAttribute[];
  /** Subject alternative names as OpenSSL prints them (`DNS:www`, `IP Address:198.51.100.20`). */
  altNames: string[];
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
}

const DAY_MS = 86_400_000;
/** Validity grids start here (2000-01-01). */
const CERT_EPOCH = Date.UTC(2000, 0, 1);

/** Vendor CA names embedded devices carry, by the nmap-os-db vendor of the host. */
const VENDOR_ISSUERS: Record<string, NameAttribute[]> = {
  HP: [{ type: 'C', value: 'US' }, { type: 'O', value: 'Hewlett-Packard Co.' }, { type: 'OU', value: 'HP Jetdirect' }, { type: 'CN', value: 'HP Jetdirect CA' }],
  'D-Link': [{ type: 'C', value: 'TW' }, { type: 'O', value: 'D-Link Corporation' }, { type: 'CN', value: 'D-Link Device CA' }],
  Netgear: [{ type: 'C', value: 'US' }, { type: 'O', value: 'NETGEAR' }, { type: 'OU', value: 'Consumer Products' }, { type: 'CN', value: 'NETGEAR Device CA' }],
  'TP-LINK': [{ type: 'C', value: 'CN' }, { type: 'O', value: 'TP-LINK Technologies Co., Ltd.' }, { type: 'CN', value: 'TP-LINK CA' }],
  Cisco: [{ type: 'C', value: 'US' }, { type: 'O', value: 'Cisco Systems' }, { type: 'OU', value: 'Small Business' }, { type: 'CN', value: 'Cisco Small Business CA' }],
  Linksys: [{ type: 'C', value: 'US' }, { type: 'O', value: 'Linksys' }, { type: 'CN', value: 'Linksys Device CA' }],
  Hikvision: [{ type: 'C', value: 'CN' }, { type: 'O', value: 'Hikvision' }, { type: 'CN', value: 'Hikvision Device CA' }],
};
const GENERIC_VENDOR_ISSUER: NameAttribute[] = [{ type: 'C', value: 'US' }, { type: 'O', value: 'Embedded Web Server' }, { type: 'CN', value: 'Device Certificate Authority' }];

/** The nmap products served by Windows' own stack. */
const WINDOWS_PRODUCTS = /^Microsoft |IIS|Exchange/;
/** Products that ship on appliances and devices, with a factory certificate. */
const EMBEDDED_PRODUCTS = /^(Boa|GoAhead|mini_httpd|thttpd|micro_httpd|Allegro RomPager|HP |lwIP|uhttpd|Embedded)/;

/**
 * The certificate a host running `product` would present: Windows products get IIS's
 * self-signed machine certificate, embedded servers a vendor-issued one (vendor from the host's
 * OS class), everything else Debian's snakeoil.
 */
export function certificateProfileFor(product: string, osClass?: { vendor: string; deviceType: string }): CertificateProfile {
  if (WINDOWS_PRODUCTS.test(product) || osClass?.vendor === 'Microsoft') return { style: 'windows', keyType: 'rsa2048', validityDays: 365, minAgeDays: 5 };
  const device = osClass !== undefined && !/general purpose/.test(osClass.deviceType) && osClass.deviceType !== '';
  if (EMBEDDED_PRODUCTS.test(product) || device) {
    const issuer = (osClass !== undefined ? VENDOR_ISSUERS[osClass.vendor] : undefined) ?? GENERIC_VENDOR_ISSUER;
    return { style: 'vendor', keyType: 'rsa2048', issuer, validityDays: 365 * 20, minAgeDays: 400 };
  }
  return { style: 'snakeoil', keyType: 'rsa2048', validityDays: 3650, minAgeDays: 20 };
}

export interface CertificateRequest {
  /** The host's name (snakeoil: FQDN; windows: the machine name, upper-cased here). */
  hostname: string;
  /** The host's IPv4 address: an IP SAN, and the vendor style's subject CN. */
  address?: string;
  seed: number;
  profile?: CertificateProfile;
  now?: number;
}

const SNAKEOIL: CertificateProfile = { style: 'snakeoil', keyType: 'rsa2048', validityDays: 3650, minAgeDays: 20 };

/**
 * Key generations running at once on libuv's thread pool (4 threads by default, shared with file
 * and DNS work): a sweep over thousands of claimed addresses queues its keys here instead of
 * filling the pool.
 */
export const MAX_CONCURRENT_KEYGEN = 2;
let keygenRunning = 0;
const keygenQueue: (() => void)[] = [];

function withKeygenSlot<T>(work: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const run = (): void => {
      keygenRunning++;
      work().then(resolve, reject).finally(() => {
        keygenRunning--;
        keygenQueue.shift()?.();
      });
    };
    if (keygenRunning < MAX_CONCURRENT_KEYGEN) run();
    else keygenQueue.push(run);
  });
}

/**
 * A certificate for the host, its key made off the event loop, or the one it had before when a key
 * directory is kept (services/keys/): the same host shows the same certificate across restarts.
 */
export function issueHostCertificate(req: CertificateRequest): Promise<HostCertificate> {
  const profile = req.profile ?? SNAKEOIL;
  const generate = (): Promise<string> => withKeygenSlot(() => new Promise<string>((resolve, reject) => {
    const done = (err: Error | null, _publicKey: KeyObject, privateKey: KeyObject): void => {
      if (err) reject(err);
      else resolve(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    };
    if (profile.keyType === 'rsa2048') generateKeyPair('rsa', { modulusLength: 2048 }, done);
    else generateKeyPair('ec', { namedCurve: 'prime256v1' }, done);
  }));
  return persistentKey(['tls', req.hostname, req.address ?? '', profile.keyType], generate).then((pem) => {
    const privateKey = createPrivateKey(pem);
    return build(req, profile, createPublicKey(privateKey), privateKey);
  });
}

/** Synchronous form (ECDSA P-256, quick): the snakeoil names for `commonName`. */
export function makeHostCertificate(commonName: string, seed: number, now = Date.now()): HostCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return build({ hostname: commonName, seed, now }, { ...SNAKEOIL, keyType: 'ec-p256' }, publicKey, privateKey);
}

function build(req: CertificateRequest, profile: CertificateProfile, publicKey: KeyObject, privateKey: KeyObject): HostCertificate {
  const now = req.now ?? Date.now();
  const rng = SeededRandom.derive(req.seed, 'tls-certificate');
  const serialLen = profile.style === 'snakeoil' ? 20 : profile.style === 'windows' ? 16 : 8;
  const serial = Buffer.alloc(serialLen);
  for (let i = 0; i < serialLen; i++) serial[i] = rng.nextU32() & 0xff;
  serial[0] = ((serial[0] as number) & 0x7f) | 0x10;
  // The issue moment is fixed per host on a grid of validity periods (as if renewed on expiry), so
  // the same host shows the same dates across restarts: the latest period start at least minAgeDays old.
  const period = profile.validityDays * DAY_MS;
  const base = CERT_EPOCH + rng.int(0, profile.validityDays - 1) * DAY_MS + rng.int(0, 86_399) * 1000;
  const periods = Math.floor((now - profile.minAgeDays * DAY_MS - base) / period);
  const notBefore = new Date(base + periods * period);
  const notAfter = new Date(notBefore.getTime() + period);

  const host = profile.style === 'windows' ? req.hostname.split('.')[0]?.toUpperCase() ?? req.hostname : req.hostname;
  const subjectCn = profile.style === 'vendor' && req.address !== undefined ? req.address : host;
  const subject: NameAttribute[] = [{ type: 'CN', value: subjectCn }];
  const issuer = profile.style === 'vendor' ? (profile.issuer ?? GENERIC_VENDOR_ISSUER) : subject;

  const altNames: string[] = [];
  const sanItems: Buffer[] = [];
  if (!isIPv4(host)) { sanItems.push(tlv(0x82, Buffer.from(host, 'ascii'))); altNames.push(`DNS:${host}`); }
  if (req.address !== undefined && isIPv4(req.address)) {
    sanItems.push(tlv(0x87, Buffer.from(req.address.split('.').map(Number))));
    altNames.push(`IP Address:${req.address}`);
  }

  const rsa = profile.keyType === 'rsa2048';
  const algorithm = rsa ? seq(oid('1.2.840.113549.1.1.11'), NULL) : seq(oid('1.2.840.10045.4.3.2'));
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const ext = (id: string, critical: boolean, value: Buffer): Buffer => seq(oid(id), ...(critical ? [Buffer.from([0x01, 0x01, 0xff])] : []), tlv(0x04, value));
  const extensions: Buffer[] = [];
  if (profile.style === 'windows') {
    // keyEncipherment | dataEncipherment, EKU serverAuth (IIS's self-signed certificate).
    extensions.push(ext('2.5.29.15', false, tlv(0x03, Buffer.from([0x04, 0x30]))));
    extensions.push(ext('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))));
  } else {
    extensions.push(ext('2.5.29.19', false, seq()));
  }
  if (sanItems.length > 0) extensions.push(ext('2.5.29.17', false, seq(...sanItems)));
  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))),
    integer(serial),
    algorithm,
    name(issuer),
    seq(time(notBefore), time(notAfter)),
    name(subject),
    spki,
    tlv(0xa3, seq(...extensions)),
  );
  const signature = sign('sha256', tbs, privateKey);
  const cert = seq(tbs, algorithm, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const b64 = cert.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return {
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    certPem: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`,
    commonName: subjectCn,
    subject,
    issuer,
    altNames,
    serialHex: serial.toString('hex'),
    notBefore,
    notAfter,
  };
}

/** A Windows-style machine name (`WIN-` and eleven upper-case letters and digits), drawn from the seed. */
export function windowsHostname(seed: number): string {
  const rng = SeededRandom.derive(seed, 'windows-hostname');
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let out = 'WIN-';
  for (let i = 0; i < 11; i++) out += chars[rng.int(0, chars.length - 1)];
  return out;
}
