/**
 * A fleet of two sensors shipping to a real PostgreSQL 15 (Debian's binaries; a throw-away
 * cluster made by initdb in a temp dir, run as the unprivileged `postgres` user, reached over a
 * unix socket in its own directory, which works from inside the labs' network namespaces).
 * Two daemons guard two separate labs; nmap scans both.
 *
 * - PostgreSQL is stopped in the middle of sensor A's scan and started again a minute later, as
 *   the issue asks (the shipper retries with backoff capped at 1 s: some 60 failed cycles). The
 *   scan is answered unchanged, and afterwards PostgreSQL holds each event of each sensor's own
 *   SQLite store exactly once (the id sets are equal).
 * - kill -9 of sensor A while it ships, then a restart: again equal sets, no duplicate.
 * - Sensor B has three more shippers: a refused login, a socket that does not exist, a database
 *   whose schema is at another version. Each gives one clear log line and a metric; B keeps
 *   answering and its good shipper keeps shipping.
 * - `decoyd api --store postgres://…` over the reader role: one events query and one source query
 *   return both sensors' events, tagged with observer.name; sensor= filters; stats report health.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { DEFAULT_MAIN_JS, startDaemon, type DaemonHandle } from '../helpers/daemon';
import { needsRoot, withLab, type Lab } from '../helpers/lab';
import { runNmap } from '../helpers/nmap';
import { createPgCluster, SUPERUSER, SUPERUSER_PASSWORD, type PgCluster } from '../helpers/postgres';
import { http } from '../helpers/admin-http';
import { PG_SCHEMA_VERSION } from '../../daemon/src/fleet/pg-schema';

const TOKEN = 'e2e-fleet-token-6c0d93ab11';
const WRITER = { user: 'decoyd_writer', password: 'writer-pw-91ac' };
const READER = { user: 'decoyd_reader', password: 'reader-pw-4e7d' };
const FLEET_API = 'http://127.0.0.1:8081';

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** The sensor's /metrics lines of one metric (every label set). */
async function metricLines(lab: Lab, name: string): Promise<string[]> {
  const r = await lab.exec(lab.honeyNs, ['curl', '-s', '-m', '5', '-H', `Authorization: Bearer ${TOKEN}`, 'http://127.0.0.1:8080/metrics'], { timeoutMs: 10_000 });
  return r.stdout.split('\n').filter((l) => l.startsWith(`${name}{`));
}

