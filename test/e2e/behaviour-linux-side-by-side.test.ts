// e2e: exclusive (retransmission schedules and probe gaps checked to a few hundred ms)
/**
 * One lab: the same odd probes to a Linux decoy and to the real Linux kernel of a namespace beside
 * it: ARP oddities (arp-fingerprint's and more), ICMP timestamp / address mask / information /
 * unknown types, echo with record-route and timestamp options (hand-built and `ping -R`, `ping -T
 * tsonly`), overlapping fragments, reassembly timeouts (time exceeded), neighbour re-probing, data
 * after the server closed and in TIME_WAIT (real clients), a data segment for no connection, and an
 * unanswered SYN's SYN/ACK retransmissions. The answers must agree, byte for byte once each host's
 * own MAC and IP are masked (timing within tolerance). Then decoys of other families (Windows XP
 * and 10, FreeBSD, Cisco IOS) must answer the ARP oddities and retransmit SYN/ACKs as
 * personalities/README.md's tables say, unlike the Linux decoy.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { FAMILY_BEHAVIOURS } from '../../daemon/src/personality/behaviour/tables';
import type { ArpBehaviour, FamilyId } from '../../daemon/src/personality/behaviour/types';
import { startDaemon, type DaemonHandle } from '../helpers/daemon';
import { type CapturedFrame, injectAndCapture, interfaceMac } from '../helpers/inject';
import { needsRoot, withLab, type Lab } from '../helpers/lab';
import { arpFrame, checksum16, Flag, icmpFrame, icmpMessage, ipFrame, ipNum, macBytes, tcpFrame, udpFrame } from '../helpers/frames';

const REAL_IP = '198.51.100.60';
const DECOY_IP = '198.51.100.61';
const FAMILY_DECOYS: Array<{ ip: string; template: string; personality: string; family: FamilyId }> = [
  { ip: '198.51.100.62', template: 'winxp', personality: 'Microsoft Windows XP', family: 'windows-xp' },
  { ip: '198.51.100.63', template: 'win10', personality: 'Microsoft Windows 10 1507 - 1607', family: 'windows-10' },
  { ip: '198.51.100.64', template: 'freebsd', personality: 'FreeBSD 12.1-RELEASE', family: 'freebsd' },
  { ip: '198.51.100.65', template: 'cisco', personality: 'Cisco 1921 router (IOS 15.1)', family: 'cisco-ios' },
];

/** A port whose server sends one line and closes (close(2)): python3 on the real host, `banner … close: true` on the decoy. */
const CLOSER_PORT = 7001;
const CLOSER_BANNER = 'side-by-side';
/** Runs on the real host: accept, send the banner, close, forever (killed by the test). */
const CLOSER_SERVER = `
import socket, sys
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], int(sys.argv[2]))); l.listen(16)
print('listening', flush=True)
while True:
    c, _ = l.accept(); c.sendall(sys.argv[3].encode() + b'\\r\\n'); c.close()
`;
/**
 * Runs on the scanner, a real client: read to the server's FIN, then (mode "data") write more, or
 * (mode "fin") close too, leaving the server in TIME_WAIT. Prints the local port.
 */
const CLOSER_CLIENT = `
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
print(s.getsockname()[1], flush=True)
while s.recv(100): pass
time.sleep(0.2)
if sys.argv[3] == 'data':
    s.send(b'after close\\n'); time.sleep(0.5)
s.close(); time.sleep(0.3)
`;

const FRAG_TIMEOUT_S = 2;

const CONFIG = `
templates:
  linux:
    personality: "Linux 4.15 - 5.6"
    defaults: { tcp: reset, udp: reset, icmp: open }
    ports:
      - { proto: tcp, port: 80, action: open }
      - { proto: tcp, port: ${CLOSER_PORT}, action: open, service: { banner: "${CLOSER_BANNER}\\r\\n", close: true } }
${FAMILY_DECOYS.map((d) => `  ${d.template}:\n    personality: "${d.personality}"\n    defaults: { tcp: reset, udp: reset, icmp: open }\n    ports: [{ proto: tcp, port: 80, action: open }]`).join('\n')}
hosts:
  - { address: ${DECOY_IP}, template: linux }
${FAMILY_DECOYS.map((d) => `  - { address: ${d.ip}, template: ${d.template} }`).join('\n')}
claim_settings: { probeBeforeBind: false }
# Short reassembly timeouts on both sides (the kernel's net.ipv4.ipfrag_time too), so that the time exceeded test is quick.
limits: { reassemblyTimeoutMs: ${FRAG_TIMEOUT_S * 1000} }
log: { level: info }
`;

interface Target { ip: string; mac: string }

/** Every frame `mac` sent among `got`, as hex with the target's own MAC and IP masked. */
function fromTarget(got: readonly CapturedFrame[], t: Target, bytes = 42): string[] {
  const mac = macBytes(t.mac).toString('hex');
  const ip = ipNum(t.ip).toString(16).padStart(8, '0');
  return got
    .filter((g) => g.frame.subarray(6, 12).toString('hex') === mac)
    .map((g) => g.frame.subarray(0, bytes).toString('hex').split(mac).join('<mac>').split(ip).join('<ip>'));
}

