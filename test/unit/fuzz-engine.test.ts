/**
 * Seeded fuzzing of Engine.handleFrame: ~200,000 frames of random bytes and mutated valid
 * ARP/IPv4/TCP/UDP/ICMP frames addressed to bound decoys, with tick() in between. Nothing may throw,
 * every frame sent must be well-formed, and nothing is ever sent in answer to an RST or to a
 * broadcast/multicast source. Set FUZZ_SEED / FUZZ_FRAMES to reproduce or extend a run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  arpFrame, checksum16, Flag, icmpFrame, icmpMessage, ipFrame, ipNum, linuxSynOptions, parseFrame, tcpFrame,
  transportChecksum, udpDatagram, udpFrame,
} from '../helpers/frames';
import { CLAIM_RANGE, CLIENT_IP, CLIENT_MAC, DECOY_IP, DECOY2_IP, Harness } from './stack-harness';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed1234) >>> 0;
const FRAMES = Number(process.env.FUZZ_FRAMES ?? 200_000);

/** xorshift32: small, fast, reproducible. */
class Prng {
  constructor(private s: number) { if (this.s === 0) this.s = 1; }
  next(): number {
    let x = this.s;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.s = x;
    return x;
  }
  int(n: number): number { return this.next() % n; }
  chance(p: number): boolean { return this.next() / 0x100000000 < p; }
  pick<T>(a: readonly T[]): T { return a[this.int(a.length)]; }
}

const PEERS: Array<[string, string]> = [
  [CLIENT_IP, CLIENT_MAC], ['198.51.100.3', '02:00:5e:00:00:03'], ['203.0.113.7', '02:00:5e:00:00:07'],
];

/** Valid frames of every kind the engine handles, to be mutated. */
function corpus(decoyMac: (ip: string) => string): Buffer[] {
  const out: Buffer[] = [];
  for (const [peer, peerMac] of PEERS) {
    for (const decoy of [DECOY_IP, DECOY2_IP]) {
      const mac = decoyMac(decoy);
      out.push(arpFrame({ op: 1, sha: peerMac, spa: peer, tpa: decoy }));
      out.push(arpFrame({ op: 2, sha: peerMac, spa: peer, tha: mac, tpa: decoy }));
      for (const port of [7, 21, 80, 81, 139, 443]) {
        out.push(tcpFrame(mac, peerMac, peer, decoy, { srcPort: 40000 + port, dstPort: port, flags: Flag.SYN, seq: 1000, options: linuxSynOptions(5) }));
        out.push(tcpFrame(mac, peerMac, peer, decoy, { srcPort: 40000 + port, dstPort: port, flags: Flag.ACK, seq: 1001, ack: 77 }));
        out.push(tcpFrame(mac, peerMac, peer, decoy, { srcPort: 40000 + port, dstPort: port, flags: Flag.ACK | Flag.PSH, seq: 1001, ack: 77, payload: Buffer.from('GET / HTTP/1.0\r\n\r\n') }));
        out.push(tcpFrame(mac, peerMac, peer, decoy, { srcPort: 40000 + port, dstPort: port, flags: Flag.FIN | Flag.PSH | Flag.URG, seq: 5 }));
        out.push(tcpFrame(mac, peerMac, peer, decoy, { srcPort: 40000 + port, dstPort: port, flags: Flag.RST, seq: 1001 }));
      }
      for (const port of [7, 53, 161, 7009]) out.push(udpFrame(mac, peerMac, peer, decoy, 5000, port, Buffer.from('fuzz-udp-payload')));
      out.push(icmpFrame(mac, peerMac, peer, decoy, icmpMessage(8, 0, 0x00010001, Buffer.alloc(56, 0x61))));
      out.push(icmpFrame(mac, peerMac, peer, decoy, icmpMessage(13, 0, 0x00010001, Buffer.alloc(12))));
      out.push(ipFrame(mac, peerMac, { src: peer, dst: decoy, proto: 47, payload: Buffer.alloc(24, 1) }));
      const udp = udpDatagram(peer, decoy, 5001, 7, Buffer.alloc(40, 0x62));
      out.push(ipFrame(mac, peerMac, { src: peer, dst: decoy, proto: 17, id: 99, mf: true, fragOffset: 0, payload: udp.subarray(0, 24) }));
      out.push(ipFrame(mac, peerMac, { src: peer, dst: decoy, proto: 17, id: 99, fragOffset: 24, payload: udp.subarray(24) }));
    }
    // Requests for addresses in the claim range, so that claims happen during the run.
    for (let i = 0; i < 4; i++) out.push(arpFrame({ op: 1, sha: peerMac, spa: peer, tpa: `198.51.100.${200 + i}` }));
  }
  return out;
}

