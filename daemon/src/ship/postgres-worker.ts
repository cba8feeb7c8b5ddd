/**
 * The PostgreSQL shipper's thread. The embedded store is the outbox: this thread reads committed
 * rows past the shipper's watermark (ship_outbox in events.sqlite), sends them as one statement
 * per batch, and moves the watermark only after PostgreSQL has committed that statement. A crash
 * between the two resends the batch, which the stable event id turns into a no-op. Nothing here
 * runs on the daemon thread, so an unreachable or slow database never touches the frame path.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { PostgresShipSettings } from '../config/ship-settings';
import type { EcsContext, Observer } from '../events/ecs';
import { buildInsertBatch, HEARTBEAT_SQL, type BuiltBatch, type OutboxRow } from '../fleet/pg-batch';
import { PG_SCHEMA_VERSION, redactUrl, utcDay } from '../fleet/pg-schema';
import { classifyPgError, PG_FAILURES, SchemaVersionError, type PgFailure } from './postgres-errors';

export interface PgWorkerInit {
  dbFile: string;
  settings: PostgresShipSettings;
  observer: Observer;
  software: string;
  statusIntervalMs: number;
  nice: number;
}

export interface PgShipStatus {
  /** Events PostgreSQL committed from this sensor (replays it already had are not counted). */
  shipped: number;
  /** Rows offered again that PostgreSQL already held (after a lost acknowledgement or a kill). */
  duplicatesSkipped: number;
  /** Events in the store past the watermark. */
  backlog: number;
  /** Events retention deleted from the store before they could be shipped. */
  lostToRetention: number;
  batches: number;
  connected: boolean;
  errors: Record<PgFailure, number>;
  /** The failure now in effect (absent while shipping works). */
  failing?: PgFailure;
  lastError?: string;
}

export type ToPgWorker = { t: 'close' };
export type FromPgWorker =
  | { t: 'status'; status: PgShipStatus }
  | { t: 'report'; message: string }
  | { t: 'closed' };

const HEARTBEAT_MS = 5000;
const AHEAD_MS = 3_600_000;
const DAY_MS = 86_400_000;

function lowerPriority(nice: number): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, nice);
  } catch {
    // not Linux, or not allowed: run at normal priority
  }
}

class OutboxShipper {
  private readonly db: Database.Database;
  private readonly selectRows: Database.Statement;
  private readonly maxId: Database.Statement;
  private readonly bootRow: Database.Statement;
  private readonly setWatermark: Database.Statement;
  private readonly boots = new Map<number, EcsContext>();
  private readonly partitionsMade = new Set<string>();
  private watermark: number;
  private client: pg.Client | undefined;
  private closing = false;
  private wake: (() => void) | undefined;
  private backoffMs = 500;
  private lastHeartbeat = 0;
  private lastAhead = 0;
  private readonly status: PgShipStatus;
  private reportedFailure: PgFailure | undefined;

  constructor(private readonly init: PgWorkerInit, private readonly post: (m: FromPgWorker) => void) {
    this.db = new Database(init.dbFile, { fileMustExist: true, timeout: 5000 });
    const name = init.settings.name;
    this.db.prepare('INSERT OR IGNORE INTO ship_outbox (shipper, shipped_id, updated) VALUES (?, 0, ?)').run(name, Date.now());
    this.watermark = (this.db.prepare('SELECT shipped_id FROM ship_outbox WHERE shipper = ?').get(name) as { shipped_id: number }).shipped_id;
    this.selectRows = this.db.prepare('SELECT id, boot, seq, ts, kind, proto, src, dst, sport, dport, fields FROM events WHERE id > ? ORDER BY id LIMIT ?');
    this.maxId = this.db.prepare('SELECT max(id) AS hi FROM events');
    this.bootRow = this.db.prepare('SELECT id_prefix, observer FROM boots WHERE id = ?');
    this.setWatermark = this.db.prepare('UPDATE ship_outbox SET shipped_id = ?, updated = ? WHERE shipper = ?');
    this.status = {
      shipped: 0, duplicatesSkipped: 0, backlog: 0, lostToRetention: 0, batches: 0, connected: false,
      errors: Object.fromEntries(PG_FAILURES.map((f) => [f, 0])) as Record<PgFailure, number>,
    };
  }

