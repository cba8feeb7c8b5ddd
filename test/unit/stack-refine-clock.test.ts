/** The UDP path takes time only from the engine's injected clock, never from the wall clock. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IpIdKind } from '../../daemon/src/personality/host-personality';
import { LinuxLikePersonality } from '../../daemon/src/personality/linux-like-personality';
import { udpFrame } from '../helpers/frames';
import { CLIENT_IP, CLIENT_MAC, DECOY_IP, Harness, T0 } from './stack-harness';

/** The Linux-like personality, recording the time of every IP ID it hands out. */
class ClockSpyPersonality extends LinuxLikePersonality {
  readonly ipIdTimes: Array<{ kind: IpIdKind; timeMs: number }> = [];
  override nextIpId(kind: IpIdKind, timeMs: number): number {
    this.ipIdTimes.push({ kind, timeMs });
    return super.nextIpId(kind, timeMs);
  }
}

test('a UDP service reply draws its IP ID at the engine clock time', () => {
  const spies: ClockSpyPersonality[] = [];
  const h = new Harness({ personality: (seed) => { const p = new ClockSpyPersonality(seed, 86400, T0); spies.push(p); return p; } });
  h.take();
  const mac = h.macOf(DECOY_IP);
  for (const offset of [12_345, 98_765]) {
    h.now = T0 + offset;
    h.feed(udpFrame(mac, CLIENT_MAC, CLIENT_IP, DECOY_IP, 5000, 7, Buffer.from('what time is it')));
    const out = h.take();
    assert.equal(out.length, 1);
    assert.equal(out[0].udp?.payload.toString(), 'what time is it');
    assert.equal(spies.length, 1);
    const last = spies[0].ipIdTimes.at(-1);
    assert.deepEqual(last, { kind: 'udp', timeMs: T0 + offset }, 'the harness clock, not Date.now()');
    assert.equal(out[0].ip?.id, (spies[0].nextIpId('udp', h.now) - 1) & 0xffff, 'the reply carries that IP ID');
  }
});