/** Case name → request frame builder; each case has its own sender MAC so that replies can be told apart. */
type ArpCase = (t: Target, sha: string) => Buffer;
const ARP_CASES: Record<string, ArpCase> = {
  plain: (t, sha) => arpFrame({ op: 1, sha, spa: '198.51.100.2', tpa: t.ip }),
  'sender 127.0.0.1': (t, sha) => arpFrame({ op: 1, sha, spa: '127.0.0.1', tpa: t.ip }),
  'sender 0.0.0.0 (DAD probe)': (t, sha) => arpFrame({ op: 1, sha, spa: '0.0.0.0', tpa: t.ip }),
  'sender 255.255.255.255': (t, sha) => arpFrame({ op: 1, sha, spa: '255.255.255.255', tpa: t.ip }),
  'sender off-subnet': (t, sha) => arpFrame({ op: 1, sha, spa: '1.0.0.1', tpa: t.ip }),
  'sender 224.0.0.1': (t, sha) => arpFrame({ op: 1, sha, spa: '224.0.0.1', tpa: t.ip }),
  'sender 240.0.0.1': (t, sha) => arpFrame({ op: 1, sha, spa: '240.0.0.1', tpa: t.ip }),
  'sender 0.1.2.3': (t, sha) => arpFrame({ op: 1, sha, spa: '0.1.2.3', tpa: t.ip }),
  'opcode 255': (t, sha) => arpFrame({ op: 255, sha, spa: '198.51.100.2', tpa: t.ip }),
  'opcode 3 (RARP)': (t, sha) => arpFrame({ op: 3, sha, spa: '198.51.100.2', tpa: t.ip }),
  'hardware type 6': (t, sha) => arpFrame({ op: 1, sha, spa: '198.51.100.2', tpa: t.ip, htype: 6 }),
  'hardware type 255': (t, sha) => arpFrame({ op: 1, sha, spa: '198.51.100.2', tpa: t.ip, htype: 255 }),
  'protocol 0xffff': (t, sha) => arpFrame({ op: 1, sha, spa: '198.51.100.2', tpa: t.ip, ptype: 0xffff }),
  'protocol IPX': (t, sha) => arpFrame({ op: 1, sha, spa: '198.51.100.2', tpa: t.ip, ptype: 0x8137 }),
  'pln 6': (t, sha) => arpFrame({ op: 1, sha, spa: '198.51.100.2', tpa: t.ip, plen: 6 }),
  'hln 8': (t, sha) => arpFrame({ op: 1, sha, spa: '198.51.100.2', tpa: t.ip, hlen: 8 }),
  'unicast to the host MAC': (t, sha) => arpFrame({ op: 1, sha, spa: '198.51.100.2', tpa: t.ip, ethDst: t.mac }),
  'unicast to another MAC': (t, sha) => arpFrame({ op: 1, sha, spa: '198.51.100.2', tpa: t.ip, ethDst: '02:00:00:00:00:fe' }),
  'target MAC filled in': (t, sha) => arpFrame({ op: 1, sha, spa: '198.51.100.2', tpa: t.ip, tha: '11:22:33:44:55:66' }),
  'no padding (42 bytes)': (t, sha) => arpFrame({ op: 1, sha, spa: '198.51.100.2', tpa: t.ip, pad: false }),
  'long trailer (100 bytes)': (t, sha) => Buffer.concat([arpFrame({ op: 1, sha, spa: '198.51.100.2', tpa: t.ip }), Buffer.alloc(40, 0xab)]),
  'reply opcode to us': (t, sha) => arpFrame({ op: 2, sha, spa: '198.51.100.2', tpa: t.ip, tha: t.mac }),
};

/** Sender MAC of case i towards target j: unique, locally administered, unicast. */
const caseMac = (i: number, j: number): string => `02:be:00:00:${j.toString(16).padStart(2, '0')}:${i.toString(16).padStart(2, '0')}`;

/** Injects every ARP case to every target in one capture; returns target index → case → masked replies. */
async function arpAnswers(lab: Lab, targets: readonly Target[], cases: Record<string, ArpCase>): Promise<Array<Map<string, string[]>>> {
  const names = Object.keys(cases);
  const frames: Buffer[] = [];
  targets.forEach((t, j) => names.forEach((n, i) => frames.push((cases[n] as ArpCase)(t, caseMac(i, j)))));
  const out: Array<Map<string, string[]>> = targets.map(() => new Map());
  for (let start = 0; start < frames.length; start += 60) {
    const got = await injectAndCapture(lab, frames.slice(start, start + 60), { filter: 'arp', gapMs: 20, waitMs: 700 });
    targets.forEach((t, j) => names.forEach((n, i) => {
      const mac = caseMac(i, j);
      const peer = macBytes(mac).toString('hex');
      // Replies are unicast to the case's own sender MAC (masked too: it differs per target).
      const replies = fromTarget(got, t).filter((hex) => hex.startsWith(peer)).map((hex) => hex.split(peer).join('<peer>'));
      out[j]?.set(n, [...(out[j]?.get(n) ?? []), ...replies]);
    }));
  }
  return out;
}

/**
 * The IP options of a reply, word by word after each option's first four bytes: the host's own
 * address as IP, zero as 0, a timestamp (in a TS option) as T, anything else in hex.
 */
function describeOptions(f: Buffer, hostIp: string, tsOption: boolean): string {
  const ihl = ((f[14] as number) & 0x0f) * 4;
  const o = f.subarray(34, 14 + ihl);
  const own = ipNum(hostIp);
  const parts: string[] = [];
  for (let i = 0; i < o.length;) {
    const type = o[i] as number;
    if (type <= 1) { parts.push(type === 0 ? 'EOL' : 'NOP'); i++; continue; }
    const len = o[i + 1] as number;
    parts.push(`[${o.subarray(i, i + 4).toString('hex')}]`);
    // RR's data starts at byte 3, TS's at byte 4.
    const first = type === 7 ? 3 : 4;
    for (let w = i + first; w + 4 <= i + len; w += 4) {
      const v = o.readUInt32BE(w);
      parts.push(v === own ? 'IP' : v === 0 ? '0' : tsOption && type === 0x44 ? 'T' : v.toString(16));
    }
    i += Math.max(2, len);
  }
  return parts.join(' ');
}

async function decoyMac(d: DaemonHandle, ip: string): Promise<string> {
  const e = await d.waitForEvent((l) => l.kind === 'arp.announce' && l.address === ip, 10_000);
  return String(e.mac);
}

/** One reply per request id: ICMP replies from `t` keyed by the ICMP identifier (bytes 4-5 of the ICMP header). */
function icmpById(got: readonly CapturedFrame[], t: Target): Map<number, Buffer[]> {
  const mac = macBytes(t.mac).toString('hex');
  const m = new Map<number, Buffer[]>();
  for (const g of got) {
    if (g.frame.subarray(6, 12).toString('hex') !== mac || g.frame.readUInt16BE(12) !== 0x0800 || g.frame[23] !== 1) continue;
    const ihl = ((g.frame[14] as number) & 0x0f) * 4;
    const id = g.frame.readUInt16BE(14 + ihl + 4);
    m.set(id, [...(m.get(id) ?? []), g.frame]);
  }
  return m;
}