  snapshot(): PgShipStatus {
    const hi = (this.maxId.get() as { hi: number | null }).hi ?? 0;
    this.status.backlog = Math.max(0, hi - this.watermark);
    return { ...this.status, errors: { ...this.status.errors } };
  }

  close(): void {
    this.closing = true;
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.wake = undefined; resolve(); }, ms);
      this.wake = () => { clearTimeout(timer); this.wake = undefined; resolve(); };
    });
  }

  private contextOf = (boot: number): EcsContext => {
    let ctx = this.boots.get(boot);
    if (ctx === undefined) {
      const row = this.bootRow.get(boot) as { id_prefix: string; observer: string } | undefined;
      ctx = row === undefined
        ? { observer: this.init.observer, idPrefix: `${this.init.observer.id}-boot${boot}` }
        : { observer: JSON.parse(row.observer) as Observer, idPrefix: row.id_prefix };
      this.boots.set(boot, ctx);
    }
    return ctx;
  };

  /** Reads the rows after `after` and builds their statement (undefined when there are none). */
  private prepare(after: number): { rows: OutboxRow[]; batch: BuiltBatch } | undefined {
    const s = this.init.settings;
    const rows = this.selectRows.all(after, s.batch) as OutboxRow[];
    const first = rows[0];
    if (first === undefined) return undefined;
    if (after > 0 && first.id > after + 1) {
      const lost = first.id - after - 1;
      this.status.lostToRetention += lost;
      this.post({ t: 'report', message: `ship ${s.name}: ${lost} events were removed by the store's retention before PostgreSQL took them (the outage outlasted store.retention)` });
    }
    const hi = (this.maxId.get() as { hi: number | null }).hi ?? 0;
    const o = this.init.observer;
    const last = (rows[rows.length - 1] as OutboxRow).id;
    const batch = buildInsertBatch(rows, this.contextOf, { id: o.id, name: o.name, hostname: o.hostname, backlog: Math.max(0, hi - last), software: this.init.software });
    return { rows, batch };
  }

  async run(): Promise<void> {
    const s = this.init.settings;
    // The next batch, built while PostgreSQL executes the current one (reading and building cost about as much as inserting).
    let ready: { rows: OutboxRow[]; batch: BuiltBatch } | undefined;
    while (!this.closing) {
      try {
        if (this.client === undefined) this.client = await this.connect();
        if (Date.now() - this.lastAhead > AHEAD_MS) {
          await this.ensurePartitions(Date.now(), Date.now() + 2 * DAY_MS);
          this.lastAhead = Date.now();
        }
        const job = ready ?? this.prepare(this.watermark);
        ready = undefined;
        if (job === undefined) {
          if (Date.now() - this.lastHeartbeat >= HEARTBEAT_MS) await this.heartbeat();
          this.recovered();
          await this.sleep(s.intervalMs);
          continue;
        }
        await this.ensurePartitions(job.batch.minMs, job.batch.maxMs);
        // One statement in autocommit: when it resolves, PostgreSQL has committed every row of it.
        const query = (this.client as pg.Client).query<{ inserted: number; offered: number }>(job.batch.text, job.batch.values);
        query.catch(() => undefined);
        const next = job.rows.length === s.batch ? this.prepare(job.batch.lastId) : undefined;
        const r = await query;
        this.committed(job.rows.length, r.rows[0]?.inserted ?? 0, job.batch.lastId);
        ready = next;
        this.recovered();
        if (job.rows.length < s.batch) await this.sleep(s.intervalMs);
      } catch (err) {
        ready = undefined;
        await this.failed(err);
        if (this.closing) break;
        await this.sleep(this.backoffMs);
        this.backoffMs = Math.min(this.backoffMs * 2, s.reconnectMaxMs);
      }
    }
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
    this.db.close();
  }

  /** After PostgreSQL's commit: the watermark moves (a kill before this line resends the batch, which inserts nothing). */
  private committed(offered: number, inserted: number, lastId: number): void {
    this.watermark = lastId;
    this.setWatermark.run(this.watermark, Date.now(), this.init.settings.name);
    this.status.shipped += inserted;
    this.status.duplicatesSkipped += offered - inserted;
    this.status.batches++;
    this.lastHeartbeat = Date.now();
  }

  private async connect(): Promise<pg.Client> {
    const s = this.init.settings;
    const c = new pg.Client({
      connectionString: s.url, connectionTimeoutMillis: s.connectTimeoutMs, statement_timeout: s.statementTimeoutMs,
      query_timeout: s.statementTimeoutMs + 5000, application_name: `decoyd ${this.init.observer.name}`.slice(0, 63),
    });
    // A lost connection is seen by the next query; without a listener it would end the thread.
    c.on('error', () => undefined);
    try {
      await c.connect();
      const r = await c.query<{ v: number }>('SELECT coalesce(max(version), 0)::int AS v FROM decoyd_schema_migrations');
      const v = r.rows[0]?.v ?? 0;
      if (v !== PG_SCHEMA_VERSION) {
        throw new SchemaVersionError(`the database's decoyd schema is version ${v}, this decoyd writes version ${PG_SCHEMA_VERSION} (run decoyd db migrate with this decoyd)`);
      }
    } catch (err) {
      await c.end().catch(() => undefined);
      throw err;
    }
    this.status.connected = true;
    return c;
  }

  private async ensurePartitions(fromMs: number, toMs: number): Promise<void> {
    const c = this.client as pg.Client;
    const days: string[] = [];
    for (let d = Math.floor(fromMs / DAY_MS) * DAY_MS; d <= toMs; d += DAY_MS) {
      const day = utcDay(d);
      if (!this.partitionsMade.has(day)) days.push(day);
    }
    if (days.length === 0) return;
    await c.query('SELECT decoyd_ensure_partitions($1::date, $2::date)', [days[0], days[days.length - 1]]);
    for (const d of days) this.partitionsMade.add(d);
  }

  private async heartbeat(): Promise<void> {
    const o = this.init.observer;
    const hi = (this.maxId.get() as { hi: number | null }).hi ?? 0;
    await (this.client as pg.Client).query(HEARTBEAT_SQL, [o.id, o.name, o.hostname, Math.max(0, hi - this.watermark), this.init.software]);
    this.lastHeartbeat = Date.now();
  }

  private recovered(): void {
    this.backoffMs = 500;
    if (this.status.failing === undefined) return;
    const was = this.status.failing;
    delete this.status.failing;
    delete this.status.lastError;
    this.reportedFailure = undefined;
    this.post({ t: 'report', message: `ship ${this.init.settings.name}: ${redactUrl(this.init.settings.url)} works again after ${was} failures; catching up on the store's backlog` });
  }

  private async failed(err: unknown): Promise<void> {
    const { reason, text } = classifyPgError(err);
    this.status.errors[reason]++;
    this.status.failing = reason;
    this.status.lastError = text;
    this.status.connected = false;
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
    if (this.reportedFailure !== reason) {
      this.reportedFailure = reason;
      this.post({
        t: 'report',
        message: `ship ${this.init.settings.name}: ${redactUrl(this.init.settings.url)}: ${text} [${reason}]; events stay in the store (within its retention) and are retried with backoff up to ${this.init.settings.reconnectMaxMs} ms`,
      });
    }
  }
}

function main(): void {
  const port = parentPort;
  if (port === null) throw new Error('postgres shipper started outside a worker thread');
  const init = workerData as PgWorkerInit;
  lowerPriority(init.nice);
  const post = (m: FromPgWorker): void => port.postMessage(m);
  const shipper = new OutboxShipper(init, post);
  const timer = setInterval(() => post({ t: 'status', status: shipper.snapshot() }), init.statusIntervalMs);
  port.on('message', (m: ToPgWorker) => {
    if (m.t === 'close') shipper.close();
  });
  void shipper.run().then(() => {
    clearInterval(timer);
    post({ t: 'closed' });
    port.close();
  }, (err: unknown) => {
    post({ t: 'report', message: `ship ${init.settings.name}: stopped: ${err instanceof Error ? err.message : String(err)}` });
    clearInterval(timer);
    post({ t: 'closed' });
  });
}

main();
