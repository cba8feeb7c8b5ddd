/** Helpers shared by the config-*.test.ts files (not a test file itself). */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { formatIssue } from '../../daemon/src/config/errors';
import { ConfigError, loadConfig, loadConfigWithData, type LoadedConfig, type LoadOptions } from '../../daemon/src/config/load';
import type { DecoydConfig } from '../../daemon/src/config/types';

/** dist/test/unit -> repository root. */
export const REPO_ROOT = path.resolve(__dirname, '../../..');
export const FIXTURES = path.join(REPO_ROOT, 'test/fixtures/config');

/** Writes `files` into a fresh temp directory and returns it. */
export function tempDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'decoyd-config-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Loads `text` as file `name` and returns the ConfigError's message lines. */
export function errorsOf(name: string, text: string, options: LoadOptions = { checkDataFiles: false }): { file: string; lines: string[] } {
  const dir = tempDir({ [name]: text });
  const file = path.join(dir, name);
  try {
    loadConfig(file, options);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return { file, lines: err.message.split('\n') };
  } finally {
    removeDir(dir);
  }
  assert.fail(`expected ${name} to be rejected`);
}

/** Loads `text` as file `name`; it must be valid. */
export function configOf(name: string, text: string, options: LoadOptions = { checkDataFiles: false }): DecoydConfig {
  const dir = tempDir({ [name]: text });
  try {
    return loadConfig(path.join(dir, name), options);
  } finally {
    removeDir(dir);
  }
}

/** Loads `text` as file `name`; it must be valid. Returns the config, its warnings as `file:line:col: message` lines, and the rest. */
export function loadedOf(name: string, text: string, options: LoadOptions = { checkDataFiles: false }): LoadedConfig & { warningLines: string[] } {
  const dir = tempDir({ [name]: text });
  try {
    const loaded = loadConfigWithData(path.join(dir, name), options);
    return { ...loaded, warningLines: loaded.warnings.map((w) => formatIssue(w).slice(dir.length + 1)) };
  } finally {
    removeDir(dir);
  }
}

/** The parts of a config that describe behaviour, without origins (which name files). */
export function behaviourOf(cfg: DecoydConfig): unknown {
  return {
    interface: cfg.interface,
    osDb: cfg.osDb,
    macPrefixes: cfg.macPrefixes,
    templates: [...cfg.templates.values()]
      .map((t) => ({ ...t }))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((t) => JSON.parse(JSON.stringify(t, Object.keys(t).sort().concat(['proto', 'port', 'action', 'service', 'kind', 'banner', 'tcp', 'udp', 'icmp'])))),
    hosts: cfg.hosts.map((h) => ({ address: h.address, template: h.template })),
    claims: cfg.claims.map((c) => ({ range: c.range, template: c.template })),
    limits: cfg.limits,
    claim: cfg.claim,
    log: cfg.log,
  };
}
