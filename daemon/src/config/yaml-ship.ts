/**
 * `ship:` in YAML: a list of shippers, each `{ kind: syslog, … }` (more kinds join the switch).
 *
 *   ship:
 *     - { kind: syslog, transport: tls, host: 192.0.2.10, port: 6514, ca_file: ca.pem }
 */
import path from 'node:path';
import { KIND_SPECS } from '../events/ecs-spec';
import type { DecoyEventKind } from '../events/event';
import { FACILITIES, POSTGRES_DEFAULTS, SYSLOG_DEFAULTS, type PostgresShipSettings, type ShipSettings, type SyslogShipSettings } from './ship-settings';
import type { KeyPath } from './yaml-positions';
import type { YamlReader } from './yaml-reader';

const SYSLOG_KEYS = [
  'kind', 'name', 'transport', 'host', 'port', 'facility', 'app_name', 'framing', 'ca_file', 'cert_file', 'key_file', 'server_name', 'verify',
  'max_message_bytes', 'queue_events', 'socket_buffer_bytes', 'reconnect_max_ms', 'kinds',
] as const;

export function readShip(r: YamlReader, value: unknown, baseDir: string): ShipSettings[] {
  const list = r.list(value, ['ship']);
  if (list === undefined) return [];
  const out: ShipSettings[] = [];
  list.forEach((item, k) => {
    const at: KeyPath = ['ship', k];
    const head = r.anyMapping(item, at);
    if (head === undefined) return;
    const kind = head.kind;
    if (kind === 'syslog') {
      const s = readSyslog(r, item, at, baseDir, out.filter((o) => o.kind === 'syslog').length + 1);
      if (s !== undefined) out.push(s);
    } else if (kind === 'postgres') {
      const s = readPostgres(r, item, at, out.filter((o) => o.kind === 'postgres').length + 1);
      if (s !== undefined) out.push(s);
    } else {
      r.error([...at, 'kind'], `expected a shipper kind (syslog, postgres), got ${JSON.stringify(kind ?? null)}`);
    }
  });
  return out;
}

function readSyslog(r: YamlReader, value: unknown, at: KeyPath, baseDir: string, ordinal: number): SyslogShipSettings | undefined {
  const m = r.mapping(value, at, SYSLOG_KEYS, ['kind', 'host']);
  if (m === undefined) return undefined;
  const transport = m.transport === undefined ? 'udp' : r.word(m.transport, [...at, 'transport'], (w) => (w === 'udp' || w === 'tcp' || w === 'tls' ? w : undefined), 'udp, tcp or tls');
  const host = r.string(m.host, [...at, 'host']);
  if (transport === undefined || host === undefined) return undefined;
  if (host === '') {
    r.error([...at, 'host'], 'expected a host name or address');
    return undefined;
  }
  const s: SyslogShipSettings = {
    kind: 'syslog', name: `syslog-${ordinal}`, transport, host, port: SYSLOG_DEFAULTS.ports[transport],
    facility: SYSLOG_DEFAULTS.facility, appName: SYSLOG_DEFAULTS.appName, framing: SYSLOG_DEFAULTS.framing,
    maxMessageBytes: SYSLOG_DEFAULTS.maxMessageBytes[transport], queueEvents: SYSLOG_DEFAULTS.queueEvents,
    socketBufferBytes: SYSLOG_DEFAULTS.socketBufferBytes, reconnectMaxMs: SYSLOG_DEFAULTS.reconnectMaxMs,
  };
  const text = (key: (typeof SYSLOG_KEYS)[number]): string | undefined => (m[key] === undefined ? undefined : r.string(m[key], [...at, key]));
  const name = text('name');
  if (name !== undefined) s.name = name;
  if (m.port !== undefined) s.port = r.integer(m.port, [...at, 'port'], 1, 65535) ?? s.port;
  if (m.facility !== undefined) {
    const f = typeof m.facility === 'number' ? r.integer(m.facility, [...at, 'facility'], 0, 23) : r.word(m.facility, [...at, 'facility'], (w) => FACILITIES[w], Object.keys(FACILITIES).join(', '));
    if (f !== undefined) s.facility = f;
  }
  const app = text('app_name');
  if (app !== undefined) s.appName = app;
  if (m.framing !== undefined) {
    const framing = r.word(m.framing, [...at, 'framing'], (w) => (w === 'octet-counting' || w === 'lf' ? w : undefined), 'octet-counting or lf');
    if (framing !== undefined) s.framing = framing;
    if (framing === 'lf' && transport === 'tls') r.error([...at, 'framing'], 'syslog over TLS counts octets (RFC 5425): leave framing out');
    if (transport === 'udp') r.error([...at, 'framing'], 'framing is for tcp and tls: a UDP datagram holds one message');
  }
  const tlsKeys = ['ca_file', 'cert_file', 'key_file', 'server_name', 'verify'] as const;
  if (transport !== 'tls') {
    for (const key of tlsKeys) if (m[key] !== undefined) r.error([...at, key], `${key} is for transport: tls`);
  } else {
    const file = (key: 'ca_file' | 'cert_file' | 'key_file'): string | undefined => {
      const f = text(key);
      return f === undefined ? undefined : path.resolve(baseDir, f);
    };
    const tls: NonNullable<SyslogShipSettings['tls']> = { verify: true };
    const ca = file('ca_file');
    const cert = file('cert_file');
    const key = file('key_file');
    const serverName = text('server_name');
    if (ca !== undefined) tls.caFile = ca;
    if (cert !== undefined) tls.certFile = cert;
    if (key !== undefined) tls.keyFile = key;
    if (serverName !== undefined) tls.serverName = serverName;
    if ((cert === undefined) !== (key === undefined)) r.error([...at, cert === undefined ? 'key_file' : 'cert_file'], 'a client certificate needs both cert_file and key_file');
    if (m.verify !== undefined) tls.verify = r.boolean(m.verify, [...at, 'verify']) ?? true;
    s.tls = tls;
  }
  const maxUdp = 65507;
  if (m.max_message_bytes !== undefined) s.maxMessageBytes = r.integer(m.max_message_bytes, [...at, 'max_message_bytes'], 480, transport === 'udp' ? maxUdp : 16 << 20) ?? s.maxMessageBytes;
  if (m.queue_events !== undefined) s.queueEvents = r.integer(m.queue_events, [...at, 'queue_events'], 1, 10_000_000) ?? s.queueEvents;
  if (m.socket_buffer_bytes !== undefined) s.socketBufferBytes = r.integer(m.socket_buffer_bytes, [...at, 'socket_buffer_bytes'], 4096, 1 << 30) ?? s.socketBufferBytes;
  if (m.reconnect_max_ms !== undefined) s.reconnectMaxMs = r.integer(m.reconnect_max_ms, [...at, 'reconnect_max_ms'], 100, 3_600_000) ?? s.reconnectMaxMs;
  if (m.kinds !== undefined) {
    const kinds = r.list(m.kinds, [...at, 'kinds']);
    if (kinds !== undefined) {
      const known = Object.keys(KIND_SPECS);
      const chosen: DecoyEventKind[] = [];
      kinds.forEach((k, i) => {
        const w = r.string(k, [...at, 'kinds', i]);
        if (w === undefined) return;
        // A trailing `.*` takes a whole family (`service.*`).
        const matched = w.endsWith('.*') ? known.filter((n) => n.startsWith(w.slice(0, -1))) : known.filter((n) => n === w);
        if (matched.length === 0) r.error([...at, 'kinds', i], `no event kind "${w}" (see the README's event table)`);
        chosen.push(...(matched as DecoyEventKind[]));
      });
      s.kinds = [...new Set(chosen)];
    }
  }
  return s;
}

