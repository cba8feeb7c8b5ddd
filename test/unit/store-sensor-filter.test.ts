/**
 * A sensor's own store and the fleet's `sensor=` filter: its name or id keeps everything, any
 * other sensor nothing. And the outbox table the PostgreSQL shipper keeps its watermark in.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { DecoyEvent } from '../../daemon/src/events/event';
import { ecsContext } from '../../daemon/src/events/ecs';
import { SqliteStoreQuery } from '../../daemon/src/store/sqlite-query';
import { StoreDb } from '../../daemon/src/store/store-db';
import { databaseFile } from '../../daemon/src/store/writer';

test('sqlite store: sensor= names this sensor (by name or id) or matches nothing; the outbox table exists', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'decoyd-sensor-filter-'));
  try {
    const ctx = ecsContext({ name: 'office-dmz', id: '6f1c0d2e-aaaa-4bbb-8ccc-000000000001', hostname: 'h' }, 1000);
    const db = new StoreDb(databaseFile(dir), { idPrefix: ctx.idPrefix, observer: ctx.observer, started: 1000 });
    const e: DecoyEvent = {
      kind: 'tcp.packet', time: 5000, srcMac: '02:00:00:00:00:02', dstMac: '00:1b:21:00:00:01', srcIp: '203.0.113.9', dstIp: '198.51.100.10',
      srcPort: 40000, dstPort: 22, flags: 'S', state: 'open', answer: 'syn-ack',
    };
    db.insert([e], [1]);
    assert.deepEqual(db.db.prepare('SELECT count(*) AS n FROM ship_outbox').get(), { n: 0 });
    const q = new SqliteStoreQuery(dir);
    for (const sensor of [undefined, 'office-dmz', '6f1c0d2e-aaaa-4bbb-8ccc-000000000001']) {
      assert.equal((await q.events({ limit: 10, sensor })).events.length, 1, String(sensor));
      assert.equal((await q.sources({ limit: 10, sensor })).length, 1);
      assert.ok((await q.source('203.0.113.9', { limit: 10, sensor })) !== undefined);
    }
    assert.equal((await q.events({ limit: 10, sensor: 'branch-office' })).events.length, 0);
    assert.equal((await q.sources({ limit: 10, sensor: 'branch-office' })).length, 0);
    assert.equal(await q.source('203.0.113.9', { limit: 10, sensor: 'branch-office' }), undefined);
    assert.deepEqual(await q.scans({ limit: 10, sensor: 'branch-office' }), []);
    q.close();
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
