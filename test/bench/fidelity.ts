/**
 * `npm run bench:fidelity -- --sample N --seed S`: how faithfully decoyd's personalities fool real
 * `nmap -O`. Samples N seeded-random entries of the installed nmap-os-db that carry all 13 test
 * lines, runs one decoy per entry (the exact entry, also when its name is shared), scans them in a
 * namespace lab with real nmap, and prints:
 *   - perfect-match rate: nmap's perfect matches (what "OS details" prints, at most 8) include the name;
 *   - class-match rate: nmap's best match has a class with the entry's first vendor/family/type;
 *   - mean accuracy of nmap's best match (0 when it listed none);
 *   - for every miss, the fingerprint nmap printed and the attributes it misses against the entry;
 *   - time and memory to load the whole DB.
 * A benchmark, not a test: it reports and passes no judgement. Bounded: every nmap run has a
 * deadline, the lab is always removed.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createLab, type Lab } from '../../daemon/src/lab/netns';
import { loadOsDb } from '../../daemon/src/personality/osdb/parse';
import { matchFingerprint } from '../../daemon/src/personality/osdb/matcher';
import { hostSeed, SeededRandom } from '../../daemon/src/personality/model/prng';
import { expressionAllows } from '../../daemon/src/personality/model/expression';
import type { OsDb, OsFingerprint } from '../../daemon/src/personality/osdb/types';
import { startDaemon } from '../helpers/daemon';
import { runNmap, type NmapHost } from '../helpers/nmap';
import { OS_DB_FILE, decoysYaml, describeMisses, hasAllTests, parseNmapSubmission, type DecoyPlacement } from '../e2e/personality-support';

/** Decoys per nmap run: nmap OS-scans them in parallel; more per run is faster but noisier. */
const HOSTS_PER_RUN = 25;
const FIRST_HOST = 10;
const MAX_SAMPLE = 240;
const OPEN_PORTS = [22, 80];
const CLOSED_PORT = 21;
const NMAP_TIMEOUT_MS = 240_000;
/** Template-name suffixes tried to steer the per-host seed onto one entry of a shared name. */
const MAX_TEMPLATE_TRIES = 100_000;

interface Args {
  sample: number;
  seed: number;
}

