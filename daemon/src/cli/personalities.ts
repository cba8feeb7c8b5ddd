import { parseArgs } from 'node:util';
import { describePersonality } from '../personality/model/describe';
import { OsDbPersonality } from '../personality/model/os-personality';
import { hostSeed } from '../personality/model/prng';
import { loadOsDb } from '../personality/osdb/parse';
import type { OsFingerprint } from '../personality/osdb/types';

const DEFAULT_DB = '/usr/share/nmap/nmap-os-db';

function classText(fp: OsFingerprint): string {
  return fp.classes.map((c) => [c.vendor, c.family, c.generation, c.deviceType].filter((x) => x !== '').join(' | ')).join('; ');
}

/** `decoyd personalities search TEXT` and `decoyd personalities show NAME`. */
export function personalitiesCommand(argv: string[]): void {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      osdb: { type: 'string', multiple: true },
      address: { type: 'string', default: '198.51.100.10' },
      template: { type: 'string', default: 'default' },
    },
  });
  const [sub, ...words] = positionals;
  const text = words.join(' ');
  if ((sub !== 'search' && sub !== 'show') || text === '') {
    throw new Error('usage: decoyd personalities search TEXT | show NAME [--address IP] [--template NAME] [--osdb FILE…]');
  }
  const db = loadOsDb(values.osdb ?? [DEFAULT_DB]);
  for (const e of db.errors) process.stderr.write(`${e.file}:${e.line}: ${e.message} (skipped)\n`);

  if (sub === 'search') {
    const needle = text.toLowerCase();
    const seen = new Map<string, { fp: OsFingerprint; count: number }>();
    for (const fp of db.fingerprints) {
      if (!fp.name.toLowerCase().includes(needle) && !classText(fp).toLowerCase().includes(needle)) continue;
      const s = seen.get(fp.name);
      if (s === undefined) seen.set(fp.name, { fp, count: 1 });
      else s.count++;
    }
    for (const { fp, count } of seen.values()) {
      process.stdout.write(`${fp.name}${count > 1 ? `  (${count} entries)` : ''}\n    ${classText(fp)}\n`);
    }
    process.stdout.write(`${seen.size} names\n`);
    if (seen.size === 0) process.exitCode = 1;
    return;
  }

  const entries = db.fingerprints.filter((fp) => fp.name === text);
  if (entries.length === 0) {
    const close = db.fingerprints.filter((fp) => fp.name.toLowerCase().includes(text.toLowerCase())).slice(0, 5).map((fp) => `  ${fp.name}`);
    throw new Error(`no fingerprint named "${text}"${close.length > 0 ? `; similar:\n${close.join('\n')}` : ''}`);
  }
  const seed = hostSeed(values.address ?? '198.51.100.10', values.template ?? 'default');
  const fp = entries[(seed >>> 0) % entries.length] as OsFingerprint;
  const p = new OsDbPersonality(fp, { seed });
  process.stdout.write(`host ${values.address} (template ${values.template}) uses entry ${fp.file}:${fp.line}${entries.length > 1 ? ` (1 of ${entries.length} entries named so)` : ''}\n`);
  process.stdout.write(`class ${classText(fp)}\n`);
  const description = describePersonality(p);
  process.stdout.write(description.endsWith('\n') ? description : `${description}\n`);
}
