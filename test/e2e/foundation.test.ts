// e2e: exclusive (a fast scan at 20,000 packets/s with no retries)
/**
 * The foundation, end to end: real arping, ping, nmap, a TCP client and tcpdump against a running
 * decoyd in namespaces this test creates.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { arping } from '../helpers/clients';
import { startCapture } from '../helpers/capture';
import { FAST_SCAN_PROBES, fastScan } from '../helpers/fast-scan';
import { startDaemon } from '../helpers/daemon';
import { needsRoot, withLab, type Lab } from '../helpers/lab';
import { hostByAddress, portOf, runNmap, type NmapHost } from '../helpers/nmap';

const WEB_TEMPLATE = `
  web:
    defaults: { tcp: reset, udp: reset, icmp: open }
    ports:
      - { proto: tcp, port: 22, action: open, service: { banner: "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.1\\r\\n" } }
      - { proto: tcp, port: 80, action: open }
      - { proto: tcp, port: 135, action: block }
      - { proto: udp, port: 53, action: open }
      - { proto: udp, port: 161, action: block }`;

const THREE_HOSTS = `
templates:${WEB_TEMPLATE}
hosts:
  - { address: 198.51.100.10, template: web }
  - { address: 198.51.100.11, template: web }
  - { address: 198.51.100.12, template: web }
`;

function states(host: NmapHost | undefined, proto: string, ports: number[]): string[] {
  assert.ok(host, 'host missing from nmap output');
  return ports.map((p) => portOf(host, proto, p)?.state ?? `missing:${host.extraPorts ? JSON.stringify(host.extraPorts) : ''}`);
}

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'decoyd-e2e-'));
  tempDirs.push(dir);
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** Connect from the scanner namespace with bash's /dev/tcp and read the first line. */
async function readBanner(lab: Lab, ip: string, port: number): Promise<string> {
  const r = await lab.exec(lab.scannerNs, ['timeout', '5', 'bash', '-c', `exec 3<>/dev/tcp/${ip}/${port}; IFS= read -r line <&3; printf '%s\\n' "$line"`], { timeoutMs: 8000 });
  return r.stdout;
}

