/** Neighbour unreachability detection as the lab kernel showed it: a unicast ARP probe 5 s after using a stale peer. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAMILY_BEHAVIOURS } from '../../daemon/src/personality/behaviour/tables';
import type { FamilyId } from '../../daemon/src/personality/behaviour/types';
import type { HostPersonality } from '../../daemon/src/personality/host-personality';
import { LinuxLikePersonality } from '../../daemon/src/personality/linux-like-personality';
import { arpFrame, icmpFrame, icmpMessage, type ParsedFrame } from '../helpers/frames';
import { CLIENT_IP, CLIENT_MAC, DECOY_IP, Harness } from './stack-harness';

function withFamily(family: FamilyId): (seed: number) => HostPersonality {
  return (seed) => {
    const p = new LinuxLikePersonality(seed, 86400, 0);
    Object.defineProperty(p, 'behaviour', { value: FAMILY_BEHAVIOURS[family] });
    return p;
  };
}

const probes = (frames: ParsedFrame[]): ParsedFrame[] => frames.filter((f) => f.arp?.op === 1);

/** A peer ARPs for the decoy, then pings it once; returns the harness and the decoy MAC. */
function pinged(family: FamilyId): { h: Harness; mac: string } {
  const h = new Harness({ personality: withFamily(family) });
  const mac = h.macOf(DECOY_IP);
  h.advance(3000); // past the start-up announcements
  h.take();
  h.feed(arpFrame({ op: 1, sha: CLIENT_MAC, spa: CLIENT_IP, tpa: DECOY_IP }));
  h.feed(icmpFrame(mac, CLIENT_MAC, CLIENT_IP, DECOY_IP, icmpMessage(8, 0, 0x01020001, Buffer.alloc(8))));
  assert.equal(h.take().length, 2, 'ARP reply and echo reply');
  return { h, mac };
}

test('Linux: 5 s after replying to a peer learnt from its ARP request, a unicast probe; three a second apart if unanswered, then silence', () => {
  const { h, mac } = pinged('linux');
  h.advance(4900);
  assert.equal(h.take().length, 0, 'nothing before delay_first_probe_time');
  h.advance(200);
  let out = probes(h.take());
  assert.equal(out.length, 1);
  assert.equal(out[0].dst, CLIENT_MAC, 'unicast to the cached MAC');
  assert.deepEqual(out[0].arp, { htype: 1, ptype: 0x0800, op: 1, sha: mac, spa: DECOY_IP, tha: '00:00:00:00:00:00', tpa: CLIENT_IP });
  h.advance(1000);
  assert.equal(probes(h.take()).length, 1, 'second probe');
  h.advance(1000);
  assert.equal(probes(h.take()).length, 1, 'third probe');
  h.advance(5000);
  assert.equal(h.take().length, 0, 'then the entry fails and nothing more is sent');
});

test('Linux: a peer that answers the probe is reachable and not asked again until the entry goes stale and is used', () => {
  const { h, mac } = pinged('linux');
  h.advance(5100);
  assert.equal(probes(h.take()).length, 1);
  h.feed(arpFrame({ op: 2, sha: CLIENT_MAC, spa: CLIENT_IP, tha: mac, tpa: DECOY_IP, ethDst: mac }));
  h.advance(10_000);
  assert.equal(h.take().length, 0, 'confirmed: no more probes');
});

test('families without neighbour re-probing (FreeBSD, Cisco IOS, embedded) never ARP for the peer', () => {
  for (const family of ['freebsd', 'cisco-ios', 'embedded'] as FamilyId[]) {
    const { h } = pinged(family);
    h.advance(12_000);
    assert.equal(probes(h.take()).length, 0, family);
  }
});
