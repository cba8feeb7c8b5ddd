/**
 * decoyd's extensions to Honeyd's language, kept apart from the grammar: `option decoyd KEY
 * VALUE` (interface, osdb, mac_prefixes, log_level, Limits and ClaimSettings keys, detect) and the
 * escapes of `banner "…"` text.
 */

import path from 'node:path';
import type { SourcePos } from './errors';
import { isLogLevel, type ParsedConfig } from './model';
import { parseProxyAllow } from './proxy-allow';
import { DEFAULT_CLAIM, DEFAULT_LIMITS, DETECT_RANGES, type ClaimSettings, type DetectConfig, type DetectNumberKey, type Limits } from './types';

/** Applies `option decoyd KEY VALUE`; returns what is wrong with it, if anything. */
export function applyDecoydOption(parsed: ParsedConfig, key: string, value: string, pos: SourcePos, baseDir: string): string | undefined {
  const config = parsed.config;
  switch (key) {
    case 'interface':
      if (!/^[A-Za-z0-9_.:@\-]{1,15}$/.test(value)) return `"${value}" is not a valid interface name`;
      config.interface = value;
      return undefined;
    case 'osdb':
      config.osDb.push(path.resolve(baseDir, value));
      parsed.origins.osDb.push({ pos });
      return undefined;
    case 'mac_prefixes':
      config.macPrefixes = path.resolve(baseDir, value);
      parsed.origins.macPrefixes = { pos };
      return undefined;
    case 'p0f_fp':
      config.p0fDatabase = path.resolve(baseDir, value);
      return undefined;
    case 'proxy_allow': {
      // Honeyd proxy actions' egress allow-list (config/proxy-allow.ts); repeatable.
      const entry = parseProxyAllow(value, `${pos.file}:${pos.line}`);
      if (typeof entry === 'string') return entry;
      (config.proxyAllow ??= []).push(entry);
      return undefined;
    }
    case 'log_level':
      if (!isLogLevel(value)) return `log_level must be trace, debug, info, warn or error, got "${value}"`;
      config.log.level = value;
      return undefined;
  }
  if (key in DEFAULT_LIMITS) {
    const n = integerOf(value, 1, Number.MAX_SAFE_INTEGER);
    if (n === undefined) return `${key} must be a positive integer, got "${value}"`;
    config.limits[key as keyof Limits] = n;
    return undefined;
  }
  if (key in DEFAULT_CLAIM) return claimSetting(config.claim, key as keyof ClaimSettings, value);
  if (key === 'detect' || key.startsWith('detect.')) return detectSetting(config.detect, key.slice('detect.'.length), value);
  return `unknown decoyd option "${key}"`;
}

/** `option decoyd detect on|off`, `option decoyd detect.KEY VALUE` (the keys of YAML's `detect:`). */
function detectSetting(detect: DetectConfig, key: string, value: string): string | undefined {
  if (key === '' || key === 'enabled') {
    if (value !== 'on' && value !== 'off' && value !== 'true' && value !== 'false') return `detect must be on or off, got "${value}"`;
    detect.enabled = value === 'on' || value === 'true';
    return undefined;
  }
  const range = (DETECT_RANGES as Record<string, [number, number] | undefined>)[key];
  if (range === undefined) return `unknown decoyd option "detect.${key}"`;
  const n = integerOf(value, range[0], range[1]);
  if (n === undefined) return `detect.${key} must be an integer ${range[0]}-${range[1]}, got "${value}"`;
  detect[key as DetectNumberKey] = n;
  return undefined;
}

function claimSetting(claim: ClaimSettings, key: keyof ClaimSettings, value: string): string | undefined {
  if (key === 'probeBeforeBind') {
    if (value !== 'true' && value !== 'false') return `probeBeforeBind must be true or false, got "${value}"`;
    claim.probeBeforeBind = value === 'true';
    return undefined;
  }
  const bounds: Record<'tries' | 'windowMs' | 'probeWaitMs', [number, number]> = {
    tries: [1, 100],
    windowMs: [1, 3_600_000],
    probeWaitMs: [0, 60_000],
  };
  const [min, max] = bounds[key];
  const n = integerOf(value, min, max);
  if (n === undefined) return `${key} must be an integer ${min}-${max}, got "${value}"`;
  claim[key] = n;
  return undefined;
}

function integerOf(text: string, min: number, max: number): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= min && n <= max ? n : undefined;
}

const BANNER_ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\' };

/** decoyd's banner escapes: \r \n \t \\ \xHH (Honeyd strings have none; a quote is \x22). */
export function unescapeBanner(raw: string): string | { error: string } {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = raw[i + 1];
    if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(raw.slice(i + 2, i + 4))) {
      out += String.fromCharCode(parseInt(raw.slice(i + 2, i + 4), 16));
      i += 3;
      continue;
    }
    const mapped = next === undefined ? undefined : BANNER_ESCAPES[next];
    if (mapped === undefined) return { error: `unknown escape "\\${next ?? ''}" in banner (use \\r \\n \\t \\\\ or \\xHH)` };
    out += mapped;
    i++;
  }
  return out;
}
