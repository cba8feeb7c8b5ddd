/** ARP through Engine.handleFrame: answering, ignoring junk, RFC 5227 probing, dynamic claims, release. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arpFrame, BROADCAST_MAC, ipFrame, icmpMessage, type ParsedFrame } from '../helpers/frames';
import { FAMILY_BEHAVIOURS } from '../../daemon/src/personality/behaviour/tables';
import type { FamilyId } from '../../daemon/src/personality/behaviour/types';
import type { HostPersonality } from '../../daemon/src/personality/host-personality';
import { LinuxLikePersonality } from '../../daemon/src/personality/linux-like-personality';
import { CLAIM_RANGE, CLIENT_IP, CLIENT_MAC, DECOY_IP, DECOY2_IP, Harness, linuxTemplate } from './stack-harness';

const OTHER_MAC = '02:00:5e:00:00:77';

/** ARP replies among sent frames (claim candidates also send RFC 5227 probes, which are requests). */
function replies(frames: ParsedFrame[]): ParsedFrame[] {
  return frames.filter((f) => f.arp?.op === 2);
}

function whoHas(tpa: string, spa = CLIENT_IP, sha = CLIENT_MAC, extra: Partial<Parameters<typeof arpFrame>[0]> = {}): Buffer {
  return arpFrame({ op: 1, sha, spa, tpa, ...extra });
}

test('ARP request for a bound host gets one unicast reply from the host MAC (built by assemble)', () => {
  const h = new Harness({ viaAssemble: true });
  const mac = h.macOf(DECOY_IP);
  h.take(); // announcements
  h.feed(whoHas(DECOY_IP));
  const out = h.take();
  assert.equal(out.length, 1);
  const r = out[0];
  assert.deepEqual(r.problems, []);
  assert.equal(r.dst, CLIENT_MAC);
  assert.equal(r.src, mac);
  assert.equal(r.etherType, 0x0806);
  assert.equal(r.length, 60);
  assert.deepEqual(r.arp, { htype: 1, ptype: 0x0800, op: 2, sha: mac, spa: DECOY_IP, tha: CLIENT_MAC, tpa: CLIENT_IP });
  assert.equal(h.eventsOf('arp.reply').length, 1);
});

test('ARP requests that a real Linux ignores get no reply from a Linux decoy', () => {
  const h = new Harness();
  h.take();
  const junk: Array<[string, Buffer]> = [
    ['hardware type 255', whoHas(DECOY_IP, CLIENT_IP, CLIENT_MAC, { htype: 255 })],
    ['protocol 0xffff', whoHas(DECOY_IP, CLIENT_IP, CLIENT_MAC, { ptype: 0xffff })],
    ['hardware length 8', whoHas(DECOY_IP, CLIENT_IP, CLIENT_MAC, { hlen: 8 })],
    ['protocol length 6', whoHas(DECOY_IP, CLIENT_IP, CLIENT_MAC, { plen: 6 })],
    ['opcode 3', arpFrame({ op: 3, sha: CLIENT_MAC, spa: CLIENT_IP, tpa: DECOY_IP })],
    ['sender 255.255.255.255', whoHas(DECOY_IP, '255.255.255.255')],
    ['sender 127.0.0.1', whoHas(DECOY_IP, '127.0.0.1')],
    ['sender 127.9.9.9', whoHas(DECOY_IP, '127.9.9.9')],
    ['sender 224.0.0.1', whoHas(DECOY_IP, '224.0.0.1')],
    // Linux answers these (lab), decoyd never sends to a group address.
    ['multicast sender MAC', whoHas(DECOY_IP, CLIENT_IP, '01:00:5e:00:00:01', { ethSrc: CLIENT_MAC })],
    ['broadcast sender MAC', whoHas(DECOY_IP, CLIENT_IP, BROADCAST_MAC, { ethSrc: CLIENT_MAC })],
    ['unicast to another host', whoHas(DECOY_IP, CLIENT_IP, CLIENT_MAC, { ethDst: OTHER_MAC })],
    ['truncated (27 bytes of ARP, no padding)', whoHas(DECOY_IP, CLIENT_IP, CLIENT_MAC, { pad: false }).subarray(0, 41)],
    ['target not a decoy', whoHas('198.51.100.50')],
    ['target is a loopback address', whoHas('127.0.0.1')],
  ];
  for (const [what, frame] of junk) {
    h.feed(frame);
    assert.equal(h.take().length, 0, what);
  }
  // And the decoy is still there: a proper request is answered.
  h.feed(whoHas(DECOY_IP));
  assert.equal(h.take().length, 1);
  // A unicast request to the decoy's own MAC (cache refresh) is answered too.
  h.feed(whoHas(DECOY_IP, CLIENT_IP, CLIENT_MAC, { ethDst: h.macOf(DECOY_IP) }));
  assert.equal(h.take().length, 1);
});

