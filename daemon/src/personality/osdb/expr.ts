/**
 * Nmap 7.93's reference-value matcher (`expr_match` in osscan.cc), reproduced quirk for quirk.
 *
 * Semantics we reproduce (from reading the 7.93 source):
 * - The subject value is read with C `strtol(val, 16)` and truncated to 32 bits; it is "numeric"
 *   only if the whole string parses (the empty string counts as numeric 0).
 * - Alternatives are separated by `|` and tried left to right. For a numeric value:
 *   `<n` / `>n` compare numerically; otherwise, if a `-` occurs anywhere in the rest of the
 *   expression, the current alternative must be a range `a-b` (so a literal placed before a range
 *   never matches a numeric value); otherwise the alternative is compared as a string.
 * - String comparison of a non-last alternative is `strncmp(alt, val, len(alt))`, i.e. a prefix
 *   test: `M5B4|…` accepts `M5B4ST11`, and an empty alternative (`Q=|U`) accepts anything. The last
 *   alternative is compared exactly.
 */

/** A subject value prepared once so that many expressions can test it cheaply. */
export interface ParsedValue {
  readonly text: string;
  /** True when C `strtol(text, 16)` consumes the whole string (empty counts). */
  readonly numeric: boolean;
  /** `(unsigned int) strtol(text, 16)`. */
  readonly num: number;
}

interface StrtolResult {
  /** The `long` result converted to `unsigned int` (mod 2^32). */
  value: number;
  /** Index just past the parsed text, or `start` when no digits were parsed (C's endptr = nptr). */
  end: number;
}

const LONG_MAX = (1n << 63n) - 1n;
const LONG_MIN = -(1n << 63n);

function isCSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** glibc `strtol(s + start, &end, 16)` on a 64-bit `long`, result cast to `unsigned int`. */
export function strtol16(s: string, start: number): StrtolResult {
  let i = start;
  const n = s.length;
  while (i < n && isCSpace(s.charCodeAt(i))) i++;
  let negative = false;
  if (i < n && (s.charCodeAt(i) === 0x2b || s.charCodeAt(i) === 0x2d)) {
    negative = s.charCodeAt(i) === 0x2d;
    i++;
  }
  // "0x" is a prefix only when a hex digit follows; otherwise "0" is the number.
  if (s.charCodeAt(i) === 0x30 && (s.charCodeAt(i + 1) | 0x20) === 0x78 && hexDigit(s.charCodeAt(i + 2)) >= 0) {
    i += 2;
  }
  const digitsStart = i;
  let small = 0;
  let big: bigint | null = null;
  while (i < n) {
    const d = hexDigit(s.charCodeAt(i));
    if (d < 0) break;
    if (big === null) {
      small = small * 16 + d;
      if (small > 0xfffffffffffff) big = BigInt(small);
    } else {
      big = big * 16n + BigInt(d);
    }
    i++;
  }
  if (i === digitsStart) return { value: 0, end: start };
  if (big === null && !negative && small <= 0xffffffff) return { value: small, end: i };
  let v = big ?? BigInt(small);
  if (negative) v = -v;
  // Overflow saturates at LONG_MAX / LONG_MIN (endptr still past all digits), then the cast to u32.
  if (v > LONG_MAX) v = LONG_MAX;
  if (v < LONG_MIN) v = LONG_MIN;
  return { value: Number(BigInt.asUintN(32, v)), end: i };
}

export function parseValue(text: string): ParsedValue {
  const r = strtol16(text, 0);
  // Empty string: no digits, end = 0 = length → numeric 0, as in C.
  return { text, numeric: r.end === text.length, num: r.value };
}

const enum AltKind {
  /** Compared as a string for every value. */
  Text,
  Less,
  Greater,
  Range,
  /** For numeric values this alternative can never match (bad number, or a literal before a range). */
  Never,
}

interface Alternative {
  text: string;
  isLast: boolean;
  /** How a numeric value is tested; non-numeric values always use `text`. */
  numericKind: AltKind;
  a: number;
  b: number;
}

/** A reference expression compiled once; `matches` is the 7.93 `expr_match`. */
export class CompiledExpr {
  private readonly alts: Alternative[];

  constructor(readonly source: string) {
    this.alts = compileAlternatives(source);
  }

  matches(v: ParsedValue): boolean {
    const alts = this.alts;
    for (let i = 0; i < alts.length; i++) {
      const alt = alts[i];
      if (v.numeric && alt.numericKind !== AltKind.Text) {
        switch (alt.numericKind) {
          case AltKind.Less:
            if (v.num < alt.a) return true;
            break;
          case AltKind.Greater:
            if (v.num > alt.a) return true;
            break;
          case AltKind.Range:
            if (v.num >= alt.a && v.num <= alt.b) return true;
            break;
          default:
            break;
        }
      } else if (alt.isLast ? v.text === alt.text : v.text.startsWith(alt.text)) {
        return true;
      }
    }
    return false;
  }
}

function compileAlternatives(expr: string): Alternative[] {
  const alts: Alternative[] = [];
  let p = 0;
  for (;;) {
    const bar = expr.indexOf('|', p);
    const altEnd = bar < 0 ? expr.length : bar;
    const text = expr.slice(p, altEnd);
    const alt: Alternative = { text, isLast: bar < 0, numericKind: AltKind.Text, a: 0, b: 0 };
    const first = expr.charCodeAt(p);
    if (first === 0x3c || first === 0x3e) {
      // `<n` / `>n`: the number must run exactly to the end of the alternative.
      const r = strtol16(expr, p + 1);
      if (r.end === altEnd) {
        alt.numericKind = first === 0x3c ? AltKind.Less : AltKind.Greater;
        alt.a = r.value;
      } else {
        alt.numericKind = AltKind.Never;
      }
    } else {
      const dash = expr.indexOf('-', p);
      if (dash >= 0) {
        // 7.93 reads the alternative as a range whenever a '-' follows anywhere in the expression.
        alt.numericKind = AltKind.Never;
        const lo = strtol16(expr, p);
        if (lo.end === dash) {
          const hi = strtol16(expr, dash + 1);
          if (hi.end === altEnd) {
            alt.numericKind = AltKind.Range;
            alt.a = lo.value;
            alt.b = hi.value;
          }
        }
      }
    }
    alts.push(alt);
    if (bar < 0) break;
    p = bar + 1;
  }
  return alts;
}

const compiledCache = new Map<string, CompiledExpr>();

/** A shared compiled form per distinct expression text (the DB repeats many). */
export function compileExpr(expr: string): CompiledExpr {
  let c = compiledCache.get(expr);
  if (c === undefined) {
    c = new CompiledExpr(expr);
    compiledCache.set(expr, c);
  }
  return c;
}

/** One-shot form of 7.93's `expr_match(val, expr)`. */
export function exprMatch(value: string, expr: string): boolean {
  return compileExpr(expr).matches(parseValue(value));
}
