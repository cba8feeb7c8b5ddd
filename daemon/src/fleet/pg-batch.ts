/**
 * One shipped batch as one PostgreSQL statement (pure: rows in, SQL text and parameters out).
 * Rows travel as parallel arrays through unnest(), so a batch of any size is a fixed number of
 * parameters and one round trip; the arrays are written here as literals (addresses as integers,
 * times as microsecond offsets), which costs a fraction of the driver's generic encoding. The
 * events' fields travel as one JSON array: PostgreSQL parses that several times faster than an
 * array literal of escaped JSON strings.
 *
 * A batch goes in one of two forms:
 * - fresh (rows PostgreSQL has not been sent before): a plain INSERT, and the per-source
 *   summaries folded here, in JavaScript, and upserted from arrays. The primary key still refuses
 *   a row it holds (unique_violation), which voids the whole statement: the shipper then sends
 *   those rows again as a resend. Skipping the conflict check per row, the RETURNING set and
 *   three sorts over it took PostgreSQL's CPU per event from 42 to 36 µs in bench:fleet.
 * - resend (rows that may already be there, after a lost acknowledgement, a kill or a refusal):
 *   ON CONFLICT DO NOTHING, and the summaries and the sensor row are updated from the rows
 *   actually inserted (RETURNING), so a replay changes nothing at all.
 * `rows` is read once only (by the insert), so PostgreSQL streams it instead of materializing
 * every document in a CTE (which spilled to temp files at 5,000 rows).
 */

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

/**
 * Ports per row of decoyd_source_port_blocks: a source's counts per port are kept as one array per
 * (source, sensor, protocol, block of PORT_BLOCK ports), so a scan updates a row per block it
 * touches rather than per port (a port-per-row summary was a quarter of PostgreSQL's CPU per event
 * in bench:fleet). Port p is element p % PORT_BLOCK + 1 of block p / PORT_BLOCK.
 */
export const PORT_BLOCK = 64;

/** A dense counts array from a block's sparse `offsets` and `events` arrays (the resend form and migration 4). */
export const DENSE_COUNTS = `ARRAY(SELECT coalesce(events[array_position(offsets, i)], 0)::bigint FROM generate_series(0, ${PORT_BLOCK - 1}) i ORDER BY i)`;

/** The batch's rows as a relation ($1-$15): ids, times, columns, fields and each boot's sensor. */
const BATCH_ROWS_SQL = `
WITH docs AS (
  SELECT d.fields, d.ord FROM jsonb_array_elements($12::jsonb) WITH ORDINALITY AS d(fields, ord)
), boots AS (
  SELECT * FROM unnest($14::int[], $15::text[]) AS b(boot, sensor_id)
), rows AS (
  SELECT r.boot, r.seq, timestamptz 'epoch' + ($3::bigint + r.ts_off) * interval '1 microsecond' AS ts,
         timestamptz 'epoch' + ($3::bigint + r.ts_off + r.last_off) * interval '1 microsecond' AS last_ts,
         boots.sensor_id, r.kind, r.proto, '0.0.0.0'::inet + r.src AS src, '0.0.0.0'::inet + r.dst AS dst, r.sport, r.dport, r.packets, docs.fields
  FROM unnest($1::int[], $2::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::bigint[], $9::bigint[], $10::int[], $11::int[], $13::int[])
    WITH ORDINALITY AS r(boot, seq, ts_off, last_off, kind, proto, src, dst, sport, dport, packets, ord)
  JOIN docs USING (ord) JOIN boots USING (boot)
`;

const TS = (us: string): string => `timestamptz 'epoch' + (${us}) * interval '1 microsecond'`;

/** The events' insert and each upsert's target and merge, shared by the two forms (they differ only in their rows' source). */
const INSERT_EVENTS = `INSERT INTO decoyd_events (boot, seq, ts, last_ts, sensor_id, kind, proto, src, dst, sport, dport, packets, fields)
  SELECT boot, seq, ts, last_ts, sensor_id, kind, proto, src, dst, sport, dport, packets, fields FROM rows`;
