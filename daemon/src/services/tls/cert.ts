/**
 * A self-signed X.509 v3 certificate per host, built with node:crypto and a small DER writer
 * (no dependency: the certificate is a handful of fixed structures). The subject and SAN carry the
 * host's name; serial and validity are drawn from the host seed so every host's certificate differs.
 * The key is an ECDSA P-256 key made at first use (fresh per daemon start: a key derived from a
 * 32-bit seed could be recomputed by anyone).
 */

import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { SeededRandom } from '../../personality/model/prng';

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

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const bytes: number[] = [parts[0] * 40 + parts[1]];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let x = p >>> 7; x > 0; x >>>= 7) chunk.unshift(0x80 | (x & 0x7f));
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function integer(bytes: Buffer): Buffer {
  let b = bytes;
  while (b.length > 1 && b[0] === 0 && (b[1] & 0x80) === 0) b = b.subarray(1);
  if (b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

function utcTime(d: Date): Buffer {
  const p = (n: number): string => String(n).padStart(2, '0');
  const text = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(text, 'ascii'));
}

function name(commonName: string): Buffer {
  return seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(commonName, 'utf8')))));
}

export interface HostCertificate {
  keyPem: string;
  certPem: string;
  commonName: string;
}

const ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const DAY_MS = 86_400_000;

/** A certificate for `commonName`, with serial and validity from `seed` relative to `now`. */
export function makeHostCertificate(commonName: string, seed: number, now = Date.now()): HostCertificate {
  const rng = SeededRandom.derive(seed, 'tls-certificate');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const serial = Buffer.alloc(16);
  for (let i = 0; i < 16; i += 4) serial.writeUInt32BE(rng.nextU32(), i);
  serial[0] &= 0x7f;
  // Issued some months ago, valid 1, 2, 3, 5 or 10 years (common self-signed choices).
  const notBefore = new Date(Math.floor((now - rng.int(20, 700) * DAY_MS) / 1000) * 1000);
  const years = rng.pick([1, 2, 3, 5, 10]);
  const notAfter = new Date(notBefore.getTime() + years * 365 * DAY_MS);
  const algorithm = seq(oid(ECDSA_SHA256));
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const san = seq(oid('2.5.29.17'), tlv(0x04, seq(tlv(0x82, Buffer.from(commonName, 'ascii')))));
  const basic = seq(oid('2.5.29.19'), tlv(0x04, seq()));
  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))),
    integer(serial),
    algorithm,
    name(commonName),
    seq(utcTime(notBefore), utcTime(notAfter)),
    name(commonName),
    spki,
    tlv(0xa3, seq(basic, san)),
  );
  const signature = sign('sha256', tbs, privateKey as KeyObject);
  const cert = seq(tbs, algorithm, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const b64 = cert.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return {
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    certPem: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`,
    commonName,
  };
}
