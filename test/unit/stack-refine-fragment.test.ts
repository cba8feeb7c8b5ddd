/** Replies larger than the MTU leave as IPv4 fragments: ICMP echo (ping -s 3000) and UDP services. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checksum16, icmpMessage, ipFrame, transportChecksum, udpDatagram, type ParsedFrame } from '../helpers/frames';
import { Ipv4Fragmenter } from '../../daemon/src/stack/ipv4-fragmenter';
import { CLIENT_IP, CLIENT_MAC, DECOY_IP, Harness } from './stack-harness';

/** `datagram` (an IP payload) cut into fragments of `size` bytes (a multiple of 8), in order. */
function fragmentsOf(mac: string, proto: number, id: number, datagram: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < datagram.length; off += size) {
    const part = datagram.subarray(off, Math.min(datagram.length, off + size));
    out.push(ipFrame(mac, CLIENT_MAC, { src: CLIENT_IP, dst: DECOY_IP, proto, id, mf: off + size < datagram.length, fragOffset: off, payload: Buffer.from(part) }));
  }
  return out;
}

/**
 * Check every fragment of one reply on its own (well-formed, within the MTU, one ID, DF clear,
 * offsets contiguous in 8-byte units, MF on all but the last) and return the reassembled payload.
 */
function reassemble(frames: ParsedFrame[], proto: number, decoyMac: string): Buffer {
  assert.ok(frames.length >= 2, `expected fragments, got ${frames.length} frame(s)`);
  const parts: Buffer[] = [];
  let next = 0;
  frames.forEach((f, i) => {
    const what = `fragment ${i + 1}/${frames.length}`;
    assert.deepEqual(f.problems, [], what);
    assert.ok(f.length <= 1514, `${what}: ${f.length}-byte frame above the MTU`);
    const ip = f.ip;
    assert.ok(ip !== undefined, what);
    assert.equal(f.src, decoyMac, what);
    assert.equal(f.dst, CLIENT_MAC, what);
    assert.equal(ip.src, DECOY_IP, what);
    assert.equal(ip.dst, CLIENT_IP, what);
    assert.equal(ip.proto, proto, what);
    assert.equal(ip.headerChecksumOk, true, what);
    assert.ok(ip.totalLength <= 1500, what);
    assert.equal(ip.id, frames[0].ip?.id, `${what}: same IP ID`);
    assert.equal(ip.ttl, frames[0].ip?.ttl, `${what}: same TTL`);
    assert.equal(ip.df, false, `${what}: DF clear on fragments`);
    assert.equal(ip.fragOffset, next, `${what}: contiguous offset`);
    const last = i === frames.length - 1;
    assert.equal(ip.mf, !last, `${what}: MF`);
    if (!last) assert.equal(ip.payload.length % 8, 0, `${what}: non-final length is a multiple of 8`);
    parts.push(ip.payload);
    next += ip.payload.length;
  });
  return Buffer.concat(parts);
}

test('a 3000-byte echo request in 3 fragments gets a reply whose fragments reassemble to the exact echo', () => {
  const h = new Harness();
  h.take();
  const mac = h.macOf(DECOY_IP);
  const data = Buffer.alloc(3000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 3) & 0xff;
  const request = icmpMessage(8, 0, (0x4242 << 16) | 17, data); // ping -s 3000: 3008 bytes of ICMP
  const frags = fragmentsOf(mac, 1, 0x7777, request, 1480);
  assert.equal(frags.length, 3);
  for (const f of [frags[2], frags[0], frags[1]]) h.feed(f);
  const reply = reassemble(h.take(), 1, mac);
  assert.equal(reply.length, request.length);
  assert.equal(reply[0], 0, 'echo reply');
  assert.equal(reply[1], 0, 'code');
  assert.equal(checksum16(reply), 0, 'ICMP checksum over the whole reply');
  assert.deepEqual(reply.subarray(4), request.subarray(4), 'identifier, sequence and all 3000 data bytes echoed');
  const icmp = h.eventsOf('icmp');
  assert.equal((icmp.at(-1) as { answer: string }).answer, 'echo-reply');
});