/** arp-fingerprint's eleven probes (royhills/arp-scan), in its order, and the table field each tests. */
const AF_CASES: Array<[string, (b: ArpBehaviour) => boolean]> = [
  ['sender 127.0.0.1', (b) => b.senderLoopback],
  ['sender 0.0.0.0 (DAD probe)', (b) => b.senderZero],
  ['sender 255.255.255.255', (b) => b.senderBroadcast],
  ['sender off-subnet', (b) => b.senderOffSubnet],
  ['opcode 255', () => false],
  ['hardware type 6', (b) => b.hardwareTypes === 'any' || b.hardwareTypes.includes(6)],
  ['hardware type 255', (b) => b.hardwareTypes === 'any'],
  ['protocol 0xffff', () => false],
  ['protocol IPX', () => false],
  ['pln 6', (b) => b.ignoreLengths],
  ['hln 8', (b) => b.ignoreLengths],
];

/** The arp-fingerprint strings of the Linux and other-family decoys, against their tables. */
async function familyArpStrings(t: TestContext, lab: Lab, d: DaemonHandle): Promise<void> {
  const hosts = [{ ip: DECOY_IP, family: 'linux' as FamilyId }, ...FAMILY_DECOYS];
  const targets: Target[] = [];
  for (const h of hosts) targets.push({ ip: h.ip, mac: await decoyMac(d, h.ip) });
  const cases: Record<string, ArpCase> = {};
  for (const [name] of AF_CASES) cases[name] = ARP_CASES[name] as ArpCase;
  const answers = await arpAnswers(lab, targets, cases);
  const bits = answers.map((m) => AF_CASES.map(([name]) => ((m.get(name) ?? []).length > 0 ? '1' : '0')).join(''));
  const lines = hosts.map((h, i) => `${h.family.padEnd(13)} ${bits[i]}`);
  t.diagnostic(`arp-fingerprint strings:\n${lines.join('\n')}`);
  hosts.forEach((h, i) => {
    const want = AF_CASES.map(([, f]) => (f(FAMILY_BEHAVIOURS[h.family].arp) ? '1' : '0')).join('');
    assert.equal(bits[i], want, `${h.family} (${h.ip})`);
  });
  // The published rows: Linux 2.6.24+ with a route / Vista 01010100000, XP 11110100000, Cisco IOS 00000100000.
  assert.equal(bits[0], '01010100000');
  for (let i = 1; i < hosts.length; i++) if (hosts[i]?.family !== 'windows-10') assert.notEqual(bits[i], bits[0], `${hosts[i]?.family} looks like Linux`);
}

/** What a SYN/ACK retransmission run watches: past Linux's fourth retransmission (15 s), which FreeBSD's three never reach. */
const RETX_WATCH_MS = 16_500;

/**
 * An unanswered SYN to the real kernel (a listener on port 80), the Linux decoy and the other
 * families' decoys, from a peer nobody answers for: every SYN/ACK each one sends, timed.
 */
async function synAckSchedules(t: TestContext, lab: Lab, d: DaemonHandle, real: Target, realHost: { ns: string; ifName: string }): Promise<void> {
  const listener = lab.spawn(realHost.ns, ['python3', '-c', 'import socket,sys,time\nl=socket.socket()\nl.bind((sys.argv[1],80))\nl.listen(8)\nprint("ok",flush=True)\ntime.sleep(60)', REAL_IP], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error('the real listener did not start')), 5000);
      listener.stdout?.once('data', () => { clearTimeout(timer); res(); });
    });
    const peerMac = '02:aa:bb:cc:dd:01';
    const peerIp = '198.51.100.78';
    // The kernel must reach the peer without ARP (nobody answers for it); decoyd answers the frame's sender MAC.
    await lab.exec(realHost.ns, ['ip', 'neigh', 'replace', peerIp, 'lladdr', peerMac, 'dev', realHost.ifName, 'nud', 'permanent'], { timeoutMs: 3000 });
    const hosts: Array<{ name: string; family: FamilyId; target: Target }> = [
      { name: 'kernel', family: 'linux', target: real },
      { name: 'linux', family: 'linux', target: { ip: DECOY_IP, mac: await decoyMac(d, DECOY_IP) } },
    ];
    for (const h of FAMILY_DECOYS) hosts.push({ name: h.family, family: h.family, target: { ip: h.ip, mac: await decoyMac(d, h.ip) } });
    const frames = hosts.map((h, i) => tcpFrame(h.target.mac, peerMac, peerIp, h.target.ip, { srcPort: 41000 + i, dstPort: 80, seq: 5000, ack: 0, flags: Flag.SYN, window: 64240, options: Buffer.from([2, 4, 5, 0xb4]) }));
    const got = await injectAndCapture(lab, frames, { filter: `tcp and ether dst ${peerMac}`, gapMs: 10, waitMs: RETX_WATCH_MS });
    const offsetsOf = (tg: Target): number[] => {
      const times = got.filter((g) => g.frame.subarray(6, 12).equals(macBytes(tg.mac)) && ((g.frame[47] as number) & 0x12) === 0x12).map((g) => g.timeMs);
      return times.map((x) => x - (times[0] as number));
    };
    const seen = new Map<string, number[]>();
    for (const h of hosts) seen.set(h.name, offsetsOf(h.target));
    t.diagnostic(`SYN/ACK times (ms after the first):\n${hosts.map((h) => `${h.name.padEnd(11)} ${(seen.get(h.name) ?? []).map((o) => o.toFixed(0)).join(', ')}`).join('\n')}`);
    const watched = RETX_WATCH_MS - 1000;
    for (const h of hosts) {
      const offsets = seen.get(h.name) ?? [];
      // Every scheduled retransmission within the watch, at its time (±600 ms), and no other.
      const want = [0, ...FAMILY_BEHAVIOURS[h.family].tcp.timing.synAckRetransmitMs.filter((ms) => ms < watched)];
      assert.equal(offsets.length, want.length, `${h.name}: ${offsets.length} SYN/ACKs, want ${want.length}`);
      want.forEach((ms, k) => assert.ok(Math.abs((offsets[k] as number) - ms) < 600, `${h.name}: SYN/ACK ${k} at ${offsets[k]} ms, want ${ms}`));
    }
    // The decoy keeps the kernel's count, and every other family's schedule differs from it.
    assert.equal(seen.get('linux')?.length, seen.get('kernel')?.length, 'the Linux decoy retransmits as often as the kernel');
    for (const h of FAMILY_DECOYS) assert.notEqual((seen.get(h.family) ?? []).map((o) => Math.round(o / 1000)).join(','), (seen.get('linux') ?? []).map((o) => Math.round(o / 1000)).join(','), `${h.family} retransmits like Linux`);
  } finally {
    listener.kill('SIGKILL');
  }
}

