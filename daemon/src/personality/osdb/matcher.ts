/**
 * Nmap 7.93's OS matching (`compare_fingerprints`, `AVal_match`, `match_fingerprint` in osscan.cc,
 * output rules of `printosscanoutput` in output.cc).
 *
 * Accuracy of one reference entry = (points of the attributes present in both the entry and the
 * subject whose value matches) / (points of all attributes present in both); 0 when nothing is
 * comparable. Missing tests or attributes on either side are neutral.
 *
 * The DB is compiled lazily on first use (per OsDb object): every (test, attribute) pair gets a
 * slot number, each entry becomes a flat list of (slot, points, compiled expression), so one
 * match against the whole DB is a tight loop without map lookups or string parsing.
 */
import { CompiledExpr, ParsedValue, compileExpr, parseValue } from './expr';
import { ObservedFingerprint, OsDb, OsFingerprint, TestName } from './types';

/** Nmap's OSSCAN_GUESS_THRESHOLD. */
export const OSSCAN_GUESS_THRESHOLD = 0.85;
/** Nmap's MAX_FP_RESULTS: slots in the result list. */
export const MAX_FP_RESULTS = 36;
/** More perfect matches than this and Nmap prints "Too many fingerprints match" (without -d). */
export const MAX_PRINTED_PERFECT = 8;

export interface MatchResult {
  fp: OsFingerprint;
  accuracy: number;
}

export interface MatchOptions {
  /** Entrance accuracy for the list (default 0.85; perfect matches always enter). */
  threshold?: number;
  /** List size (default 36, Nmap's). */
  maxResults?: number;
}

export type OsOutcomeKind =
  /** 1-8 perfect matches: "OS details: a, b". */
  | 'details'
  /** More than 8 perfect matches, or more than 36 (list overflow). */
  | 'too-many'
  /** No perfect match but the list is not empty: guesses / "No exact OS matches". */
  | 'no-exact'
  /** Empty list: "No OS matches for host". */
  | 'none';

export interface OsMatchOutcome {
  kind: OsOutcomeKind;
  /** Nmap's list: best accuracy per name, sorted descending, ties in DB order. */
  matches: MatchResult[];
  /** Names of the perfect matches, as "OS details" would print them (only for kind 'details'). */
  perfectNames: string[];
  /** How many perfect matches Nmap counted (capped at 36 + 1 on overflow). */
  perfectCount: number;
}

interface CompiledEntry {
  fp: OsFingerprint;
  /** Per comparable attribute: its slot, its points and its (slot, expression) pair id. */
  slots: Int32Array;
  points: Float64Array;
  pairs: Int32Array;
}

interface CompiledDb {
  fingerprintsRef: OsFingerprint[];
  count: number;
  /** `TEST.attr` → slot. */
  slotOf: Map<string, number>;
  slotCount: number;
  entries: CompiledEntry[];
  /** Distinct (slot, expression) pairs: the DB repeats most, so each is evaluated once per match. */
  pairSlot: Int32Array;
  pairExpr: CompiledExpr[];
}

const compiledDbs = new WeakMap<OsDb, CompiledDb>();

function slotKey(test: TestName, attr: string): string {
  return `${test}.${attr}`;
}

