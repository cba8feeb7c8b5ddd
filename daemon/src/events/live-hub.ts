/**
 * The live event feed behind the API's SSE stream: a RecordSink that wants events only while
 * someone listens, builds each event's ECS text once, and hands it to the matching listeners.
 * Listeners bound their own buffers (admin-api/src/server.ts).
 */
import type { LiveEvents, LiveFilter } from '../../../admin-api/src/control';
import type { DecoyEvent, DecoyEventKind } from './event';
import { toEcs, type EcsContext } from './ecs';
import type { RecordSink } from './fanout-sink';

interface Listener { filter: LiveFilter; onEvent: (json: string) => void }

function field(doc: Record<string, unknown>, group: string, name: string): unknown {
  const g = doc[group];
  return typeof g === 'object' && g !== null ? (g as Record<string, unknown>)[name] : undefined;
}

export function matchesLive(filter: LiveFilter, doc: Record<string, unknown>): boolean {
  if (filter.sensor !== undefined && field(doc, 'observer', 'name') !== filter.sensor && field(doc, 'observer', 'id') !== filter.sensor) return false;
  if (filter.kind !== undefined && field(doc, 'event', 'action') !== filter.kind) return false;
  if (filter.src !== undefined && field(doc, 'source', 'ip') !== filter.src) return false;
  if (filter.dst !== undefined && field(doc, 'destination', 'ip') !== filter.dst) return false;
  if (filter.port !== undefined && field(doc, 'destination', 'port') !== filter.port) return false;
  if (filter.proto !== undefined) {
    const transport = field(doc, 'network', 'transport') ?? (String(field(doc, 'event', 'action')).startsWith('arp.') ? 'arp' : undefined);
    if (transport !== filter.proto) return false;
  }
  return true;
}

/** Hands `doc` to each listener whose filter it matches, serialized once (also the fleet's feed, fleet/pg-live.ts). */
export function deliverLive(listeners: Iterable<{ filter: LiveFilter; onEvent: (json: string) => void }>, doc: Record<string, unknown>): void {
  let json: string | undefined;
  for (const l of listeners) {
    if (!matchesLive(l.filter, doc)) continue;
    json ??= JSON.stringify(doc);
    l.onEvent(json);
  }
}

export class LiveEventHub implements RecordSink, LiveEvents {
  private readonly listeners = new Set<Listener>();

  constructor(private readonly ecs: EcsContext, private readonly maxListeners = 64) {}

  wants(_kind: DecoyEventKind): boolean {
    return this.listeners.size > 0;
  }

  write(event: DecoyEvent, sequence: number): void {
    deliverLive(this.listeners, toEcs(event, sequence, this.ecs));
  }

  subscribe(filter: LiveFilter, onEvent: (json: string) => void): () => void {
    if (this.listeners.size >= this.maxListeners) return () => undefined;
    const l: Listener = { filter, onEvent };
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}
