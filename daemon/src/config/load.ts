/**
 * Entry point: read a configuration file in either syntax, validate it against itself and
 * against the Nmap data files, and return the DecoydConfig or throw one ConfigError listing
 * every problem as `file:line[:col]: message`.
 * Files ending in `.conf` are Honeyd syntax; everything else is YAML.
 */

import fs from 'node:fs';
import { DEFAULT_PERSONALITY } from '../personality/source';
import { ConfigError, IssueList, type ConfigIssue } from './errors';
import { parseHoneydConfig } from './honeyd';
import { MacPrefixes, loadMacPrefixes } from './mac-prefixes';
import { DEFAULT_SERVICE_PROBES_FILE, type ParsedConfig } from './model';
import { identityProblem } from '../services/identity/check';
import { checkProxyTargets } from './action-check';
import { parseProxyAllow } from './proxy-allow';
import { httpIdentityProblem } from '../services/interactive/http/check';
import { lineIdentityProblem } from '../services/mail/check';
import { serviceProbes } from '../services/probes/catalog';
import type { ServiceProbeFile } from '../services/probes/service-probes';
import { loadOsDbNames, type OsDbNames } from './osdb-names';
import { applyPersonalityResolution, type PersonalityMapping } from './personality-resolve';
import type { DecoydConfig } from './types';
import { validateParsed } from './validate';
import { parseYamlConfig } from './yaml';

export { ConfigError };

export interface LoadOptions {
  /**
   * Check personality names against the configured nmap-os-db files and ethernet vendors
   * against nmap-mac-prefixes (default true). Unreadable data files are then errors too.
   */
  checkDataFiles?: boolean;
  /**
   * Honeyd syntax only: a personality name nmap-os-db lacks is an error instead of being
   * resolved to the closest entry (`--strict-personalities`).
   */
  strictPersonalities?: boolean;
  /** More proxy allow-list entries (`--proxy-allow`), added to the file's own. */
  proxyAllow?: string[];
}

export interface LoadedConfig {
  config: DecoydConfig;
  /** Present when data files were checked. */
  osDbNames?: OsDbNames;
  macPrefixes?: MacPrefixes;
  /** Accepted, but to be shown: 1.5c/1.6d differences, features parsed but not run, name mappings. */
  warnings: ConfigIssue[];
  /** Personality names that were not in nmap-os-db and what they became (Honeyd syntax). */
  personalityMappings: PersonalityMapping[];
}

/**
 * `.conf` is Honeyd syntax and `.yaml`/`.yml` is YAML. Honeyd's own files often have other names
 * (`config.sample`, `honeyd.conf.bloat`, `wireless`): those are Honeyd syntax when their first
 * statement starts with a Honeyd directive word, else YAML.
 */
export function isHoneydSyntax(file: string, text?: string): boolean {
  if (file.endsWith('.conf')) return true;
  if (/\.ya?ml$/i.test(file) || text === undefined) return false;
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    return /^(create|dynamic|clone|delete|set|add|bind|dhcp|annotate|route|include|option|claim)\s/.test(trimmed);
  }
  return false;
}

/** @throws ConfigError */
export function loadConfig(file: string, options: LoadOptions = {}): DecoydConfig {
  return loadConfigWithData(file, options).config;
}

/** As loadConfig, also returning the data-file indexes it read (for `decoyd check`). */
export function loadConfigWithData(file: string, options: LoadOptions = {}): LoadedConfig {
  const issues = new IssueList();
  let parsed: ParsedConfig;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ file, line: 1, message: `cannot read: ${errorText(err)}` }]);
  }
  const honeyd = isHoneydSyntax(file, text);
  if (honeyd) {
    parsed = parseHoneydConfig(file, issues, (f) => (f === file ? text : fs.readFileSync(f, 'utf8')));
  } else {
    parsed = parseYamlConfig(text, file, issues);
  }
  const loaded: LoadedConfig = { config: parsed.config, warnings: issues.warnings, personalityMappings: [] };
  if (options.checkDataFiles !== false) {
    loaded.osDbNames = readOsDb(parsed, issues);
    loaded.macPrefixes = readMacPrefixes(parsed, issues);
    if (honeyd && loaded.osDbNames) {
      loaded.personalityMappings = applyPersonalityResolution(parsed, loaded.osDbNames, issues, {
        strict: options.strictPersonalities === true,
        fallback: DEFAULT_PERSONALITY,
      });
    }
  }
  validateParsed(parsed, issues, { osDbNames: loaded.osDbNames, macPrefixes: loaded.macPrefixes, personalitiesResolved: honeyd });
  if (options.checkDataFiles !== false) checkIdentities(parsed, issues);
  for (const text of options.proxyAllow ?? []) {
    const entry = parseProxyAllow(text, '--proxy-allow');
    if (typeof entry === 'string') issues.add({ file: '--proxy-allow', line: 0 }, entry);
    else (parsed.config.proxyAllow ??= []).push(entry);
  }
  checkProxyTargets(parsed, issues); // Honeyd proxy actions: the egress allow-list (config/action-check.ts)
  issues.throwIfAny();
  return loaded;
}

