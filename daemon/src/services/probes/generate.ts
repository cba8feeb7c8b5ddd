/**
 * Generates a string that a parsed PCRE pattern matches, with chosen capture groups pinned to
 * given values (so nmap's `v/$1/` prints exactly the configured version). Fillers come from a
 * seeded generator: the same seed gives the same bytes, another seed other plausible bytes.
 * Lookarounds are not generated; callers verify the result with the compiled regex.
 */

import type { SeededRandom } from '../../personality/model/prng';
import { UNBOUNDED, type ByteSet, type ParsedRegex, type RxNode } from './pcre';

/** Byte classes in the order fillers prefer them: plausible text first, control and high bytes last. */
const CATEGORIES: number[][] = [
  range(0x61, 0x7a),
  range(0x30, 0x39),
  range(0x41, 0x5a),
  [0x20, 0x2e, 0x2d, 0x5f, 0x2f, 0x3a],
  range(0x21, 0x7e),
  [0x09, 0x0d, 0x0a],
  range(0x00, 0xff),
];

function range(a: number, b: number): number[] {
  const out: number[] = [];
  for (let c = a; c <= b; c++) out.push(c);
  return out;
}

export interface GenerateOptions {
  /** Group number → the exact text it must capture. */
  pins?: ReadonlyMap<number, string>;
  rng: SeededRandom;
  /** 0 = most conservative; higher values take random alternatives and longer repeats (retries). */
  variation?: number;
}

/** Which capture groups a node contains (memoised per node). */
const groupsInside = new WeakMap<RxNode, Set<number>>();
function groupsOf(node: RxNode): Set<number> {
  let s = groupsInside.get(node);
  if (s !== undefined) return s;
  s = new Set<number>();
  switch (node.type) {
    case 'seq': for (const n of node.items) for (const g of groupsOf(n)) s.add(g); break;
    case 'alt': for (const n of node.alts) for (const g of groupsOf(n)) s.add(g); break;
    case 'group': if (node.index > 0) s.add(node.index); for (const g of groupsOf(node.body)) s.add(g); break;
    case 'repeat': for (const g of groupsOf(node.body)) s.add(g); break;
    default: break;
  }
  groupsInside.set(node, s);
  return s;
}

class Generator {
  readonly captures: (string | undefined)[] = [];
  constructor(private readonly pins: ReadonlyMap<number, string>, private readonly rng: SeededRandom, private readonly variation: number) {}

  private wantsPinned(node: RxNode): boolean {
    for (const g of groupsOf(node)) if (this.pins.has(g)) return true;
    return false;
  }

  pickByte(set: ByteSet, preferred: number | undefined): number {
    if (preferred !== undefined && set[preferred]) return preferred;
    // A class with a space and no lowercase letter (`\s`, `[ -_]`, `[ ,]`) is a separator: use one.
    if (set[0x20] && !set[0x61]) {
      const seps = [0x20, 0x2d, 0x5f, 0x2e, 0x2f, 0x3a].filter((c) => set[c]);
      return this.variation > 0 ? this.rng.pick(seps) : 0x20;
    }
    // Retries skip up to `variation` of the letter/digit/uppercase classes, so a filler can step
    // outside a more generic rule's `[\w.-]+` that shadows the target.
    const depth = this.variation === 0 ? 0 : this.rng.int(Math.max(0, this.variation - 4), Math.min(this.variation, 3));
    let skipped = 0;
    for (const cat of CATEGORIES) {
      const members = cat.filter((c) => set[c]);
      if (members.length === 0) continue;
      if (skipped < depth && CATEGORIES.indexOf(cat) < 3) { skipped++; continue; }
      return this.rng.pick(members);
    }
    for (let c = 0; c < 256; c++) if (set[c]) return c;
    throw new Error('empty byte set');
  }

  gen(node: RxNode): string {
    switch (node.type) {
      case 'seq': return node.items.map((n) => this.gen(n)).join('');
      case 'alt': {
        const withPins = node.alts.filter((a) => this.wantsPinned(a));
        const pool = withPins.length > 0 ? withPins : node.alts;
        const choice = this.variation > 0 ? this.rng.pick(pool) : pool[0];
        return this.gen(choice);
      }
      case 'group': {
        if (node.index > 0 && this.pins.has(node.index)) {
          const v = this.pins.get(node.index) as string;
          this.captures[node.index] = v;
          return v;
        }
        const text = this.gen(node.body);
        if (node.index > 0) this.captures[node.index] = text;
        return text;
      }
      case 'repeat': {
        let count = node.min;
        if (count === 0 && this.wantsPinned(node.body)) count = 1;
        // `\r?\n`, `\.?`: real servers send the optional literal more often than not.
        else if (count === 0 && node.max === 1 && node.body.type === 'set' && node.body.preferred !== undefined) count = 1;
        else if (this.variation > 0 && node.max > count) count += this.rng.int(0, Math.min(2, node.max - count));
        if (count > 64 && node.max !== UNBOUNDED) count = Math.max(node.min, 64);
        let out = '';
        for (let i = 0; i < count; i++) out += this.gen(node.body);
        return out;
      }
      case 'set': return String.fromCharCode(this.pickByte(node.set, node.preferred));
      case 'backref': return this.captures[node.index] ?? '';
      case 'look': case 'start': case 'end': case 'wordb': return '';
    }
  }
}

export interface Generated {
  text: string;
  captures: (string | undefined)[];
}

/** One candidate string for `regex` (not yet verified). */
export function generate(regex: ParsedRegex, opts: GenerateOptions): Generated {
  const g = new Generator(opts.pins ?? new Map(), opts.rng, opts.variation ?? 0);
  const text = g.gen(regex.root);
  return { text, captures: g.captures };
}

/**
 * A verified string: the compiled regex matches it and every pinned group captured exactly its
 * value. Tries `attempts` variations; undefined when none works.
 */
export function generateVerified(regex: ParsedRegex, compiled: RegExp, opts: GenerateOptions, attempts = 6): Generated | undefined {
  const pins = opts.pins ?? new Map<number, string>();
  for (let v = 0; v < attempts; v++) {
    const out = generate(regex, { ...opts, variation: v === 0 ? (opts.variation ?? 0) : v });
    const m = compiled.exec(out.text);
    if (m === null) continue;
    let ok = true;
    for (const [g, value] of pins) if (m[g] !== value) { ok = false; break; }
    if (ok) return { text: out.text, captures: Array.from(m) };
  }
  return undefined;
}
