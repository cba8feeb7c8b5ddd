/** ICMP beyond echo, per family: timestamp replies, reflected IP options, mask/info/unknown types, host-wide error limits. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAMILY_BEHAVIOURS } from '../../daemon/src/personality/behaviour/tables';
import type { FamilyId } from '../../daemon/src/personality/behaviour/types';
import type { HostPersonality } from '../../daemon/src/personality/host-personality';
import { LinuxLikePersonality } from '../../daemon/src/personality/linux-like-personality';
import { reflectEchoOptions } from '../../daemon/src/stack/ip-options';
import { icmpFrame, icmpMessage, ipNum, udpFrame } from '../helpers/frames';
import { CLIENT_IP, CLIENT_MAC, DECOY_IP, Harness, T0 } from './stack-harness';

function withFamily(family: FamilyId): (seed: number) => HostPersonality {
  return (seed) => {
    const p = new LinuxLikePersonality(seed, 86400, 0);
    Object.defineProperty(p, 'behaviour', { value: FAMILY_BEHAVIOURS[family] });
    Object.defineProperty(p, 'icmpErrorLimit', { value: FAMILY_BEHAVIOURS[family].icmp.errorLimit });
    return p;
  };
}

const MS_OF_DAY = T0 % 86_400_000;

test('reflected options match what the lab kernel sent back (record route, tsonly, tsandaddr)', () => {
  const own = ipNum('198.51.100.60');
  const out = Buffer.alloc(40);
  // Lab, Linux 6.18: an empty 9-slot RR came back with our address twice and pointer 12.
  const rr = Buffer.alloc(40); rr[0] = 7; rr[1] = 39; rr[2] = 4;
  let n = reflectEchoOptions(rr, 0, 40, own, 0, 2, out);
  assert.equal(out.subarray(0, n).toString('hex'), '07270cc633643cc633643c' + '00'.repeat(29));
  // tsonly with pointer 5: two timestamps, pointer 13.
  const ts = Buffer.alloc(40); ts[0] = 0x44; ts[1] = 40; ts[2] = 5;
  n = reflectEchoOptions(ts, 0, 40, own, 0x04fee326, 2, out);
  assert.equal(out.subarray(0, 16).toString('hex'), '44280d0004fee32604fee32600000000');
  assert.equal(n, 40);
  // tsandaddr: two (address, time) pairs, pointer 21.
  const ta = Buffer.alloc(36); ta[0] = 0x44; ta[1] = 36; ta[2] = 5; ta[3] = 1;
  n = reflectEchoOptions(ta, 0, 36, own, 0x04fee553, 2, out);
  assert.equal(out.subarray(0, 20).toString('hex'), '44241501c633643c04fee553c633643c04fee553');
  // BSD stamps once; a full option only counts an overflow; other options are not reflected.
  n = reflectEchoOptions(rr, 0, 40, own, 0, 1, out);
  assert.equal(out[2], 8);
  const full = Buffer.from([0x44, 12, 13, 0x00, 1, 2, 3, 4, 5, 6, 7, 8]);
  reflectEchoOptions(full, 0, 12, own, 0, 2, out);
  assert.equal(out[3], 0x20);
  assert.equal(reflectEchoOptions(Buffer.from([0x82, 4, 0, 0]), 0, 4, own, 0, 2, out), 0);
});

test('a Linux decoy answers ICMP timestamp requests like the kernel; Windows and macOS do not', () => {
  for (const [family, answers] of [['linux', true], ['windows-10', false], ['darwin', false], ['freebsd', true], ['cisco-ios', true]] as Array<[FamilyId, boolean]>) {
    const h = new Harness({ personality: withFamily(family) });
    const mac = h.macOf(DECOY_IP);
    h.take();
    const req = icmpMessage(13, 0, 0x12340001, Buffer.from('0000abcd0000000000000000ffffffff', 'hex'));
    h.feed(icmpFrame(mac, CLIENT_MAC, CLIENT_IP, DECOY_IP, req));
    const out = h.take();
    if (!answers) {
      assert.equal(out.length, 0, family);
      continue;
    }
    assert.equal(out.length, 1, family);
    const r = out[0];
    assert.deepEqual(r.problems, []);
    assert.equal(r.icmp?.type, 14);
    assert.equal(r.icmp?.rest, 0x12340001);
    assert.equal(r.ip?.totalLength, 40, 'a 20-byte reply, extra data dropped');
    assert.equal(r.icmp?.data.readUInt32BE(0), 0xabcd, 'originate copied');
    assert.equal(r.icmp?.data.readUInt32BE(4), MS_OF_DAY);
    assert.equal(r.icmp?.data.readUInt32BE(8), MS_OF_DAY);
  }
});

test('address mask, information and unknown ICMP types get no answer from any family', () => {
  for (const family of Object.keys(FAMILY_BEHAVIOURS) as FamilyId[]) {
    const h = new Harness({ personality: withFamily(family) });
    const mac = h.macOf(DECOY_IP);
    h.take();
    for (const [type, data] of [[17, Buffer.alloc(4)], [15, Buffer.alloc(0)], [99, Buffer.alloc(8)], [13, Buffer.alloc(0)]] as Array<[number, Buffer]>) {
      h.feed(icmpFrame(mac, CLIENT_MAC, CLIENT_IP, DECOY_IP, icmpMessage(type, 0, 1, data)));
      assert.equal(h.take().length, 0, `${family} type ${type}`);
    }
  }
});

test('echo with record route: Linux stamps twice, BSD once, embedded strips the options', () => {
  const rr = Buffer.alloc(40); rr[0] = 7; rr[1] = 39; rr[2] = 4;
  for (const [family, pointer] of [['linux', 12], ['freebsd', 8], ['embedded', -1]] as Array<[FamilyId, number]>) {
    const h = new Harness({ personality: withFamily(family) });
    const mac = h.macOf(DECOY_IP);
    h.take();
    const echo = icmpMessage(8, 0, 0x55550001, Buffer.alloc(16, 0x61));
    h.feed(icmpFrame(mac, CLIENT_MAC, CLIENT_IP, DECOY_IP, echo, { options: rr }));
    const out = h.take();
    assert.equal(out.length, 1, family);
    const r = out[0];
    assert.deepEqual(r.problems, [], family);
    assert.equal(r.icmp?.type, 0);
    assert.deepEqual(r.icmp?.data, Buffer.alloc(16, 0x61));
    if (pointer < 0) {
      assert.equal(r.ip?.headerLength, 20, family);
    } else {
      assert.equal(r.ip?.headerLength, 60, family);
      assert.equal(r.ip?.options[2], pointer, family);
      assert.equal(r.ip?.options.readUInt32BE(3), ipNum(DECOY_IP));
    }
  }
});

test('ICMP error limits: Linux per peer (6 then 1/s), FreeBSD host-wide (200/s), Windows none', () => {
  const closedPorts = (family: FamilyId, peers: number, perPeer: number): number => {
    const h = new Harness({ personality: withFamily(family) });
    const mac = h.macOf(DECOY_IP);
    h.take();
    let n = 0;
    for (let p = 0; p < peers; p++) {
      const src = `198.51.100.${100 + p}`;
      for (let i = 0; i < perPeer; i++) {
        h.feed(udpFrame(mac, CLIENT_MAC, src, DECOY_IP, 40000 + i, 33000 + i, Buffer.from('x')));
        n += h.take().filter((f) => f.icmp?.type === 3).length;
      }
    }
    return n;
  };
  assert.equal(closedPorts('linux', 3, 10), 18);
  assert.equal(closedPorts('freebsd', 3, 100), 200);
  assert.equal(closedPorts('windows-10', 3, 100), 300);
  assert.equal(closedPorts('cisco-ios', 3, 10), 1);
});