test('static binding with probing: probes, announcements, readiness, then answers', () => {
  const h = new Harness({ claim: { probeBeforeBind: true, probeWaitMs: 600 } });
  const mac = h.staticMacOf(DECOY_IP);
  let out = h.take();
  assert.equal(out.length, 1);
  assert.equal(out[0].dst, BROADCAST_MAC);
  assert.deepEqual(out[0].arp, { htype: 1, ptype: 0x0800, op: 1, sha: mac, spa: '0.0.0.0', tha: '00:00:00:00:00:00', tpa: DECOY_IP });
  assert.equal(h.ready, 0);
  h.feed(whoHas(DECOY_IP));
  assert.equal(h.take().length, 0, 'no answers while probing');
  h.advance(300);
  out = h.take();
  assert.equal(out.length, 1, 'second probe');
  assert.equal(out[0].arp?.spa, '0.0.0.0');
  h.advance(300);
  out = h.take();
  assert.equal(out.length, 1, 'announcement');
  assert.deepEqual(out[0].arp, { htype: 1, ptype: 0x0800, op: 1, sha: mac, spa: DECOY_IP, tha: '00:00:00:00:00:00', tpa: DECOY_IP });
  assert.equal(h.ready, 1);
  h.advance(2000);
  assert.equal(h.take().length, 1, 'second announcement');
  h.advance(10000);
  assert.equal(h.take().length, 0, 'only two announcements');
  h.feed(whoHas(DECOY_IP));
  assert.equal(h.take()[0].arp?.op, 2);
  // Our own announcement seen again by the capture must not look like another owner.
  h.feed(arpFrame({ op: 1, sha: mac, spa: DECOY_IP, tpa: DECOY_IP }));
  assert.equal(h.eventsOf('arp.release').length, 0);
});

test('static binding probe conflict: a reply from the real owner refuses the binding', () => {
  const h = new Harness({ claim: { probeBeforeBind: true, probeWaitMs: 600 } });
  const mac = h.staticMacOf(DECOY_IP);
  h.take();
  // The real owner answers our probe.
  h.feed(arpFrame({ op: 2, sha: OTHER_MAC, spa: DECOY_IP, tha: mac, tpa: '0.0.0.0' }));
  const conflicts = h.eventsOf('arp.conflict');
  assert.equal(conflicts.length, 1);
  h.advance(5000);
  assert.equal(h.ready, 1, 'a refused binding no longer holds up readiness');
  const sent = h.take();
  assert.equal(sent.filter((f) => f.arp?.spa === DECOY_IP).length, 0, 'never announced');
  h.feed(whoHas(DECOY_IP));
  assert.equal(h.take().length, 0, 'refused address is not answered');
  assert.equal(h.parts.table.get(h.parts.staticHosts[0].ip), undefined);
});

test('static binding probe conflict: another host probing the same address also refuses it', () => {
  const h = new Harness({ claim: { probeBeforeBind: true, probeWaitMs: 600 } });
  h.take();
  h.feed(arpFrame({ op: 1, sha: OTHER_MAC, spa: '0.0.0.0', tpa: DECOY_IP }));
  assert.equal(h.eventsOf('arp.conflict').length, 1);
  h.advance(2000);
  h.feed(whoHas(DECOY_IP));
  assert.equal(h.take().filter((f) => f.arp?.op === 2).length, 0);
});

test('dynamic claim after `tries` unanswered requests within the window, at a Linux client cadence', () => {
  const h = new Harness({ hosts: [], claims: [{ range: CLAIM_RANGE, template: 'linux' }], claim: { tries: 3, windowMs: 2500 } });
  const target = '198.51.100.200';
  h.feed(whoHas(target));
  // Below `tries`, each request only makes the candidate probe (sender 0.0.0.0) from its future MAC.
  const probe = h.take();
  assert.equal(probe.length, 1);
  assert.equal(probe[0].dst, BROADCAST_MAC);
  assert.equal(probe[0].arp?.op, 1);
  assert.equal(probe[0].arp?.spa, '0.0.0.0');
  assert.equal(probe[0].arp?.tpa, target);
  const candidateMac = probe[0].src;
  h.advance(1000);
  h.feed(whoHas(target));
  assert.equal(replies(h.take()).length, 0);
  h.advance(1000);
  h.feed(whoHas(target));
  const out = replies(h.take());
  assert.equal(out.length, 1, 'third request is answered');
  assert.equal(out[0].arp?.spa, target);
  assert.equal(out[0].arp?.sha, candidateMac);
  assert.equal(out[0].dst, CLIENT_MAC);
  const claims = h.eventsOf('arp.claim');
  assert.equal(claims.length, 1);
  h.feed(whoHas(target));
  assert.equal(h.take().length, 1, 'answered at once from now on');
  // Addresses outside the range are never claimed (nor probed).
  for (let i = 0; i < 5; i++) h.feed(whoHas('198.51.100.100'));
  assert.equal(h.take().length, 0);
});

