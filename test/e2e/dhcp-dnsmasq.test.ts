/**
 * DHCP-acquired decoys against a real DHCP server: dnsmasq, started by this test in the scanner
 * namespace (its own temp dir, stopped by PID). Two decoys, a Windows and a Linux one, obtain
 * leases with their own MACs and fingerprints; nmap finds them at the leased addresses; dnsmasq's
 * lease file names their MACs and hostnames; they renew at T1 (dnsmasq is told T1 = 20 s so the
 * test stays short); and both release their leases when decoyd stops.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { needsRoot, withLab, type Lab } from '../helpers/lab';
import { startDaemon, splitLines, type DaemonLogLine } from '../helpers/daemon';
import { hostByAddress, runNmap } from '../helpers/nmap';
import { startCapture } from '../helpers/capture';
import { waitUntil } from '../helpers/wait';
import type { PcapFile } from '../helpers/pcap-file';
import { DhcpMessageType, DhcpOption, DhcpView } from '../../daemon/src/wire/dhcp';
import { Malformed } from '../../daemon/src/wire/malformed';
import { macToString } from '../../daemon/src/wire/address';

const T1_SECONDS = 20;

interface Dnsmasq {
  child: ChildProcess;
  log: string[];
  leaseFile: string;
  stop(): Promise<void>;
}

async function startDnsmasq(lab: Lab, dir: string): Promise<Dnsmasq> {
  const leaseFile = join(dir, 'leases');
  const argv = [
    'dnsmasq', '--no-daemon', '--conf-file=/dev/null', `--interface=${lab.scannerIf}`, '--bind-interfaces',
    '--dhcp-range=198.51.100.100,198.51.100.120,255.255.255.0,2m',
    // 2 minutes is dnsmasq's shortest lease; option 58 brings T1 down from 60 s.
    `--dhcp-option=58,${T1_SECONDS}`,
    `--dhcp-leasefile=${leaseFile}`, `--pid-file=${join(dir, 'pid')}`, '--port=0', '--log-dhcp', '--log-facility=-',
    // Keep root inside the test namespace so the lease file in our temp dir stays writable.
    '--user=root', '--group=root',
  ];
  const child = lab.spawn(lab.scannerNs, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  splitLines(child.stdout, (line) => log.push(line));
  splitLines(child.stderr, (line) => log.push(line));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Ready once it logs its DHCP range.
  const deadline = Date.now() + 10_000;
  while (!log.some((l) => l.includes('DHCP, IP range'))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`dnsmasq did not start:\n${log.join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child, log, leaseFile,
    stop: async () => {
      if (child.exitCode === null && child.pid !== undefined) {
        process.kill(child.pid, 'SIGTERM');
        await exited;
      }
    },
  };
}

interface WireDhcp { atMs: number; ethDst: string; ethSrc: string; ipSrc: string; ipDst: string; ttl: number; type: number; ciaddr: string; prl: string; vendorClass?: string }

/** Every DHCP message in a capture (IPv4, no IP options, UDP 67/68), decoded. */
function dhcpMessages(file: PcapFile): WireDhcp[] {
  const out: WireDhcp[] = [];
  const view = new DhcpView();
  const ip = (b: Buffer, o: number): string => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
  for (const r of file.records) {
    const d = r.data;
    if (d.length < 42 || d.readUInt16BE(12) !== 0x0800 || d[23] !== 17) continue;
    const udpOff = 14 + (d[14] & 0x0f) * 4;
    if (view.wrap(d, udpOff + 8, d.readUInt16BE(udpOff + 4) - 8) !== Malformed.OK) continue;
    out.push({
      atMs: r.tsSec * 1000 + (file.nanosecond ? r.tsFrac / 1e6 : r.tsFrac / 1e3),
      ethDst: macToString(d, 0), ethSrc: macToString(d, 6), ipSrc: ip(d, 26), ipDst: ip(d, 30), ttl: d[22],
      type: view.messageType, ciaddr: ip(d, udpOff + 8 + 12),
      prl: [...(view.optionBytes(DhcpOption.PARAMETER_REQUEST_LIST) ?? [])].join(','),
      vendorClass: view.optionText(DhcpOption.VENDOR_CLASS),
    });
  }
  return out;
}

