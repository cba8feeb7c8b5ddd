import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { ecsContext, fromEcs, toEcs } from '../../daemon/src/events/ecs';
import { KIND_SPECS } from '../../daemon/src/events/ecs-spec';
import type { DecoyEvent } from '../../daemon/src/events/event';
import { FanoutSink, type RecordSink } from '../../daemon/src/events/fanout-sink';
import { SCHEMA_PATH, eventSchema, readmeWithTable, repoRoot, schemaText } from '../../daemon/src/events/schema/generate';
import { INDEX_TEMPLATE_PATH, indexTemplate, indexTemplateText } from '../../daemon/src/events/schema/index-template';
import { SAMPLE_EVENTS } from './event-fixtures';

const ctx = ecsContext({ name: 'sensor-a', id: 'sensor-a', hostname: 'box' }, Date.UTC(2026, 11, 1));
const validate = new Ajv({ allErrors: true, strict: false }).compile(eventSchema());

test('the fixtures cover every event kind in the spec table', () => {
  assert.deepEqual(new Set(SAMPLE_EVENTS.map((e) => e.kind)), new Set(Object.keys(KIND_SPECS)));
});

test('every kind maps to an ECS document that validates against the schema', () => {
  SAMPLE_EVENTS.forEach((e, i) => {
    const doc = toEcs(e, i + 1, ctx);
    assert.ok(validate(doc), `${e.kind}: ${JSON.stringify(validate.errors)}`);
  });
});

test('the schema rejects a document missing a required field of its kind', () => {
  const doc = toEcs(SAMPLE_EVENTS.find((e) => e.kind === 'tcp.packet') as DecoyEvent, 1, ctx) as Record<string, Record<string, unknown>>;
  delete (doc.destination as Record<string, unknown>).port;
  assert.equal(validate(doc), false);
  const mac = toEcs(SAMPLE_EVENTS.find((e) => e.kind === 'arp.reply') as DecoyEvent, 1, ctx) as Record<string, Record<string, unknown>>;
  (mac.source as Record<string, unknown>).mac = '02:00:00:00:00:02';
  assert.equal(validate(mac), false, 'colon MACs are not ECS');
});

test('a SYN lands on ECS fields', () => {
  const doc = toEcs(SAMPLE_EVENTS.find((e) => e.kind === 'tcp.packet') as DecoyEvent, 7, ctx);
  assert.equal(doc['@timestamp'], '2026-12-01T23:00:00.123Z');
  assert.deepEqual(doc.event, {
    id: `${ctx.idPrefix}-7`, sequence: 7, kind: 'event', category: ['network'], type: ['connection'], action: 'tcp.packet', dataset: 'decoyd.tcp', module: 'decoyd',
  });
  assert.deepEqual(doc.source, { mac: '02-00-00-00-00-02', ip: '198.51.100.2', port: 40000 });
  assert.deepEqual(doc.destination, { mac: '00-1B-21-AA-BB-01', ip: '198.51.100.10', port: 22 });
  assert.deepEqual(doc.network, { transport: 'tcp', type: 'ipv4', direction: 'ingress' });
  assert.deepEqual(doc.related, { ip: ['198.51.100.2', '198.51.100.10'] });
  assert.deepEqual(doc.decoyd, { tcp: { flags: 'S' }, state: 'open', answer: 'syn-ack' });
  assert.deepEqual(doc.observer, { name: 'sensor-a', id: 'sensor-a', hostname: 'box', type: 'honeypot', product: 'decoyd' });
});

test('fromEcs is the exact inverse of toEcs for every kind', () => {
  for (const e of SAMPLE_EVENTS) assert.deepEqual(fromEcs(toEcs(e, 1, ctx)), e, e.kind);
});

test('fields no table places go under decoyd.* and survive the round trip; user names and passwords land on ECS/auth fields', () => {
  const future = { kind: 'tcp.open', time: 1, srcIp: '198.51.100.2', srcPort: 1, dstIp: '198.51.100.10', dstPort: 22, user: 'root', password: 'toor', banner: { seen: true } } as unknown as DecoyEvent;
  const doc = toEcs(future, 1, ctx) as Record<string, Record<string, unknown>>;
  assert.deepEqual(doc.user, { name: 'root' });
  assert.deepEqual(doc.decoyd, { auth: { password: 'toor' }, banner: { seen: true } });
  assert.deepEqual(doc.related, { ip: ['198.51.100.2', '198.51.100.10'], user: ['root'] });
  assert.deepEqual(fromEcs(doc), future);
  const scan = toEcs(SAMPLE_EVENTS.find((e) => e.kind === 'scan.detected') as DecoyEvent, 1, ctx) as Record<string, Record<string, Record<string, unknown>>>;
  assert.equal(scan.decoyd?.scan?.id, '198.51.100.2-1');
  assert.equal(scan.decoyd?.scan?.tool, 'nmap');
  assert.deepEqual(scan.decoyd?.scan?.ports, [22, 80]);
});

test('the fan-out sink numbers each event once, wants the OR of its sinks and skips sinks that do not want a kind', () => {
  const seen: string[] = [];
  const only = (kind: string, name: string): RecordSink => ({ wants: (k) => k === kind, write: (e, n) => void seen.push(`${name}:${e.kind}:${n}`) });
  const fan = new FanoutSink([only('icmp', 'a'), only('drop', 'b')]);
  fan.observe({ wants: () => false, write: (e, n) => void seen.push(`obs:${e.kind}:${n}`) });
  assert.equal(fan.wants('icmp'), true);
  assert.equal(fan.wants('drop'), true);
  assert.equal(fan.wants('tcp.packet'), false);
  fan.emit(SAMPLE_EVENTS.find((e) => e.kind === 'icmp') as DecoyEvent);
  fan.emit(SAMPLE_EVENTS.find((e) => e.kind === 'drop') as DecoyEvent);
  assert.deepEqual(seen, ['a:icmp:1', 'obs:icmp:1', 'b:drop:2', 'obs:drop:2']);
});

test('the committed schema file and the README event table are up to date (npm run gen:events)', () => {
  const root = repoRoot();
  assert.equal(readFileSync(join(root, SCHEMA_PATH), 'utf8'), schemaText());
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  assert.equal(readme, readmeWithTable(readme));
});

test('the Elasticsearch/OpenSearch index template is up to date and maps every field an event writes', () => {
  const root = repoRoot();
  assert.equal(readFileSync(join(root, INDEX_TEMPLATE_PATH), 'utf8'), indexTemplateText(), 'run npm run gen:events');
  const mappings = (indexTemplate().template as { mappings: Record<string, unknown> }).mappings;
  const leafType = (path: string): unknown => {
    let at: Record<string, unknown> | undefined = mappings;
    for (const key of path.split('.')) at = (at?.properties as Record<string, Record<string, unknown>> | undefined)?.[key];
    return at?.type;
  };
  const walk = (value: unknown, path: string, out: string[]): void => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, path === '' ? k : `${path}.${k}`, out);
    } else out.push(path);
  };
  const ctx = ecsContext({ name: 's', id: 'i', hostname: 'h' }, 0);
  for (const [n, e] of SAMPLE_EVENTS.entries()) {
    const paths: string[] = [];
    walk(toEcs(e, n + 1, ctx), '', paths);
    for (const p of paths) assert.ok(leafType(p) !== undefined, `${e.kind}: ${p} has no mapping`);
    const doc = toEcs(e, n + 1, ctx) as Record<string, Record<string, unknown>>;
    if (doc.source?.ip !== undefined) assert.equal(leafType('source.ip'), 'ip');
  }
});