test('no dynamic claim when requests are spread wider than the window', () => {
  const h = new Harness({ hosts: [], claims: [{ range: CLAIM_RANGE, template: 'linux' }], claim: { tries: 3, windowMs: 2500 } });
  for (let i = 0; i < 3; i++) {
    h.feed(whoHas('198.51.100.201'));
    h.advance(2000);
  }
  assert.equal(replies(h.take()).length, 0);
  assert.equal(h.eventsOf('arp.claim').length, 0);
});

test('no dynamic claim for an address whose real owner answered or was seen sending', () => {
  const h = new Harness({ hosts: [], claims: [{ range: CLAIM_RANGE, template: 'linux' }], claim: { tries: 3, windowMs: 2500 } });
  const owned = '198.51.100.210';
  h.feed(whoHas(owned));
  h.feed(arpFrame({ op: 2, sha: OTHER_MAC, spa: owned, tha: CLIENT_MAC, tpa: CLIENT_IP }));
  for (let i = 0; i < 6; i++) { h.advance(500); h.feed(whoHas(owned)); }
  assert.equal(replies(h.take()).length, 0);
  // The owner answers our probe (unicast to the candidate MAC), as it does when a switch hides its replies.
  const probed = '198.51.100.212';
  h.feed(whoHas(probed));
  const probe = h.take();
  assert.equal(probe.length, 1);
  h.feed(arpFrame({ op: 2, sha: OTHER_MAC, spa: probed, tha: probe[0].src, tpa: '0.0.0.0' }));
  for (let i = 0; i < 6; i++) { h.advance(300); h.feed(whoHas(probed)); }
  assert.equal(h.take().length, 0, 'neither answered nor probed again');
  // Evidence from IPv4 traffic: the owner sends a ping from that address.
  const active = '198.51.100.211';
  h.feed(ipFrame(CLIENT_MAC, OTHER_MAC, { src: active, dst: CLIENT_IP, proto: 1, payload: icmpMessage(8, 0, 1, Buffer.from('x')) }));
  for (let i = 0; i < 6; i++) { h.advance(300); h.feed(whoHas(active)); }
  assert.equal(h.take().length, 0);
  assert.equal(h.eventsOf('arp.claim').length, 0);
});

test('a decoy address is released the moment another MAC announces it (gratuitous ARP)', () => {
  const h = new Harness({
    hosts: [{ address: DECOY_IP, template: 'linux' }, { address: DECOY2_IP, template: 'linux' }],
    claims: [{ range: CLAIM_RANGE, template: 'linux' }],
  });
  h.take();
  h.feed(arpFrame({ op: 1, sha: OTHER_MAC, spa: DECOY_IP, tpa: DECOY_IP }));
  const rel = h.eventsOf('arp.release');
  assert.equal(rel.length, 1);
  assert.equal((rel[0] as { address: string }).address, DECOY_IP);
  assert.equal(h.take().length, 0, 'no reply to the announcement');
  h.feed(whoHas(DECOY_IP));
  assert.equal(h.take().length, 0, 'released address is silent');
  h.feed(whoHas(DECOY2_IP));
  assert.equal(h.take().length, 1, 'the other decoy is unaffected');

  // A claimed address yields too, also to a gratuitous ARP reply.
  const claimed = '198.51.100.220';
  for (let i = 0; i < 3; i++) h.feed(whoHas(claimed));
  assert.equal(replies(h.take()).length, 1);
  h.feed(arpFrame({ op: 2, sha: OTHER_MAC, spa: claimed, tpa: claimed, ethDst: BROADCAST_MAC }));
  assert.equal(h.eventsOf('arp.release').length, 2);
  for (let i = 0; i < 5; i++) h.feed(whoHas(claimed));
  assert.equal(h.take().length, 0, 'not claimed again while the owner is remembered');
});

test('templates still answer ARP when ICMP is blocked (ARP is not filtered by port rules)', () => {
  const h = new Harness({ templates: [linuxTemplate('quiet', 'block')] });
  h.take();
  h.feed(whoHas(DECOY_IP));
  assert.equal(h.take().length, 1);
});

/** A Linux-like host whose ARP behaviour is another family's (the table is all that differs). */
function withFamily(family: FamilyId): (seed: number) => HostPersonality {
  return (seed) => {
    const p = new LinuxLikePersonality(seed, 86400, 0);
    Object.defineProperty(p, 'behaviour', { value: FAMILY_BEHAVIOURS[family] });
    return p;
  };
}

