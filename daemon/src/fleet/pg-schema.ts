/**
 * The fleet schema on PostgreSQL, as numbered migrations (`decoyd db migrate`), plus the pure
 * pieces of partition upkeep and the role grants. Nothing here opens a connection.
 *
 * One table of events, declaratively partitioned by day (UTC) on `ts`; addresses are `inet`;
 * indexed columns beside the event's own fields as JSONB (version 2; version 1 kept the whole
 * ECS document). The ECS document is rebuilt on read from those fields and the boot's observer,
 * as the embedded store does, so the constant ECS parts are not parsed and stored per row. The
 * stable event id is (boot, seq): decoyd_boots names each sensor process start's id prefix and
 * observer; with `ts` (which a partitioned table's unique key must include, and which leads it
 * since version 3, so the key is the time index too) it is the primary key, so a replayed batch
 * inserts nothing.
 * Partitions are made by a SECURITY DEFINER function, so the sensors' writer role needs no
 * CREATE right; summaries per (source, sensor) are kept at ingest, in the same statement.
 */
import { fromEcs } from '../events/ecs';
import { DENSE_COUNTS, PORT_BLOCK, REGISTER_BOOT_SQL } from './pg-batch';

/** The schema version this decoyd writes and reads; a database at another version is refused. */
export const PG_SCHEMA_VERSION = 4;

/** What a data step needs of a connection: one query at a time (pg.Client satisfies it). */
export interface PgQueryable {
  query<R extends Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
}

