/**
 * One shipped batch as one PostgreSQL statement (pure: rows in, SQL text and parameters out).
 * Rows travel as parallel arrays through unnest(), so a batch of any size is 17 parameters and
 * one round trip. The documents travel as one JSON array: PostgreSQL parses that several times
 * faster than an array literal of escaped JSON strings (the one slow part of a batch otherwise). The events insert skips ids already present (a retry after a commit whose
 * acknowledgement was lost); the per-source summaries and the sensor row are updated from the
 * rows actually inserted (RETURNING), so a replay changes nothing at all.
 * `rows` is read once only (by the insert), so PostgreSQL streams it instead of materializing
 * every document in a CTE (which spilled to temp files at 5,000 rows).
 */
import type { DecoyEvent } from '../events/event';
import { toEcs, type EcsContext } from '../events/ecs';
import { ipToString } from '../wire/address';

/** A row of the sensor's SQLite store, as the outbox reads it. */
export interface OutboxRow {
  id: number;
  boot: number;
  seq: number;
  ts: number;
  kind: string;
  proto: string | null;
  src: number | null;
  dst: number | null;
  sport: number | null;
  dport: number | null;
  fields: string;
}

export interface SensorReport {
  id: string;
  name: string;
  hostname: string;
  /** Events in the store not yet shipped, after this batch. */
  backlog: number;
  software: string;
}

export interface PgStatement {
  text: string;
  values: unknown[];
}

export const INSERT_BATCH_SQL = `
WITH docs AS (
  SELECT d.doc, d.ord FROM jsonb_array_elements($12::jsonb) WITH ORDINALITY AS d(doc, ord)
), rows AS (
  SELECT r.event_id, to_timestamp(r.ms / 1000.0) AS ts, to_timestamp(r.last_ms / 1000.0) AS last_ts, r.sensor_id, r.kind, r.proto,
         r.src, r.dst, r.sport, r.dport, r.packets, docs.doc
  FROM unnest($1::text[], $2::float8[], $3::float8[], $4::text[], $5::text[], $6::text[], $7::inet[], $8::inet[], $9::int[], $10::int[], $11::int[])
    WITH ORDINALITY AS r(event_id, ms, last_ms, sensor_id, kind, proto, src, dst, sport, dport, packets, ord)
  JOIN docs USING (ord)
), ins AS (
  INSERT INTO decoyd_events (event_id, ts, last_ts, sensor_id, kind, proto, src, dst, sport, dport, packets, doc)
  SELECT event_id, ts, last_ts, sensor_id, kind, proto, src, dst, sport, dport, packets, doc FROM rows
  ON CONFLICT (event_id, ts) DO NOTHING
  RETURNING ts, last_ts, sensor_id, proto, src, dst, dport, packets
), up_sources AS (
  INSERT INTO decoyd_source_sensors AS t (src, sensor_id, first_seen, last_seen, events)
  SELECT src, sensor_id, min(ts), max(last_ts), sum(packets) FROM ins WHERE src IS NOT NULL GROUP BY src, sensor_id
  ON CONFLICT (src, sensor_id) DO UPDATE SET first_seen = least(t.first_seen, excluded.first_seen),
    last_seen = greatest(t.last_seen, excluded.last_seen), events = t.events + excluded.events
  RETURNING 1
), up_hosts AS (
  INSERT INTO decoyd_source_hosts AS t (src, sensor_id, dst, first_seen, last_seen, events)
  SELECT src, sensor_id, dst, min(ts), max(last_ts), sum(packets) FROM ins WHERE src IS NOT NULL AND dst IS NOT NULL AND dst <> src GROUP BY src, sensor_id, dst
  ON CONFLICT (src, sensor_id, dst) DO UPDATE SET first_seen = least(t.first_seen, excluded.first_seen),
    last_seen = greatest(t.last_seen, excluded.last_seen), events = t.events + excluded.events
  RETURNING 1
), up_ports AS (
  INSERT INTO decoyd_source_ports AS t (src, sensor_id, proto, port, last_seen, events)
  SELECT src, sensor_id, proto, dport, max(last_ts), sum(packets) FROM ins
  WHERE src IS NOT NULL AND dport BETWEEN 0 AND 65535 AND proto IN ('tcp', 'udp') GROUP BY src, sensor_id, proto, dport
  ON CONFLICT (src, sensor_id, proto, port) DO UPDATE SET last_seen = greatest(t.last_seen, excluded.last_seen), events = t.events + excluded.events
  RETURNING 1
), up_sensor AS (
  INSERT INTO decoyd_sensors AS t (sensor_id, name, hostname, last_event, last_report, backlog, shipped, software)
  VALUES ($13, $14, $15, (SELECT max(last_ts) FROM ins WHERE sensor_id = $13), now(), $16, (SELECT count(*) FROM ins), $17)
  ON CONFLICT (sensor_id) DO UPDATE SET name = excluded.name, hostname = excluded.hostname,
    last_event = greatest(t.last_event, excluded.last_event), last_report = now(), backlog = excluded.backlog,
    shipped = t.shipped + excluded.shipped, software = excluded.software
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins)::int AS inserted, cardinality($1::text[]) AS offered`;

