/** IPv4, UDP, ICMP and fragment reassembly through Engine.handleFrame. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checksum16, icmpFrame, icmpMessage, ipFrame, type ParsedFrame, transportChecksum, udpDatagram, udpFrame } from '../helpers/frames';
import { Reassembler } from '../../daemon/src/stack/reassembly';
import { Ipv4View } from '../../daemon/src/wire/ipv4';
import { CLIENT_IP, CLIENT_MAC, DECOY_IP, Harness, linuxTemplate } from './stack-harness';

function only(frames: ParsedFrame[], what: string): ParsedFrame {
  assert.equal(frames.length, 1, `${what}: expected one frame, got ${frames.length}`);
  assert.deepEqual(frames[0].problems, [], what);
  return frames[0];
}

test('ICMP echo → echo reply with the same id, sequence and data', () => {
  const h = new Harness();
  h.take();
  const mac = h.macOf(DECOY_IP);
  const data = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz!');
  h.feed(icmpFrame(mac, CLIENT_MAC, CLIENT_IP, DECOY_IP, icmpMessage(8, 0, (0x1234 << 16) | 7, data), { tos: 0x10 }));
  const r = only(h.take(), 'echo reply');
  assert.equal(r.dst, CLIENT_MAC);
  assert.equal(r.src, mac);
  assert.equal(r.ip?.src, DECOY_IP);
  assert.equal(r.ip?.dst, CLIENT_IP);
  assert.equal(r.ip?.proto, 1);
  assert.equal(r.icmp?.type, 0);
  assert.equal(r.icmp?.code, 0);
  assert.equal(r.icmp?.rest, (0x1234 << 16) | 7);
  assert.deepEqual(r.icmp?.data, data);
  // Echo requests with a bad checksum, replies, and errors are not answered.
  h.feed(icmpFrame(mac, CLIENT_MAC, CLIENT_IP, DECOY_IP, icmpMessage(8, 0, 1, data, true)));
  h.feed(icmpFrame(mac, CLIENT_MAC, CLIENT_IP, DECOY_IP, icmpMessage(0, 0, 1, data)));
  h.feed(icmpFrame(mac, CLIENT_MAC, CLIENT_IP, DECOY_IP, icmpMessage(3, 3, 0, data)));
  assert.equal(h.take().length, 0);
});

test('ICMP echo to a template with ICMP blocked → nothing', () => {
  const h = new Harness({ templates: [linuxTemplate('quiet', 'block')] });
  h.take();
  h.feed(icmpFrame(h.macOf(DECOY_IP), CLIENT_MAC, CLIENT_IP, DECOY_IP, icmpMessage(8, 0, 1, Buffer.from('x'))));
  assert.equal(h.take().length, 0);
});

test('UDP to a closed port → ICMP port unreachable quoting the datagram, all checksums right', () => {
  const h = new Harness();
  h.take();
  const mac = h.macOf(DECOY_IP);
  for (const size of [9, 300, 1000]) {
    const payload = Buffer.alloc(size, 0x41 + (size % 26));
    const frame = udpFrame(mac, CLIENT_MAC, CLIENT_IP, DECOY_IP, 43789, 7009, payload, { id: 13436, df: true });
    h.feed(frame);
    const r = only(h.take(), `unreachable for ${size}`);
    assert.equal(r.ip?.src, DECOY_IP);
    assert.equal(r.ip?.dst, CLIENT_IP);
    assert.equal(r.icmp?.type, 3);
    assert.equal(r.icmp?.code, 3);
    assert.equal(r.icmp?.rest, 0);
    const original = frame.subarray(14, 14 + 28 + size);
    const quoted = r.icmp?.data ?? Buffer.alloc(0);
    // Linux quotes as much as fits in a 576-byte error.
    assert.equal(quoted.length, Math.min(original.length, 576 - 28));
    assert.deepEqual(quoted, original.subarray(0, quoted.length));
    assert.equal(checksum16(quoted.subarray(0, 20)), 0, 'quoted IP header checksum');
    if (quoted.length === original.length) assert.equal(transportChecksum(CLIENT_IP, DECOY_IP, 17, quoted.subarray(20)), 0, 'quoted UDP checksum');
    assert.ok((r.ip?.totalLength ?? 0) <= 576);
  }
});

test('UDP: open echo port answers, bad checksum and blocked port stay silent, zero checksum accepted', () => {
  const h = new Harness();
  h.take();
  const mac = h.macOf(DECOY_IP);
  h.feed(udpFrame(mac, CLIENT_MAC, CLIENT_IP, DECOY_IP, 5353, 7, Buffer.from('echo me')));
  const r = only(h.take(), 'udp echo');
  assert.equal(r.udp?.srcPort, 7);
  assert.equal(r.udp?.dstPort, 5353);
  assert.equal(r.udp?.payload.toString(), 'echo me');
  assert.ok(r.udp?.checksumOk);
  const bad = ipFrame(mac, CLIENT_MAC, { src: CLIENT_IP, dst: DECOY_IP, proto: 17, payload: udpDatagram(CLIENT_IP, DECOY_IP, 5353, 7009, Buffer.from('x'), 'bad') });
  h.feed(bad);
  h.feed(udpFrame(mac, CLIENT_MAC, CLIENT_IP, DECOY_IP, 5353, 53, Buffer.from('blocked')));
  assert.equal(h.take().length, 0);
  h.feed(ipFrame(mac, CLIENT_MAC, { src: CLIENT_IP, dst: DECOY_IP, proto: 17, payload: udpDatagram(CLIENT_IP, DECOY_IP, 5353, 7, Buffer.from('nosum'), 'zero') }));
  assert.equal(only(h.take(), 'zero checksum').udp?.payload.toString(), 'nosum');
});

test('unknown IP protocol → ICMP protocol unreachable', () => {
  const h = new Harness();
  h.take();
  const frame = ipFrame(h.macOf(DECOY_IP), CLIENT_MAC, { src: CLIENT_IP, dst: DECOY_IP, proto: 99, payload: Buffer.from('whatever') });
  h.feed(frame);
  const r = only(h.take(), 'protocol unreachable');
  assert.equal(r.icmp?.type, 3);
  assert.equal(r.icmp?.code, 2);
  assert.deepEqual(r.icmp?.data, frame.subarray(14, 14 + 28));
});

/** A UDP datagram to the echo port cut into fragments at the given [offset, length, more] triples. */
function fragments(mac: string, id: number, payload: Buffer, cuts: Array<[number, number, boolean]>, checksum: 'good' | 'zero' = 'good'): Buffer[] {
  const udp = udpDatagram(CLIENT_IP, DECOY_IP, 6000, 7, payload, checksum);
  return cuts.map(([off, len, mf]) => {
    const part = Buffer.alloc(len);
    if (off < udp.length) udp.copy(part, 0, off, Math.min(udp.length, off + len));
    return ipFrame(mac, CLIENT_MAC, { src: CLIENT_IP, dst: DECOY_IP, proto: 17, id, mf, fragOffset: off, payload: part });
  });
}