export interface PgMigration {
  version: number;
  description: string;
  sql: string;
  /** Rows a migration rewrites in JavaScript, after `sql` and before `finish`, in the same transaction. */
  data?: (c: PgQueryable, say: (line: string) => void) => Promise<void>;
  finish?: string;
}

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    description: 'events partitioned by day, sensors, per-source summaries, partition function',
    sql: `
CREATE SEQUENCE decoyd_event_row_id;
CREATE TABLE decoyd_events (
  row_id bigint NOT NULL DEFAULT nextval('decoyd_event_row_id'),
  event_id text NOT NULL,
  ts timestamptz NOT NULL,
  last_ts timestamptz NOT NULL,
  sensor_id text NOT NULL,
  kind text NOT NULL,
  proto text,
  src inet,
  dst inet,
  sport integer,
  dport integer,
  packets integer NOT NULL,
  doc jsonb NOT NULL,
  PRIMARY KEY (event_id, ts)
) PARTITION BY RANGE (ts);
CREATE INDEX decoyd_events_ts ON decoyd_events (ts, row_id);
CREATE INDEX decoyd_events_row ON decoyd_events (row_id);
CREATE INDEX decoyd_events_src ON decoyd_events (src, ts) WHERE src IS NOT NULL;
CREATE INDEX decoyd_events_dst ON decoyd_events (dst, ts) WHERE dst IS NOT NULL;
CREATE INDEX decoyd_events_dport ON decoyd_events (dport, ts) WHERE dport IS NOT NULL;
CREATE INDEX decoyd_events_kind ON decoyd_events (kind, ts);
CREATE INDEX decoyd_events_sensor ON decoyd_events (sensor_id, ts);
CREATE TABLE decoyd_sensors (
  sensor_id text PRIMARY KEY,
  name text NOT NULL,
  hostname text NOT NULL,
  last_event timestamptz,
  last_report timestamptz NOT NULL,
  backlog bigint NOT NULL DEFAULT 0,
  shipped bigint NOT NULL DEFAULT 0,
  software text
);
CREATE TABLE decoyd_source_sensors (
  src inet NOT NULL, sensor_id text NOT NULL,
  first_seen timestamptz NOT NULL, last_seen timestamptz NOT NULL, events bigint NOT NULL,
  PRIMARY KEY (src, sensor_id)
);
CREATE INDEX decoyd_source_sensors_last ON decoyd_source_sensors (last_seen);
CREATE INDEX decoyd_source_sensors_sensor ON decoyd_source_sensors (sensor_id, last_seen);
CREATE TABLE decoyd_source_hosts (
  src inet NOT NULL, sensor_id text NOT NULL, dst inet NOT NULL,
  first_seen timestamptz NOT NULL, last_seen timestamptz NOT NULL, events bigint NOT NULL,
  PRIMARY KEY (src, sensor_id, dst)
);
CREATE TABLE decoyd_source_ports (
  src inet NOT NULL, sensor_id text NOT NULL, proto text NOT NULL, port integer NOT NULL,
  last_seen timestamptz NOT NULL, events bigint NOT NULL,
  PRIMARY KEY (src, sensor_id, proto, port)
);
CREATE FUNCTION decoyd_ensure_partitions(first_day date, last_day date) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_catalog AS $fn$
DECLARE
  d date := first_day;
  made integer := 0;
  part text;
BEGIN
  IF last_day < first_day OR last_day - first_day > 400 THEN
    RAISE EXCEPTION 'decoyd_ensure_partitions: % to % is not a range of at most 400 days', first_day, last_day;
  END IF;
  -- Sensors call this concurrently; one at a time avoids a catalog race on CREATE TABLE.
  PERFORM pg_advisory_xact_lock(hashtext('decoyd_ensure_partitions'));
  WHILE d <= last_day LOOP
    part := 'decoyd_events_' || to_char(d, 'YYYYMMDD');
    IF to_regclass(part) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF decoyd_events FOR VALUES FROM (%L) TO (%L)',
        part, to_char(d, 'YYYY-MM-DD') || ' 00:00:00+00', to_char(d + 1, 'YYYY-MM-DD') || ' 00:00:00+00');
      made := made + 1;
    END IF;
    d := d + 1;
  END LOOP;
  RETURN made;
END
$fn$;
REVOKE ALL ON FUNCTION decoyd_ensure_partitions(date, date) FROM PUBLIC;
`,
  },
  {
    version: 2,
    description: 'events keep their own fields (JSONB) under a boot and sequence; the ECS document is rebuilt on read',
    // Version 1's table, its partitions and their indexes step aside under v1 names, so the new ones can take theirs.
    sql: `
ALTER TABLE decoyd_events RENAME TO decoyd_events_v1;
ALTER TABLE decoyd_events_v1 RENAME CONSTRAINT decoyd_events_pkey TO decoyd_events_v1_pkey;
ALTER INDEX decoyd_events_ts RENAME TO decoyd_events_v1_ts;
ALTER INDEX decoyd_events_row RENAME TO decoyd_events_v1_row;
ALTER INDEX decoyd_events_src RENAME TO decoyd_events_v1_src;
ALTER INDEX decoyd_events_dst RENAME TO decoyd_events_v1_dst;
ALTER INDEX decoyd_events_dport RENAME TO decoyd_events_v1_dport;
ALTER INDEX decoyd_events_kind RENAME TO decoyd_events_v1_kind;
ALTER INDEX decoyd_events_sensor RENAME TO decoyd_events_v1_sensor;
DO $do$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'decoyd_events_v1'::regclass LOOP
    EXECUTE format('ALTER TABLE %I RENAME TO %I', r.relname, 'v1_' || r.relname);
  END LOOP;
  FOR r IN SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
           WHERE t.relname LIKE 'v1\\_decoyd\\_events\\_%' AND c.relname LIKE 'decoyd\\_events\\_%' LOOP
    EXECUTE format('ALTER INDEX %I RENAME TO %I', r.relname, 'v1_' || r.relname);
  END LOOP;
END
$do$;
CREATE TABLE decoyd_boots (
  boot integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  id_prefix text NOT NULL UNIQUE,
  sensor_id text NOT NULL,
  observer jsonb NOT NULL,
  registered timestamptz NOT NULL DEFAULT now()
);
ALTER SEQUENCE decoyd_event_row_id CACHE 64;
CREATE TABLE decoyd_events (
  row_id bigint NOT NULL DEFAULT nextval('decoyd_event_row_id'),
  boot integer NOT NULL,
  seq bigint NOT NULL,
  ts timestamptz NOT NULL,
  last_ts timestamptz NOT NULL,
  sensor_id text NOT NULL,
  kind text NOT NULL,
  proto text,
  src inet,
  dst inet,
  sport integer,
  dport integer,
  packets integer NOT NULL,
  fields jsonb NOT NULL,
  PRIMARY KEY (boot, seq, ts)
) PARTITION BY RANGE (ts);
CREATE INDEX decoyd_events_ts ON decoyd_events (ts, row_id);
CREATE INDEX decoyd_events_src ON decoyd_events (src, ts) WHERE src IS NOT NULL;
CREATE INDEX decoyd_events_dst ON decoyd_events (dst, ts) WHERE dst IS NOT NULL;
CREATE INDEX decoyd_events_dport ON decoyd_events (dport, ts) WHERE dport IS NOT NULL;
CREATE INDEX decoyd_events_kind ON decoyd_events (kind, ts);
CREATE INDEX decoyd_events_sensor ON decoyd_events (sensor_id, ts);
-- Summary rows are updated in place at every batch: room left on their pages keeps those updates HOT.
ALTER TABLE decoyd_source_sensors SET (fillfactor = 70);
ALTER TABLE decoyd_source_hosts SET (fillfactor = 70);
ALTER TABLE decoyd_source_ports SET (fillfactor = 70);
SELECT decoyd_ensure_partitions(
  coalesce((SELECT (min(ts) AT TIME ZONE 'UTC')::date FROM decoyd_events_v1), current_date),
  coalesce((SELECT (max(ts) AT TIME ZONE 'UTC')::date FROM decoyd_events_v1), current_date));
`,
    data: copyVersion1Events,
    finish: 'DROP TABLE decoyd_events_v1;',
  },
  {
    version: 3,
    description: 'the primary key leads with the time and serves as the time index; row ids go; the source, destination, port and kind indexes carry the sensor',
    // (ts, boot, seq) holds the same rows unique as (boot, seq, ts), and as the time index it orders
    // event pages too: one index and one sequence step fewer per inserted event (in bench:fleet's
    // SQL-level runs, 2 to 4 µs of PostgreSQL's CPU per event of about 31).
    // sensor_id after ts lets a sensor= filter be checked inside those indexes: a sensor that saw
    // little of a port, kind or address the fleet sees a lot no longer costs a heap fetch per
    // other sensor's row (an absent pair read 55 buffers instead of 2,011 over 2 million rows).
    sql: `
ALTER TABLE decoyd_events DROP CONSTRAINT decoyd_events_pkey;
ALTER TABLE decoyd_events ADD CONSTRAINT decoyd_events_pkey PRIMARY KEY (ts, boot, seq);
DROP INDEX decoyd_events_ts;
ALTER TABLE decoyd_events DROP COLUMN row_id;
DROP SEQUENCE decoyd_event_row_id;
DROP INDEX decoyd_events_src, decoyd_events_dst, decoyd_events_dport, decoyd_events_kind;
CREATE INDEX decoyd_events_src ON decoyd_events (src, ts, sensor_id) WHERE src IS NOT NULL;
CREATE INDEX decoyd_events_dst ON decoyd_events (dst, ts, sensor_id) WHERE dst IS NOT NULL;
CREATE INDEX decoyd_events_dport ON decoyd_events (dport, ts, sensor_id) WHERE dport IS NOT NULL;
CREATE INDEX decoyd_events_kind ON decoyd_events (kind, ts, sensor_id);
`,
  },
  {
    version: 4,
    description: `ports touched per source are counted in blocks of ${PORT_BLOCK} ports, a row per block instead of per port`,
    // A scan touches a row per block rather than per port: in bench:fleet that summary took a quarter
    // of PostgreSQL's CPU per event. Whoever was granted the old table is granted the new one alike,
    // so sensors and the API keep working without a new --writer/--reader run.
    sql: `
CREATE TABLE decoyd_source_port_blocks (
  src inet NOT NULL, sensor_id text NOT NULL, proto text NOT NULL, block integer NOT NULL,
  last_seen timestamptz NOT NULL, counts bigint[] NOT NULL CHECK (cardinality(counts) = ${PORT_BLOCK}),
  PRIMARY KEY (src, sensor_id, proto, block)
) WITH (fillfactor = 70);
INSERT INTO decoyd_source_port_blocks (src, sensor_id, proto, block, last_seen, counts)
  SELECT src, sensor_id, proto, block, last_seen, ${DENSE_COUNTS}
  FROM (SELECT src, sensor_id, proto, port / ${PORT_BLOCK} AS block, max(last_seen) AS last_seen, array_agg(port % ${PORT_BLOCK}) AS offsets, array_agg(events) AS events
        FROM decoyd_source_ports GROUP BY src, sensor_id, proto, port / ${PORT_BLOCK}) b;
DO $do$
DECLARE r record;
BEGIN
  FOR r IN SELECT grantee, privilege_type FROM information_schema.role_table_grants
           WHERE table_schema = current_schema() AND table_name = 'decoyd_source_ports' AND grantee <> current_user LOOP
    EXECUTE format('GRANT %s ON decoyd_source_port_blocks TO %s', r.privilege_type, CASE WHEN r.grantee = 'PUBLIC' THEN 'PUBLIC' ELSE quote_ident(r.grantee) END);
  END LOOP;
END
$do$;
DROP TABLE decoyd_source_ports;
`,
  },
];

