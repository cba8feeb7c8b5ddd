/**
 * StoreQuery over the SQLite store, on its own read-only connection: in WAL mode readers never
 * block the writer worker, nor it them. Every query is indexed and bounded by its limit; time
 * bounds are turned into rowid bounds first (rows are inserted in time order), so a filtered
 * page never walks outside its time range.
 */
import Database from 'better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import type { DecoyEvent, ScanDetectedEvent } from '../events/event';
import { toEcs, type EcsContext, type Observer } from '../events/ecs';
import { ipToString, parseIp } from '../wire/address';
import type { EventPage, EventPageRequest, ScanRecord, SourceDetail, SourceSummary, StoreQuery, StoreStats } from './query';
import { databaseFile } from './writer';
import { PORT_BUCKET_IDS } from './schema';

interface EventRow { id: number; boot: number; seq: number; fields: string }
interface BootRow { id: number; id_prefix: string; observer: string }

export class InvalidCursorError extends Error {}

/**
 * How far rows may be out of time order: packet rows carry their interval's first packet time but
 * are written when the interval is drained (at most one flush interval, ≤ 1 s, later), behind
 * events of that interval that went in at once. Five seconds leaves room for a loaded machine.
 */
export const TIME_ORDER_SLACK_MS = 5000;

export class SqliteStoreQuery implements StoreQuery {
  private readonly db: BetterSqlite3.Database;
  private readonly boots = new Map<number, EcsContext>();
  private readonly statements = new Map<string, BetterSqlite3.Statement>();

  constructor(dir: string) {
    this.db = new Database(databaseFile(dir), { readonly: true, fileMustExist: true });
  }