test('a Linux decoy answers odd ARP, ICMP, IP options, fragments, closes and SYN/ACK retransmissions like the real kernel beside it; other families as their tables say', { skip: needsRoot.skip }, async (t) => {
  await withLab(t, { extraHosts: [{ name: 'real', address: `${REAL_IP}/24` }] }, async (lab) => {
    const realHost = lab.hosts[0];
    assert.ok(realHost);
    // An ordinary host has a default route; Linux answers off-subnet ARP senders only then.
    await lab.exec(realHost.ns, ['ip', 'route', 'add', 'default', 'via', '198.51.100.2'], { timeoutMs: 3000 });
    await lab.exec(realHost.ns, ['sysctl', '-qw', `net.ipv4.ipfrag_time=${FRAG_TIMEOUT_S}`], { timeoutMs: 3000 });
    const d = await startDaemon(lab, CONFIG);
    try {
      const real: Target = { ip: REAL_IP, mac: await interfaceMac(lab, realHost.ns, realHost.ifName) };
      const decoy: Target = { ip: DECOY_IP, mac: await decoyMac(d, DECOY_IP) };
      const scanMac = await interfaceMac(lab, lab.scannerNs, lab.scannerIf);

      await t.test('ARP oddities', async () => {
        const [r, dc] = await arpAnswers(lab, [real, decoy], ARP_CASES);
        assert.ok(r && dc);
        const table: string[] = [];
        for (const name of Object.keys(ARP_CASES)) {
          const a = r.get(name) ?? [];
          const b = dc.get(name) ?? [];
          table.push(`${name}: real ${a.length > 0 ? 'answers' : '-'}, decoy ${b.length > 0 ? 'answers' : '-'}`);
          // The first 42 bytes: the kernel's replies leave unpadded on a veth, decoyd pads to the
          // 60 bytes every Ethernet NIC puts on the wire.
          assert.deepEqual(b, a, `${name}: decoy and kernel differ`);
        }
        t.diagnostic(table.join('\n'));
        assert.ok((r.get('plain') ?? []).length === 1, 'the kernel answers a plain request');
        assert.ok((r.get('sender 0.0.0.0 (DAD probe)') ?? []).length === 1, 'the kernel answers a DAD probe');
      });

      await t.test('ICMP timestamp, address mask, information and unknown types', async () => {
        const frames: Buffer[] = [];
        const reqs: Array<[string, number, number, Buffer]> = [
          ['timestamp', 0x5101, 13, Buffer.from('0000abcd0000000000000000', 'hex')],
          ['timestamp with trailing data', 0x5102, 13, Buffer.from('0000abcd0000000000000000ffffffff', 'hex')],
          ['timestamp, originate only', 0x5103, 13, Buffer.from('0000abcd', 'hex')],
          ['address mask', 0x5104, 17, Buffer.alloc(4)],
          ['information', 0x5105, 15, Buffer.alloc(0)],
          ['type 99', 0x5106, 99, Buffer.alloc(8)],
          ['timestamp code 1', 0x5107, 13, Buffer.alloc(12)],
        ];
        for (const tg of [real, decoy]) {
          for (const [, id, type, data] of reqs) {
            const code = id === 0x5107 ? 1 : 0;
            frames.push(icmpFrame(tg.mac, scanMac, '198.51.100.2', tg.ip, icmpMessage(type, code, (id << 16) | 1, data)));
          }
        }
        const sentAt = Date.now();
        const got = await injectAndCapture(lab, frames, { filter: 'icmp', gapMs: 30, waitMs: 700 });
        const r = icmpById(got, real);
        const dc = icmpById(got, decoy);
        for (const [name, id] of reqs) {
          const a = r.get(id) ?? [];
          const b = dc.get(id) ?? [];
          assert.equal(b.length, a.length, `${name}: kernel ${a.length} replies, decoy ${b.length}`);
          if (a.length === 0) continue;
          const ra = a[0] as Buffer;
          const rb = b[0] as Buffer;
          // Same IP shape (length, DF, TTL, protocol) and ICMP header; IP ID and times are the hosts' own.
          assert.equal(rb.readUInt16BE(16), ra.readUInt16BE(16), `${name}: IP total length`);
          assert.equal((rb[20] as number) & 0x40, (ra[20] as number) & 0x40, `${name}: DF`);
          assert.equal(rb[22], ra[22], `${name}: TTL`);
          assert.equal(rb.subarray(34, 42).toString('hex').slice(0, 4), ra.subarray(34, 42).toString('hex').slice(0, 4), `${name}: type and code`);
          assert.equal(rb.readUInt32BE(38), ra.readUInt32BE(38), `${name}: id and sequence`);
          if (rb[34] === 14) {
            assert.equal(rb.readUInt32BE(42), ra.readUInt32BE(42), `${name}: originate copied`);
            const day = sentAt % 86_400_000;
            for (const [host, f] of [['kernel', ra], ['decoy', rb]] as Array<[string, Buffer]>) {
              assert.equal(f.readUInt32BE(46), f.readUInt32BE(50), `${name}: ${host} receive = transmit`);
              // Both clocks are this machine's: within 5 s of the send time (midnight wrap aside).
              const diff = Math.abs(f.readUInt32BE(46) - day);
              assert.ok(diff < 5000 || diff > 86_395_000, `${name}: ${host} timestamp ${f.readUInt32BE(46)} vs ${day}`);
            }
          }
        }
        assert.equal((r.get(0x5101) ?? []).length, 1, 'the kernel answers timestamps');
      });

      await t.test('echo with record route and timestamp options (hand-built)', async () => {
        const rr = Buffer.alloc(40); rr[0] = 7; rr[1] = 39; rr[2] = 4;
        const tsonly = Buffer.alloc(40); tsonly[0] = 0x44; tsonly[1] = 40; tsonly[2] = 5;
        const tsaddr = Buffer.alloc(36); tsaddr[0] = 0x44; tsaddr[1] = 36; tsaddr[2] = 5; tsaddr[3] = 1;
        const rrFull = Buffer.from([7, 7, 8, 1, 2, 3, 4, 0]);
        const nopRr = Buffer.concat([Buffer.from([1]), Buffer.from([7, 11, 4]), Buffer.alloc(8)]);
        const cases: Array<[string, number, Buffer]> = [['RR', 0x6101, rr], ['TS tsonly', 0x6102, tsonly], ['TS tsandaddr', 0x6103, tsaddr], ['RR full', 0x6104, rrFull], ['NOP + RR', 0x6105, nopRr]];
        const frames: Buffer[] = [];
        for (const tg of [real, decoy]) for (const [, id, opts] of cases) frames.push(icmpFrame(tg.mac, scanMac, '198.51.100.2', tg.ip, icmpMessage(8, 0, (id << 16) | 1, Buffer.alloc(16, 0x61)), { options: opts }));
        const got = await injectAndCapture(lab, frames, { filter: 'icmp', gapMs: 30, waitMs: 700 });
        const r = icmpById(got, real);
        const dc = icmpById(got, decoy);
        for (const [name, id] of cases) {
          const a = r.get(id)?.[0];
          const b = dc.get(id)?.[0];
          assert.ok(a, `${name}: the kernel answers`);
          assert.ok(b, `${name}: the decoy answers`);
          const isTs = name.startsWith('TS');
          assert.equal(describeOptions(b, decoy.ip, isTs), describeOptions(a, real.ip, isTs), `${name}: reply options`);
          assert.equal(b.subarray(14 + (((b[14] as number) & 0x0f) * 4)).toString('hex').slice(8), a.subarray(14 + (((a[14] as number) & 0x0f) * 4)).toString('hex').slice(8), `${name}: echo body`);
        }
      });

      await t.test('IP options on TCP and UDP: a SYN and a datagram with record route to closed ports', async () => {
        const rr = Buffer.alloc(12); rr[0] = 7; rr[1] = 11; rr[2] = 4; rr[11] = 0; // RR with two slots, then EOL
        const frames: Buffer[] = [];
        for (const tg of [real, decoy]) {
          frames.push(tcpFrame(tg.mac, scanMac, '198.51.100.2', tg.ip, { srcPort: 40555, dstPort: 9, seq: 777, flags: Flag.SYN, window: 1024 }, { options: rr }));
          frames.push(udpFrame(tg.mac, scanMac, '198.51.100.2', tg.ip, 40556, 9, Buffer.alloc(12, 0x75), { options: rr }));
        }
        const got = await injectAndCapture(lab, frames, { filter: 'tcp or icmp', gapMs: 30, waitMs: 700 });
        const shapes = (tg: Target): string[] => got.filter((g) => g.frame.subarray(6, 12).equals(macBytes(tg.mac))).map((g) => {
          const f = g.frame;
          const ihl = ((f[14] as number) & 0x0f) * 4;
          return `proto=${f[23]} ihl=${ihl} opts=${describeOptions(f, tg.ip, false)} len=${f.readUInt16BE(16)}`;
        });
        const a = shapes(real);
        const b = shapes(decoy);
        t.diagnostic(`kernel: ${a.join(' | ')}\ndecoy: ${b.join(' | ')}`);
        assert.equal(a.length, 2, 'the kernel answers both');
        assert.deepEqual(b, a);
      });

      await t.test('ping -R and ping -T tsonly print the same lists', async () => {
        const norm = (out: string, ip: string): string => {
          const lines = out.split('\n');
          const start = lines.findIndex((l) => /^(RR|TS):/.test(l));
          if (start < 0) return '';
          const block: string[] = [];
          for (let i = start; i < lines.length && lines[i]?.trim() !== ''; i++) block.push((lines[i] as string).split(ip).join('<host>').replace(/\d+ absolute/, 'N absolute').replace(/^\t-?\d+$/, '\tD'));
          return block.join('\n');
        };
        for (const args of [['-R'], ['-T', 'tsonly']]) {
          const pr = await lab.exec(lab.scannerNs, ['ping', '-c', '1', '-W', '2', ...args, REAL_IP], { timeoutMs: 10_000 });
          const pd = await lab.exec(lab.scannerNs, ['ping', '-c', '1', '-W', '2', ...args, DECOY_IP], { timeoutMs: 10_000 });
          const a = norm(pr.stdout, REAL_IP);
          const b = norm(pd.stdout, DECOY_IP);
          assert.ok(a.length > 0, `ping ${args.join(' ')} to the kernel printed no list:\n${pr.stdout}`);
          t.diagnostic(`ping ${args.join(' ')}:\n${a}`);
          assert.equal(b, a, `ping ${args.join(' ')}`);
        }
      });

      await t.test('fragments: overlaps, duplicates, contained fragments', async () => {
        // An echo request of 8 + 40 bytes, cut into fragments as each case says (offsets in bytes).
        const body = (id: number): Buffer => icmpMessage(8, 0, (id << 16) | 1, Buffer.alloc(40, 0x62));
        type Piece = [number, number, boolean, number?];
        const cases: Array<[string, number, Piece[]]> = [
          ['in order', 0x7101, [[0, 16, true], [16, 16, true], [32, 16, false]]],
          ['reverse order', 0x7102, [[32, 16, false], [16, 16, true], [0, 16, true]]],
          ['tail overlap', 0x7103, [[0, 24, true], [16, 16, true], [32, 16, false]]],
          ['exact duplicate', 0x7104, [[0, 16, true], [0, 16, true], [16, 32, false]]],
          ['contained in an earlier fragment', 0x7105, [[0, 32, true], [8, 8, true], [32, 16, false]]],
          ['head overlap with different bytes', 0x7106, [[8, 24, true], [0, 16, true, 0x99], [32, 16, false]]],
          ['contained, different bytes', 0x7108, [[0, 32, true], [8, 8, true, 0x99], [32, 16, false]]],
          ['two different last fragments', 0x7107, [[0, 8, true], [16, 32, false], [16, 24, false], [8, 8, true]]],
        ];
        const frames: Buffer[] = [];
        let ipId = 0x4000;
        for (const tg of [real, decoy]) {
          for (const [, id, pieces] of cases) {
            const whole = body(id);
            ipId++;
            for (const [off, len, mf, fill] of pieces) {
              const part = Buffer.from(whole.subarray(off, Math.min(whole.length, off + len)));
              if (fill !== undefined) part.fill(fill, off < 8 ? 8 - off : 0);
              frames.push(ipFrame(tg.mac, scanMac, { src: '198.51.100.2', dst: tg.ip, proto: 1, id: ipId, mf, fragOffset: off, payload: part }));
            }
          }
        }
        const got = await injectAndCapture(lab, frames, { filter: 'icmp', gapMs: 20, waitMs: 800 });
        const r = icmpById(got, real);
        const dc = icmpById(got, decoy);
        const summary: string[] = [];
        for (const [name, id] of cases) {
          const a = r.get(id) ?? [];
          const b = dc.get(id) ?? [];
          summary.push(`${name}: kernel ${a.length}, decoy ${b.length}`);
          assert.equal(b.length, a.length, `${name}: kernel ${a.length} replies, decoy ${b.length}`);
          if (a[0] && b[0]) assert.equal(b[0].subarray(42).toString('hex'), a[0].subarray(42).toString('hex'), `${name}: reassembled body`);
        }
        t.diagnostic(summary.join('\n'));
        assert.equal((r.get(0x7101) ?? []).length, 1, 'the kernel answers a clean fragmented echo');
      });

      await t.test('reassembly timeout: time exceeded quoting fragment 0 when it came, nothing when it did not', async () => {
        // Fragment 0 alone (an echo request, and a UDP datagram), and a lone middle fragment.
        const cases: Array<[string, number, number, number, Buffer]> = [
          ['echo, fragment 0 only', 0x5201, 1, 0, icmpMessage(8, 0, (0x7201 << 16) | 1, Buffer.alloc(16, 0x63))],
          ['UDP, fragment 0 only', 0x5202, 17, 0, Buffer.concat([Buffer.from([0x9c, 0x41, 0x00, 0x35, 0x00, 0x30, 0x00, 0x00]), Buffer.alloc(16, 0x64)])],
          ['echo, middle fragment only', 0x5203, 1, 24, Buffer.alloc(16, 0x65)],
        ];
        const frames: Buffer[] = [];
        for (const tg of [real, decoy]) {
          for (const [, id, proto, off, payload] of cases) frames.push(ipFrame(tg.mac, scanMac, { src: '198.51.100.2', dst: tg.ip, proto, id, mf: true, fragOffset: off, payload }));
        }
        const sentAt = Date.now();
        const got = await injectAndCapture(lab, frames, { filter: 'icmp[0] = 11', gapMs: 20, waitMs: FRAG_TIMEOUT_S * 1000 + 2500 });
        const summary: string[] = [];
        for (const [name, id] of cases) {
          const per = [real, decoy].map((tg) => got.filter((g) => g.frame.subarray(6, 12).equals(macBytes(tg.mac)) && g.frame.readUInt16BE(42 + 4) === id));
          const [a, b] = per as [CapturedFrame[], CapturedFrame[]];
          summary.push(`${name}: kernel ${a.length} after ${a.map((g) => (g.timeMs - sentAt).toFixed(0)).join(',')} ms, decoy ${b.length} after ${b.map((g) => (g.timeMs - sentAt).toFixed(0)).join(',')} ms`);
          assert.equal(b.length, a.length, `${name}: kernel ${a.length} time exceeded, decoy ${b.length}`);
          const ra = a[0];
          const rb = b[0];
          if (!ra || !rb) continue;
          // The quoted header's checksum covers each host's own address: checked for validity, then masked.
          const norm = (f: Buffer, ip: string): string => {
            assert.equal(checksum16(f.subarray(42, 62)), 0, `${name}: quoted IP checksum valid`);
            const m = Buffer.from(f.subarray(34));
            m.writeUInt16BE(0, 18);
            return m.toString('hex').slice(4).split(ipNum(ip).toString(16).padStart(8, '0')).join('<ip>');
          };
          // Type, code, unused word and the quote (IP header as received, then fragment 0's bytes); the ICMP checksum differs with the addresses.
          assert.equal(norm(rb.frame, DECOY_IP), norm(ra.frame, REAL_IP), `${name}: message and quote`);
          assert.equal(rb.frame.readUInt16BE(16), ra.frame.readUInt16BE(16), `${name}: IP total length`);
          assert.equal(rb.frame[22], ra.frame[22], `${name}: TTL`);
          assert.equal((rb.frame[20] as number) & 0x40, (ra.frame[20] as number) & 0x40, `${name}: DF`);
          assert.ok(Math.abs(rb.timeMs - ra.timeMs) < 1500, `${name}: timing ${rb.timeMs - ra.timeMs} ms apart`);
        }
        t.diagnostic(summary.join('\n'));
        assert.equal(got.filter((g) => g.frame.subarray(6, 12).equals(macBytes(real.mac))).length, 2, 'the kernel answers both lone first fragments');
      });

      await t.test('neighbour probing: a peer learnt from its ARP request is asked again by unicast 5 s after use', async () => {
        // A peer nobody answers for (the kernel's probes go unanswered, as the decoy's do).
        const peerMac = '02:aa:bb:cc:dd:ee';
        const peerIp = '198.51.100.77';
        const frames: Buffer[] = [];
        for (const tg of [real, decoy]) {
          frames.push(arpFrame({ op: 1, sha: peerMac, spa: peerIp, tpa: tg.ip }));
          frames.push(icmpFrame(tg.mac, peerMac, peerIp, tg.ip, icmpMessage(8, 0, 0x01020001, Buffer.alloc(8))));
        }
        const got = await injectAndCapture(lab, frames, { filter: `ether dst ${peerMac}`, gapMs: 100, waitMs: 9300 });
        const timeline = (tg: Target): { echoAt: number; probes: Array<{ at: number; hex: string }> } => {
          const mine = got.filter((g) => g.frame.subarray(6, 12).equals(macBytes(tg.mac)));
          const echo = mine.find((g) => g.frame.readUInt16BE(12) === 0x0800);
          const probes = mine.filter((g) => g.frame.readUInt16BE(12) === 0x0806 && g.frame.readUInt16BE(20) === 1);
          return {
            echoAt: echo?.timeMs ?? NaN,
            probes: probes.map((g) => ({ at: g.timeMs, hex: fromTarget([g], tg)[0] ?? '' })),
          };
        };
        const r = timeline(real);
        const dc = timeline(decoy);
        t.diagnostic(`kernel probes at ${r.probes.map((p) => (p.at - r.echoAt).toFixed(0)).join(', ')} ms; decoy at ${dc.probes.map((p) => (p.at - dc.echoAt).toFixed(0)).join(', ')} ms after the echo reply`);
        assert.equal(r.probes.length, 3, 'the kernel sends three unicast probes');
        assert.equal(dc.probes.length, r.probes.length, 'as many probes');
        assert.deepEqual(dc.probes.map((p) => p.hex), r.probes.map((p) => p.hex), 'the same probe frames');
        // Timing within tolerance: the first after delay_first_probe_time (5 s), then one a second.
        for (const tl of [r, dc]) {
          const first = (tl.probes[0]?.at ?? 0) - tl.echoAt;
          assert.ok(first > 4500 && first < 7000, `first probe ${first.toFixed(0)} ms after the reply`);
          for (let i = 1; i < tl.probes.length; i++) {
            const gap = (tl.probes[i]?.at ?? 0) - (tl.probes[i - 1]?.at ?? 0);
            assert.ok(gap > 700 && gap < 1600, `probe gap ${gap.toFixed(0)} ms`);
          }
        }
      });

      await t.test('data after the server closed (FIN_WAIT2) gets the same reset, data in TIME_WAIT the same ACK', async () => {
        const server = lab.spawn(realHost.ns, ['python3', '-c', CLOSER_SERVER, REAL_IP, String(CLOSER_PORT), CLOSER_BANNER], { stdio: ['ignore', 'pipe', 'pipe'] });
        try {
          await new Promise<void>((res, rej) => {
            const timer = setTimeout(() => rej(new Error('the real server did not start')), 5000);
            server.stdout?.once('data', () => { clearTimeout(timer); res(); });
          });
          /** One client run per target, captured on the scanner; the frames of each connection by client port. */
          const run = async (mode: 'data' | 'fin'): Promise<Map<string, CapturedFrame[]>> => {
            const clientPorts = new Map<string, number>();
            const capture = injectAndCapture(lab, [], { filter: `tcp port ${CLOSER_PORT}`, waitMs: 3200 });
            await new Promise((r) => setTimeout(r, 400)); // the capture is open
            await Promise.all([real, decoy].map(async (tg) => {
              const c = await lab.exec(lab.scannerNs, ['python3', '-c', CLOSER_CLIENT, tg.ip, String(CLOSER_PORT), mode], { timeoutMs: 8000 });
              assert.equal(c.code, 0, `client to ${tg.ip}: ${c.stderr}`);
              clientPorts.set(tg.ip, Number(c.stdout.trim()));
            }));
            const got = await capture;
            const out = new Map<string, CapturedFrame[]>();
            for (const tg of [real, decoy]) {
              const port = clientPorts.get(tg.ip) as number;
              out.set(tg.ip, got.filter((g) => g.frame.readUInt16BE(12) === 0x0800 && g.frame[23] === 6 && (g.frame.readUInt16BE(34) === port || g.frame.readUInt16BE(36) === port)));
            }
            return out;
          };
          /** A server segment relative to the connection's ISNs: flags, seq/ack offsets, window, DF, TTL, IP ID zero or not, option bytes. */
          const fromServer = (frames: CapturedFrame[], tg: Target): { isn: number; cisn: number; shapes: string[]; last: Buffer } => {
            const mine = frames.filter((g) => g.frame.subarray(6, 12).equals(macBytes(tg.mac)));
            const theirs = frames.filter((g) => !g.frame.subarray(6, 12).equals(macBytes(tg.mac)));
            const synAck = mine.find((g) => g.frame[47] === 0x12);
            const syn = theirs.find((g) => g.frame[47] === 0x02);
            assert.ok(synAck && syn, `${tg.ip}: handshake captured`);
            const isn = synAck.frame.readUInt32BE(38);
            const cisn = syn.frame.readUInt32BE(38);
            const shapes = mine.map((g) => {
              const f = g.frame;
              const tcp = 34;
              const flags = f[tcp + 13] as number;
              const optLen = ((f[tcp + 12] as number) >> 4) * 4 - 20;
              const rel = (v: number, base: number): number => (v - base) >>> 0;
              return `flags=${flags.toString(16)} seq=+${rel(f.readUInt32BE(tcp + 4), isn)} ack=${flags & 0x10 ? `+${rel(f.readUInt32BE(tcp + 8), cisn)}` : f.readUInt32BE(tcp + 8).toString(16)} ` +
                `df=${(f[20] as number) & 0x40 ? 1 : 0} ttl=${f[22]} id0=${f.readUInt16BE(18) === 0 ? 1 : 0} opts=${optLen}${flags & 0x04 ? ` win=${f.readUInt16BE(tcp + 14)}` : ''} len=${f.readUInt16BE(16) - 40 - optLen}`;
            });
            return { isn, cisn, shapes, last: (theirs[theirs.length - 1] as CapturedFrame).frame };
          };

          const a = await run('data');
          const ra = fromServer(a.get(REAL_IP) ?? [], real);
          const da = fromServer(a.get(DECOY_IP) ?? [], decoy);
          t.diagnostic(`data after close, kernel:\n${ra.shapes.join('\n')}\ndecoy:\n${da.shapes.join('\n')}`);
          const rstOf = (shapes: string[]): string | undefined => shapes.find((x) => x.startsWith('flags=4 ') || x.startsWith('flags=14 '));
          assert.ok(rstOf(ra.shapes), 'the kernel resets data after close');
          assert.equal(rstOf(da.shapes), rstOf(ra.shapes), 'the same reset');
          // IP IDs: the SYN/ACK (a request socket) has 0; the established socket then counts from a
          // start of its own, one per segment (Linux's inet_id), which a decoy sending 0 throughout betrays.
          const idPattern = (tg: Target): string => {
            const mine = (a.get(tg.ip) ?? []).filter((g) => g.frame.subarray(6, 12).equals(macBytes(tg.mac)));
            const synAckIndex = mine.findIndex((g) => g.frame[47] === 0x12);
            const est = mine.slice(synAckIndex + 1).filter((g) => ((g.frame[47] as number) & 0x04) === 0).map((g) => g.frame.readUInt16BE(18));
            const steps = est.slice(1).map((id, i) => ((id - (est[i] as number)) & 0xffff) === 1 ? '+1' : 'jump');
            return `synack-id0=${mine[synAckIndex]?.frame.readUInt16BE(18) === 0 ? 1 : 0} segments=${est.length} steps=${[...new Set(steps)].join(',')}`;
          };
          t.diagnostic(`IP IDs, kernel: ${idPattern(real)}; decoy: ${idPattern(decoy)}`);
          assert.equal(idPattern(decoy), idPattern(real), 'the same IP ID pattern');

          // TIME_WAIT: both sides closed; a data segment with the client's next sequence number.
          const b = await run('fin');
          const frames: Buffer[] = [];
          const rb = new Map<string, { isn: number; cisn: number }>();
          for (const tg of [real, decoy]) {
            const conn = b.get(tg.ip) ?? [];
            const info = fromServer(conn, tg);
            rb.set(tg.ip, info);
            const clientFin = conn.find((g) => !g.frame.subarray(6, 12).equals(macBytes(tg.mac)) && ((g.frame[47] as number) & 0x01) !== 0);
            const serverFin = conn.find((g) => g.frame.subarray(6, 12).equals(macBytes(tg.mac)) && ((g.frame[47] as number) & 0x01) !== 0);
            assert.ok(clientFin && serverFin, `${tg.ip}: both FINs captured`);
            const cport = clientFin.frame.readUInt16BE(34);
            frames.push(tcpFrame(tg.mac, scanMac, '198.51.100.2', tg.ip, {
              srcPort: cport, dstPort: CLOSER_PORT, seq: (clientFin.frame.readUInt32BE(38) + 1) >>> 0, ack: (serverFin.frame.readUInt32BE(38) + 1) >>> 0,
              flags: Flag.ACK | Flag.PSH, window: 502, payload: Buffer.from('in time wait'),
            }));
          }
          const got = await injectAndCapture(lab, frames, { filter: `tcp src port ${CLOSER_PORT}`, gapMs: 50, waitMs: 500 });
          const twShape = (tg: Target): string[] => {
            const info = rb.get(tg.ip) as { isn: number; cisn: number };
            return got.filter((g) => g.frame.subarray(6, 12).equals(macBytes(tg.mac))).map((g) => {
              const f = g.frame;
              const optLen = ((f[46] as number) >> 4) * 4 - 20;
              return `flags=${(f[47] as number).toString(16)} seq=+${(f.readUInt32BE(38) - info.isn) >>> 0} ack=+${(f.readUInt32BE(42) - info.cisn) >>> 0} df=${(f[20] as number) & 0x40 ? 1 : 0} ttl=${f[22]} opts=${optLen} len=${f.readUInt16BE(16) - 40 - optLen}`;
            });
          };
          const rt = twShape(real);
          const dt = twShape(decoy);
          t.diagnostic(`data in TIME_WAIT: kernel ${rt.join('; ')}; decoy ${dt.join('; ')}`);
          assert.equal(rt.length, 1, 'the kernel answers data in TIME_WAIT once');
          assert.deepEqual(dt, rt);
        } finally {
          server.kill('SIGKILL');
        }
      });

      await t.test('data for a connection that does not exist gets the same reset', async () => {
        // After close the socket is gone (TIME_WAIT aside): a data segment meets no socket. The RST
        // shape for data on a connection the application closed while still established is the
        // TCP layer's (stack/tcp/, not this test): see the README's per-family table.
        const frames = [real, decoy].map((tg) => tcpFrame(tg.mac, scanMac, '198.51.100.2', tg.ip, { srcPort: 40123, dstPort: 9, seq: 1000, ack: 0x12345678, flags: Flag.ACK | Flag.PSH, window: 502, payload: Buffer.from('after close') }));
        const got = await injectAndCapture(lab, frames, { filter: 'tcp', gapMs: 50, waitMs: 500 });
        const shape = (tg: Target): string[] => got.filter((g) => g.frame.subarray(6, 12).equals(macBytes(tg.mac))).map((g) => {
          const f = g.frame;
          const ihl = ((f[14] as number) & 0x0f) * 4;
          const tcp = 14 + ihl;
          return `df=${(f[20] as number) & 0x40 ? 1 : 0} ttl=${f[22]} seq=${f.readUInt32BE(tcp + 4).toString(16)} ack=${f.readUInt32BE(tcp + 8).toString(16)} flags=${(f[tcp + 13] as number).toString(16)} win=${f.readUInt16BE(tcp + 14)} len=${f.readUInt16BE(16) - ihl - ((f[tcp + 12] as number) >> 4) * 4}`;
        });
        const a = shape(real);
        assert.equal(a.length, 1, 'the kernel resets');
        assert.deepEqual(shape(decoy), a);
      });

      await t.test('Windows, FreeBSD and Cisco decoys answer the arp-fingerprint probes as their tables say, unlike a Linux decoy', async (tt) => {
        await familyArpStrings(tt, lab, d);
      });

      await t.test('an unanswered SYN/ACK is retransmitted as the kernel does by the Linux decoy, and on each family\'s schedule by the others', async (tt) => {
        await synAckSchedules(tt, lab, d, real, realHost);
      });
    } finally {
      await d.stop();
    }
  });
});

