/**
 * Personality names the installed nmap-os-db lacks, resolved to the closest second-generation
 * entry. Honeyd matched names exactly, and old configurations carry names from first-generation
 * databases (`Linux 2.4.7 (X86)`, `Cisco IOS 11.3 - 12.0(11)`) or loose ones (`Windows 10`).
 *
 * Policy, in order (the first difference decides):
 *   0. the same name ignoring case is taken as is;
 *   1. vendor: an entry whose Class vendor is named in the wanted name (Microsoft, Cisco, ...);
 *   2. family: an entry whose Class family is named (Windows, Linux, IOS, Mac OS X, ...; the
 *      longest family phrase wins, `Win95`/`WinXP`/`NT4` count as Windows);
 *   3. generation: the Class generation fits the wanted version (`2.4.X` fits 2.4.7, `12.X` fits
 *      12.1(5), `XP`/`NT`/`2000` are matched as words);
 *   4. version: the nearest version after the family word (ranges such as `2.4.18 - 2.4.35`
 *      count as covering); only when a family was named, since other numbers are model numbers;
 *   5. device type (router, switch, firewall, ...) named in the wanted name;
 *   6. most words in common, then fewest other words; when no version counted, the newest;
 *      then the shorter name, then alphabetical order.
 * Vendor and generation count double when they are the entry's own (its first Class line), not
 * one of a combined entry's others.
 * A name that names no known vendor or family (`Unknown`) gets decoyd's default personality.
 * Every choice is reported as a warning naming the entry chosen (an error with --strict-personalities).
 */

import type { IssueList } from './errors';
import type { Located, ParsedConfig } from './model';
import type { OsClass, OsDbNames } from './osdb-names';

export interface PersonalityChoice {
  wanted: string;
  chosen: string;
  /** Why this entry: shown to the user. */
  reason: string;
}

interface Candidate {
  name: string;
  lower: string;
  classes: OsClass[];
  words: Set<string>;
}

interface Index {
  candidates: Candidate[];
  /** Family phrases as the database writes them, longest first. */
  families: string[];
  vendors: string[];
  types: string[];
  byLower: Map<string, string>;
}

/** Words that mean Windows, with the generation they imply. */
const WINDOWS_ALIASES: Record<string, string> = { win95: '95', win98: '98', winnt: 'NT', nt4: 'NT', win2k: '2000', win2000: '2000', winxp: 'XP', winme: 'Me' };
/** Family words that are not families (Class lines use them for devices). */
const NOT_FAMILIES = new Set(['embedded', 'specialized', '']);
/** Type words in old names that mean a Class type. */
const TYPE_ALIASES: Record<string, string> = { 'programmable logic controller': 'specialized', plc: 'specialized', 'isdn router': 'router' };

const indexes = new WeakMap<OsDbNames, Index>();

function indexOf(names: OsDbNames): Index {
  let index = indexes.get(names);
  if (index) return index;
  const families = new Set<string>();
  const vendors = new Set<string>();
  const types = new Set<string>();
  const candidates: Candidate[] = [];
  const byLower = new Map<string, string>();
  for (const [name, info] of names) {
    candidates.push({ name, lower: name.toLowerCase(), classes: info.classes, words: wordsOf(name) });
    if (!byLower.has(name.toLowerCase())) byLower.set(name.toLowerCase(), name);
    for (const c of info.classes) {
      if (!NOT_FAMILIES.has(c.family)) families.add(c.family);
      if (c.vendor !== '') vendors.add(c.vendor);
      if (c.type !== '') types.add(c.type);
    }
  }
  index = {
    candidates,
    families: [...families].sort((a, b) => b.length - a.length),
    vendors: [...vendors].sort((a, b) => b.length - a.length),
    types: [...types].sort((a, b) => b.length - a.length),
    byLower,
  };
  indexes.set(names, index);
  return index;
}

