/**
 * The subset of PCRE (8-bit, C locale, no UTF) that nmap-service-probes uses, parsed into a small
 * AST. The AST drives both the matcher (it is re-emitted as an exact JavaScript RegExp) and the
 * response generator, so both read the pattern the same way PCRE does.
 *
 * Strings are latin1 throughout: one char = one byte.
 */

/** A set of byte values, as 256 flags. */
export type ByteSet = Uint8Array;

export type RxNode =
  | { type: 'seq'; items: RxNode[] }
  | { type: 'alt'; alts: RxNode[] }
  /** `index` 0 means non-capturing `(?:…)`. */
  | { type: 'group'; index: number; body: RxNode }
  | { type: 'look'; ahead: boolean; negate: boolean; body: RxNode }
  | { type: 'repeat'; body: RxNode; min: number; max: number; lazy: boolean }
  /** One byte from `set`; `preferred` is the byte as written (for literals), used when generating. */
  | { type: 'set'; set: ByteSet; preferred?: number }
  | { type: 'start' }
  | { type: 'end' }
  | { type: 'wordb'; negate: boolean }
  | { type: 'backref'; index: number };

export interface ParsedRegex {
  source: string;
  caseless: boolean;
  dotall: boolean;
  root: RxNode;
  groupCount: number;
}

export class RegexSyntaxError extends Error {}

/** Repeat bound used for an open-ended quantifier. */
export const UNBOUNDED = Number.MAX_SAFE_INTEGER;

const DIGIT = rangeSet([[0x30, 0x39]]);
const WORD = rangeSet([[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a], [0x5f, 0x5f]]);
/** PCRE's \s in the C locale: HT LF VT FF CR space (VT since PCRE 8.34; harmless either way). */
const SPACE = rangeSet([[0x09, 0x0d], [0x20, 0x20]]);

function rangeSet(ranges: [number, number][]): ByteSet {
  const s = new Uint8Array(256);
  for (const [a, b] of ranges) for (let c = a; c <= b; c++) s[c] = 1;
  return s;
}

function invert(s: ByteSet): ByteSet {
  const out = new Uint8Array(256);
  for (let i = 0; i < 256; i++) out[i] = s[i] ? 0 : 1;
  return out;
}

function addCase(s: ByteSet): void {
  for (let c = 0x41; c <= 0x5a; c++) if (s[c] || s[c + 32]) { s[c] = 1; s[c + 32] = 1; }
}

export function parseRegex(source: string, caseless: boolean, dotall: boolean): ParsedRegex {
  const p = new Parser(source, caseless, dotall);
  const root = p.parseAlt();
  if (p.pos < source.length) throw new RegexSyntaxError(`unbalanced ) at ${p.pos}`);
  return { source, caseless, dotall, root, groupCount: p.groups };
}

class Parser {
  pos = 0;
  groups = 0;
  constructor(private readonly s: string, private readonly caseless: boolean, private readonly dotall: boolean) {}

  parseAlt(): RxNode {
    const alts: RxNode[] = [this.parseSeq()];
    while (this.s[this.pos] === '|') {
      this.pos++;
      alts.push(this.parseSeq());
    }
    return alts.length === 1 ? alts[0] : { type: 'alt', alts };
  }

  private parseSeq(): RxNode {
    const items: RxNode[] = [];
    while (this.pos < this.s.length && this.s[this.pos] !== '|' && this.s[this.pos] !== ')') {
      const atom = this.parseAtom();
      items.push(this.parseQuantifier(atom));
    }
    return items.length === 1 ? items[0] : { type: 'seq', items };
  }

