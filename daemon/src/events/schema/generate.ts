/**
 * Generates the JSON Schema of decoyd's ECS documents and the README event table from
 * ecs-spec.ts. `node dist/daemon/src/events/schema/generate.js --write` (npm run gen:events)
 * rewrites both; a unit test fails when either is out of date.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { INDEX_TEMPLATE_PATH, indexTemplateText } from './index-template';
import { KIND_SPECS, pathOf, type FieldSpec, type KindSpec } from '../ecs-spec';

type Schema = Record<string, unknown>;

const MAC = { type: 'string', pattern: '^[0-9A-F]{2}(-[0-9A-F]{2}){5}$' };
const IPV4 = { type: 'string', pattern: '^[0-9]{1,3}(\\.[0-9]{1,3}){3}$' };

function fieldSchema(path: string, f: FieldSpec): Schema {
  if (path.endsWith('.mac')) return MAC;
  if (path.endsWith('.ip')) return IPV4;
  switch (f.type) {
    case 'string': return f.values === undefined ? { type: 'string' } : { type: 'string', enum: [...f.values] };
    case 'integer': return { type: 'integer' };
    case 'number': return { type: 'number' };
    case 'string[]': return { type: 'array', items: { type: 'string' } };
    case 'integer[]': return { type: 'array', items: { type: 'integer' } };
  }
}

/** Puts `leaf` at a dotted path in a nested object schema, marking it required unless optional. */
function place(root: Schema, path: string, leaf: Schema, required: boolean): void {
  const parts = path.split('.');
  let at = root;
  for (let k = 0; k < parts.length; k++) {
    const key = parts[k] as string;
    const props = (at.properties ??= {}) as Record<string, Schema>;
    if (required) {
      const req = (at.required ??= []) as string[];
      if (!req.includes(key)) req.push(key);
    }
    if (k === parts.length - 1) props[key] = leaf;
    else at = (props[key] ??= { type: 'object' });
  }
}

function kindSchema(kind: string, spec: KindSpec): Schema {
  const s: Schema = { type: 'object' };
  place(s, 'event.kind', { const: spec.ecsKind }, true);
  place(s, 'event.category', { const: [...spec.category] }, true);
  place(s, 'event.type', { const: [...spec.type] }, true);
  place(s, 'event.dataset', { const: `decoyd.${kind.split('.')[0] as string}` }, true);
  if (spec.outcome !== undefined) place(s, 'event.outcome', { const: spec.outcome }, true);
  if (spec.transport !== undefined) {
    place(s, 'network.transport', { const: spec.transport }, true);
    place(s, 'network.type', { const: 'ipv4' }, true);
    place(s, 'network.direction', { const: 'ingress' }, true);
  }
  for (const [name, f] of Object.entries(spec.fields)) {
    const path = pathOf(kind, name);
    place(s, path, fieldSchema(path, f), f.optional !== true);
  }
  return s;
}

export function eventSchema(): Schema {
  const kinds = Object.keys(KIND_SPECS);
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://decoyd.invalid/schema/decoyd-event.schema.json',
    title: 'decoyd event (Elastic Common Schema document)',
    description: 'One JSON line per event. Generated from daemon/src/events/ecs-spec.ts by `npm run gen:events`; do not edit by hand. Fields no table places are kept under decoyd.*.',
    type: 'object',
    required: ['@timestamp', 'ecs', 'event', 'observer'],
    properties: {
      '@timestamp': { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$' },
      ecs: { type: 'object', required: ['version'], properties: { version: { type: 'string' } } },
      message: { type: 'string' },
      event: {
        type: 'object',
        required: ['id', 'sequence', 'kind', 'category', 'type', 'action', 'dataset', 'module'],
        properties: {
          id: { type: 'string', description: 'unique: sensor id, process start (base 36) and sequence' },
          sequence: { type: 'integer', minimum: 1 },
          kind: { enum: ['event', 'alert', 'state'] },
          category: { type: 'array', items: { type: 'string' } },
          type: { type: 'array', items: { type: 'string' } },
          action: { enum: kinds },
          dataset: { type: 'string' },
          module: { const: 'decoyd' },
          outcome: { enum: ['success', 'failure', 'unknown'] },
          reason: { type: 'string' },
        },
      },
      observer: {
        type: 'object', required: ['name', 'id', 'hostname', 'type', 'product'],
        properties: { name: { type: 'string' }, id: { type: 'string' }, hostname: { type: 'string' }, type: { const: 'honeypot' }, product: { const: 'decoyd' } },
      },
      related: { type: 'object', properties: { ip: { type: 'array', items: IPV4 }, user: { type: 'array', items: { type: 'string' } } } },
      decoyd: { type: 'object', description: 'decoyd fields with no ECS equivalent' },
    },
    allOf: Object.entries(KIND_SPECS).map(([kind, spec]) => ({
      if: { properties: { event: { properties: { action: { const: kind } } } } },
      then: { description: spec.when, ...kindSchema(kind, spec) },
    })),
  };
}

/** The README table: one row per kind. */
export function eventTable(): string {
  const rows = ['| `event.action` | `event.kind` / `category` / `type` | fields (ECS; `?` = optional) | when |', '|---|---|---|---|'];
  for (const [kind, spec] of Object.entries(KIND_SPECS) as [string, KindSpec][]) {
    const fields = Object.entries(spec.fields).map(([name, f]) => `\`${pathOf(kind, name)}\`${f.optional === true ? '?' : ''}${f.values === undefined ? '' : ` (${f.values.map((v) => `\`${v}\``).join(', ')})`}`);
    if (spec.transport !== undefined) fields.unshift(`\`network.transport\` = \`${spec.transport}\``);
    rows.push(`| \`${kind}\` | ${spec.ecsKind} / ${spec.category.join(', ')} / ${spec.type.join(', ')}${spec.outcome === undefined ? '' : ` (${spec.outcome})`} | ${fields.join(', ')} | ${spec.when} |`);
  }
  return rows.join('\n');
}

export const TABLE_START = '<!-- events-table:start (npm run gen:events) -->';
export const TABLE_END = '<!-- events-table:end -->';

export function repoRoot(): string {
  // dist/daemon/src/events/schema → repository root
  return resolve(__dirname, '../../../../..');
}

export const SCHEMA_PATH = 'daemon/src/events/schema/decoyd-event.schema.json';

export function schemaText(): string {
  return `${JSON.stringify(eventSchema(), null, 2)}\n`;
}

export function readmeWithTable(readme: string): string {
  const a = readme.indexOf(TABLE_START);
  const b = readme.indexOf(TABLE_END);
  if (a < 0 || b < a) throw new Error('README.md has no events-table markers');
  return `${readme.slice(0, a + TABLE_START.length)}\n${eventTable()}\n${readme.slice(b)}`;
}

if (require.main === module && process.argv.includes('--write')) {
  const root = repoRoot();
  writeFileSync(join(root, SCHEMA_PATH), schemaText());
  mkdirSync(join(root, dirname(INDEX_TEMPLATE_PATH)), { recursive: true });
  writeFileSync(join(root, INDEX_TEMPLATE_PATH), indexTemplateText());
  const readmePath = join(root, 'README.md');
  writeFileSync(readmePath, readmeWithTable(readFileSync(readmePath, 'utf8')));
  process.stdout.write(`wrote ${SCHEMA_PATH}, ${INDEX_TEMPLATE_PATH} and the README event table\n`);
}
