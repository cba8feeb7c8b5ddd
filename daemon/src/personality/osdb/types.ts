/** The parsed shape of nmap-os-db (second generation), lossless enough to re-match with Nmap's rules. */

export const TEST_NAMES = ['SEQ', 'OPS', 'WIN', 'ECN', 'T1', 'T2', 'T3', 'T4', 'T5', 'T6', 'T7', 'U1', 'IE'] as const;
export type TestName = (typeof TEST_NAMES)[number];

export interface OsClass {
  vendor: string;
  family: string;
  generation: string;
  deviceType: string;
}

export interface OsFingerprint {
  /** Text after `Fingerprint `. Several entries may share one name. */
  name: string;
  /** Where the entry starts (the `Fingerprint` line). */
  file: string;
  line: number;
  classes: OsClass[];
  cpes: string[];
  /** Test name → attribute name → raw expression text (e.g. `SP` → `FA-104`). Missing test = line absent. */
  tests: Map<TestName, Map<string, string>>;
}

export interface OsDbError {
  file: string;
  line: number;
  message: string;
}

export interface OsDb {
  fingerprints: OsFingerprint[];
  /** From the `MatchPoints` block: test → attribute → points. */
  matchPoints: Map<TestName, Map<string, number>>;
  /** Malformed entries, reported and skipped. */
  errors: OsDbError[];
}

/**
 * A subject fingerprint as Nmap builds it from replies: test → attribute → concrete value
 * (uppercase hex or a code, never an expression). A test or attribute Nmap omits is absent.
 */
export type ObservedFingerprint = Map<TestName, Map<string, string>>;
