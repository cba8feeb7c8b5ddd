import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DecoyEvent } from '../../daemon/src/events/event';
import { ecsContext } from '../../daemon/src/events/ecs';
import { StoreDb } from '../../daemon/src/store/store-db';
import { SqliteStoreQuery } from '../../daemon/src/store/sqlite-query';
import { StoreWriter, databaseFile } from '../../daemon/src/store/writer';

const ctx = ecsContext({ name: 's', id: 's', hostname: 'h' }, 1000);
const boot = { idPrefix: ctx.idPrefix, observer: ctx.observer, started: 1000 };

function withDir(fn: (dir: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'decoyd-store-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const syn = (time: number, src: string, dst: string, dstPort: number): DecoyEvent => ({
  kind: 'tcp.packet', time, srcMac: '02:00:00:00:00:02', dstMac: '00:1b:21:00:00:01', srcIp: src, dstIp: dst, srcPort: 40000, dstPort, flags: 'S', state: 'closed', answer: 'rst-ack',
});
const ping = (time: number, src: string, dst: string): DecoyEvent => ({ kind: 'icmp', time, srcMac: '02:00:00:00:00:02', dstMac: '00:1b:21:00:00:01', srcIp: src, dstIp: dst, type: 8, code: 0, answer: 'echo-reply' });

/** 300 events: 3 sources × 100, each 50 SYNs to .10 (ports 1-50), 25 SYNs to .20 (port 80), 25 pings to .30. */
function seed(db: StoreDb): DecoyEvent[] {
  const events: DecoyEvent[] = [];
  let t = 1_000_000;
  for (const src of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) {
    for (let p = 1; p <= 50; p++) events.push(syn(t++, src, '198.51.100.10', p));
    for (let k = 0; k < 25; k++) events.push(syn(t++, src, '198.51.100.20', 80));
    for (let k = 0; k < 25; k++) events.push(ping(t++, src, '198.51.100.30'));
  }
  // Batches of 100: a full 64-row statement and a partial group each (store-db.ts ROWS_PER_INSERT).
  for (let i = 0; i < events.length; i += 100) db.insert(events.slice(i, i + 100), events.slice(i, i + 100).map((_, k) => i + k + 1));
  return events;
}

test('query filters, newest first, and cursor paging visit every match exactly once', withDir(async (dir) => {
  const db = new StoreDb(databaseFile(dir), boot);
  const events = seed(db);
  const q = new SqliteStoreQuery(dir);
  const all = await q.events({ limit: 1000 });
  assert.equal(all.events.length, 300);
  assert.equal(all.nextCursor, undefined);
  const times = all.events.map((d) => Date.parse(String(d['@timestamp'])));
  assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first');
  assert.deepEqual(all.events.map((d) => (d.event as Record<string, unknown>).sequence), events.map((_, k) => 300 - k), 'every row once, in insertion order');

  assert.equal((await q.events({ limit: 1000, src: '203.0.113.2' })).events.length, 100);
  assert.equal((await q.events({ limit: 1000, dst: '198.51.100.20' })).events.length, 75);
  assert.equal((await q.events({ limit: 1000, proto: 'icmp' })).events.length, 75);
  assert.equal((await q.events({ limit: 1000, kind: 'icmp', src: '203.0.113.1' })).events.length, 25);
  assert.equal((await q.events({ limit: 1000, port: 80 })).events.length, 75);
  assert.equal((await q.events({ limit: 1000, port: 7, src: '203.0.113.3' })).events.length, 1);
  const t0 = (events[100] as DecoyEvent).time;
  const t1 = (events[199] as DecoyEvent).time;
  const window = await q.events({ limit: 1000, since: t0, until: t1 });
  assert.equal(window.events.length, 100);
  assert.ok(window.events.every((d) => { const t = Date.parse(String(d['@timestamp'])); return t >= t0 && t <= t1; }));
  assert.equal((await q.events({ limit: 10, since: 9e12 })).events.length, 0);

  const ids = new Set<string>();
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await q.events({ limit: 7, src: '203.0.113.1', cursor });
    for (const d of page.events) ids.add(String((d.event as Record<string, unknown>).id));
    cursor = page.nextCursor;
    pages++;
  } while (cursor !== undefined);
  assert.equal(ids.size, 100);
  assert.equal(pages, Math.ceil(100 / 7));
  assert.rejects(q.events({ limit: 5, cursor: 'abc' }));
  q.close();
  db.close();
}));