describe('foundation: decoys on the wire', { skip: needsRoot.skip }, () => {
  test('arping gets the decoy MAC; nmap -sn finds exactly the bound hosts', async (t) => {
    await withLab(t, {}, async (lab) => {
      const d = await startDaemon(lab, THREE_HOSTS);
      try {
        const announced = d.eventsOfKind('arp.announce').find((e) => e.address === '198.51.100.10');
        assert.ok(announced, 'no announcement for .10');
        // arping 2.23 sometimes misses the answer to its very first request (its capture starts late), so 2 of 3 is the bar.
        const r = await arping(lab, '198.51.100.10', { count: 3 });
        assert.ok(r.received >= 2, r.stdout);
        assert.ok(r.replies.every((x) => x.mac === announced.mac), `replies ${JSON.stringify(r.replies)} vs ${String(announced.mac)}`);

        const sweep = await runNmap(lab, ['-sn', '-n', '198.51.100.0/24'], { flushNeighbours: true });
        const up = sweep.hosts.filter((h) => h.state === 'up').map((h) => h.address).filter((a) => a !== lab.scannerIp).sort();
        assert.deepEqual(up, ['198.51.100.10', '198.51.100.11', '198.51.100.12']);
        assert.equal(hostByAddress(sweep, '198.51.100.10')?.mac?.toLowerCase(), announced.mac);
      } finally {
        await d.stop();
      }
    });
  });

  test('port states by scan type follow RFC 793; a connect reads the banner; the honeynet kernel never answers', async (t) => {
    await withLab(t, {}, async (lab) => {
      const d = await startDaemon(lab, THREE_HOSTS);
      const cap = await startCapture(lab, lab.scannerNs, lab.scannerIf);
      try {
        const syn = await runNmap(lab, ['-sS', '-n', '-p1-1024', '198.51.100.10'], { flushNeighbours: true });
        const h = hostByAddress(syn, '198.51.100.10');
        assert.ok(h);
        const open = h.ports.filter((p) => p.state === 'open').map((p) => p.port);
        const filtered = h.ports.filter((p) => p.state === 'filtered').map((p) => p.port);
        assert.deepEqual(open, [22, 80]);
        assert.deepEqual(filtered, [135]);
        assert.equal(h.extraPorts.closed, 1024 - 3, JSON.stringify(h.extraPorts));

        const ports = ['-p', '22,23,135'];
        const fin = hostByAddress(await runNmap(lab, ['-sF', '-n', ...ports, '198.51.100.10']), '198.51.100.10');
        assert.deepEqual(states(fin, 'tcp', [22, 23, 135]), ['open|filtered', 'closed', 'open|filtered']);
        const xmas = hostByAddress(await runNmap(lab, ['-sX', '-n', ...ports, '198.51.100.10']), '198.51.100.10');
        assert.deepEqual(states(xmas, 'tcp', [22, 23, 135]), ['open|filtered', 'closed', 'open|filtered']);
        const nul = hostByAddress(await runNmap(lab, ['-sN', '-n', ...ports, '198.51.100.10']), '198.51.100.10');
        assert.deepEqual(states(nul, 'tcp', [22, 23, 135]), ['open|filtered', 'closed', 'open|filtered']);
        const ack = hostByAddress(await runNmap(lab, ['-sA', '-n', ...ports, '198.51.100.10']), '198.51.100.10');
        assert.deepEqual(states(ack, 'tcp', [22, 23, 135]), ['unfiltered', 'unfiltered', 'filtered']);
        const udp = hostByAddress(await runNmap(lab, ['-sU', '-n', '-p', '53,161,162', '198.51.100.10']), '198.51.100.10');
        assert.deepEqual(states(udp, 'udp', [53, 161, 162]), ['open|filtered', 'open|filtered', 'closed']);

        assert.equal(await readBanner(lab, '198.51.100.10', 22), 'SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.1\r\n');
        await d.waitForEvent((e) => e.kind === 'tcp.open' && e.dstPort === 22, 5000);
      } finally {
        const pcap = await cap.stop();
        await d.stop();
        // Every frame from the decoys' side carries a decoy MAC: nothing came from the honeynet kernel.
        const decoyMacs = new Set(d.eventsOfKind('arp.announce').map((e) => String(e.mac)));
        const honeyKernelFrames = pcap.records.filter((r) => {
          const src = [...r.data.subarray(6, 12)].map((b) => b.toString(16).padStart(2, '0')).join(':');
          const fromScanner = r.data.readUInt16BE(12) === 0x0800 ? r.data.readUInt32BE(26) === 0xc6336402 : r.data.readUInt32BE(28) === 0xc6336402;
          return !fromScanner && !decoyMacs.has(src);
        });
        assert.equal(honeyKernelFrames.length, 0, `${honeyKernelFrames.length} frames not from decoyd`);
        const rstFromDecoys = pcap.records.length;
        assert.ok(rstFromDecoys > 1000, `capture saw only ${rstFromDecoys} frames`);
      }
    });
  });

  test('right after start, a fast scan of 250 decoys × 5 ports finds every open and closed port', async (t) => {
    const hosts = Array.from({ length: 250 }, (_, i) => `  - { address: 198.51.100.${i + 3}, template: fast }`).join('\n');
    const cfg = `
templates:
  fast:
    defaults: { tcp: reset, udp: reset, icmp: open }
    ports:
      - { proto: tcp, port: 22, action: open }
      - { proto: tcp, port: 80, action: open }
hosts:
${hosts}
log: { level: warn }
`;
    await withLab(t, {}, async (lab) => {
      const d = await startDaemon(lab, cfg);
      try {
        // Every probe must be answered on the wire, and nmap must see it (see helpers/fast-scan.ts).
        const { answered, worstMs, open, closed } = await fastScan(lab);
        t.diagnostic(`on the scanner's wire: ${answered} of ${FAST_SCAN_PROBES} probes answered, slowest answer ${worstMs.toFixed(1)} ms`);
        assert.equal(answered, FAST_SCAN_PROBES, `probes answered on the wire: ${answered} of ${FAST_SCAN_PROBES}`);
        assert.equal(open, 500, `open ports found: ${open} of 500`);
        assert.equal(closed, 750, `closed ports found: ${closed} of 750`);
      } finally {
        await d.stop();
      }
    });
  });

  test('the same lab scan gives the same result from YAML and from Honeyd syntax', async (t) => {
    const yaml = tempFile('same.yaml', THREE_HOSTS);
    const conf = tempFile('same.conf', `# the same three hosts in Honeyd syntax
create web
set web default tcp action reset
set web default udp action reset
set web default icmp action open
add web tcp port 22 open
add web tcp port 80 open
add web tcp port 135 block
add web udp port 53 open
add web udp port 161 block
bind 198.51.100.10 web
bind 198.51.100.11 web
bind 198.51.100.12 web
`);
    await withLab(t, {}, async (lab) => {
      const summaries: string[] = [];
      for (const file of [yaml, conf]) {
        const d = await startDaemon(lab, file);
        try {
          const r = await runNmap(lab, ['-sS', '-sU', '-n', '-p', 'T:20-25,80,135,443,U:53,161,162', '198.51.100.10-12'], { flushNeighbours: true });
          summaries.push(r.hosts.map((h) => `${h.address} ${h.ports.map((p) => `${p.protocol}/${p.port}=${p.state}`).join(',')} ${JSON.stringify(h.extraPorts)}`).sort().join('\n'));
        } finally {
          await d.stop();
        }
      }
      assert.ok(summaries[0]?.includes('198.51.100.12'), summaries[0]);
      assert.equal(summaries[1], summaries[0]);
    });
  });

  test('dynamic claiming: unanswered addresses are claimed, real hosts are never, and a decoy yields to a real owner', async (t) => {
    const cfg = `
templates:${WEB_TEMPLATE}
claim:
  - { range: 198.51.100.128/25, template: web }
`;
    await withLab(t, { extraHosts: [{ name: 'real', address: '198.51.100.150/24' }] }, async (lab) => {
      const real = lab.hosts[0];
      assert.ok(real);
      const d = await startDaemon(lab, cfg);
      try {
        // An ordinary client's ARP cadence (about one request a second) claims an unused address.
        const ping = await lab.exec(lab.scannerNs, ['ping', '-c', '2', '-W', '6', '198.51.100.140'], { timeoutMs: 15000 });
        assert.match(ping.stdout, /2 received/, ping.stdout);
        const claim = await d.waitForEvent((e) => e.kind === 'arp.claim' && e.address === '198.51.100.140', 1000);
        assert.ok(claim.mac);

        // An address a real host owns is never claimed, however often it is asked for.
        const toReal = await arping(lab, '198.51.100.150', { count: 5, intervalSec: 0.5 });
        assert.ok(toReal.replies.length > 0, 'the real host should answer');
        assert.ok(toReal.replies.every((r) => r.mac !== claim.mac && !d.eventsOfKind('arp.announce').some((e) => e.mac === r.mac)));
        assert.equal(d.eventsOfKind('arp.claim').filter((e) => e.address === '198.51.100.150').length, 0);

        // A real host taking the claimed address announces it: the decoy lets go at once.
        await lab.exec(real.ns, ['ip', 'addr', 'add', '198.51.100.140/24', 'dev', real.ifName], { timeoutMs: 5000 });
        await arping(lab, '198.51.100.140', { ns: real.ns, ifName: real.ifName, unsolicited: true, sourceIp: '198.51.100.140', count: 1 });
        await d.waitForEvent((e) => e.kind === 'arp.release' && e.address === '198.51.100.140', 3000);
        await lab.exec(lab.scannerNs, ['ip', 'neigh', 'flush', 'dev', lab.scannerIf], { timeoutMs: 5000 });
        const after = await arping(lab, '198.51.100.140', { count: 3 });
        assert.ok(after.replies.length > 0);
        assert.ok(after.replies.every((r) => r.mac !== claim.mac), `decoy still answers: ${after.stdout}`);
      } finally {
        await d.stop();
      }
    });
  });

  test('a static binding whose address a real host owns is refused', async (t) => {
    const cfg = `
templates:${WEB_TEMPLATE}
hosts:
  - { address: 198.51.100.10, template: web }
  - { address: 198.51.100.150, template: web }
`;
    await withLab(t, { extraHosts: [{ name: 'owner', address: '198.51.100.150/24' }] }, async (lab) => {
      const d = await startDaemon(lab, cfg);
      try {
        const conflict = d.eventsOfKind('arp.conflict').find((e) => e.address === '198.51.100.150');
        assert.ok(conflict, 'expected a conflict event for .150');
        const r = await arping(lab, '198.51.100.150', { count: 3 });
        assert.ok(r.replies.length > 0 && r.replies.every((x) => x.mac !== conflict.mac), r.stdout);
        const ok = await arping(lab, '198.51.100.10', { count: 1 });
        assert.equal(ok.received, 1);
      } finally {
        await d.stop();
      }
    });
  });

  test('fails fast on a missing interface or a bad config, and drops root with --user', async (t) => {
    await withLab(t, {}, async (lab) => {
      const missing = await lab.exec(lab.honeyNs, [process.execPath, join(__dirname, '../../daemon/src/cli/main.js'), 'run', '--config', tempFile('a.yaml', THREE_HOSTS), '--interface', 'nosuch0'], { timeoutMs: 10000 });
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /no such network interface: nosuch0/);
      const bad = tempFile('bad.yaml', 'templates:\n  web:\n    ports:\n      - { proto: tcp, port: http, action: open }\nhosts: []\n');
      const badRun = await lab.exec(lab.honeyNs, [process.execPath, join(__dirname, '../../daemon/src/cli/main.js'), 'run', '--config', bad, '--interface', lab.honeyIf], { timeoutMs: 10000 });
      assert.equal(badRun.code, 2);
      assert.match(badRun.stderr, /bad\.yaml:4:\d+/);

      const d = await startDaemon(lab, THREE_HOSTS, { user: 'nobody' });
      try {
        const { readFileSync } = await import('node:fs');
        const status = readFileSync(`/proc/${d.pid}/status`, 'utf8');
        const uid = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(status);
        assert.ok(uid && uid[1] !== '0' && uid[2] !== '0' && uid[3] !== '0', `still root: ${uid?.[0]}`);
        const r = await arping(lab, '198.51.100.11', { count: 2 });
        assert.equal(r.received, 2);
        assert.equal(await readBanner(lab, '198.51.100.11', 22), 'SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.1\r\n');
      } finally {
        const exit = await d.stop();
        assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}`);
      }
    });
  });
});
