/**
 * The pages an HTTP emulator serves: inline pages from the config and a directory loaded into
 * memory once at start (read-only, bounded in files and bytes), so a request never waits on the
 * disk. Lookups decode the path, refuse anything that climbs out (`..`, NUL, backslashes) and map
 * directories to the product's index files.
 */

import fs from 'node:fs';
import path from 'node:path';
import type { HttpPageSpec } from '../../../config/http-options';

export interface StoredPage {
  status: number;
  headers: readonly [string, string][];
  body: Buffer;
  contentType: string;
  /** ms since the epoch (files: their mtime; inline pages: the store's start). */
  mtimeMs: number;
  /** Whether this came from the directory (static file semantics: ETag, Last-Modified). */
  file: boolean;
}

const TYPES: Record<string, string> = {
  html: 'text/html', htm: 'text/html', shtml: 'text/html', txt: 'text/plain', css: 'text/css', js: 'application/javascript',
  json: 'application/json', xml: 'text/xml', svg: 'image/svg+xml', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg',
  gif: 'image/gif', ico: 'image/x-icon', webp: 'image/webp', pdf: 'application/pdf', zip: 'application/zip', gz: 'application/gzip',
  tar: 'application/x-tar', woff: 'font/woff', woff2: 'font/woff2', cgi: 'application/octet-stream', php: 'text/html', asp: 'text/html',
  aspx: 'text/html', conf: 'text/plain', bak: 'application/octet-stream', sql: 'application/octet-stream',
};

export function contentTypeFor(file: string): string {
  const ext = path.extname(file).slice(1).toLowerCase();
  return TYPES[ext] ?? 'application/octet-stream';
}

export interface PageStoreOptions {
  dir?: string;
  pages: Record<string, HttpPageSpec>;
  indexFiles: readonly string[];
  maxFiles: number;
  maxBytes: number;
  now?: number;
}

export class PageStore {
  private readonly files = new Map<string, StoredPage>();
  private readonly inline = new Map<string, StoredPage>();
  /** Files or bytes the bounds left out (reported once by the service). */
  readonly skipped: { files: number; reason?: string } = { files: 0 };

  constructor(private readonly opts: PageStoreOptions) {
    const now = opts.now ?? Date.now();
    for (const [p, spec] of Object.entries(opts.pages)) {
      const type = spec.headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1] ?? spec.contentType ?? (path.extname(p) === '' ? 'text/html' : contentTypeFor(p));
      this.inline.set(p, { status: spec.status, headers: spec.headers, body: Buffer.from(spec.body, 'utf8'), contentType: type, mtimeMs: now, file: false });
    }
    if (opts.dir !== undefined) this.load(opts.dir);
  }

  get size(): number {
    return this.files.size + this.inline.size;
  }

  /**
   * The page for a request target (query and fragment dropped), or `undefined`. `redirect` is
   * set when the target names a directory without its trailing slash (products answer 301).
   */
  lookup(target: string): { page?: StoredPage; redirect?: string } {
    const q = target.search(/[?#]/);
    const raw = q < 0 ? target : target.slice(0, q);
    const decoded = safeDecode(raw);
    if (decoded === undefined) return {};
    const hit = this.inline.get(decoded) ?? this.inline.get(raw);
    if (hit !== undefined) return { page: hit };
    const clean = normalise(decoded);
    if (clean === undefined) return {};
    const file = this.files.get(clean);
    if (file !== undefined) return { page: file };
    const dirKey = clean.endsWith('/') ? clean : `${clean}/`;
    for (const index of this.opts.indexFiles) {
      const page = this.files.get(dirKey + index) ?? this.inline.get(dirKey + index);
      if (page !== undefined) return clean.endsWith('/') ? { page } : { redirect: `${raw}/` };
    }
    return {};
  }

  private load(root: string): void {
    let bytes = 0;
    const walk = (dir: string, prefix: string, depth: number): void => {
      if (depth > 16) return;
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch (err) {
        this.skipped.reason = `cannot read ${dir}: ${err instanceof Error ? err.message : String(err)}`;
        return;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : 1));
      for (const e of entries) {
        if (e.name.startsWith('.')) continue;
        const full = path.join(dir, e.name);
        // Symbolic links are not followed: the served tree is exactly the directory.
        if (e.isDirectory()) { walk(full, `${prefix}${e.name}/`, depth + 1); continue; }
        if (!e.isFile()) continue;
        const st = fs.statSync(full);
        if (this.files.size >= this.opts.maxFiles || bytes + st.size > this.opts.maxBytes) {
          this.skipped.files++;
          this.skipped.reason ??= `bounds reached (${this.opts.maxFiles} files, ${this.opts.maxBytes} bytes)`;
          continue;
        }
        const body = fs.readFileSync(full);
        bytes += body.length;
        this.files.set(`${prefix}${e.name}`, { status: 200, headers: [], body, contentType: contentTypeFor(e.name), mtimeMs: st.mtimeMs, file: true });
      }
    };
    walk(root, '/', 0);
  }
}

function safeDecode(p: string): string | undefined {
  try {
    return decodeURIComponent(p);
  } catch {
    return undefined;
  }
}

/** `/a/./b//c` → `/a/b/c`; undefined for `..`, NUL, backslash or a path not starting with `/`. */
export function normalise(p: string): string | undefined {
  if (!p.startsWith('/') || p.includes('\0') || p.includes('\\')) return undefined;
  const out: string[] = [];
  const parts = p.split('/');
  for (const part of parts.slice(1)) {
    if (part === '' || part === '.') continue;
    if (part === '..') return undefined;
    out.push(part);
  }
  const trailing = p.endsWith('/') && out.length > 0 ? '/' : '';
  return `/${out.join('/')}${trailing}`;
}