test('folded packet rows: written after events of their interval, still found by time; summaries count their packets', withDir(async (dir) => {
  const db = new StoreDb(databaseFile(dir), boot);
  const t = 5_000_000;
  const open = { kind: 'tcp.open', time: t + 150, srcIp: '203.0.113.9', srcPort: 5, dstIp: '198.51.100.10', dstPort: 22 } as DecoyEvent;
  // As the fan-out writes them: the connection event at once, the interval's folded SYNs (first at t) when it is drained.
  const folded = { ...syn(t, '203.0.113.9', '198.51.100.10', 22), packets: 40, lastTime: t + 240 } as DecoyEvent;
  db.insert([open], [1]);
  db.insert([folded], [2]);
  db.insert([syn(t + 300, '203.0.113.9', '198.51.100.10', 23)], [3]);
  const q = new SqliteStoreQuery(dir);
  const since = await q.events({ limit: 10, since: t, until: t + 100 });
  assert.deepEqual(since.events.map((d) => (d.source as Record<string, unknown>).packets), [40], 'the folded row is in its time window though written later');
  assert.equal((await q.events({ limit: 10, since: t + 1 })).events.length, 2);
  const src = await q.source('203.0.113.9', { limit: 10 });
  assert.equal(src?.events, 42, 'a source counts packets, not rows');
  assert.equal(src?.lastSeen, t + 300);
  assert.deepEqual(src?.ports.map((p) => [p.port, p.events]), [[22, 41], [23, 1]]);
  // Retention by age goes from the oldest rowid while the oldest row is past the cutoff.
  assert.equal(db.applyRetention({ maxAgeDays: 1, maxBytes: 0 }, t + 86_400_000 + 200, 1).deleted, 2, 'the two rows older than a day');
  assert.equal((await q.events({ limit: 10 })).events.length, 1);
  assert.equal(db.applyRetention({ maxAgeDays: 1, maxBytes: 0 }, t + 86_400_000 + 200, 1).deleted, 0);
  q.close();
  db.close();
}));

test('per-source summaries, scans folded by scanId, credentials', withDir(async (dir) => {
  const db = new StoreDb(databaseFile(dir), boot);
  seed(db);
  const scan = (packets: number, lastSeen: number, tool?: string): DecoyEvent => ({
    kind: 'scan.detected', time: lastSeen, scanId: 'scan-1', srcIp: '203.0.113.1', scanType: 'tcp-syn', ...(tool === undefined ? {} : { tool }),
    targets: ['198.51.100.10'], targetCount: 1, ports: [1, 2], portCount: 50, packets, ratePps: 100, firstSeen: 1_000_000, lastSeen, evidence: ['window 1024'],
  });
  db.insert([scan(20, 1_000_020), scan(50, 1_000_050, 'nmap')], [1000, 1001]);
  const login = { kind: 'tcp.open', time: 2_000_000, srcIp: '203.0.113.1', srcPort: 5, dstIp: '198.51.100.10', dstPort: 22, user: 'root', password: 'toor' } as unknown as DecoyEvent;
  db.insert([login, { ...login, time: 2_000_001 } as DecoyEvent], [1002, 1003]);
  const q = new SqliteStoreQuery(dir);
  const sources = await q.sources({ limit: 10 });
  assert.deepEqual(sources.map((s) => s.ip).sort(), ['203.0.113.1', '203.0.113.2', '203.0.113.3']);
  const s2 = sources.find((s) => s.ip === '203.0.113.2');
  assert.equal(s2?.events, 100);
  const d = await q.source('203.0.113.1', { limit: 100 });
  assert.ok(d !== undefined);
  assert.equal(d.hostCount, 3);
  assert.equal(d.portCount, 51, '50 ports on .10, 80 on .20 (tcp); pings have no port');
  assert.equal(d.ports[0]?.port, 80);
  assert.equal(d.ports[0]?.events, 25);
  assert.equal(d.scans.length, 1, 'two updates of one scan fold into one record');
  assert.equal(d.scans[0]?.packets, 50);
  assert.equal(d.scans[0]?.tool, 'nmap');
  assert.equal(d.scans[0]?.updates, 2);
  assert.deepEqual(d.credentials.map((c) => [c.user, c.password, c.attempts, c.port]), [['root', 'toor', 2, 22]]);
  assert.equal(await q.source('192.0.2.99', { limit: 10 }), undefined);
  assert.equal((await q.scans({ limit: 10 })).length, 1);
  assert.equal((await q.scans({ limit: 10, src: '203.0.113.2' })).length, 0);
  const stats = await q.stats();
  assert.equal(stats.events, 304);
  assert.equal(stats.sources, 3);
  q.close();
  db.close();
}));

