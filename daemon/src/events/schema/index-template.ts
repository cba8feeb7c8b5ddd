/**
 * An Elasticsearch / OpenSearch composable index template for decoyd's ECS documents, generated
 * from the same table as the JSON Schema (ecs-spec.ts), so the mappings can never drift from what
 * the daemon writes. It matches the data streams `logs-decoyd.<dataset>-<namespace>` (the Elastic
 * integrations naming; event.dataset is `decoyd.tcp`, `decoyd.service`, …).
 */
import { KIND_SPECS, pathOf, type FieldSpec } from '../ecs-spec';
import { ECS_VERSION } from '../ecs';

type Mapping = Record<string, unknown>;

/** Free text an analyst searches in, not a term to aggregate on. */
const TEXT_PATHS = new Set(['message', 'decoyd.session.transcript', 'http.request.body.content']);

function leafMapping(path: string, f: FieldSpec): Mapping {
  if (path.endsWith('.ip')) return { type: 'ip' };
  if (path === '@timestamp') return { type: 'date' };
  if (TEXT_PATHS.has(path)) return { type: 'match_only_text' };
  switch (f.type) {
    case 'string':
    case 'string[]':
      return { type: 'keyword', ignore_above: 1024 };
    case 'integer':
    case 'integer[]':
      return { type: 'long' };
    case 'number':
      return { type: 'double' };
  }
}

function put(root: Mapping, path: string, leaf: Mapping): void {
  const parts = path.split('.');
  let at = root;
  for (let k = 0; k < parts.length; k++) {
    const key = parts[k] as string;
    const props = (at.properties ??= {}) as Record<string, Mapping>;
    if (k === parts.length - 1) {
      const had = props[key];
      if (had !== undefined && JSON.stringify(had) !== JSON.stringify(leaf)) {
        throw new Error(`index template: ${path} is mapped as ${JSON.stringify(had)} and as ${JSON.stringify(leaf)}: give the fields distinct paths in ecs-spec.ts`);
      }
      props[key] = leaf;
    } else {
      at = (props[key] ??= {}) as Mapping;
    }
  }
}

const KEYWORD = { type: 'keyword', ignore_above: 1024 };

export function indexTemplate(): Mapping {
  const mappings: Mapping = { dynamic: true, date_detection: false };
  put(mappings, '@timestamp', { type: 'date' });
  put(mappings, 'ecs.version', KEYWORD);
  put(mappings, 'message', { type: 'match_only_text' });
  for (const f of ['id', 'kind', 'category', 'type', 'action', 'dataset', 'module', 'outcome', 'reason']) put(mappings, `event.${f}`, KEYWORD);
  put(mappings, 'event.sequence', { type: 'long' });
  for (const f of ['name', 'id', 'hostname', 'type', 'product']) put(mappings, `observer.${f}`, KEYWORD);
  for (const f of ['transport', 'type', 'direction']) put(mappings, `network.${f}`, KEYWORD);
  put(mappings, 'related.ip', { type: 'ip' });
  put(mappings, 'related.user', KEYWORD);
  for (const [kind, spec] of Object.entries(KIND_SPECS)) {
    for (const [name, f] of Object.entries(spec.fields)) {
      const path = pathOf(kind, name);
      put(mappings, path, path.endsWith('.mac') ? KEYWORD : leafMapping(path, f));
    }
  }
  return {
    index_patterns: ['logs-decoyd.*-*'],
    data_stream: {},
    priority: 200,
    template: { settings: { 'index.mapping.total_fields.limit': 2000 }, mappings },
    _meta: { description: `decoyd events (ECS ${ECS_VERSION}); generated from daemon/src/events/ecs-spec.ts by npm run gen:events`, managed_by: 'decoyd' },
  };
}

export const INDEX_TEMPLATE_PATH = 'configs/elasticsearch/decoyd-index-template.json';

export function indexTemplateText(): string {
  return `${JSON.stringify(indexTemplate(), null, 2)}\n`;
}