test('fragments: in order and out of order each yield exactly one reply', () => {
  const h = new Harness();
  h.take();
  const mac = h.macOf(DECOY_IP);
  const payload = Buffer.from('fragmented datagram for the echo port!!!'); // 40 bytes → 48 with the header
  assert.equal(payload.length, 40);
  const cuts: Array<[number, number, boolean]> = [[0, 16, true], [16, 16, true], [32, 16, false]];
  for (const order of [[0, 1, 2], [2, 0, 1], [1, 2, 0]]) {
    const parts = fragments(mac, 100 + order[0] * 10 + order[1], payload, cuts);
    for (let i = 0; i < 3; i++) {
      h.feed(parts[order[i]]);
      if (i < 2) assert.equal(h.take().length, 0, `order ${order}: nothing before the datagram is complete`);
    }
    const r = only(h.take(), `order ${order}`);
    assert.equal(r.udp?.payload.toString(), payload.toString());
  }
});

test('fragments: overlapping, oversize, misaligned and gapped datagrams are dropped', () => {
  const h = new Harness();
  h.take();
  const mac = h.macOf(DECOY_IP);
  const payload = Buffer.alloc(40, 0x61);
  // Overlap: [0,16) and [8,24), then the rest.
  for (const f of fragments(mac, 201, payload, [[0, 16, true], [8, 16, true], [16, 16, true], [32, 16, false]])) h.feed(f);
  assert.equal(h.take().length, 0, 'overlap');
  assert.ok(h.eventsOf('drop').some((e) => (e as { reason: string }).reason === 'overlapping-fragment'));
  // Oversize: a last fragment ending beyond 65535 bytes of datagram.
  for (const f of fragments(mac, 202, payload, [[0, 16, true], [65528, 16, false]])) h.feed(f);
  assert.equal(h.take().length, 0, 'oversize');
  assert.ok(h.eventsOf('drop').some((e) => (e as { reason: string }).reason === 'oversize-datagram'));
  // Misaligned: a non-final fragment whose length is not a multiple of 8.
  for (const f of fragments(mac, 203, payload, [[0, 12, true], [12, 36, false]])) h.feed(f);
  assert.equal(h.take().length, 0, 'misaligned');
  // Gap [16,32) with a stray fragment beyond the end making the byte count match: must never complete.
  for (const f of fragments(mac, 204, payload, [[0, 16, true], [48, 16, true], [32, 16, false]], 'zero')) h.feed(f);
  assert.equal(h.take().length, 0, 'gap plus fragment beyond the end');
});

test('Reassembler: a fragment beyond the final length poisons the datagram instead of completing with a hole', () => {
  const r = new Reassembler(16, 65535, 30000);
  const ip = new Ipv4View();
  const statuses: string[] = [];
  for (const f of fragments('02:00:5e:0a:64:0a', 7, Buffer.alloc(40, 1), [[0, 16, true], [48, 16, true], [32, 16, false]], 'zero')) {
    assert.equal(ip.wrap(f, 14, f.length - 14), 0);
    statuses.push(r.add(f, ip, 0).status);
  }
  assert.notEqual(statuses[2], 'complete');
  assert.equal(r.size, 0, 'nothing left pending for a poisoned datagram');
});

test('Reassembler: bounded number of datagrams and expiry', () => {
  const r = new Reassembler(4, 65535, 30000);
  const ip = new Ipv4View();
  for (let id = 0; id < 10; id++) {
    const [f] = fragments('02:00:5e:0a:64:0a', id, Buffer.alloc(40, 1), [[0, 16, true]]);
    ip.wrap(f, 14, f.length - 14);
    assert.equal(r.add(f, ip, id * 1000).status, 'pending');
    assert.ok(r.size <= 4);
  }
  assert.equal(r.expire(30000 + 5000), 0);
  assert.equal(r.expire(30000 + 9000), 4);
  assert.equal(r.size, 0);
});