function compileDb(db: OsDb): CompiledDb {
  const slotOf = new Map<string, number>();
  const entries: CompiledEntry[] = [];
  const pairOf = new Map<string, number>();
  const pairSlot: number[] = [];
  const pairExpr: CompiledExpr[] = [];
  for (const fp of db.fingerprints) {
    const slots: number[] = [];
    const points: number[] = [];
    const pairs: number[] = [];
    for (const [test, attrs] of fp.tests) {
      const pts = db.matchPoints.get(test);
      if (pts === undefined) continue;
      for (const [attr, expr] of attrs) {
        const p = pts.get(attr);
        // No points: an attribute no subject carries (e.g. SEQ(R=N)); it is never compared.
        if (p === undefined) continue;
        const key = slotKey(test, attr);
        let slot = slotOf.get(key);
        if (slot === undefined) {
          slot = slotOf.size;
          slotOf.set(key, slot);
        }
        const pairKey = `${slot}=${expr}`;
        let pair = pairOf.get(pairKey);
        if (pair === undefined) {
          pair = pairSlot.length;
          pairOf.set(pairKey, pair);
          pairSlot.push(slot);
          pairExpr.push(compileExpr(expr));
        }
        slots.push(slot);
        points.push(p);
        pairs.push(pair);
      }
    }
    entries.push({ fp, slots: Int32Array.from(slots), points: Float64Array.from(points), pairs: Int32Array.from(pairs) });
  }
  return {
    fingerprintsRef: db.fingerprints,
    count: db.fingerprints.length,
    slotOf,
    slotCount: slotOf.size,
    entries,
    pairSlot: Int32Array.from(pairSlot),
    pairExpr,
  };
}

function compiled(db: OsDb): CompiledDb {
  let c = compiledDbs.get(db);
  // Recompile if the caller replaced or grew the fingerprint list since.
  if (c === undefined || c.fingerprintsRef !== db.fingerprints || c.count !== db.fingerprints.length) {
    c = compileDb(db);
    compiledDbs.set(db, c);
  }
  return c;
}

/** One subject prepared against a compiled DB: values by slot, pair results computed on demand. */
class Subject {
  private readonly values: Array<ParsedValue | undefined>;
  /** Per pair: 0 = not evaluated yet, 1 = match, 2 = no match. */
  private readonly results: Uint8Array;

  constructor(private readonly c: CompiledDb, observed: ObservedFingerprint) {
    this.values = new Array<ParsedValue | undefined>(c.slotCount);
    for (const [test, attrs] of observed) {
      for (const [attr, value] of attrs) {
        const slot = c.slotOf.get(slotKey(test, attr));
        if (slot !== undefined) this.values[slot] = parseValue(value);
      }
    }
    this.results = new Uint8Array(c.pairExpr.length);
  }

  has(slot: number): boolean {
    return this.values[slot] !== undefined;
  }

  pairMatches(pair: number): boolean {
    let r = this.results[pair];
    if (r === 0) {
      const v = this.values[this.c.pairSlot[pair]];
      r = v !== undefined && this.c.pairExpr[pair].matches(v) ? 1 : 2;
      this.results[pair] = r;
    }
    return r === 1;
  }

  accuracy(e: CompiledEntry): number {
    let possible = 0;
    let matched = 0;
    const slots = e.slots;
    for (let i = 0; i < slots.length; i++) {
      if (this.values[slots[i]] === undefined) continue;
      const p = e.points[i];
      possible += p;
      if (this.pairMatches(e.pairs[i])) matched += p;
    }
    return possible > 0 ? matched / possible : 0;
  }
}

/** Accuracy of one reference entry (which must belong to `db`, for its MatchPoints). */
export function compareFingerprint(db: OsDb, fp: OsFingerprint, observed: ObservedFingerprint): number {
  const c = compiled(db);
  const entry = c.entries.find((e) => e.fp === fp);
  if (entry === undefined) throw new Error(`fingerprint ${fp.name} (line ${fp.line}) is not part of this OsDb`);
  return new Subject(c, observed).accuracy(entry);
}

/** Accuracy of every entry, in DB order (no threshold, no per-name merging). */
export function scoreAll(db: OsDb, observed: ObservedFingerprint): Float64Array {
  const c = compiled(db);
  const subject = new Subject(c, observed);
  const out = new Float64Array(c.entries.length);
  for (let i = 0; i < c.entries.length; i++) out[i] = subject.accuracy(c.entries[i]);
  return out;
}