/** The sensor's heartbeat when it has nothing to ship: last report time and backlog. */
export const HEARTBEAT_SQL = `
INSERT INTO decoyd_sensors AS t (sensor_id, name, hostname, last_event, last_report, backlog, shipped, software)
VALUES ($1, $2, $3, NULL, now(), $4, 0, $5)
ON CONFLICT (sensor_id) DO UPDATE SET name = excluded.name, hostname = excluded.hostname, last_report = now(), backlog = excluded.backlog, software = excluded.software`;

export interface BuiltBatch extends PgStatement {
  /** Earliest and latest event time (epoch ms): the partitions the batch needs. */
  minMs: number;
  maxMs: number;
  lastId: number;
}

/**
 * Builds the batch statement from outbox rows (in rowid order). `contextOf` gives each row's boot
 * its observer and event-id prefix, so ids and observer.* are exactly what the sensor logged.
 */
export function buildInsertBatch(rows: readonly OutboxRow[], contextOf: (boot: number) => EcsContext, sensor: SensorReport): BuiltBatch {
  const n = rows.length;
  const ids = new Array<string>(n), ms = new Array<number>(n), lastMs = new Array<number>(n), sensors = new Array<string>(n);
  const kinds = new Array<string>(n), protos = new Array<string | null>(n), srcs = new Array<string | null>(n), dsts = new Array<string | null>(n);
  const sports = new Array<number | null>(n), dports = new Array<number | null>(n), packets = new Array<number>(n), docs = new Array<string>(n);
  let minMs = Infinity;
  let maxMs = -Infinity;
  for (let k = 0; k < n; k++) {
    const row = rows[k] as OutboxRow;
    const ctx = contextOf(row.boot);
    const event = JSON.parse(row.fields) as DecoyEvent;
    const rec = event as unknown as Record<string, unknown>;
    const doc = toEcs(event, row.seq, ctx);
    ids[k] = (doc.event as { id: string }).id;
    ms[k] = row.ts;
    const last = typeof rec.lastTime === 'number' && rec.lastTime > row.ts ? rec.lastTime : row.ts;
    lastMs[k] = last;
    sensors[k] = ctx.observer.id;
    kinds[k] = row.kind;
    protos[k] = row.proto;
    srcs[k] = row.src === null ? null : ipToString(row.src);
    dsts[k] = row.dst === null ? null : ipToString(row.dst);
    sports[k] = row.sport;
    dports[k] = row.dport;
    packets[k] = typeof rec.packets === 'number' && rec.packets > 0 ? rec.packets : 1;
    docs[k] = JSON.stringify(doc);
    if (row.ts < minMs) minMs = row.ts;
    if (row.ts > maxMs) maxMs = row.ts;
  }
  return {
    text: INSERT_BATCH_SQL,
    values: [ids, ms, lastMs, sensors, kinds, protos, srcs, dsts, sports, dports, packets, `[${docs.join(',')}]`, sensor.id, sensor.name, sensor.hostname, sensor.backlog, sensor.software],
    minMs, maxMs, lastId: n === 0 ? 0 : (rows[n - 1] as OutboxRow).id,
  };
}
