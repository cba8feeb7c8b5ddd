/**
 * Real kernel hosts on the lab LAN: the test helpers read real tools correctly (nmap, hping3,
 * tcpdump) against a real Linux stack, and decoyd respects addresses real hosts own:
 * an owned address is never claimed, and a claimed address is released when its owner announces it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Lab } from '../helpers/lab';
import { needsRoot, withLab } from '../helpers/lab';
import { arping, hping3 } from '../helpers/clients';
import { startCapture } from '../helpers/capture';
import { hostByAddress, portOf, runNmap } from '../helpers/nmap';
import { startDaemon } from '../helpers/daemon';

const REAL = { name: 'real', address: '198.51.100.50/24' };
const REAL_IP = '198.51.100.50';
const OPEN_PORT = 2222;

/** A TCP listener on the real host (node, bound to its address); ended by the lab on destroy. */
async function listenOnRealHost(lab: Lab, port: number): Promise<void> {
  const host = lab.hosts[0];
  assert.ok(host);
  const server = lab.spawn(host.ns, [process.execPath, '-e', `require('net').createServer((s) => s.end()).listen(${port}, '${host.ip}')`]);
  assert.ok(server.pid);
  for (let attempt = 0; attempt < 50; attempt++) {
    const listening = await lab.exec(host.ns, ['ss', '-Htln', `sport = :${port}`]);
    if (listening.stdout.includes('LISTEN')) return;
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
  throw new Error(`listener on ${port} did not start`);
}

async function macOf(lab: Lab, ns: string, ifName: string): Promise<string> {
  return (await lab.exec(ns, ['cat', `/sys/class/net/${ifName}/address`])).stdout.trim();
}

test('helpers read real tools against a real Linux host: nmap, hping3, tcpdump', needsRoot, async (t) => {
  await withLab(t, { extraHosts: [REAL] }, async (lab) => {
    await listenOnRealHost(lab, OPEN_PORT);
    const host = lab.hosts[0];
    assert.ok(host);
    const hostMac = await macOf(lab, host.ns, host.ifName);

    const run = await runNmap(lab, ['-n', '-sS', '-p', `${OPEN_PORT},2223`, '--max-retries', '1', REAL_IP], { timeoutMs: 60_000 });
    const scanned = hostByAddress(run, REAL_IP);
    assert.ok(scanned, run.xml);
    assert.equal(scanned.state, 'up');
    assert.equal(scanned.mac?.toLowerCase(), hostMac);
    assert.equal(portOf(scanned, 'tcp', OPEN_PORT)?.state, 'open');
    assert.equal(portOf(scanned, 'tcp', OPEN_PORT)?.reason, 'syn-ack');
    assert.equal(portOf(scanned, 'tcp', 2223)?.state, 'closed');
    assert.equal(portOf(scanned, 'tcp', 2223)?.reason, 'reset');

    const capture = await startCapture(lab, lab.scannerNs, lab.scannerIf, { filter: ['tcp', 'or', 'icmp'] });
    const syn = await hping3(lab, REAL_IP, { mode: 'syn', port: OPEN_PORT, count: 2, intervalUs: 50_000 });
    const closed = await hping3(lab, REAL_IP, { mode: 'syn', port: 2223, count: 1 });
    const udp = await hping3(lab, REAL_IP, { mode: 'udp', port: 40000, count: 1 });
    const frames = await capture.stop();
    assert.equal(syn.received, 2);
    assert.deepEqual(
      syn.replies.map((r) => [r.ip, r.sport, r.flags, r.ttl, r.df]),
      [
        [REAL_IP, OPEN_PORT, 'SA', 64, true],
        [REAL_IP, OPEN_PORT, 'SA', 64, true],
      ],
    );
    assert.equal(closed.replies[0]?.flags, 'RA');
    assert.equal(closed.replies[0]?.win, 0);
    assert.equal(udp.replies[0]?.icmpError, 'Port Unreachable');
    // 2 SYN, 2 SYN/ACK, 2 RST from hping3's kernel; SYN + RST/ACK; UDP goes out, ICMP comes back (tcp or icmp filter).
    assert.equal(frames.records.length, 9, `captured ${frames.records.length}`);
  });
});

test('decoyd never claims an address a real host answers for, and claims an unowned one', needsRoot, async (t) => {
  await withLab(t, { extraHosts: [REAL] }, async (lab) => {
    const host = lab.hosts[0];
    assert.ok(host);
    const hostMac = await macOf(lab, host.ns, host.ifName);
    const config = [
      'templates:',
      '  default:',
      '    personality: "Linux 4.15 - 5.6"',
      'claim:',
      '  - { range: 198.51.100.32/27, template: default }',
      '',
    ].join('\n');
    const daemon = await startDaemon(lab, config);
    try {
      // An ordinary client's cadence: one ARP request a second, several times.
      const owned = await arping(lab, REAL_IP, { count: 5, intervalSec: 1 });
      assert.equal(owned.received, 5, owned.stdout);
      assert.ok(owned.replies.every((r) => r.mac === hostMac), `only the real host answers: ${owned.stdout}`);
      // Control: an unowned address in the same range is claimed at the same cadence.
      const free = await arping(lab, '198.51.100.60', { count: 5, intervalSec: 1 });
      assert.ok(free.received >= 1, `decoyd claims an unowned address: ${free.stdout}`);
      assert.ok(free.replies.every((r) => r.mac !== hostMac));
      const claimsOfOwned = daemon.events.filter((e) => e.kind === 'arp.claim' && e['address'] === REAL_IP);
      assert.deepEqual(claimsOfOwned, []);
      await daemon.waitForEvent((e) => e.kind === 'arp.claim' && e['address'] === '198.51.100.60', 1000);
    } finally {
      const exit = await daemon.stop();
      assert.equal(exit.code, 0, daemon.otherOutput.join('\n'));
    }
  });
});

test('decoyd releases a claimed address when a real host announces it', needsRoot, async (t) => {
  await withLab(t, { extraHosts: [REAL] }, async (lab) => {
    const host = lab.hosts[0];
    assert.ok(host);
    const config = ['templates:', '  default: {}', 'claim:', '  - { range: 198.51.100.32/27, template: default }', ''].join('\n');
    const daemon = await startDaemon(lab, config);
    try {
      const taken = '198.51.100.61';
      const before = await arping(lab, taken, { count: 5, intervalSec: 1 });
      assert.ok(before.received >= 1, before.stdout);
      await daemon.waitForEvent((e) => e.kind === 'arp.claim' && e['address'] === taken, 2000);
      // The real host takes the address and announces it (gratuitous ARP), as a booting machine does.
      const added = await lab.exec(host.ns, ['ip', 'addr', 'add', `${taken}/24`, 'dev', host.ifName]);
      assert.equal(added.code, 0, added.stderr);
      await arping(lab, taken, { ns: host.ns, ifName: host.ifName, unsolicited: true, sourceIp: taken, count: 2, intervalSec: 0.2 });
      await daemon.waitForEvent((e) => e.kind === 'arp.release' && e['address'] === taken, 5000);
      await lab.exec(lab.scannerNs, ['ip', 'neigh', 'flush', 'dev', lab.scannerIf]);
      const hostMac = await macOf(lab, host.ns, host.ifName);
      const after = await arping(lab, taken, { count: 3, intervalSec: 0.3 });
      assert.ok(after.received >= 1, after.stdout);
      assert.ok(after.replies.every((r) => r.mac === hostMac), `only the real owner answers now: ${after.stdout}`);
    } finally {
      await daemon.stop();
    }
  });
});
