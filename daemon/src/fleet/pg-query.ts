/**
 * StoreQuery over the fleet's PostgreSQL database: the admin API's second store. Every query is
 * indexed and bounded by its limit. Event pages run newest first by the primary key (ts, boot,
 * seq); the cursor is the last row's time (µs), boot and sequence. ECS documents are rebuilt from each row's fields and its
 * boot's observer and id prefix (decoyd_boots, cached), as the embedded store rebuilds them. `sensor` (observer.name or id) is
 * resolved to sensor ids through decoyd_sensors first, so the events' sensor index serves it.
 */
import pg from 'pg';
import type { DecoyEvent, ScanDetectedEvent } from '../events/event';
import { toEcs, type EcsContext, type Observer } from '../events/ecs';
import type { CredentialTried, EventPage, EventPageRequest, ScanRecord, SensorHealth, SourceDetail, SourceSummary, StoreQuery, StoreStats } from '../store/query';
import { InvalidCursorError } from '../store/sqlite-query';
import { PORT_BLOCK } from './pg-batch';

/** Login and scan events read per source to fold credentials and scans (newest first). */
const FOLD_ROWS = 5000;
/** Boots whose observer and id prefix are kept in memory (a fleet restarts its sensors rarely). */
const BOOT_CACHE = 10_000;

type Where = { clauses: string[]; args: unknown[] };

function add(w: Where, clause: (p: string) => string, value: unknown): void {
  w.args.push(value);
  w.clauses.push(clause(`$${w.args.length}`));
}

function whereSql(w: Where): string {
  return w.clauses.length === 0 ? '' : ` WHERE ${w.clauses.join(' AND ')}`;
}

const ms = (d: Date | null | undefined): number | undefined => (d === null || d === undefined ? undefined : d.getTime());

export class PgStoreQuery implements StoreQuery {
  readonly pool: pg.Pool;
  private readonly boots = new Map<number, EcsContext>();

  constructor(url: string, opts: { maxConnections?: number; statementTimeoutMs?: number } = {}) {
    this.pool = new pg.Pool({ connectionString: url, max: opts.maxConnections ?? 4, statement_timeout: opts.statementTimeoutMs ?? 10_000, application_name: 'decoyd api' });
    this.pool.on('error', () => undefined);
  }

  /** The ECS context (observer, event-id prefix) of each boot in `keys`, from the cache or decoyd_boots. */
  private async contexts(keys: Iterable<number>): Promise<Map<number, EcsContext>> {
    const missing = [...new Set(keys)].filter((k) => !this.boots.has(k));
    if (missing.length > 0) {
      if (this.boots.size + missing.length > BOOT_CACHE) this.boots.clear();
      const r = await this.pool.query<{ boot: number; id_prefix: string; observer: Observer }>('SELECT boot, id_prefix, observer FROM decoyd_boots WHERE boot = ANY($1::int[])', [missing]);
      for (const b of r.rows) this.boots.set(b.boot, { observer: b.observer, idPrefix: b.id_prefix });
    }
    return this.boots;
  }

  /** ECS documents of event rows, in their order (also the live feed's, pg-live.ts). */
  async documents(rows: readonly { boot: number; seq: string; fields: Record<string, unknown> }[]): Promise<Record<string, unknown>[]> {
    const ctx = await this.contexts(rows.map((r) => r.boot));
    return rows.map((r) => {
      const c = ctx.get(r.boot) ?? { observer: { id: `boot-${r.boot}`, name: `boot-${r.boot}`, hostname: '' }, idPrefix: `boot-${r.boot}` };
      return toEcs(r.fields as unknown as DecoyEvent, Number(r.seq), c);
    });
  }

  /** The sensor ids a `sensor=` value names (by id or name); empty when none. */
  private async sensorIds(sensor: string): Promise<string[]> {
    const r = await this.pool.query<{ sensor_id: string }>('SELECT sensor_id FROM decoyd_sensors WHERE sensor_id = $1 OR name = $1', [sensor]);
    return r.rows.map((x) => x.sensor_id);
  }

  /** Adds the sensor condition on `column`; false when the sensor is unknown (nothing can match). */
  private async sensorWhere(w: Where, sensor: string | undefined, column = 'sensor_id'): Promise<boolean> {
    if (sensor === undefined) return true;
    const ids = await this.sensorIds(sensor);
    if (ids.length === 0) return false;
    // One id (the usual case) as `=`: PostgreSQL checks that inside the (…, ts, sensor_id) indexes,
    // while `= ANY` on a column after the ordering one becomes a filter after each heap fetch.
    if (ids.length === 1) add(w, (p) => `${column} = ${p}`, ids[0]);
    else add(w, (p) => `${column} = ANY(${p}::text[])`, ids);
    return true;
  }

