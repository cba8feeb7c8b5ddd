/**
 * Interning of compiled personalities: hosts whose chosen values are identical share one immutable
 * model, keep their own counters and clocks, answer exactly as before, and cost far less memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { OsDbPersonality } from '../../daemon/src/personality/model/os-personality';
import { chosenValuesKey } from '../../daemon/src/personality/model/compiled-personality';
import type { TestName } from '../../daemon/src/personality/osdb/types';
import { CISCO_IOS_15, FREEBSD_12, LINUX_5_4, WINDOWS_10_1607, parseEntry } from './model-fixtures';
import { transcript, transcriptDigest } from './model-refine-transcript';

const T0 = 1_700_000_000_000;
const SEEDS = [1, 2, 0xdeadbeef, 424242];

/**
 * Transcript digests (model-refine-transcript.ts, no Nmap round, no TS offset), for SEEDS in order.
 * First recorded before interning (commit 22d1376); re-recorded from private (uninterned) compiles
 * when the ISN planner changed (jitter-proof plans, fewer-step bursts), so interned hosts must
 * still give exactly these.
 */
const BEFORE_INTERNING: Record<string, string[]> = {
  LINUX_5_4: ['c73380765c29dea9', '250fa79778ffa22b', 'bc474cda3f5d7be4', '9a040aa9c7fe311c'],
  WINDOWS_10_1607: ['a83dd5fd7b9e5d6e', 'b25fe35333955478', '3904fd37cf518bb7', 'ebe44898f18dedff'],
  FREEBSD_12: ['9d6c13e5423baa13', '4738542a10bb764d', 'a4d663d712b42a17', 'b76f663f17f19a14'],
  CISCO_IOS_15: ['f201c7f90ee03b98', '9fca18c9dc9b5b0b', '3ca3e136b5ffc74f', '2611b77bee2bab1e'],
};
const ENTRIES: Record<string, string> = { LINUX_5_4, WINDOWS_10_1607, FREEBSD_12, CISCO_IOS_15 };

test('interned personalities answer exactly as the model did before interning', () => {
  for (const [name, text] of Object.entries(ENTRIES)) {
    const fp = parseEntry(text);
    SEEDS.forEach((seed, i) => {
      // The first host compiles; the second, same seed, is served from the intern table.
      const first = new OsDbPersonality(fp, { seed, startTimeMs: T0 });
      const second = new OsDbPersonality(fp, { seed, startTimeMs: T0 });
      assert.equal(second.compiled, first.compiled, `${name} seed ${seed}: shared`);
      assert.equal(transcriptDigest(second, T0), BEFORE_INTERNING[name][i], `${name} seed ${seed}`);
    });
  }
});

test('a shared model and a private one give identical transcripts, Nmap round and TS offsets included', () => {
  for (const [name, text] of Object.entries(ENTRIES)) {
    const fp = parseEntry(text);
    for (const seed of SEEDS) {
      new OsDbPersonality(fp, { seed, startTimeMs: T0 }); // populate the table
      const shared = new OsDbPersonality(fp, { seed, startTimeMs: T0 });
      const own = new OsDbPersonality(fp, { seed, startTimeMs: T0, intern: false });
      assert.notEqual(own.compiled, shared.compiled);
      assert.equal(transcript(shared, T0, { tsOffset: true, nmapRound: true }), transcript(own, T0, { tsOffset: true, nmapRound: true }), `${name} seed ${seed}`);
    }
  }
});

test('hosts share the compiled model but never counters, clocks or ISNs', () => {
  const fp = parseEntry(WINDOWS_10_1607);
  const byKey = new Map<string, OsDbPersonality[]>();
  const seedOf = new Map<OsDbPersonality, number>();
  for (let seed = 100; seed < 400; seed++) {
    const p = new OsDbPersonality(fp, { seed, startTimeMs: T0 });
    seedOf.set(p, seed);
    const key = chosenValuesKey(p.chosen);
    const group = byKey.get(key) ?? [];
    group.push(p);
    byKey.set(key, group);
  }
  assert.ok(byKey.size < 100, `${byKey.size} distinct value sets for 300 hosts`);
  for (const group of byKey.values()) {
    for (const p of group) assert.equal(p.compiled, group[0].compiled, 'same values, same model');
  }
  const groups = [...byKey.values()];
  assert.ok(groups.length >= 2);
  assert.notEqual(groups[0][0].compiled, groups[1][0].compiled, 'different values, different models');
  const [a, b] = groups.find((g) => g.length >= 2) ?? [];
  assert.ok(a !== undefined && b !== undefined);
  assert.notEqual(a.isn, b.isn);
  assert.notEqual(a.clock, b.clock);
  // b and a fresh twin of b start alike; what a draws must not move b's counters.
  const twin = new OsDbPersonality(fp, { seed: seedOf.get(b) as number, startTimeMs: T0 });
  for (let i = 0; i < 10; i++) a.nextIpId('tcp-open', T0 + i);
  for (const kind of ['tcp-open', 'tcp-closed', 'icmp'] as const) {
    assert.equal(b.nextIpId(kind, T0 + 20), twin.nextIpId(kind, T0 + 20), kind);
  }
});

test('the intern key is canonical: insertion order of tests and attributes does not matter', () => {
  const a = new Map<TestName, Map<string, string>>([['SEQ', new Map([['SP', '1'], ['GCD', '2']])], ['T1', new Map([['R', 'Y']])]]);
  const b = new Map<TestName, Map<string, string>>([['T1', new Map([['R', 'Y']])], ['SEQ', new Map([['GCD', '2'], ['SP', '1']])]]);
  assert.equal(chosenValuesKey(a), chosenValuesKey(b));
  b.get('T1')?.set('R', 'N');
  assert.notEqual(chosenValuesKey(a), chosenValuesKey(b));
});

function gcFunction(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Heap plus array-buffer bytes per personality for `count` hosts over `entries`, after full GCs. */
function bytesPerPersonality(count: number, intern: boolean, entries: ReturnType<typeof parseEntry>[], gc: () => void): number {
  const measure = (): number => {
    gc(); gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const before = measure();
  const hosts: OsDbPersonality[] = [];
  for (let i = 0; i < count; i++) {
    hosts.push(new OsDbPersonality(entries[i % entries.length], { seed: Math.imul(i + 1, 0x9e3779b1) >>> 0, startTimeMs: T0, intern }));
  }
  const after = measure();
  assert.equal(hosts.length, count); // keeps the hosts alive through the measurement
  return (after - before) / count;
}

test('memory: 10,000 hosts of 3 entries cost well under 6 KB each once interned', (t) => {
  const gc = gcFunction();
  const entries = [parseEntry(LINUX_5_4), parseEntry(WINDOWS_10_1607), parseEntry(FREEBSD_12)];
  const own = bytesPerPersonality(10_000, false, entries, gc);
  const shared = bytesPerPersonality(10_000, true, entries, gc);
  t.diagnostic(`bytes per personality, 10,000 hosts of 3 entries: ${Math.round(own)} private, ${Math.round(shared)} interned`);
  assert.ok(shared < 6 * 1024, `${Math.round(shared)} bytes per interned personality`);
  assert.ok(shared < own / 4, `interning saves most of the ${Math.round(own)} bytes`);
});
