/**
 * The PostgreSQL shipper's thread. The embedded store is the outbox: committed rows past the
 * shipper's watermark (ship_outbox in events.sqlite) are read and built into batches on the
 * building thread (postgres-builder.ts); this thread sends each as one statement, keeps one batch
 * built ahead while every connection is busy, and moves the watermark only after PostgreSQL has
 * committed that statement. A crash between the two resends the batch, which the stable event id
 * turns into a no-op. Nothing here runs on the daemon thread, so an unreachable or slow database
 * never touches the frame path.
 */
import { join } from 'node:path';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { PostgresShipSettings } from '../config/ship-settings';
import type { Observer } from '../events/ecs';
import { HEARTBEAT_SQL, REGISTER_BOOT_SQL, type BatchForm, type RegisteredBoot } from '../fleet/pg-batch';
import { PG_SCHEMA_VERSION, redactUrl, utcDay } from '../fleet/pg-schema';
import { classifyPgError, SchemaVersionError, type PgFailure } from './postgres-errors';
import type { BuilderInit, FromBuilder, ToBuilder, UnknownBoot } from './postgres-builder';
import { emptyPgShipStatus, type PgShipStatus } from './postgres-status';
import { lowerThreadPriority } from '../store/thread-priority';

export interface PgWorkerInit {
  dbFile: string;
  settings: PostgresShipSettings;
  observer: Observer;
  software: string;
  statusIntervalMs: number;
  nice: number;
}

export type ToPgWorker = { t: 'close' };
export type FromPgWorker =
  | { t: 'status'; status: PgShipStatus }
  | { t: 'report'; message: string }
  | { t: 'closed' };

const HEARTBEAT_MS = 5000;
const AHEAD_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** PostgreSQL's SQLSTATE of an error, if it has one. */
function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** unique_violation: in a fresh batch, the primary key holding a row already (PostgreSQL committed it before). */
function alreadyHeld(err: unknown): boolean {
  return sqlState(err) === '23505';
}

/** A data exception or integrity violation: the statement's rows, not the connection or the server, are at fault. */
function refusedAsData(err: unknown): boolean {
  return /^2[23][0-9A-Z]{3}$/.test(sqlState(err) ?? '');
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A batch from the building thread, ready to send. */
type ReadyBatch = Extract<FromBuilder, { t: 'built' }>;

/**
 * The shipper's end of its batch-building thread (postgres-builder.ts): one request at a time,
 * answered in order. A thread that died is started again on the next request.
 */
class BuilderClient {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: FromBuilder) => void; reject: (err: Error) => void }>();

  constructor(private readonly init: BuilderInit) {}

  private start(): Worker {
    const w = new Worker(join(__dirname, 'postgres-builder.js'), { workerData: this.init });
    w.on('message', (m: FromBuilder) => {
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      if (m.t === 'failed') p.reject(new Error(`reading the store: ${m.message}`));
      else p.resolve(m);
    });
    const lost = (why: string): void => {
      if (this.worker === w) this.worker = undefined;
      for (const p of this.pending.values()) p.reject(new Error(`the batch-building thread ${why}`));
      this.pending.clear();
    };
    w.on('error', (err) => lost(`failed: ${err.message}`));
    w.on('exit', (code) => lost(`exited (${code})`));
    return w;
  }

  build(after: number, limit: number, form: BatchForm, boots: [number, RegisteredBoot][]): Promise<FromBuilder> {
    this.worker ??= this.start();
    const id = this.nextId++;
    const reply = new Promise<FromBuilder>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.worker.postMessage({ t: 'build', id, after, limit, form, boots } satisfies ToBuilder);
    return reply;
  }

  forget(): void {
    this.worker?.postMessage({ t: 'forget' } satisfies ToBuilder);
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w !== undefined) await w.terminate();
  }
}

/** A batch asked for ahead while every connection is busy; used if the next read asks the same. */
interface Prefetch {
  after: number;
  limit: number;
  form: BatchForm;
  /** Registrations it was built with: a reconnect makes it stale. */
  generation: number;
  reply: Promise<FromBuilder>;
}

class OutboxShipper {
  private readonly db: Database.Database;
  private readonly maxId: Database.Statement;
  private readonly setWatermark: Database.Statement;
  /** Store boots registered in decoyd_boots on this connection's database (cleared on reconnect). */
  private readonly boots = new Map<number, RegisteredBoot>();
  /** Registrations the building thread has not been told of yet. */
  private unsentBoots: [number, RegisteredBoot][] = [];
  /** Bumped when the registrations are cleared: batches built before are stale. */
  private bootGeneration = 0;
  private readonly builder: BuilderClient;
  private prefetch: Prefetch | undefined;
  private readonly partitionsMade = new Set<string>();
  private watermark: number;
  /** The first connection (boots, partitions, heartbeats and batches); undefined while disconnected. */
  private client: pg.Client | undefined;
  /** Every connection batches go out on: `client` first, then settings.connections - 1 more. */
  private connections: pg.Client[] = [];
  private closing = false;
  private wake: (() => void) | undefined;
  private backoffMs = 500;
  private lastHeartbeat = 0;
  private lastAhead = 0;
  private readonly status: PgShipStatus;
  private reportedFailure: PgFailure | undefined;