const UPSERT = {
  sources: {
    into: 'INSERT INTO decoyd_source_sensors AS t (src, sensor_id, first_seen, last_seen, events)',
    merge: `ON CONFLICT (src, sensor_id) DO UPDATE SET first_seen = least(t.first_seen, excluded.first_seen),
    last_seen = greatest(t.last_seen, excluded.last_seen), events = t.events + excluded.events`,
  },
  hosts: {
    into: 'INSERT INTO decoyd_source_hosts AS t (src, sensor_id, dst, first_seen, last_seen, events)',
    merge: `ON CONFLICT (src, sensor_id, dst) DO UPDATE SET first_seen = least(t.first_seen, excluded.first_seen),
    last_seen = greatest(t.last_seen, excluded.last_seen), events = t.events + excluded.events`,
  },
  ports: {
    into: 'INSERT INTO decoyd_source_port_blocks AS t (src, sensor_id, proto, block, last_seen, counts)',
    // Element by element, in order: both arrays hold PORT_BLOCK counts.
    merge: `ON CONFLICT (src, sensor_id, proto, block) DO UPDATE SET last_seen = greatest(t.last_seen, excluded.last_seen),
    counts = ARRAY(SELECT a + b FROM unnest(t.counts, excluded.counts) WITH ORDINALITY AS u(a, b, k) ORDER BY k)`,
  },
  sensor: {
    into: 'INSERT INTO decoyd_sensors AS t (sensor_id, name, hostname, last_event, last_report, backlog, shipped, software)',
    merge: `ON CONFLICT (sensor_id) DO UPDATE SET name = excluded.name, hostname = excluded.hostname,
    last_event = greatest(t.last_event, excluded.last_event), last_report = now(), backlog = excluded.backlog,
    shipped = t.shipped + excluded.shipped, software = excluded.software`,
  },
} as const;

/**
 * Each batch tells listeners (the fleet API's live feed, pg-live.ts) what it inserted, on commit:
 * NOTIFY on this channel with {"ts": [first µs, last µs], "r": [[boot, first seq, last seq], …]}.
 * A notification's payload is at most 8,000 bytes, and a longer one would fail the batch: a resend
 * names at most NOTICE_MAX_RUNS runs of consecutive sequences (120 of the longest fit), past that
 * one range per boot (which may name rows PostgreSQL held already); and a batch never names more
 * than NOTICE_MAX_RUNS boots (a live view then misses the rest of such a batch, which takes
 * over a hundred sensor restarts within one batch).
 */
export const BATCH_CHANNEL = 'decoyd_events';
export const NOTICE_MAX_RUNS = 120;

/** The payload a batch notifies. */
export interface BatchNotice {
  /** The inserted rows' first and last time, µs since the epoch. */
  fromUs: number;
  toUs: number;
  /** [boot key, first seq, last seq], by boot then seq. */
  runs: [number, number, number][];
}

/** The fresh form's payload ($39): each boot's range of sequences (every row of a fresh batch is new). */
export function batchNotice(n: BatchNotice): string {
  return JSON.stringify({ ts: [n.fromUs, n.toUs], r: n.runs });
}

/** Rows the live feed reads for one notice, at most: a batch never holds more (the shipper's batch is at most 50,000). */
export const NOTICE_MAX_ROWS = 50_000;

/**
 * A notice as the live feed reads it; undefined for anything a shipper would not send (any role
 * allowed to connect may NOTIFY on the channel, so nothing in it is trusted beyond its shape).
 */