function wordsOf(text: string): Set<string> {
  return new Set(
    text
      .toLowerCase()
      .split(/[^a-z0-9.]+/)
      .map((w) => w.replace(/^\.+|\.+$/g, ''))
      .filter((w) => w !== ''),
  );
}

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Where `phrase` occurs in `text` as a whole word (`Non-IOS` does not contain IOS); -1 if not. */
function findPhrase(text: string, phrase: string, caseSensitive: boolean): number {
  const re = new RegExp(`(?<![A-Za-z0-9\\-])${escapeRe(phrase)}(?![A-Za-z])`, caseSensitive ? '' : 'i');
  const m = re.exec(text);
  return m ? m.index : -1;
}

/** A version range as comparable numbers; `wildcard` when the name ends in `.x`. */
interface VersionRange {
  low: number;
  high: number;
  parts: number[];
}

const VERSION_RE = /(\d+(?:\.\d+)*)(?:\((\d+)\))?(\.[xX])?/;

function versionKey(parts: number[]): number {
  const [a = 0, b = 0, c = 0] = parts.map((p) => Math.min(p, 999));
  return a * 1e6 + b * 1e3 + c;
}

/** The first version in `text` (and a range `A - B` after it). */
function versionIn(text: string): VersionRange | undefined {
  const m = VERSION_RE.exec(text);
  if (!m) return undefined;
  const parts = m[1].split('.').map(Number);
  if (m[2] !== undefined) parts.push(Number(m[2]));
  const low = versionKey(parts);
  let high = low;
  if (m[3]) high = versionKey([...parts, 999, 999].slice(0, 3));
  const rest = text.slice(m.index + m[0].length);
  const range = /^\s*-\s*(\d+(?:\.\d+)*)(?:\((\d+)\))?/.exec(rest);
  if (range) {
    const hi = range[1].split('.').map(Number);
    if (range[2] !== undefined) hi.push(Number(range[2]));
    high = Math.max(high, versionKey(hi));
  }
  return { low, high, parts };
}

interface Wanted {
  text: string;
  vendors: Set<string>;
  family: string | undefined;
  /** Text after the family phrase (or the whole name), where versions and generations are. */
  rest: string;
  version: VersionRange | undefined;
  genWords: Set<string>;
  types: Set<string>;
  words: Set<string>;
}

function analyse(text: string, index: Index): Wanted {
  const vendors = new Set<string>();
  for (const v of index.vendors) if (findPhrase(text, v, false) >= 0) vendors.add(v);
  let family: string | undefined;
  let at = -1;
  // Case-sensitive first, so Cisco's IOS and Apple's iOS stay apart; the longest phrase wins.
  for (const caseSensitive of [true, false]) {
    for (const f of index.families) {
      const i = findPhrase(text, f, caseSensitive);
      if (i >= 0) {
        family = f;
        at = i + f.length;
        break;
      }
    }
    if (family) break;
  }
  const genWords = new Set<string>();
  for (const w of text.split(/[\s/(),]+/)) {
    const alias = WINDOWS_ALIASES[w.toLowerCase()];
    if (alias) {
      genWords.add(alias.toLowerCase());
      if (!family) {
        family = 'Windows';
        at = text.indexOf(w) + w.length;
      }
    }
    genWords.add(w.toLowerCase());
  }
  const rest = at >= 0 ? text.slice(at) : text;
  const types = new Set<string>();
  for (const t of index.types) if (findPhrase(text, t, false) >= 0) types.add(t);
  for (const [phrase, type] of Object.entries(TYPE_ALIASES)) if (findPhrase(text, phrase, false) >= 0) types.add(type);
  return { text, vendors, family, rest, version: versionIn(rest), genWords, types, words: wordsOf(text) };
}

function generationFits(gen: string, wanted: Wanted): boolean {
  if (gen === '') return false;
  if (/^[\dX.]+$/.test(gen) && wanted.version) {
    const g = gen.split('.');
    const v = wanted.version.parts;
    return g.every((part, i) => part === 'X' || (v[i] !== undefined && Number(part) === v[i]));
  }
  return gen.split('/').some((g) => wanted.genWords.has(g.toLowerCase()));
}

interface Score {
  vendor: number;
  family: number;
  generation: number;
  /** Smaller is closer. */
  distance: number;
  type: number;
  overlap: number;
  /** Words of the candidate's name (not numbers) that the wanted name lacks. */
  extra: number;
}

