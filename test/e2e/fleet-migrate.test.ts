/**
 * `decoyd db migrate` from schema version 1 (whole ECS documents per row) through version 2 (the
 * event's own fields under a boot and sequence), version 3 (the primary key (ts, boot, seq) as
 * the time index, no row ids) and version 4 (ports counted in blocks of 64), on a real PostgreSQL 15: a version 1 database
 * holding events of two boots of one sensor, as the version 1 shipper wrote them, is migrated,
 * and the fleet API's store then returns exactly the documents it returned before, with the
 * same ids, the same credentials and the same scans; a batch of the new shipper for the same
 * boot inserts nothing it already holds.
 * Also here, as it needs only PostgreSQL: a row PostgreSQL refuses as data (a CHECK constraint the
 * test adds) is found one row at a time and skipped, counted and logged; every other row ships;
 * and the two forms of a batch agree: summaries folded by the sensor (fresh) are the summaries
 * PostgreSQL folds from RETURNING (resend), and a fresh batch over rows already held fails whole.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { DecoyEvent } from '../../daemon/src/events/event';
import { ecsContext, toEcs, type EcsContext } from '../../daemon/src/events/ecs';
import { buildInsertBatch, REGISTER_BOOT_SQL, type BatchForm, type OutboxRow, type RegisteredBoot } from '../../daemon/src/fleet/pg-batch';
import { PgStoreQuery } from '../../daemon/src/fleet/pg-query';
import { migrate } from '../../daemon/src/cli/fleet-command';
import { parseIp } from '../../daemon/src/wire/address';
import { POSTGRES_DEFAULTS } from '../../daemon/src/config/ship-settings';
import { PostgresShipper } from '../../daemon/src/ship/postgres-shipper';
import { StoreWriter, databaseFile } from '../../daemon/src/store/writer';
import { needsRoot } from '../helpers/lab';
import { createPgCluster, SUPERUSER, SUPERUSER_PASSWORD } from '../helpers/postgres';

// A fraction of a millisecond, as real event times carry.
const T0 = Date.UTC(2026, 11, 1, 23, 59, 58) + 0.262939453125;

function events(): DecoyEvent[] {
  const mac = { srcMac: '02:00:00:00:00:02', dstMac: '00:1b:21:00:00:01' };
  return [
    { kind: 'tcp.packet', time: T0, ...mac, srcIp: '203.0.113.5', dstIp: '198.51.100.10', srcPort: 40001, dstPort: 22, flags: 'S', state: 'open', answer: 'syn-ack', packets: 3, lastTime: T0 + 1500 },
    { kind: 'udp.packet', time: T0 + 1000, ...mac, srcIp: '203.0.113.5', dstIp: '198.51.100.10', srcPort: 40002, dstPort: 161, length: 0, state: 'closed', answer: 'port-unreachable' },
    { kind: 'service.login', time: T0 + 2000, service: 'ssh', srcIp: '203.0.113.5', dstIp: '198.51.100.10', srcPort: 40003, dstPort: 22, method: 'password', user: 'root', password: 'toor', outcome: 'failure' },
    { kind: 'service.login', time: T0 + 3000, service: 'ssh', srcIp: '203.0.113.5', dstIp: '198.51.100.10', srcPort: 40004, dstPort: 22, method: 'password', user: 'root', password: 'toor', outcome: 'failure' },
    {
      kind: 'scan.detected', time: T0 + 4000, scanId: 'scan-1', srcIp: '203.0.113.5', scanType: 'tcp-syn', tool: 'nmap', targets: ['198.51.100.10'], targetCount: 1,
      ports: [22, 161], portCount: 2, packets: 2, ratePps: 1, firstSeen: T0, lastSeen: T0 + 1000, evidence: ['window 1024 (nmap)'],
    },
    { kind: 'daemon.start', time: T0 + 5000, message: 'ready' },
  ] as unknown as DecoyEvent[];
}

describe('decoyd db migrate: schema version 1 to 4 with data', { skip: needsRoot.skip }, () => {
  test('documents, ids, credentials and scans read back unchanged; a replayed batch inserts nothing', async () => {
    const pg = createPgCluster('decoyd-pg-migrate-');
    const store = new PgStoreQuery(pg.url(SUPERUSER, SUPERUSER_PASSWORD));
    try {
      const url = pg.url(SUPERUSER, SUPERUSER_PASSWORD);
      await migrate(url, { daysAhead: 1, toVersion: 1, now: T0 }, () => undefined);
      assert.equal(pg.psql('SELECT max(version) FROM decoyd_schema_migrations').trim(), '1');
      const boots: EcsContext[] = [ecsContext({ name: 'sensor-m', id: 'sensor-m-id', hostname: 'h1' }, 1000), ecsContext({ name: 'sensor-m2', id: 'sensor-m-id', hostname: 'h1' }, 2000)];
      // Version 1 rows exactly as the version 1 shipper built them: the ECS document, its id, the columns.
      const all = events();
      const expected: Record<string, unknown>[] = [];
      all.forEach((e, k) => {
        const ctx = boots[k < 4 ? 0 : 1] as EcsContext;
        const rec = e as unknown as Record<string, unknown>;
        const doc = toEcs(e, k + 1, ctx);
        expected.push(doc);
        const src = typeof rec.srcIp === 'string' ? `'${rec.srcIp}'` : 'NULL';
        const dst = typeof rec.dstIp === 'string' ? `'${rec.dstIp}'` : 'NULL';
        const num = (v: unknown): string => (typeof v === 'number' ? String(v) : 'NULL');
        const proto = e.kind === 'tcp.packet' ? "'tcp'" : e.kind === 'udp.packet' ? "'udp'" : 'NULL';
        const last = typeof rec.lastTime === 'number' ? rec.lastTime : e.time;
        pg.psql(`INSERT INTO decoyd_events (event_id, ts, last_ts, sensor_id, kind, proto, src, dst, sport, dport, packets, doc) VALUES
          ('${doc.event.id}', to_timestamp(${e.time} / 1000.0), to_timestamp(${last} / 1000.0), 'sensor-m-id', '${e.kind}', ${proto}, ${src}, ${dst},
           ${num(rec.srcPort)}, ${num(rec.dstPort)}, ${num(rec.packets) === 'NULL' ? 1 : num(rec.packets)}, $doc$${JSON.stringify(doc)}$doc$::jsonb)`);
      });
      pg.psql(`INSERT INTO decoyd_source_sensors VALUES ('203.0.113.5', 'sensor-m-id', to_timestamp(${T0} / 1000.0), to_timestamp(${T0 + 4000} / 1000.0), 8);
        INSERT INTO decoyd_sensors (sensor_id, name, hostname, last_event, last_report, backlog, shipped) VALUES ('sensor-m-id', 'sensor-m2', 'h1', now(), now(), 0, 6);
        INSERT INTO decoyd_source_ports VALUES ('203.0.113.5', 'sensor-m-id', 'tcp', 22, to_timestamp(${T0 + 1500} / 1000.0), 3),
          ('203.0.113.5', 'sensor-m-id', 'udp', 161, to_timestamp(${T0 + 1000} / 1000.0), 1), ('203.0.113.5', 'sensor-m-id', 'tcp', 8080, to_timestamp(${T0} / 1000.0), 5),
          ('203.0.113.5', 'sensor-m-id', 'tcp', 8127, to_timestamp(${T0} / 1000.0), 2);
        CREATE ROLE m_reader; GRANT SELECT ON decoyd_source_ports TO m_reader`);
      const { kind: _kind, time: _time, ...scan } = all[4] as unknown as Record<string, unknown>;

      const lines: string[] = [];
      assert.equal(await migrate(url, { daysAhead: 1, now: T0 }, (l) => lines.push(l)), 3, 'migrations 2, 3 and 4');
      assert.ok(lines.some((l) => /migration 2: 6 events of version 1 rewritten/.test(l)), lines.join('\n'));
      assert.ok(lines.some((l) => /applied migration 2/.test(l)));
      assert.ok(lines.some((l) => /applied migration 3/.test(l)));
      assert.ok(lines.some((l) => /applied migration 4/.test(l)));
      // Version 4: ports counted in blocks of 64; 8080 and 8127 share one block, 22 and 161 have one each.
      assert.equal(pg.psql("SELECT count(*) FROM pg_class WHERE relname = 'decoyd_source_ports'").trim(), '0', 'the port-per-row table is gone');
      assert.equal(pg.psql('SELECT proto, block, cardinality(counts), counts[8080 % 64 + 1], counts[8127 % 64 + 1] FROM decoyd_source_port_blocks WHERE block = 126').trim(), 'tcp|126|64|5|2');
      assert.equal(pg.psql("SELECT has_table_privilege('m_reader', 'decoyd_source_port_blocks', 'SELECT'), has_table_privilege('m_reader', 'decoyd_source_port_blocks', 'INSERT')").trim(), 't|f', 'the old table\'s grants carry over, no more');
      assert.equal(pg.psql("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'decoyd_events_pkey'").trim(), 'PRIMARY KEY (ts, boot, seq)');
      assert.equal(pg.psql("SELECT count(*) FROM pg_attribute WHERE attrelid = 'decoyd_events'::regclass AND attname = 'row_id'").trim(), '0', 'row ids are gone');
      assert.equal(pg.psql("SELECT count(*) FROM pg_class WHERE relname LIKE '%decoyd_events_v1%' OR relname LIKE 'v1\\_%'").trim(), '0', 'version 1 tables are gone');
      assert.equal(pg.psql('SELECT count(*) FROM decoyd_boots').trim(), '2', 'one row per boot');

      const page = await store.events({ limit: 100 });
      assert.deepEqual(page.events, [...expected].reverse(), 'every document reads back exactly as version 1 stored it');
      // Paging with the new cursor crosses the day boundary inside the data.
      const first = await store.events({ limit: 4 });
      assert.ok(first.nextCursor !== undefined);
      const rest = await store.events({ limit: 4, cursor: first.nextCursor });
      assert.deepEqual([...first.events, ...rest.events], page.events);
      assert.equal(rest.nextCursor, undefined);
      assert.deepEqual(await store.scans({ limit: 10 }), [{ ...scan, updates: 1 }]);
      assert.deepEqual((await store.source('203.0.113.5', { limit: 10 }))?.credentials,
        [{ user: 'root', password: 'toor', dst: '198.51.100.10', port: 22, attempts: 2, firstSeen: Math.floor(T0) + 2000, lastSeen: Math.floor(T0) + 3000 }], 'the two logins fold (version 1 kept times to the millisecond, in @timestamp)');
      assert.equal((await store.stats()).scans, 1);
      const detail = await store.source('203.0.113.5', { limit: 10 });
      assert.deepEqual(detail?.ports, [{ proto: 'tcp', port: 8080, events: 5 }, { proto: 'tcp', port: 22, events: 3 }, { proto: 'tcp', port: 8127, events: 2 }, { proto: 'udp', port: 161, events: 1 }]);
      assert.equal(detail?.portCount, 4);
      assert.deepEqual((await store.source('203.0.113.5', { limit: 2 }))?.ports.map((x) => x.port), [8080, 22], 'the top ports, to the limit');

      // The new shipper's batch for the same boot and sequences: the ids are the same, so nothing is inserted twice.
      const c = (await store.pool.connect());
      try {
        const key = (await c.query<{ boot: number }>(REGISTER_BOOT_SQL, [boots[0]?.idPrefix, 'sensor-m-id', JSON.stringify(boots[0]?.observer)])).rows[0]?.boot as number;
        const rows: OutboxRow[] = all.slice(0, 4).map((e, k) => {
          const rec = e as unknown as Record<string, unknown>;
          return {
            id: k + 1, boot: 1, seq: k + 1, ts: e.time, kind: e.kind, proto: e.kind === 'tcp.packet' ? 'tcp' : e.kind === 'udp.packet' ? 'udp' : null,
            src: parseIp(String(rec.srcIp)), dst: parseIp(String(rec.dstIp)), sport: rec.srcPort as number, dport: rec.dstPort as number, fields: JSON.stringify(e),
          };
        });
        const b = buildInsertBatch(rows, () => ({ key, sensorId: 'sensor-m-id' }), { id: 'sensor-m-id', name: 'sensor-m', hostname: 'h1', backlog: 0, software: 'test' }, 'resend');
        const r = await c.query<{ inserted: number; offered: number }>(b.text, b.values);
        if (r.rows[0]?.inserted !== 0) console.error(pg.psql('SELECT boot, seq, ts, kind FROM decoyd_events ORDER BY boot, seq, ts'));
        assert.deepEqual(r.rows[0], { inserted: 0, offered: 4, notified: 0 }, 'a replay inserts nothing and notifies nothing');
        // A hostile field: jsonb refuses U+0000 and lone surrogates, and would refuse the whole batch.
        const hostile: DecoyEvent = { ...(all[2] as DecoyEvent), time: T0 + 6000, user: 'ro\0ot\ud800' } as DecoyEvent;
        const h = buildInsertBatch([{ ...(rows[2] as OutboxRow), id: 9, seq: 9, ts: hostile.time, fields: JSON.stringify(hostile) }], () => ({ key, sensorId: 'sensor-m-id' }),
          { id: 'sensor-m-id', name: 'sensor-m', hostname: 'h1', backlog: 0, software: 'test' }, 'fresh');
        assert.deepEqual((await c.query<{ inserted: number; offered: number }>(h.text, h.values)).rows[0], { inserted: 1, offered: 1, notified: 1 });
      } finally {
        c.release();
      }
      assert.equal(pg.psql('SELECT count(*) FROM decoyd_events').trim(), '7');
      assert.equal(pg.psql("SELECT fields->>'user' FROM decoyd_events WHERE seq = 9").trim(), 'ro\ufffdot\ufffd');
    } finally {
      await store.close();
      pg.destroy();
    }
  });

  test('a row PostgreSQL refuses as data is isolated and skipped; the batch around it ships', async () => {
    const pg = createPgCluster('decoyd-pg-refuse-');
    const dir = mkdtempSync(join(tmpdir(), 'decoyd-refuse-'));
    const reports: string[] = [];
    let shipper: PostgresShipper | undefined;
    try {
      const url = pg.url(SUPERUSER, SUPERUSER_PASSWORD);
      await migrate(url, { daysAhead: 1 }, () => undefined);
      pg.psql("ALTER TABLE decoyd_events ADD CONSTRAINT test_refuses_evil CHECK (fields->>'user' IS DISTINCT FROM 'evil')");
      const ctx = ecsContext({ name: 'sensor-r', id: 'sensor-r-id', hostname: 'h' });
      const store = await StoreWriter.open({ path: dir, flushIntervalMs: 50, retention: { maxAgeDays: 0, maxBytes: 0 }, queueLimit: 10_000, workerNice: 0 }, ctx, () => undefined);
      const now = Date.now();
      for (let k = 1; k <= 300; k++) {
        store.write({ kind: 'service.login', time: now + k, service: 'ssh', srcIp: '203.0.113.9', dstIp: '198.51.100.10', srcPort: 40000 + k, dstPort: 22, method: 'password', user: k === 137 ? 'evil' : `user${k}`, password: 'x', outcome: 'failure' } as unknown as DecoyEvent, k);
      }
      await store.drain();
      shipper = new PostgresShipper({ ...POSTGRES_DEFAULTS, kind: 'postgres', name: 'refuse', url, batch: 100, intervalMs: 100, reconnectMaxMs: 1000 }, databaseFile(dir), ctx, (m) => reports.push(m), { nice: 0 });
      const deadline = Date.now() + 30_000;
      const inPg = (): number => Number(pg.psql("SELECT count(*) FROM decoyd_events WHERE sensor_id = 'sensor-r-id'"));
      // A batch in flight beside the refused one may have committed: its rows go again one by one and insert nothing.
      while (Date.now() < deadline && (inPg() < 299 || shipper.stats().backlog !== 0 || shipper.stats().dropped.refused !== 1)) await new Promise((r) => setTimeout(r, 200));
      const st = shipper.stats();
      assert.equal(inPg(), 299, `${reports.join(' | ')}`);
      assert.equal(st.dropped.refused, 1, reports.join(' | '));
      assert.equal(st.backlog, 0);
      assert.equal(pg.psql("SELECT count(*) FROM decoyd_events WHERE fields->>'user' = 'evil'").trim(), '0');
      assert.ok(reports.some((m) => /refused a batch of 100 events .*test_refuses_evil.*one at a time/.test(m)), reports.join('\n'));
      assert.ok(reports.some((m) => /refused event 137 of the store .*reason="refused"/.test(m)), reports.join('\n'));
      assert.equal(st.failing, undefined, 'shipping goes on: no failure stands');

      // A watermark behind what PostgreSQL committed (a kill -9 between the commit and the
      // watermark): the next shipper's fresh batch meets rows already held, fails whole, and goes
      // again as a resend that inserts nothing, so neither the events nor the summaries change.
      await shipper.close();
      const before = pg.psql("SELECT (SELECT count(*) FROM decoyd_events), (SELECT shipped FROM decoyd_sensors WHERE sensor_id = 'sensor-r-id'), (SELECT sum(c) FROM decoyd_source_port_blocks, unnest(counts) AS c), (SELECT sum(events) FROM decoyd_source_sensors)").trim();
      const outbox = new Database(databaseFile(dir));
      outbox.prepare("UPDATE ship_outbox SET shipped_id = 150 WHERE shipper = 'refuse'").run();
      outbox.close();
      const replayReports: string[] = [];
      shipper = new PostgresShipper({ ...POSTGRES_DEFAULTS, kind: 'postgres', name: 'refuse', url, batch: 100, intervalMs: 100, reconnectMaxMs: 1000 }, databaseFile(dir), ctx, (m) => replayReports.push(m), { nice: 0 });
      const replayDeadline = Date.now() + 30_000;
      while (Date.now() < replayDeadline && (shipper.stats().backlog !== 0 || !shipper.stats().connected)) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(shipper.stats().backlog, 0, replayReports.join(' | '));
      assert.equal(shipper.stats().sent, 0, 'nothing was new');
      assert.equal(shipper.stats().failing, undefined, replayReports.join(' | '));
      assert.deepEqual(replayReports, [], 'a replay is no failure and refuses nothing');
      assert.equal(pg.psql("SELECT (SELECT count(*) FROM decoyd_events), (SELECT shipped FROM decoyd_sensors WHERE sensor_id = 'sensor-r-id'), (SELECT sum(c) FROM decoyd_source_port_blocks, unnest(counts) AS c), (SELECT sum(events) FROM decoyd_source_sensors)").trim(), before);
      await store.close();
    } finally {
      await shipper?.close();
      pg.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('fresh and resend forms write the same summaries; a fresh batch over rows PostgreSQL holds fails whole', async () => {
    const pg = createPgCluster('decoyd-pg-forms-');
    const url = pg.url(SUPERUSER, SUPERUSER_PASSWORD);
    const store = new PgStoreQuery(url);
    try {
      await migrate(url, { daysAhead: 1, now: T0 }, () => undefined);
      // Scan-shaped rows with every case the summaries weigh: folded packets and lastTime, a source
      // probing itself, no source, no port, ICMP, a port out of range, two boots.
      const rows: OutboxRow[] = [];
      for (let k = 0; k < 600; k++) {
        const kind = k % 7 === 0 ? 'icmp' : k % 5 === 0 ? 'udp.packet' : k % 97 === 0 ? 'daemon.start' : 'tcp.packet';
        const src = kind === 'daemon.start' ? null : parseIp(`203.0.113.${1 + (k % 3)}`);
        const dst = kind === 'daemon.start' ? null : k % 41 === 0 ? src : parseIp(`198.51.100.${10 + (k % 4)}`);
        // Ports 1-2,197: 35 blocks of 64, some ports in a block, some blocks in a batch.
        const dport = kind === 'tcp.packet' || kind === 'udp.packet' ? (k % 53 === 0 ? 70000 : 1 + (k % 37) * 61) : null;
        const ts = T0 + k * 3.5;
        const fields: Record<string, unknown> = { kind, time: ts, ...(k % 11 === 0 ? { packets: 4, lastTime: ts + 900.25 } : {}) };
        rows.push({ id: k + 1, boot: k < 300 ? 1 : 2, seq: k + 1, ts, kind, proto: kind === 'tcp.packet' ? 'tcp' : kind === 'udp.packet' ? 'udp' : null,
          src, dst, sport: dport === null ? null : 40000 + k, dport, fields: JSON.stringify(fields) });
      }
      const c = await store.pool.connect();
      try {
        const registered = async (sensorId: string): Promise<(boot: number) => RegisteredBoot> => {
          const keys = new Map<number, number>();
          for (const boot of [1, 2]) {
            const r = await c.query<{ boot: number }>(REGISTER_BOOT_SQL, [`${sensorId}-boot${boot}`, sensorId, JSON.stringify({ id: sensorId, name: sensorId, hostname: 'h' })]);
            keys.set(boot, r.rows[0]?.boot as number);
          }
          return (boot) => ({ key: keys.get(boot) as number, sensorId });
        };
        const send = async (sensorId: string, bootOf: (boot: number) => RegisteredBoot, part: OutboxRow[], form: BatchForm): Promise<unknown> => {
          const b = buildInsertBatch(part, bootOf, { id: sensorId, name: sensorId, hostname: 'h', backlog: 0, software: 'test' }, form);
          const r = (await c.query<{ inserted: number; offered: number; notified: number }>(b.text, b.values)).rows[0];
          assert.equal(r?.notified, r?.inserted === 0 ? 0 : 1, 'a batch that inserts notifies once');
          return { inserted: r?.inserted, offered: r?.offered };
        };
        const fresh = await registered('F');
        const resend = await registered('R');
        // F in three fresh batches (the later ones update rows the first inserted), R in one resend.
        assert.deepEqual(await send('F', fresh, rows.slice(0, 250), 'fresh'), { inserted: 250, offered: 250 });
        assert.deepEqual(await send('F', fresh, rows.slice(250, 251), 'fresh'), { inserted: 1, offered: 1 });
        assert.deepEqual(await send('F', fresh, rows.slice(251), 'fresh'), { inserted: 349, offered: 349 });
        assert.deepEqual(await send('R', resend, rows, 'resend'), { inserted: 600, offered: 600 });
        const summaries = (sensor: string): string => pg.psql(`
          SELECT 'S', src, first_seen, last_seen, events FROM decoyd_source_sensors WHERE sensor_id = '${sensor}'
          UNION ALL SELECT 'B' || proto || block, src, last_seen, last_seen, NULL FROM decoyd_source_port_blocks WHERE sensor_id = '${sensor}'
          UNION ALL SELECT 'P' || proto || (block * 64 + k - 1), src, NULL, NULL, c FROM decoyd_source_port_blocks, unnest(counts) WITH ORDINALITY AS u(c, k) WHERE sensor_id = '${sensor}' AND c > 0
          UNION ALL SELECT 'D' || dst, src, first_seen, last_seen, events FROM decoyd_source_hosts WHERE sensor_id = '${sensor}'
          UNION ALL SELECT 'N', NULL, last_event, last_event, shipped FROM decoyd_sensors WHERE sensor_id = '${sensor}'
          ORDER BY 1, 2`);
        const f = summaries('F');
        assert.ok(f.split('\n').length > 150, f);
        assert.match(f, /^S\|203\.0\.113\.1\|/m);
        assert.match(f, /^Pudp/m);
        assert.doesNotMatch(f, /^P(tcp|udp)70000/m, 'a port out of range is no port');
        assert.equal(f, summaries('R'));
        // Each port's count is its events' packets, as the events table has them.
        const perPort = (sensor: string, from: string): string => pg.psql(from === 'events'
          ? `SELECT src, proto, dport, sum(packets) FROM decoyd_events WHERE sensor_id = '${sensor}' AND proto IN ('tcp', 'udp') AND dport BETWEEN 0 AND 65535 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`
          : `SELECT src, proto, block * 64 + (k - 1)::int, c FROM decoyd_source_port_blocks, unnest(counts) WITH ORDINALITY AS u(c, k) WHERE sensor_id = '${sensor}' AND c > 0 ORDER BY 1, 2, 3`);
        assert.equal(perPort('F', 'blocks'), perPort('F', 'events'));
        assert.ok(Number(pg.psql("SELECT count(DISTINCT block) FROM decoyd_source_port_blocks WHERE sensor_id = 'F'")) > 20);
        // A replay: the resend form inserts nothing and changes no summary; the fresh form fails whole.
        assert.deepEqual(await send('F', fresh, rows.slice(100, 200), 'resend'), { inserted: 0, offered: 100 });
        await assert.rejects(send('F', fresh, [...rows.slice(599), { ...(rows[0] as OutboxRow), id: 700, seq: 700 }], 'fresh'), (err: { code?: string }) => err.code === '23505');
        assert.equal(summaries('F'), f);
        assert.equal(pg.psql("SELECT count(*) FROM decoyd_events WHERE sensor_id = 'F'").trim(), '600');
        // sensor= with a port, kind or address is checked inside that index (the rows of other sensors cost no heap fetch).
        const plan = pg.psql(`SET enable_seqscan = off; SET enable_bitmapscan = off;
          EXPLAIN (COSTS OFF) SELECT boot, seq, fields FROM decoyd_events WHERE sensor_id = 'F' AND dport = 5 ORDER BY ts DESC, boot DESC, seq DESC LIMIT 101`);
        assert.match(plan, /Index Cond: \(\(dport = 5\) AND \(sensor_id = 'F'::text\)\)/, plan);
      } finally {
        c.release();
      }
    } finally {
      await store.close();
      pg.destroy();
    }
  });
});
