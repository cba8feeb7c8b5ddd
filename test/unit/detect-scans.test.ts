/**
 * The scan detector on crafted frames: each scan style and tool shape goes through the real
 * engine (the observation hook), the detector's timer classifies, and the emitted scan.detected
 * says type, tool and why. Frames follow the tools' own source (see daemon/src/detect/signatures.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { arpFrame, Flag, icmpFrame, icmpMessage, ipFrame, ipNum, linuxSynOptions, tcpFrame, udpFrame, BROADCAST_MAC } from '../helpers/frames';
import { DECOYS, Rig, rng, SCANNER_MAC } from './detect-rig';

const mss1460 = Buffer.from([2, 4, 5, 0xb4]);

function nmapTcp(r: Rig, src: string, flags: number, dsts: string[], ports: number[], seed = 1): void {
  const rand = rng(seed);
  const sport = 33000 + (rand() % 32261);
  const seq = rand();
  const ack = flags & Flag.ACK ? rand() : 0;
  for (const dst of dsts) {
    for (const dport of ports) {
      r.feed(tcpFrame(r.mac(dst), SCANNER_MAC, src, dst, {
        srcPort: sport, dstPort: dport, flags, window: 1024,
        seq: flags & Flag.ACK ? 0 : seq, ack,
        options: flags & Flag.SYN ? mss1460 : undefined,
      }, { df: false, ttl: 37 + (rand() % 23), id: rand() & 0xffff }));
    }
  }
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);

test('nmap -sS: SYN scan, tool nmap from window 1024, MSS-only options, one source port and seq, TTL 37-59', () => {
  const r = new Rig();
  nmapTcp(r, '198.51.100.3', Flag.SYN, ['198.51.100.10'], range(1, 30));
  r.tick();
  const e = r.only('198.51.100.3');
  assert.equal(e.scanType, 'tcp-syn');
  assert.equal(e.tool, 'nmap');
  assert.equal(e.portCount, 30);
  assert.equal(e.targetCount, 1);
  assert.deepEqual(e.targets, ['198.51.100.10']);
  assert.equal(e.packets, 30);
  assert.ok(e.evidence.some((x) => /MSS 1460/.test(x)), e.evidence.join('; '));
  assert.ok(e.evidence.some((x) => /one source port/.test(x)));
  assert.ok(e.evidence.some((x) => /TTL 3\d-5\d/.test(x)));
  assert.ok(e.ratePps > 0);
});

for (const [name, flags, type] of [
  ['FIN', Flag.FIN, 'tcp-fin'],
  ['NULL', 0, 'tcp-null'],
  ['Xmas', Flag.FIN | Flag.PSH | Flag.URG, 'tcp-xmas'],
  ['ACK', Flag.ACK, 'tcp-ack'],
  ['Maimon', Flag.FIN | Flag.ACK, 'tcp-maimon'],
] as const) {
  test(`nmap ${name} scan is ${type}, tool nmap`, () => {
    const r = new Rig();
    nmapTcp(r, '198.51.100.4', flags, ['198.51.100.11'], range(100, 120), 7);
    r.tick();
    const e = r.only('198.51.100.4');
    assert.equal(e.scanType, type);
    assert.equal(e.tool, 'nmap');
    assert.equal(e.portCount, 21);
    if (type === 'tcp-ack') assert.ok(e.evidence.some((x) => /-sW/.test(x)), 'window scan noted as the same probe');
  });
}

test('masscan: IP ID = dst ^ dport ^ seq, TTL 255, window 1024, no options', () => {
  const r = new Rig();
  const rand = rng(3);
  const sport = 40000 + 1234;
  for (const dst of DECOYS.slice(0, 6)) {
    for (const dport of [22, 80, 443]) {
      const seq = rand();
      const id = ((ipNum(dst) ^ dport ^ seq) >>> 0) & 0xffff;
      r.feed(tcpFrame(r.mac(dst), SCANNER_MAC, '198.51.100.5', dst, { srcPort: sport, dstPort: dport, flags: Flag.SYN, seq, window: 1024 }, { df: false, ttl: 255, id }));
    }
  }
  r.tick();
  const e = r.only('198.51.100.5');
  assert.equal(e.scanType, 'tcp-syn');
  assert.equal(e.tool, 'masscan');
  assert.equal(e.targetCount, 6);
  assert.equal(e.portCount, 3);
  assert.ok(e.evidence.some((x) => /dst \^ dport \^ seq/.test(x) && /18\/18/.test(x)), e.evidence.join('; '));
});

test('zmap: IP ID 54321, TTL 255, window 65535, random source ports', () => {
  const r = new Rig();
  const rand = rng(4);
  for (const dst of DECOYS) {
    r.feed(tcpFrame(r.mac(dst), SCANNER_MAC, '198.51.100.6', dst, { srcPort: 32768 + (rand() % 28232), dstPort: 80, flags: Flag.SYN, seq: rand(), window: 65535 }, { df: false, ttl: 255, id: 54321 }));
  }
  r.tick();
  const e = r.only('198.51.100.6');
  assert.equal(e.scanType, 'tcp-syn');
  assert.equal(e.tool, 'zmap');
  assert.equal(e.targetCount, DECOYS.length);
  assert.deepEqual(e.ports, [80]);
  assert.ok(e.evidence.some((x) => /54321/.test(x)));
});

test('hping3 -S -p ++1: window 512, no options, rising source port, ACK field set without the flag', () => {
  const r = new Rig();
  const rand = rng(5);
  const base = 1024 + (rand() % 2000);
  range(1, 15).forEach((dport, i) => {
    r.feed(tcpFrame(r.mac('198.51.100.12'), SCANNER_MAC, '198.51.100.7', '198.51.100.12', { srcPort: base + i, dstPort: dport, flags: Flag.SYN, seq: rand(), ack: rand() | 1, window: 512 }, { df: false, ttl: 64, id: rand() & 0xffff }));
  });
  r.tick();
  const e = r.only('198.51.100.7');
  assert.equal(e.scanType, 'tcp-syn');
  assert.equal(e.tool, 'hping3');
  assert.ok(e.evidence.some((x) => /rises by 1/.test(x)));
});

test('connect scan: kernel SYNs completed by the handshake ACK are tcp-connect', () => {
  const r = new Rig();
  const dst = '198.51.100.13';
  // Closed ports: SYN only (the decoy resets). Open ports 7, 21, 80: SYN, then the handshake's ACK, then RST.
  range(30, 41).concat([7, 21, 80]).forEach((dport, i) => {
    const seq = 1000 + i * 100_000;
    const sport = 45000 + i;
    r.feed(tcpFrame(r.mac(dst), SCANNER_MAC, '198.51.100.8', dst, { srcPort: sport, dstPort: dport, flags: Flag.SYN, seq, window: 64240, options: linuxSynOptions(5000 + i) }, { ttl: 64 }));
    if (dport === 7 || dport === 21 || dport === 80) {
      r.feed(tcpFrame(r.mac(dst), SCANNER_MAC, '198.51.100.8', dst, { srcPort: sport, dstPort: dport, flags: Flag.ACK, seq: seq + 1, ack: 1, window: 502 }, { ttl: 64 }));
      r.feed(tcpFrame(r.mac(dst), SCANNER_MAC, '198.51.100.8', dst, { srcPort: sport, dstPort: dport, flags: Flag.RST | Flag.ACK, seq: seq + 1, ack: 1, window: 0 }, { ttl: 64 }));
    }
  });
  r.tick();
  const e = r.only('198.51.100.8');
  assert.equal(e.scanType, 'tcp-connect');
  assert.equal(e.tool, undefined);
  assert.ok(e.evidence.some((x) => /3 completed by an ACK, 0 reset by the scanner/.test(x)), e.evidence.join('; '));
  // The handshake ACKs and the closing RSTs are no ACK scan.
  assert.equal(r.scans().filter((s) => s.scanType === 'tcp-ack').length, 0);
});

test('SYN scan resets: the scanner kernel RSTs our SYN/ACK', () => {
  const r = new Rig();
  const dst = '198.51.100.13';
  const rand = rng(9);
  const seq = rand();
  for (const dport of range(30, 49).concat([7, 21, 80])) {
    r.feed(tcpFrame(r.mac(dst), SCANNER_MAC, '198.51.100.9', dst, { srcPort: 50000, dstPort: dport, flags: Flag.SYN, seq, window: 1024, options: mss1460 }, { df: false, ttl: 40 + (dport % 15) }));
    if (dport === 7 || dport === 80) r.feed(tcpFrame(r.mac(dst), SCANNER_MAC, '198.51.100.9', dst, { srcPort: 50000, dstPort: dport, flags: Flag.RST, seq: seq + 1, window: 0 }, { ttl: 64 }));
  }
  r.tick();
  const e = r.only('198.51.100.9');
  assert.equal(e.scanType, 'tcp-syn');
  assert.ok(e.evidence.some((x) => /0 completed by an ACK, 2 reset by the scanner/.test(x)), e.evidence.join('; '));
});

test('UDP scan by nmap: one source port, random TTL', () => {
  const r = new Rig();
  const rand = rng(11);
  for (const dport of range(20, 40)) {
    r.feed(udpFrame(r.mac('198.51.100.14'), SCANNER_MAC, '198.51.100.20', '198.51.100.14', 42488, dport, Buffer.alloc(0), { ttl: 37 + (rand() % 23), id: rand() & 0xffff }));
  }
  r.tick();
  const e = r.only('198.51.100.20');
  assert.equal(e.scanType, 'udp');
  assert.equal(e.tool, 'nmap');
  assert.equal(e.portCount, 21);
});

test('IP protocol scan: many IP protocols', () => {
  const r = new Rig();
  const rand = rng(12);
  for (const proto of [0, 2, 3, 4, 5, 8, 9, 41, 47, 50, 51, 132]) {
    r.feed(ipFrame(r.mac('198.51.100.15'), SCANNER_MAC, { src: '198.51.100.21', dst: '198.51.100.15', proto, payload: Buffer.alloc(0), ttl: 37 + (rand() % 23), id: rand() & 0xffff }));
  }
  r.tick();
  const e = r.only('198.51.100.21');
  assert.equal(e.scanType, 'ip-protocol');
  assert.equal(e.tool, 'nmap');
  assert.ok(e.evidence.some((x) => /12 distinct IP protocols/.test(x)), e.evidence.join('; '));
});

test('ping sweeps: ICMP echo without data (nmap -sn -PE), and ARP who-has', () => {
  const r = new Rig();
  const rand = rng(13);
  for (const dst of DECOYS) {
    r.feed(icmpFrame(r.mac(dst), SCANNER_MAC, '198.51.100.22', dst, icmpMessage(8, 0, ((rand() & 0xffff) << 16) | 0, Buffer.alloc(0)), { ttl: 37 + (rand() % 23), df: false }));
    r.feed(arpFrame({ op: 1, sha: '02:00:5e:00:00:43', spa: '198.51.100.23', tpa: dst, ethSrc: '02:00:5e:00:00:43', ethDst: BROADCAST_MAC }));
  }
  // Claim-range addresses count for ARP sweeps as well (none here: the rig has no range).
  r.tick();
  const ping = r.only('198.51.100.22');
  assert.equal(ping.scanType, 'ping-sweep-icmp');
  assert.equal(ping.tool, 'nmap');
  assert.equal(ping.targetCount, DECOYS.length);
  const arp = r.only('198.51.100.23');
  assert.equal(arp.scanType, 'arp-sweep');
  assert.equal(arp.targetCount, DECOYS.length);
});

test('TCP ping sweep: ACK to 80 and SYN to 443 across decoys', () => {
  const r = new Rig();
  const rand = rng(14);
  for (const dst of DECOYS) {
    r.feed(tcpFrame(r.mac(dst), SCANNER_MAC, '198.51.100.24', dst, { srcPort: 41000, dstPort: 80, flags: Flag.ACK, seq: 0, ack: rand(), window: 1024 }, { df: false, ttl: 37 + (rand() % 23) }));
    r.feed(tcpFrame(r.mac(dst), SCANNER_MAC, '198.51.100.24', dst, { srcPort: 41000, dstPort: 443, flags: Flag.SYN, seq: rand(), window: 1024, options: mss1460 }, { df: false, ttl: 37 + (rand() % 23) }));
  }
  r.tick();
  const mine = r.scans().filter((e) => e.srcIp === '198.51.100.24');
  assert.deepEqual([...new Set(mine.map((e) => e.scanType))], ['ping-sweep-tcp']);
});

/** Nmap's OS probes (osscan2.cc prbOpts / prbWindowSz) to an open and a closed port. */
function nmapOsProbes(r: Rig, src: string, dst: string): void {
  const hex = (s: string): Buffer => Buffer.from(s.replace(/ /g, ''), 'hex');
  const seqOpts = [
    '03030a01020405b4080affffffff000000000402', '020405780303000402080affffffff0000000000',
    '080affffffff0000000001010303050102040280', '0402080affffffff0000000003030a00',
    '020402180402080affffffff0000000003030a00', '020401090402080affffffff00000000',
  ];
  const seqWin = [1, 63, 4, 4, 16, 512];
  const tOpts = '03030a0102040109080affffffff000000000402';
  const base = 40000;
  const seqBase = 123456;
  const mac = r.mac(dst);
  const tcp = (sport: number, dport: number, flags: number, window: number, options: Buffer, extra: { urgent?: number; ack?: number } = {}, df = false): void =>
    r.feed(tcpFrame(mac, SCANNER_MAC, src, dst, { srcPort: sport, dstPort: dport, flags, window, seq: seqBase, ack: extra.ack ?? 777, urgent: extra.urgent, options }, { df, ttl: 50 }));
  seqOpts.forEach((o, i) => tcp(base + i, 80, Flag.SYN, seqWin[i] as number, hex(o)));
  tcp(base + 12, 80, Flag.SYN | Flag.ECE | Flag.CWR, 3, hex('03030a01020405b404020101'), { urgent: 0xf7f5, ack: 0 });
  tcp(base + 14, 80, 0, 128, hex(tOpts), {}, true);
  tcp(base + 15, 80, Flag.SYN | Flag.FIN | Flag.URG | Flag.PSH, 256, hex(tOpts));
  tcp(base + 16, 80, Flag.ACK, 1024, hex(tOpts), {}, true);
  tcp(base + 17, 1, Flag.SYN, 31337, hex(tOpts));
  tcp(base + 18, 1, Flag.ACK, 32768, hex(tOpts), {}, true);
  tcp(base + 19, 1, Flag.FIN | Flag.PSH | Flag.URG, 65535, hex('03030f0102040109080affffffff000000000402'));
  r.feed(udpFrame(mac, SCANNER_MAC, src, dst, base + 100, 31000, Buffer.alloc(300, 0x43), { id: 0x1042, ttl: 55 }));
  r.feed(icmpFrame(mac, SCANNER_MAC, src, dst, icmpMessage(8, 9, (4242 << 16) | 295, Buffer.alloc(120)), { df: true, ttl: 50 }));
  r.feed(icmpFrame(mac, SCANNER_MAC, src, dst, icmpMessage(8, 0, (4243 << 16) | 296, Buffer.alloc(150)), { tos: 4, ttl: 50 }));
}

