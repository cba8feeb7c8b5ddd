/**
 * The fleet's commands: `decoyd db migrate|prune --url …` (schema and retention on PostgreSQL)
 * and `decoyd api --store postgres://…` (the admin API over the fleet database).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { buildAdminApi } from '../../../admin-api/src/server';
import { parseListen } from '../config/yaml';
import { PgLiveFeed } from '../fleet/pg-live';
import { PgStoreQuery } from '../fleet/pg-query';
import {
  MIGRATIONS_TABLE_SQL, PG_SCHEMA_VERSION, parseAge, partitionsToDrop, pendingMigrations, readerGrants, redactUrl, utcDay, writerGrants,
} from '../fleet/pg-schema';

const DAY_MS = 86_400_000;

export class FleetUsageError extends Error {}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000, application_name: 'decoyd db' });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Applies pending migrations (each in its own transaction), makes partitions ahead, and grants roles. */
export async function migrate(url: string, opts: { writer?: string; reader?: string; daysAhead: number; now?: number; toVersion?: number }, say: (line: string) => void): Promise<number> {
  return withClient(url, async (c) => {
    // One migrator at a time: concurrent `db migrate` runs wait here instead of racing.
    await c.query('SELECT pg_advisory_lock(hashtext($1))', ['decoyd_migrate']);
    await c.query(MIGRATIONS_TABLE_SQL);
    const current = (await c.query<{ v: number }>('SELECT coalesce(max(version), 0)::int AS v FROM decoyd_schema_migrations')).rows[0]?.v ?? 0;
    // toVersion: an older schema on purpose (the migration tests build a version 1 database).
    const pending = pendingMigrations(current).filter((m) => opts.toVersion === undefined || m.version <= opts.toVersion);
    for (const m of pending) {
      await c.query('BEGIN');
      try {
        await c.query(m.sql);
        if (m.data !== undefined) await m.data(c, say);
        if (m.finish !== undefined) await c.query(m.finish);
        await c.query('INSERT INTO decoyd_schema_migrations (version, description) VALUES ($1, $2)', [m.version, m.description]);
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK');
        throw new Error(`migration ${m.version} (${m.description}): ${err instanceof Error ? err.message : String(err)}`);
      }
      say(`applied migration ${m.version}: ${m.description}`);
    }
    const now = opts.now ?? Date.now();
    const made = (await c.query<{ n: number }>('SELECT decoyd_ensure_partitions($1::date, $2::date) AS n', [utcDay(now - DAY_MS), utcDay(now + opts.daysAhead * DAY_MS)])).rows[0]?.n ?? 0;
    for (const sql of [...(opts.writer === undefined ? [] : writerGrants(opts.writer)), ...(opts.reader === undefined ? [] : readerGrants(opts.reader))]) await c.query(sql);
    say(`schema at version ${opts.toVersion ?? PG_SCHEMA_VERSION}${pending.length === 0 ? ' (nothing to do)' : ''}; ${made} daily partitions made (through ${utcDay(now + opts.daysAhead * DAY_MS)})`
      + `${opts.writer === undefined ? '' : `; writer role ${opts.writer} granted`}${opts.reader === undefined ? '' : `; reader role ${opts.reader} granted`}`);
    return pending.length;
  });
}

/** Drops the daily partitions wholly older than `olderThanMs`, and summary rows not seen since. */
export async function prune(url: string, olderThanMs: number, say: (line: string) => void, now = Date.now()): Promise<string[]> {
  const cutoff = now - olderThanMs;
  return withClient(url, async (c) => {
    const names = (await c.query<{ name: string }>(`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'decoyd_events'::regclass`)).rows.map((r) => r.name);
    const drop = partitionsToDrop(names, cutoff);
    for (const name of drop) await c.query(`DROP TABLE "${name}"`);
    const at = new Date(cutoff);
    let summaries = 0;
    for (const t of ['decoyd_source_sensors', 'decoyd_source_hosts', 'decoyd_source_port_blocks']) summaries += (await c.query(`DELETE FROM ${t} WHERE last_seen < $1`, [at])).rowCount ?? 0;
    say(`dropped ${drop.length} partitions older than ${at.toISOString()}${drop.length > 0 ? ` (${drop.join(', ')})` : ''}; ${summaries} summary rows not seen since`);
    return drop;
  });
}

