/**
 * Where events are shipped besides the embedded store (`ship:` in the config): each entry is one
 * shipper with its own bounded queue (daemon/src/ship/).
 */
import type { DecoyEventKind } from '../events/event';

/** RFC 6587 framing on a stream: octet counting (RFC 5425 requires it over TLS) or LF-terminated. */
export type TcpFraming = 'octet-counting' | 'lf';

/** RFC 5424 §6.2.1 facility names (the ones an operator would pick for a sensor). */
export const FACILITIES: Readonly<Record<string, number>> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, ftp: 11,
  ntp: 12, security: 13, console: 14, solaris_cron: 15, local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
};

export interface SyslogShipSettings {
  kind: 'syslog';
  /** Label in /metrics and in messages (`syslog-1` … by default). */
  name: string;
  transport: 'udp' | 'tcp' | 'tls';
  host: string;
  port: number;
  /** RFC 5424 facility number (local0 = 16 by default). */
  facility: number;
  appName: string;
  /** TCP and TLS only; TLS always counts octets (RFC 5425). */
  framing: TcpFraming;
  tls?: { caFile?: string; certFile?: string; keyFile?: string; serverName?: string; verify: boolean };
  /** A message longer than this is dropped (counted as `oversize`): a truncated JSON document helps no one. */
  maxMessageBytes: number;
  /** Events waiting to be formatted and sent; beyond it new events are dropped (`queue-full`). */
  queueEvents: number;
  /** Bytes the socket may hold unsent before the shipper waits for it to drain. */
  socketBufferBytes: number;
  /** Longest wait between reconnection attempts. */
  reconnectMaxMs: number;
  /** Only these kinds are shipped; absent = every kind. */
  kinds?: DecoyEventKind[];
}

export const SYSLOG_DEFAULTS = {
  facility: 16, appName: 'decoyd', framing: 'octet-counting' as TcpFraming, queueEvents: 100_000,
  socketBufferBytes: 1 << 20, reconnectMaxMs: 30_000, maxMessageBytes: { udp: 8192, tcp: 65536, tls: 65536 },
  ports: { udp: 514, tcp: 514, tls: 6514 },
} as const;

/**
 * The PostgreSQL shipper: reads the embedded store as its outbox (so `store:` is required) and
 * ships committed rows in batches; an event counts as shipped once PostgreSQL committed it.
 */
export interface PostgresShipSettings {
  kind: 'postgres';
  /** Label in /metrics, in messages and the outbox watermark's key (`postgres-1` … by default). */
  name: string;
  /** libpq-style URL: postgres://USER:PASSWORD@HOST:PORT/DB (or ?host=/socket/dir). */
  url: string;
  /** Events per batch (one statement, one transaction). */
  batch: number;
  /**
   * Batches in flight at once, each on its own connection (1 to 8). PostgreSQL runs one statement
   * on one core; two let it insert one batch while the other updates its summaries and commits, and
   * a third keeps one busy while the shipper thread builds the next batch (bench:fleet, 3 Dec: 44k
   * events/s with three against 41k with two, side by side on a tuned cluster).
   */
  connections: number;
  /** How often the outbox is read when the last batch was not full. */
  intervalMs: number;
  /** Longest wait between connection attempts after a failure (backoff starts at 500 ms). */
  reconnectMaxMs: number;
  /** A connection attempt taking longer than this fails (counted as unreachable). */
  connectTimeoutMs: number;
  /** A batch statement taking longer than this is cancelled and retried. */
  statementTimeoutMs: number;
}

export const POSTGRES_DEFAULTS = {
  batch: 5000, connections: 3, intervalMs: 1000, reconnectMaxMs: 30_000, connectTimeoutMs: 10_000, statementTimeoutMs: 60_000,
} as const;

/** Every kind of shipper the config offers. */
export type ShipSettings = SyslogShipSettings | PostgresShipSettings;