test('nmap -O: the OS probe set is recognised shape by shape', () => {
  const r = new Rig();
  nmapOsProbes(r, '198.51.100.25', '198.51.100.16');
  r.tick();
  const e = r.only('198.51.100.25');
  assert.equal(e.scanType, 'os-detection');
  assert.equal(e.tool, 'nmap');
  const shapes = e.evidence[0] ?? '';
  for (const name of ['SEQ1', 'SEQ6', 'ECN', 'T2', 'T3', 'T4', 'T5', 'T6', 'T7', 'U1', 'IE1', 'IE2']) assert.ok(shapes.includes(name), `${name} missing in ${shapes}`);
  // None of those probes is counted as a SYN, NULL, ACK, Xmas or UDP scan.
  assert.equal(r.scans().length, 1);
});

test('nmap -sV: service probe strings on established connections', () => {
  const r = new Rig();
  const dst = '198.51.100.17';
  const src = '198.51.100.26';
  const payloads = ['GET / HTTP/1.0\r\n\r\n', '\r\n\r\n', 'HELP\r\n', 'OPTIONS / HTTP/1.0\r\n\r\n'];
  payloads.forEach((text, i) => {
    const sport = 50100 + i;
    const seq = 9000 + i * 1000;
    r.feed(tcpFrame(r.mac(dst), SCANNER_MAC, src, dst, { srcPort: sport, dstPort: 7, flags: Flag.SYN, seq, window: 64240, options: linuxSynOptions(100 + i) }));
    r.feed(tcpFrame(r.mac(dst), SCANNER_MAC, src, dst, { srcPort: sport, dstPort: 7, flags: Flag.ACK, seq: seq + 1, ack: 1, window: 502 }));
    r.feed(tcpFrame(r.mac(dst), SCANNER_MAC, src, dst, { srcPort: sport, dstPort: 7, flags: Flag.ACK | Flag.PSH, seq: seq + 1, ack: 1, window: 502, payload: Buffer.from(text, 'latin1') }));
    r.feed(tcpFrame(r.mac(dst), SCANNER_MAC, src, dst, { srcPort: sport, dstPort: 7, flags: Flag.ACK | Flag.FIN, seq: seq + 1 + text.length, ack: 1, window: 502 }));
  });
  r.tick();
  const e = r.only(src);
  assert.equal(e.scanType, 'service-version');
  assert.equal(e.tool, 'nmap');
  assert.ok(/GetRequest/.test(e.evidence[0] ?? '') && /GenericLines/.test(e.evidence[0] ?? ''), e.evidence.join('; '));
  assert.equal(r.scans().filter((s) => s.scanType === 'tcp-maimon' || s.scanType === 'tcp-ack').length, 0);
});

