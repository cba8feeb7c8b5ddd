/** The detector's fixed-size sets and map against plain JS collections, on random operations. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedIntMap, BoundedIntSet, PortBitmap } from '../../daemon/src/detect/bounded-sets';
import { rng } from './detect-rig';

test('BoundedIntMap agrees with Map under random insert/delete churn, and never holds more than its capacity', () => {
  const rand = rng(77);
  const m = new BoundedIntMap<number>(64);
  const ref = new Map<number, number>();
  for (let step = 0; step < 200_000; step++) {
    // Small key space, so deletes hit runs of colliding keys (exercises backward-shift deletion).
    const key = (rand() % 300) * 0x01000193 >>> 0;
    if (rand() % 3 === 0) {
      assert.equal(m.delete(key), ref.delete(key));
    } else if (ref.has(key) || ref.size < 64) {
      assert.equal(m.set(key, step), true);
      ref.set(key, step);
    } else {
      assert.equal(m.set(key, step), false, 'full map refuses a new key');
    }
    assert.equal(m.size, ref.size);
    const probe = (rand() % 300) * 0x01000193 >>> 0;
    assert.equal(m.get(probe), ref.get(probe));
  }
  for (const [k, v] of ref) assert.equal(m.get(k), v);
});

test('BoundedIntSet counts exactly up to its capacity, then saturates; clear empties it', () => {
  const s = new BoundedIntSet(100);
  for (let i = 0; i < 100; i++) assert.equal(s.add(0xc6336400 + i), true);
  assert.equal(s.add(0xc6336400), false);
  assert.equal(s.saturated, false);
  assert.equal(s.add(0xc6336500), false);
  assert.equal(s.saturated, true);
  assert.equal(s.size, 100);
  assert.deepEqual(s.sample(2), [0xc6336400, 0xc6336401]);
  s.clear();
  assert.equal(s.size, 0);
  assert.equal(s.has(0xc6336400), false);
  assert.equal(s.add(0xc6336400), true);
});

test('PortBitmap is exact over all 65536 values and clears fully after touching many words', () => {
  const b = new PortBitmap();
  for (let p = 0; p < 65536; p += 3) b.add(p);
  assert.equal(b.size, Math.ceil(65536 / 3));
  assert.equal(b.has(3), true);
  assert.equal(b.has(4), false);
  assert.deepEqual(b.sample(3), [0, 3, 6]);
  b.clear();
  assert.equal(b.size, 0);
  assert.deepEqual(b.sample(3), []);
  b.add(80);
  b.add(443);
  assert.equal(b.onlyWithin([80, 443]), true);
  b.add(22);
  assert.equal(b.onlyWithin([80, 443]), false);
});
