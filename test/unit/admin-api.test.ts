import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAdminApi, parseTime } from '../../admin-api/src/server';
import { ecsContext } from '../../daemon/src/events/ecs';
import { StoreDb } from '../../daemon/src/store/store-db';
import { SqliteStoreQuery } from '../../daemon/src/store/sqlite-query';
import { databaseFile } from '../../daemon/src/store/writer';
import { SAMPLE_EVENTS } from './event-fixtures';

const TOKEN = 'test-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };

async function withApi(fn: (api: Awaited<ReturnType<typeof buildAdminApi>>) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'decoyd-api-'));
  const ctx = ecsContext({ name: 's', id: 's', hostname: 'h' }, 1);
  const db = new StoreDb(databaseFile(dir), { idPrefix: ctx.idPrefix, observer: ctx.observer, started: 1 });
  db.insert(SAMPLE_EVENTS, SAMPLE_EVENTS.map((_, k) => k + 1));
  const store = new SqliteStoreQuery(dir);
  const logs: string[] = [];
  const api = await buildAdminApi({ store, token: TOKEN, log: (m) => logs.push(m), authLimits: { maxFailures: 5, windowMs: 60_000, maxSources: 16 } });
  try {
    await fn(api);
  } finally {
    await api.close();
    store.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('health needs no token; everything else needs the right one', () => withApi(async (api) => {
  const health = await api.inject({ url: '/api/v1/health' });
  assert.equal(health.statusCode, 200);
  assert.equal(health.json().status, 'ok');
  assert.equal((await api.inject({ url: '/api/v1/events' })).statusCode, 401);
  assert.equal((await api.inject({ url: '/api/v1/events', headers: { authorization: 'Bearer wrong-token-000000000000' } })).statusCode, 401);
  assert.equal((await api.inject({ url: '/api/v1/events', headers: { authorization: TOKEN } })).statusCode, 401, 'no Bearer scheme');
  const ok = await api.inject({ url: '/api/v1/events', headers: auth });
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.json().events.length, SAMPLE_EVENTS.length);
  assert.equal((await api.inject({ url: '/metrics', headers: { authorization: 'Bearer nope' } })).statusCode, 401);
}));

test('bad parameters get a 400 naming the parameter', () => withApi(async (api) => {
  const cases: [string, string][] = [
    ['/api/v1/events?limit=5000', 'limit'],
    ['/api/v1/events?limit=abc', 'limit'],
    ['/api/v1/events?src=300.1.1.1', 'src'],
    ['/api/v1/events?port=70000', 'port'],
    ['/api/v1/events?proto=sctp', 'proto'],
    ['/api/v1/events?since=yesterday', 'since'],
    ['/api/v1/events?cursor=xyz', 'cursor'],
    ['/api/v1/events?color=red', 'color'],
    ['/api/v1/sources/not-an-ip', 'ip'],
    ['/api/v1/personalities', 'q'],
    ['/api/v1/pcap', 'src'],
  ];
  for (const [url, parameter] of cases) {
    const r = await api.inject({ url, headers: auth });
    assert.equal(r.statusCode, 400, url);
    assert.equal(r.json().parameter, parameter, `${url}: ${r.body}`);
    assert.match(r.json().message, new RegExp(parameter), url);
  }
}));

test('events filter and page; sources, scans and stats answer from the store', () => withApi(async (api) => {
  const syns = (await api.inject({ url: '/api/v1/events?kind=tcp.packet&src=198.51.100.2', headers: auth })).json();
  assert.equal(syns.events.length, 2);
  assert.deepEqual(syns.events.map((e: { destination: { port: number } }) => e.destination.port).sort(), [22, 80]);
  assert.equal(syns.events.find((e: { destination: { port: number } }) => e.destination.port === 80).source.packets, 120, 'a folded row keeps its count');
  const p1 = (await api.inject({ url: '/api/v1/events?limit=5', headers: auth })).json();
  assert.equal(p1.events.length, 5);
  const p2 = (await api.inject({ url: `/api/v1/events?limit=5&cursor=${p1.nextCursor}`, headers: auth })).json();
  assert.notEqual(p2.events[0].event.id, p1.events[0].event.id);
  assert.equal((await api.inject({ url: '/api/v1/events?since=10m', headers: auth })).json().events.length, 0, 'fixtures are from 2026-12-01 23:00');
  const src = (await api.inject({ url: '/api/v1/sources/198.51.100.2', headers: auth })).json();
  assert.equal(src.scans[0].tool, 'nmap');
  assert.equal((await api.inject({ url: '/api/v1/sources/192.0.2.1', headers: auth })).statusCode, 404);
  assert.equal((await api.inject({ url: '/api/v1/scans', headers: auth })).json().scans[0].scanType, 'tcp-syn');
  assert.ok((await api.inject({ url: '/api/v1/sources', headers: auth })).json().sources.length >= 1);
  assert.equal((await api.inject({ url: '/api/v1/stats', headers: auth })).json().store.events, SAMPLE_EVENTS.length);
  assert.equal((await api.inject({ url: '/api/v1/hosts', headers: auth })).statusCode, 404, 'no control interface given');
}));

test('repeated failed authentication from one address is rate-limited, and only the first is logged', () => withApi(async (api) => {
  const codes: number[] = [];
  for (let k = 0; k < 20; k++) codes.push((await api.inject({ url: '/api/v1/stats', headers: { authorization: 'Bearer wrong' } })).statusCode);
  assert.deepEqual(codes.slice(0, 5), [401, 401, 401, 401, 401]);
  assert.ok(codes.slice(5).every((c) => c === 429));
  assert.equal((await api.inject({ url: '/api/v1/stats', headers: auth })).statusCode, 429, 'blocked for the window, even with the token');
  assert.equal((await api.inject({ url: '/api/v1/health' })).statusCode, 200);
  assert.equal((await api.inject({ url: '/api/v1/stats', headers: auth, remoteAddress: '127.0.0.2' })).statusCode, 200, 'other sources are not affected');
}));

test('the OpenAPI document is generated from the route schemas', () => withApi(async (api) => {
  const doc = (await api.inject({ url: '/api/v1/openapi.json' })).json();
  assert.equal(doc.openapi, '3.0.3');
  for (const path of ['/api/v1/events', '/api/v1/events/stream', '/api/v1/sources', '/api/v1/sources/{ip}', '/api/v1/scans', '/api/v1/stats', '/api/v1/hosts', '/api/v1/pcap', '/metrics']) {
    assert.ok(doc.paths[path] !== undefined, path);
  }
  assert.ok(doc.paths['/api/v1/events'].get.parameters.some((p: { name: string }) => p.name === 'cursor'));
  const page = await api.inject({ url: '/api/v1/docs' });
  assert.match(page.body, /\/api\/v1\/sources\/\{ip\}/);
}));

test('times: epoch ms, ISO and relative ages', () => {
  assert.equal(parseTime('1000', 'since', 5000), 1000);
  assert.equal(parseTime('10m', 'since', 3_600_000), 3_000_000);
  assert.equal(parseTime('2026-12-01T00:00:00Z', 'since', 0), Date.UTC(2026, 11, 1));
});