/** Every `service: { product … }` must be something nmap-service-probes lets decoyd emulate on that port. */
function checkIdentities(parsed: ParsedConfig, issues: IssueList): void {
  const { config, origins } = parsed;
  const file = config.serviceProbes ?? DEFAULT_SERVICE_PROBES_FILE;
  let probes: ServiceProbeFile | undefined;
  for (const tmpl of config.templates.values()) {
    for (const rule of tmpl.ports) {
      if (rule.service?.kind !== 'identity' && rule.service?.kind !== 'http' && rule.service?.kind !== 'line') continue;
      const at = origins.services.get(`${tmpl.name}\u0000${rule.proto}/${rule.port}`) ?? origins.templates.get(tmpl.name);
      const pos = at?.pos ?? { file: config.source, line: 1 };
      if (probes === undefined) {
        try {
          probes = serviceProbes(file);
        } catch (err) {
          issues.add(pos, `cannot read nmap-service-probes file: ${errorText(err)}`, at?.keyPath);
          return;
        }
      }
      const problem = rule.service.kind === 'line'
        ? lineIdentityProblem(probes, rule.port, rule.service)
        : rule.service.kind === 'http'
        ? httpIdentityProblem(probes, rule.port, rule.service.identity, rule.service.http)
        : identityProblem(probes, rule.proto, rule.port, rule.service.identity);
      if (problem !== undefined) issues.add(pos, problem, at?.keyPath);
    }
  }
}

function readOsDb(parsed: ParsedConfig, issues: IssueList): OsDbNames | undefined {
  const { config, origins } = parsed;
  let failed = false;
  config.osDb.forEach((dbFile, i) => {
    try {
      fs.accessSync(dbFile, fs.constants.R_OK);
    } catch (err) {
      failed = true;
      const at = origins.osDb[i];
      issues.add(at?.pos ?? { file: config.source, line: 1 }, `cannot read nmap-os-db file: ${errorText(err)}`, at?.keyPath);
    }
  });
  return failed ? undefined : memoByFiles(config.osDb, () => loadOsDbNames(config.osDb));
}

/**
 * Data files read once per process while unchanged (same size and mtime): checking many
 * configurations (the corpus test, a directory of files) then costs one read of nmap-os-db.
 */
const dataCache = new Map<string, { stamp: string; value: unknown }>();

function memoByFiles<T>(files: readonly string[], load: () => T): T {
  const key = files.join('\0');
  const stamp = files
    .map((f) => {
      const st = fs.statSync(f);
      return `${st.size}:${st.mtimeMs}`;
    })
    .join('\0');
  const hit = dataCache.get(key);
  if (hit && hit.stamp === stamp) return hit.value as T;
  const value = load();
  dataCache.set(key, { stamp, value });
  return value;
}

function readMacPrefixes(parsed: ParsedConfig, issues: IssueList): MacPrefixes | undefined {
  const { config, origins } = parsed;
  try {
    return memoByFiles([config.macPrefixes], () => loadMacPrefixes(config.macPrefixes));
  } catch (err) {
    const at = origins.macPrefixes;
    issues.add(at?.pos ?? { file: config.source, line: 1 }, `cannot read nmap-mac-prefixes file: ${errorText(err)}`, at?.keyPath);
    return undefined;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
