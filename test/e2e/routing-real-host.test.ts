/**
 * Honeyd's `bind IP to IF` with a real machine: a namespace of its own on the lab LAN, holding
 * 203.0.113.53/30 and routing everything through the entry router, sits in the link network of a
 * virtual router. traceroute from the scanner sees the entry, the router, then the real host; a
 * TCP connection reaches a real server on it; its replies come back through the routers (TTL less
 * two) and from the entry router's MAC.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startCapture } from '../helpers/capture';
import { startDaemon } from '../helpers/daemon';
import { parseFrame } from '../helpers/frames';
import { needsRoot, withLab } from '../helpers/lab';
import { hostByAddress, portOf, runNmap } from '../helpers/nmap';

const ENTRY = '198.51.100.1';
const ROUTER = '203.0.113.1';
const REAL = '203.0.113.53';

function config(ifName: string): string {
  return `route entry ${ENTRY}
route ${ENTRY} add net 203.0.113.0/24 ${ROUTER} latency 5ms
route ${ROUTER} link 203.0.113.0/24

create router
set router personality "Cisco 1600 router (IOS 12.0)"
set router default tcp action reset
bind ${ROUTER} router
bind ${REAL} to ${ifName}
`;
}

test('a real host bound into the virtual topology: traceroute, a TCP service, TTLs and MACs', needsRoot, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'decoyd-real-host-'));
  try {
    await withLab(t, { extraHosts: [{ name: 'real', address: `${REAL}/30` }] }, async (lab) => {
      const real = lab.hosts[0] as (typeof lab.hosts)[number];
      // The real host reaches everything through the entry router, as Honeyd's integrated hosts do.
      for (const argv of [['ip', 'route', 'add', `${ENTRY}/32`, 'dev', real.ifName], ['ip', 'route', 'add', 'default', 'via', ENTRY, 'dev', real.ifName]]) {
        const r = await lab.exec(real.ns, argv, { timeoutMs: 5000 });
        assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
      }
      const route = await lab.exec(lab.scannerNs, ['ip', 'route', 'add', '203.0.113.0/24', 'via', ENTRY], { timeoutMs: 5000 });
      assert.equal(route.code, 0, route.stderr);
      const server = lab.spawn(real.ns, ['socat', `TCP-LISTEN:8000,bind=${REAL},reuseaddr,fork`, 'SYSTEM:echo real-host-service'], { stdio: ['ignore', 'ignore', 'pipe'] });
      const conf = join(dir, 'real-host.conf');
      writeFileSync(conf, config(lab.honeyIf));
      const d = await startDaemon(lab, conf);
      try {
        const entryMac = d.events.find((e) => (e.kind === 'arp.announce' || e.kind === 'arp.claim') && e['address'] === ENTRY)?.['mac'];
        const cap = await startCapture(lab, lab.scannerNs, lab.scannerIf, { filter: ['src', 'host', REAL] });
        // The first frame for the real host makes decoyd ask for its MAC (and is dropped, as by a
        // router with an incomplete neighbour); traceroute's three probes per hop cover that.
        const tr = await lab.exec(lab.scannerNs, ['traceroute', '-n', '-N', '1', '-q', '3', '-w', '2', REAL], { timeoutMs: 60_000 });
        t.diagnostic(tr.stdout.trim());
        const hops = tr.stdout.split('\n').map((l) => /^\s*(\d+)\s+(.*)$/.exec(l)).filter((m) => m !== null).map((m) => [...(m[2] as string).matchAll(/(\d+\.\d+\.\d+\.\d+)/g)].map((a) => a[1]));
        assert.deepEqual(hops.map((h) => [...new Set(h)]), [[ENTRY], [ROUTER], [REAL]], tr.stdout);

        const hello = await lab.exec(lab.scannerNs, ['socat', '-T', '5', '-u', `TCP:${REAL}:8000,connect-timeout=5`, '-'], { timeoutMs: 15_000 });
        assert.equal(hello.stdout, 'real-host-service\n', `connection to the real host: ${hello.stderr}`);

        const nm = await runNmap(lab, ['-sS', '-n', '-Pn', '-p', '8000,8001', REAL], { timeoutMs: 60_000 });
        const h = hostByAddress(nm, REAL);
        assert.ok(h, nm.xml);
        assert.equal(portOf(h, 'tcp', 8000)?.state, 'open');
        assert.equal(portOf(h, 'tcp', 8000)?.reasonTtl, 64 - 2, "the real kernel's TTL less the two routers");
        assert.equal(portOf(h, 'tcp', 8001)?.state, 'closed', "the real kernel's RST");

        // On the scanner's wire, everything from the real host comes from the entry router's MAC.
        const frames = (await cap.stop()).records.map((r) => parseFrame(r.data));
        assert.ok(frames.length > 0);
        const macs = new Set(frames.map((f) => f.src));
        assert.equal(macs.size, 1, [...macs].join(' '));
        assert.equal(typeof entryMac, 'string', 'the entry router was bound on the LAN');
        assert.equal([...macs][0], String(entryMac).toLowerCase());
        assert.ok(frames.every((f) => f.ip?.ttl === 64 - 2), `TTLs after two routers: ${[...new Set(frames.map((f) => f.ip?.ttl))].join(',')}`);
      } finally {
        await d.stop();
        if (server.pid !== undefined) process.kill(server.pid, 'SIGTERM');
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