/** Recompute IP and transport checksums where the (possibly corrupted) lengths allow, so mutations reach deeper code. */
function fixChecksums(f: Buffer): void {
  if (f.length < 34 || f.readUInt16BE(12) !== 0x0800) return;
  const hl = (f[14] & 15) * 4;
  if (hl < 20 || 14 + hl > f.length) return;
  f[24] = 0; f[25] = 0;
  f.writeUInt16BE(checksum16(f.subarray(14, 14 + hl)), 24);
  const total = f.readUInt16BE(16);
  if (total < hl || 14 + total > f.length || (f.readUInt16BE(20) & 0x3fff) !== 0) return;
  const seg = f.subarray(14 + hl, 14 + total);
  const src = f.readUInt32BE(26);
  const dst = f.readUInt32BE(30);
  if (f[23] === 6 && seg.length >= 20) {
    seg[16] = 0; seg[17] = 0;
    seg.writeUInt16BE(transportChecksum(src, dst, 6, seg), 16);
  } else if (f[23] === 17 && seg.length >= 8) {
    const len = seg.readUInt16BE(4);
    if (len < 8 || len > seg.length) return;
    seg[6] = 0; seg[7] = 0;
    seg.writeUInt16BE(transportChecksum(src, dst, 17, seg.subarray(0, len)) || 0xffff, 6);
  } else if (f[23] === 1 && seg.length >= 4) {
    seg[2] = 0; seg[3] = 0;
    seg.writeUInt16BE(checksum16(seg), 2);
  }
}

function mutate(rng: Prng, base: Buffer): Buffer {
  let f = Buffer.from(base);
  const kind = rng.int(6);
  const isIp = f.length >= 34 && f.readUInt16BE(12) === 0x0800;
  const l4 = isIp ? 14 + (f[14] & 15) * 4 : 14;
  if (kind === 0) {
    for (let n = 1 + rng.int(8); n > 0; n--) { const i = rng.int(f.length); f[i] ^= 1 << rng.int(8); }
  } else if (kind === 1) {
    f = f.subarray(0, rng.int(f.length + 1));
  } else if (kind === 2 && isIp) {
    // Length fields: IHL, IP total length, UDP length, TCP data offset, fragment field.
    const which = rng.int(5);
    if (which === 0) f[14] = 0x40 | rng.int(16);
    else if (which === 1) f.writeUInt16BE(rng.chance(0.5) ? rng.int(65536) : Math.max(0, f.length - 14 + rng.int(9) - 4), 16);
    else if (which === 2 && f[23] === 17 && l4 + 8 <= f.length) f.writeUInt16BE(rng.int(64), l4 + 4);
    else if (which === 3 && f[23] === 6 && l4 + 20 <= f.length) f[l4 + 12] = (rng.int(16) << 4) | (f[l4 + 12] & 15);
    else f.writeUInt16BE(rng.int(65536), 20);
  } else if (kind === 3 && isIp && f[23] === 6 && l4 + 20 <= f.length) {
    // Option garbage: a data offset with room for options, filled with random kinds and lengths.
    const optLen = 4 * (1 + rng.int(10));
    const garbage = Buffer.alloc(optLen);
    for (let i = 0; i < optLen; i++) garbage[i] = rng.chance(0.3) ? rng.pick([0, 1, 2, 3, 4, 8, 30, 254]) : rng.int(256);
    const head = f.subarray(0, l4 + 20);
    const rest = f.subarray(l4 + 20);
    f = Buffer.concat([head, garbage, rest]);
    f[l4 + 12] = ((5 + optLen / 4) << 4) | (f[l4 + 12] & 15);
    f.writeUInt16BE(f.length - 14 > 0xffff ? 0xffff : Math.min(f.length - 14, f.readUInt16BE(16) + optLen), 16);
  } else if (kind === 4) {
    // Flags and ports: random TCP flag bytes, random ports (reaching closed, open and blocked ones).
    if (isIp && f[23] === 6 && l4 + 14 <= f.length) f[l4 + 13] = rng.int(256);
    if (isIp && l4 + 4 <= f.length) f.writeUInt16BE(rng.pick([7, 21, 80, 81, 139, rng.int(65536)]), l4 + 2);
  } else if (f.length > 20) {
    // Splice a random run of bytes anywhere after the Ethernet header.
    const at = 14 + rng.int(f.length - 14);
    for (let i = at; i < Math.min(f.length, at + 1 + rng.int(16)); i++) f[i] = rng.int(256);
  }
  if (rng.chance(0.6)) fixChecksums(f);
  return f;
}

function randomFrame(rng: Prng, decoyMacs: Buffer[]): Buffer {
  const f = Buffer.alloc(rng.int(1515));
  for (let i = 0; i < f.length; i++) f[i] = rng.int(256);
  if (f.length >= 14 && rng.chance(0.7)) {
    rng.pick(decoyMacs).copy(f, 0);
    f.writeUInt16BE(rng.pick([0x0800, 0x0806, 0x86dd, 0x8100]), 12);
    if (f.length >= 34 && rng.chance(0.5)) { f[14] = 0x45; f.writeUInt32BE(ipNum(rng.pick([DECOY_IP, DECOY2_IP])), 30); fixChecksums(f); }
  }
  return f;
}