/** The arp-fingerprint probes (royhills/arp-scan) plus a few more, keyed as the tables name them. */
function oddities(decoyMac: string): Array<[string, Buffer]> {
  return [
    ['sender 127.0.0.1', whoHas(DECOY_IP, '127.0.0.1')],
    ['sender 0.0.0.0', whoHas(DECOY_IP, '0.0.0.0')],
    ['sender 255.255.255.255', whoHas(DECOY_IP, '255.255.255.255')],
    ['sender off-subnet', whoHas(DECOY_IP, '1.0.0.1')],
    ['hardware type 6', whoHas(DECOY_IP, CLIENT_IP, CLIENT_MAC, { htype: 6 })],
    ['hardware type 255', whoHas(DECOY_IP, CLIENT_IP, CLIENT_MAC, { htype: 255 })],
    ['protocol length 6', whoHas(DECOY_IP, CLIENT_IP, CLIENT_MAC, { plen: 6 })],
    ['hardware length 8', whoHas(DECOY_IP, CLIENT_IP, CLIENT_MAC, { hlen: 8 })],
    ['sender 240.0.0.1', whoHas(DECOY_IP, '240.0.0.1')],
    ['multicast sender MAC', whoHas(DECOY_IP, CLIENT_IP, '01:00:5e:00:00:01', { ethSrc: CLIENT_MAC })],
    ['unicast to our MAC', whoHas(DECOY_IP, CLIENT_IP, CLIENT_MAC, { ethDst: decoyMac })],
  ];
}

/**
 * Expected answers per family, in `oddities` order (1 = answered), from the tables' sources; the
 * multicast sender MAC is never answered whatever the table says (decoyd does not send to groups).
 */
const EXPECTED: Partial<Record<FamilyId, string>> = {
  'linux': '01011000101',
  'windows-xp': '11111000001',
  'windows-10': '01011000001',
  'freebsd': '11111000101',
  'darwin': '11110000101',
  'openbsd': '11110011101',
  'netbsd': '10111100101',
  'solaris': '11111100001',
  'cisco-ios': '00001000001',
  'embedded': '11110000101',
};

test('each family answers the ARP oddities as its table says', () => {
  for (const [family, want] of Object.entries(EXPECTED) as Array<[FamilyId, string]>) {
    const h = new Harness({ personality: withFamily(family) });
    h.take();
    const got = oddities(h.macOf(DECOY_IP)).map(([, frame]) => {
      h.feed(frame);
      return replies(h.take()).length > 0 ? '1' : '0';
    }).join('');
    assert.equal(got, want, family);
  }
});

test('a DAD probe for a static decoy gets the RFC 5227 answer (target IP 0.0.0.0) where the family gives one', () => {
  const h = new Harness({ personality: withFamily('linux') });
  const mac = h.macOf(DECOY_IP);
  h.take();
  h.feed(whoHas(DECOY_IP, '0.0.0.0'));
  const out = replies(h.take());
  assert.equal(out.length, 1);
  assert.equal(out[0].dst, CLIENT_MAC);
  assert.deepEqual(out[0].arp, { htype: 1, ptype: 0x0800, op: 2, sha: mac, spa: DECOY_IP, tha: CLIENT_MAC, tpa: '0.0.0.0' });
  // The decoy keeps the address: it is still answered afterwards.
  h.feed(whoHas(DECOY_IP));
  assert.equal(replies(h.take()).length, 1);
});

test('FreeBSD answers hardware type 6 with hardware type 6 (the request turned round); Linux with 1', () => {
  for (const [family, htype] of [['freebsd', 6], ['linux', 1]] as Array<[FamilyId, number]>) {
    const h = new Harness({ personality: withFamily(family) });
    h.take();
    h.feed(whoHas(DECOY_IP, CLIENT_IP, CLIENT_MAC, { htype: 6 }));
    const out = replies(h.take());
    assert.equal(out.length, 1, family);
    assert.equal(out[0].arp?.htype, htype, family);
  }
});

test('odd ARP is answered but never believed: a probe with a multicast sender MAC does not release a claimed address', () => {
  const h = new Harness({ personality: withFamily('linux') });
  h.take();
  // A well-formed request from 127.0.0.1 or with hardware type 6 must not mark owners either.
  h.feed(whoHas(DECOY_IP, '127.0.0.1', OTHER_MAC, { ethSrc: OTHER_MAC }));
  h.feed(whoHas(DECOY2_IP, DECOY_IP, OTHER_MAC, { ethSrc: OTHER_MAC, htype: 6 }));
  assert.equal(h.eventsOf('arp.release').length, 0);
  h.take();
  h.feed(whoHas(DECOY_IP));
  assert.equal(replies(h.take()).length, 1);
});
