/**
 * `npm run bench:services -- --sample N --seed S`: how often real `nmap -sV` names the product
 * decoyd was configured to wear. Samples N seeded-random hard `match` rules with a literal product
 * (p/ without captures) from the NULL and GetRequest probes (TCP) of the installed
 * nmap-service-probes, configures each as an identity on its own lab port, scans them all with one
 * `nmap -sV` run, and prints:
 *   - product rate: nmap printed the configured product;
 *   - version rate: among rules that fix a version (literal v/) or were given one, nmap printed it;
 *   - the rules decoyd refused at load (cannot be emulated), counted as misses;
 *   - every miss, with what nmap printed.
 * A benchmark, not a test: it reports and passes no judgement. The lab is always removed.
 */
import { createLab } from '../../daemon/src/lab/netns';
import { SeededRandom } from '../../daemon/src/personality/model/prng';
import { identityProblem } from '../../daemon/src/services/identity/check';
import { solveTemplate } from '../../daemon/src/services/identity/synthesize';
import { generateVerified } from '../../daemon/src/services/probes/generate';
import { serviceProbes } from '../../daemon/src/services/probes/catalog';
import { ruleRegex, type MatchRule } from '../../daemon/src/services/probes/service-probes';
import type { ServiceIdentitySpec } from '../../daemon/src/config/types';
import { startDaemon } from '../helpers/daemon';
import { hostByAddress, portOf, runNmap } from '../helpers/nmap';

const MAX_SAMPLE = 400;
const PORTS_PER_HOST = 25;
const FIRST_HOST = 10;
/** Ports nmap's GetRequest lists (sent right after NULL there); NULL rules go on high ports. */
const HTTP_PORTS = [80, 81, 82, 83, 84, 85, 8000, 8001, 8002, 8003, 8004, 8005, 8006, 8007, 8008, 8009, 8010, 8080, 8081, 8082, 8083, 8084, 8085, 8880, 8881];
const NMAP_TIMEOUT_MS = 600_000;
/** Versions tried for rules whose v/ takes a capture: the first one the rule can carry is configured. */
const VERSION_TRIES = ['1.2.3', '2.4.1', '1.2', '2.0', '3', '1.0.2a', '1_2_3'];