test('nmap -sV seen by the services: service.probe (inside TLS too) and an emulator\'s service.request count as probes', () => {
  const r = new Rig();
  const src = '198.51.100.27';
  const conn = { proto: 'tcp' as const, srcIp: src, srcPort: 50200, dstIp: '198.51.100.18', dstPort: 443 };
  // Payloads inside TLS are opaque on the wire: only the identity service knows which probe it answered.
  for (const probe of ['GetRequest', 'HTTPOptions', 'NULL', 'NoSuchProbe']) {
    r.detector.write({ kind: 'service.probe', time: r.h.now, ...conn, service: 'ssl/http', product: 'nginx', probe, ruleLine: 1, tls: 'TLSv1.3' });
  }
  // An interactive HTTP emulator on port 80: nmap's FourOhFourRequest, a browser-like request (headers: not a probe).
  const http = { ...conn, dstPort: 80, service: 'http' };
  r.detector.write({ kind: 'service.request', time: r.h.now, ...http, method: 'GET', path: '/nice%20ports%2C/Tri%6Eity.txt%2ebak', status: 404, headers: [] });
  r.detector.write({ kind: 'service.request', time: r.h.now, ...http, method: 'GET', path: '/', status: 200, headers: ['Host: x', 'User-Agent: curl/8'] });
  assert.equal(r.detector.wants('service.probe') && r.detector.wants('service.request'), true);
  assert.equal(r.detector.wants('tcp.packet'), false);
  r.tick();
  const e = r.only(src);
  assert.equal(e.scanType, 'service-version');
  assert.equal(e.tool, 'nmap');
  assert.deepEqual([...e.ports].sort((a, b) => a - b), [80, 443]);
  assert.ok(/GetRequest/.test(e.evidence[0] ?? '') && /HTTPOptions/.test(e.evidence[0] ?? '') && /FourOhFourRequest/.test(e.evidence[0] ?? ''), e.evidence.join('; '));
  assert.ok(e.evidence.some((x) => /3 of them recognised by the services/.test(x)), e.evidence.join('; '));
});