export async function dbCommand(argv: string[], say: (line: string) => void): Promise<void> {
  const [sub, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: { url: { type: 'string' }, writer: { type: 'string' }, reader: { type: 'string' }, 'days-ahead': { type: 'string' }, 'older-than': { type: 'string' } },
  });
  const url = values.url ?? process.env.DECOYD_PG_URL;
  if (url === undefined) throw new FleetUsageError(`db ${sub ?? ''} needs --url postgres://… (or DECOYD_PG_URL)`);
  if (sub === 'migrate') {
    const daysAhead = values['days-ahead'] === undefined ? 7 : Number(values['days-ahead']);
    if (!Number.isInteger(daysAhead) || daysAhead < 0 || daysAhead > 366) throw new FleetUsageError('--days-ahead: expected 0-366');
    await migrate(url, { writer: values.writer, reader: values.reader, daysAhead }, say);
    return;
  }
  if (sub === 'prune') {
    if (values['older-than'] === undefined) throw new FleetUsageError('db prune needs --older-than AGE (e.g. 30d)');
    let age: number;
    try {
      age = parseAge(values['older-than']);
    } catch (err) {
      throw new FleetUsageError(`--older-than: ${err instanceof Error ? err.message : String(err)}`);
    }
    await prune(url, age, say);
    return;
  }
  throw new FleetUsageError(`db: expected migrate or prune, got ${sub ?? 'nothing'} (${redactUrl(url)})`);
}

/** `decoyd api --store postgres://… [--listen HOST:PORT]`: the same admin API over the fleet database. */
export async function fleetApiCommand(argv: string[], say: (line: string) => void): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { store: { type: 'string' }, listen: { type: 'string' }, 'token-file': { type: 'string' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' } } });
  const url = values.store;
  if (url === undefined || !/^postgres(ql)?:\/\//.test(url)) throw new FleetUsageError('api needs --store postgres://…');
  const listen = parseListen(values.listen ?? '127.0.0.1:8080');
  if (listen === undefined) throw new FleetUsageError(`--listen: expected HOST:PORT with an IPv4 host, got "${values.listen ?? ''}"`);
  let token = process.env.DECOYD_ADMIN_TOKEN;
  if (token === undefined && values['token-file'] !== undefined) token = readFileSync(values['token-file'], 'utf8').trim();
  if (token !== undefined && token.length < 16) throw new FleetUsageError('the admin token must be at least 16 characters');
  const loopback = listen.host === 'localhost' || listen.host.startsWith('127.');
  if (!loopback && token === undefined) throw new FleetUsageError(`refusing to serve the fleet API on ${listen.host}:${listen.port} without a token: set DECOYD_ADMIN_TOKEN or --token-file`);
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) throw new FleetUsageError('--tls-cert and --tls-key go together');
  const tls = values['tls-cert'] === undefined || values['tls-key'] === undefined ? undefined : { cert: readFileSync(values['tls-cert']), key: readFileSync(values['tls-key']) };
  const store = new PgStoreQuery(url);
  // Fail now on a wrong URL, login or schema, not at the first request.
  const v = (await store.pool.query<{ v: number }>('SELECT coalesce(max(version), 0)::int AS v FROM decoyd_schema_migrations')).rows[0]?.v ?? 0;
  if (v !== PG_SCHEMA_VERSION) throw new Error(`${redactUrl(url)}: the decoyd schema is version ${v}, this decoyd reads version ${PG_SCHEMA_VERSION}`);
  const live = new PgLiveFeed(url, store, say);
  const api = await buildAdminApi({ store, token, tls, live, log: (m) => say(m) });
  await api.listen({ host: listen.host, port: listen.port });
  say(`fleet API on ${tls === undefined ? 'http' : 'https'}://${listen.host}:${listen.port} over ${redactUrl(url)}`);
  const stop = async (): Promise<void> => {
    await api.close();
    await live.close();
    await store.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}
