/**
 * ConnectionShape.tsOffset: hosts with a random TSval per connection (Nmap TS=21/22) keep each
 * connection on the sequence its SYN/ACK started; one-clock hosts need no offset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConnectionShape } from '../../daemon/src/personality/host-personality';
import { OsDbPersonality } from '../../daemon/src/personality/model/os-personality';
import { FREEBSD_12, LINUX_5_4, NMAP_OPTIONS, emptyReply, parseEntry, segment } from './model-fixtures';

const T0 = 1_700_000_000_000;
/** FreeBSD 12 with Nmap's TS=21: a random TSval per connection, 2^0x21 per second apart in a burst. */
export const FREEBSD_TS21 = FREEBSD_12.replace('TS=22', 'TS=21');

function synAckTsVal(options: Buffer, length: number): number {
  for (let i = 0; i < length;) {
    if (options[i] === 0) break;
    if (options[i] === 1) { i++; continue; }
    if (options[i] === 8) return options.readUInt32BE(i + 2);
    i += options[i + 1];
  }
  return -1;
}

function shape(): ConnectionShape {
  return { ttl: 0, df: false, window: 0, wscale: 0, mss: 0, timestamps: false, tsOffset: -1, ipIdNext: -1 };
}

test('TS=21: the connection shape continues the SYN/ACK TSval at the host clock rate', () => {
  assert.notEqual(FREEBSD_TS21, FREEBSD_12);
  for (const seed of [1, 2, 3, 77, 4096]) {
    const p = new OsDbPersonality(parseEntry(FREEBSD_TS21), { seed, startTimeMs: T0 });
    assert.equal(p.clock.cls.kind, 'per-connection');
    // Connections 2 s apart: each SYN/ACK draws a fresh random TSval.
    for (let c = 0; c < 3; c++) {
      const t = T0 + 2000 * c;
      const syn = segment(NMAP_OPTIONS.seq[0], { timeMs: t });
      const out = emptyReply();
      assert.equal(p.respondTcp(syn, 'open', out), true);
      const x = synAckTsVal(out.options, out.optionsLength);
      assert.ok(x > 0, 'SYN/ACK carries a TSval');
      const s = shape();
      p.connectionShape(syn, s);
      assert.equal(s.timestamps, true);
      assert.equal((p.tsVal(t) + s.tsOffset) >>> 0, x, `seed ${seed} conn ${c}: at the SYN/ACK instant the sequence is the SYN/ACK's`);
      const later = (p.tsVal(t + 250) + s.tsOffset) >>> 0;
      const delta = (later - x) >>> 0;
      assert.ok(delta >= 249 && delta <= 251, `seed ${seed} conn ${c}: 250 ms later the TSval moved ${delta}`);
    }
  }
});

test('one-clock hosts: no offset, and a shape not preceded by a SYN/ACK gets none either', () => {
  const linux = new OsDbPersonality(parseEntry(LINUX_5_4), { seed: 5, startTimeMs: T0 });
  const syn = segment(NMAP_OPTIONS.seq[0], { timeMs: T0 });
  const out = emptyReply();
  linux.respondTcp(syn, 'open', out);
  const s = shape();
  linux.connectionShape(syn, s);
  assert.equal(s.tsOffset, 0);
  assert.equal(linux.tsVal(T0), synAckTsVal(out.options, out.optionsLength), 'the SYN/ACK TSval is the host clock');

  // A per-connection host whose last reply was not a SYN/ACK (here an RST) has nothing to continue.
  const bsd = new OsDbPersonality(parseEntry(FREEBSD_TS21), { seed: 5, startTimeMs: T0 });
  bsd.respondTcp(segment(NMAP_OPTIONS.seq[0], { timeMs: T0 }), 'open', emptyReply());
  bsd.respondTcp(segment(Buffer.alloc(0), { timeMs: T0 + 1, flags: 0x02 }), 'closed', emptyReply());
  const s2 = shape();
  bsd.connectionShape(syn, s2);
  assert.equal(s2.tsOffset, 0);
});
