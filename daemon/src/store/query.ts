/**
 * What the admin API may read: the store/query interface. The SQLite implementation lives in
 * sqlite-query.ts; a fleet store (PostgreSQL) implements the same interface. Nothing here names
 * a database. Every list is bounded by `limit`; event pages run newest first with an opaque cursor.
 */
import type { ScanDetectedEvent } from '../events/event';

export interface EventFilter {
  /** Source / destination IPv4 address. */
  src?: string;
  dst?: string;
  /** network.transport: tcp, udp, icmp (or arp for ARP events). */
  proto?: string;
  /** Destination port. */
  port?: number;
  /** event.action, e.g. `tcp.packet`. */
  kind?: string;
  /** Milliseconds since the epoch, inclusive. */
  since?: number;
  until?: number;
  /** The sensor (observer.name or observer.id): a fleet store holds many; a sensor's own store only itself. */
  sensor?: string;
}

export interface EventPageRequest extends EventFilter {
  limit: number;
  /** From a previous page's `nextCursor`. */
  cursor?: string;
}

/** An event as stored: its ECS document. */
export type StoredEvent = Record<string, unknown>;

export interface EventPage {
  events: StoredEvent[];
  /** Present when older events match. */
  nextCursor?: string;
}

export interface SourceSummary {
  ip: string;
  firstSeen: number;
  lastSeen: number;
  events: number;
}

export interface HostTouched {
  ip: string;
  events: number;
  firstSeen: number;
  lastSeen: number;
}

export interface PortTouched {
  proto: string;
  port: number;
  events: number;
}

export interface CredentialTried {
  user: string;
  password?: string;
  dst: string;
  port: number;
  attempts: number;
  firstSeen: number;
  lastSeen: number;
}

/** A detected scan with its `scan.detected` updates folded together. */
export interface ScanRecord extends Omit<ScanDetectedEvent, 'kind' | 'time'> {
  /** How many scan.detected updates were folded into this record. */
  updates: number;
}

export interface SourceDetail extends SourceSummary {
  hosts: HostTouched[];
  hostCount: number;
  ports: PortTouched[];
  portCount: number;
  scans: ScanRecord[];
  credentials: CredentialTried[];
  /** A fleet store: which sensors saw this source, and how much. */
  sensors?: { id: string; name: string; events: number; firstSeen: number; lastSeen: number }[];
}

export interface StoreStats {
  events: number;
  sources: number;
  scans: number;
  oldestEvent?: number;
  newestEvent?: number;
  bytes: number;
  /** A fleet store's sensors, each as it last reported. */
  sensors?: SensorHealth[];
}

/** One sensor of a fleet as its shipper last reported it. */
export interface SensorHealth {
  id: string;
  name: string;
  hostname: string;
  /** Time of the newest event it shipped (epoch ms). */
  lastEvent?: number;
  /** When it last reported (a batch or an idle heartbeat). */
  lastReport: number;
  /** Events in its own store not yet shipped, as of that report. */
  backlog: number;
  /** Events it has shipped in all. */
  shipped: number;
  software?: string;
}

export interface StoreQuery {
  events(req: EventPageRequest): Promise<EventPage>;
  sources(opts: { limit: number; since?: number; sensor?: string }): Promise<SourceSummary[]>;
  /** Undefined when the source was never seen (by that sensor). */
  source(ip: string, opts: { limit: number; sensor?: string }): Promise<SourceDetail | undefined>;
  scans(opts: { limit: number; src?: string; since?: number; sensor?: string }): Promise<ScanRecord[]>;
  stats(): Promise<StoreStats>;
}
