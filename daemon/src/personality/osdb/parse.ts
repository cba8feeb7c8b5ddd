/**
 * Reader for nmap-os-db (second generation). Plain string scanning, one pass; a malformed entry is
 * recorded in `errors` (file, line) and skipped, never thrown.
 */
import { readFileSync } from 'node:fs';
import { OsClass, OsDb, OsDbError, OsFingerprint, TEST_NAMES, TestName } from './types';

const TEST_NAME_SET: ReadonlySet<string> = new Set<string>(TEST_NAMES);

function isTestName(s: string): s is TestName {
  return TEST_NAME_SET.has(s);
}

/** What a line inside an entry parsed into, or an error message. */
type TestLine = { name: TestName; attrs: Map<string, string> } | string;

/** `NAME(a=v%b=w)` → name and attributes. Values are kept raw (they are expressions). */
function parseTestLine(line: string): TestLine {
  const open = line.indexOf('(');
  if (open <= 0) return `not a test line: ${clip(line)}`;
  const name = line.slice(0, open);
  if (!isTestName(name)) return `unknown test ${JSON.stringify(clip(name))}`;
  const close = line.indexOf(')', open + 1);
  if (close < 0) return `missing ')' in ${name} line`;
  if (line.length > close + 1 && line.slice(close + 1).trim() !== '') return `text after ')' in ${name} line`;
  const attrs = new Map<string, string>();
  let p = open + 1;
  if (p === close) return { name, attrs };
  while (p <= close) {
    let end = line.indexOf('%', p);
    if (end < 0 || end > close) end = close;
    const eq = line.indexOf('=', p);
    if (eq < 0 || eq >= end) return `attribute without '=' in ${name} line`;
    const attr = line.slice(p, eq);
    if (attr === '') return `empty attribute name in ${name} line`;
    if (attrs.has(attr)) return `duplicate attribute ${name}.${attr}`;
    attrs.set(attr, line.slice(eq + 1, end));
    p = end + 1;
  }
  return { name, attrs };
}

