/**
 * DecoyEvent ↔ Elastic Common Schema document. Every sink that writes events out (pino, the
 * store, shippers) writes the ECS form, so the lines go to Elasticsearch/OpenSearch as they are.
 * The placement of fields comes from ecs-spec.ts; `fromEcs` is its exact inverse.
 */
import { hostname } from 'node:os';
import type { DecoyEvent } from './event';
import { FIELD_PATHS, KIND_SPECS, pathOf, type KindSpec } from './ecs-spec';

export const ECS_VERSION = '8.11.0';

/** The sensor: ECS observer.*. `id` is stable per sensor (kept in the data directory when there is one). */
export interface Observer {
  name: string;
  id: string;
  hostname: string;
}

export interface EcsContext {
  observer: Observer;
  /**
   * Prefix of event.id: sensor id plus the start time of this process, so ids stay unique across
   * restarts while event.sequence restarts at 1.
   */
  idPrefix: string;
}

export type EcsDocument = Record<string, unknown> & { '@timestamp': string; event: EcsEventFields };

export interface EcsEventFields {
  id: string;
  sequence: number;
  kind: string;
  category: string[];
  type: string[];
  action: string;
  dataset: string;
  module: 'decoyd';
  outcome?: string;
  reason?: string;
}

export function ecsContext(observer: Partial<Observer> = {}, startedAt = Date.now()): EcsContext {
  const host = hostname();
  const full: Observer = { name: observer.name ?? host, id: observer.id ?? host, hostname: observer.hostname ?? host };
  return { observer: full, idPrefix: `${full.id}-${startedAt.toString(36)}` };
}

export function eventId(ctx: EcsContext, sequence: number): string {
  return `${ctx.idPrefix}-${sequence}`;
}

const FALLBACK_SPEC: KindSpec = { ecsKind: 'event', category: ['network'], type: ['info'], when: '', fields: {} };

function specOf(kind: string): KindSpec {
  return (KIND_SPECS as Record<string, KindSpec | undefined>)[kind] ?? FALLBACK_SPEC;
}

/** ECS wants MACs as upper-case, dash-separated (`00-1B-21-…`). */
function macToEcs(mac: string): string {
  return mac.toUpperCase().replace(/:/g, '-');
}

function macFromEcs(mac: string): string {
  return mac.toLowerCase().replace(/-/g, ':');
}

/** Where a field of a kind lands, split once: toEcs runs per logged packet and per stored row read. */
interface Placement { parts: readonly string[]; mac: boolean }
const placements = new Map<string, Map<string, Placement>>();

function placementOf(kind: string, field: string): Placement {
  let byField = placements.get(kind);
  if (byField === undefined) placements.set(kind, (byField = new Map()));
  let p = byField.get(field);
  if (p === undefined) {
    const path = pathOf(kind, field);
    p = { parts: path.split('.'), mac: path.endsWith('.mac') };
    byField.set(field, p);
  }
  return p;
}

function setParts(doc: Record<string, unknown>, parts: readonly string[], value: unknown): void {
  let at = doc;
  for (let k = 0; k < parts.length - 1; k++) {
    const key = parts[k] as string;
    let next = at[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      next = {};
      at[key] = next;
    }
    at = next as Record<string, unknown>;
  }
  at[parts[parts.length - 1] as string] = value;
}

function groupField(doc: Record<string, unknown>, group: string, name: string): unknown {
  const g = doc[group];
  return typeof g === 'object' && g !== null ? (g as Record<string, unknown>)[name] : undefined;
}

function getPath(doc: Record<string, unknown>, path: string): unknown {
  let at: unknown = doc;
  for (const key of path.split('.')) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/** The ECS document for one event. */
export function toEcs(event: DecoyEvent, sequence: number, ctx: EcsContext): EcsDocument {
  const kind = event.kind;
  const spec = specOf(kind);
  const ev: EcsEventFields = {
    id: eventId(ctx, sequence), sequence, kind: spec.ecsKind, category: [...spec.category], type: [...spec.type],
    action: kind, dataset: `decoyd.${kind.split('.')[0] as string}`, module: 'decoyd',
  };
  if (spec.outcome !== undefined) ev.outcome = spec.outcome;
  const doc: EcsDocument = { '@timestamp': new Date(event.time).toISOString(), ecs: { version: ECS_VERSION }, event: ev, observer: { ...ctx.observer, type: 'honeypot', product: 'decoyd' } };
  const flat = event as unknown as Record<string, unknown>;
  for (const field in flat) {
    const value = flat[field];
    if (field === 'kind' || field === 'time' || value === undefined) continue;
    const p = placementOf(kind, field);
    setParts(doc, p.parts, p.mac && typeof value === 'string' ? macToEcs(value) : value);
  }
  if (spec.transport !== undefined) doc.network = { transport: spec.transport, type: 'ipv4', direction: 'ingress' };
  const related: string[] = [];
  const src = groupField(doc, 'source', 'ip');
  const dst = groupField(doc, 'destination', 'ip');
  if (typeof src === 'string') related.push(src);
  if (typeof dst === 'string' && dst !== src) related.push(dst);
  const user = groupField(doc, 'user', 'name');
  if (related.length > 0 || typeof user === 'string') {
    const rel: Record<string, string[]> = {};
    if (related.length > 0) rel.ip = related;
    if (typeof user === 'string') rel.user = [user];
    doc.related = rel;
  }
  return doc;
}

/**
 * The flat event back from an ECS document: `kind`, `time` and every field under its original
 * name. Tests and the CLI read log lines through this.
 */
export function fromEcs(doc: Record<string, unknown>): Record<string, unknown> & { kind: string; time: number } {
  const kind = String(getPath(doc, 'event.action'));
  const spec = specOf(kind);
  const out: Record<string, unknown> & { kind: string; time: number } = { kind, time: Date.parse(String(doc['@timestamp'])) };
  // The kind's own fields first: where two names share a path (address / dstIp), the kind's wins.
  const names = new Set([...Object.keys(spec.fields), ...Object.keys(spec.paths ?? {}), ...Object.keys(FIELD_PATHS)]);
  const consumed: string[] = [];
  for (const name of names) {
    const path = pathOf(kind, name);
    const value = getPath(doc, path);
    if (value === undefined || name in out || consumed.includes(path)) continue;
    out[name] = path.endsWith('.mac') && typeof value === 'string' ? macFromEcs(value) : value;
    consumed.push(path);
  }
  // Fields placed by no table sit under the prefix with their own name.
  const prefix = spec.prefix ?? 'decoyd';
  const extra = getPath(doc, prefix);
  if (typeof extra === 'object' && extra !== null) {
    for (const [name, value] of Object.entries(extra as Record<string, unknown>)) {
      const path = `${prefix}.${name}`;
      if (consumed.some((p) => p === path || p.startsWith(`${path}.`)) || name in out) continue;
      if (Object.values(FIELD_PATHS).some((p) => p.startsWith(`${path}.`))) continue;
      out[name] = value;
    }
  }
  return out;
}
