/**
 * The fleet API's live stream over a real PostgreSQL 15, read by curl: shippers' batches NOTIFY
 * what they inserted, the API (as the reader role) LISTENs while someone streams and sends each
 * committed event once, in commit order, filtered per client (sensor= included). A resend that
 * meets rows PostgreSQL held streams only the rows it inserted; a notice no shipper would send
 * is ignored; a PostgreSQL restart under a stream is survived; with no client left the API stops
 * listening. Batches are sent the way the shipper sends them (buildInsertBatch), so the test
 * needs no lab.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { describe, test } from 'node:test';
import pg from 'pg';
import { buildAdminApi } from '../../admin-api/src/server';
import { migrate } from '../../daemon/src/cli/fleet-command';
import { buildInsertBatch, REGISTER_BOOT_SQL, type BatchForm, type OutboxRow } from '../../daemon/src/fleet/pg-batch';
import { PgLiveFeed } from '../../daemon/src/fleet/pg-live';
import { PgStoreQuery } from '../../daemon/src/fleet/pg-query';
import { parseIp } from '../../daemon/src/wire/address';
import { needsRoot } from '../helpers/lab';
import { createPgCluster, SUPERUSER, SUPERUSER_PASSWORD } from '../helpers/postgres';

const TOKEN = 'live-test-token-0123456789';
const READER = { user: 'live_reader', password: 'reader-pw-5e1d' };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await sleep(50);
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** A curl reading the SSE stream; `events` fills with each `data:` line's document. */
function stream(url: string): { curl: ChildProcess; events: Record<string, Record<string, unknown>>[]; text: () => string } {
  const curl = spawn('curl', ['-sN', '--max-time', '120', '-H', `authorization: Bearer ${TOKEN}`, url], { stdio: ['ignore', 'pipe', 'ignore'] });
  const events: Record<string, Record<string, unknown>>[] = [];
  let buffered = '';
  let all = '';
  curl.stdout?.setEncoding('utf8');
  curl.stdout?.on('data', (chunk: string) => {
    all += chunk;
    buffered += chunk;
    let at: number;
    while ((at = buffered.indexOf('\n\n')) >= 0) {
      const message = buffered.slice(0, at);
      buffered = buffered.slice(at + 2);
      for (const line of message.split('\n')) if (line.startsWith('data: ')) events.push(JSON.parse(line.slice(6)) as Record<string, Record<string, unknown>>);
    }
  });
  return { curl, events, text: () => all };
}

