/**
 * The alternatives of one nmap-os-db attribute expression, as the value chooser sees them.
 * (Matching is done elsewhere; here we only need to know which concrete values are allowed.)
 */

export type Alternative =
  | { kind: 'literal'; text: string }
  | { kind: 'range'; lo: number; hi: number }
  | { kind: 'greater'; than: number }
  | { kind: 'less'; than: number };

const HEX = /^[0-9A-Fa-f]+$/;

export function isHexNumber(text: string): boolean {
  return HEX.test(text);
}

/**
 * Split `expr` into alternatives. Literal alternatives that Nmap 7.93 could never match with a
 * numeric subject value (a hex literal placed before a later range, see the digest §3) are dropped,
 * so any value chosen from the result matches under both the 7.93 and the 7.95+ matcher.
 */
export function parseAlternatives(expr: string): readonly Alternative[] {
  let alts = PARSED.get(expr);
  if (alts === undefined) {
    // Every host of a personality asks for the same expressions: parse each once (bounded memo).
    if (PARSED.size >= MAX_PARSED) PARSED.clear();
    alts = Object.freeze(parseUncached(expr));
    PARSED.set(expr, alts);
  }
  return alts;
}

const MAX_PARSED = 50_000;
const PARSED = new Map<string, readonly Alternative[]>();

function parseUncached(expr: string): Alternative[] {
  const parts = expr.split('|');
  const out: Alternative[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    const range = /^([0-9A-Fa-f]+)-([0-9A-Fa-f]+)$/.exec(part);
    if (range) {
      const lo = parseInt(range[1], 16);
      const hi = parseInt(range[2], 16);
      out.push({ kind: 'range', lo: Math.min(lo, hi), hi: Math.max(lo, hi) });
      continue;
    }
    if (part.length > 1 && (part[0] === '>' || part[0] === '<') && isHexNumber(part.slice(1))) {
      const than = parseInt(part.slice(1), 16);
      out.push(part[0] === '>' ? { kind: 'greater', than } : { kind: 'less', than });
      continue;
    }
    const laterRange = parts.slice(i + 1).some((p) => p.includes('-'));
    if ((part === '' || isHexNumber(part)) && laterRange) continue;
    out.push({ kind: 'literal', text: part });
  }
  return out;
}

/** Uppercase hex without prefix, as Nmap prints numbers. */
export function hex(n: number): string {
  return (n >>> 0).toString(16).toUpperCase();
}

/** True if concrete value `value` is allowed by `alt` (our own check, used for choosing only). */
export function alternativeAllows(alt: Alternative, value: string): boolean {
  switch (alt.kind) {
    case 'literal':
      return alt.text === value;
    case 'range': {
      if (!isHexNumber(value)) return false;
      const v = parseInt(value, 16);
      return v >= alt.lo && v <= alt.hi;
    }
    case 'greater':
      return isHexNumber(value) && parseInt(value, 16) > alt.than;
    case 'less':
      return isHexNumber(value) && parseInt(value, 16) < alt.than;
  }
}

export function expressionAllows(expr: string, value: string): boolean {
  return parseAlternatives(expr).some((a) => alternativeAllows(a, value));
}
