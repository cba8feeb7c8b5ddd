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

/**
 * The listeners of one live feed (the sensor's hub, the fleet's feed in fleet/pg-live.ts), at most
 * `max` of them: a subscriber past the bound is not added. The API turns clients away before
 * (admin-api/src/server.ts); this keeps the feed bounded whoever calls it.
 */
export class LiveListeners {
  private readonly set = new Set<Listener>();

  constructor(readonly max = 64) {}

  get size(): number {
    return this.set.size;
  }

  /** Adds a listener; returns its removal, or undefined when the feed is full. */
  add(filter: LiveFilter, onEvent: (json: string) => void): (() => void) | undefined {
    if (this.set.size >= this.max) return undefined;
    const l: Listener = { filter, onEvent };
    this.set.add(l);
    return () => { this.set.delete(l); };
  }

  clear(): void {
    this.set.clear();
  }

  /** Hands `doc` to each listener whose filter it matches, serialized once. */
  deliver(doc: Record<string, unknown>): void {
    let json: string | undefined;
    for (const l of this.set) {
      if (!matchesLive(l.filter, doc)) continue;
      json ??= JSON.stringify(doc);
      l.onEvent(json);
    }
  }
}

export class LiveEventHub implements RecordSink, LiveEvents {
  private readonly listeners: LiveListeners;

  constructor(private readonly ecs: EcsContext, maxListeners = 64) {
    this.listeners = new LiveListeners(maxListeners);
  }

  wants(_kind: DecoyEventKind): boolean {
    return this.listeners.size > 0;
  }

  write(event: DecoyEvent, sequence: number): void {
    this.listeners.deliver(toEcs(event, sequence, this.ecs));
  }

  subscribe(filter: LiveFilter, onEvent: (json: string) => void): () => void {
    return this.listeners.add(filter, onEvent) ?? (() => undefined);
  }
}
