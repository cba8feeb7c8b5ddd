/**
 * The SQLite schema, as numbered migrations applied in order (PRAGMA user_version says how far a
 * file has got). Addresses are stored as unsigned 32-bit integers: smaller rows and indexes.
 * Rows are inserted in time order, so time is found by binary search on the rowid (no ts index:
 * one index fewer to maintain at ingest). Each secondary index holds (key, rowid) with rising
 * rowids, so inserts append at the end of each key's run.
 *
 * events holds the flat event fields (`fields`, JSON) next to the indexed columns; the ECS
 * document is rebuilt on read from them and the boot's observer, so the constant ECS parts
 * are not repeated in every row. Summary tables (sources, source_hosts, source_ports, scans,
 * credentials) are maintained at ingest so per-source questions never scan events.
 */
import type BetterSqlite3 from 'better-sqlite3';

const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE boots (id INTEGER PRIMARY KEY, id_prefix TEXT NOT NULL, observer TEXT NOT NULL, started INTEGER NOT NULL);
  CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    boot INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    kind TEXT NOT NULL,
    proto TEXT,
    src INTEGER,
    dst INTEGER,
    sport INTEGER,
    dport INTEGER,
    fields TEXT NOT NULL
  );
  CREATE INDEX events_src ON events(src) WHERE src IS NOT NULL;
  CREATE INDEX events_dst ON events(dst) WHERE dst IS NOT NULL;
  CREATE INDEX events_dport ON events(dport) WHERE dport IS NOT NULL;
  CREATE INDEX events_kind ON events(kind);
  CREATE TABLE sources (ip INTEGER PRIMARY KEY, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, events INTEGER NOT NULL);
  CREATE INDEX sources_last ON sources(last_seen);
  CREATE TABLE source_hosts (src INTEGER NOT NULL, dst INTEGER NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, events INTEGER NOT NULL, PRIMARY KEY (src, dst)) WITHOUT ROWID;
  CREATE TABLE source_ports (src INTEGER NOT NULL, proto TEXT NOT NULL, port INTEGER NOT NULL, last_seen INTEGER NOT NULL, events INTEGER NOT NULL, PRIMARY KEY (src, proto, port)) WITHOUT ROWID;
  CREATE TABLE scans (
    scan_id TEXT PRIMARY KEY, src INTEGER NOT NULL, scan_type TEXT NOT NULL, tool TEXT,
    first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, packets INTEGER NOT NULL, updates INTEGER NOT NULL, fields TEXT NOT NULL
  );
  CREATE INDEX scans_src ON scans(src);
  CREATE INDEX scans_last ON scans(last_seen);
  CREATE TABLE credentials (
    src INTEGER NOT NULL, user_name TEXT NOT NULL, password TEXT NOT NULL, dst INTEGER NOT NULL, port INTEGER NOT NULL,
    first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, attempts INTEGER NOT NULL,
    PRIMARY KEY (src, user_name, password, dst, port)
  ) WITHOUT ROWID;
  `,
  // The outbox watermark of each shipper that reads the store (the PostgreSQL shipper): every event
  // with a rowid at or below shipped_id is committed on the other side.
  `
  CREATE TABLE ship_outbox (shipper TEXT PRIMARY KEY, shipped_id INTEGER NOT NULL, updated INTEGER NOT NULL);
  `,
  // The port index moves to a side table written in (dport, id) order once per batch. In arrival
  // order a port scan spreads its rows over every port's run of events_dport at once (1,024
  // insertion points for a 1,024-port scan), which cost ingest a third of its rate; sorted per
  // batch they go in run by run. Keyed by a bucket of 65,536 rowids first so retention drops old
  // buckets as a key range (rows of deleted events in the oldest bucket wait for the next one).
  `
  DROP INDEX events_dport;
  CREATE TABLE event_ports (bucket INTEGER NOT NULL, dport INTEGER NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (bucket, dport, id)) WITHOUT ROWID;
  INSERT INTO event_ports (bucket, dport, id) SELECT id / 65536, dport, id FROM events WHERE dport IS NOT NULL ORDER BY id / 65536, dport, id;
  `,
];

/** Rowids per event_ports bucket (see the migration). */
export const PORT_BUCKET_IDS = 65536;

const WAL_CHECKPOINT_BYTES = 64 * 1024 * 1024;

export function migrate(db: BetterSqlite3.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/** Connection settings for the writer: WAL, and NORMAL sync (a committed batch survives a process kill). */
export function configureWriter(db: BetterSqlite3.Database): void {
  // 16 KiB pages for a new file (an existing one keeps its size): fewer B-tree pages touched and split per row
  // across the table and its four indexes, 1.6x the ingest rate per CPU second of 4 KiB pages.
  db.pragma('page_size = 16384');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  // Checkpoint every 64 MB of WAL rather than every 4 MB: fewer fsyncs of the database file.
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  db.pragma(`wal_autocheckpoint = ${Math.floor(WAL_CHECKPOINT_BYTES / pageSize)}`);
  db.pragma('journal_size_limit = 67108864');
  db.pragma('cache_size = -131072');
  db.pragma('temp_store = MEMORY');
}
