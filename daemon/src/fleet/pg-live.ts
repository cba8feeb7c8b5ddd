/**
 * The fleet API's live feed (GET /api/v1/events/stream over PostgreSQL). Every shipper's batch
 * NOTIFYs what it inserted when it commits (pg-batch.ts); while someone streams, this LISTENs on
 * a connection of its own, reads each notified range once, in commit order and one at a time, and
 * hands the matching ECS documents to the listeners. Nothing is read while no one listens.
 * Ranges notified while the connection is down are not read later: this is a live view, and
 * /api/v1/events pages through everything. Every queue is bounded and every drop is logged.
 */
import pg from 'pg';
import type { LiveEvents, LiveFilter } from '../../../admin-api/src/control';
import { LiveListeners } from '../events/live-hub';
import { BATCH_CHANNEL, NOTICE_MAX_ROWS, parseBatchNotice, type BatchNotice } from './pg-batch';
import type { PgStoreQuery } from './pg-query';

export interface PgLiveOptions {
  /** Streaming clients at once (the API's own bound is checked first). */
  maxListeners?: number;
  /** Notices waiting to be read; past this the oldest are dropped (and counted in the log). */
  maxPending?: number;
  /** Reconnect backoff cap while someone listens. */
  reconnectMaxMs?: number;
}

type LiveRow = { boot: number; seq: string; fields: Record<string, unknown> };

/** The rows of one notice, oldest first: its runs of (boot, seq) within its time range, which lets the primary key serve it. */
const NOTICE_ROWS_SQL = `SELECT e.boot, e.seq::text AS seq, e.fields FROM decoyd_events e
  JOIN unnest($3::int[], $4::bigint[], $5::bigint[]) AS r(boot, lo, hi) ON e.boot = r.boot AND e.seq BETWEEN r.lo AND r.hi
  WHERE e.ts >= timestamptz 'epoch' + $1::bigint * interval '1 microsecond' AND e.ts <= timestamptz 'epoch' + $2::bigint * interval '1 microsecond'
  ORDER BY e.ts, e.boot, e.seq LIMIT ${NOTICE_MAX_ROWS}`;

export class PgLiveFeed implements LiveEvents {
  private readonly listeners: LiveListeners;
  private readonly pending: BatchNotice[] = [];
  private readonly maxPending: number;
  private readonly reconnectMaxMs: number;
  private client: pg.Client | undefined;
  /** A connect (or reconnect) under way: one at a time. */
  private connecting: Promise<void> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private backoffMs = 500;
  private draining = false;
  private closed = false;
  private dropped = 0;
  private ignored = 0;
  private failing: string | undefined;

  constructor(private readonly url: string, private readonly store: PgStoreQuery, private readonly say: (line: string) => void, opts: PgLiveOptions = {}) {
    this.listeners = new LiveListeners(opts.maxListeners ?? 64);
    this.maxPending = opts.maxPending ?? 256;
    this.reconnectMaxMs = opts.reconnectMaxMs ?? 10_000;
  }

  /** Whether the feed is listening on PostgreSQL now (for tests and health). */
  get listening(): boolean {
    return this.client !== undefined;
  }

  subscribe(filter: LiveFilter, onEvent: (json: string) => void): () => void {
    const remove = this.closed ? undefined : this.listeners.add(filter, onEvent);
    if (remove === undefined) return () => undefined;
    if (this.client === undefined) this.listen();
    return () => {
      remove();
      if (this.listeners.size === 0) void this.unlisten();
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    await this.unlisten();
  }

  private listen(): void {
    if (this.connecting !== undefined || this.closed) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.connecting = this.connect().finally(() => { this.connecting = undefined; });
  }

  private async connect(): Promise<void> {
    const c = new pg.Client({ connectionString: this.url, application_name: 'decoyd api live', connectionTimeoutMillis: 10_000 });
    c.on('error', () => this.lost(c));
    c.on('end', () => this.lost(c));
    c.on('notification', (m) => {
      if (m.channel === BATCH_CHANNEL && m.payload !== undefined) this.notified(m.payload);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${BATCH_CHANNEL}`);
    } catch (err) {
      await c.end().catch(() => undefined);
      this.trouble(`cannot listen on PostgreSQL: ${err instanceof Error ? err.message : String(err)}`);
      this.retry();
      return;
    }
    if (this.listeners.size === 0 || this.closed) {
      await c.end().catch(() => undefined);
      return;
    }
    this.client = c;
    this.backoffMs = 500;
    if (this.failing !== undefined) {
      this.failing = undefined;
      this.say('fleet live feed: listening on PostgreSQL again (events committed meanwhile are in /api/v1/events, not in the stream)');
    }
  }

  private lost(c: pg.Client): void {
    if (this.client !== c) return;
    this.client = undefined;
    if (this.listeners.size === 0 || this.closed) return;
    this.trouble('lost its PostgreSQL connection');
    this.retry();
  }

  private retry(): void {
    if (this.listeners.size === 0 || this.closed || this.reconnectTimer !== undefined) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.client === undefined && this.listeners.size > 0) this.listen();
    }, this.backoffMs);
    this.reconnectTimer.unref();
    this.backoffMs = Math.min(this.backoffMs * 2, this.reconnectMaxMs);
  }

  private trouble(what: string): void {
    if (this.failing === what) return;
    this.failing = what;
    this.say(`fleet live feed: ${what}; retrying while clients stream`);
  }

  private async unlisten(): Promise<void> {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    await this.connecting;
    // Someone subscribed again while the connect finished: keep listening for them.
    if (this.listeners.size > 0 && !this.closed) return;
    const c = this.client;
    this.client = undefined;
    this.pending.length = 0;
    if (c !== undefined) await c.end().catch(() => undefined);
  }

  private notified(payload: string): void {
    const notice = parseBatchNotice(payload);
    if (notice === undefined) {
      if (this.ignored++ === 0) this.say(`fleet live feed: ignored a notice on ${BATCH_CHANNEL} that no decoyd shipper sends (further ones are ignored silently)`);
      return;
    }
    if (this.pending.length >= this.maxPending) {
      this.pending.shift();
      if (this.dropped++ % 100 === 0) this.say(`fleet live feed: ${this.dropped} batch notices dropped, the stream fell behind PostgreSQL (at most ${this.maxPending} wait)`);
    }
    this.pending.push(notice);
    if (!this.draining) void this.drain();
  }

  /** Reads the notices in order, one at a time, so events stream in commit order. */
  private async drain(): Promise<void> {
    this.draining = true;
    try {
      for (let notice = this.pending.shift(); notice !== undefined; notice = this.pending.shift()) {
        if (this.listeners.size === 0) continue;
        let rows: LiveRow[];
        try {
          rows = (await this.store.pool.query<LiveRow>(NOTICE_ROWS_SQL, [notice.fromUs, notice.toUs,
            notice.runs.map((r) => r[0]), notice.runs.map((r) => r[1]), notice.runs.map((r) => r[2])])).rows;
        } catch (err) {
          this.trouble(`cannot read a notified batch: ${err instanceof Error ? err.message : String(err)}`);
          continue;
        }
        const docs = await this.store.documents(rows).catch(() => [] as Record<string, unknown>[]);
        for (const doc of docs) this.listeners.deliver(doc);
      }
    } finally {
      this.draining = false;
    }
  }
}
