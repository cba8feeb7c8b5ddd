/**
 * `npm run bench:fleet`: the fleet's figures. A benchmark, not a test: it prints what it measured.
 * It runs its own throw-away PostgreSQL 15 cluster (test/helpers/postgres.ts: initdb in a temp
 * dir, as the `postgres` user, unix socket only; fsync off, as a benchmark cluster) and removes it.
 *
 * 1. Ingest per sensor: a sensor's store filled with --ingest N events (default 500,000), then the
 *    real shipper thread (batches of --batch, default 5,000) ships them; rate = N / time to the
 *    last commit.
 * 2. Catch-up: PostgreSQL is stopped, --outage N more events (default 200,000) pile up in the
 *    store, PostgreSQL starts again; rate = N / time from its start until the backlog is 0
 *    (reconnect backoff included).
 * 3. Queries: a fleet table of --rows N events (default 10,000,000; lower it on a small machine)
 *    from 4 sensors, 5,000 sources and 250 decoys over 10 days, written in PostgreSQL by SQL, with
 *    its summaries; then p50/p99 over real HTTP (the admin API on 127.0.0.1, an ephemeral port,
 *    over PgStoreQuery) of /api/v1/events?src=…&limit=100, /api/v1/events?limit=100,
 *    /api/v1/events?sensor=…&port=…&limit=100, /api/v1/sources and /api/v1/sources/:ip.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAdminApi } from '../../admin-api/src/server';
import { POSTGRES_DEFAULTS, type PostgresShipSettings } from '../../daemon/src/config/ship-settings';
import { ecsContext } from '../../daemon/src/events/ecs';
import { DENSE_COUNTS, PORT_BLOCK } from '../../daemon/src/fleet/pg-batch';
import { PgStoreQuery } from '../../daemon/src/fleet/pg-query';
import { PostgresShipper } from '../../daemon/src/ship/postgres-shipper';
import { StoreWriter, databaseFile } from '../../daemon/src/store/writer';
import { migrate } from '../../daemon/src/cli/fleet-command';
import { createPgCluster, SUPERUSER, SUPERUSER_PASSWORD, type PgCluster } from '../helpers/postgres';

const TOKEN = 'bench-token-0123456789abcdef';

/**
 * The cluster's sizing for a write-heavy database (README, "Server settings"): WAL buffers large
 * enough that a 5,000-row batch does not wait for WAL writes (sampled pg_stat_activity showed
 * WALWrite waits with the 4 MB default), and checkpoints spaced by WAL volume. Side by side on
 * 3 Dec: 44.1k events/s on average against 39.4k with the defaults.
 */
const BENCH_PG_SETTINGS = ['wal_buffers = 64MB', 'shared_buffers = 1GB', 'max_wal_size = 4GB'];
const DAY = 86_400_000;

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// A reader that goes away early (`| head`) must not kill the bench before its finally removes the
// PostgreSQL cluster it started: EPIPE only stops the printing.
let stdoutOpen = true;
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  stdoutOpen = false;
});
const print = (line: string): void => {
  if (stdoutOpen) process.stdout.write(`${line}\n`);
};

async function waitFor(cond: () => boolean, timeoutMs: number, poll = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await sleep(poll);
  }
  return cond();
}

