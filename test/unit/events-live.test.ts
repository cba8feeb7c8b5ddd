import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveListeners, matchesLive } from '../../daemon/src/events/live-hub';

const doc = {
  event: { action: 'tcp.syn' },
  observer: { name: 'office', id: 'a1' },
  source: { ip: '203.0.113.9' },
  destination: { ip: '198.51.100.20', port: 22 },
  network: { transport: 'tcp' },
};

test('matchesLive: each filter field narrows, sensor by name or id, ARP counts as proto arp', () => {
  assert.ok(matchesLive({}, doc));
  assert.ok(matchesLive({ sensor: 'office' }, doc));
  assert.ok(matchesLive({ sensor: 'a1' }, doc));
  assert.ok(!matchesLive({ sensor: 'dmz' }, doc));
  assert.ok(matchesLive({ src: '203.0.113.9', dst: '198.51.100.20', port: 22, proto: 'tcp', kind: 'tcp.syn' }, doc));
  assert.ok(!matchesLive({ port: 23 }, doc));
  assert.ok(!matchesLive({ proto: 'udp' }, doc));
  assert.ok(matchesLive({ proto: 'arp' }, { event: { action: 'arp.request' } }));
});

test('LiveListeners: bounded, removable, and serializes a document once for all matching listeners', () => {
  const feed = new LiveListeners(2);
  const got: string[][] = [[], [], []];
  const removeA = feed.add({}, (j) => got[0].push(j));
  const removeB = feed.add({ port: 22 }, (j) => got[1].push(j));
  assert.ok(removeA && removeB);
  assert.equal(feed.add({}, (j) => got[2].push(j)), undefined, 'a third listener is past the bound');
  assert.equal(feed.size, 2);
  feed.deliver(doc);
  feed.deliver({ ...doc, destination: { ip: '198.51.100.20', port: 80 } });
  assert.equal(got[0].length, 2);
  assert.equal(got[1].length, 1);
  assert.equal(got[2].length, 0);
  assert.equal(got[0][0], got[1][0]);
  assert.deepEqual(JSON.parse(got[1][0]), doc);
  removeB();
  assert.equal(feed.size, 1);
  assert.ok(feed.add({}, () => undefined), 'room again after a removal');
  feed.clear();
  assert.equal(feed.size, 0);
});