  private stmt(sql: string): BetterSqlite3.Statement {
    let s = this.statements.get(sql);
    if (s === undefined) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private contextOf(boot: number): EcsContext {
    let ctx = this.boots.get(boot);
    if (ctx === undefined) {
      const row = this.stmt('SELECT id, id_prefix, observer FROM boots WHERE id = ?').get(boot) as BootRow | undefined;
      const observer: Observer = row === undefined ? { name: 'unknown', id: 'unknown', hostname: 'unknown' } : (JSON.parse(row.observer) as Observer);
      ctx = { observer, idPrefix: row?.id_prefix ?? `boot${boot}` };
      this.boots.set(boot, ctx);
    }
    return ctx;
  }

  /**
   * Whether `sensor` (observer.name or id) names this store's sensor: a sensor's own store holds
   * only itself, so the fleet's `sensor=` filter either keeps everything or nothing here.
   */
  private isOwnSensor(sensor: string | undefined): boolean {
    if (sensor === undefined) return true;
    const rows = this.stmt('SELECT DISTINCT observer FROM boots').all() as { observer: string }[];
    return rows.some((r) => {
      const o = JSON.parse(r.observer) as Observer;
      return o.name === sensor || o.id === sensor;
    });
  }

  async events(req: EventPageRequest): Promise<EventPage> {
    if (!this.isOwnSensor(req.sensor)) return { events: [] };
    const where: string[] = [];
    const args: (string | number)[] = [];
    const ipArg = (ip: string): number => parseIp(ip);
    if (req.src !== undefined) { where.push('src = ?'); args.push(ipArg(req.src)); }
    if (req.dst !== undefined) { where.push('dst = ?'); args.push(ipArg(req.dst)); }
    if (req.proto !== undefined) { where.push('proto = ?'); args.push(req.proto); }
    if (req.kind !== undefined) { where.push('kind = ?'); args.push(req.kind); }
    // Rowid bounds from the time bounds, widened by TIME_ORDER_SLACK_MS (rows are in time order only up to
    // that: a folded packet row goes in at the end of its interval); the ts conditions are then exact.
    if (req.since !== undefined) {
      const id = this.firstIdAtOrAfter(req.since - TIME_ORDER_SLACK_MS);
      if (id === undefined) return { events: [] };
      where.push('id >= ? AND ts >= ?');
      args.push(id, req.since);
    }
    if (req.until !== undefined) {
      const after = this.firstIdAtOrAfter(req.until + 1 + TIME_ORDER_SLACK_MS);
      where.push('id < ? AND ts <= ?');
      args.push(after ?? Number.MAX_SAFE_INTEGER, req.until);
    }
    if (req.cursor !== undefined) {
      if (!/^[0-9]{1,16}$/.test(req.cursor)) throw new InvalidCursorError('cursor is not one this API returned');
      where.push('id < ?');
      args.push(Number(req.cursor));
    }
    // With a source or destination, its index is the narrower path and dport is a column check;
    // a port alone (with kind, proto or time) reads the port's own rows from event_ports.
    if (req.port !== undefined && (req.src !== undefined || req.dst !== undefined)) { where.push('dport = ?'); args.push(req.port); }
    const rows = req.port === undefined || req.src !== undefined || req.dst !== undefined
      ? this.stmt(`SELECT id, boot, seq, fields FROM events${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`).all(...args, req.limit + 1) as EventRow[]
      : this.eventsOnPort(req.port, where, args, req.limit + 1);
    const more = rows.length > req.limit;
    if (more) rows.pop();
    const events = rows.map((r) => toEcs(JSON.parse(r.fields) as DecoyEvent, r.seq, this.contextOf(r.boot)));
    const last = rows[rows.length - 1];
    return more && last !== undefined ? { events, nextCursor: String(last.id) } : { events };
  }

  /**
   * Newest-first rows with destination port `port` that meet `where`: event_ports read bucket by
   * bucket from the newest, each bucket's (port, id) run in descending id order joined to events.
   */
  private eventsOnPort(port: number, where: readonly string[], args: readonly (string | number)[], want: number): EventRow[] {
    const range = this.stmt('SELECT (SELECT min(id) FROM events) AS lo, (SELECT max(id) FROM events) AS hi').get() as { lo: number | null; hi: number | null };
    if (range.lo === null || range.hi === null) return [];
    // Rowid bounds go on p.id (the key's last column: a range within the run); the rest on events.
    const cond = where.map((w) => w.replace(/\b(ts|src|dst|proto|kind)\b/g, 'e.$1').replace(/\bid\b/g, 'p.id'));
    const sql = `SELECT e.id AS id, e.boot AS boot, e.seq AS seq, e.fields AS fields FROM event_ports p JOIN events e ON e.id = p.id
      WHERE p.bucket = ? AND p.dport = ?${cond.length > 0 ? ` AND ${cond.join(' AND ')}` : ''} ORDER BY p.id DESC LIMIT ?`;
    const stmt = this.stmt(sql);
    const rows: EventRow[] = [];
    for (let bucket = Math.floor(range.hi / PORT_BUCKET_IDS); bucket >= Math.floor(range.lo / PORT_BUCKET_IDS) && rows.length < want; bucket--) {
      rows.push(...(stmt.all(bucket, port, ...args, want - rows.length) as EventRow[]));
    }
    return rows;
  }

  /**
   * The first rowid whose time is at or after `ts`, by binary search over the rowid range (rows
   * are inserted in time order, within TIME_ORDER_SLACK_MS; gaps left by retention are skipped by `id >= ?`).
   */
  private firstIdAtOrAfter(ts: number): number | undefined {
    const range = this.stmt('SELECT (SELECT min(id) FROM events) AS lo, (SELECT max(id) FROM events) AS hi').get() as { lo: number | null; hi: number | null };
    if (range.lo === null || range.hi === null) return undefined;
    const at = this.stmt('SELECT id, ts FROM events WHERE id >= ? ORDER BY id LIMIT 1');
    let lo = range.lo;
    let hi = range.hi + 1; // invariant: rows before lo are earlier than ts; the answer is < hi
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const row = at.get(mid) as { id: number; ts: number } | undefined;
      if (row === undefined || row.ts >= ts) hi = mid;
      else lo = row.id + 1;
    }
    return lo > range.hi ? undefined : lo;
  }

  async sources(opts: { limit: number; since?: number; sensor?: string }): Promise<SourceSummary[]> {
    if (!this.isOwnSensor(opts.sensor)) return [];
    const rows = (opts.since === undefined
      ? this.stmt('SELECT ip, first_seen, last_seen, events FROM sources ORDER BY last_seen DESC LIMIT ?').all(opts.limit)
      : this.stmt('SELECT ip, first_seen, last_seen, events FROM sources WHERE last_seen >= ? ORDER BY last_seen DESC LIMIT ?').all(opts.since, opts.limit)) as SourceRow[];
    return rows.map(sourceOf);
  }

