/**
 * YAML for the HTTP emulator: `service: { emulate: http, product, version, tls, …identity keys,
 * pages, auth, headers, limits, max_files, max_page_bytes }`. The identity keys are read by the
 * same reader as plain identities (passed in, so this file does not import yaml.ts).
 */

import path from 'node:path';
import { DEFAULT_HTTP_MAX_FILES, DEFAULT_HTTP_MAX_PAGE_BYTES, HTTP_LIMIT_RANGES, type HttpAuthSpec, type HttpLimitsSpec, type HttpOptions, type HttpPageSpec } from './http-options';
import type { ServiceIdentitySpec, ServiceSpec } from './types';
import type { KeyPath } from './yaml-positions';
import { isMapping, type YamlMapping, type YamlReader } from './yaml-reader';
import { httpProduct, httpProductNames } from '../services/interactive/http/products';

export const HTTP_KEYS = ['pages', 'auth', 'headers', 'limits', 'max_files', 'max_page_bytes'] as const;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

type IdentityReader = (r: YamlReader, at: KeyPath, value: YamlMapping) => ServiceSpec | undefined;

/** Reads an `emulate: http` service; `readIdentity` reads the identity keys (name, product, version, …, tls). */
export function readHttpService(r: YamlReader, at: KeyPath, value: YamlMapping, readIdentity: IdentityReader, baseDir: string): ServiceSpec | undefined {
  const identityPart: YamlMapping = {};
  const httpPart: YamlMapping = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'emulate') continue;
    if ((HTTP_KEYS as readonly string[]).includes(k)) httpPart[k] = v;
    else identityPart[k] = v;
  }
  const id = readIdentity(r, at, identityPart);
  if (id === undefined || id.kind !== 'identity') return undefined;
  const identity: ServiceIdentitySpec = { ...id.identity, name: id.identity.name ?? (id.identity.tls ? 'https' : 'http') };
  if (httpProduct(identity.product) === undefined) {
    r.error([...at, 'product'], `the HTTP emulator has no style for "${identity.product}"; it emulates ${httpProductNames().map((p) => JSON.stringify(p)).join(', ')}`);
    return undefined;
  }
  const http = readHttpOptions(r, at, httpPart, baseDir);
  return http === undefined ? undefined : { kind: 'http', identity, http };
}

function readHttpOptions(r: YamlReader, at: KeyPath, m: YamlMapping, baseDir: string): HttpOptions | undefined {
  const http: HttpOptions = { pages: {}, auth: [], headers: [], limits: {}, maxFiles: DEFAULT_HTTP_MAX_FILES, maxPageBytes: DEFAULT_HTTP_MAX_PAGE_BYTES };
  let ok = true;
  if (m.pages !== undefined) {
    if (typeof m.pages === 'string') http.pagesDir = path.resolve(baseDir, m.pages);
    else {
      const pages = r.anyMapping(m.pages, [...at, 'pages']);
      if (pages === undefined) ok = false;
      for (const [p, spec] of Object.entries(pages ?? {})) {
        if (p === 'dir') {
          const dir = r.string(spec, [...at, 'pages', 'dir']);
          if (dir !== undefined) http.pagesDir = path.resolve(baseDir, dir);
          continue;
        }
        if (!p.startsWith('/')) { r.error([...at, 'pages', p], `a page path starts with "/", got ${JSON.stringify(p)}`, true); ok = false; continue; }
        const page = readPage(r, [...at, 'pages', p], spec);
        if (page === undefined) ok = false;
        else http.pages[p] = page;
      }
    }
  }
  if (m.headers !== undefined) {
    const h = readHeaders(r, [...at, 'headers'], m.headers);
    if (h === undefined) ok = false;
    else http.headers = h;
  }
  if (m.auth !== undefined) {
    const list = r.list(m.auth, [...at, 'auth']);
    list?.forEach((entry, i) => {
      const ap: KeyPath = [...at, 'auth', i];
      const a = r.mapping(entry, ap, ['path', 'realm', 'users'], ['path']);
      if (!a) { ok = false; return; }
      const p = r.string(a.path, [...ap, 'path']);
      const realm = a.realm === undefined ? 'Restricted' : r.string(a.realm, [...ap, 'realm']);
      if (p === undefined || realm === undefined) { ok = false; return; }
      if (!p.startsWith('/')) { r.error([...ap, 'path'], 'expected a path starting with "/"'); ok = false; return; }
      const spec: HttpAuthSpec = { path: p, realm, users: {} };
      if (a.users !== undefined) {
        const users = r.anyMapping(a.users, [...ap, 'users']);
        for (const [u, pw] of Object.entries(users ?? {})) {
          const pass = typeof pw === 'number' ? String(pw) : r.string(pw, [...ap, 'users', u]);
          if (pass !== undefined) spec.users[u] = pass;
        }
      }
      http.auth.push(spec);
    });
    if (list === undefined) ok = false;
  }
  if (m.limits !== undefined) {
    const keys = Object.keys(HTTP_LIMIT_RANGES) as (keyof HttpLimitsSpec)[];
    const lm = r.mapping(m.limits, [...at, 'limits'], keys);
    if (!lm) ok = false;
    for (const key of keys) {
      if (lm?.[key] === undefined) continue;
      const [min, max] = HTTP_LIMIT_RANGES[key];
      const n = r.integer(lm[key], [...at, 'limits', key], min, max);
      if (n === undefined) ok = false;
      else http.limits[key] = n;
    }
  }
  if (m.max_files !== undefined) http.maxFiles = r.integer(m.max_files, [...at, 'max_files'], 1, 1_000_000) ?? http.maxFiles;
  if (m.max_page_bytes !== undefined) http.maxPageBytes = r.integer(m.max_page_bytes, [...at, 'max_page_bytes'], 1024, 2 ** 31) ?? http.maxPageBytes;
  return ok ? http : undefined;
}