test('negative: one ordinary connection and a few pings make no detection', () => {
  const r = new Rig();
  const dst = '198.51.100.10';
  const src = '198.51.100.30';
  r.feed(tcpFrame(r.mac(dst), SCANNER_MAC, src, dst, { srcPort: 51000, dstPort: 80, flags: Flag.SYN, seq: 5, window: 64240, options: linuxSynOptions(1) }));
  r.feed(tcpFrame(r.mac(dst), SCANNER_MAC, src, dst, { srcPort: 51000, dstPort: 80, flags: Flag.ACK, seq: 6, ack: 1, window: 502 }));
  r.feed(tcpFrame(r.mac(dst), SCANNER_MAC, src, dst, { srcPort: 51000, dstPort: 80, flags: Flag.ACK | Flag.PSH, seq: 6, ack: 1, window: 502, payload: Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n') }));
  for (let i = 0; i < 5; i++) r.feed(tcpFrame(r.mac(dst), SCANNER_MAC, src, dst, { srcPort: 51000, dstPort: 80, flags: Flag.ACK, seq: 33, ack: 100 + i, window: 502 }));
  r.feed(tcpFrame(r.mac(dst), SCANNER_MAC, src, dst, { srcPort: 51000, dstPort: 80, flags: Flag.ACK | Flag.FIN, seq: 33, ack: 200, window: 502 }));
  for (let i = 0; i < 4; i++) r.feed(icmpFrame(r.mac(dst), SCANNER_MAC, src, dst, icmpMessage(8, 0, (77 << 16) | i, Buffer.alloc(56, 0x10)), { df: true }));
  r.feed(arpFrame({ op: 1, sha: SCANNER_MAC, spa: src, tpa: dst, ethSrc: SCANNER_MAC, ethDst: BROADCAST_MAC }));
  r.tick();
  r.tick(60); // past idle and window: everything is forgotten without a report
  assert.deepEqual(r.scans(), []);
  assert.equal(r.detector.stats().flows, 0);
  assert.equal(r.detector.stats().sources, 0);
});

test('a campaign is reported once, updated while it grows, and ends after the idle time', () => {
  const r = new Rig({ updateSeconds: 2, idleSeconds: 5 });
  nmapTcp(r, '198.51.100.31', Flag.SYN, ['198.51.100.10'], range(1, 20), 21);
  r.tick();
  assert.equal(r.scans().length, 1);
  r.tick(); // nothing new: no report
  assert.equal(r.scans().length, 1);
  nmapTcp(r, '198.51.100.31', Flag.SYN, ['198.51.100.10'], range(21, 40), 21);
  r.tick(2.5);
  assert.equal(r.scans().length, 2);
  nmapTcp(r, '198.51.100.31', Flag.SYN, ['198.51.100.10'], range(41, 45), 21);
  r.tick(6);
  const all = r.scans();
  assert.equal(all.length, 3, 'final report at idle');
  assert.equal(new Set(all.map((e) => e.scanId)).size, 1, 'one scanId per campaign');
  assert.equal(all[2]?.portCount, 45);
  assert.equal(r.detector.stats().flows, 0);
});

test('bounds: a flood of distinct sources keeps the tables at their limits', () => {
  const r = new Rig({ maxSources: 64, maxFlows: 32, maxHandshakes: 256 });
  const dst = '198.51.100.10';
  const mac = r.mac(dst);
  const frame = tcpFrame(mac, SCANNER_MAC, '203.0.113.1', dst, { srcPort: 1234, dstPort: 80, flags: Flag.SYN, seq: 1, window: 1024, options: mss1460 }, { df: false });
  const srcOff = 14 + 12;
  let maxSources = 0;
  let maxFlows = 0;
  for (let i = 0; i < 20_000; i++) {
    // Rewrite the source address in place (the IP checksum is recomputed; TCP's covers the pseudo-header).
    const ip = (ipNum('203.0.113.0') & 0xffff0000) | (i & 0xffff);
    rewriteSource(frame, srcOff, ip >>> 0);
    r.h.feed(frame);
    const s = r.detector.stats();
    maxSources = Math.max(maxSources, s.sources);
    maxFlows = Math.max(maxFlows, s.flows);
  }
  const s = r.detector.stats();
  assert.ok(maxSources <= 64, `sources ${maxSources}`);
  assert.ok(maxFlows <= 32, `flows ${maxFlows}`);
  assert.ok(s.handshakes <= 256);
  assert.ok(s.evictedSources > 19_000, `evicted ${s.evictedSources}`);
  assert.equal(s.observed, 20_000);
  // A real scan from one source still gets through and is detected.
  nmapTcp(r, '198.51.100.40', Flag.SYN, [dst], range(1, 20), 5);
  r.tick();
  assert.equal(r.only('198.51.100.40').scanType, 'tcp-syn');
});

function rewriteSource(frame: Buffer, off: number, ip: number): void {
  const oldHi = frame.readUInt16BE(off);
  const oldLo = frame.readUInt16BE(off + 2);
  frame.writeUInt32BE(ip, off);
  // Incremental checksum update (RFC 1624) for the IPv4 header and the TCP pseudo-header.
  const adjust = (at: number): void => {
    let sum = (~frame.readUInt16BE(at) & 0xffff) + (~oldHi & 0xffff) + (~oldLo & 0xffff) + (ip >>> 16) + (ip & 0xffff);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    frame.writeUInt16BE(~sum & 0xffff, at);
  };
  adjust(14 + 10);
  adjust(14 + 20 + 16);
}
