/**
 * The one table that says what every event kind is in Elastic Common Schema terms: its
 * event.kind/category/type, the fields it carries and where each lands in the ECS document.
 * The JSON Schema (schema/decoyd-event.schema.json) and the README event table are generated
 * from this table (`npm run gen:events`), and a unit test checks both are up to date.
 *
 * A new event kind needs one entry here. Its fields land where FIELD_PATHS (or the entry's own
 * `paths`) says; a field named nowhere lands under `decoyd.<name>` (or the entry's `prefix`), so
 * nothing an event carries is lost.
 */
import type { DecoyEventKind } from './event';

export type FieldType = 'string' | 'integer' | 'number' | 'string[]' | 'integer[]';

export interface FieldSpec {
  type: FieldType;
  optional?: boolean;
  /** Allowed values, when the set is closed. */
  values?: readonly string[];
}

export interface KindSpec {
  /** ECS event.kind: `event` for what happened on the wire, `alert` for detector findings, `state` for decoy status. */
  ecsKind: 'event' | 'alert' | 'state';
  category: readonly string[];
  type: readonly string[];
  outcome?: 'success' | 'failure' | 'unknown';
  /** network.transport for packet kinds. */
  transport?: 'tcp' | 'udp' | 'icmp';
  /** For the README: when the event is written. */
  when: string;
  fields: Record<string, FieldSpec>;
  /** Per-kind placement of fields, overriding FIELD_PATHS. */
  paths?: Record<string, string>;
  /** Where unplaced fields go; default `decoyd`. */
  prefix?: string;
}

/** Where a flat event field lands in the ECS document, for all kinds (unless a kind overrides it). */
export const FIELD_PATHS: Readonly<Record<string, string>> = {
  srcIp: 'source.ip',
  srcPort: 'source.port',
  srcMac: 'source.mac',
  dstIp: 'destination.ip',
  dstPort: 'destination.port',
  dstMac: 'destination.mac',
  message: 'message',
  reason: 'event.reason',
  bytesIn: 'source.bytes',
  bytesOut: 'destination.bytes',
  // Service events (credentials): ECS user.name; the password has no ECS field.
  user: 'user.name',
  username: 'user.name',
  password: 'decoyd.auth.password',
};

/** ARP events name the decoy as `address`/`mac` and the other party as `peer*`. */
const ARP_PATHS = { address: 'destination.ip', mac: 'destination.mac', peerIp: 'source.ip', peerMac: 'source.mac', template: 'decoyd.decoy.template' };

const s: FieldSpec = { type: 'string' };
const so: FieldSpec = { type: 'string', optional: true };
const i: FieldSpec = { type: 'integer' };
const io: FieldSpec = { type: 'integer', optional: true };
const MACS_IPS = { srcMac: s, dstMac: s, srcIp: s, dstIp: s };
/** Per-packet kinds as the store holds them: one row per interval and alike packets (events/packet-tally.ts). */
const FOLDED = { packets: io, lastTime: io };
const FOLDED_PATHS = { packets: 'source.packets', lastTime: 'decoyd.last_time' };

/** Service identities (nmap-service-probes): ECS network.protocol and service.name/version; the rest under decoyd.service_probe. */
function serviceSpec(type: string, when: string): KindSpec {
  return {
    ecsKind: 'event', category: ['network'], type: [type], when,
    fields: {
      proto: { type: 'string', values: ['tcp', 'udp'] }, srcIp: s, srcPort: i, dstIp: s, dstPort: i, service: s, product: s, version: so, probe: s, ruleLine: i,
      bytes: io, tls: so,
    },
    paths: {
      proto: 'network.transport', service: 'network.protocol', product: 'service.name', version: 'service.version',
      probe: 'decoyd.service_probe.probe', ruleLine: 'decoyd.service_probe.rule_line', bytes: 'destination.bytes', tls: 'decoyd.service_probe.tls',
    },
  };
}

/** DHCP leases: the decoy is the destination (as in ARP events); the server is not a prober, so it stays out of source.*. */
function dhcpSpec(type: string, outcome: KindSpec['outcome'], when: string): KindSpec {
  return {
    ecsKind: 'state', category: ['network'], type: [type], ...(outcome === undefined ? {} : { outcome }), when,
    fields: { address: s, mac: s, server: s, leaseTime: i, template: s, hostname: s, reason: so },
    paths: { address: 'destination.ip', mac: 'destination.mac', server: 'decoyd.dhcp.server', leaseTime: 'decoyd.dhcp.lease_time', hostname: 'destination.domain', template: 'decoyd.decoy.template' },
  };
}

