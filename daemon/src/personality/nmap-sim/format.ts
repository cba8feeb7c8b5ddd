/** Printing a subject fingerprint the way Nmap prints it (osscan.cc test2str / mergeFPs). */
import { TEST_NAMES } from '../osdb/types';
import type { ObservedFingerprint } from '../osdb/types';

export interface FormatOptions {
  /** Wrap into `OS:` lines of 72 characters of content (FP_RESULT_WRAP_LINE_LEN), as in Nmap's submission block. */
  wrap?: boolean;
  /** A `SCAN(...)` line to put first (Nmap's WriteSInfo); omitted when undefined. */
  scanLine?: string;
}

/** `NAME(a=v%b=w)` lines in Nmap's test order, attributes in the order they were computed. */
export function formatFingerprint(fp: ObservedFingerprint, opts: FormatOptions = {}): string {
  const lines: string[] = [];
  if (opts.scanLine !== undefined) lines.push(opts.scanLine);
  for (const name of TEST_NAMES) {
    const attrs = fp.get(name);
    if (attrs === undefined) continue;
    const parts: string[] = [];
    for (const [attr, value] of attrs) parts.push(`${attr}=${value}`);
    lines.push(`${name}(${parts.join('%')})`);
  }
  if (!opts.wrap) return lines.join('\n');
  // Nmap concatenates all tests without newlines, then cuts every 72 characters behind "OS:".
  const flat = lines.join('');
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 72) out.push(`OS:${flat.slice(i, i + 72)}`);
  return out.join('\n');
}

/** Parse lines as printed by formatFingerprint (or copied from Nmap output) back into a map. */
export function parseObservedFingerprint(text: string): ObservedFingerprint {
  const fp: ObservedFingerprint = new Map();
  const known: ReadonlySet<string> = new Set<string>(TEST_NAMES);
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const open = line.indexOf('(');
    const close = line.lastIndexOf(')');
    if (open <= 0 || close < open) continue;
    const name = line.slice(0, open);
    if (!known.has(name)) continue;
    const attrs = new Map<string, string>();
    const body = line.slice(open + 1, close);
    if (body !== '') {
      for (const av of body.split('%')) {
        const eq = av.indexOf('=');
        if (eq > 0) attrs.set(av.slice(0, eq), av.slice(eq + 1));
      }
    }
    fp.set(name as (typeof TEST_NAMES)[number], attrs);
  }
  return fp;
}