async function metric(lab: Lab, name: string, labels: string): Promise<number> {
  const line = (await metricLines(lab, name)).find((l) => l.includes(labels));
  return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

function sensorConfig(dir: string, name: string, decoy: string, ship: string): string {
  return `
templates:
  web:
    personality: "Linux 4.15 - 5.6"
    defaults: { tcp: reset, udp: reset, icmp: open }
    ports:
      - { proto: tcp, port: 22, action: open, service: { banner: "SSH-2.0-OpenSSH_8.9p1\\r\\n" } }
      - { proto: tcp, port: 80, action: open }
hosts:
  - { address: ${decoy}, template: web }
log: { level: warn }
sensor: { name: ${name} }
store: { path: ${join(dir, name)} }
admin: { listen: "127.0.0.1:8080", token_file: ${join(dir, 'token')} }
ship:
${ship}`;
}

const shipLine = (name: string, url: string, batch: number): string =>
  `  - { kind: postgres, name: ${name}, url: "${url}", batch: ${batch}, interval: 200, reconnect_max_ms: 1000, connect_timeout_ms: 2000 }\n`;

/** Event ids in a sensor's own SQLite store (id prefix of the row's boot + sequence). */
function storeIds(dir: string, name: string): string[] {
  const db = new Database(join(dir, name, 'events.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare("SELECT b.id_prefix || '-' || e.seq AS id FROM events e JOIN boots b ON b.id = e.boot").all() as { id: string }[]).map((r) => r.id);
  } finally {
    db.close();
  }
}

function sensorIdOf(dir: string, name: string): string {
  return readFileSync(join(dir, name, 'sensor-id'), 'utf8').trim();
}

/** Every event id PostgreSQL holds for a sensor, with its count of rows (duplicates would show). */
function pgIds(pg: PgCluster, sensorId: string): { ids: Set<string>; rows: number } {
  const out = pg.psql(`SELECT b.id_prefix || '-' || e.seq FROM decoyd_events e JOIN decoyd_boots b USING (boot) WHERE e.sensor_id = '${sensorId}'`).split('\n').filter((l) => l.length > 0);
  return { ids: new Set(out), rows: out.length };
}

/** Waits until PostgreSQL holds exactly the sensor's stored events, each once; returns how many. */
async function assertShippedExactlyOnce(pg: PgCluster, dir: string, name: string, d: DaemonHandle): Promise<number> {
  const sensorId = sensorIdOf(dir, name);
  let last = '';
  await until(`PostgreSQL to hold ${name}'s events exactly once`, () => {
    const local = storeIds(dir, name);
    const remote = pgIds(pg, sensorId);
    const missing = local.filter((id) => !remote.ids.has(id)).length;
    last = `${local.length} stored, ${remote.rows} rows in PostgreSQL (${remote.ids.size} distinct), ${missing} missing`;
    return missing === 0 && remote.rows === local.length && remote.ids.size === local.length;
  }, 45_000).catch((err: unknown) => {
    const errors = d.events.filter((l) => l.kind === 'daemon.error').slice(-6).map((l) => String(l.message));
    assert.fail(`${String(err)}: ${last}; the sensor's last errors:\n${errors.join('\n')}\n${d.otherOutput.slice(-5).join('\n')}`);
  });
  return storeIds(dir, name).length;
}

function openPorts(r: Awaited<ReturnType<typeof runNmap>>): number[] {
  return (r.hosts[0]?.ports ?? []).filter((p) => p.state === 'open').map((p) => p.port).sort((a, b) => a - b);
}

describe('a fleet of sensors shipping to PostgreSQL', { skip: needsRoot.skip }, () => {
  test('two sensors, an outage mid-scan, kill -9, refused/nowhere/wrong-schema targets, one fleet API', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'decoyd-fleet-e2e-'));
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
    const pg = createPgCluster();
    try {
      pg.psql(`CREATE ROLE ${WRITER.user} LOGIN PASSWORD '${WRITER.password}'; CREATE ROLE ${READER.user} LOGIN PASSWORD '${READER.password}'`);
      pg.psql('CREATE DATABASE decoyd_old');
      const { execFileSync } = await import('node:child_process');
      const cli = (args: string[]): string => execFileSync(process.execPath, [DEFAULT_MAIN_JS, ...args], { encoding: 'utf8', timeout: 60_000 });
      const owner = (db: string): string => pg.url(SUPERUSER, SUPERUSER_PASSWORD, db);
      assert.match(cli(['db', 'migrate', '--url', owner('decoyd'), '--writer', WRITER.user, '--reader', READER.user]), /applied migration 1[^]*applied migration 2/);
      assert.match(cli(['db', 'migrate', '--url', owner('decoyd')]), /nothing to do/);
      cli(['db', 'migrate', '--url', owner('decoyd_old'), '--writer', WRITER.user]);
      pg.psql(`INSERT INTO decoyd_schema_migrations (version, description) VALUES (${PG_SCHEMA_VERSION + 1}, 'a schema from another decoyd')`, 'decoyd_old');
      const good = pg.url(WRITER.user, WRITER.password);

      await withLab(t, { name: 'dt-fleet-a' }, async (labA) => {
        await withLab(t, { name: 'dt-fleet-b' }, async (labB) => {
          const configA = sensorConfig(dir, 'sensor-a', '198.51.100.10', shipLine('fleet', good, 100));
          const configB = sensorConfig(dir, 'sensor-b', '198.51.100.20', shipLine('fleet', good, 500)
            + shipLine('badpw', pg.url(WRITER.user, 'not-the-password'), 500)
            + shipLine('nowhere', `postgresql://${WRITER.user}:x@localhost:5432/decoyd?host=${encodeURIComponent(join(dir, 'no-such-socket-dir'))}`, 500)
            + shipLine('oldschema', pg.url(WRITER.user, WRITER.password, 'decoyd_old'), 500));
          let a: DaemonHandle = await startDaemon(labA, configA);
          const b = await startDaemon(labB, configB);
          let api: ReturnType<Lab['spawn']> | undefined;
          try {
            // Sensor A's scan runs ~50 s; PostgreSQL goes down 3 s in, for 60 s.
            const scanA = runNmap(labA, ['-sS', '-n', '-Pn', '--max-rate', '80', '-p', '1-4000', '198.51.100.10'], { flushNeighbours: true, timeoutMs: 150_000 });
            const scanB = runNmap(labB, ['-sS', '-n', '-Pn', '-p', '1-1000', '198.51.100.20'], { flushNeighbours: true, timeoutMs: 120_000 });
            await new Promise((r) => setTimeout(r, 3000));
            pg.stop();
            const stoppedAt = Date.now();
            await until('sensor A to report PostgreSQL unreachable', async () => (await metric(labA, 'decoyd_ship_failing', 'reason="unreachable"')) === 1, 15_000);
            const [resultA, resultB] = await Promise.all([scanA, scanB]);
            assert.deepEqual(openPorts(resultA), [22, 80], 'sensor A answered the scan unchanged while PostgreSQL was down');
            const closedA = (resultA.hosts[0]?.extraPorts.closed ?? 0) + (resultA.hosts[0]?.ports.filter((p) => p.state === 'closed').length ?? 0);
            assert.equal(closedA, 3998, 'every other port answered closed (reset), none lost');
            assert.deepEqual(openPorts(resultB), [22, 80]);
            assert.ok((await metric(labA, 'decoyd_ship_backlog_events', 'shipper="fleet"')) > 0, 'the backlog shows in /metrics during the outage');
            await new Promise((r) => setTimeout(r, Math.max(0, 60_000 - (Date.now() - stoppedAt))));
            pg.start();
            const shippedA = await assertShippedExactlyOnce(pg, dir, 'sensor-a', a);
            const shippedB = await assertShippedExactlyOnce(pg, dir, 'sensor-b', b);
            assert.ok(shippedA > 50 && shippedB > 50, `stored ${shippedA} and ${shippedB} events`);
            await until('sensor A backlog 0', async () => (await metric(labA, 'decoyd_ship_backlog_events', 'shipper="fleet"')) === 0);
            assert.ok(a.events.some((l) => l.kind === 'daemon.error' && String(l.message).startsWith('ship fleet:') && String(l.message).includes('[unreachable]')), 'the outage is logged');
            assert.ok(a.events.some((l) => l.kind === 'daemon.error' && String(l.message).includes('works again')), 'the recovery is logged');

            // The three broken targets of sensor B: a clear line each, a metric each, and B still runs.
            for (const [name, reason, text] of [['badpw', 'auth', /refused the login: password authentication failed/], ['nowhere', 'unreachable', /unreachable/], ['oldschema', 'schema', new RegExp(`schema is version ${PG_SCHEMA_VERSION + 1}, this decoyd writes version ${PG_SCHEMA_VERSION}`)]] as const) {
              const line = b.events.find((l) => l.kind === 'daemon.error' && String(l.message).startsWith(`ship ${name}:`));
              assert.ok(line, `no log line for ${name}`);
              assert.match(String(line.message), text);
              assert.ok(!String(line.message).includes('not-the-password'), 'the password is not logged');
              // After a long outage a broken shipper first reports unreachable; its next retry (≤ 1 s) is refused again.
              await until(`decoyd_ship_failing{shipper="${name}",reason="${reason}"} = 1`, async () => (await metric(labB, 'decoyd_ship_failing', `shipper="${name}",reason="${reason}"`)) === 1, 15_000)
                .catch(async (err: unknown) => assert.fail(`${String(err)}; B's failing metrics: ${(await metricLines(labB, 'decoyd_ship_failing')).join(' | ')}`));
              assert.ok((await metric(labB, 'decoyd_ship_errors_total', `shipper="${name}",reason="${reason}"`)) >= 1);
            }
            assert.equal(await metric(labB, 'decoyd_ship_connected', 'shipper="fleet"'), 1);
            assert.deepEqual(openPorts(await runNmap(labB, ['-sS', '-n', '-Pn', '-p', '20-25,80', '198.51.100.20'])), [22, 80], 'sensor B keeps answering');

            // kill -9 of sensor A while it ships (batches of 100, so the backlog drains batch by batch), then a restart.
            const sentBefore = await metric(labA, 'decoyd_ship_events_sent_total', 'shipper="fleet"');
            const flood = labA.spawn(labA.scannerNs, ['nmap', '-sS', '-n', '-Pn', '--max-rate', '1500', '--max-retries', '0', '-p', '1-20000', '198.51.100.10'], { stdio: 'ignore' });
            await until('sensor A to ship during the second scan', async () => (await metric(labA, 'decoyd_ship_events_sent_total', 'shipper="fleet"')) > sentBefore + 200, 20_000);
            process.kill(a.pid, 'SIGKILL');
            await a.exited;
            flood.kill('SIGKILL');
            a = await startDaemon(labA, configA);
            const afterKill = await assertShippedExactlyOnce(pg, dir, 'sensor-a', a);
            assert.ok(afterKill > shippedA + 200, `the second scan added events (${shippedA} → ${afterKill})`);

            // The fleet API over the reader role.
            api = labA.spawn(labA.honeyNs, ['env', `DECOYD_ADMIN_TOKEN=${TOKEN}`, process.execPath, DEFAULT_MAIN_JS, 'api', '--store', pg.url(READER.user, READER.password), '--listen', '127.0.0.1:8081'], { stdio: 'ignore' });
            const get = async <T>(path: string): Promise<T> => {
              const r = await http(labA, path, TOKEN, { base: FLEET_API });
              assert.equal(r.status, 200, `${path}: ${r.status} ${r.body}`);
              return JSON.parse(r.body) as T;
            };
            await until('the fleet API to listen', async () => (await http(labA, '/api/v1/health', null, { base: FLEET_API })).status === 200, 15_000);
            type Doc = Record<string, Record<string, unknown>>;
            const page = await get<{ events: Doc[] }>('/api/v1/events?port=22&kind=tcp.packet&limit=1000');
            const names = new Set(page.events.map((e) => e.observer?.name));
            assert.deepEqual([...names].sort(), ['sensor-a', 'sensor-b'], 'one events query returns both sensors, tagged');
            for (const e of page.events) assert.equal(e.destination?.ip, e.observer?.name === 'sensor-a' ? '198.51.100.10' : '198.51.100.20');
            const onlyB = await get<{ events: Doc[] }>('/api/v1/events?sensor=sensor-b&limit=200');
            assert.ok(onlyB.events.length > 0 && onlyB.events.every((e) => e.observer?.name === 'sensor-b'), 'sensor= filters');
            // Cursor paging over HTTP: the fleet store's cursor passes the route's schema and continues where page 1 ended.
            const p1 = await get<{ events: Doc[]; nextCursor?: string }>('/api/v1/events?sensor=sensor-b&limit=50');
            assert.ok(p1.nextCursor !== undefined && p1.events.length === 50, 'a full page has a cursor');
            const p2 = await get<{ events: Doc[] }>(`/api/v1/events?sensor=sensor-b&limit=50&cursor=${encodeURIComponent(p1.nextCursor)}`);
            const seen = new Set(p1.events.map((e) => e.event?.id));
            assert.ok(p2.events.length > 0 && p2.events.every((e) => !seen.has(e.event?.id)), 'page 2 holds other events');
            assert.ok(String(p2.events[0]?.['@timestamp']) <= String(p1.events[49]?.['@timestamp']), 'page 2 is older than page 1');
            const source = await get<{ hosts: { ip: string }[]; sensors: { name: string; events: number }[]; portCount: number }>('/api/v1/sources/198.51.100.2');
            assert.deepEqual(source.sensors.map((s) => s.name).sort(), ['sensor-a', 'sensor-b'], 'one source query shows both sensors');
            assert.deepEqual(source.hosts.map((h) => h.ip).sort(), ['198.51.100.10', '198.51.100.20']);
            assert.ok(source.portCount >= 4000);
            const onlyA = await get<{ hosts: { ip: string }[] }>('/api/v1/sources/198.51.100.2?sensor=sensor-a');
            assert.deepEqual(onlyA.hosts.map((h) => h.ip), ['198.51.100.10']);
            const stats = await get<{ store: { events: number; sensors: { name: string; backlog: number; lastEvent?: number; shipped: number }[] } }>('/api/v1/stats');
            assert.ok(stats.store.events >= afterKill + shippedB, `fleet stats count ${stats.store.events} events`);
            for (const name of ['sensor-a', 'sensor-b']) {
              const s = stats.store.sensors.find((x) => x.name === name);
              assert.ok(s !== undefined && typeof s.lastEvent === 'number' && s.shipped > 0, `health of ${name}: ${JSON.stringify(s)}`);
            }
            assert.equal((await http(labA, '/api/v1/events?sensor=bad%20name', TOKEN, { base: FLEET_API })).status, 400);
          } finally {
            api?.kill('SIGTERM');
            await a.stop();
            await b.stop();
          }
        });
      });
    } finally {
      pg.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