const CONN = { proto: { type: 'string', values: ['tcp', 'udp'] } as FieldSpec, srcIp: s, srcPort: i, dstIp: s, dstPort: i };
const CONN_PATHS = { proto: 'network.transport' };

/** Interactive service steps: ECS http.*, user.name, process.command_line, email.*; the rest under decoyd.session. */
function sessionSpec(category: readonly string[], type: string, when: string, fields: Record<string, FieldSpec>): KindSpec {
  return {
    ecsKind: 'event', category, type: [type], when,
    fields: { ...CONN, service: s, product: so, ...fields },
    paths: {
      ...CONN_PATHS, service: 'network.protocol', product: 'service.name',
      method: 'http.request.method', path: 'url.path', status: 'http.response.status_code', userAgent: 'user_agent.original',
      body: 'http.request.body.content', bodyBytes: 'http.request.body.bytes', headers: 'decoyd.session.headers',
      authMethod: 'decoyd.auth.method', result: 'decoyd.auth.result', keyType: 'decoyd.auth.key_type', keyFingerprint: 'decoyd.auth.key_fingerprint',
      clientVersion: 'decoyd.session.client_version', hassh: 'decoyd.session.hassh',
      command: 'process.command_line',
      mailFrom: 'email.from.address', rcptTo: 'email.to.address', subject: 'email.subject',
      transcript: 'decoyd.session.transcript', transcriptDropped: 'decoyd.session.transcript_dropped', durationMs: 'decoyd.session.duration_ms',
    },
    prefix: 'decoyd.session',
  };
}

/** Honeyd service actions: scripts (process.*), proxy, tarpit. */
function actionSpec(category: readonly string[], type: string, when: string, fields: Record<string, FieldSpec>): KindSpec {
  return {
    ecsKind: 'event', category, type: [type], when,
    fields: { ...CONN, template: so, ...fields },
    paths: {
      ...CONN_PATHS, template: 'decoyd.decoy.template', command: 'process.command_line', pid: 'process.pid', uid: 'user.id', gid: 'group.id',
      exitCode: 'process.exit_code', signal: 'decoyd.action.signal', limit: 'decoyd.action.limit', target: 'decoyd.action.target',
      durationMs: 'decoyd.action.duration_ms',
    },
    prefix: 'decoyd.action',
  };
}

const BYTES = { bytesIn: io, bytesOut: io };

/** Honeyd subsystems: the program (process.*) and the decoys it serves. */
function subsystemSpec(type: string, when: string, fields: Record<string, FieldSpec>): KindSpec {
  return {
    ecsKind: 'event', category: ['process'], type: [type], when,
    fields: { template: s, command: s, addresses: { type: 'string[]' }, ...fields },
    paths: {
      template: 'decoyd.decoy.template', command: 'process.command_line', pid: 'process.pid', uid: 'user.id', gid: 'group.id',
      exitCode: 'process.exit_code', port: 'destination.port', addresses: 'decoyd.subsystem.addresses',
    },
    prefix: 'decoyd.subsystem',
  };
}

const TCP_CLOSE_REASONS = ['closed', 'reset-by-peer', 'idle', 'retransmission-timeout', 'evicted', 'shutdown', 'service-reset', 'service-error', 'address-released', 'data-after-close'] as const;

