import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { auditStatic, formatAuditReport, type StaticAuditData } from '../audit/static-audit';
import { ConfigError, loadConfigWithData } from '../config/load';
import { loadOsDb } from '../personality/osdb/parse';
import type { OsFingerprint } from '../personality/osdb/types';
import { DEFAULT_PERSONALITY } from '../personality/source';

/** The live audit could not run (lab, daemon or a probe failed): not a usage error. */
export class AuditRunError extends Error {}

/** Exit status when the audit found a high-severity contradiction. */
export const AUDIT_FINDINGS_EXIT = 3;

/**
 * `decoyd audit [--static] CONFIG [--json]`: with --static, lint without running; without it, run
 * the configuration in a throw-away lab and probe every host (live-audit.ts; needs root). Prints
 * the report and returns the exit status (0, or AUDIT_FINDINGS_EXIT when any finding is high).
 */
export async function auditCommand(argv: string[], write: (text: string) => void, progress: (line: string) => void = () => undefined): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { static: { type: 'boolean' }, json: { type: 'boolean' } } });
  const file = positionals[0];
  if (file === undefined || positionals.length > 1) throw new Error('audit needs one CONFIG file');
  const loaded = loadConfigWithData(file);
  const cfg = loaded.config;
  if (loaded.macPrefixes === undefined) throw new ConfigError([{ file, line: 1, message: 'nmap-mac-prefixes could not be read' }]);
  const used = new Set<string>([DEFAULT_PERSONALITY]);
  for (const t of cfg.templates.values()) if (t.personality !== undefined) used.add(t.personality);
  const db = loadOsDb(cfg.osDb, used);
  const fingerprints = new Map<string, OsFingerprint[]>();
  for (const fp of db.fingerprints) fingerprints.set(fp.name, [...(fingerprints.get(fp.name) ?? []), fp]);
  const data: StaticAuditData = { fingerprints, macPrefixes: loaded.macPrefixes, defaultPersonality: DEFAULT_PERSONALITY };
  if (values.static !== true) {
    if (typeof process.getuid === 'function' && process.getuid() !== 0) throw new Error('the live audit builds network namespaces: run it as root, or use --static');
    const { runLiveAudit, formatLiveReport } = await import('../audit/live-audit');
    let live;
    try {
      live = await runLiveAudit(cfg, data, { configPath: resolve(file), mainJs: resolve(__dirname, 'main.js'), progress });
    } catch (err) {
      throw new AuditRunError(err instanceof Error ? err.message : String(err));
    }
    write(values.json === true ? `${JSON.stringify(live, null, 2)}\n` : formatLiveReport(live));
    const highLive = live.hosts.some((h) => h.findings.some((f) => f.severity === 'high')) || live.population.some((f) => f.severity === 'high');
    return highLive ? AUDIT_FINDINGS_EXIT : 0;
  }
  const report = auditStatic(cfg, data);
  write(values.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatAuditReport(report));
  const high = report.hosts.some((h) => h.findings.some((f) => f.severity === 'high')) || report.population.some((f) => f.severity === 'high');
  return high ? AUDIT_FINDINGS_EXIT : 0;
}