/** `Class vendor | family | generation | device type` (generation may be empty). */
function parseClassLine(line: string): OsClass | string {
  const body = line.slice(6);
  const b1 = body.indexOf('|');
  const b2 = b1 < 0 ? -1 : body.indexOf('|', b1 + 1);
  const b3 = b2 < 0 ? -1 : body.indexOf('|', b2 + 1);
  if (b3 < 0) return 'Class line needs four |-separated fields';
  return {
    vendor: body.slice(0, b1).trim(),
    family: body.slice(b1 + 1, b2).trim(),
    generation: body.slice(b2 + 1, b3).trim(),
    deviceType: body.slice(b3 + 1).trim(),
  };
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Case-insensitive prefix test (Nmap uses strncasecmp for these keywords); `word` is lowercase. */
function startsWithWord(line: string, word: string): boolean {
  if (line.length < word.length) return false;
  for (let i = 0; i < word.length; i++) {
    if ((line.charCodeAt(i) | 0x20) !== word.charCodeAt(i) && line.charCodeAt(i) !== word.charCodeAt(i)) return false;
  }
  return true;
}

function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

interface RawDb extends OsDb {
  /** Line of the MatchPoints block, if this text had one. */
  matchPointsLine: number;
}

function parseRaw(text: string, file: string): RawDb {
  const fingerprints: OsFingerprint[] = [];
  const errors: OsDbError[] = [];
  let matchPoints: Map<TestName, Map<string, number>> | null = null;
  let matchPointsLine = 0;

  // The entry being read. `null` with `skipping` = discard lines up to the next blank line.
  let cur: OsFingerprint | null = null;
  let curIsPoints = false;
  let points: Map<TestName, Map<string, number>> | null = null;
  let skipping = false;

  const fail = (line: number, message: string): void => {
    errors.push({ file, line, message });
    cur = null;
    points = null;
    curIsPoints = false;
    skipping = true;
  };
  const finish = (): void => {
    if (cur !== null) fingerprints.push(cur);
    if (curIsPoints && points !== null) matchPoints = points;
    cur = null;
    points = null;
    curIsPoints = false;
  };

  let lineNo = 0;
  let pos = 0;
  const n = text.length;
  while (pos < n) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = n;
    let line = text.slice(pos, nl);
    pos = nl + 1;
    lineNo++;
    if (line.length > 0 && line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
    if (line.charCodeAt(0) === 0x23) continue; // '#' comment, also inside entries
    if (isBlank(line)) {
      finish();
      skipping = false;
      continue;
    }
    const c0 = line.charCodeAt(0) | 0x20;
    if (c0 === 0x66 && (startsWithWord(line, 'fingerprint ') || line.trim().toLowerCase() === 'fingerprint')) {
      finish();
      skipping = false;
      let name = line.slice(11);
      const hash = name.indexOf('#');
      if (hash >= 0) name = name.slice(0, hash);
      name = name.trim();
      if (name === '') {
        fail(lineNo, 'Fingerprint line without a name');
        continue;
      }
      cur = { name, file, line: lineNo, classes: [], cpes: [], tests: new Map() };
      continue;
    }
    if (c0 === 0x6d && startsWithWord(line, 'matchpoints')) {
      finish();
      skipping = false;
      if (line.slice(11).trim() !== '') {
        fail(lineNo, 'text after MatchPoints');
      } else if (matchPoints !== null) {
        fail(lineNo, `second MatchPoints block (first at line ${matchPointsLine})`);
      } else {
        curIsPoints = true;
        points = new Map();
        matchPointsLine = lineNo;
      }
      continue;
    }
    if (skipping) continue;
    if (cur === null && !curIsPoints) {
      fail(lineNo, `line outside an entry: ${clip(line)}`);
      continue;
    }
    if (line.startsWith('Class ')) {
      if (curIsPoints) {
        fail(lineNo, 'Class line inside MatchPoints');
        continue;
      }
      const c = parseClassLine(line);
      if (typeof c === 'string') fail(lineNo, c);
      else (cur as OsFingerprint | null)?.classes.push(c);
      continue;
    }
    if (line.startsWith('CPE ')) {
      const entry = cur as OsFingerprint | null;
      if (entry === null || entry.classes.length === 0) {
        fail(lineNo, 'CPE line without a preceding Class line');
        continue;
      }
      // The CPE may be followed by whitespace-separated flags (e.g. "auto"), which are ignored.
      const cpe = line.slice(4).trim().split(/\s+/, 1)[0];
      if (cpe === undefined || cpe === '') fail(lineNo, 'empty CPE line');
      else entry.cpes.push(cpe);
      continue;
    }
    const t = parseTestLine(line);
    if (typeof t === 'string') {
      fail(lineNo, t);
      continue;
    }
    if (curIsPoints) {
      const pm = points as Map<TestName, Map<string, number>> | null;
      if (pm === null) continue;
      if (pm.has(t.name)) {
        fail(lineNo, `duplicate MatchPoints test ${t.name}`);
        continue;
      }
      const row = new Map<string, number>();
      let bad = '';
      for (const [attr, v] of t.attrs) {
        if (!/^[0-9]+$/.test(v)) bad = `bogus point amount ${t.name}.${attr}=${v}`;
        row.set(attr, Number(v));
      }
      if (bad !== '') fail(lineNo, bad);
      else pm.set(t.name, row);
    } else {
      const entry = cur as OsFingerprint | null;
      if (entry === null) continue;
      if (entry.tests.has(t.name)) {
        fail(lineNo, `duplicate test ${t.name} in entry`);
        continue;
      }
      entry.tests.set(t.name, t.attrs);
    }
  }
  finish();
  return { fingerprints, matchPoints: matchPoints ?? new Map(), errors, matchPointsLine };
}

const T_ATTRS = ['R', 'DF', 'T', 'TG', 'W', 'S', 'A', 'F', 'O', 'RD', 'Q'];

/** Every attribute a subject fingerprint built by Nmap 7.93 can carry, per test. */
export const SUBJECT_ATTRIBUTES: ReadonlyMap<TestName, readonly string[]> = new Map<TestName, readonly string[]>([
  ['SEQ', ['SP', 'GCD', 'ISR', 'TI', 'CI', 'II', 'SS', 'TS']],
  ['OPS', ['O1', 'O2', 'O3', 'O4', 'O5', 'O6']],
  ['WIN', ['W1', 'W2', 'W3', 'W4', 'W5', 'W6']],
  ['ECN', ['R', 'DF', 'T', 'TG', 'W', 'O', 'CC', 'Q']],
  ['T1', ['R', 'DF', 'T', 'TG', 'S', 'A', 'F', 'RD', 'Q']],
  ['T2', T_ATTRS],
  ['T3', T_ATTRS],
  ['T4', T_ATTRS],
  ['T5', T_ATTRS],
  ['T6', T_ATTRS],
  ['T7', T_ATTRS],
  ['U1', ['R', 'DF', 'T', 'TG', 'IPL', 'UN', 'RIPL', 'RID', 'RIPCK', 'RUCK', 'RUD']],
  ['IE', ['R', 'DFI', 'T', 'TG', 'CD']],
]);

/**
 * Drop (and report) entries with an attribute that a subject can carry but MatchPoints gives no
 * points for: Nmap 7.93 aborts the scan when it meets one. Attributes no subject carries (e.g. the
 * DB's `SEQ(R=N)`, `OPS(R=N)`) are never compared and are kept.
 */
function checkAgainstMatchPoints(db: OsDb): void {
  if (db.matchPoints.size === 0) {
    if (db.fingerprints.length > 0) {
      db.errors.push({ file: db.fingerprints[0].file, line: 0, message: 'no MatchPoints block: entries cannot be matched' });
    }
    return;
  }
  // Per test, the subject attributes that have no points (normally none, so the scan is cheap).
  const unpointed = new Map<TestName, string[]>();
  for (const [test, attrs] of SUBJECT_ATTRIBUTES) {
    const pts = db.matchPoints.get(test);
    const missing = attrs.filter((a) => pts === undefined || !pts.has(a));
    if (missing.length > 0) unpointed.set(test, missing);
  }
  const kept: OsFingerprint[] = [];
  for (const fp of db.fingerprints) {
    let problem = '';
    for (const [test, missing] of unpointed) {
      const attrs = fp.tests.get(test);
      const bad = attrs === undefined ? undefined : missing.find((a) => attrs.has(a));
      if (bad !== undefined) {
        problem = `${test}.${bad} has no MatchPoints`;
        break;
      }
    }
    if (problem === '') kept.push(fp);
    else db.errors.push({ file: fp.file, line: fp.line, message: `${problem}; entry skipped` });
  }
  db.fingerprints = kept;
}

/** Parse one nmap-os-db text. `file` is only used in positions. */
export function parseOsDb(text: string, file: string): OsDb {
  const raw = parseRaw(text, file);
  const db: OsDb = { fingerprints: raw.fingerprints, matchPoints: raw.matchPoints, errors: raw.errors };
  if (raw.matchPointsLine > 0) checkAgainstMatchPoints(db);
  return db;
}

/**
 * Read and merge several files: entries accumulate in file order; MatchPoints come from the first
 * file that has them. Unreadable files are reported in `errors`. With `onlyNames`, only entries of
 * those names are parsed (the daemon needs a handful of the 5,600; this spares it the rest's memory).
 */
export function loadOsDb(files: string[], onlyNames?: ReadonlySet<string>): OsDb {
  const merged: OsDb = { fingerprints: [], matchPoints: new Map(), errors: [] };
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      merged.errors.push({ file, line: 0, message: `cannot read: ${(e as Error).message}` });
      continue;
    }
    if (onlyNames !== undefined) text = keepEntries(text, onlyNames);
    const raw = parseRaw(text, file);
    for (const fp of raw.fingerprints) merged.fingerprints.push(fp);
    for (const err of raw.errors) merged.errors.push(err);
    if (merged.matchPoints.size === 0 && raw.matchPointsLine > 0) merged.matchPoints = raw.matchPoints;
  }
  checkAgainstMatchPoints(merged);
  return merged;
}

/**
 * Blank out every entry whose `Fingerprint` name is not wanted, keeping line numbers intact, so
 * only the wanted entries (and MatchPoints) are parsed.
 */
export function keepEntries(text: string, names: ReadonlySet<string>): string {
  const lines = text.split('\n');
  let keep = true;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.startsWith('Fingerprint ')) keep = names.has(line.slice('Fingerprint '.length).trim());
    else if (line.startsWith('MatchPoints')) keep = true;
    if (!keep) lines[i] = '';
  }
  return lines.join('\n');
}