export const KIND_SPECS: Record<DecoyEventKind, KindSpec> = {
  'daemon.start': { ecsKind: 'state', category: ['host'], type: ['start'], when: 'ready: every static binding probed', fields: { message: s, address: so } },
  'daemon.stop': { ecsKind: 'state', category: ['host'], type: ['end'], when: 'stopped', fields: { message: s, address: so } },
  'daemon.error': { ecsKind: 'event', category: ['host'], type: ['error'], outcome: 'failure', when: 'trouble (including counted store and capture drops)', fields: { message: s, address: so } },
  'daemon.bind': { ecsKind: 'state', category: ['host'], type: ['info'], when: 'an address was bound', fields: { message: s, address: so }, paths: { address: 'destination.ip' } },
  'daemon.refuse': { ecsKind: 'state', category: ['host'], type: ['denied'], when: 'an address was refused', fields: { message: s, address: so }, paths: { address: 'destination.ip' } },
  'arp.announce': { ecsKind: 'state', category: ['network'], type: ['start'], outcome: 'success', when: 'a static binding goes live (gratuitous ARP)', fields: { address: s, mac: s, template: so }, paths: ARP_PATHS },
  'arp.reply': { ecsKind: 'event', category: ['network'], type: ['protocol'], when: 'decoyd answered a who-has', fields: { address: s, mac: s, peerIp: s, peerMac: s }, paths: ARP_PATHS },
  'arp.claim': { ecsKind: 'state', category: ['network'], type: ['start'], outcome: 'success', when: 'a range address was claimed', fields: { address: s, mac: s, template: s, peerIp: s, peerMac: s, reason: s }, paths: ARP_PATHS },
  'arp.release': {
    ecsKind: 'state', category: ['network'], type: ['end'], when: 'an address was given up',
    fields: { address: s, mac: s, peerMac: so, template: s, reason: { type: 'string', values: ['owner-appeared', 'probed-by-other', 'shutdown', 'removed'] } }, paths: ARP_PATHS,
  },
  'arp.conflict': { ecsKind: 'state', category: ['network'], type: ['denied'], outcome: 'failure', when: 'a static binding was refused: a real host owns it', fields: { address: s, mac: s, peerMac: s, template: s, reason: s }, paths: ARP_PATHS },
  'arp.probe': { ecsKind: 'event', category: ['network'], type: ['protocol'], when: 'an RFC 5227 probe was seen or sent (debug)', fields: { address: s, mac: s, peerIp: so, peerMac: so, template: so, reason: so }, paths: ARP_PATHS },
  'tcp.packet': {
    ecsKind: 'event', category: ['network'], type: ['connection'], transport: 'tcp', when: 'every TCP segment to a decoy (the store folds alike ones per flush interval: `source.packets`)',
    fields: {
      ...MACS_IPS, srcPort: i, dstPort: i, flags: s,
      state: { type: 'string', values: ['open', 'closed', 'block', 'connection'] },
      answer: { type: 'string', values: ['syn-ack', 'rst', 'rst-ack', 'none', 'connection'] },
      ...FOLDED,
    },
    paths: { flags: 'decoyd.tcp.flags', ...FOLDED_PATHS },
  },
  'udp.packet': {
    ecsKind: 'event', category: ['network'], type: ['connection'], transport: 'udp', when: 'every datagram to a decoy (folded in the store likewise)',
    fields: { ...MACS_IPS, srcPort: i, dstPort: i, length: i, state: { type: 'string', values: ['open', 'closed', 'block'] }, answer: s, ...FOLDED },
    paths: FOLDED_PATHS,
  },
  icmp: {
    ecsKind: 'event', category: ['network'], type: ['connection'], transport: 'icmp', when: 'every ICMP message to a decoy (folded in the store likewise)',
    fields: { ...MACS_IPS, type: i, code: i, answer: s, ...FOLDED }, paths: { type: 'decoyd.icmp.type', code: 'decoyd.icmp.code', ...FOLDED_PATHS },
  },
  'tcp.open': {
    ecsKind: 'event', category: ['network', 'session'], type: ['connection', 'start'], transport: 'tcp', when: 'a handshake completed',
    fields: { srcIp: s, srcPort: i, dstIp: s, dstPort: i, service: so },
  },
  'tcp.close': {
    ecsKind: 'event', category: ['network', 'session'], type: ['connection', 'end'], transport: 'tcp', when: 'an established connection ended',
    fields: { srcIp: s, srcPort: i, dstIp: s, dstPort: i, service: so, bytesIn: io, bytesOut: io, reason: { type: 'string', optional: true, values: TCP_CLOSE_REASONS } },
  },
  drop: { ecsKind: 'event', category: ['network'], type: ['denied'], when: 'input dropped, or a bound reached (see below; folded in the store like packets)', fields: { reason: s, srcIp: so, dstIp: so, ...FOLDED }, paths: FOLDED_PATHS },
  route: {
    ecsKind: 'event', category: ['network'], type: ['connection'], when: 'a virtual router answered a packet passing through it',
    fields: { srcIp: s, dstIp: s, router: s, answer: { type: 'string', values: ['time-exceeded', 'net-unreachable', 'host-unreachable', 'none'] }, ttl: i },
    paths: { router: 'decoyd.route.router', ttl: 'decoyd.route.ttl' },
  },
  'service.identity': serviceSpec('connection', 'a connection to an identity opened (TCP), or a datagram reached one (UDP)'),
  'service.probe': serviceSpec('protocol', 'an nmap probe was recognised and answered'),
  'service.request': sessionSpec(['network', 'web'], 'access', 'a request reached an interactive service (HTTP request, FTP/SMTP/POP3/IMAP command with a reply code)', {
    method: so, path: so, status: io, headers: { type: 'string[]', optional: true }, userAgent: so, body: so, bodyBytes: io,
  }),
  'service.login': sessionSpec(['authentication'], 'start', 'a client offered a credential (password, public key, USER/PASS, AUTH …)', {
    authMethod: s, user: so, password: so, keyType: so, keyFingerprint: so, result: { type: 'string', values: ['accepted', 'refused'] }, clientVersion: so, hassh: so,
  }),
  'service.command': sessionSpec(['process'], 'start', 'a command was typed into an emulated shell or protocol session', { command: s }),
  'service.message': sessionSpec(['email'], 'info', 'an SMTP client completed DATA (the message is logged, never relayed)', {
    mailFrom: so, rcptTo: { type: 'string[]', optional: true }, subject: so, body: so, bodyBytes: i,
  }),
  'service.session': sessionSpec(['network', 'session'], 'end', 'an interactive session ended: its bounded transcript', {
    transcript: s, transcriptDropped: i, durationMs: i, clientVersion: so, ...BYTES,
  }),
  'script.start': actionSpec(['process'], 'start', 'a Honeyd-style script was started for a connection or datagram', { command: s, pid: io, uid: i, gid: i }),
  'script.exit': actionSpec(['process'], 'end', 'a script ended (exit code or signal)', { command: s, pid: io, exitCode: io, signal: so, durationMs: i, ...BYTES }),
  'script.limit': actionSpec(['process'], 'denied', 'a script hit a bound (time, output, memory, processes, input) and was stopped or refused', { command: s, pid: io, limit: s, reason: so }),
  'proxy.open': actionSpec(['network'], 'start', 'a proxied connection reached its target', { target: s }),
  'proxy.close': actionSpec(['network'], 'end', 'a proxied connection ended: bytes each way', { target: s, durationMs: i, reason: so, ...BYTES }),
  'proxy.refused': actionSpec(['network'], 'denied', 'a proxy target was outside the allow-list or unreachable', { target: s, reason: s }),
  'tarpit.open': actionSpec(['network'], 'start', 'a connection was caught by a tarpit', {}),
  'tarpit.close': actionSpec(['network'], 'end', 'a tarpitted connection ended', { durationMs: i, reason: so, ...BYTES }),
  // ---- Honeyd subsystems ----
  'subsystem.start': subsystemSpec('start', 'a Honeyd subsystem program was started (contained, as its template\'s uid/gid)', { pid: io, uid: i, gid: i }),
  'subsystem.listen': subsystemSpec('info', "a subsystem program listens: the port is open on its hosts (or, with `reason`, was not taken)", { pid: io, port: i, boundAddress: s, reason: so }),
  'subsystem.unlisten': subsystemSpec('info', 'a subsystem program stopped listening on a port', { pid: io, port: i, boundAddress: s }),
  'subsystem.exit': subsystemSpec('end', 'a subsystem program ended; `restartInMs` when it is started again', { pid: io, exitCode: io, signal: so, restartInMs: io, reason: so }),
  'dhcp.lease': dhcpSpec('start', 'success', "a DHCP-acquired decoy's address is live (ACKed, probed, announced)"),
  'dhcp.renew': dhcpSpec('change', 'success', 'the lease was renewed (RENEWING or REBINDING answered)'),
  'dhcp.release': dhcpSpec('end', undefined, 'decoyd sent DHCPRELEASE on stop'),
  'dhcp.lost': dhcpSpec('end', 'failure', 'the address was given up without a release (`expired`, `nak`, `conflict`, `address-changed`)'),
  'scan.detected': {
    ecsKind: 'alert', category: ['network', 'intrusion_detection'], type: ['info'], when: 'the detector recognised a scan (again, same `decoyd.scan.id`, as it grows)',
    fields: {
      scanId: s, srcIp: s, scanType: s, tool: so, targets: { type: 'string[]' }, targetCount: i, ports: { type: 'integer[]' }, portCount: i,
      packets: i, ratePps: { type: 'number' }, firstSeen: i, lastSeen: i, evidence: { type: 'string[]' },
    },
    paths: { scanId: 'decoyd.scan.id', scanType: 'decoyd.scan.type', tool: 'decoyd.scan.tool' },
    prefix: 'decoyd.scan',
  },
};

/** Where `field` of an event of `kind` lands. */
export function pathOf(kind: string, field: string): string {
  const spec = (KIND_SPECS as Record<string, KindSpec | undefined>)[kind];
  return spec?.paths?.[field] ?? FIELD_PATHS[field] ?? `${spec?.prefix ?? 'decoyd'}.${field}`;
}
