/** Reassembly overlap policies and per-family timeouts (Novak & Sturges' overlap cases). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAMILY_BEHAVIOURS } from '../../daemon/src/personality/behaviour/tables';
import type { OverlapPolicy } from '../../daemon/src/personality/behaviour/types';
import { Reassembler } from '../../daemon/src/stack/reassembly';
import { Ipv4View } from '../../daemon/src/wire/ipv4';
import { ipFrame } from '../helpers/frames';

const MAC = '02:00:00:00:00:01';

function frag(offset: number, fill: string, len: number, mf: boolean): Buffer {
  return ipFrame(MAC, MAC, { src: '198.51.100.2', dst: '198.51.100.10', proto: 253, id: 77, fragOffset: offset, mf, payload: Buffer.alloc(len, fill) }, false);
}

/** Feed `frames` in order; the reassembled payload as text, or the drop reason. */
function run(policy: OverlapPolicy, frames: Buffer[]): string {
  const r = new Reassembler(16, 65535, 60000);
  const v = new Ipv4View();
  for (const f of frames) {
    v.wrap(f, 14, f.length - 14);
    const res = r.add(f, v, 0, policy);
    if (res.status === 'dropped') return `dropped:${res.reason}`;
    if (res.status === 'complete') {
      const w = new Ipv4View();
      w.wrap(res.frame, 14, res.length - 14);
      return res.frame.subarray(w.payloadOffset, w.payloadOffset + w.payloadLength).toString();
    }
  }
  return 'pending';
}

// A: 0-15 'A'; B: 8-23 'B' (overlaps A's tail); C: 16-31 'C' last (overlaps B's tail).
const CASE_TAIL = [frag(0, 'A', 16, true), frag(8, 'B', 16, true), frag(16, 'C', 16, false)];
// Then a fragment that starts before a queued one: D at 8 arrives first, then A at 0 covering it.
const CASE_HEAD = [frag(8, 'D', 8, true), frag(0, 'A', 24, true), frag(24, 'C', 8, false)];

test('each overlap policy keeps the bytes its stack keeps', () => {
  assert.equal(run('drop', CASE_TAIL), 'dropped:overlapping-fragment');
  assert.equal(run('first', CASE_TAIL), 'AAAAAAAAAAAAAAAABBBBBBBBCCCCCCCC');
  assert.equal(run('last', CASE_TAIL), 'AAAAAAAABBBBBBBBCCCCCCCCCCCCCCCC');
  assert.equal(run('bsd', CASE_TAIL), 'AAAAAAAAAAAAAAAABBBBBBBBCCCCCCCC');
  assert.equal(run('drop', CASE_HEAD), 'dropped:overlapping-fragment');
  assert.equal(run('first', CASE_HEAD), 'AAAAAAAADDDDDDDDAAAAAAAACCCCCCCC');
  assert.equal(run('last', CASE_HEAD), 'AAAAAAAAAAAAAAAAAAAAAAAACCCCCCCC');
  // BSD: A starts lower than the queued D, so A's bytes replace D's.
  assert.equal(run('bsd', CASE_HEAD), 'AAAAAAAAAAAAAAAAAAAAAAAACCCCCCCC');
  // No overlap: every policy gives the same datagram.
  for (const p of ['drop', 'first', 'last', 'bsd'] as OverlapPolicy[]) {
    assert.equal(run(p, [frag(16, 'C', 8, false), frag(0, 'A', 16, true)]), 'AAAAAAAAAAAAAAAACCCCCCCC', p);
  }
  // Linux: a fragment wholly inside queued bytes is a duplicate, dropped alone; the datagram completes.
  assert.equal(run('drop', [frag(0, 'A', 16, true), frag(0, 'A', 16, true), frag(16, 'C', 8, false)]), 'AAAAAAAAAAAAAAAACCCCCCCC');
  assert.equal(run('drop', [frag(0, 'A', 24, true), frag(8, 'B', 8, true), frag(24, 'C', 8, false)]), 'AAAAAAAAAAAAAAAAAAAAAAAACCCCCCCC');
  // A second last fragment with another end is corruption, even inside queued bytes.
  assert.equal(run('drop', [frag(0, 'A', 8, true), frag(16, 'C', 16, false), frag(16, 'C', 8, false)]), 'dropped:conflicting-last-fragment');
  // A hole stays pending under any policy.
  assert.equal(run('first', [frag(0, 'A', 8, true), frag(16, 'C', 8, false)]), 'pending');
});

test('partial datagrams expire after the family timeout, within the configured bound', () => {
  const r = new Reassembler(16, 65535, 45_000);
  const v = new Ipv4View();
  const f = frag(0, 'A', 8, true);
  v.wrap(f, 14, f.length - 14);
  r.add(f, v, 0, 'drop', FAMILY_BEHAVIOURS.linux.ipv4.reassemblyTimeoutMs);
  const g = ipFrame(MAC, MAC, { src: '198.51.100.3', dst: '198.51.100.10', proto: 253, id: 78, fragOffset: 0, mf: true, payload: Buffer.alloc(8) }, false);
  v.wrap(g, 14, g.length - 14);
  r.add(g, v, 0, 'first', FAMILY_BEHAVIOURS['windows-10'].ipv4.reassemblyTimeoutMs);
  assert.equal(r.expire(29_999), 0);
  assert.equal(r.expire(30_000), 1, 'Linux 30 s');
  assert.equal(r.expire(44_999), 0);
  assert.equal(r.expire(45_000), 1, "Windows' 60 s cut to the configured 45 s");
  assert.equal(r.size, 0);
});

test('a timed-out datagram hands back fragment 0 (header as received, its bytes) only when it came', () => {
  const r = new Reassembler(16, 65535, 60000);
  const v = new Ipv4View();
  const zero = frag(0, 'Z', 16, true);
  const middle = ipFrame(MAC, MAC, { src: '198.51.100.2', dst: '198.51.100.10', proto: 253, id: 78, fragOffset: 16, mf: true, payload: Buffer.alloc(8, 'M') }, false);
  for (const f of [zero, middle]) {
    v.wrap(f, 14, f.length - 14);
    assert.equal(r.add(f, v, 0, 'drop', 1000).status, 'pending');
  }
  const handed: Buffer[] = [];
  assert.equal(r.expire(999, (b) => handed.push(b)), 0, 'not before the timeout');
  assert.equal(r.expire(1000, (b) => handed.push(b)), 2);
  assert.equal(handed.length, 1, 'only the datagram whose fragment 0 came');
  assert.deepEqual(handed[0], zero);
  assert.equal(r.size, 0);
});

test('the families that answer a reassembly timeout with time exceeded', () => {
  const yes = Object.values(FAMILY_BEHAVIOURS).filter((b) => b.ipv4.timeExceededOnTimeout).map((b) => b.family).sort();
  assert.deepEqual(yes, ['embedded', 'linux', 'solaris', 'windows-10', 'windows-vista', 'windows-xp']);
});
