/**
 * Our own fingerprint files (personalities/): a decoy running the "Linux 6.18" entry, captured from
 * this lab's real kernel, must look to nmap -O exactly like a real Linux host next to it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { startDaemon } from '../helpers/daemon';
import { needsRoot, withLab } from '../helpers/lab';
import { hostByAddress, runNmap } from '../helpers/nmap';

const OWN_DB = join(__dirname, '../../../personalities/decoyd-extra.nmap-os-db');

/** test name → line body, from nmap's submission fingerprint (`OS:` lines). */
function fingerprintLines(text: string | undefined): Map<string, string> {
  const flat = (text ?? '').split('\n').map((l) => l.replace(/^OS:/, '')).join('');
  const lines = new Map<string, string>();
  for (const m of flat.matchAll(/([A-Z0-9]+)\(([^)]*)\)/g)) lines.set(m[1] as string, m[2] as string);
  return lines;
}

test('a decoy with our captured "Linux 6.18" entry is indistinguishable from the real kernel to nmap -O', { skip: needsRoot.skip }, async (t) => {
  await withLab(t, { extraHosts: [{ name: 'real', address: '198.51.100.60/24' }] }, async (lab) => {
    const real = lab.hosts[0];
    assert.ok(real);
    lab.spawn(real.ns, ['python3', '-m', 'http.server', '--bind', '198.51.100.60', '80'], { stdio: 'ignore' });
    const cfg = `
osdb:
  - /usr/share/nmap/nmap-os-db
  - ${OWN_DB}
templates:
  linux6:
    personality: "Linux 6.18"
    defaults: { tcp: reset, udp: reset, icmp: open }
    ports:
      - { proto: tcp, port: 80, action: open }
hosts:
  - { address: 198.51.100.61, template: linux6 }
`;
    const d = await startDaemon(lab, cfg);
    try {
      const scan = await runNmap(lab, ['-O', '--osscan-guess', '-n', '-p', '80,81', '198.51.100.60,61'], { flushNeighbours: true, timeoutMs: 180_000 });
      const realHost = hostByAddress(scan, '198.51.100.60');
      const decoy = hostByAddress(scan, '198.51.100.61');
      assert.ok(realHost && decoy);
      const realFp = fingerprintLines(realHost.osFingerprint);
      const decoyFp = fingerprintLines(decoy.osFingerprint);
      assert.ok(realFp.size >= 13 && decoyFp.size >= 13, `fingerprints:\n${realHost.osFingerprint}\n${decoy.osFingerprint}`);
      for (const line of ['OPS', 'WIN', 'ECN', 'T1', 'T2', 'T3', 'T4', 'T5', 'T6', 'T7', 'U1', 'IE']) {
        assert.equal(decoyFp.get(line), realFp.get(line), `${line} differs`);
      }
      // SEQ values measure random processes (even GCD: random ISNs share a factor ~4 % of the time); the IP ID classes must agree.
      const classes = (seq: string | undefined): string => (seq ?? '').split('%').filter((kv) => /^(TI|CI|II)=/.test(kv)).join('%');
      assert.equal(classes(decoyFp.get('SEQ')), classes(realFp.get('SEQ')));
      // nmap's best guess for each is one of its best guesses for the other. Not the same first name: the
      // SEQ values (SP, ISR, TS) are random samples, and on a loaded machine they move a real kernel's
      // top entry between near-ties ("Linux 5.3 - 5.4" 96 % / "Linux 3.2" 95 %) from one scan to the next.
      const guesses = (h: typeof decoy): string => JSON.stringify(h.osMatches.map((m) => [m.name, m.accuracy]));
      t.diagnostic(`SEQ real ${realFp.get('SEQ')} decoy ${decoyFp.get('SEQ')}`);
      t.diagnostic(`real ${guesses(realHost)}`);
      t.diagnostic(`decoy ${guesses(decoy)}`);
      const [realTop, decoyTop] = [realHost.osMatches[0], decoy.osMatches[0]];
      assert.ok(realTop && decoyTop, 'nmap names no OS for one of them');
      const NEAR_TIE = 2;
      for (const [top, other, what] of [[decoyTop, realHost, 'decoy'], [realTop, decoy, 'real host']] as const) {
        const there = other.osMatches.find((m) => m.name === top.name);
        const otherTop = other.osMatches[0]?.accuracy ?? 0;
        assert.ok(there !== undefined && there.accuracy >= otherTop - NEAR_TIE, `the ${what}'s best guess ${top.name} (${top.accuracy} %) is not near the top for the other: ${guesses(other)}`);
      }
      assert.equal(decoyTop.classes[0]?.osFamily, realTop.classes[0]?.osFamily);
    } finally {
      await d.stop();
    }
  });
});