export function parseBatchNotice(payload: string): BatchNotice | undefined {
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const { ts, r } = v as { ts?: unknown; r?: unknown };
  if (!Array.isArray(ts) || ts.length !== 2 || !Array.isArray(r) || r.length === 0 || r.length > NOTICE_MAX_RUNS) return undefined;
  const [fromUs, toUs] = ts as unknown[];
  if (!Number.isSafeInteger(fromUs) || !Number.isSafeInteger(toUs) || (toUs as number) < (fromUs as number)) return undefined;
  const runs: [number, number, number][] = [];
  for (const run of r as unknown[]) {
    if (!Array.isArray(run) || run.length !== 3) return undefined;
    const [boot, lo, hi] = run as unknown[];
    if (!Number.isInteger(boot) || (boot as number) < 1 || (boot as number) > 2 ** 31 - 1) return undefined;
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || (lo as number) < 0 || (hi as number) < (lo as number)) return undefined;
    runs.push([boot as number, lo as number, hi as number]);
  }
  return { fromUs: fromUs as number, toUs: toUs as number, runs };
}

/**
 * Summary rows are upserted in key order, so two batches in flight on two connections take their
 * row locks in the same order: the later one waits for the earlier one's commit, never deadlocks.
 * The fresh form's arrays come sorted the same way (src, sensor, then dst or proto and port).
 * PostgreSQL runs data-modifying CTEs that nothing reads last-listed first, so `ins` is listed
 * last: the events go in before any summary or sensor row is locked, and a batch on another
 * connection waits on those locks only for its last steps, not for its whole insert (listed
 * first, two batches in flight took 283 ms a statement instead of 171). The resend form gets
 * the same order by reading `ins`.
 */
export const FRESH_BATCH_SQL = `${BATCH_ROWS_SQL}), up_sources AS (
  ${UPSERT.sources.into}
  SELECT '0.0.0.0'::inet + x.src, x.sensor_id, ${TS('$3::bigint + x.first_off')}, ${TS('$3::bigint + x.last_off')}, x.events
  FROM unnest($21::bigint[], $22::text[], $23::bigint[], $24::bigint[], $25::bigint[]) AS x(src, sensor_id, first_off, last_off, events)
  ${UPSERT.sources.merge}
), up_hosts AS (
  ${UPSERT.hosts.into}
  SELECT '0.0.0.0'::inet + x.src, x.sensor_id, '0.0.0.0'::inet + x.dst, ${TS('$3::bigint + x.first_off')}, ${TS('$3::bigint + x.last_off')}, x.events
  FROM unnest($26::bigint[], $27::text[], $28::bigint[], $29::bigint[], $30::bigint[], $31::bigint[]) AS x(src, sensor_id, dst, first_off, last_off, events)
  ${UPSERT.hosts.merge}
), up_ports AS (
  ${UPSERT.ports.into}
  SELECT '0.0.0.0'::inet + x.src, x.sensor_id, x.proto, x.block, ${TS('$3::bigint + x.last_off')}, ($37::bigint[])[(x.k - 1) * ${PORT_BLOCK} + 1 : x.k * ${PORT_BLOCK}]
  FROM unnest($32::bigint[], $33::text[], $34::text[], $35::int[], $36::bigint[]) WITH ORDINALITY AS x(src, sensor_id, proto, block, last_off, k)
  ${UPSERT.ports.merge}
), up_sensor AS (
  ${UPSERT.sensor.into}
  VALUES ($16, $17, $18, ${TS('$3::bigint + $38::bigint')}, now(), $19, cardinality($1::int[]), $20)
  ${UPSERT.sensor.merge}
), ins AS (
  ${INSERT_EVENTS}
), note AS (
  SELECT pg_notify('${BATCH_CHANNEL}', $39::text)
)
SELECT cardinality($1::int[]) AS inserted, cardinality($1::int[]) AS offered, (SELECT count(*) FROM note)::int AS notified`;