  constructor(private readonly init: PgWorkerInit, private readonly post: (m: FromPgWorker) => void) {
    this.db = new Database(init.dbFile, { fileMustExist: true, timeout: 5000 });
    // The watermark moves once a batch, and waiting for the disk each time would idle PostgreSQL's
    // connections: a watermark lost to a power cut only resends batches, which insert nothing twice.
    this.db.pragma('synchronous = NORMAL');
    const name = init.settings.name;
    this.db.prepare('INSERT OR IGNORE INTO ship_outbox (shipper, shipped_id, updated) VALUES (?, 0, ?)').run(name, Date.now());
    this.watermark = (this.db.prepare('SELECT shipped_id FROM ship_outbox WHERE shipper = ?').get(name) as { shipped_id: number }).shipped_id;
    this.maxId = this.db.prepare('SELECT max(id) AS hi FROM events');
    this.builder = new BuilderClient({ dbFile: init.dbFile, observer: init.observer, software: init.software, nice: init.nice });
    this.setWatermark = this.db.prepare('UPDATE ship_outbox SET shipped_id = ?, updated = ? WHERE shipper = ?');
    this.status = emptyPgShipStatus();
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

  /** Registers boots of the store that PostgreSQL does not know yet (their id prefix and observer). */
  private async registerBoots(need: readonly UnknownBoot[]): Promise<void> {
    for (const b of need) {
      const r = await (this.client as pg.Client).query<{ boot: number }>(REGISTER_BOOT_SQL, [b.prefix, b.observer.id, JSON.stringify(b.observer)]);
      const reg: RegisteredBoot = { key: (r.rows[0] as { boot: number }).boot, sensorId: b.observer.id };
      this.boots.set(b.boot, reg);
      this.unsentBoots.push([b.boot, reg]);
    }
  }

  private ask(after: number, limit: number, form: BatchForm): Promise<FromBuilder> {
    const boots = this.unsentBoots;
    this.unsentBoots = [];
    return this.builder.build(after, limit, form, boots);
  }

  /** Asks the building thread for the batch after `after` now, to be taken by the next read that asks the same. */
  private readAhead(after: number, limit: number, form: BatchForm): void {
    if (this.prefetch !== undefined) return;
    const reply = this.ask(after, limit, form);
    reply.catch(() => undefined);
    this.prefetch = { after, limit, form, generation: this.bootGeneration, reply };
  }

  /**
   * The batch of the rows after `after` (undefined when there are none), registering boots the
   * building thread asks for; counts rows retention took first.
   */
  private async nextBatch(after: number, limit: number, form: BatchForm): Promise<ReadyBatch | undefined> {
    const ahead = this.prefetch;
    this.prefetch = undefined;
    let reply: FromBuilder | undefined;
    if (ahead !== undefined && ahead.after === after && ahead.limit === limit && ahead.form === form && ahead.generation === this.bootGeneration) {
      reply = await ahead.reply;
      // Rows may have come since it was read: an empty answer is asked again.
      if (reply.t === 'empty') reply = undefined;
    }
    reply ??= await this.ask(after, limit, form);
    while (reply.t === 'boots') {
      await this.registerBoots(reply.need);
      reply = await this.ask(after, limit, form);
    }
    if (reply.t !== 'built') return undefined;
    if (after > 0 && reply.firstId > after + 1) {
      const lost = reply.firstId - after - 1;
      this.status.lostToRetention += lost;
      this.post({ t: 'report', message: `ship ${this.init.settings.name}: ${lost} events were removed by the store's retention before PostgreSQL took them (the outage outlasted store.retention)` });
    }
    return reply;
  }

  async run(): Promise<void> {
    const s = this.init.settings;
    /** Batches sent and not yet acknowledged, oldest first: the watermark moves over their committed prefix. */
    const flights: { rows: number; lastId: number; form: BatchForm; conn: pg.Client; done: Promise<number> }[] = [];
    let readAfter = this.watermark;
    // After PostgreSQL refused a batch as data, its rows go one at a time up to here, to find the one.
    let isolateUntil = 0;
    // Rows up to here may be in PostgreSQL already (sent before a failure whose outcome is unknown):
    // they go in the resend form. Past it, batches go fresh; a fresh batch that meets a row
    // PostgreSQL holds (the first batch after a kill -9) fails as a whole and is resent.
    let resendUntil = 0;
    while (!this.closing) {
      try {
        if (this.client === undefined) {
          this.client = await this.connect();
          this.connections = [this.client];
          for (let k = 1; k < s.connections; k++) this.connections.push(await this.connect());
          readAfter = this.watermark;
        }
        if (Date.now() - this.lastAhead > AHEAD_MS) {
          await this.ensurePartitions(Date.now(), Date.now() + 2 * DAY_MS);
          this.lastAhead = Date.now();
        }
        // Fill the free connections; a batch built ahead (below) is taken if it is the one asked for.
        while (flights.length < (readAfter < isolateUntil ? 1 : this.connections.length)) {
          const ready = await this.nextBatch(readAfter, readAfter < isolateUntil ? 1 : s.batch, readAfter < resendUntil ? 'resend' : 'fresh');
          if (ready === undefined) break;
          const { batch } = ready;
          await this.ensurePartitions(batch.minMs, batch.maxMs);
          const conn = this.connections.find((c) => !flights.some((f) => f.conn === c)) as pg.Client;
          // One statement in autocommit: when it resolves, PostgreSQL has committed every row of it.
          const done = conn.query<{ inserted: number }>(batch.text, batch.values).then((r) => r.rows[0]?.inserted ?? 0);
          done.catch(() => undefined);
          flights.push({ rows: ready.rows, lastId: batch.lastId, form: batch.form, conn, done });
          readAfter = batch.lastId;
          if (ready.rows < s.batch && readAfter >= isolateUntil) break;
        }
        // Every connection is busy: the next batch is built meanwhile, on the building thread.
        if (flights.length === this.connections.length && readAfter >= isolateUntil) {
          this.readAhead(readAfter, s.batch, readAfter < resendUntil ? 'resend' : 'fresh');
        }
        const head = flights[0];
        if (head === undefined) {
          if (Date.now() - this.lastHeartbeat >= HEARTBEAT_MS) await this.heartbeat();
          this.recovered();
          await this.sleep(s.intervalMs);
          continue;
        }
        let inserted: number;
        try {
          inserted = await head.done;
        } catch (err) {
          if (!refusedAsData(err)) throw err;
          await Promise.allSettled(flights.map((f) => f.done));
          const last = (flights[flights.length - 1] as typeof head).lastId;
          flights.length = 0;
          // Whatever was in flight may have committed: it all goes again as resends.
          resendUntil = Math.max(resendUntil, last);
          if (head.form === 'fresh' && alreadyHeld(err)) {
            readAfter = this.watermark;
            continue;
          }
          // PostgreSQL refused the rows themselves: retrying the same batch would fail for ever.
          if (head.rows === 1) this.skipRefused(head.lastId, err);
          else {
            isolateUntil = Math.max(isolateUntil, last);
            this.post({ t: 'report', message: `ship ${s.name}: PostgreSQL refused a batch of ${head.rows} events (${errorText(err)}); sending events ${this.watermark + 1} to ${last} one at a time to skip the one it refuses` });
          }
          readAfter = this.watermark;
          continue;
        }
        flights.shift();
        this.committed(head.rows, inserted, head.lastId);
        this.recovered();
        if (flights.length === 0 && head.rows < s.batch && readAfter >= isolateUntil) await this.sleep(s.intervalMs);
      } catch (err) {
        // Later batches may or may not have committed: everything past the watermark goes again
        // on the next connection, as resends, and what PostgreSQL already holds inserts nothing.
        await Promise.allSettled(flights.map((f) => f.done));
        resendUntil = Math.max(resendUntil, readAfter);
        flights.length = 0;
        await this.failed(err);
        if (this.closing) break;
        await this.sleep(this.backoffMs);
        this.backoffMs = Math.min(this.backoffMs * 2, s.reconnectMaxMs);
      }
    }
    await Promise.allSettled(flights.map((f) => f.done));
    await this.disconnect();
    await this.builder.close();
    this.db.close();
  }

  private async disconnect(): Promise<void> {
    const all = this.connections;
    this.connections = [];
    this.client = undefined;
    await Promise.all(all.map((c) => c.end().catch(() => undefined)));
  }

  /** One event PostgreSQL refuses as data: it stays in the store, is counted and logged, and shipping goes on past it. */
  private skipRefused(id: number, err: unknown): void {
    this.watermark = id;
    this.setWatermark.run(this.watermark, Date.now(), this.init.settings.name);
    this.status.refused++;
    this.post({ t: 'report', message: `ship ${this.init.settings.name}: PostgreSQL refused event ${id} of the store (${errorText(err)}); it stays in the store only, counted in decoyd_ship_events_dropped_total{reason="refused"}` });
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
    // The database may have been recreated meanwhile: boots are registered again on the next connection.
    this.boots.clear();
    this.unsentBoots = [];
    this.bootGeneration++;
    this.prefetch = undefined;
    this.builder.forget();
    this.partitionsMade.clear();
    await this.disconnect();
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
  lowerThreadPriority(init.nice);
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