  async events(req: EventPageRequest): Promise<EventPage> {
    const w: Where = { clauses: [], args: [] };
    if (!(await this.sensorWhere(w, req.sensor))) return { events: [] };
    if (req.src !== undefined) add(w, (p) => `src = ${p}::inet`, req.src);
    if (req.dst !== undefined) add(w, (p) => `dst = ${p}::inet`, req.dst);
    if (req.proto !== undefined) add(w, (p) => `proto = ${p}`, req.proto);
    if (req.port !== undefined) add(w, (p) => `dport = ${p}`, req.port);
    if (req.kind !== undefined) add(w, (p) => `kind = ${p}`, req.kind);
    if (req.since !== undefined) add(w, (p) => `ts >= to_timestamp(${p}::float8 / 1000)`, req.since);
    if (req.until !== undefined) add(w, (p) => `ts <= to_timestamp(${p}::float8 / 1000)`, req.until);
    if (req.cursor !== undefined) {
      const m = /^([0-9]{1,17})\.([0-9]{1,10})\.([0-9]{1,18})$/.exec(req.cursor);
      if (m === null || Number(m[2]) > 2 ** 31 - 1) throw new InvalidCursorError('cursor is not one this API returned');
      w.args.push(m[1], m[2], m[3]);
      const [usP, bootP, seqP] = [w.args.length - 2, w.args.length - 1, w.args.length].map((k) => `$${k}`);
      const at = `(timestamptz 'epoch' + ${usP}::bigint * interval '1 microsecond')`;
      // (ts, boot, seq) < (cursor's): the ts bound alone lets any partition's index on (…, ts) stop early.
      w.clauses.push(`ts <= ${at} AND (ts, boot, seq) < (${at}, ${bootP}::int, ${seqP}::bigint)`);
    }
    w.args.push(req.limit + 1);
    const sql = `SELECT (extract(epoch FROM ts) * 1000000)::bigint::text AS us, boot, seq::text AS seq, fields
      FROM decoyd_events${whereSql(w)} ORDER BY ts DESC, boot DESC, seq DESC LIMIT $${w.args.length}`;
    const r = await this.pool.query<{ us: string; boot: number; seq: string; fields: Record<string, unknown> }>(sql, w.args);
    const rows = r.rows;
    const more = rows.length > req.limit;
    if (more) rows.pop();
    const last = rows[rows.length - 1];
    const events = await this.documents(rows);
    return more && last !== undefined ? { events, nextCursor: `${last.us}.${last.boot}.${last.seq}` } : { events };
  }