/** The resend form: rows PostgreSQL may hold already are skipped, and only the rows inserted count. */
export const RESEND_BATCH_SQL = `${BATCH_ROWS_SQL}), ins AS (
  ${INSERT_EVENTS}
  ON CONFLICT (boot, seq, ts) DO NOTHING
  RETURNING boot, seq, ts, last_ts, sensor_id, proto, src, dst, dport, packets
), up_sources AS (
  ${UPSERT.sources.into}
  SELECT src, sensor_id, min(ts), max(last_ts), sum(packets) FROM ins WHERE src IS NOT NULL GROUP BY src, sensor_id ORDER BY src, sensor_id
  ${UPSERT.sources.merge}
  RETURNING 1
), up_hosts AS (
  ${UPSERT.hosts.into}
  SELECT src, sensor_id, dst, min(ts), max(last_ts), sum(packets) FROM ins WHERE src IS NOT NULL AND dst IS NOT NULL AND dst <> src GROUP BY src, sensor_id, dst ORDER BY src, sensor_id, dst
  ${UPSERT.hosts.merge}
  RETURNING 1
), port_blocks AS (
  SELECT src, sensor_id, proto, dport / ${PORT_BLOCK} AS block, max(last_ts) AS last_seen, array_agg(dport % ${PORT_BLOCK}) AS offsets, array_agg(events) AS events
  FROM (SELECT src, sensor_id, proto, dport, max(last_ts) AS last_ts, sum(packets) AS events FROM ins
    WHERE src IS NOT NULL AND dport BETWEEN 0 AND 65535 AND proto IN ('tcp', 'udp') GROUP BY src, sensor_id, proto, dport) p
  GROUP BY src, sensor_id, proto, dport / ${PORT_BLOCK}
), up_ports AS (
  ${UPSERT.ports.into}
  SELECT src, sensor_id, proto, block, last_seen, ${DENSE_COUNTS} FROM port_blocks ORDER BY src, sensor_id, proto, block
  ${UPSERT.ports.merge}
  RETURNING 1
), up_sensor AS (
  ${UPSERT.sensor.into}
  VALUES ($16, $17, $18, (SELECT max(last_ts) FROM ins WHERE sensor_id = $16), now(), $19, (SELECT count(*) FROM ins), $20)
  ${UPSERT.sensor.merge}
  RETURNING 1
), runs AS (
  -- The inserted rows as runs of consecutive sequences per boot (rows PostgreSQL held split them).
  SELECT boot, min(seq) AS lo, max(seq) AS hi FROM (SELECT boot, seq, seq - row_number() OVER (PARTITION BY boot ORDER BY seq) AS island FROM ins) i GROUP BY boot, island
), note AS (
  SELECT pg_notify('${BATCH_CHANNEL}', json_build_object(
    'ts', json_build_array((extract(epoch FROM min(ins.ts)) * 1000000)::bigint, (extract(epoch FROM max(ins.ts)) * 1000000)::bigint),
    'r', CASE WHEN (SELECT count(*) FROM runs) <= ${NOTICE_MAX_RUNS} THEN (SELECT json_agg(json_build_array(boot, lo, hi) ORDER BY boot, lo) FROM runs)
      ELSE (SELECT json_agg(json_build_array(boot, lo, hi) ORDER BY boot) FROM (SELECT boot, min(lo) AS lo, max(hi) AS hi FROM runs GROUP BY boot ORDER BY boot LIMIT ${NOTICE_MAX_RUNS}) b) END)::text)
  FROM ins HAVING count(*) > 0
)
SELECT (SELECT count(*) FROM ins)::int AS inserted, cardinality($1::int[]) AS offered, (SELECT count(*) FROM note)::int AS notified`;

/** A PostgreSQL array literal of numbers (null as NULL): node-pg's generic array encoding costs several times more. */
export function numberArrayLiteral(values: readonly (number | null)[]): string {
  let out = '{';
  for (let k = 0; k < values.length; k++) {
    const v = values[k];
    if (k > 0) out += ',';
    out += v === null || v === undefined ? 'NULL' : String(v);
  }
  return `${out}}`;
}

const quotedText = new Map<string, string>();

