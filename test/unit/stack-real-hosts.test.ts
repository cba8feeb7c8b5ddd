/** `bind IP to IF`: the real-host table (ARP, peers, readdressing), the start checks, the capture filter. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RealHosts } from '../../daemon/src/stack/routing/real-hosts';
import { realHostProblems } from '../../daemon/src/daemon';
import { buildCaptureFilter } from '../../daemon/src/link/pcap-link';
import { configOf } from './config-test-support';
import { parseIp } from '../../daemon/src/wire/address';

const ENTRY = { mac: Buffer.from([0x02, 0, 0x5e, 0, 0, 1]), ip: parseIp('198.51.100.1') };
const REAL = parseIp('203.0.113.53');
const PEER = parseIp('198.51.100.2');

function frameFrom(srcMac: number[]): Buffer {
  const f = Buffer.alloc(60);
  Buffer.from(srcMac).copy(f, 6);
  return f;
}

test('real host: the first frame asks for its MAC (once a second) and is dropped; then frames go to its MAC from the entry', () => {
  const real = new RealHosts([REAL], 2);
  const sent: Buffer[] = [];
  const send = (f: Buffer, n: number): void => { sent.push(Buffer.from(f.subarray(0, n))); };
  const frame = frameFrom([0x02, 0, 0, 0, 0, 0x99]);
  assert.equal(real.toReal(REAL, frame, ENTRY, 1000, send), false);
  assert.equal(real.toReal(REAL, frame, ENTRY, 1500, send), false);
  assert.equal(sent.length, 1, 'one ARP request within a second');
  const arp = sent[0] as Buffer;
  assert.equal(arp.subarray(0, 6).toString('hex'), 'ffffffffffff');
  assert.equal(arp.readUInt16BE(12), 0x0806);
  assert.equal(arp.readUInt16BE(20), 1, 'who-has');
  assert.equal(arp.readUInt32BE(28), ENTRY.ip >>> 0);
  assert.equal(arp.readUInt32BE(38), REAL >>> 0);
  assert.equal(real.toReal(REAL, frame, ENTRY, 2100, send), false);
  assert.equal(sent.length, 2, 'asked again after a second');
  // Its ARP reply: sender MAC at 22.
  const reply = Buffer.alloc(60);
  Buffer.from([0x52, 0x54, 0, 1, 2, 3]).copy(reply, 22);
  real.learn(REAL, reply, 22);
  assert.equal(real.toReal(REAL, frame, ENTRY, 2200, send), true);
  assert.equal(frame.subarray(0, 6).toString('hex'), '525400010203');
  assert.equal(frame.subarray(6, 12).toString('hex'), ENTRY.mac.toString('hex'));
  assert.equal(real.toReal(parseIp('203.0.113.54'), frame, ENTRY, 2300, send), false, 'not a real host');
});

test('real host: peers are remembered from their frames, bounded, oldest forgotten first', () => {
  const real = new RealHosts([REAL], 2);
  real.notePeer(PEER, frameFrom([2, 0, 0, 0, 0, 1]));
  real.notePeer(PEER + 1, frameFrom([2, 0, 0, 0, 0, 2]));
  assert.equal(real.peerMac(PEER)?.toString('hex'), '020000000001');
  real.notePeer(PEER + 2, frameFrom([2, 0, 0, 0, 0, 3]));
  assert.equal(real.peerMac(PEER), null, 'the oldest is forgotten');
  assert.equal(real.peerMac(PEER + 2)?.toString('hex'), '020000000003');
  assert.equal(real.peerMac(parseIp('192.0.2.1')), null, 'a peer that never reached it');
});

test('real host: decoyd run checks the interface and the link network; the capture filter lets its frames in', () => {
  const cfg = configOf('x.conf', `route entry 198.51.100.1
route 198.51.100.1 add net 203.0.113.0/24 203.0.113.1
route 203.0.113.1 link 203.0.113.0/25
create r
bind 203.0.113.1 r
bind 203.0.113.60 r
bind 203.0.113.53 to eth0
bind 203.0.113.200 to eth0
bind 203.0.113.54 to eth1
`);
  // (A real host on a bound address is already a parse error: the template named by it exists.)
  assert.deepEqual(realHostProblems(cfg, 'eth0').map((p) => p.replace(/^.*x\.conf/, 'x.conf')), [
    'x.conf:8: the real host 203.0.113.200 lies in no `link` network of the virtual routers',
    'x.conf:9: the real host 203.0.113.54 is on eth1, but decoyd runs on eth0',
  ]);
  assert.match(buildCaptureFilter(['203.0.113.0/24'], [], ['203.0.113.53']), /\(ip and src host 203\.0\.113\.53\)/);
});
