/**
 * Frames captured from the real tools in the lab (test/fixtures/scans/, written by
 * `npm run fixtures:scans`): replayed into the engine, each run is attributed to its tool.
 * Only the destination MAC is rewritten, to the harness decoy's own.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { macBytes } from '../helpers/frames';
import { readPcapFile } from '../helpers/pcap-file';
import { Rig } from './detect-rig';

const FIXTURES = join(__dirname, '../../../test/fixtures/scans');
const SCANNER = '198.51.100.3';
const DECOY = '198.51.100.10';

function replay(r: Rig, name: string): number {
  const file = readPcapFile(join(FIXTURES, `${name}.pcap`));
  const mac = macBytes(r.mac(DECOY));
  for (const rec of file.records) {
    const frame = Buffer.from(rec.data);
    mac.copy(frame, 0);
    r.feed(frame);
  }
  return file.records.length;
}

const CASES: Array<{ name: string; scanType: string; tool: string; minTargets?: number; evidence: RegExp }> = [
  { name: 'nmap-syn', scanType: 'tcp-syn', tool: 'nmap', evidence: /MSS 1460/ },
  { name: 'nmap-fin', scanType: 'tcp-fin', tool: 'nmap', evidence: /one source port/ },
  { name: 'nmap-udp', scanType: 'udp', tool: 'nmap', evidence: /TTL \d+-\d+ varying/ },
  { name: 'nmap-os', scanType: 'os-detection', tool: 'nmap', evidence: /SEQ1 .*T7 U1 IE1 IE2/ },
  { name: 'masscan', scanType: 'tcp-syn', tool: 'masscan', evidence: /window 1200/ },
  // One zmap run probes one decoy on one port: a threshold of one decoy lets it count.
  { name: 'zmap', scanType: 'tcp-syn', tool: 'zmap', minTargets: 1, evidence: /54321/ },
  { name: 'hping3', scanType: 'tcp-syn', tool: 'hping3', evidence: /rises by 1/ },
];

for (const c of CASES) {
  test(`captured ${c.name} frames: ${c.scanType} by ${c.tool}`, () => {
    const r = new Rig(c.minTargets === undefined ? {} : { minTargets: c.minTargets });
    const frames = replay(r, c.name);
    assert.ok(frames > 0);
    r.tick();
    const mine = r.scans().filter((e) => e.srcIp === SCANNER && e.scanType === c.scanType);
    assert.equal(mine.length, 1, JSON.stringify(r.scans()));
    const e = mine[0];
    assert.equal(e?.tool, c.tool, JSON.stringify(e));
    assert.ok(e?.evidence.some((x) => c.evidence.test(x)), e?.evidence.join('; '));
    // Whatever else the run triggered (nmap -O also SYN-scans), no other tool is named.
    assert.deepEqual([...new Set(r.scans().map((s) => s.tool).filter((t) => t !== undefined))], [c.tool]);
  });
}