/** A PostgreSQL array literal of texts, each element quoted (kinds and protocols repeat: their quoting is cached). */
export function textArrayLiteral(values: readonly (string | null)[]): string {
  let out = '{';
  for (let k = 0; k < values.length; k++) {
    const v = values[k];
    if (k > 0) out += ',';
    if (v === null || v === undefined) { out += 'NULL'; continue; }
    let q = quotedText.get(v);
    if (q === undefined) {
      q = `"${v.replace(/["\\]/g, '\\$&')}"`;
      if (quotedText.size < 1000) quotedText.set(v, q);
    }
    out += q;
  }
  return `${out}}`;
}

/** Registers one boot of a sensor (its event-id prefix and observer); returns its key in decoyd_boots. */
export const REGISTER_BOOT_SQL = `
INSERT INTO decoyd_boots (id_prefix, sensor_id, observer) VALUES ($1, $2, $3::jsonb)
ON CONFLICT (id_prefix) DO UPDATE SET observer = excluded.observer
RETURNING boot`;

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
  form: BatchForm;
}

const NO_FIELDS: Record<string, unknown> = {};

/**
 * An escape jsonb refuses, not itself escaped (an even run of backslashes before it): U+0000, and
 * a UTF-16 surrogate, which JSON.stringify escapes only when it stands alone (pairs are written
 * as the character).
 */