function parseArgs(argv: readonly string[]): Args {
  const value = (flag: string, dflt: number): number => {
    const at = argv.indexOf(flag);
    if (at < 0) return dflt;
    const n = Number(argv[at + 1]);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} needs a non-negative integer`);
    return n;
  };
  const sample = value('--sample', 50);
  if (sample < 1 || sample > MAX_SAMPLE) throw new Error(`--sample must be 1..${MAX_SAMPLE} (one lab /24)`);
  return { sample, seed: value('--seed', 1) };
}

interface LoadFigures {
  entries: number;
  parseMs: number;
  compileMs: number;
  heapMiB: number;
  rssMiB: number;
}

/** Loads the DB with a clean heap on either side, and times the matcher's one-off compilation. */
function measureLoad(): { db: OsDb; figures: LoadFigures } {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  const before = process.memoryUsage();
  const t0 = process.hrtime.bigint();
  const db = loadOsDb([OS_DB_FILE]);
  const t1 = process.hrtime.bigint();
  // The first match compiles every entry into flat arrays; that belongs to "loading" too.
  matchFingerprint(db, new Map());
  const t2 = process.hrtime.bigint();
  gc();
  const after = process.memoryUsage();
  return {
    db,
    figures: {
      entries: db.fingerprints.length,
      parseMs: Number(t1 - t0) / 1e6,
      compileMs: Number(t2 - t1) / 1e6,
      heapMiB: (after.heapUsed - before.heapUsed) / 1048576,
      rssMiB: (after.rss - before.rss) / 1048576,
    },
  };
}

interface Sampled {
  fp: OsFingerprint;
  placement: DecoyPlacement;
}

/**
 * A template name whose seed makes the personality source pick `fp` among the entries named like
 * it (the source takes `hostSeed(ip, template) % count`).
 */
function templateFor(address: string, base: string, index: number, count: number): string {
  if (count === 1) return base;
  for (let i = 0; i < MAX_TEMPLATE_TRIES; i++) {
    const name = `${base}-${i}`;
    if ((hostSeed(address, name) >>> 0) % count === index) return name;
  }
  throw new Error(`no template name steers ${address} onto entry ${index} of ${count}`);
}

function sample(db: OsDb, args: Args): Sampled[] {
  const eligible = db.fingerprints.filter(hasAllTests);
  const picked = new SeededRandom(args.seed).shuffle(eligible.slice()).slice(0, args.sample);
  const byName = new Map<string, OsFingerprint[]>();
  for (const fp of db.fingerprints) {
    const list = byName.get(fp.name);
    if (list) list.push(fp);
    else byName.set(fp.name, [fp]);
  }
  return picked.map((fp, i) => {
    const address = `198.51.100.${FIRST_HOST + i}`;
    const same = byName.get(fp.name) ?? [fp];
    const template = templateFor(address, `f${i}`, same.indexOf(fp), same.length);
    return { fp, placement: { address, template, name: fp.name, open: OPEN_PORTS } };
  });
}

interface HostOutcome {
  s: Sampled;
  perfect: boolean;
  classMatch: boolean;
  accuracy: number;
  listed: string;
  fingerprint?: string;
}

function judge(s: Sampled, host: NmapHost | undefined): HostOutcome {
  if (host === undefined) return { s, perfect: false, classMatch: false, accuracy: 0, listed: 'host not in nmap output' };
  const perfectNames = host.osMatches.filter((m) => m.accuracy === 100).map((m) => m.name);
  const best = host.osMatches[0];
  const want = s.fp.classes[0];
  const classMatch =
    best !== undefined &&
    want !== undefined &&
    best.classes.some((c) => c.vendor === want.vendor && c.osFamily === want.family && c.type === want.deviceType);
  const outcome: HostOutcome = {
    s,
    perfect: perfectNames.includes(s.fp.name) && perfectNames.length <= 8,
    classMatch,
    accuracy: best?.accuracy ?? 0,
    listed: host.osMatches.slice(0, 3).map((m) => `${m.name} (${m.accuracy}%)`).join('; ') || 'no OS matches',
  };
  if (host.osFingerprint !== undefined) outcome.fingerprint = host.osFingerprint;
  return outcome;
}

/** Entries no decoy one hop from the scanner can match, whatever it sends (reported, still counted). */
function knownImpossibility(fp: OsFingerprint): string | undefined {
  for (const attrs of fp.tests.values()) {
    const t = attrs.get('T');
    if (t !== undefined && !Array.from({ length: 255 }, (_, i) => i + 1).some((v) => expressionAllows(t, v.toString(16).toUpperCase()))) {
      return `T=${t} needs an initial TTL above 255 at one hop`;
    }
  }
  if (fp.tests.get('T1')?.get('R') === 'N') return 'T1(R=N): the host answers no SYN, so nmap finds no open port and cannot run the open-port tests';
  return undefined;
}

async function scan(lab: Lab, batch: readonly Sampled[], extra: readonly string[]): Promise<Map<string, NmapHost>> {
  const targets = batch.map((s) => s.placement.address);
  const run = await runNmap(lab, ['-O', '-n', ...extra, '-p', `${CLOSED_PORT},${OPEN_PORTS.join(',')}`, ...targets], {
    flushNeighbours: true,
    timeoutMs: NMAP_TIMEOUT_MS,
  });
  return new Map(run.hosts.map((h) => [h.address, h]));
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const { db, figures } = measureLoad();
  const sampled = sample(db, args);
  console.log(
    `nmap-os-db: ${figures.entries} entries loaded in ${figures.parseMs.toFixed(0)} ms (+${figures.compileMs.toFixed(0)} ms matcher compile), ` +
      `heap +${figures.heapMiB.toFixed(1)} MiB, rss +${figures.rssMiB.toFixed(1)} MiB`,
  );
  console.log(`sample: ${sampled.length} of ${db.fingerprints.filter(hasAllTests).length} complete entries, seed ${args.seed}`);

  const lab = await createLab({ name: 'bench-fidelity' });
  const outcomes: HostOutcome[] = [];
  const started = Date.now();
  try {
    const daemon = await startDaemon(lab, decoysYaml(sampled.map((s) => s.placement)), { readyTimeoutMs: 60_000 });
    try {
      for (let at = 0; at < sampled.length; at += HOSTS_PER_RUN) {
        const batch = sampled.slice(at, at + HOSTS_PER_RUN);
        const hosts = await scan(lab, batch, []);
        const judged = batch.map((s) => judge(s, hosts.get(s.placement.address)));
        // nmap prints no fingerprint when another name matched perfectly: rescan those with -d, which always prints it.
        const unexplained = judged.filter((o) => !o.perfect && o.fingerprint === undefined);
        if (unexplained.length > 0) {
          const again = await scan(lab, unexplained.map((o) => o.s), ['-d']);
          for (const o of unexplained) {
            const fp = again.get(o.s.placement.address)?.osFingerprint;
            if (fp !== undefined) o.fingerprint = fp;
          }
        }
        outcomes.push(...judged);
      }
    } finally {
      await daemon.stop();
    }
  } finally {
    await lab.destroy();
  }

  const n = outcomes.length;
  const perfect = outcomes.filter((o) => o.perfect).length;
  const classes = outcomes.filter((o) => o.classMatch).length;
  const meanAccuracy = outcomes.reduce((sum, o) => sum + o.accuracy, 0) / Math.max(n, 1);
  const misses = outcomes.filter((o) => !o.perfect);
  for (const o of misses) {
    console.log(`\nMISS ${o.s.placement.address} line ${o.s.fp.line}: ${o.s.fp.name}`);
    console.log(`  nmap listed: ${o.listed}`);
    const hint = knownImpossibility(o.s.fp);
    if (hint !== undefined) console.log(`  known limit: ${hint}`);
    if (o.fingerprint !== undefined) {
      const why = describeMisses(db, o.s.fp, parseNmapSubmission(o.fingerprint));
      const none = o.listed === 'no OS matches' ? 'none, but nmap listed nothing (too many perfect names for so few tests)' : 'none (other names crowd it out)';
      console.log(`  misses against the entry: ${why.length > 0 ? why.join(', ') : none}`);
      console.log(o.fingerprint.split('\n').map((l) => `  ${l}`).join('\n'));
    }
  }
  console.log(`\nfidelity (seed ${args.seed}, ${n} decoys, ${((Date.now() - started) / 1000).toFixed(0)} s of scanning):`);
  console.log(`  perfect match  ${perfect}/${n} = ${((100 * perfect) / Math.max(n, 1)).toFixed(1)} %`);
  console.log(`  class match    ${classes}/${n} = ${((100 * classes) / Math.max(n, 1)).toFixed(1)} %`);
  console.log(`  mean accuracy  ${meanAccuracy.toFixed(1)} %`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exitCode = 1;
});
