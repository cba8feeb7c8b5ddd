/**
 * Typed reads from an untyped YAML tree. Each read that fails records an issue at the
 * value's position and returns undefined, so one pass reports every problem.
 */

import type { IssueList } from './errors';
import type { Located } from './model';
import { formatKeyPath, type KeyPath, type YamlPositions } from './yaml-positions';

export type YamlMapping = Record<string, unknown>;

export class YamlReader {
  constructor(
    readonly file: string,
    private readonly positions: YamlPositions,
    private readonly issues: IssueList,
  ) {}

  error(path: KeyPath, message: string, atKey = false): void {
    const lc = atKey ? this.positions.keyAt(path) : this.positions.valueAt(path);
    this.issues.add({ file: this.file, line: lc.line, col: lc.col }, message, formatKeyPath(path));
  }

  located(path: KeyPath): Located {
    const lc = this.positions.valueAt(path);
    return { pos: { file: this.file, line: lc.line, col: lc.col }, keyPath: formatKeyPath(path) };
  }

  /** A mapping whose keys must all be in `allowed`; `required` keys must be present. */
  mapping(value: unknown, path: KeyPath, allowed: readonly string[], required: readonly string[] = []): YamlMapping | undefined {
    if (!isMapping(value)) {
      this.error(path, `expected a mapping, got ${describeValue(value)}`);
      return undefined;
    }
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) this.error([...path, key], `unknown key${suggest(key, allowed)}`, true);
    }
    for (const key of required) {
      if (!(key in value)) this.error(path, `missing key "${key}"`);
    }
    return value;
  }

  /** A mapping with free-form keys (e.g. template names). */
  anyMapping(value: unknown, path: KeyPath): YamlMapping | undefined {
    if (!isMapping(value)) {
      this.error(path, `expected a mapping, got ${describeValue(value)}`);
      return undefined;
    }
    return value;
  }

  list(value: unknown, path: KeyPath): unknown[] | undefined {
    if (!Array.isArray(value)) {
      this.error(path, `expected a list, got ${describeValue(value)}`);
      return undefined;
    }
    return value;
  }

  string(value: unknown, path: KeyPath): string | undefined {
    if (typeof value !== 'string' || value === '') {
      this.error(path, `expected a non-empty string, got ${describeValue(value)}`);
      return undefined;
    }
    return value;
  }

  integer(value: unknown, path: KeyPath, min: number, max: number): number | undefined {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `${min}-${max}`;
      this.error(path, `expected an integer ${range}, got ${describeValue(value)}`);
      return undefined;
    }
    return value;
  }

  number(value: unknown, path: KeyPath, min: number, max: number): number | undefined {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      this.error(path, `expected a number ${min}-${max}, got ${describeValue(value)}`);
      return undefined;
    }
    return value;
  }

  boolean(value: unknown, path: KeyPath): boolean | undefined {
    if (typeof value !== 'boolean') {
      this.error(path, `expected true or false, got ${describeValue(value)}`);
      return undefined;
    }
    return value;
  }

  /** One of a fixed set of words, mapped through `parse`. */
  word<T>(value: unknown, path: KeyPath, parse: (word: string) => T | undefined, choices: string): T | undefined {
    const parsed = typeof value === 'string' ? parse(value) : undefined;
    if (parsed === undefined) this.error(path, `expected ${choices}, got ${describeValue(value)}`);
    return parsed;
  }
}

export function isMapping(value: unknown): value is YamlMapping {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

/** ` (did you mean "x"?)` for near misses such as snake_case for camelCase. */
function suggest(key: string, allowed: readonly string[]): string {
  const squash = (s: string): string => s.toLowerCase().replace(/[_\-]/g, '');
  const match = allowed.find((a) => squash(a) === squash(key));
  return match ? ` (did you mean "${match}"?)` : '';
}
