import type { DecoydConfig } from '../config/types';
import { BuiltinPersonalitySource, type PersonalitySource } from './factory';
import type { HostPersonality } from './host-personality';
import { OsDbPersonality } from './model/os-personality';
import { loadOsDb } from './osdb/parse';
import type { OsClass, OsDb, OsFingerprint } from './osdb/types';

/** What a template without `personality` runs: a current Linux, the most common server OS. */
export const DEFAULT_PERSONALITY = 'Linux 4.15 - 5.6';

/** Personalities from nmap-os-db entries; several entries may share one name, and each host picks one by its seed. */
export class OsDbPersonalitySource implements PersonalitySource {
  private readonly byName = new Map<string, OsFingerprint[]>();

  constructor(readonly db: OsDb) {
    for (const fp of db.fingerprints) {
      const list = this.byName.get(fp.name);
      if (list === undefined) this.byName.set(fp.name, [fp]);
      else list.push(fp);
    }
  }

  entries(name: string | undefined): OsFingerprint[] {
    return this.byName.get(name ?? DEFAULT_PERSONALITY) ?? [];
  }

  vendorOf(name: string | undefined): string | undefined {
    return this.entries(name)[0]?.classes[0]?.vendor;
  }

  classOf(name: string | undefined): OsClass | undefined {
    return this.entries(name)[0]?.classes[0];
  }

  create(name: string | undefined, seed: number, uptimeSeconds: number | undefined): HostPersonality {
    const entries = this.entries(name);
    if (entries.length === 0) throw new Error(`no nmap-os-db entry named "${name ?? DEFAULT_PERSONALITY}"`);
    const fp = entries[(seed >>> 0) % entries.length] as OsFingerprint;
    return new OsDbPersonality(fp, { seed, uptimeSeconds });
  }
}

/**
 * The personality source for a configuration: its nmap-os-db files; the built-in Linux-like model
 * only when no database could be read at all (reported through `warn`).
 */
export function openPersonalitySource(cfg: DecoydConfig, warn: (message: string) => void): PersonalitySource {
  // Parse only the entries templates use: the rest of the database would cost tens of MB.
  const used = new Set<string>([DEFAULT_PERSONALITY]);
  for (const t of cfg.templates.values()) if (t.personality !== undefined) used.add(t.personality);
  const db = loadOsDb(cfg.osDb, used);
  for (const e of db.errors.slice(0, 20)) warn(`${e.file}:${e.line}: ${e.message} (entry skipped)`);
  if (db.fingerprints.length === 0) {
    warn(`no OS fingerprints loaded from ${cfg.osDb.join(', ')}: every decoy runs the built-in Linux-like personality`);
    return new BuiltinPersonalitySource();
  }
  return new OsDbPersonalitySource(db);
}