const POSTGRES_KEYS = ['kind', 'name', 'url', 'batch', 'connections', 'interval', 'reconnect_max_ms', 'connect_timeout_ms', 'statement_timeout_ms'] as const;

/** `{ kind: postgres, url, batch, interval }`; `interval` in ms or with a unit (`500ms`, `2s`). */
function readPostgres(r: YamlReader, value: unknown, at: KeyPath, ordinal: number): PostgresShipSettings | undefined {
  const m = r.mapping(value, at, POSTGRES_KEYS, ['kind', 'url']);
  if (m === undefined) return undefined;
  const url = r.string(m.url, [...at, 'url']);
  if (url === undefined) return undefined;
  if (!/^postgres(ql)?:\/\//.test(url)) {
    r.error([...at, 'url'], 'expected a postgres:// or postgresql:// URL');
    return undefined;
  }
  const s: PostgresShipSettings = {
    kind: 'postgres', name: `postgres-${ordinal}`, url, batch: POSTGRES_DEFAULTS.batch, connections: POSTGRES_DEFAULTS.connections, intervalMs: POSTGRES_DEFAULTS.intervalMs,
    reconnectMaxMs: POSTGRES_DEFAULTS.reconnectMaxMs, connectTimeoutMs: POSTGRES_DEFAULTS.connectTimeoutMs, statementTimeoutMs: POSTGRES_DEFAULTS.statementTimeoutMs,
  };
  if (m.name !== undefined) s.name = r.string(m.name, [...at, 'name']) ?? s.name;
  if (m.batch !== undefined) s.batch = r.integer(m.batch, [...at, 'batch'], 1, 50_000) ?? s.batch;
  if (m.connections !== undefined) s.connections = r.integer(m.connections, [...at, 'connections'], 1, 8) ?? s.connections;
  if (m.interval !== undefined) {
    const ms = typeof m.interval === 'number' ? r.integer(m.interval, [...at, 'interval'], 10, 3_600_000)
      : r.word(m.interval, [...at, 'interval'], (w) => {
        const x = /^([0-9]{1,7})(ms|s)$/.exec(w);
        const v = x === null ? undefined : Number(x[1]) * (x[2] === 's' ? 1000 : 1);
        return v !== undefined && v >= 10 && v <= 3_600_000 ? v : undefined;
      }, 'milliseconds (10 to 3600000), or 500ms / 2s');
    if (ms !== undefined) s.intervalMs = ms;
  }
  if (m.reconnect_max_ms !== undefined) s.reconnectMaxMs = r.integer(m.reconnect_max_ms, [...at, 'reconnect_max_ms'], 100, 3_600_000) ?? s.reconnectMaxMs;
  if (m.connect_timeout_ms !== undefined) s.connectTimeoutMs = r.integer(m.connect_timeout_ms, [...at, 'connect_timeout_ms'], 100, 600_000) ?? s.connectTimeoutMs;
  if (m.statement_timeout_ms !== undefined) s.statementTimeoutMs = r.integer(m.statement_timeout_ms, [...at, 'statement_timeout_ms'], 100, 3_600_000) ?? s.statementTimeoutMs;
  return s;
}