const V1_COPY_BATCH = 5000;

type V1Row = {
  row_id: string; event_id: string; ts_us: string; last_us: string; sensor_id: string; kind: string; proto: string | null;
  src: string | null; dst: string | null; sport: number | null; dport: number | null; packets: number; doc: Record<string, unknown>;
};

/**
 * Version 1 rows into version 2: each ECS document back to the flat event (fromEcs is toEcs's
 * exact inverse), its event.id split into the boot's prefix and the sequence, the observer kept
 * once per boot. Row ids carry over.
 */
async function copyVersion1Events(c: PgQueryable, say: (line: string) => void): Promise<void> {
  const boots = new Map<string, number>();
  let after = '0';
  let copied = 0;
  for (;;) {
    const r = await c.query<V1Row>(
      // Times as whole microseconds: a JavaScript Date would cut them to milliseconds, and ts is in the primary key.
      'SELECT row_id::text AS row_id, event_id, (extract(epoch FROM ts) * 1000000)::bigint::text AS ts_us, (extract(epoch FROM last_ts) * 1000000)::bigint::text AS last_us, sensor_id, kind, proto, host(src) AS src, host(dst) AS dst, sport, dport, packets, doc FROM decoyd_events_v1 WHERE row_id > $1::bigint ORDER BY row_id LIMIT $2',
      [after, V1_COPY_BATCH]);
    if (r.rows.length === 0) break;
    const cols: unknown[][] = Array.from({ length: 14 }, () => []);
    for (const row of r.rows) {
      const event = (row.doc.event ?? {}) as { sequence?: unknown };
      const seq = typeof event.sequence === 'number' ? event.sequence : Number(row.event_id.slice(row.event_id.lastIndexOf('-') + 1));
      const suffix = `-${seq}`;
      const prefix = row.event_id.endsWith(suffix) ? row.event_id.slice(0, -suffix.length) : row.event_id;
      let boot = boots.get(prefix);
      if (boot === undefined) {
        const { type: _type, product: _product, ...observer } = (row.doc.observer ?? { id: row.sensor_id, name: row.sensor_id, hostname: '' }) as Record<string, unknown>;
        const b = await c.query<{ boot: number }>(REGISTER_BOOT_SQL, [prefix, row.sensor_id, JSON.stringify(observer)]);
        boot = (b.rows[0] as { boot: number }).boot;
        boots.set(prefix, boot);
      }
      const values = [row.row_id, boot, seq, row.ts_us, row.last_us, row.sensor_id, row.kind, row.proto, row.src, row.dst, row.sport, row.dport, row.packets, JSON.stringify(fromEcs(row.doc))];
      values.forEach((v, k) => (cols[k] as unknown[]).push(v));
      after = row.row_id;
    }
    await c.query(`INSERT INTO decoyd_events (row_id, boot, seq, ts, last_ts, sensor_id, kind, proto, src, dst, sport, dport, packets, fields)
      SELECT row_id, boot, seq, timestamptz 'epoch' + ts_us * interval '1 microsecond', timestamptz 'epoch' + last_us * interval '1 microsecond',
        sensor_id, kind, proto, src, dst, sport, dport, packets, fields
      FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::inet[], $10::inet[], $11::int[], $12::int[], $13::int[], $14::jsonb[])
        AS r(row_id, boot, seq, ts_us, last_us, sensor_id, kind, proto, src, dst, sport, dport, packets, fields)
      ON CONFLICT DO NOTHING`, cols);
    copied += r.rows.length;
  }
  if (copied > 0) say(`migration 2: ${copied} events of version 1 rewritten`);
}