function score(c: Candidate, w: Wanted): Score {
  // The entry's own (first) vendor counts more than one of a combined entry's vendors.
  const vendor = c.classes.length > 0 && w.vendors.has(c.classes[0].vendor) ? 2 : c.classes.some((k) => w.vendors.has(k.vendor)) ? 1 : 0;
  const familyClasses = w.family === undefined ? [] : c.classes.filter((k) => k.family.toLowerCase() === w.family?.toLowerCase());
  const family = familyClasses.length > 0 ? 1 : 0;
  // As with vendors, the entry's own (first) generation counts more than a combined entry's others.
  const pool = family ? familyClasses : c.classes;
  const generation = pool.length > 0 && generationFits(pool[0].generation, w) ? 2 : pool.some((k) => generationFits(k.generation, w)) ? 1 : 0;
  let distance = Number.MAX_SAFE_INTEGER;
  const familyAt = w.family === undefined ? -1 : findPhrase(c.name, w.family, false);
  const theirs = versionIn(familyAt >= 0 ? c.name.slice(familyAt + (w.family?.length ?? 0)) : c.name);
  if (theirs && w.version) {
    if (theirs.high >= w.version.low && theirs.low <= w.version.high) distance = 0;
    else distance = Math.min(Math.abs(theirs.low - w.version.high), Math.abs(theirs.high - w.version.low));
  } else if (theirs && !w.version) distance = 1e12 - theirs.high; // no version wanted: the newest
  const type = c.classes.some((k) => w.types.has(k.type)) ? 1 : 0;
  let overlap = 0;
  for (const word of w.words) if (c.words.has(word)) overlap++;
  let extra = 0;
  for (const word of c.words) if (!/^[\d.]+$/.test(word) && !w.words.has(word)) extra++;
  return { vendor, family, generation, distance, type, overlap, extra };
}

function better(a: Score, b: Score, an: string, bn: string, versionGiven: boolean): boolean {
  if (a.vendor !== b.vendor) return a.vendor > b.vendor;
  if (a.family !== b.family) return a.family > b.family;
  if (a.generation !== b.generation) return a.generation > b.generation;
  if (versionGiven && a.distance !== b.distance) return a.distance < b.distance;
  if (a.type !== b.type) return a.type > b.type;
  if (a.overlap !== b.overlap) return a.overlap > b.overlap;
  if (a.extra !== b.extra) return a.extra < b.extra;
  if (!versionGiven && a.distance !== b.distance) return a.distance < b.distance;
  if (an.length !== bn.length) return an.length < bn.length;
  return an < bn;
}

/**
 * The entry to use for `wanted`, or undefined when nmap-os-db has it exactly. `fallback` is used
 * when the name names nothing decoyd recognises.
 */
export function resolvePersonality(wanted: string, names: OsDbNames, fallback: string): PersonalityChoice | undefined {
  if (names.has(wanted)) return undefined;
  const index = indexOf(names);
  const sameCase = index.byLower.get(wanted.toLowerCase());
  if (sameCase) return { wanted, chosen: sameCase, reason: 'the same name in other letter case' };
  const w = analyse(wanted, index);
  if (w.vendors.size === 0 && w.family === undefined) {
    return { wanted, chosen: fallback, reason: "no vendor or OS family in the name that nmap-os-db knows; decoyd's default personality" };
  }
  let best: Candidate | undefined;
  let bestScore: Score | undefined;
  for (const c of index.candidates) {
    const s = score(c, w);
    if (s.vendor === 0 && s.family === 0) continue;
    if (!bestScore || !best || better(s, bestScore, c.name, best.name, w.version !== undefined && w.family !== undefined)) {
      best = c;
      bestScore = s;
    }
  }
  if (!best || !bestScore) return { wanted, chosen: fallback, reason: "no entry of that vendor or family; decoyd's default personality" };
  return { wanted, chosen: best.name, reason: explain(best, bestScore, w) };
}

