/**
 * The lab holds its own invariants before any daemon runs: the honeynet kernel answers nothing,
 * the ingress guard is in place, real extra hosts share the LAN, and destroy() leaves nothing behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLab } from '../../daemon/src/lab/netns';
import { listNamespaces, needsRoot, withLab } from '../helpers/lab';
import { arping, hping3 } from '../helpers/clients';
import { startCapture } from '../helpers/capture';

const UNCLAIMED = '198.51.100.10';

test('honeynet kernel answers no ARP for an unclaimed address', needsRoot, async (t) => {
  await withLab(t, {}, async (lab) => {
    const capture = await startCapture(lab, lab.honeyNs, lab.honeyIf, { filter: ['arp'] });
    const result = await arping(lab, UNCLAIMED, { count: 3, intervalSec: 0.2 });
    const seen = await capture.stop();
    // The requests did reach the honeynet interface (so silence is the kernel's, not a broken link)…
    const requests = seen.records.filter((r) => r.data.readUInt16BE(12) === 0x0806 && r.data.readUInt16BE(20) === 1);
    assert.ok(requests.length >= 3, `expected the 3 ARP requests on ${lab.honeyIf}, saw ${requests.length}`);
    // …and nothing answered them.
    assert.equal(result.transmitted, 3);
    assert.equal(result.received, 0, result.stdout);
    assert.deepEqual(result.replies, []);
  });
});

test('honeynet namespace holds the guard: no IPv4, IPv6 off, arp_ignore=8, no forwarding, ingress drop', needsRoot, async (t) => {
  await withLab(t, {}, async (lab) => {
    const addrs = await lab.exec(lab.honeyNs, ['ip', '-o', 'addr', 'show', 'dev', lab.honeyIf]);
    assert.equal(addrs.code, 0, addrs.stderr);
    assert.doesNotMatch(addrs.stdout, /inet /, 'honeynet interface must have no IPv4 address');
    assert.doesNotMatch(addrs.stdout, /inet6 /, 'honeynet interface must have no IPv6 address');
    const link = await lab.exec(lab.honeyNs, ['ip', '-o', 'link', 'show', 'dev', lab.honeyIf]);
    assert.match(link.stdout, / state UP /);

    const sysctls = await lab.exec(lab.honeyNs, [
      'sysctl',
      '-n',
      'net.ipv6.conf.all.disable_ipv6',
      'net.ipv6.conf.default.disable_ipv6',
      `net.ipv6.conf.${lab.honeyIf}.disable_ipv6`,
      'net.ipv4.ip_forward',
      'net.ipv4.conf.all.arp_ignore',
      `net.ipv4.conf.${lab.honeyIf}.arp_ignore`,
    ]);
    assert.equal(sysctls.code, 0, sysctls.stderr);
    assert.deepEqual(sysctls.stdout.trim().split('\n'), ['1', '1', '1', '0', '8', '8']);

    const ruleset = await lab.exec(lab.honeyNs, ['nft', '-j', 'list', 'ruleset']);
    assert.equal(ruleset.code, 0, ruleset.stderr);
    const parsed = JSON.parse(ruleset.stdout) as { nftables: Array<Record<string, Record<string, unknown>>> };
    const chains = parsed.nftables.filter((item) => item['chain'] !== undefined).map((item) => item['chain'] as Record<string, unknown>);
    const rules = parsed.nftables.filter((item) => item['rule'] !== undefined).map((item) => item['rule'] as Record<string, unknown>);
    const ingress = chains.find((c) => c['family'] === 'netdev' && c['hook'] === 'ingress');
    assert.ok(ingress, 'a netdev ingress chain exists');
    // nft 1.0.6 leaves the device out of its JSON; the text form names it.
    const text = await lab.exec(lab.honeyNs, ['nft', 'list', 'chain', 'netdev', String(ingress['table']), String(ingress['name'])]);
    assert.match(text.stdout, new RegExp(`hook ingress device "?${lab.honeyIf}"? `));
    const chainRules = rules.filter((r) => r['family'] === 'netdev' && r['chain'] === ingress['name']);
    assert.equal(chainRules.length, 1);
    assert.deepEqual(chainRules[0]?.['expr'], [{ drop: null }]);

    const lo = await lab.exec(lab.honeyNs, ['ip', '-o', 'link', 'show', 'dev', 'lo']);
    assert.match(lo.stdout, /<[^>]*\bUP\b/);
  });
});

test('offloads are off on both veth ends', needsRoot, async (t) => {
  await withLab(t, {}, async (lab) => {
    for (const [ns, ifName] of [
      [lab.scannerNs, lab.scannerIf],
      [lab.honeyNs, lab.honeyIf],
    ] as const) {
      const features = await lab.exec(ns, ['ethtool', '-k', ifName]);
      assert.equal(features.code, 0, features.stderr);
      for (const feature of ['tx-checksumming', 'rx-checksumming', 'tcp-segmentation-offload', 'generic-segmentation-offload', 'generic-receive-offload']) {
        assert.match(features.stdout, new RegExp(`^${feature}: off`, 'm'), `${feature} on ${ifName}`);
      }
    }
  });
});

test('TCP and ICMP to an unclaimed address get no answer from the honeynet kernel', needsRoot, async (t) => {
  await withLab(t, {}, async (lab) => {
    // A static neighbour entry makes the scanner send the IP packets even though nobody answers ARP.
    const honeyMac = (await lab.exec(lab.honeyNs, ['cat', `/sys/class/net/${lab.honeyIf}/address`])).stdout.trim();
    const neigh = await lab.exec(lab.scannerNs, ['ip', 'neigh', 'replace', UNCLAIMED, 'lladdr', honeyMac, 'dev', lab.scannerIf, 'nud', 'permanent']);
    assert.equal(neigh.code, 0, neigh.stderr);
    const capture = await startCapture(lab, lab.honeyNs, lab.honeyIf, { filter: ['ip'] });
    const syn = await hping3(lab, UNCLAIMED, { mode: 'syn', port: 22, count: 2, intervalUs: 100_000 });
    const ping = await hping3(lab, UNCLAIMED, { mode: 'icmp', count: 2, intervalUs: 100_000 });
    const seen = await capture.stop();
    assert.equal(syn.transmitted, 2);
    assert.equal(syn.received, 0);
    assert.equal(ping.received, 0);
    // Only the 4 probes crossed the wire: the honeynet kernel sent no RST or ICMP of its own.
    assert.equal(seen.records.length, 4, `frames on ${lab.honeyIf}: ${seen.records.length}`);
  });
});

test('extra hosts share the L2 segment with scanner and honeynet and answer with their own kernel', needsRoot, async (t) => {
  await withLab(t, { extraHosts: [{ name: 'real', address: '198.51.100.50/24' }] }, async (lab) => {
    const host = lab.hosts[0];
    assert.ok(host);
    assert.ok(lab.switchNs);
    const capture = await startCapture(lab, lab.honeyNs, lab.honeyIf, { filter: ['arp'] });
    const reply = await arping(lab, host.ip, { count: 2, intervalSec: 0.2 });
    const seen = await capture.stop();
    const hostMac = (await lab.exec(host.ns, ['cat', `/sys/class/net/${host.ifName}/address`])).stdout.trim();
    assert.equal(reply.received, 2, reply.stdout);
    assert.ok(reply.replies.every((r) => r.mac === hostMac && r.ip === host.ip));
    // The honeynet interface sees the broadcast requests (one segment)…
    assert.ok(seen.records.some((r) => r.data.readUInt16BE(20) === 1), 'request seen on the honeynet interface');
    // …and a gratuitous ARP from the real host reaches it too.
    const announce = await startCapture(lab, lab.honeyNs, lab.honeyIf, { filter: ['arp'] });
    await arping(lab, host.ip, { ns: host.ns, ifName: host.ifName, unsolicited: true, sourceIp: host.ip, count: 1, intervalSec: 0.1 });
    const announced = await announce.stop();
    assert.ok(announced.records.length >= 1, 'gratuitous ARP reached the honeynet interface');
    // The honeynet kernel still answers nothing.
    const none = await arping(lab, UNCLAIMED, { count: 2, intervalSec: 0.2 });
    assert.equal(none.received, 0);
  });
});

test('destroy() removes every namespace and ends spawned processes; names are unique per lab', needsRoot, async () => {
  const first = await createLab({ name: 'dt-destroy', extraHosts: [{ name: 'real', address: '203.0.113.50' }] });
  const second = await createLab({ name: 'dt-destroy', scannerAddress: '203.0.113.2/24' });
  try {
    assert.notEqual(first.name, second.name);
    assert.ok(first.name.includes(String(process.pid)));
    const before = await listNamespaces();
    for (const ns of [...first.namespaces, ...second.namespaces]) assert.ok(before.includes(ns), `${ns} exists`);
    const sleeper = first.spawn(first.honeyNs, ['sleep', '30']);
    const sleeperExit = new Promise((resolve) => sleeper.once('exit', resolve));
    const started = Date.now();
    await first.destroy();
    await sleeperExit;
    assert.ok(Date.now() - started < 5000);
    await first.destroy(); // idempotent
    const after = await listNamespaces();
    for (const ns of first.namespaces) assert.ok(!after.includes(ns), `${ns} removed`);
    for (const ns of second.namespaces) assert.ok(after.includes(ns), `${ns} of the other lab untouched`);
  } finally {
    await first.destroy();
    await second.destroy();
  }
  const final = await listNamespaces();
  for (const ns of second.namespaces) assert.ok(!final.includes(ns));
});

test('createLab rejects addresses outside the documentation ranges and leaves nothing behind', needsRoot, async () => {
  const before = await listNamespaces();
  await assert.rejects(createLab({ name: 'dt-bad', scannerAddress: '10.0.0.2/24' }), /outside/);
  await assert.rejects(createLab({ name: 'dt-bad', extraHosts: [{ name: 'x', address: '198.51.100.2' }] }), /repeat/);
  assert.deepEqual(await listNamespaces(), before);
});

test('lab creation is fast', needsRoot, async (t) => {
  const started = Date.now();
  await withLab(t, { extraHosts: [{ name: 'real', address: '198.51.100.50' }] }, async () => {
    assert.ok(Date.now() - started < 1500, `created in ${Date.now() - started} ms`);
  });
});