  async sources(opts: { limit: number; since?: number; sensor?: string }): Promise<SourceSummary[]> {
    const w: Where = { clauses: [], args: [] };
    if (!(await this.sensorWhere(w, opts.sensor))) return [];
    if (opts.since !== undefined) add(w, (p) => `last_seen >= to_timestamp(${p}::float8 / 1000)`, opts.since);
    // A source has at most one summary row per sensor, so the newest limit × sensors rows hold the newest `limit` sources.
    const sensors = opts.sensor === undefined ? Number((await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM decoyd_sensors')).rows[0]?.n ?? 1) : 1;
    w.args.push(opts.limit * Math.max(1, sensors));
    const inner = `SELECT src FROM decoyd_source_sensors${whereSql(w)} ORDER BY last_seen DESC LIMIT $${w.args.length}`;
    const outer: Where = { clauses: [...w.clauses], args: w.args };
    outer.clauses.push(`src IN (${inner})`);
    outer.args.push(opts.limit);
    const sql = `SELECT host(src) AS ip, min(first_seen) AS first, max(last_seen) AS last, sum(events)::float8 AS events FROM decoyd_source_sensors${whereSql(outer)}
      GROUP BY src ORDER BY max(last_seen) DESC LIMIT $${outer.args.length}`;
    const r = await this.pool.query<{ ip: string; first: Date; last: Date; events: number }>(sql, outer.args);
    return r.rows.map((x) => ({ ip: x.ip, firstSeen: x.first.getTime(), lastSeen: x.last.getTime(), events: x.events }));
  }

  async source(ip: string, opts: { limit: number; sensor?: string }): Promise<SourceDetail | undefined> {
    const w: Where = { clauses: [], args: [] };
    add(w, (p) => `src = ${p}::inet`, ip);
    if (!(await this.sensorWhere(w, opts.sensor))) return undefined;
    const where = whereSql(w);
    const head = await this.pool.query<{ first: Date | null; last: Date | null; events: number | null }>(
      `SELECT min(first_seen) AS first, max(last_seen) AS last, sum(events)::float8 AS events FROM decoyd_source_sensors${where}`, w.args);
    const h = head.rows[0];
    if (h === undefined || h.first === null || h.last === null) return undefined;
    const n = w.args.length + 1;
    const hosts = await this.pool.query<{ ip: string; events: number; first: Date; last: Date }>(
      `SELECT host(dst) AS ip, sum(events)::float8 AS events, min(first_seen) AS first, max(last_seen) AS last FROM decoyd_source_hosts${where} GROUP BY dst ORDER BY sum(events) DESC, dst LIMIT $${n}`, [...w.args, opts.limit]);
    const hostCount = await this.pool.query<{ n: number }>(`SELECT count(DISTINCT dst)::int AS n FROM decoyd_source_hosts${where}`, w.args);
    // Each block row's counts as (port, count) rows; ports never touched hold 0.
    const touched = `SELECT proto, block * ${PORT_BLOCK} + (u.k - 1)::int AS port, u.c FROM decoyd_source_port_blocks CROSS JOIN LATERAL unnest(counts) WITH ORDINALITY AS u(c, k)${where} AND u.c > 0`;
    const ports = await this.pool.query<{ proto: string; port: number; events: number }>(
      `SELECT proto, port, sum(c)::float8 AS events FROM (${touched}) p GROUP BY proto, port ORDER BY sum(c) DESC, port LIMIT $${n}`, [...w.args, opts.limit]);
    const portCount = await this.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM (SELECT DISTINCT proto, port FROM (${touched}) p) d`, w.args);
    const bySensor = await this.pool.query<{ id: string; name: string | null; events: number; first: Date; last: Date }>(
      `SELECT s.sensor_id AS id, n.name, s.events::float8 AS events, s.first_seen AS first, s.last_seen AS last
       FROM decoyd_source_sensors s LEFT JOIN decoyd_sensors n USING (sensor_id)${where.replace(/sensor_id/g, 's.sensor_id').replace('src =', 's.src =')} ORDER BY s.last_seen DESC LIMIT $${n}`, [...w.args, opts.limit]);
    return {
      ip, firstSeen: h.first.getTime(), lastSeen: h.last.getTime(), events: h.events ?? 0,
      hosts: hosts.rows.map((x) => ({ ip: x.ip, events: x.events, firstSeen: x.first.getTime(), lastSeen: x.last.getTime() })),
      hostCount: hostCount.rows[0]?.n ?? 0,
      ports: ports.rows.map((x) => ({ proto: x.proto, port: x.port, events: x.events })),
      portCount: portCount.rows[0]?.n ?? 0,
      scans: await this.scans({ limit: opts.limit, src: ip, sensor: opts.sensor }),
      credentials: await this.credentials(w, opts.limit),
      sensors: bySensor.rows.map((x) => ({ id: x.id, name: x.name ?? x.id, events: x.events, firstSeen: x.first.getTime(), lastSeen: x.last.getTime() })),
    };
  }

  /** Logins of one source folded by (user, password, decoy, port), from its newest FOLD_ROWS login events. */
  private async credentials(w: Where, limit: number): Promise<CredentialTried[]> {
    const r = await this.pool.query<{ fields: Record<string, unknown> }>(
      `SELECT fields FROM decoyd_events${whereSql(w)} AND kind = 'service.login' ORDER BY ts DESC LIMIT ${FOLD_ROWS}`, w.args);
    const folded = new Map<string, CredentialTried>();
    for (const { fields: e } of r.rows) {
      const user = typeof e.user === 'string' ? e.user : typeof e.username === 'string' ? e.username : undefined;
      if (user === undefined) continue;
      const time = typeof e.time === 'number' ? e.time : 0;
      const password = typeof e.password === 'string' ? e.password : undefined;
      const dst = String(e.dstIp ?? '');
      const port = typeof e.dstPort === 'number' ? e.dstPort : 0;
      const key = JSON.stringify([user, password ?? '', dst, port]);
      const c = folded.get(key);
      if (c === undefined) folded.set(key, { user, ...(password === undefined || password === '' ? {} : { password }), dst, port, attempts: 1, firstSeen: time, lastSeen: time });
      else {
        c.attempts++;
        c.firstSeen = Math.min(c.firstSeen, time);
        c.lastSeen = Math.max(c.lastSeen, time);
      }
    }
    return [...folded.values()].sort((a, b) => b.lastSeen - a.lastSeen).slice(0, limit);
  }

  async scans(opts: { limit: number; src?: string; since?: number; sensor?: string }): Promise<ScanRecord[]> {
    const w: Where = { clauses: ["kind = 'scan.detected'"], args: [] };
    if (!(await this.sensorWhere(w, opts.sensor))) return [];
    if (opts.src !== undefined) add(w, (p) => `src = ${p}::inet`, opts.src);
    if (opts.since !== undefined) add(w, (p) => `ts >= to_timestamp(${p}::float8 / 1000)`, opts.since);
    const r = await this.pool.query<{ sensor_id: string; fields: Record<string, unknown> }>(`SELECT sensor_id, fields FROM decoyd_events${whereSql(w)} ORDER BY ts DESC LIMIT ${FOLD_ROWS}`, w.args);
    // Updates of one scan arrive newest first: the first one seen is the record, the rest count as updates.
    const folded = new Map<string, ScanRecord>();
    for (const { sensor_id: sensor, fields } of r.rows) {
      const { kind: _kind, time: _time, ...scan } = fields as unknown as ScanDetectedEvent;
      const key = `${sensor}/${scan.scanId}`;
      const seen = folded.get(key);
      if (seen === undefined) folded.set(key, { ...scan, updates: 1 });
      else {
        seen.updates++;
        seen.firstSeen = Math.min(seen.firstSeen, scan.firstSeen);
      }
    }
    return [...folded.values()].sort((a, b) => b.lastSeen - a.lastSeen).slice(0, opts.limit);
  }

  async stats(): Promise<StoreStats> {
    const parts = await this.pool.query<{ rows: number; bytes: number }>(`SELECT coalesce(sum(c.reltuples), 0)::float8 AS rows, coalesce(sum(pg_total_relation_size(c.oid)), 0)::float8 AS bytes
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'decoyd_events'::regclass`);
    const estimate = parts.rows[0]?.rows ?? 0;
    // reltuples is an estimate (exact after ANALYZE, -1 before the first); count exactly while that is cheap.
    const events = estimate < 200_000 ? Number((await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM decoyd_events')).rows[0]?.n ?? 0) : Math.round(estimate);
    const range = await this.pool.query<{ lo: Date | null; hi: Date | null }>('SELECT (SELECT min(ts) FROM decoyd_events) AS lo, (SELECT max(ts) FROM decoyd_events) AS hi');
    const sources = await this.pool.query<{ n: number }>('SELECT count(DISTINCT src)::int AS n FROM decoyd_source_sensors');
    const scans = await this.pool.query<{ n: number }>(`SELECT count(DISTINCT (sensor_id, fields->>'scanId'))::int AS n FROM decoyd_events WHERE kind = 'scan.detected'`);
    const oldest = ms(range.rows[0]?.lo);
    const newest = ms(range.rows[0]?.hi);
    return {
      events, sources: sources.rows[0]?.n ?? 0, scans: scans.rows[0]?.n ?? 0,
      ...(oldest === undefined ? {} : { oldestEvent: oldest }), ...(newest === undefined ? {} : { newestEvent: newest }),
      bytes: parts.rows[0]?.bytes ?? 0,
      sensors: await this.sensors(),
    };
  }

  /** Per-sensor health: last event seen, last report and the backlog it reported. */
  async sensors(): Promise<SensorHealth[]> {
    const r = await this.pool.query<{ sensor_id: string; name: string; hostname: string; last_event: Date | null; last_report: Date; backlog: string; shipped: string; software: string | null }>(
      'SELECT sensor_id, name, hostname, last_event, last_report, backlog, shipped, software FROM decoyd_sensors ORDER BY name, sensor_id LIMIT 1000');
    return r.rows.map((x) => ({
      id: x.sensor_id, name: x.name, hostname: x.hostname, ...(x.last_event === null ? {} : { lastEvent: x.last_event.getTime() }),
      lastReport: x.last_report.getTime(), backlog: Number(x.backlog), shipped: Number(x.shipped), ...(x.software === null ? {} : { software: x.software }),
    }));
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