function explain(c: Candidate, s: Score, w: Wanted): string {
  const inFamily = c.classes.filter((x) => w.family !== undefined && x.family.toLowerCase() === w.family.toLowerCase());
  const k = inFamily.find((x) => generationFits(x.generation, w)) ?? inFamily[0] ?? c.classes[0];
  const parts: string[] = [];
  if (k) parts.push(s.vendor ? `vendor ${k.vendor}` : `vendor ${k.vendor} (from the family)`);
  if (s.family && k) parts.push(`family ${k.family}`);
  if (s.generation && k) parts.push(`generation ${k.generation || '-'}`);
  if (w.version && w.family !== undefined) parts.push(s.distance === 0 ? 'version in range' : 'nearest version');
  else parts.push('most words in common');
  if (s.type && k) parts.push(`type ${k.type}`);
  return parts.join(', ');
}

/** Honeyd's `personality random`, made repeatable: the same template name picks the same entry. */
export function randomPersonality(templateName: string, names: OsDbNames): string | undefined {
  const all = [...names.keys()].sort();
  if (all.length === 0) return undefined;
  let h = 2166136261;
  for (let i = 0; i < templateName.length; i++) h = Math.imul(h ^ templateName.charCodeAt(i), 16777619) >>> 0;
  return all[h % all.length];
}

/** One resolved name and the templates that use it, for `decoyd check`. */
export interface PersonalityMapping extends PersonalityChoice {
  templates: string[];
  /** `file:line` of the `set … personality` (or `annotate`) that named it. */
  origin: string;
}

export interface ResolveOptions {
  /** Unknown names are errors (`--strict-personalities`). */
  strict: boolean;
  /** What a name that names nothing known becomes. */
  fallback: string;
}

/**
 * Resolves every template's personality (and `annotate` names) against `names`: exact names stay,
 * others become the closest entry with a warning, or an error when strict. `personality random`
 * picks an entry. Templates are changed in place; the mappings are returned for display.
 */
export function applyPersonalityResolution(parsed: ParsedConfig, names: OsDbNames, issues: IssueList, options: ResolveOptions): PersonalityMapping[] {
  const { config, origins } = parsed;
  const mappings = new Map<string, PersonalityMapping>();
  const reported = new Set<string>();
  const resolveAt = (wanted: string, at: Located | undefined, template: string | undefined): string | undefined => {
    const choice = resolvePersonality(wanted, names, options.fallback);
    if (!choice) return undefined;
    const where = at ? `${at.pos.file}:${at.pos.line}` : config.source;
    const key = `${where}\n${wanted}`;
    let mapping = mappings.get(key);
    if (!mapping) {
      mapping = { ...choice, templates: [], origin: where };
      mappings.set(key, mapping);
    }
    if (template !== undefined) mapping.templates.push(template);
    if (!reported.has(key) && at) {
      reported.add(key);
      if (options.strict) {
        issues.add(at.pos, `unknown personality "${wanted}": no such Fingerprint in ${config.osDb.join(', ')} (the closest entry is "${choice.chosen}"; without --strict-personalities decoyd would use it)`, at.keyPath);
      } else {
        issues.warn(at.pos, `personality "${wanted}" is not in nmap-os-db: using "${choice.chosen}" (${choice.reason})`, { keyPath: at.keyPath });
      }
    }
    return choice.chosen;
  };
  for (const [name, tmpl] of config.templates) {
    const at = origins.personality.get(name) ?? origins.templates.get(name);
    if (tmpl.personalityRandom) {
      const chosen = randomPersonality(name, names);
      delete tmpl.personalityRandom;
      if (chosen === undefined) continue;
      tmpl.personality = chosen;
      const key = `random\n${name}`;
      mappings.set(key, { wanted: 'random', chosen, reason: 'Honeyd "personality random"; decoyd picks by template name, the same on every start', templates: [name], origin: at ? `${at.pos.file}:${at.pos.line}` : config.source });
      if (at) issues.warn(at.pos, `personality random: template "${name}" uses "${chosen}"`);
      continue;
    }
    if (tmpl.personality === undefined) continue;
    const chosen = resolveAt(tmpl.personality, at, name);
    if (chosen !== undefined && !options.strict) tmpl.personality = chosen;
  }
  for (const a of origins.annotations) resolveAt(a.personality, a.at, undefined);
  return [...mappings.values()];
}