const JSONB_REFUSED_ESCAPE = /(?<!\\)((?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/g;

/**
 * PostgreSQL's jsonb holds neither U+0000 nor a lone surrogate, and refuses the whole statement
 * for one: a hostile client that gets either into a field would stall shipping for good. Each
 * becomes U+FFFD in PostgreSQL (the sensor's own store keeps the original).
 */
export function jsonbSafe(json: string): string {
  return json.replace(JSONB_REFUSED_ESCAPE, '$1\\ufffd');
}

/** A store boot as PostgreSQL knows it: its key in decoyd_boots and the sensor id its events carry. */
export interface RegisteredBoot {
  key: number;
  sensorId: string;
}

/** Which statement a batch goes as: see the head of this file. */
export type BatchForm = 'fresh' | 'resend';

interface Tally {
  /** Microseconds from the batch's base time. */
  first: number;
  last: number;
  events: number;
}

interface SourceTally extends Tally {
  src: number;
  sensorId: string;
  hosts: Map<number, Tally>;
  /** By port, UDP ports after TCP's (65536 + port): the order of (proto, port) in PostgreSQL. */
  ports: Map<number, Tally>;
}

function tally(into: Tally | undefined, first: number, last: number, events: number): Tally {
  if (into === undefined) return { first, last, events };
  if (first < into.first) into.first = first;
  if (last > into.last) into.last = last;
  into.events += events;
  return into;
}

/** The per-source summaries of a fresh batch as upsert arrays ($21-$37), in the key order the resend form sorts by. */
function summaryValues(sources: Map<string, SourceTally>): string[] {
  const list = [...sources.values()].sort((a, b) => a.src - b.src || (a.sensorId < b.sensorId ? -1 : a.sensorId > b.sensorId ? 1 : 0));
  const s = { src: [] as number[], sensor: [] as string[], first: [] as number[], last: [] as number[], events: [] as number[] };
  const h = { src: [] as number[], sensor: [] as string[], dst: [] as number[], first: [] as number[], last: [] as number[], events: [] as number[] };
  // Ports by block: $37 is every block's PORT_BLOCK counts end to end, in the blocks' order.
  const p = { src: [] as number[], sensor: [] as string[], proto: [] as string[], block: [] as number[], last: [] as number[], counts: [] as number[] };
  for (const t of list) {
    s.src.push(t.src); s.sensor.push(t.sensorId); s.first.push(t.first); s.last.push(t.last); s.events.push(t.events);
    for (const dst of [...t.hosts.keys()].sort((a, b) => a - b)) {
      const x = t.hosts.get(dst) as Tally;
      h.src.push(t.src); h.sensor.push(t.sensorId); h.dst.push(dst); h.first.push(x.first); h.last.push(x.last); h.events.push(x.events);
    }
    let blockKey = -1;
    let at = 0;
    for (const key of [...t.ports.keys()].sort((a, b) => a - b)) {
      const x = t.ports.get(key) as Tally;
      // UDP keys are 65536 + port, so a block key (key / PORT_BLOCK) never mixes the protocols.
      if (Math.floor(key / PORT_BLOCK) !== blockKey) {
        blockKey = Math.floor(key / PORT_BLOCK);
        p.src.push(t.src); p.sensor.push(t.sensorId); p.proto.push(key >= 65536 ? 'udp' : 'tcp'); p.block.push((key & 0xffff) / PORT_BLOCK | 0); p.last.push(x.last);
        at = p.counts.length;
        for (let k = 0; k < PORT_BLOCK; k++) p.counts.push(0);
      } else if (x.last > (p.last[p.last.length - 1] as number)) p.last[p.last.length - 1] = x.last;
      p.counts[at + (key % PORT_BLOCK)] = x.events;
    }
  }
  return [
    numberArrayLiteral(s.src), textArrayLiteral(s.sensor), numberArrayLiteral(s.first), numberArrayLiteral(s.last), numberArrayLiteral(s.events),
    numberArrayLiteral(h.src), textArrayLiteral(h.sensor), numberArrayLiteral(h.dst), numberArrayLiteral(h.first), numberArrayLiteral(h.last), numberArrayLiteral(h.events),
    numberArrayLiteral(p.src), textArrayLiteral(p.sensor), textArrayLiteral(p.proto), numberArrayLiteral(p.block), numberArrayLiteral(p.last), numberArrayLiteral(p.counts),
  ];
}

/**
 * Builds the batch statement from outbox rows (in rowid order). `bootOf` gives each row's boot
 * as registered in PostgreSQL. The row's fields go as the store wrote them: no ECS conversion and
 * no re-serializing here; they are parsed only for the two values the summaries weigh by.
 */
export function buildInsertBatch(rows: readonly OutboxRow[], bootOf: (boot: number) => RegisteredBoot, sensor: SensorReport, form: BatchForm): BuiltBatch {
  const n = rows.length;
  const boots = new Array<number>(n), seqs = new Array<number>(n), tsOff = new Array<number>(n), lastOff = new Array<number>(n);
  const kinds = new Array<string>(n), protos = new Array<string | null>(n), srcs = new Array<number | null>(n), dsts = new Array<number | null>(n);
  const sports = new Array<number | null>(n), dports = new Array<number | null>(n), packets = new Array<number>(n), fields = new Array<string>(n);
  const sensorOfBoot = new Map<number, string>();
  const seqRange = new Map<number, [number, number, number]>();
  const sources = new Map<string, SourceTally>();
  let lastSource: SourceTally | undefined;
  let lastEvent: number | null = null;
  let minMs = Infinity;
  let maxMs = -Infinity;
  // Times in whole microseconds (PostgreSQL's precision), written as offsets from the batch's
  // earliest. Integer arithmetic makes a row's ts the same in whatever batch it is resent: ts is
  // part of the primary key, so a different rounding would insert the replay as a new row.
  const us = new Array<number>(n);
  let baseUs = Infinity;
  let lastUs = -Infinity;
  for (let k = 0; k < n; k++) {
    const row = rows[k] as OutboxRow;
    if (row.ts < minMs) minMs = row.ts;
    if (row.ts > maxMs) maxMs = row.ts;
    const u = Math.round(row.ts * 1000);
    us[k] = u;
    if (u < baseUs) baseUs = u;
    if (u > lastUs) lastUs = u;
  }
  for (let k = 0; k < n; k++) {
    const row = rows[k] as OutboxRow;
    const boot = bootOf(row.boot);
    sensorOfBoot.set(boot.key, boot.sensorId);
    // Most rows carry neither key; parsing only those that do halves the cost of a batch here.
    const rec = row.fields.includes('"packets"') || row.fields.includes('"lastTime"') ? JSON.parse(row.fields) as Record<string, unknown> : NO_FIELDS;
    boots[k] = boot.key;
    seqs[k] = row.seq;
    tsOff[k] = (us[k] as number) - baseUs;
    lastOff[k] = typeof rec.lastTime === 'number' && rec.lastTime > row.ts ? Math.round(rec.lastTime * 1000) - (us[k] as number) : 0;
    kinds[k] = row.kind;
    protos[k] = row.proto;
    srcs[k] = row.src;
    dsts[k] = row.dst;
    sports[k] = row.sport;
    dports[k] = row.dport;
    packets[k] = typeof rec.packets === 'number' && rec.packets > 0 ? rec.packets : 1;
    fields[k] = row.fields.includes('\\u0000') || row.fields.includes('\\ud') ? jsonbSafe(row.fields) : row.fields;
    if (form === 'resend') continue;
    // The notice's ranges: the resend form derives its own from the rows PostgreSQL inserted.
    const range = seqRange.get(boot.key);
    if (range === undefined) seqRange.set(boot.key, [boot.key, row.seq, row.seq]);
    else {
      if (row.seq < range[1]) range[1] = row.seq;
      if (row.seq > range[2]) range[2] = row.seq;
    }
    // The summaries, as the resend form's GROUP BYs over RETURNING would make them.
    const first = tsOff[k] as number;
    const last = first + (lastOff[k] as number);
    if (boot.sensorId === sensor.id && (lastEvent === null || last > lastEvent)) lastEvent = last;
    if (row.src === null) continue;
    const weight = packets[k] as number;
    // Scan traffic comes in runs from one source: the run's tally is found without a lookup.
    let source = lastSource;
    if (source === undefined || source.src !== row.src || source.sensorId !== boot.sensorId) {
      const key = `${row.src}/${boot.sensorId}`;
      source = sources.get(key);
      if (source === undefined) {
        source = { src: row.src, sensorId: boot.sensorId, first, last, events: 0, hosts: new Map(), ports: new Map() };
        sources.set(key, source);
      }
      lastSource = source;
    }
    tally(source, first, last, weight);
    if (row.dst !== null && row.dst !== row.src) source.hosts.set(row.dst, tally(source.hosts.get(row.dst), first, last, weight));
    if (row.dport !== null && row.dport >= 0 && row.dport <= 65535 && (row.proto === 'tcp' || row.proto === 'udp')) {
      const port = (row.proto === 'udp' ? 65536 : 0) + row.dport;
      source.ports.set(port, tally(source.ports.get(port), first, last, weight));
    }
  }
  const values: unknown[] = [
    numberArrayLiteral(boots), numberArrayLiteral(seqs), n === 0 ? 0 : baseUs, numberArrayLiteral(tsOff), numberArrayLiteral(lastOff), textArrayLiteral(kinds), textArrayLiteral(protos),
    numberArrayLiteral(srcs), numberArrayLiteral(dsts), numberArrayLiteral(sports), numberArrayLiteral(dports), `[${fields.join(',')}]`, numberArrayLiteral(packets),
    numberArrayLiteral([...sensorOfBoot.keys()]), textArrayLiteral([...sensorOfBoot.values()]),
    sensor.id, sensor.name, sensor.hostname, sensor.backlog, sensor.software,
  ];
  if (form === 'fresh') {
    const runs = [...seqRange.values()].sort((a, b) => a[0] - b[0]).slice(0, NOTICE_MAX_RUNS);
    values.push(...summaryValues(sources), lastEvent, batchNotice({ fromUs: n === 0 ? 0 : baseUs, toUs: n === 0 ? 0 : lastUs, runs }));
  }
  return {
    text: form === 'fresh' ? FRESH_BATCH_SQL : RESEND_BATCH_SQL,
    values, form,
    minMs, maxMs, lastId: n === 0 ? 0 : (rows[n - 1] as OutboxRow).id,
  };
}