function parseArgs(argv: readonly string[]): { sample: number; seed: number } {
  const value = (flag: string, dflt: number): number => {
    const at = argv.indexOf(flag);
    if (at < 0) return dflt;
    const n = Number(argv[at + 1]);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} needs a non-negative integer`);
    return n;
  };
  const sample = value('--sample', 100);
  if (sample < 1 || sample > MAX_SAMPLE) throw new Error(`--sample must be 1..${MAX_SAMPLE}`);
  return { sample, seed: value('--seed', 1) };
}

interface Placed {
  rule: MatchRule;
  spec: ServiceIdentitySpec;
  host: string;
  port: number;
  /** Whether nmap's version is checked too. */
  checkVersion: boolean;
  refused?: string;
}

/** A version this rule's v/ can print (first of VERSION_TRIES the rule's regex carries). */
function versionFor(rule: MatchRule): string | undefined {
  const v = rule.info.v;
  if (v === undefined || !v.includes('$')) return v;
  const rx = ruleRegex(rule);
  if (rx === undefined) return undefined;
  for (const version of VERSION_TRIES) {
    for (const pins of solveTemplate(v, version)) {
      if (generateVerified(rx.parsed, rx.compiled, { pins, rng: new SeededRandom(1) }) !== undefined) return version;
    }
  }
  return undefined;
}

function yaml(placed: Placed[]): string {
  const hosts = [...new Set(placed.map((p) => p.host))];
  const lines = ['templates:'];
  hosts.forEach((host, i) => {
    lines.push(`  h${i}:`, '    personality: "Linux 4.15 - 5.6"', '    defaults: { tcp: reset, udp: reset, icmp: open }', '    ports:');
    for (const p of placed.filter((x) => x.host === host && x.refused === undefined)) {
      const s = p.spec;
      const fields = [`name: ${JSON.stringify(s.name)}`, `product: ${JSON.stringify(s.product)}`];
      if (s.version !== undefined) fields.push(`version: ${JSON.stringify(s.version)}`);
      lines.push(`      - { proto: tcp, port: ${p.port}, action: open, service: { ${fields.join(', ')} } }`);
    }
  });
  lines.push('hosts:');
  hosts.forEach((host, i) => lines.push(`  - { address: ${host}, template: h${i} }`));
  lines.push('service_seed: bench', 'log: { level: warn }', '');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const file = serviceProbes();
  const pool = file.probes.filter((p) => p.proto === 'tcp' && (p.name === 'NULL' || p.name === 'GetRequest'))
    .flatMap((p) => p.rules.filter((r) => !r.soft && r.info.p !== undefined && !r.info.p.includes('$')));
  const rng = new SeededRandom(args.seed);
  const sampled = rng.shuffle([...pool]).slice(0, args.sample);

  const placed: Placed[] = [];
  const nextPort = new Map<string, { http: number; other: number }>();
  sampled.forEach((rule, i) => {
    const host = `198.51.100.${FIRST_HOST + Math.floor(i / PORTS_PER_HOST)}`;
    const used = nextPort.get(host) ?? { http: 0, other: 0 };
    nextPort.set(host, used);
    const port = rule.probe.name === 'GetRequest' ? HTTP_PORTS[used.http++] : 20000 + used.other++;
    const version = versionFor(rule);
    const spec: ServiceIdentitySpec = { name: rule.service.replace(/^ssl\//, ''), product: rule.info.p as string, tls: false };
    if (version !== undefined) spec.version = version;
    const p: Placed = { rule, spec, host, port, checkVersion: version !== undefined };
    p.refused = identityProblem(file, 'tcp', port, spec);
    placed.push(p);
  });
  const live = placed.filter((p) => p.refused === undefined);
  process.stdout.write(`sampled ${sampled.length} rules (seed ${args.seed}) from ${pool.length} NULL/GetRequest rules with a literal product; ${placed.length - live.length} refused at load\n`);

  const lab = await createLab({ name: 'bench-services' });
  const started = Date.now();
  let productHits = 0;
  let versionChecked = 0;
  let versionHits = 0;
  const misses: string[] = [];
  try {
    const daemon = await startDaemon(lab, yaml(placed), { readyTimeoutMs: 120_000 });
    try {
      const ports = [...new Set(live.map((p) => p.port))].sort((a, b) => a - b);
      const hosts = [...new Set(live.map((p) => p.host))];
      const run = await runNmap(lab, ['-n', '-Pn', '-sS', '-sV', '-T4', '-p', ports.join(','), ...hosts], { flushNeighbours: true, timeoutMs: NMAP_TIMEOUT_MS });
      for (const p of placed) {
        const where = `line ${p.rule.line} (${p.rule.probe.name}) ${p.spec.name} "${p.spec.product}"${p.spec.version === undefined ? '' : ' ' + p.spec.version}`;
        if (p.refused !== undefined) { misses.push(`${where}: refused: ${p.refused}`); if (p.checkVersion) versionChecked++; continue; }
        const host = hostByAddress(run, p.host);
        const s = host === undefined ? undefined : portOf(host, 'tcp', p.port)?.service;
        const productOk = s?.product === p.spec.product;
        if (productOk) productHits++;
        if (p.checkVersion) {
          versionChecked++;
          if (productOk && s?.version === p.spec.version) versionHits++;
        }
        if (!productOk || (p.checkVersion && s?.version !== p.spec.version)) {
          misses.push(`${where} on ${p.host}:${p.port}: nmap printed ${s?.tunnel ?? ''}/${s?.name ?? '?'} "${s?.product ?? ''}" ${s?.version ?? ''}`);
        }
      }
    } finally {
      await daemon.stop();
    }
  } finally {
    await lab.destroy();
  }
  const pct = (a: number, b: number): string => (b === 0 ? '-' : `${((100 * a) / b).toFixed(1)} %`);
  process.stdout.write([
    `product identified: ${productHits} / ${placed.length} (${pct(productHits, placed.length)})`,
    `version identified: ${versionHits} / ${versionChecked} (${pct(versionHits, versionChecked)}) of rules with a literal or configured version`,
    `nmap -sV run: ${((Date.now() - started) / 1000).toFixed(0)} s`,
    ...(misses.length > 0 ? ['misses:', ...misses.map((m) => `  ${m}`)] : []),
    '',
  ].join('\n'));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
