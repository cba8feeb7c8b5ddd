/**
 * A quick index of the `Fingerprint` names (and each entry's first `Class` vendor) in
 * nmap-os-db files: enough for the configuration to check personality names and pick
 * a MAC vendor, without the full parser the personality engine uses.
 */

import fs from 'node:fs';

/** One `Class vendor | family | generation | type` line. */
export interface OsClass {
  vendor: string;
  family: string;
  generation: string;
  type: string;
}

export interface OsDbNameInfo {
  /** Vendor field of the entry's first `Class` line (`Microsoft`, `Cisco`, ...). */
  vendor: string | undefined;
  /** The `Class` lines of the first entry with this name. */
  classes: OsClass[];
  /** How many entries carry this exact name (nmap-os-db repeats some names). */
  count: number;
  file: string;
  line: number;
}

export type OsDbNames = Map<string, OsDbNameInfo>;

/** Adds the entries of `text` (read from `file`) to `into`; earlier files win on repeats. */
export function indexOsDbText(text: string, file: string, into: OsDbNames = new Map()): OsDbNames {
  const lines = text.split('\n');
  let pending: OsDbNameInfo | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('Fingerprint ')) {
      const name = line.slice('Fingerprint '.length).trim();
      const seen = into.get(name);
      if (seen) {
        seen.count++;
        pending = undefined;
      } else {
        pending = { vendor: undefined, classes: [], count: 1, file, line: i + 1 };
        into.set(name, pending);
      }
    } else if (pending && line.startsWith('Class ')) {
      const [vendor = '', family = '', generation = '', type = ''] = line.slice('Class '.length).split('|').map((f) => f.trim());
      if (pending.vendor === undefined) pending.vendor = vendor || undefined;
      pending.classes.push({ vendor, family, generation, type });
    }
  }
  return into;
}

export function loadOsDbNames(files: readonly string[]): OsDbNames {
  const names: OsDbNames = new Map();
  for (const file of files) indexOsDbText(fs.readFileSync(file, 'utf8'), file, names);
  return names;
}
