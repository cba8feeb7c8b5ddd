/**
 * The fleet's pure parts: migration list and partition arithmetic, role grants, the batch
 * statement built from outbox rows, error classes, and the `kind: postgres` config.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchNotice, BATCH_CHANNEL, buildInsertBatch, FRESH_BATCH_SQL, NOTICE_MAX_RUNS, PORT_BLOCK, parseBatchNotice, RESEND_BATCH_SQL, numberArrayLiteral, textArrayLiteral, jsonbSafe, type OutboxRow } from '../../daemon/src/fleet/pg-batch';
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
  assert.match(PG_MIGRATIONS[0]?.sql ?? '', /SECURITY DEFINER/);
  // The events table as version 2 leaves it.
  const v2 = PG_MIGRATIONS[1] as (typeof PG_MIGRATIONS)[number];
  const sql = v2.sql;
  assert.match(sql, /PARTITION BY RANGE \(ts\)/);
  assert.match(sql, /PRIMARY KEY \(boot, seq, ts\)/);
  for (const col of ['src inet', 'dst inet', 'fields jsonb', 'id_prefix text NOT NULL UNIQUE']) assert.ok(sql.includes(col), col);
  for (const idx of ['(ts, row_id)', '(src, ts)', '(dst, ts)', '(dport, ts)', '(kind, ts)', '(sensor_id, ts)']) assert.ok(sql.includes(idx), `index ${idx}`);
  assert.equal(typeof v2.data, 'function', 'version 1 rows are rewritten, not dropped');
  assert.match(v2.finish ?? '', /DROP TABLE decoyd_events_v1/);
  // Version 3: the key leads with the time and replaces the time index and the row ids.
  const v3 = (PG_MIGRATIONS[2] as (typeof PG_MIGRATIONS)[number]).sql;
  assert.match(v3, /PRIMARY KEY \(ts, boot, seq\)/);
  assert.match(v3, /DROP INDEX decoyd_events_ts;/);
  assert.match(v3, /DROP COLUMN row_id;/);
  for (const idx of ['(src, ts, sensor_id)', '(dst, ts, sensor_id)', '(dport, ts, sensor_id)', '(kind, ts, sensor_id)']) assert.ok(v3.includes(idx), `index ${idx}`);
  assert.ok(!writerGrants('w').some((g) => g.includes('decoyd_event_row_id')), 'no grant on the sequence version 3 drops');
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
  assert.match(w, /decoyd_boots/);
  assert.doesNotMatch(w, /DELETE|CREATE|fields/, 'the writer cannot delete, create or read events back');
  const r = readerGrants('decoyd_reader').join(';\n');
  assert.match(r, /GRANT SELECT ON decoyd_schema_migrations, decoyd_events, decoyd_boots/);
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

/** A one-dimensional array literal back to its elements (quoted or bare; NULL as null). */
function fromArrayLiteral(literal: unknown): (string | null)[] {
  const text = String(literal);
  assert.ok(text.startsWith('{') && text.endsWith('}'), text);
  const out: (string | null)[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|([^,{}"]+)/g;
  for (const m of text.slice(1, -1).matchAll(re)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2] === 'NULL' ? null : (m[2] as string));
  return out;
}

test('fleet batch: array literals quote texts, escape quotes and backslashes, and write NULL', () => {
  assert.equal(numberArrayLiteral([1, null, -3]), '{1,NULL,-3}');
  assert.equal(numberArrayLiteral([]), '{}');
  assert.equal(numberArrayLiteral([60.262939453125, 0]), '{60.262939453125,0}', 'event times carry fractions of a millisecond');
  assert.equal(textArrayLiteral(['a', null, 'say "hi"', 'back\\slash', 'NULL']), '{"a",NULL,"say \\"hi\\"","back\\\\slash","NULL"}');
  assert.deepEqual(fromArrayLiteral(textArrayLiteral(['a,b', '{x}', 'q"'])), ['a,b', '{x}', 'q"']);
});

test('fleet batch: one statement of parallel arrays; boots and fields as stored; folded packets weigh', () => {
  const t0 = Date.UTC(2026, 11, 2, 23, 59, 59);
  const boots = new Map([[1, { key: 31, sensorId: 'A' }], [2, { key: 32, sensorId: 'A' }]]);
  const rows = [
    row(7, 1, 41, t0, { kind: 'tcp.packet', srcIp: '198.51.100.2', dstIp: '198.51.100.10', srcPort: 40000, dstPort: 22, srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02', flags: 'S', state: 'open', answer: 'syn-ack', packets: 5, lastTime: t0 + 2000 }),
    row(8, 2, 1, t0 + 1000, { kind: 'daemon.start', message: 'ready' }),
  ];
  const bootOf = (boot: number): { key: number; sensorId: string } => boots.get(boot) as { key: number; sensorId: string };
  const b = buildInsertBatch(rows, bootOf, { id: 'A', name: 'sensor-a2', hostname: 'h1', backlog: 12, software: 'decoyd test' }, 'resend');
  assert.equal(b.text, RESEND_BATCH_SQL);
  assert.equal(b.values.length, 20, 'a batch of any size is 20 parameters');
  assert.match(b.text, /ON CONFLICT \(boot, seq, ts\) DO NOTHING/);
  assert.match(b.text, /FROM ins WHERE src IS NOT NULL/, 'summaries count only the rows really inserted');
  const v = b.values;
  assert.deepEqual(fromArrayLiteral(v[0]), ['31', '32'], 'boot keys');
  assert.deepEqual(fromArrayLiteral(v[1]), ['41', '1'], 'sequences');
  assert.equal(v[2], t0 * 1000, 'times in microseconds, as offsets from the earliest');
  assert.deepEqual(fromArrayLiteral(v[3]), ['0', '1000000']);
  assert.deepEqual(fromArrayLiteral(v[4]), ['2000000', '0'], 'lastTime as an offset from the row time');
  assert.deepEqual(fromArrayLiteral(v[5]), ['tcp.packet', 'daemon.start']);
  assert.deepEqual(fromArrayLiteral(v[6]), ['tcp', null]);
  assert.deepEqual(fromArrayLiteral(v[7]), [String(parseIp('198.51.100.2')), null], 'addresses as integers (inet + integer in SQL)');
  assert.deepEqual(fromArrayLiteral(v[8]), [String(parseIp('198.51.100.10')), null]);
  assert.deepEqual(fromArrayLiteral(v[9]), ['40000', null]);
  assert.deepEqual(fromArrayLiteral(v[10]), ['22', null]);
  const fields = JSON.parse(String(v[11])) as unknown[];
  assert.deepEqual(fields, rows.map((r) => JSON.parse(r.fields)), 'the fields go as one JSON array, in row order, as the store wrote them');
  assert.deepEqual(fromArrayLiteral(v[12]), ['5', '1'], 'folded packets weigh');
  assert.deepEqual(fromArrayLiteral(v[13]), ['31', '32']);
  assert.deepEqual(fromArrayLiteral(v[14]), ['A', 'A'], 'each boot names its sensor');
  assert.deepEqual(v.slice(15), ['A', 'sensor-a2', 'h1', 12, 'decoyd test']);
  // Partitions needed: by ts only (the 2nd's row and the 3rd's row), the last rowid for the watermark.
  assert.equal(partitionName(b.minMs), 'decoyd_events_20261202');
  assert.equal(partitionName(b.maxMs), 'decoyd_events_20261203');
  assert.equal(b.lastId, 8);
  // The same rows give the same statement: a replay is byte-identical, so ON CONFLICT sees the same keys.
  assert.deepEqual(buildInsertBatch(rows, bootOf, { id: 'A', name: 'sensor-a2', hostname: 'h1', backlog: 12, software: 'decoyd test' }, 'resend').values, b.values);

  // The fresh form: the same 20, then the summaries folded here, sorted by key, and the last event time.
  const f = buildInsertBatch(rows, bootOf, { id: 'A', name: 'sensor-a2', hostname: 'h1', backlog: 12, software: 'decoyd test' }, 'fresh');
  assert.equal(f.text, FRESH_BATCH_SQL);
  assert.doesNotMatch(f.text, /ON CONFLICT \(boot, seq, ts\)|RETURNING/, 'no conflict check per row, no RETURNING set');
  assert.deepEqual(f.values.slice(0, 20), b.values);
  assert.equal(f.values.length, 39);
  const src = String(parseIp('198.51.100.2'));
  const dst = String(parseIp('198.51.100.10'));
  assert.deepEqual(f.values.slice(20, 25).map((x) => fromArrayLiteral(x)), [[src], ['A'], ['0'], ['2000000'], ['5']], 'sources: src, sensor, first, last, events');
  assert.deepEqual(f.values.slice(25, 31).map((x) => fromArrayLiteral(x)), [[src], ['A'], [dst], ['0'], ['2000000'], ['5']], 'hosts');
  const port22 = Array.from({ length: PORT_BLOCK }, (_, k) => (k === 22 ? '5' : '0'));
  assert.deepEqual(f.values.slice(31, 37).map((x) => fromArrayLiteral(x)), [[src], ['A'], ['tcp'], ['0'], ['2000000'], port22], 'ports: block 0, its 64 counts');
  assert.equal(f.values[37], 2_000_000, 'the newest event end of this sensor, as an offset');
  assert.deepEqual(parseBatchNotice(String(f.values[38])), { fromUs: t0 * 1000, toUs: t0 * 1000 + 1_000_000, runs: [[31, 41, 41], [32, 1, 1]] },
    'the notice names each boot\'s sequences and the batch\'s time range');
  assert.match(f.text, new RegExp(`pg_notify\\('${BATCH_CHANNEL}', \\$39::text\\)`));
  assert.match(b.text, /pg_notify\('decoyd_events', json_build_object/, 'a resend notifies the runs it inserted');
});

test('fleet live notices: the shipper\'s shape is read, anything else is refused', () => {
  const ok = batchNotice({ fromUs: 1_764_633_600_000_000, toUs: 1_764_633_601_000_000, runs: [[3, 1, 5000], [4, 1, 2]] });
  assert.deepEqual(parseBatchNotice(ok), { fromUs: 1_764_633_600_000_000, toUs: 1_764_633_601_000_000, runs: [[3, 1, 5000], [4, 1, 2]] });
  // As PostgreSQL's json_build_object writes it (spaces after colons and commas).
  assert.deepEqual(parseBatchNotice('{"ts" : [10, 20], "r" : [[1,5,6], [1,9,9]]}'), { fromUs: 10, toUs: 20, runs: [[1, 5, 6], [1, 9, 9]] });
  for (const bad of ['', 'garbage', 'null', '[]', '{"ts":[20,10],"r":[[1,1,1]]}', '{"ts":[1,2],"r":[]}', '{"ts":[1,2],"r":[[0,1,1]]}', '{"ts":[1,2],"r":[[1,5,4]]}',
    '{"ts":[1,2],"r":[[1,-1,4]]}', '{"ts":[1.5,2],"r":[[1,1,1]]}', '{"ts":[1,2],"r":[[1,1,"9"]]}', '{"ts":[1,2],"r":[[2147483648,1,1]]}',
    JSON.stringify({ ts: [1, 2], r: Array.from({ length: NOTICE_MAX_RUNS + 1 }, () => [1, 1, 1]) })]) {
    assert.equal(parseBatchNotice(bad), undefined, bad.slice(0, 60));
  }
  // The longest notice the shipper can send fits PostgreSQL's 8,000-byte payload.
  const longest = batchNotice({ fromUs: Number.MAX_SAFE_INTEGER, toUs: Number.MAX_SAFE_INTEGER, runs: Array.from({ length: NOTICE_MAX_RUNS }, () => [2 ** 31 - 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER] as [number, number, number]) });
  assert.ok(Buffer.byteLength(longest) < 8000, `${Buffer.byteLength(longest)} bytes`);
});

test('fleet batch: fresh summaries fold each (source, sensor) once, in the order PostgreSQL sorts keys', () => {
  const t0 = Date.UTC(2026, 11, 2, 10);
  const ip = (s: string): number => parseIp(s) as number;
  const mk = (id: number, kind: string, src: string, dst: string, dport: number | null, extra: Record<string, unknown> = {}): OutboxRow => ({
    ...row(id, 1, id, t0 + id, { kind, srcIp: src, dstIp: dst, ...extra }),
    proto: kind === 'tcp.packet' ? 'tcp' : kind === 'udp.packet' ? 'udp' : null, src: ip(src), dst: ip(dst), sport: dport === null ? null : 1, dport,
  });
  const rows = [
    mk(1, 'udp.packet', '203.0.113.9', '198.51.100.3', 53), mk(2, 'tcp.packet', '203.0.113.9', '198.51.100.3', 80),
    mk(3, 'tcp.packet', '192.0.2.1', '198.51.100.4', 22), mk(4, 'tcp.packet', '203.0.113.9', '198.51.100.1', 80, { packets: 3 }),
    mk(5, 'icmp', '203.0.113.9', '203.0.113.9', null), mk(6, 'tcp.packet', '203.0.113.9', '198.51.100.3', 70000),
    mk(7, 'tcp.packet', '203.0.113.9', '198.51.100.3', 127),
  ];
  const v = buildInsertBatch(rows, () => ({ key: 1, sensorId: 'S' }), { id: 'S', name: 's', hostname: 'h', backlog: 0, software: 'x' }, 'fresh').values.map((x) => (typeof x === 'string' && x.startsWith('{') ? fromArrayLiteral(x) : x));
  const n = (s: string): string => String(ip(s));
  assert.deepEqual(v[20], [n('192.0.2.1'), n('203.0.113.9')], 'sources in address order');
  assert.deepEqual(v[24], ['1', '8'], 'events: packets weigh (1 + 1 + 3 + 1 + 1 + 1)');
  assert.deepEqual(v[22], ['2000', '0'], 'first and last as microsecond offsets');
  assert.deepEqual(v[23], ['2000', '6000']);
  assert.deepEqual(v[27], [n('198.51.100.4'), n('198.51.100.1'), n('198.51.100.3')], 'hosts by (src, dst); the source itself is no host');
  assert.deepEqual(v[31], [n('192.0.2.1'), n('203.0.113.9'), n('203.0.113.9')]);
  assert.deepEqual(v[33], ['tcp', 'tcp', 'udp'], 'port blocks: tcp before udp; ICMP and 70000 are no port');
  assert.deepEqual(v[34], ['0', '1', '0'], 'blocks of 64: 80 and 127 share block 1');
  assert.deepEqual(v[35], ['2000', '6000', '0'], 'a block\'s last is its newest port\'s');
  const counts = new Array<string>(3 * PORT_BLOCK).fill('0');
  counts[22] = '1';
  counts[PORT_BLOCK + 80 - 64] = '4';
  counts[PORT_BLOCK + 127 - 64] = '1';
  counts[2 * PORT_BLOCK + 53] = '1';
  assert.deepEqual(v[36], counts, 'each block\'s counts end to end, a port at its offset');
});

test('fleet batch: a row resent in another batch gets the same microsecond time (ts is part of the primary key)', () => {
  const base = Date.UTC(2026, 11, 2, 10) + 0.262939453125;
  const mk = (id: number, ts: number): OutboxRow => row(id, 1, id, ts, { kind: 'daemon.start', message: 'x' });
  const a = [mk(1, base + 7.3), mk(2, base + 9.11)];
  const b = [mk(0, base - 1234.567), ...a, mk(3, base + 0.001)];
  const abs = (batch: OutboxRow[]): number[] => {
    const v = buildInsertBatch(batch, () => ({ key: 1, sensorId: 'A' }), { id: 'A', name: 'a', hostname: 'h', backlog: 0, software: 's' }, 'fresh').values;
    return fromArrayLiteral(v[3]).map((o) => (v[2] as number) + Number(o));
  };
  assert.deepEqual(abs(b).slice(1, 3), abs(a));
  assert.deepEqual(abs(a), a.map((r) => Math.round(r.ts * 1000)));
  assert.ok(abs(b).every(Number.isInteger));
});

test('fleet batch: a NUL or a lone surrogate in a field (jsonb refuses both) becomes U+FFFD; pairs and escaped backslashes are left alone', () => {
  const cases: [string, string][] = [
    ['ro\0ot', 'ro\ufffdot'], ['\\u0000 typed as text', '\\u0000 typed as text'], ['\\\0', '\\\ufffd'], ['plain', 'plain'],
    ['x\ud800y', 'x\ufffdy'], ['\udc00', '\ufffd'], ['\ud83d\ude00', '\ud83d\ude00'], ['\\ud800 as text', '\\ud800 as text'],
  ];
  for (const [value, stored] of cases) {
    const json = JSON.stringify({ kind: 'service.login', user: value });
    const safe = jsonbSafe(json);
    assert.ok(!/(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f])/.test(safe), `${json} -> ${safe}`);
    assert.equal((JSON.parse(safe) as { user: string }).user, stored, json);
  }
  for (const user of ['a\0b', 'a\ud800b']) {
    const r = row(9, 1, 2, Date.UTC(2026, 11, 2), { kind: 'service.login', user });
    const b = buildInsertBatch([r], () => ({ key: 1, sensorId: 'A' }), { id: 'A', name: 'a', hostname: 'h', backlog: 0, software: 's' }, 'fresh');
    assert.equal((JSON.parse(String(b.values[11])) as { user: string }[])[0]?.user, 'a\ufffdb');
  }
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
  - { kind: postgres, name: dr, url: "postgresql://w@/decoyd?host=/run/postgresql", batch: 200, connections: 3, interval: 2s, reconnect_max_ms: 1000 }
`);
  const [a, b] = cfg.ship ?? [];
  assert.ok(a?.kind === 'postgres' && b?.kind === 'postgres');
  assert.equal(a.name, 'postgres-1');
  assert.equal(a.batch, 5000);
  assert.equal(a.connections, 3, 'three batches in flight by default');
  assert.equal(a.intervalMs, 1000);
  assert.equal(b.name, 'dr');
  assert.equal(b.batch, 200);
  assert.equal(b.connections, 3);
  assert.equal(b.intervalMs, 2000);
  assert.equal(b.reconnectMaxMs, 1000);
  assert.match(errorsOf('q.yaml', 'ship:\n  - { kind: postgres, url: "postgres://db/x" }\n').lines.join('\n'), /kind: postgres ships from the embedded store/);
  assert.match(errorsOf('q.yaml', 'store: { path: /tmp/x }\nship:\n  - { kind: postgres, url: "mysql://db/x" }\n').lines.join('\n'), /postgres:\/\//);
  assert.match(errorsOf('q.yaml', 'store: { path: /tmp/x }\nship:\n  - { kind: postgres, url: "postgres://db/x", batch: 0 }\n').lines.join('\n'), /batch/);
  assert.match(errorsOf('q.yaml', 'store: { path: /tmp/x }\nship:\n  - { kind: postgres, url: "postgres://db/x", interval: 5m }\n').lines.join('\n'), /interval/);
  assert.match(errorsOf('q.yaml', 'store: { path: /tmp/x }\nship:\n  - { kind: postgres, url: "postgres://db/x", connections: 9 }\n').lines.join('\n'), /connections/);
  assert.match(errorsOf('q.yaml', 'ship:\n  - { kind: kafka }\n').lines.join('\n'), /syslog, postgres/);
});
