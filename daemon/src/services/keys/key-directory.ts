/**
 * Where per-host private keys (SSH host keys, TLS certificate keys) are kept between starts. A
 * real server keeps its keys for years: a decoy whose SSH host key or certificate changes at every
 * restart trips every client's known_hosts check and every scanner that tracks keys over time.
 *
 * One file per key, mode 0600, written atomically (temporary file, then rename) so a kill mid-write
 * leaves the old key or none, never half of one. Reads and writes are asynchronous: they happen at
 * a host's first TLS or SSH handshake, never on the frame path.
 */

import { mkdirSync, chownSync, readdirSync } from 'node:fs';
import { readFile, writeFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** File names are built from addresses, host names and key types: anything else becomes `_`. */
export function keyFileName(parts: readonly string[]): string {
  return `${parts.map((p) => p.replace(/[^A-Za-z0-9.-]/g, '_')).join('_')}.pem`;
}

/** Keys kept at most (`limits.maxStoredKeys`: a sweep over a claimed /16 must not fill the disk); past it keys live for the process only. */
export const DEFAULT_MAX_STORED_KEYS = 10_000;

export class KeyDirectory {
  private stored: number;
  private fullReported = false;

  /** `dir` is created (0700) if missing; `owner`: who may write it after the daemon drops root. */
  constructor(readonly dir: string, owner?: { uid: number; gid: number }, private readonly maxKeys = DEFAULT_MAX_STORED_KEYS) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (owner !== undefined) chownSync(dir, owner.uid, owner.gid);
    this.stored = readdirSync(dir).filter((f) => f.endsWith('.pem')).length;
  }

  /** The stored PEM text, or undefined when there is none (or it cannot be read). */
  async load(parts: readonly string[]): Promise<string | undefined> {
    try {
      const text = await readFile(join(this.dir, keyFileName(parts)), 'utf8');
      return text.length > 0 ? text : undefined;
    } catch {
      return undefined;
    }
  }

  /** Stores `pem`; a failure (full disk, read-only) only costs persistence, so it is reported, not thrown. */
  async save(parts: readonly string[], pem: string, report?: (message: string) => void): Promise<void> {
    if (this.stored >= this.maxKeys) {
      if (!this.fullReported) report?.(`key directory ${this.dir}: ${this.maxKeys} keys stored already; further hosts get keys for this run only`);
      this.fullReported = true;
      return;
    }
    this.stored++;
    const file = join(this.dir, keyFileName(parts));
    const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temp, pem, { mode: 0o600 });
      await rename(temp, file);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      report?.(`key directory ${this.dir}: ${err instanceof Error ? err.message : String(err)}; this key is new at every start`);
    }
  }
}

/**
 * The daemon's key directory (under the data directory), set once at start by the CLI. Without
 * one (no store configured, unit tests) keys live for the process only.
 */
let current: KeyDirectory | undefined;
let reporter: ((message: string) => void) | undefined;

export function keepKeysIn(directory: KeyDirectory | undefined, report?: (message: string) => void): void {
  current = directory;
  reporter = report;
}

/** The stored key, else a new one from `generate` that is then stored. */
export async function persistentKey(parts: readonly string[], generate: () => Promise<string>): Promise<string> {
  const dir = current;
  if (dir === undefined) return generate();
  const stored = await dir.load(parts);
  if (stored !== undefined) return stored;
  const made = await generate();
  await dir.save(parts, made, reporter);
  return made;
}