/** `"/x": "body"` or `"/x": { status, headers, body, content_type }`. */
function readPage(r: YamlReader, at: KeyPath, value: unknown): HttpPageSpec | undefined {
  if (typeof value === 'string') return { status: 200, headers: [], body: value };
  const m = r.mapping(value, at, ['status', 'headers', 'body', 'content_type']);
  if (!m) return undefined;
  const page: HttpPageSpec = { status: 200, headers: [], body: '' };
  if (m.status !== undefined) {
    const s = r.integer(m.status, [...at, 'status'], 100, 599);
    if (s === undefined) return undefined;
    page.status = s;
  }
  if (m.body !== undefined) {
    const b = r.string(m.body, [...at, 'body']);
    if (b === undefined) return undefined;
    page.body = b;
  }
  if (m.content_type !== undefined) {
    const t = r.string(m.content_type, [...at, 'content_type']);
    if (t === undefined) return undefined;
    page.contentType = t;
  }
  if (m.headers !== undefined) {
    const h = readHeaders(r, [...at, 'headers'], m.headers);
    if (h === undefined) return undefined;
    page.headers = h;
  }
  return page;
}

/** `{ Name: value, … }` (YAML keeps mapping order) or `[ "Name: value", … ]`. */
function readHeaders(r: YamlReader, at: KeyPath, value: unknown): [string, string][] | undefined {
  const out: [string, string][] = [];
  const check = (name: string, val: string, where: KeyPath): boolean => {
    if (!HEADER_NAME.test(name)) { r.error(where, `${JSON.stringify(name)} is not a header name`); return false; }
    if (/[\r\n\0]/.test(val)) { r.error(where, 'a header value cannot hold CR, LF or NUL'); return false; }
    out.push([name, val]);
    return true;
  };
  if (Array.isArray(value)) {
    let ok = true;
    value.forEach((line, i) => {
      const text = r.string(line, [...at, i]);
      const colon = text?.indexOf(':') ?? -1;
      if (text === undefined || colon <= 0) { if (text !== undefined) r.error([...at, i], 'expected "Name: value"'); ok = false; return; }
      if (!check(text.slice(0, colon).trim(), text.slice(colon + 1).trim(), [...at, i])) ok = false;
    });
    return ok ? out : undefined;
  }
  if (!isMapping(value)) { r.error(at, 'expected a mapping of header names to values or a list of "Name: value"'); return undefined; }
  for (const [name, v] of Object.entries(value)) {
    const val = typeof v === 'number' ? String(v) : r.string(v, [...at, name]);
    if (val === undefined || !check(name, val, [...at, name])) return undefined;
  }
  return out;
}