  private parseQuantifier(atom: RxNode): RxNode {
    const c = this.s[this.pos];
    let min: number;
    let max: number;
    if (c === '*') { min = 0; max = UNBOUNDED; this.pos++; }
    else if (c === '+') { min = 1; max = UNBOUNDED; this.pos++; }
    else if (c === '?') { min = 0; max = 1; this.pos++; }
    else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.s.slice(this.pos));
      if (m === null) return atom; // PCRE: a `{` that is not a quantifier is a literal
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? UNBOUNDED : Number(m[3]);
      this.pos += m[0].length;
    } else return atom;
    let lazy = false;
    if (this.s[this.pos] === '?') { lazy = true; this.pos++; }
    else if (this.s[this.pos] === '+') throw new RegexSyntaxError('possessive quantifiers are not supported');
    if (atom.type === 'start' || atom.type === 'end') return atom;
    return this.parseQuantifier({ type: 'repeat', body: atom, min, max, lazy });
  }

  private literal(code: number): RxNode {
    const set = new Uint8Array(256);
    set[code] = 1;
    if (this.caseless) addCase(set);
    return { type: 'set', set, preferred: code };
  }

  private parseAtom(): RxNode {
    const c = this.s[this.pos++];
    switch (c) {
      case '^': return { type: 'start' };
      case '$': return { type: 'end' };
      case '.': return { type: 'set', set: this.dotall ? rangeSet([[0, 255]]) : invert(rangeSet([[10, 10]])) };
      case '[': return this.parseClass();
      case '(': return this.parseGroup();
      case '\\': return this.parseEscape();
      default: return this.literal(c.charCodeAt(0));
    }
  }

  private parseGroup(): RxNode {
    let node: RxNode;
    if (this.s.startsWith('?:', this.pos)) {
      this.pos += 2;
      node = { type: 'group', index: 0, body: this.parseAlt() };
    } else if (this.s.startsWith('?=', this.pos) || this.s.startsWith('?!', this.pos)) {
      const negate = this.s[this.pos + 1] === '!';
      this.pos += 2;
      node = { type: 'look', ahead: true, negate, body: this.parseAlt() };
    } else if (this.s.startsWith('?<=', this.pos) || this.s.startsWith('?<!', this.pos)) {
      const negate = this.s[this.pos + 2] === '!';
      this.pos += 3;
      node = { type: 'look', ahead: false, negate, body: this.parseAlt() };
    } else if (this.s[this.pos] === '?') {
      throw new RegexSyntaxError(`unsupported group (${this.s.slice(this.pos, this.pos + 3)}`);
    } else {
      const index = ++this.groups;
      node = { type: 'group', index, body: this.parseAlt() };
    }
    if (this.s[this.pos] !== ')') throw new RegexSyntaxError('missing )');
    this.pos++;
    return node;
  }

  /** Escape outside a class. */
  private parseEscape(): RxNode {
    const c = this.s[this.pos];
    if (c === undefined) throw new RegexSyntaxError('trailing backslash');
    if (c === 'b' || c === 'B') { this.pos++; return { type: 'wordb', negate: c === 'B' }; }
    if (c >= '1' && c <= '9') {
      // PCRE: \1-\9 are back-references (no rule has 10+ groups referenced this way).
      this.pos++;
      return { type: 'backref', index: Number(c) };
    }
    const set = this.escapeSet();
    if (set.code !== undefined) return this.literal(set.code);
    return { type: 'set', set: set.set as ByteSet };
  }

  /** A class escape (\d…) or a single-byte escape; shared by both contexts. */
  private escapeSet(): { code?: number; set?: ByteSet } {
    const c = this.s[this.pos++];
    switch (c) {
      case 'd': return { set: DIGIT };
      case 'D': return { set: invert(DIGIT) };
      case 'w': return { set: WORD };
      case 'W': return { set: invert(WORD) };
      case 's': return { set: SPACE };
      case 'S': return { set: invert(SPACE) };
      case 'n': return { code: 10 };
      case 'r': return { code: 13 };
      case 't': return { code: 9 };
      case 'f': return { code: 12 };
      case 'v': return { code: 11 };
      case 'a': return { code: 7 };
      case 'e': return { code: 27 };
      case 'x': {
        const m = /^[0-9a-fA-F]{1,2}/.exec(this.s.slice(this.pos, this.pos + 2));
        if (m === null) return { code: 0 };
        this.pos += m[0].length;
        return { code: parseInt(m[0], 16) };
      }
      case '0': {
        // \0 followed by up to two more octal digits.
        const m = /^[0-7]{0,2}/.exec(this.s.slice(this.pos, this.pos + 2));
        const digits = m === null ? '' : m[0];
        this.pos += digits.length;
        return { code: digits === '' ? 0 : parseInt(digits, 8) };
      }
      default:
        return { code: c.charCodeAt(0) };
    }
  }

  private parseClass(): RxNode {
    let negate = false;
    if (this.s[this.pos] === '^') { negate = true; this.pos++; }
    const set = new Uint8Array(256);
    let first = true;
    for (;;) {
      if (this.pos >= this.s.length) throw new RegexSyntaxError('missing ]');
      let c = this.s[this.pos];
      if (c === ']' && !first) { this.pos++; break; }
      first = false;
      let lo: number;
      this.pos++;
      if (c === '\\') {
        if (this.s[this.pos] === 'b') { this.pos++; lo = 8; }
        else if (this.s[this.pos] >= '1' && this.s[this.pos] <= '7') {
          const m = /^[0-7]{1,3}/.exec(this.s.slice(this.pos)) as RegExpExecArray;
          this.pos += m[0].length;
          lo = parseInt(m[0], 8) & 0xff;
        } else {
          const e = this.escapeSet();
          if (e.set !== undefined) { for (let i = 0; i < 256; i++) if (e.set[i]) set[i] = 1; continue; }
          lo = e.code as number;
        }
      } else lo = c.charCodeAt(0);
      // A range `a-z`; a `-` before `]` is a literal.
      if (this.s[this.pos] === '-' && this.s[this.pos + 1] !== ']' && this.pos + 1 < this.s.length) {
        this.pos++;
        c = this.s[this.pos++];
        let hi: number;
        if (c === '\\') {
          const e = this.escapeSet();
          if (e.set !== undefined) { // `[a-\d]`: the `-` is literal
            set[lo] = 1; set[0x2d] = 1;
            for (let i = 0; i < 256; i++) if (e.set[i]) set[i] = 1;
            continue;
          }
          hi = e.code as number;
        } else hi = c.charCodeAt(0);
        if (hi < lo) throw new RegexSyntaxError('range out of order in class');
        for (let i = lo; i <= hi; i++) set[i] = 1;
      } else set[lo] = 1;
    }
    if (this.caseless) addCase(set);
    return { type: 'set', set: negate ? invert(set) : set };
  }
}