function isUsableUnicastIp(ip: string): boolean {
  const a = Number(ip.split('.')[0]);
  return a !== 0 && a !== 127 && a < 224;
}

test(`fuzz: ${FRAMES} frames into Engine.handleFrame (seed 0x${SEED.toString(16)})`, () => {
  const started = Date.now();
  const h = new Harness({
    hosts: [{ address: DECOY_IP, template: 'linux' }, { address: DECOY2_IP, template: 'linux' }],
    claims: [{ range: CLAIM_RANGE, template: 'linux' }],
    limits: { maxConnections: 64, maxConnectionsPerSource: 16, maxReassemblies: 32, maxClaimCandidates: 16 },
    claim: { tries: 2 },
  });
  const decoyMacs = [DECOY_IP, DECOY2_IP].map((ip) => Buffer.from(h.macOf(ip).split(':').map((x) => parseInt(x, 16))));
  const seeds = corpus((ip) => h.macOf(ip));
  const rng = new Prng(SEED);
  const failures: string[] = [];
  const counts = { sent: 0, rstInputs: 0, arp: 0, tcp: 0, udp: 0, icmp: 0, challengeAcks: 0 };

  for (let n = 0; n < FRAMES && failures.length < 5; n++) {
    const r = rng.int(100);
    const frame = r < 15 ? randomFrame(rng, decoyMacs) : r < 25 ? Buffer.from(rng.pick(seeds)) : mutate(rng, rng.pick(seeds));
    const input = parseFrame(frame);
    const isRst = input.tcp !== undefined && (input.tcp.flags & Flag.RST) !== 0;
    if (isRst) counts.rstInputs++;
    const before = h.sent.length;
    try {
      h.feed(frame);
    } catch (e) {
      failures.push(`frame ${n} threw ${(e as Error).stack}\n  input ${frame.toString('hex')}`);
      continue;
    }
    const replies = h.sent.slice(before).map(parseFrame);
    for (const out of replies) {
      const where = `frame ${n} (input ${frame.toString('hex').slice(0, 160)})`;
      if (out.length > 1514 || out.length < 60) failures.push(`${where}: sent ${out.length} bytes`);
      if (out.problems.length > 0) failures.push(`${where}: sent a malformed frame: ${out.problems.join(', ')}`);
      if (isRst) {
        // RFC 5961 challenge ACKs on a live connection are the only thing an RST may cause.
        if (out.tcp !== undefined && out.tcp.flags === Flag.ACK) counts.challengeAcks++;
        else failures.push(`${where}: answered an RST with ${JSON.stringify(out.tcp ?? out.arp ?? out.icmp)}`);
      }
      if (out.arp !== undefined) {
        counts.arp++;
        if (out.arp.op === 2 && (parseInt(out.dst.slice(0, 2), 16) & 1) === 1) failures.push(`${where}: ARP reply to group MAC ${out.dst}`);
      } else {
        if ((parseInt(out.dst.slice(0, 2), 16) & 1) === 1) failures.push(`${where}: IPv4 reply to group MAC ${out.dst}`);
        if (out.ip !== undefined && !isUsableUnicastIp(out.ip.dst)) failures.push(`${where}: reply to ${out.ip.dst}`);
        if (out.tcp) counts.tcp++;
        if (out.udp) counts.udp++;
        if (out.icmp) counts.icmp++;
      }
      counts.sent++;
    }
    if (n % 64 === 63) {
      const tickedBefore = h.sent.length;
      try {
        h.advance(rng.int(400) + 1, 100);
      } catch (e) {
        failures.push(`tick after frame ${n} threw ${(e as Error).stack}`);
      }
      for (const out of h.sent.slice(tickedBefore).map(parseFrame)) {
        if (out.problems.length > 0) failures.push(`timer frame after ${n}: ${out.problems.join(', ')}`);
        if ((parseInt(out.dst.slice(0, 2), 16) & 1) === 1 && out.arp === undefined) failures.push(`timer frame to group MAC ${out.dst}`);
      }
    }
    if (h.sent.length > 10000) h.sent.length = 0;
  }
  const elapsed = Date.now() - started;
  // The run must have exercised the stack, not just been rejected at the door.
  assert.deepEqual(failures, []);
  assert.ok(counts.tcp > 1000 && counts.icmp > 100 && counts.arp > 100, `too little coverage: ${JSON.stringify(counts)}`);
  assert.ok(counts.rstInputs > 1000, `too few RST inputs: ${counts.rstInputs}`);
  assert.ok(h.engine.counters.dropped > 1000);
  console.log(`fuzz: ${FRAMES} frames in ${elapsed} ms; ${JSON.stringify(counts)}; engine ${JSON.stringify(h.engine.counters)}`);
});
