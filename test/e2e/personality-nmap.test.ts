/**
 * Real `nmap -O` against twenty decoys of different OS families served by one decoyd at once:
 * every host must be named exactly (its configured nmap-os-db name among the perfect matches, so
 * "OS details" prints it) with its open and closed ports, under several timing and retry options.
 * One nmap run per variant scans all hosts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startDaemon, type DaemonHandle } from '../helpers/daemon';
import { createLab, type Lab } from '../../daemon/src/lab/netns';
import { isRoot } from '../helpers/lab';
import { hostByAddress, portOf, runNmap, type NmapHost } from '../helpers/nmap';
import {
  CLOSED_PORTS,
  FAMILY_LINEUP,
  decoysYaml,
  describeMisses,
  entriesNamed,
  haveOsDb,
  hasAllTests,
  installedOsDb,
  lineupPlacements,
  parseNmapSubmission,
  type DecoyPlacement,
} from './personality-support';

const PLACEMENTS = lineupPlacements();
const TARGETS = `${PLACEMENTS[0]?.address}-${(PLACEMENTS[PLACEMENTS.length - 1]?.address ?? '').split('.')[3]}`;
const SCANNED_PORTS = [...new Set([...CLOSED_PORTS, ...FAMILY_LINEUP.flatMap((d) => d.open), 443])].sort((a, b) => a - b);
/** Nmap never prints more than this many names on its "OS details" line. */
const MAX_PRINTED_PERFECT = 8;

const skip = !isRoot() ? 'needs root (network namespaces)' : !haveOsDb ? 'nmap-os-db is not installed' : false;

/** What the host's entry says a closed port does: RST (T5 answered) or silence (e.g. iOS stealth mode). */
function closedPortState(name: string): 'closed' | 'filtered' {
  const fp = entriesNamed(installedOsDb(), name)[0];
  return fp?.tests.get('T5')?.get('R') === 'N' ? 'filtered' : 'closed';
}

/** Problems with one host in one nmap run, as readable lines (empty when it is right). */
function checkHost(host: NmapHost | undefined, want: DecoyPlacement): string[] {
  if (host === undefined) return [`${want.address} (${want.name}): missing from nmap output`];
  const problems: string[] = [];
  for (const p of want.open) {
    const state = portOf(host, 'tcp', p)?.state;
    if (state !== 'open') problems.push(`tcp/${p} is ${state ?? 'not listed'}, want open`);
  }
  const closedWant = closedPortState(want.name);
  for (const p of CLOSED_PORTS) {
    const state = portOf(host, 'tcp', p)?.state ?? (host.extraPorts[closedWant] !== undefined ? closedWant : undefined);
    if (state !== closedWant) problems.push(`tcp/${p} is ${state ?? 'not listed'}, want ${closedWant}`);
  }
  const perfect = host.osMatches.filter((m) => m.accuracy === 100).map((m) => m.name);
  if (!perfect.includes(want.name)) {
    const listed = host.osMatches.slice(0, 4).map((m) => `${m.name} (${m.accuracy}%)`).join('; ') || 'no OS matches';
    problems.push(`not a perfect match; nmap listed: ${listed}`);
    const fp = entriesNamed(installedOsDb(), want.name)[0];
    if (host.osFingerprint !== undefined && fp !== undefined) {
      problems.push(`misses vs line ${fp.line}: ${describeMisses(installedOsDb(), fp, parseNmapSubmission(host.osFingerprint)).join(', ')}`);
      problems.push(`fingerprint:\n${host.osFingerprint}`);
    }
  } else if (perfect.length > MAX_PRINTED_PERFECT) {
    problems.push(`${perfect.length} perfect names: nmap prints "Too many fingerprints match"`);
  }
  return problems.map((p) => `${want.address} (${want.name}): ${p}`);
}

describe('personality: real nmap -O names twenty decoys of different families', { skip }, () => {
  let lab: Lab | undefined;
  let daemon: DaemonHandle | undefined;

  before(async () => {
    lab = await createLab({ name: 'dt-pers-nmap' });
    daemon = await startDaemon(lab, decoysYaml(PLACEMENTS));
  });

  after(async () => {
    await daemon?.stop();
    await lab?.destroy();
  });

  test('the line-up is sound: unique names with all 13 test lines, families as promised', () => {
    const db = installedOsDb();
    assert.ok(PLACEMENTS.length >= 15);
    for (const d of FAMILY_LINEUP) {
      const entries = entriesNamed(db, d.name);
      assert.equal(entries.length, 1, `${d.name}: ${entries.length} entries`);
      assert.ok(entries.every(hasAllTests), `${d.name} lacks a test line`);
    }
    const families = new Set(FAMILY_LINEUP.map((d) => d.family));
    for (const f of ['windows', 'linux', 'freebsd', 'openbsd', 'macos', 'ios', 'android', 'cisco', 'printer', 'embedded', 'solaris'] as const) {
      assert.ok(families.has(f), `no ${f} decoy`);
    }
    assert.ok(FAMILY_LINEUP.filter((d) => d.family === 'windows').length >= 3);
    assert.ok(FAMILY_LINEUP.filter((d) => d.family === 'linux').length >= 3);
  });

  const variants: Array<{ label: string; args: string[] }> = [
    { label: 'default timing', args: [] },
    { label: '--max-os-tries 2', args: ['--max-os-tries', '2'] },
    { label: '-T4', args: ['-T4'] },
    { label: '-T5', args: ['-T5'] },
    { label: '--osscan-guess', args: ['--osscan-guess'] },
  ];
  for (const variant of variants) {
    test(`nmap -O -n ${variant.label}: every host named exactly, open and closed ports shown`, async () => {
      assert.ok(lab);
      const started = Date.now();
      const run = await runNmap(lab, ['-O', '-n', ...variant.args, '-p', SCANNED_PORTS.join(','), TARGETS], {
        flushNeighbours: true,
        timeoutMs: 90_000,
      });
      const problems = PLACEMENTS.flatMap((p) => checkHost(hostByAddress(run, p.address), p));
      const named = PLACEMENTS.length - new Set(problems.map((p) => p.split(' ')[0])).size;
      console.log(`nmap -O ${variant.label}: ${named}/${PLACEMENTS.length} hosts right in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      assert.deepEqual(problems, [], problems.join('\n'));
    });
  }
});