function hex(c: number): string {
  return '\\x' + c.toString(16).padStart(2, '0');
}

function setSource(set: ByteSet): string {
  let out = '';
  let n = 0;
  for (let i = 0; i < 256; i++) {
    if (!set[i]) continue;
    n++;
    let j = i;
    while (j + 1 < 256 && set[j + 1]) j++;
    out += j === i ? hex(i) : `${hex(i)}-${hex(j)}`;
    i = j;
  }
  return n === 0 ? '[^\\x00-\\uffff]' : `[${out}]`;
}

/**
 * JavaScript source with PCRE's meaning: explicit byte classes (no JS \s, no JS case folding of
 * Latin-1 letters, `.` per DOTALL), and PCRE's `$` (end, or before a final newline).
 */
export function toJsSource(node: RxNode): string {
  switch (node.type) {
    case 'seq': return node.items.map(toJsSource).join('');
    case 'alt': return node.alts.map(toJsSource).join('|');
    case 'group': return node.index === 0 ? `(?:${toJsSource(node.body)})` : `(${toJsSource(node.body)})`;
    case 'look': return `(?${node.ahead ? '' : '<'}${node.negate ? '!' : '='}${toJsSource(node.body)})`;
    case 'repeat': {
      const q = node.min === 0 && node.max === UNBOUNDED ? '*'
        : node.min === 1 && node.max === UNBOUNDED ? '+'
          : node.min === 0 && node.max === 1 ? '?'
            : node.max === UNBOUNDED ? `{${node.min},}` : node.min === node.max ? `{${node.min}}` : `{${node.min},${node.max}}`;
      const body = node.max === UNBOUNDED ? withoutInnerRuns(node.body, node.min === 0) : node.body;
      return `(?:${toJsSource(body)})${q}${node.lazy ? '?' : ''}`;
    }
    case 'set': {
      let count = 0;
      let only = -1;
      for (let i = 0; i < 256; i++) if (node.set[i]) { count++; only = i; }
      return count === 1 ? hex(only) : setSource(node.set);
    }
    case 'start': return '^';
    case 'end': return '(?=\\n?$)';
    case 'wordb': return node.negate ? '\\B' : '\\b';
    case 'backref': return `\\${node.index}`;
  }
}

/**
 * `X{1,∞}` of a one-byte set X (or `X{0,∞}` when the outer repeat may match nothing anyway): a run
 * the unbounded outer repeat can take one byte per iteration.
 */
function isSetRun(node: RxNode, outerMayBeEmpty: boolean): node is Extract<RxNode, { type: 'repeat' }> {
  return node.type === 'repeat' && node.max === UNBOUNDED && (node.min === 1 || (node.min === 0 && outerMayBeEmpty)) && node.body.type === 'set';
}

/**
 * The body of an unbounded repeat with each one-byte-set run inside it reduced to one byte:
 * `(?:[^<]+|<(?!/head>))*?` becomes `(?:[^<]|<(?!/head>))*?`. Both match the same strings, but
 * JavaScript's backtracking tries every way of splitting a run among iterations of the first form
 * (exponential in the run's length: nmap's PHP-cli-server rule never returned on a Boa 404 page),
 * where PCRE gives up at nmap's match limit. Non-capturing groups only: a capture keeps its shape.
 */
function withoutInnerRuns(body: RxNode, outerMayBeEmpty: boolean): RxNode {
  if (isSetRun(body, outerMayBeEmpty)) return body.body;
  if (body.type === 'group' && body.index === 0) {
    const inner = withoutInnerRuns(body.body, outerMayBeEmpty);
    return inner === body.body ? body : { type: 'group', index: 0, body: inner };
  }
  if (body.type === 'alt') {
    let changed = false;
    const alts = body.alts.map((a) => {
      const single = a.type === 'seq' && a.items.length === 1 ? (a.items[0] as RxNode) : a;
      if (!isSetRun(single, outerMayBeEmpty)) return a;
      changed = true;
      return single.body;
    });
    return changed ? { type: 'alt', alts } : body;
  }
  if (body.type === 'seq' && body.items.length === 1) return withoutInnerRuns(body.items[0] as RxNode, outerMayBeEmpty);
  return body;
}

/** Compiles a parsed PCRE pattern into an equivalent JS RegExp over latin1 strings. */
export function compileJs(parsed: ParsedRegex): RegExp {
  return new RegExp(toJsSource(parsed.root));
}