export const MIGRATIONS_TABLE_SQL = `CREATE TABLE IF NOT EXISTS decoyd_schema_migrations (
  version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now()
)`;

/** The migrations a database at `current` still needs, in order; throws when it is newer than this decoyd. */
export function pendingMigrations(current: number, all: readonly PgMigration[] = PG_MIGRATIONS): PgMigration[] {
  const latest = all.reduce((m, x) => Math.max(m, x.version), 0);
  if (current > latest) throw new Error(`the database is at schema version ${current}, newer than this decoyd's ${latest}: upgrade decoyd instead`);
  all.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${i + 1} is numbered ${m.version}`);
  });
  return all.filter((m) => m.version > current);
}

const DAY_MS = 86_400_000;

/** UTC day of an epoch-ms time as YYYY-MM-DD. */
export function utcDay(ms: number): string {
  return new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
}

/** The partition holding a time: decoyd_events_YYYYMMDD. */
export function partitionName(ms: number): string {
  return `decoyd_events_${utcDay(ms).replace(/-/g, '')}`;
}

/** Day start (epoch ms, UTC) from a partition's name; undefined for a name that is not one of ours. */
export function partitionDay(name: string): number | undefined {
  const m = /^decoyd_events_([0-9]{4})([0-9]{2})([0-9]{2})$/.exec(name);
  if (m === null) return undefined;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return partitionName(t) === name ? t : undefined;
}

/** Partitions wholly older than `cutoffMs` (their day ended at or before it): what prune drops. */
export function partitionsToDrop(names: readonly string[], cutoffMs: number): string[] {
  return names.filter((n) => {
    const day = partitionDay(n);
    return day !== undefined && day + DAY_MS <= cutoffMs;
  }).sort();
}

/** `30d`, `12h`, `90m` → milliseconds (prune's --older-than). */
export function parseAge(text: string): number {
  const m = /^([0-9]{1,6})([mhd])$/.exec(text);
  if (m === null) throw new Error(`expected an age such as 30d, 12h or 90m, got "${text}"`);
  return Number(m[1]) * { m: 60_000, h: 3_600_000, d: DAY_MS }[m[2] as 'm' | 'h' | 'd'];
}

/** A role name safe to splice into GRANT (PostgreSQL identifiers: letters, digits, _ and $). */
function roleIdent(role: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/.test(role)) throw new Error(`"${role}" is not a plain role name`);
  return `"${role}"`;
}

/**
 * The least the sensors need: insert events (and read back the inserted rows' indexed columns,
 * which RETURNING needs), register their boots, keep their summaries and sensor row, and make
 * partitions through the definer function. No DELETE, no DDL, no reading of events' fields.
 */
export function writerGrants(role: string): string[] {
  const r = roleIdent(role);
  return [
    `GRANT USAGE ON SCHEMA public TO ${r}`,
    `GRANT SELECT ON decoyd_schema_migrations TO ${r}`,
    `GRANT INSERT ON decoyd_events TO ${r}`,
    `GRANT SELECT (boot, seq, ts, last_ts, sensor_id, proto, src, dst, dport, packets) ON decoyd_events TO ${r}`,
    `GRANT SELECT, INSERT, UPDATE ON decoyd_boots, decoyd_sensors, decoyd_source_sensors, decoyd_source_hosts, decoyd_source_port_blocks TO ${r}`,
    `GRANT EXECUTE ON FUNCTION decoyd_ensure_partitions(date, date) TO ${r}`,
  ];
}

/** The fleet API reads everything and writes nothing. */
export function readerGrants(role: string): string[] {
  const r = roleIdent(role);
  return [
    `GRANT USAGE ON SCHEMA public TO ${r}`,
    `GRANT SELECT ON decoyd_schema_migrations, decoyd_events, decoyd_boots, decoyd_sensors, decoyd_source_sensors, decoyd_source_hosts, decoyd_source_port_blocks TO ${r}`,
  ];
}

/** A connection URL with its password replaced, for logs. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
}