test('retention deletes by age, then by size, and prunes summaries', withDir(async (dir) => {
  const db = new StoreDb(databaseFile(dir), boot);
  const now = 100 * 86_400_000;
  const old = Array.from({ length: 500 }, (_, k) => syn(now - 10 * 86_400_000 + k, '203.0.113.9', '198.51.100.10', 1 + k));
  const fresh = Array.from({ length: 500 }, (_, k) => syn(now - 1000 + k, '203.0.113.1', '198.51.100.10', 1 + k));
  db.insert(old, old.map((_, k) => k + 1));
  db.insert(fresh, fresh.map((_, k) => k + 501));
  assert.equal(db.applyRetention({ maxAgeDays: 5, maxBytes: 0 }, now, 100).deleted, 500);
  const q = new SqliteStoreQuery(dir);
  assert.equal((await q.events({ limit: 1000 })).events.length, 500);
  assert.deepEqual((await q.sources({ limit: 10 })).map((s) => s.ip), ['203.0.113.1'], 'the aged-out source is gone');
  // Size: grow well past a small limit, then trim back under it.
  const many = Array.from({ length: 20_000 }, (_, k) => syn(now + k, '203.0.113.1', '198.51.100.10', 1 + (k % 1000)));
  db.insert(many, many.map((_, k) => k + 2000));
  const limit = Math.floor(db.usedBytes() / 2);
  const { deleted } = db.applyRetention({ maxAgeDays: 0, maxBytes: limit }, now, 1000);
  assert.ok(deleted > 0);
  assert.ok(db.usedBytes() <= limit, `${db.usedBytes()} <= ${limit}`);
  const newest = await q.events({ limit: 1 });
  assert.equal(Date.parse(String(newest.events[0]?.['@timestamp'])), now + 19_999, 'the newest events are kept');
  q.close();
  db.close();
}));

test('the writer batches into the worker, and a full queue drops by count and reports it', withDir(async (dir) => {
  const reports: string[] = [];
  const w = await StoreWriter.open({ path: dir, flushIntervalMs: 50, retention: { maxAgeDays: 0, maxBytes: 0 }, queueLimit: 1000, maxBatch: 400, reportIntervalMs: 60_000 }, ctx, (m) => reports.push(m));
  // Written synchronously (no chance for the worker to ack): 1000 fit, 500 are dropped.
  for (let k = 0; k < 1500; k++) w.write(syn(5_000_000 + k, '203.0.113.1', '198.51.100.10', 1 + (k % 100)), k + 1);
  const s = w.stats();
  assert.equal(s.dropped, 500);
  assert.equal(s.queueDepth, 1000);
  await w.drain();
  assert.equal(w.stats().written, 1000);
  assert.equal(w.stats().queueDepth, 0);
  await w.close();
  assert.ok(reports.some((r) => /500 events dropped \(queue full at 1000/.test(r)), reports.join('\n'));
  const q = new SqliteStoreQuery(dir);
  assert.equal((await q.stats()).events, 1000);
  q.close();
}));

test('port queries across event_ports buckets: newest first, paged, other filters, and retention drops old buckets', withDir(async (dir) => {
  const db = new StoreDb(databaseFile(dir), boot);
  // 150,000 SYNs over 1,000 ports (rowids 1..150000 span buckets 0, 1 and 2), inserted in scan order.
  const total = 150_000;
  const events: DecoyEvent[] = [];
  for (let n = 0; n < total; n++) events.push(syn(2_000_000 + n, `203.0.113.${1 + (n % 3)}`, '198.51.100.10', 1 + ((n * 7) % 1000)));
  for (let i = 0; i < total; i += 10_000) db.insert(events.slice(i, i + 10_000), events.slice(i, i + 10_000).map((_, k) => i + k + 1));
  const q = new SqliteStoreQuery(dir);
  const expected = events.map((e, k) => ({ e, seq: k + 1 })).filter(({ e }) => e.kind === 'tcp.packet' && e.dstPort === 43).map(({ seq }) => seq).reverse();
  assert.equal(expected.length, 150);
  const seen: unknown[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 10; page++) {
    const got = await q.events({ limit: 40, port: 43, ...(cursor !== undefined ? { cursor } : {}) });
    seen.push(...got.events.map((d) => (d.event as Record<string, unknown>).sequence));
    cursor = got.nextCursor;
    if (cursor === undefined) break;
  }
  assert.deepEqual(seen, expected, 'every event on the port once, newest first, across pages and buckets');
  const bySrc = await q.events({ limit: 1000, port: 43, src: '203.0.113.2' });
  assert.deepEqual(bySrc.events.map((d) => (d.event as Record<string, unknown>).sequence), expected.filter((s) => (s - 1) % 3 === 1));
  const recent = await q.events({ limit: 1000, port: 43, since: 2_000_000 + 100_000 });
  assert.deepEqual(recent.events.map((d) => (d.event as Record<string, unknown>).sequence), expected.filter((s) => s > 100_000));

  // Age retention deletes the oldest 140,000 events: buckets 0 and 1 of the port rows go with them.
  const bucketsBefore = (db.db.prepare('SELECT count(DISTINCT bucket) AS n FROM event_ports').get() as { n: number }).n;
  assert.equal(bucketsBefore, 3);
  db.applyRetention({ maxAgeDays: 1, maxBytes: 0 }, 2_000_000 + 140_000 + 86_400_000);
  const left = (db.db.prepare('SELECT min(bucket) AS lo, count(*) AS n FROM event_ports').get() as { lo: number; n: number });
  assert.equal(left.lo, 2, 'only the bucket of kept rows remains');
  assert.deepEqual((await q.events({ limit: 1000, port: 43 })).events.map((d) => (d.event as Record<string, unknown>).sequence), expected.filter((s) => s > 140_000));
  db.close();
}));