describe('fleet API: the live stream over PostgreSQL', { skip: needsRoot.skip }, () => {
  test('each committed event streams once, in commit order, filtered; resends stream only what they inserted; a restart is survived', async () => {
    const cluster = createPgCluster('decoyd-pg-live-');
    const T0 = Date.now() - 60_000;
    const curls: ChildProcess[] = [];
    let store: PgStoreQuery | undefined;
    let live: PgLiveFeed | undefined;
    let api: Awaited<ReturnType<typeof buildAdminApi>> | undefined;
    const said: string[] = [];
    try {
      const owner = cluster.url(SUPERUSER, SUPERUSER_PASSWORD);
      cluster.psql(`CREATE ROLE ${READER.user} LOGIN PASSWORD '${READER.password}'`);
      await migrate(owner, { daysAhead: 1, reader: READER.user }, () => undefined);
      const readerUrl = cluster.url(READER.user, READER.password);
      store = new PgStoreQuery(readerUrl);
      live = new PgLiveFeed(readerUrl, store, (line) => said.push(line), { reconnectMaxMs: 500 });
      api = await buildAdminApi({ store, token: TOKEN, live });
      await api.listen({ host: '127.0.0.1', port: 0 });
      const address = api.server.address();
      const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/api/v1/events/stream`;

      // Rows as a sensor's outbox holds them: sensors S1 and S2, one boot each.
      const rowsOf = (sensor: number, from: number, to: number): OutboxRow[] => {
        const out: OutboxRow[] = [];
        for (let seq = from; seq <= to; seq++) {
          const ts = T0 + sensor * 0.25 + seq * 2;
          const dstPort = seq % 3 === 0 ? 22 : 1000 + seq;
          const fields = { kind: 'tcp.packet', time: ts, srcMac: '02:00:00:00:00:02', dstMac: '00:1b:21:00:00:01', srcIp: '203.0.113.7', dstIp: `198.51.100.${10 + sensor}`, srcPort: 40000 + (seq % 1000), dstPort, flags: 'S', state: 'closed', answer: 'rst-ack' };
          out.push({ id: seq, boot: 1, seq, ts, kind: 'tcp.packet', proto: 'tcp', src: parseIp('203.0.113.7'), dst: parseIp(`198.51.100.${10 + sensor}`), sport: 40000 + (seq % 1000), dport: dstPort, fields: JSON.stringify(fields) });
        }
        return out;
      };
      const writer = new pg.Client({ connectionString: owner });
      writer.on('error', () => undefined); // PostgreSQL's restart below ends it
      await writer.connect();
      const keys = new Map<number, number>();
      for (const sensor of [1, 2]) {
        const r = await writer.query<{ boot: number }>(REGISTER_BOOT_SQL, [`S${sensor}-boot1`, `S${sensor}`, JSON.stringify({ id: `S${sensor}`, name: `sensor-${sensor}`, hostname: 'h' })]);
        keys.set(sensor, r.rows[0]?.boot as number);
      }
      const send = async (sensor: number, rows: OutboxRow[], form: BatchForm): Promise<number> => {
        const b = buildInsertBatch(rows, () => ({ key: keys.get(sensor) as number, sensorId: `S${sensor}` }), { id: `S${sensor}`, name: `sensor-${sensor}`, hostname: 'h', backlog: 0, software: 'test' }, form);
        return (await writer.query<{ inserted: number }>(b.text, b.values)).rows[0]?.inserted as number;
      };

      // Before anyone streams, nothing listens.
      assert.equal(live.listening, false);
      assert.equal(await send(1, rowsOf(1, 1, 10), 'fresh'), 10);
      const all = stream(base);
      const s2ssh = stream(`${base}?sensor=sensor-2&port=22`);
      curls.push(all.curl, s2ssh.curl);
      await until('the feed to listen', () => live?.listening === true, 10_000);
      await until('both streams to open', () => all.text().includes(': decoyd event stream') && s2ssh.text().includes(': decoyd event stream'), 10_000);

      assert.equal(await send(1, rowsOf(1, 11, 300), 'fresh'), 290);
      assert.equal(await send(2, rowsOf(2, 1, 100), 'fresh'), 100);
      // A resend over rows 251-300 (held) and 301-350 (new); then rows 358-360 go fresh, and a resend
      // of 351-365 inserts the two runs around them (351-357, 361-365): held rows between them do not stream again.
      assert.equal(await send(1, rowsOf(1, 251, 350), 'resend'), 50);
      assert.equal(await send(1, rowsOf(1, 358, 360), 'fresh'), 3);
      assert.equal(await send(1, rowsOf(1, 351, 365), 'resend'), 12);
      // Notices no shipper sends: ignored, logged once.
      cluster.psql("SELECT pg_notify('decoyd_events', 'garbage'), pg_notify('decoyd_events', '{\"ts\":[2,1],\"r\":[[1,1,1]]}')");
      assert.equal(await send(2, rowsOf(2, 101, 120), 'fresh'), 20);

      const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, k) => from + k);
      const expected1 = [...range(11, 350), 358, 359, 360, ...range(351, 357), ...range(361, 365)];
      const expected2 = range(1, 120);
      await until(`all ${expected1.length + expected2.length} events on the stream`, () => all.events.length >= expected1.length + expected2.length, 20_000);
      await sleep(500);
      const seqOf = (e: Record<string, Record<string, unknown>>): number => Number(String(e.event?.id).split('-').pop());
      const of = (name: string): number[] => all.events.filter((e) => e.observer?.name === name).map(seqOf);
      assert.deepEqual(of('sensor-1'), expected1, 'sensor 1: each event once, in order; nothing from before the stream; resends only what they inserted');
      assert.deepEqual(of('sensor-2'), expected2);
      assert.equal(all.events.length, expected1.length + expected2.length, 'nothing else');
      // Commit order across sensors: S2's first batch came between S1's second and its resends.
      const firstS2 = all.events.findIndex((e) => e.observer?.name === 'sensor-2');
      assert.equal(firstS2, 290);
      assert.deepEqual(s2ssh.events.map(seqOf), expected2.filter((s) => s % 3 === 0), 'sensor= and port= filter the stream');
      assert.ok(s2ssh.events.every((e) => e.destination?.port === 22 && e.observer?.name === 'sensor-2'));
      assert.equal(said.filter((l) => /ignored a notice/.test(l)).length, 1, said.join('\n'));

      // PostgreSQL restarts under the stream: the feed says so, listens again, and streams what comes next.
      cluster.stop();
      await until('the feed to see the loss', () => live?.listening === false, 10_000);
      cluster.start();
      await writer.end().catch(() => undefined);
      const writer2 = new pg.Client({ connectionString: owner });
      writer2.on('error', () => undefined);
      await writer2.connect();
      await until('the feed to listen again', () => live?.listening === true, 15_000);
      const b = buildInsertBatch(rowsOf(2, 121, 130), () => ({ key: keys.get(2) as number, sensorId: 'S2' }), { id: 'S2', name: 'sensor-2', hostname: 'h', backlog: 0, software: 'test' }, 'fresh');
      await writer2.query(b.text, b.values);
      await writer2.end();
      await until('the events after the restart', () => all.events.filter((e) => e.observer?.name === 'sensor-2').length === 130, 10_000);
      assert.ok(said.some((l) => /lost its PostgreSQL connection/.test(l)) && said.some((l) => /listening on PostgreSQL again/.test(l)), said.join('\n'));

      // The last client leaves: the feed stops listening.
      for (const c of curls) c.kill('SIGTERM');
      await until('the feed to stop listening', () => live?.listening === false, 10_000);
      await until('its connection to end', () => cluster.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'decoyd api live'").trim() === '0', 10_000);
    } finally {
      for (const c of curls) if (c.exitCode === null) c.kill('SIGKILL');
      await api?.close();
      await live?.close();
      await store?.close();
      cluster.destroy();
    }
  });
});