  async source(ip: string, opts: { limit: number; sensor?: string }): Promise<SourceDetail | undefined> {
    if (!this.isOwnSensor(opts.sensor)) return undefined;
    const src = parseIp(ip);
    const row = this.stmt('SELECT ip, first_seen, last_seen, events FROM sources WHERE ip = ?').get(src) as SourceRow | undefined;
    if (row === undefined) return undefined;
    const hosts = this.stmt('SELECT dst, events, first_seen, last_seen FROM source_hosts WHERE src = ? ORDER BY events DESC LIMIT ?').all(src, opts.limit) as { dst: number; events: number; first_seen: number; last_seen: number }[];
    const hostCount = (this.stmt('SELECT count(*) AS n FROM source_hosts WHERE src = ?').get(src) as { n: number }).n;
    const ports = this.stmt('SELECT proto, port, events FROM source_ports WHERE src = ? ORDER BY events DESC, port LIMIT ?').all(src, opts.limit) as { proto: string; port: number; events: number }[];
    const portCount = (this.stmt('SELECT count(*) AS n FROM source_ports WHERE src = ?').get(src) as { n: number }).n;
    const creds = this.stmt('SELECT user_name, password, dst, port, attempts, first_seen, last_seen FROM credentials WHERE src = ? ORDER BY last_seen DESC LIMIT ?').all(src, opts.limit) as CredentialRow[];
    return {
      ...sourceOf(row),
      hosts: hosts.map((h) => ({ ip: ipToString(h.dst), events: h.events, firstSeen: h.first_seen, lastSeen: h.last_seen })),
      hostCount,
      ports: ports.map((p) => ({ proto: p.proto, port: p.port, events: p.events })),
      portCount,
      scans: await this.scans({ limit: opts.limit, src: ip }),
      credentials: creds.map((c) => ({
        user: c.user_name, ...(c.password === '' ? {} : { password: c.password }), dst: ipToString(c.dst), port: c.port,
        attempts: c.attempts, firstSeen: c.first_seen, lastSeen: c.last_seen,
      })),
    };
  }

  async scans(opts: { limit: number; src?: string; since?: number; sensor?: string }): Promise<ScanRecord[]> {
    if (!this.isOwnSensor(opts.sensor)) return [];
    const where: string[] = [];
    const args: number[] = [];
    if (opts.src !== undefined) { where.push('src = ?'); args.push(parseIp(opts.src)); }
    if (opts.since !== undefined) { where.push('last_seen >= ?'); args.push(opts.since); }
    const sql = `SELECT fields, updates FROM scans${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY last_seen DESC LIMIT ?`;
    const rows = this.stmt(sql).all(...args, opts.limit) as { fields: string; updates: number }[];
    return rows.map((r) => {
      const { kind: _kind, time: _time, ...scan } = JSON.parse(r.fields) as ScanDetectedEvent;
      return { ...scan, updates: r.updates };
    });
  }

  async stats(): Promise<StoreStats> {
    const ids = this.stmt('SELECT (SELECT min(id) FROM events) AS lo, (SELECT max(id) FROM events) AS hi').get() as { lo: number | null; hi: number | null };
    const ts = (id: number | null): number | undefined => id === null ? undefined : (this.stmt('SELECT ts FROM events WHERE id = ?').get(id) as { ts: number } | undefined)?.ts;
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const size = this.db.pragma('page_size', { simple: true }) as number;
    return {
      // Retention deletes from the oldest end, so the rowid span is the count without a full scan.
      events: ids.lo === null || ids.hi === null ? 0 : ids.hi - ids.lo + 1,
      sources: (this.stmt('SELECT count(*) AS n FROM sources').get() as { n: number }).n,
      scans: (this.stmt('SELECT count(*) AS n FROM scans').get() as { n: number }).n,
      oldestEvent: ts(ids.lo),
      newestEvent: ts(ids.hi),
      bytes: pages * size,
    };
  }

  close(): void {
    this.db.close();
  }
}

interface SourceRow { ip: number; first_seen: number; last_seen: number; events: number }
interface CredentialRow { user_name: string; password: string; dst: number; port: number; attempts: number; first_seen: number; last_seen: number }

function sourceOf(r: SourceRow): SourceSummary {
  return { ip: ipToString(r.ip), firstSeen: r.first_seen, lastSeen: r.last_seen, events: r.events };
}
