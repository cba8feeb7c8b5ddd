// e2e: exclusive (nmap -sU durations against a decoy and a real host are compared)
/**
 * A Linux decoy rate-limits its ICMP port unreachables as the kernel does, so `nmap -sU` takes as
 * long against it as against a real Linux host beside it (an emulator answering every closed port at
 * once is a known tell).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startDaemon } from '../helpers/daemon';
import { needsRoot, withLab, type Lab } from '../helpers/lab';
import { hostByAddress, runNmap } from '../helpers/nmap';

const CONFIG = `
templates:
  linux:
    personality: "Linux 4.15 - 5.6"
    defaults: { tcp: reset, udp: reset, icmp: open }
hosts:
  - { address: 198.51.100.10, template: linux }
log: { level: warn }
`;

async function timedUdpScan(lab: Lab, ip: string): Promise<{ seconds: number; closed: number }> {
  const started = Date.now();
  const r = await runNmap(lab, ['-sU', '-n', '-p', '1-20', ip], { flushNeighbours: true, timeoutMs: 120_000 });
  const h = hostByAddress(r, ip);
  assert.ok(h, `${ip} missing`);
  const closed = h.ports.filter((p) => p.state === 'closed').length + (h.extraPorts.closed ?? 0);
  return { seconds: (Date.now() - started) / 1000, closed };
}

test('nmap -sU takes as long against a Linux decoy as against a real Linux host', { skip: needsRoot.skip }, async (t) => {
  await withLab(t, { extraHosts: [{ name: 'real', address: '198.51.100.60/24' }] }, async (lab) => {
    const d = await startDaemon(lab, CONFIG);
    try {
      const decoy = await timedUdpScan(lab, '198.51.100.10');
      const real = await timedUdpScan(lab, '198.51.100.60');
      t.diagnostic(`decoy: ${decoy.closed} closed in ${decoy.seconds.toFixed(1)} s; real: ${real.closed} closed in ${real.seconds.toFixed(1)} s`);
      // Rate limiting leaves some ports unanswered within nmap's retries, on both hosts alike.
      assert.ok(real.closed < 20 && decoy.closed < 20, 'expected rate limiting on both hosts');
      assert.ok(Math.abs(decoy.closed - real.closed) <= 2, `closed ports differ: decoy ${decoy.closed}, real ${real.closed}`);
      const ratio = decoy.seconds / real.seconds;
      assert.ok(ratio > 0.5 && ratio < 2, `decoy ${decoy.seconds.toFixed(1)} s vs real ${real.seconds.toFixed(1)} s`);
    } finally {
      await d.stop();
    }
  });
});