/** Why an attribute of an entry failed, for diagnostics. */
export interface AttributeMismatch {
  test: TestName;
  attr: string;
  observed: string;
  expected: string;
  points: number;
}

/** The comparable attributes of `fp` whose observed value does not match (Nmap's verbose NOMATCH lines). */
export function explainMismatches(db: OsDb, fp: OsFingerprint, observed: ObservedFingerprint): AttributeMismatch[] {
  const out: AttributeMismatch[] = [];
  for (const [test, attrs] of fp.tests) {
    const subj = observed.get(test);
    const pts = db.matchPoints.get(test);
    if (subj === undefined || pts === undefined) continue;
    for (const [attr, expr] of attrs) {
      const value = subj.get(attr);
      const points = pts.get(attr);
      if (value === undefined || points === undefined) continue;
      if (!compileExpr(expr).matches(parseValue(value))) out.push({ test, attr, observed: value, expected: expr, points });
    }
  }
  return out;
}

interface ListState {
  matches: MatchResult[];
  perfectCount: number;
  overflow: boolean;
}

/** `match_fingerprint`: the bounded, per-name list Nmap builds, walking the DB in order. */
function buildList(db: OsDb, observed: ObservedFingerprint, opts: MatchOptions | undefined): ListState {
  const threshold = opts?.threshold ?? OSSCAN_GUESS_THRESHOLD;
  const max = opts?.maxResults ?? MAX_FP_RESULTS;
  const c = compiled(db);
  const subject = new Subject(c, observed);
  const matches: MatchResult[] = [];
  let perfectCount = 0;
  let entrance = threshold;
  for (const e of c.entries) {
    const acc = subject.accuracy(e);
    if (!(acc >= entrance || acc === 1)) continue;
    const same = matches.findIndex((m) => m.fp.name === e.fp.name);
    if (same >= 0) {
      if (matches[same].accuracy >= acc) continue; // a better one of this name is listed
      matches.splice(same, 1);
    }
    if (acc === 1) {
      if (perfectCount === max) return { matches, perfectCount: perfectCount + 1, overflow: true };
      perfectCount++;
    }
    let at = matches.findIndex((m) => m.accuracy < acc);
    if (at < 0) at = matches.length;
    if (at >= max) continue;
    matches.splice(at, 0, { fp: e.fp, accuracy: acc });
    if (matches.length > max) matches.length = max;
    if (matches.length === max) entrance = matches[max - 1].accuracy + 0.00001;
  }
  return { matches, perfectCount, overflow: false };
}

/**
 * Nmap 7.93's result list for a subject: entries with accuracy ≥ threshold (perfect ones always),
 * best per `Fingerprint` name, at most 36, sorted by accuracy (ties keep DB order).
 */
export function matchFingerprint(db: OsDb, observed: ObservedFingerprint, opts?: MatchOptions): MatchResult[] {
  return buildList(db, observed, opts).matches;
}

/** What `nmap -O` (no -d) would conclude from this subject fingerprint. */
export function nmapOsOutcome(db: OsDb, observed: ObservedFingerprint, opts?: MatchOptions): OsMatchOutcome {
  const { matches, perfectCount, overflow } = buildList(db, observed, opts);
  if (overflow || perfectCount > MAX_PRINTED_PERFECT) return { kind: 'too-many', matches, perfectNames: [], perfectCount };
  if (perfectCount > 0) {
    return { kind: 'details', matches, perfectNames: matches.slice(0, perfectCount).map((m) => m.fp.name), perfectCount };
  }
  return { kind: matches.length > 0 ? 'no-exact' : 'none', matches, perfectNames: [], perfectCount };
}

/** True when Nmap 7.93 would print `name` on its "OS details" line for this subject. */
export function isPerfectMatchFor(db: OsDb, observed: ObservedFingerprint, name: string): boolean {
  const outcome = nmapOsOutcome(db, observed);
  return outcome.kind === 'details' && outcome.perfectNames.includes(name);
}