interface LeaseLine { expiry: number; mac: string; ip: string; hostname: string; clientId: string }

function readLeases(file: string): LeaseLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => {
    const [expiry, mac, ip, hostname, clientId] = l.split(' ');
    return { expiry: Number(expiry), mac: mac ?? '', ip: ip ?? '', hostname: hostname ?? '', clientId: clientId ?? '' };
  });
}

const CONFIG = [
  'templates:',
  '  win10:',
  '    personality: "Microsoft Windows 10 1507 - 1607"',
  '  linux:',
  '    personality: "Linux 4.15 - 5.6"',
  'dhcp:',
  '  - { template: win10 }',
  '  - { template: linux, hostname: files01 }',
  '',
].join('\n');

test('dhcp decoys lease from dnsmasq, answer nmap at the leased address, renew at T1 and release on stop', needsRoot, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'decoyd-dnsmasq-'));
  try {
    await withLab(t, {}, async (lab) => {
      const dnsmasq = await startDnsmasq(lab, dir);
      // DECOYD_DHCP_FIXTURE=path keeps the capture (how test/fixtures/frames/dhcp-dnsmasq.pcap was made).
      const keep = process.env['DECOYD_DHCP_FIXTURE'];
      const capture = await startCapture(lab, lab.scannerNs, lab.scannerIf, { filter: ['udp', 'port', '67', 'or', 'udp', 'port', '68'], ...(keep ? { file: keep } : {}) });
      try {
        const daemon = await startDaemon(lab, CONFIG);
        let stopped = false;
        try {
          const leaseOf = (tmpl: string) => (e: DaemonLogLine): boolean => e.kind === 'dhcp.lease' && e['template'] === tmpl;
          const win = await daemon.waitForEvent(leaseOf('win10'), 30_000);
          const lin = await daemon.waitForEvent(leaseOf('linux'), 30_000);
          const winIp = String(win['address']);
          const linIp = String(lin['address']);
          for (const e of [win, lin]) {
            assert.match(String(e['address']), /^198\.51\.100\.(1[01]\d|120)$/, JSON.stringify(e));
            assert.equal(e['server'], lab.scannerIp);
            assert.equal(e['leaseTime'], 120);
          }
          assert.match(String(win['hostname']), /^DESKTOP-[A-Z0-9]{7}$/);
          assert.equal(lin['hostname'], 'files01');

          // dnsmasq's own record: MAC, address and hostname; Windows sends a client id (01:MAC), dhclient none.
          const leases = readLeases(dnsmasq.leaseFile);
          const winLease = leases.find((l) => l.ip === winIp);
          const linLease = leases.find((l) => l.ip === linIp);
          assert.ok(winLease && linLease, `lease file: ${JSON.stringify(leases)}`);
          assert.equal(winLease.mac, win['mac']);
          assert.equal(winLease.hostname, win['hostname']);
          assert.equal(winLease.clientId, `01:${String(win['mac'])}`);
          assert.equal(linLease.mac, lin['mac']);
          assert.equal(linLease.hostname, 'files01');
          assert.equal(linLease.clientId, '*');
          // The fingerprints dnsmasq logged (--log-dhcp prints the requested options by name).
          assert.ok(dnsmasq.log.some((l) => l.includes('vendor class: MSFT 5.0')), dnsmasq.log.join('\n'));

          // The leased addresses answer like any bound host.
          const scan = await runNmap(lab, ['-n', '-sn', winIp, linIp], { timeoutMs: 60_000 });
          for (const [ip, mac] of [[winIp, win['mac']], [linIp, lin['mac']]]) {
            const host = hostByAddress(scan, String(ip));
            assert.equal(host?.state, 'up', `${ip}: ${scan.xml}`);
            assert.equal(host?.mac?.toLowerCase(), mac);
          }

          // T1: a unicast REQUEST to dnsmasq, acknowledged; the lease file's expiry moves on.
          const renewed = await daemon.waitForEvent((e) => e.kind === 'dhcp.renew' && e['address'] === winIp, (T1_SECONDS + 20) * 1000);
          assert.equal(renewed['leaseTime'], 120);
          await daemon.waitForEvent((e) => e.kind === 'dhcp.renew' && e['address'] === linIp, 10_000);
          await waitUntil('a later expiry', () => {
            const l = readLeases(dnsmasq.leaseFile).find((x) => x.ip === winIp);
            return l !== undefined && l.expiry > winLease.expiry ? l : undefined;
          }, 5000);
          const acks = dnsmasq.log.filter((l) => l.includes(`DHCPACK(${lab.scannerIf}) ${winIp} ${String(win['mac'])}`));
          assert.ok(acks.length >= 2, dnsmasq.log.join('\n'));

          const exit = await daemon.stop();
          stopped = true;
          assert.equal(exit.code, 0, daemon.otherOutput.join('\n'));
          const released = daemon.eventsOfKind('dhcp.release').map((e) => e['address']).sort();
          assert.deepEqual(released, [winIp, linIp].sort());
          await waitUntil('DHCPRELEASE in the dnsmasq log', () =>
            [winIp, linIp].every((ip) => dnsmasq.log.some((l) => l.includes(`DHCPRELEASE(${lab.scannerIf}) ${ip}`))) ? true : undefined, 5000);
          await waitUntil('the lease file to drop both leases', () =>
            readLeases(dnsmasq.leaseFile).some((l) => l.ip === winIp || l.ip === linIp) ? undefined : true, 5000);

          // On the wire: the Windows fingerprint, and the renewal T1 after the REQUEST that got the lease
          // (RFC 2131 4.4.1 counts lease times from the request; dnsmasq may take a while to answer it).
          const all = dhcpMessages(await capture.stop());
          const wire = all.filter((m) => m.ethSrc === win['mac']);
          const discover = wire.find((m) => m.type === DhcpMessageType.DISCOVER);
          assert.equal(discover?.prl, '1,3,6,15,31,33,43,44,46,47,119,121,249,252');
          assert.equal(discover?.vendorClass, 'MSFT 5.0');
          assert.equal(discover?.ipSrc, '0.0.0.0');
          assert.equal(discover?.ipDst, '255.255.255.255');
          assert.equal(discover?.ttl, 128);
          const requests = wire.filter((m) => m.type === DhcpMessageType.REQUEST);
          const selecting = requests.filter((m) => m.ciaddr === '0.0.0.0').pop();
          const renewal = requests.find((m) => m.ciaddr === winIp);
          assert.ok(selecting && renewal, JSON.stringify(wire));
          assert.equal(renewal.ipSrc, winIp);
          assert.equal(renewal.ipDst, lab.scannerIp, 'RENEWING is unicast to the server');
          assert.notEqual(renewal.ethDst, 'ff:ff:ff:ff:ff:ff');
          // The client dates the lease from the OFFER's capture time, a moment before its REQUEST left
          // (early is the safe side); a loaded machine widens that moment, hence the second of slack.
          // Not the 60 s default (half the lease): the server's T1 is obeyed.
          const t1Ms = renewal.atMs - selecting.atMs;
          assert.ok(t1Ms >= (T1_SECONDS - 1) * 1000 && t1Ms < (T1_SECONDS + 10) * 1000, `renewal ${t1Ms} ms after the request`);

          const release = wire.find((m) => m.type === DhcpMessageType.RELEASE);
          assert.deepEqual([release?.ciaddr, release?.ipSrc, release?.ipDst], [winIp, winIp, lab.scannerIp], 'DHCPRELEASE is unicast from the leased address');
          const linuxDiscover = all.find((m) => m.ethSrc === lin['mac'] && m.type === DhcpMessageType.DISCOVER);
          assert.equal(linuxDiscover?.prl, '1,28,2,3,15,6,119,12,44,47,26,121,42', 'the Linux decoy asks as Debian dhclient does');
        } finally {
          if (!stopped) await daemon.stop();
        }
      } finally {
        await capture.stop();
        await dnsmasq.stop();
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
