/**
 * The fleet's pure parts: migration list and partition arithmetic, role grants, the batch
 * statement built from outbox rows, error classes, and the `kind: postgres` config.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ecsContext } from '../../daemon/src/events/ecs';
import { buildInsertBatch, INSERT_BATCH_SQL, type OutboxRow } from '../../daemon/src/fleet/pg-batch';
import {
  PG_MIGRATIONS, PG_SCHEMA_VERSION, parseAge, partitionDay, partitionName, partitionsToDrop, pendingMigrations, readerGrants, redactUrl, writerGrants,
} from '../../daemon/src/fleet/pg-schema';
import { classifyPgError, SchemaVersionError } from '../../daemon/src/ship/postgres-errors';
import { parseIp } from '../../daemon/src/wire/address';
import { configOf, errorsOf } from './config-test-support';

const DAY = 86_400_000;

test('fleet schema: migrations are numbered 1..n, the newest is the version written, pending ones follow the current', () => {
  assert.equal(PG_MIGRATIONS[PG_MIGRATIONS.length - 1]?.version, PG_SCHEMA_VERSION);
  assert.deepEqual(pendingMigrations(0).map((m) => m.version), PG_MIGRATIONS.map((m) => m.version));
  assert.deepEqual(pendingMigrations(PG_SCHEMA_VERSION), []);
  assert.throws(() => pendingMigrations(PG_SCHEMA_VERSION + 1), /newer than this decoyd/);
  assert.throws(() => pendingMigrations(0, [{ version: 2, description: 'x', sql: '' }]), /numbered 2/);
  const sql = PG_MIGRATIONS[0]?.sql ?? '';
  assert.match(sql, /PARTITION BY RANGE \(ts\)/);
  assert.match(sql, /PRIMARY KEY \(event_id, ts\)/);
  for (const col of ['src inet', 'dst inet', 'doc jsonb']) assert.ok(sql.includes(col), col);
  for (const idx of ['(ts, row_id)', '(src, ts)', '(dst, ts)', '(dport, ts)', '(kind, ts)', '(sensor_id, ts)']) assert.ok(sql.includes(idx), `index ${idx}`);
  assert.match(sql, /SECURITY DEFINER/);
});

test('fleet schema: daily partition names, their days, and which ones prune drops', () => {
  const t = Date.UTC(2026, 11, 2, 23, 59, 59, 999);
  assert.equal(partitionName(t), 'decoyd_events_20261202');
  assert.equal(partitionName(t + 1), 'decoyd_events_20261203');
  assert.equal(partitionDay('decoyd_events_20261202'), Date.UTC(2026, 11, 2));
  assert.equal(partitionDay('decoyd_events_20261302'), undefined, 'month 13 is not a day');
  assert.equal(partitionDay('decoyd_events_20261202_pkey'), undefined);
  assert.equal(partitionDay('other_20261202'), undefined);
  const names = ['decoyd_events_20261130', 'decoyd_events_20261201', 'decoyd_events_20261202', 'someone_elses_table'];
  // Cut at 12:00 on the 2nd: the 30th and the 1st ended before it; the 2nd still holds newer rows.
  assert.deepEqual(partitionsToDrop(names, Date.UTC(2026, 11, 2, 12)), ['decoyd_events_20261130', 'decoyd_events_20261201']);
  assert.deepEqual(partitionsToDrop(names, Date.UTC(2026, 11, 2)), ['decoyd_events_20261130', 'decoyd_events_20261201']);
  assert.deepEqual(partitionsToDrop(names, Date.UTC(2026, 11, 2) - 1), ['decoyd_events_20261130']);
  assert.equal(parseAge('30d'), 30 * DAY);
  assert.equal(parseAge('12h'), 12 * 3_600_000);
  assert.throws(() => parseAge('30'), /expected an age/);
  assert.throws(() => parseAge('-1d'), /expected an age/);
});

test('fleet schema: writer and reader grants; role names are checked, passwords redacted', () => {
  const w = writerGrants('decoyd_writer').join(';\n');
  assert.match(w, /GRANT INSERT ON decoyd_events TO "decoyd_writer"/);
  assert.match(w, /GRANT EXECUTE ON FUNCTION decoyd_ensure_partitions/);
  assert.doesNotMatch(w, /DELETE|CREATE|doc/, 'the writer cannot delete, create or read documents');
  const r = readerGrants('decoyd_reader').join(';\n');
  assert.match(r, /GRANT SELECT ON decoyd_schema_migrations, decoyd_events/);
  assert.doesNotMatch(r, /INSERT|UPDATE|DELETE/);
  assert.throws(() => writerGrants('x"; DROP TABLE decoyd_events; --'), /not a plain role name/);
  assert.equal(redactUrl('postgres://w:s3cr%40t@db.example:5432/decoyd'), 'postgres://w:***@db.example:5432/decoyd');
  assert.equal(redactUrl('postgres://db.example/decoyd'), 'postgres://db.example/decoyd');
});

function row(id: number, boot: number, seq: number, ts: number, fields: Record<string, unknown>): OutboxRow {
  const src = typeof fields.srcIp === 'string' ? parseIp(fields.srcIp) : null;
  const dst = typeof fields.dstIp === 'string' ? parseIp(fields.dstIp) : null;
  return {
    id, boot, seq, ts, kind: String(fields.kind), proto: fields.kind === 'tcp.packet' ? 'tcp' : null, src, dst,
    sport: typeof fields.srcPort === 'number' ? fields.srcPort : null, dport: typeof fields.dstPort === 'number' ? fields.dstPort : null,
    fields: JSON.stringify({ ...fields, time: ts }),
  };
}

test('fleet batch: one statement of parallel arrays; ids, observer and documents per boot; folded packets weigh', () => {
  const t0 = Date.UTC(2026, 11, 2, 23, 59, 59);
  const boots = new Map([[1, ecsContext({ name: 'sensor-a', id: 'A', hostname: 'h1' }, 1000)], [2, ecsContext({ name: 'sensor-a2', id: 'A', hostname: 'h1' }, 2000)]]);
  const rows = [
    row(7, 1, 41, t0, { kind: 'tcp.packet', srcIp: '198.51.100.2', dstIp: '198.51.100.10', srcPort: 40000, dstPort: 22, srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02', flags: 'S', state: 'open', answer: 'syn-ack', packets: 5, lastTime: t0 + 2000 }),
    row(8, 2, 1, t0 + 1000, { kind: 'daemon.start', message: 'ready' }),
  ];
  const b = buildInsertBatch(rows, (boot) => boots.get(boot) as ReturnType<typeof ecsContext>, { id: 'A', name: 'sensor-a2', hostname: 'h1', backlog: 12, software: 'decoyd test' });
  assert.equal(b.text, INSERT_BATCH_SQL);
  assert.equal(b.values.length, 17, 'a batch of any size is 17 parameters');
  assert.match(b.text, /ON CONFLICT \(event_id, ts\) DO NOTHING/);
  assert.match(b.text, /FROM ins WHERE src IS NOT NULL/, 'summaries count only the rows really inserted');
  const [ids, ms, lastMs, sensors, kinds, protos, srcs, dsts, sports, dports, packets] = b.values as unknown[][];
  const docs = JSON.parse(String(b.values[11])) as unknown[];
  assert.equal(docs.length, 2, 'the documents go as one JSON array, in row order');
  assert.deepEqual(ids, [`A-${(1000).toString(36)}-41`, `A-${(2000).toString(36)}-1`]);
  assert.deepEqual(ms, [t0, t0 + 1000]);
  assert.deepEqual(lastMs, [t0 + 2000, t0 + 1000]);
  assert.deepEqual(sensors, ['A', 'A']);
  assert.deepEqual(kinds, ['tcp.packet', 'daemon.start']);
  assert.deepEqual(protos, ['tcp', null]);
  assert.deepEqual(srcs, ['198.51.100.2', null]);
  assert.deepEqual(dsts, ['198.51.100.10', null]);
  assert.deepEqual(sports, [40000, null]);
  assert.deepEqual(dports, [22, null]);
  assert.deepEqual(packets, [5, 1]);
  const doc0 = docs[0] as Record<string, Record<string, unknown>>;
  assert.equal(doc0.observer?.name, 'sensor-a');
  assert.equal(doc0.event?.id, ids?.[0]);
  assert.equal(doc0.source?.packets, 5);
  assert.equal((docs[1] as Record<string, Record<string, unknown>>).observer?.name, 'sensor-a2');
  assert.deepEqual(b.values.slice(12), ['A', 'sensor-a2', 'h1', 12, 'decoyd test']);
  // Partitions needed: by ts only (the 2nd's row and the 3rd's row), the last rowid for the watermark.
  assert.equal(partitionName(b.minMs), 'decoyd_events_20261202');
  assert.equal(partitionName(b.maxMs), 'decoyd_events_20261203');
  assert.equal(b.lastId, 8);
  // The same rows give the same statement: a replay is byte-identical, so ON CONFLICT sees the same keys.
  assert.deepEqual(buildInsertBatch(rows, (boot) => boots.get(boot) as ReturnType<typeof ecsContext>, { id: 'A', name: 'sensor-a2', hostname: 'h1', backlog: 12, software: 'decoyd test' }).values, b.values);
});

test('fleet errors: login, unreachable, schema, permission, timeout are told apart', () => {
  assert.equal(classifyPgError(Object.assign(new Error('password authentication failed for user "w"'), { code: '28P01' })).reason, 'auth');
  assert.equal(classifyPgError(Object.assign(new Error('connect ENOENT /nope/.s.PGSQL.5432'), { code: 'ENOENT' })).reason, 'unreachable');
  assert.equal(classifyPgError(Object.assign(new Error('connect ECONNREFUSED 192.0.2.1:5432'), { code: 'ECONNREFUSED' })).reason, 'unreachable');
  assert.equal(classifyPgError(new Error('Connection terminated unexpectedly')).reason, 'unreachable');
  assert.equal(classifyPgError(new Error('timeout expired')).reason, 'timeout');
  assert.equal(classifyPgError(Object.assign(new Error('relation "decoyd_schema_migrations" does not exist'), { code: '42P01' })).reason, 'schema');
  assert.equal(classifyPgError(new SchemaVersionError('version 2')).reason, 'schema');
  assert.equal(classifyPgError(Object.assign(new Error('permission denied for table decoyd_events'), { code: '42501' })).reason, 'permission');
  assert.equal(classifyPgError(Object.assign(new Error('division by zero'), { code: '22012' })).reason, 'other');
});

test('config: kind: postgres with defaults, units, bounds; it needs the store', () => {
  const cfg = configOf('p.yaml', `store: { path: /tmp/x }
ship:
  - { kind: postgres, url: "postgres://w:pw@db.example/decoyd" }
  - { kind: postgres, name: dr, url: "postgresql://w@/decoyd?host=/run/postgresql", batch: 200, interval: 2s, reconnect_max_ms: 1000 }
`);
  const [a, b] = cfg.ship ?? [];
  assert.ok(a?.kind === 'postgres' && b?.kind === 'postgres');
  assert.equal(a.name, 'postgres-1');
  assert.equal(a.batch, 5000);
  assert.equal(a.intervalMs, 1000);
  assert.equal(b.name, 'dr');
  assert.equal(b.batch, 200);
  assert.equal(b.intervalMs, 2000);
  assert.equal(b.reconnectMaxMs, 1000);
  assert.match(errorsOf('q.yaml', 'ship:\n  - { kind: postgres, url: "postgres://db/x" }\n').lines.join('\n'), /kind: postgres ships from the embedded store/);
  assert.match(errorsOf('q.yaml', 'store: { path: /tmp/x }\nship:\n  - { kind: postgres, url: "mysql://db/x" }\n').lines.join('\n'), /postgres:\/\//);
  assert.match(errorsOf('q.yaml', 'store: { path: /tmp/x }\nship:\n  - { kind: postgres, url: "postgres://db/x", batch: 0 }\n').lines.join('\n'), /batch/);
  assert.match(errorsOf('q.yaml', 'store: { path: /tmp/x }\nship:\n  - { kind: postgres, url: "postgres://db/x", interval: 5m }\n').lines.join('\n'), /interval/);
  assert.match(errorsOf('q.yaml', 'ship:\n  - { kind: kafka }\n').lines.join('\n'), /syslog, postgres/);
});