/** CPU seconds (user + system) of the cluster's processes: the postmaster and its children, backends included. */
function clusterCpuSeconds(pg: PgCluster): number {
  const postmaster = Number(readFileSync(join(pg.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    // Fields after the command's closing parenthesis: state ppid ... utime(14) stime(15), 1-based from pid.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(name) === postmaster || Number(f[1]) === postmaster) total += (Number(f[11]) + Number(f[12])) / tick;
  }
  return total;
}

const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function shipping(pg: PgCluster, dir: string, ingest: number, outage: number, batch: number, connections: number): Promise<string[]> {
  const ctx = ecsContext({ name: 'bench-sensor', id: 'bench-sensor', hostname: 'bench' });
  const store = await StoreWriter.open({ path: dir, flushIntervalMs: 250, retention: { maxAgeDays: 0, maxBytes: 0 }, queueLimit: 2_000_000, workerNice: 0 }, ctx, (m) => process.stderr.write(`${m}\n`));
  await store.generate(ingest, 5000);
  const settings: PostgresShipSettings = {
    kind: 'postgres', name: 'bench', url: pg.url(SUPERUSER, SUPERUSER_PASSWORD), batch, connections, intervalMs: 100, reconnectMaxMs: 1000,
    connectTimeoutMs: 5000, statementTimeoutMs: POSTGRES_DEFAULTS.statementTimeoutMs,
  };
  const out: string[] = [];
  const cpu0 = { sensor: cpuSeconds(), pg: clusterCpuSeconds(pg) };
  const t0 = Date.now();
  const shipper = new PostgresShipper(settings, databaseFile(dir), ctx, (m) => process.stderr.write(`${m}\n`), { nice: 0 });
  await waitFor(() => shipper.stats().sent >= ingest, 600_000);
  const ingestS = (Date.now() - t0) / 1000;
  // Backends that ended are no longer in /proc: the figure is read while the shipper's are alive.
  const cpu = { sensor: cpuSeconds() - cpu0.sensor, pg: clusterCpuSeconds(pg) - cpu0.pg };
  out.push(`Ingest into PostgreSQL, one sensor (store outbox → shipper thread → one unnest() INSERT per batch of ${fmt(batch)}, ${connections} in flight, primary key (ts, boot, seq) + 5 indexes + summaries): ${fmt(shipper.stats().sent)} events in ${ingestS.toFixed(2)} s = ${fmt(ingest / ingestS)} events/s — target >= 50,000/s: ${ingest / ingestS >= 50_000 ? 'met' : 'NOT met'}`);
  const perEvent = (sec: number): string => `${(sec * 1e6 / ingest).toFixed(1)} µs`;
  out.push(`  CPU per event while ingesting: sensor process (shipper thread, store, bench) ${perEvent(cpu.sensor)}, PostgreSQL ${perEvent(cpu.pg)}; ${((cpu.sensor + cpu.pg) / ingestS).toFixed(2)} of this machine's ${availableParallelism()} cores were busy with them`);

  pg.stop();
  await waitFor(() => shipper.stats().failing !== undefined, 30_000);
  const before = shipper.stats().sent;
  // generate() numbers events 1..N again, so the outage's events come under a second boot of the sensor.
  await store.close();
  const ctx2 = ecsContext({ name: 'bench-sensor', id: 'bench-sensor', hostname: 'bench' }, Date.now() + 1);
  const store2 = await StoreWriter.open({ path: dir, flushIntervalMs: 250, retention: { maxAgeDays: 0, maxBytes: 0 }, queueLimit: 2_000_000, workerNice: 0 }, ctx2, () => undefined);
  await store2.generate(outage, 5000);
  await sleep(1500); // the shipper sees the backlog it cannot ship
  const backlog = shipper.stats().backlog ?? 0;
  const t1 = Date.now();
  pg.start();
  const caught = await waitFor(() => shipper.stats().sent >= before + outage && (shipper.stats().backlog ?? 1) === 0, 600_000);
  const catchS = (Date.now() - t1) / 1000;
  out.push(`Catch-up after an outage: ${fmt(backlog)} events waiting in the store; from PostgreSQL's start to backlog 0 ${catchS.toFixed(2)} s = ${fmt(outage / catchS)} events/s${caught ? '' : ' (DID NOT finish)'}`);
  const dup = Number(pg.psql("SELECT count(*) - count(DISTINCT (boot, seq)) FROM decoyd_events WHERE sensor_id = 'bench-sensor'"));
  out.push(`  rows in PostgreSQL for the sensor: ${pg.psql("SELECT count(*) FROM decoyd_events WHERE sensor_id = 'bench-sensor'").trim()} (expected ${fmt(ingest + outage)}), duplicates ${dup}`);
  await shipper.close();
  await store2.close();
  return out;
}

/** A fleet table of `rows` events written by SQL (chunks of 250,000), then its summaries, then ANALYZE. */
function buildFleetTable(pg: PgCluster, rows: number): number {
  const t0 = Date.now();
  const end = Date.now();
  const start = end - 10 * DAY;
  pg.psql(`SELECT decoyd_ensure_partitions((to_timestamp(${start / 1000}) AT TIME ZONE 'UTC')::date, (to_timestamp(${end / 1000}) AT TIME ZONE 'UTC')::date)`);
  pg.psql(`INSERT INTO decoyd_boots (id_prefix, sensor_id, observer)
    SELECT 'fleet-sensor-' || i || '-bench', 'fleet-sensor-' || i, jsonb_build_object('name', 'fleet-sensor-' || i, 'id', 'fleet-sensor-' || i, 'hostname', 'h') FROM generate_series(0, 3) i`);
  const chunk = 250_000;
  for (let from = 0; from < rows; from += chunk) {
    const to = Math.min(rows, from + chunk) - 1;
    pg.psql(`INSERT INTO decoyd_events (boot, seq, ts, last_ts, sensor_id, kind, proto, src, dst, sport, dport, packets, fields)
      SELECT b.boot, n, t, t, 'fleet-sensor-' || (n % 4), k, 'tcp', s, d, 40000 + n % 1024, 1 + n % 1024, 1,
        jsonb_build_object('kind', k, 'time', (extract(epoch FROM t) * 1000)::bigint, 'srcMac', '02:00:00:00:00:02', 'dstMac', '00:1b:21:00:00:01',
          'srcIp', host(s), 'dstIp', host(d), 'srcPort', 40000 + n % 1024, 'dstPort', 1 + n % 1024, 'flags', 'S', 'state', 'closed', 'answer', 'rst-ack')
      FROM (SELECT n, to_timestamp((${start} + n::float8 * ${(end - start) / rows}) / 1000) AS t,
              ('203.0.' || ((n / 2000 * 7919) % 5000 / 256) || '.' || ((n / 2000 * 7919) % 5000 % 256))::inet AS s,
              ('198.51.100.' || (1 + (n / 500) % 250))::inet AS d, 'tcp.packet'::text AS k
            FROM generate_series(${from}, ${to}) AS n) g
      JOIN decoyd_boots b ON b.id_prefix = 'fleet-sensor-' || (n % 4) || '-bench'`, 'decoyd', 1_800_000);
    process.stderr.write(`  fleet table: ${fmt(to + 1)} rows (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
  }
  pg.psql(`INSERT INTO decoyd_source_sensors SELECT src, sensor_id, min(ts), max(ts), count(*) FROM decoyd_events WHERE sensor_id LIKE 'fleet-%' GROUP BY 1, 2;
    INSERT INTO decoyd_source_hosts SELECT src, sensor_id, dst, min(ts), max(ts), count(*) FROM decoyd_events WHERE sensor_id LIKE 'fleet-%' GROUP BY 1, 2, 3;
    INSERT INTO decoyd_source_port_blocks SELECT src, sensor_id, proto, block, last_seen, ${DENSE_COUNTS} FROM (
      SELECT src, sensor_id, proto, dport / ${PORT_BLOCK} AS block, max(last_seen) AS last_seen, array_agg(dport % ${PORT_BLOCK}) AS offsets, array_agg(events) AS events FROM (
        SELECT src, sensor_id, proto, dport, max(ts) AS last_seen, count(*) AS events FROM decoyd_events WHERE sensor_id LIKE 'fleet-%' GROUP BY 1, 2, 3, 4) p
      GROUP BY 1, 2, 3, 4) b;
    INSERT INTO decoyd_sensors (sensor_id, name, hostname, last_event, last_report, backlog, shipped) SELECT 'fleet-sensor-' || i, 'fleet-sensor-' || i, 'h', now(), now(), 0, ${Math.floor(rows / 4)} FROM generate_series(0, 3) i;
    ANALYZE`, 'decoyd', 3_600_000);
  return (Date.now() - t0) / 1000;
}

async function queries(pg: PgCluster, rounds: number): Promise<string[]> {
  const store = new PgStoreQuery(pg.url(SUPERUSER, SUPERUSER_PASSWORD));
  const api = await buildAdminApi({ store, token: TOKEN });
  await api.listen({ host: '127.0.0.1', port: 0 });
  const address = api.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const srcs = pg.psql('SELECT host(src) FROM decoyd_source_sensors GROUP BY src ORDER BY random() LIMIT 200').split('\n').filter((l) => l.length > 0);
  const paths: [string, () => string][] = [
    ['/api/v1/events?src=…&limit=100', () => `/api/v1/events?src=${srcs[Math.floor(Math.random() * srcs.length)]}&limit=100`],
    ['/api/v1/events?limit=100', () => '/api/v1/events?limit=100'],
    ['/api/v1/events?sensor=…&port=…&limit=100', () => `/api/v1/events?sensor=fleet-sensor-${Math.floor(Math.random() * 4)}&port=${1 + Math.floor(Math.random() * 1024)}&limit=100`],
    ['/api/v1/sources?limit=100', () => '/api/v1/sources?limit=100'],
    ['/api/v1/sources/:ip', () => `/api/v1/sources/${srcs[Math.floor(Math.random() * srcs.length)]}`],
  ];
  const out: string[] = [];
  for (const [label, path] of paths) {
    const times: number[] = [];
    for (let i = 0; i < rounds + 10; i++) {
      const t0 = process.hrtime.bigint();
      const r = await fetch(`http://127.0.0.1:${port}${path()}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const body = await r.text();
      if (r.status !== 200) throw new Error(`${label}: ${r.status} ${body.slice(0, 200)}`);
      if (i >= 10) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    out.push(`  ${label.padEnd(44)} p50 ${pct(times, 50).toFixed(1)} ms   p99 ${pct(times, 99).toFixed(1)} ms`);
  }
  await api.close();
  await store.close();
  return out;
}

async function main(): Promise<void> {
  const ingest = arg('--ingest', 500_000);
  const outage = arg('--outage', 200_000);
  const rows = arg('--rows', 10_000_000);
  const batch = arg('--batch', 5000);
  const connections = arg('--connections', POSTGRES_DEFAULTS.connections);
  const rounds = arg('--rounds', 200);
  const dir = mkdtempSync(join(tmpdir(), 'decoyd-bench-fleet-'));
  const pg = createPgCluster('decoyd-bench-pg-', BENCH_PG_SETTINGS);
  print(`PostgreSQL 15 cluster for the bench: fsync = off, full_page_writes = off, ${BENCH_PG_SETTINGS.join(', ')}`);
  try {
    await migrate(pg.url(SUPERUSER, SUPERUSER_PASSWORD), { daysAhead: 2 }, () => undefined);
    for (const line of await shipping(pg, join(dir, 'store'), ingest, outage, batch, connections)) print(line);
    const buildS = buildFleetTable(pg, rows);
    const size = pg.psql("SELECT pg_size_pretty(sum(pg_total_relation_size(inhrelid))) FROM pg_inherits WHERE inhparent = 'decoyd_events'::regclass").trim();
    print(`Fleet table: ${fmt(rows)} synthetic events + the shipped ones, 4 sensors, 5,000 sources, 10 daily partitions, ${size}, built by SQL in ${buildS.toFixed(0)} s`);
    print(`p50/p99 over HTTP (${rounds} requests each, fleet API over PgStoreQuery):`);
    for (const line of await queries(pg, rounds)) print(line);
  } finally {
    pg.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`bench:fleet: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
