/**
 * Host keys per decoy host: generated on the first connection to that address (RSA on libuv's
 * thread pool, so the event loop never waits), of the types the claimed version's installer makes,
 * kept for the daemon's life in a bounded table and, with a data directory, on disk across restarts
 * (a real sshd keeps its keys for years). Two hosts or two installations never share a key (a fixed
 * key shared by every install is how honeypots get found).
 */
import type { ParsedKey } from 'ssh2';
import { utils } from 'ssh2';
import { createHash } from 'node:crypto';
import { parsePrivateKey } from './ssh2-glue';
import { persistentKey } from '../keys/key-directory';

export type HostKeyType = 'rsa' | 'ecdsa' | 'ed25519';

export interface HostKeySet {
  /** ssh2's table: algorithm name → key (RSA under each signature name). */
  byAlgorithm: Record<string, ParsedKey>;
  /** `SHA256:…` of each public key, as ssh-keygen -l prints it, by type. */
  fingerprints: Partial<Record<HostKeyType, string>>;
}

/**
 * ssh2's generator writes a malformed OpenSSH key for about 1 ed25519 key in 250 (12 of 3,000 here:
 * its own parser refuses them); such a key is drawn again, so it is never kept on disk.
 */
async function generatePem(type: HostKeyType, rsaBits: number): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const pem = await generateOnce(type, rsaBits);
    if (!(utils.parseKey(pem) instanceof Error) || attempt >= 16) return pem;
  }
}

function generateOnce(type: HostKeyType, rsaBits: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, pair: { private: string }): void => {
      if (err) reject(err);
      else resolve(pair.private);
    };
    if (type === 'rsa') utils.generateKeyPair('rsa', { bits: rsaBits }, done);
    else if (type === 'ecdsa') utils.generateKeyPair('ecdsa', { bits: 256 }, done);
    else utils.generateKeyPair('ed25519', done);
  });
}

/** The host's key of `type`: the one kept in the key directory if any (services/keys/), else a new one. */
async function keyFor(address: string, type: HostKeyType, rsaBits: number): Promise<ParsedKey> {
  const pem = await persistentKey(['ssh', address, type, String(type === 'rsa' ? rsaBits : 0)], () => generatePem(type, rsaBits));
  return parsePrivateKey(pem);
}

/** OpenSSH's `SHA256:` fingerprint of a public key blob (base64 without padding). */
export function sha256Fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export class HostKeyStore {
  private readonly sets = new Map<string, Promise<HostKeySet>>();

  /** `maxHosts`: hosts whose keys are kept; the oldest is forgotten first (it gets new keys if it is asked again). */
  constructor(private readonly maxHosts: number) {}

  keysFor(address: string, types: readonly HostKeyType[], rsaBits: number): Promise<HostKeySet> {
    const key = `${address}\u0000${types.join(',')}\u0000${rsaBits}`;
    const have = this.sets.get(key);
    if (have !== undefined) return have;
    const made = Promise.all(types.map((t) => keyFor(address, t, rsaBits))).then((keys) => {
      const set: HostKeySet = { byAlgorithm: {}, fingerprints: {} };
      keys.forEach((k, i) => {
        const type = types[i] as HostKeyType;
        set.fingerprints[type] = sha256Fingerprint(k.getPublicSSH());
        if (type === 'rsa') for (const name of ['ssh-rsa', 'rsa-sha2-256', 'rsa-sha2-512']) set.byAlgorithm[name] = k;
        else set.byAlgorithm[k.type] = k;
      });
      return set;
    });
    made.catch(() => this.sets.delete(key));
    this.sets.set(key, made);
    if (this.sets.size > this.maxHosts) {
      const oldest = this.sets.keys().next().value;
      if (oldest !== undefined) this.sets.delete(oldest);
    }
    return made;
  }
}