test('the MTU boundary: a 1500-byte reply is one frame, a 1501-byte one two fragments (1480 + 1)', () => {
  const h = new Harness();
  h.take();
  const mac = h.macOf(DECOY_IP);
  const fits = icmpMessage(8, 0, 1, Buffer.alloc(1472, 0xab)); // 20 + 8 + 1472 = 1500
  for (const f of fragmentsOf(mac, 1, 1, fits, 1480)) h.feed(f);
  const one = h.take();
  assert.equal(one.length, 1);
  assert.equal(one[0].length, 1514);
  assert.equal(one[0].ip?.mf, false);
  assert.equal(one[0].ip?.fragOffset, 0);
  assert.equal(one[0].icmp?.checksumOk, true);

  const over = icmpMessage(8, 0, 2, Buffer.alloc(1473, 0xcd));
  for (const f of fragmentsOf(mac, 1, 2, over, 1480)) h.feed(f);
  const two = h.take();
  assert.deepEqual(two.map((f) => f.ip?.payload.length), [1480, 1]);
  assert.equal(two[1].length, 60, 'a tiny last fragment is padded to the Ethernet minimum');
  const reply = reassemble(two, 1, mac);
  assert.deepEqual(reply.subarray(4), over.subarray(4));
});

test('a UDP service reply above the MTU leaves as fragments (DF cleared), a small one keeps DF', () => {
  const h = new Harness();
  h.take();
  const mac = h.macOf(DECOY_IP);
  const payload = Buffer.alloc(4000);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 13) & 0xff;
  const udp = udpDatagram(CLIENT_IP, DECOY_IP, 5353, 7, payload);
  for (const f of fragmentsOf(mac, 17, 0x1234, udp, 1480)) h.feed(f);
  const reply = reassemble(h.take(), 17, mac);
  assert.equal(reply.length, 8 + payload.length);
  assert.equal(reply.readUInt16BE(0), 7);
  assert.equal(reply.readUInt16BE(2), 5353);
  assert.equal(reply.readUInt16BE(4), reply.length);
  assert.equal(transportChecksum(DECOY_IP, CLIENT_IP, 17, reply), 0, 'UDP checksum over the whole datagram');
  assert.deepEqual(reply.subarray(8), payload);

  // The Linux-like personality sends service datagrams with DF: unfragmented replies keep it.
  h.feed(ipFrame(mac, CLIENT_MAC, { src: CLIENT_IP, dst: DECOY_IP, proto: 17, payload: udpDatagram(CLIENT_IP, DECOY_IP, 5353, 7, Buffer.from('small')) }));
  const small = h.take();
  assert.equal(small.length, 1);
  assert.equal(small[0].ip?.df, true);
  assert.equal(small[0].udp?.payload.toString(), 'small');
});

test('Ipv4Fragmenter: a 65535-byte datagram in 45 fragments from one reused buffer', () => {
  const frame = Buffer.alloc(14 + 65535);
  frame.writeUInt16BE(0x0800, 12);
  frame[14] = 0x45;
  frame.writeUInt16BE(65535, 16);
  frame.writeUInt16BE(0xbeef, 18);
  frame[14 + 6] = 0x40; // DF in the original: fragments must clear it
  frame[14 + 8] = 64;
  frame[14 + 9] = 17;
  for (let i = 34; i < frame.length; i++) frame[i] = i & 0xff;
  const buffers = new Set<Buffer>();
  const copies: Buffer[] = [];
  const fragmenter = new Ipv4Fragmenter(1500, (b, len) => { buffers.add(b); copies.push(Buffer.from(b.subarray(0, len))); });
  assert.equal(fragmenter.sendFragments(frame, frame.length), 45);
  assert.equal(buffers.size, 1, 'one preallocated buffer for every fragment');
  let off = 0;
  const data: Buffer[] = [];
  copies.forEach((c, i) => {
    const ip = c.subarray(14);
    const total = ip.readUInt16BE(2);
    assert.equal(checksum16(ip.subarray(0, 20)), 0, `fragment ${i} header checksum`);
    assert.equal(ip.readUInt16BE(4), 0xbeef);
    const field = ip.readUInt16BE(6);
    assert.equal(field & 0x4000, 0, 'DF clear');
    assert.equal((field & 0x1fff) * 8, off);
    assert.equal((field & 0x2000) !== 0, i < 44, 'MF');
    data.push(ip.subarray(20, total));
    off += total - 20;
  });
  assert.equal(off, 65515);
  assert.deepEqual(Buffer.concat(data), frame.subarray(34));
});
