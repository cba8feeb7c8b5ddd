/**
 * Every interaction becomes one DecoyEvent, and every event goes through one EventSink.
 * Logging (pino), the event store and shipping to a fleet collector all hang off that sink.
 */

import type { PacketCounts } from './packet-tally';

export type DecoyEvent =
  | ArpEvent
  | IcmpEvent
  | TcpPacketEvent
  | UdpPacketEvent
  | TcpConnectionEvent
  | DropEvent
  | DaemonEvent
  | ScanDetectedEvent
  | DhcpEvent
  | RouteEvent
  | ServiceIdentityEvent
  | ServiceSessionEvent
  | ServiceActionEvent
  | SubsystemEvent;

interface EventBase {
  /** Milliseconds since the epoch (capture time where there is a frame). */
  time: number;
}

export interface ArpEvent extends EventBase {
  kind: 'arp.reply' | 'arp.claim' | 'arp.release' | 'arp.announce' | 'arp.conflict' | 'arp.probe';
  /** The decoy address concerned. */
  address: string;
  /** Our MAC for it. */
  mac: string;
  /** For replies: who asked; for conflicts/releases: the other owner. */
  peerIp?: string;
  peerMac?: string;
  template?: string;
  reason?: string;
}

export interface PacketEventBase extends EventBase {
  srcMac: string;
  dstMac: string;
  srcIp: string;
  dstIp: string;
  /** What decoyd did: the reply it sent (`syn-ack`, `rst`, `rst-ack`, `echo-reply`, `port-unreachable`, `data`…) or `none`. */
  answer: string;
  /**
   * In the store (events/packet-tally.ts): how many packets of one interval this row folds, all
   * alike but for source port and time (absent = 1, as in the log); `time` is the first one's.
   */
  packets?: number;
  /** With `packets`: the last folded packet's time (ms since the epoch). */
  lastTime?: number;
}

export interface IcmpEvent extends PacketEventBase {
  kind: 'icmp';
  type: number;
  code: number;
}

export interface TcpPacketEvent extends PacketEventBase {
  kind: 'tcp.packet';
  srcPort: number;
  dstPort: number;
  /** Flags as letters in tcpdump order: `S`, `SA`, `FPU`, `.` for none. */
  flags: string;
  /** Port state that decided the answer. */
  state: 'open' | 'closed' | 'block' | 'connection';
}

export interface UdpPacketEvent extends PacketEventBase {
  kind: 'udp.packet';
  srcPort: number;
  dstPort: number;
  length: number;
  state: 'open' | 'closed' | 'block';
}

export interface TcpConnectionEvent extends EventBase {
  kind: 'tcp.open' | 'tcp.close';
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  service?: string;
  /** For close: bytes received from / sent to the peer, and why it ended. */
  bytesIn?: number;
  bytesOut?: number;
  reason?: string;
}

export interface DropEvent extends EventBase {
  kind: 'drop';
  /** Malformed-input reason (wire/malformed.ts, reassembly) or policy (`droprate`, `martian-source`, `connection-table-full`, `per-source-limit`…). */
  reason: string;
  srcIp?: string;
  dstIp?: string;
  /** In the store: drops of one interval alike in reason and addresses, folded (as PacketEventBase.packets). */
  packets?: number;
  lastTime?: number;
}

/** A virtual router (topology:) answered a packet passing through it with an ICMP error. */
export interface RouteEvent extends EventBase {
  kind: 'route';
  srcIp: string;
  dstIp: string;
  /** The router that answered. */
  router: string;
  /** `time-exceeded`, `net-unreachable`, `host-unreachable`, or `none` when its personality stays silent. */
  answer: string;
  /** The TTL the packet reached the router with. */
  ttl: number;
}

export interface DaemonEvent extends EventBase {
  kind: 'daemon.start' | 'daemon.stop' | 'daemon.bind' | 'daemon.refuse' | 'daemon.error';
  message: string;
  address?: string;
}

/**
 * A scan recognised by the detector (daemon/src/detect/): one event when a campaign from one
 * source crosses its threshold, and again (same `scanId`) as it grows or ends.
 */
export interface ScanDetectedEvent extends EventBase {
  kind: 'scan.detected';
  /** Stable per campaign, so updates of one scan can be folded together. */
  scanId: string;
  srcIp: string;
  /** `tcp-syn`, `tcp-connect`, `tcp-fin`, `tcp-null`, `tcp-xmas`, `tcp-ack`, `tcp-window`, `tcp-maimon`, `udp`, `ip-protocol`, `ping-sweep-icmp`, `ping-sweep-tcp`, `arp-sweep`, `os-detection`, `service-version`. */
  scanType: string;
  /** `nmap`, `masscan`, `zmap`, `hping3`, … when the packets say so; absent when unknown. */
  tool?: string;
  /** Bounded samples; the counts are exact. */
  targets: string[];
  targetCount: number;
  ports: number[];
  portCount: number;
  packets: number;
  /** Packets per second between first and last seen. */
  ratePps: number;
  firstSeen: number;
  lastSeen: number;
  /** Human-readable reasons that decided type and tool, e.g. `ip.id constant 54321 (zmap)`. */
  evidence: string[];
}

/** A DHCP-acquired decoy's lease (stack/dhcp/): obtained, renewed, released on stop, or lost. */
export interface DhcpEvent extends EventBase {
  kind: 'dhcp.lease' | 'dhcp.renew' | 'dhcp.release' | 'dhcp.lost';
  /** The leased address. */
  address: string;
  /** The decoy's MAC (the BOOTP chaddr). */
  mac: string;
  /** The DHCP server's identifier (option 54). */
  server: string;
  /** Lease time in seconds, as the server last gave it. */
  leaseTime: number;
  template: string;
  hostname: string;
  /** dhcp.lost: `expired`, `nak`, `conflict` (declined), `address-changed`; dhcp.release: `shutdown`. */
  reason?: string;
}

/**
 * An identity served on a port (services/identity/): `service.identity` once per connection (per
 * datagram exchange for UDP) naming what nmap will print; `service.probe` for each nmap probe
 * recognised and answered. Linked to the connection by the four-tuple.
 */
export interface ServiceIdentityEvent extends EventBase {
  kind: 'service.identity' | 'service.probe';
  proto: 'tcp' | 'udp';
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  /** nmap's service name (`ftp`, `http`); `ssl/http` style when served inside TLS. */
  service: string;
  product: string;
  version?: string;
  /** The nmap probe the identity answers (`NULL` = banner on connect), and its rule's line in nmap-service-probes. */
  probe: string;
  ruleLine: number;
  /** For `service.probe`: bytes sent in answer. */
  bytes?: number;
  /** For `service.probe` inside TLS: the negotiated protocol (`TLSv1.3`). */
  tls?: string;
}

/** The four-tuple that links a service step to its connection (`tcp.open`/`tcp.close`). */
export interface ConnectionRef {
  proto: 'tcp' | 'udp';
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
}

/**
 * One step of an interactive service session (services/interactive/): what an intruder asked
 * for, which credentials they tried, what they typed, what mail they sent, and at the end a
 * bounded transcript. `service` is the protocol (`http`, `ssh`, `telnet`, `ftp`, `smtp`, `pop3`,
 * `imap`, …; `https` style names when inside TLS); `product` is the emulated product.
 */
export interface ServiceSessionEvent extends EventBase, ConnectionRef {
  kind: 'service.request' | 'service.login' | 'service.command' | 'service.message' | 'service.session';
  service: string;
  product?: string;
  // service.request (HTTP and other request/response protocols)
  method?: string;
  path?: string;
  /** Status the emulator answered with (HTTP status, FTP/SMTP reply code). */
  status?: number;
  /** Request headers as sent, `Name: value`, in order, bounded. */
  headers?: string[];
  userAgent?: string;
  /** Bounded excerpt of the request body (or mail body), as text with non-printables escaped. */
  body?: string;
  /** The full body length, however much of it the excerpt kept. */
  bodyBytes?: number;
  // service.login
  /** How the credential was offered: `password`, `publickey`, `keyboard-interactive`, `USER/PASS`, `AUTH PLAIN`, `AUTH LOGIN`, `LOGIN`, `APOP`, `basic`, … */
  authMethod?: string;
  user?: string;
  password?: string;
  /** Public-key attempts: key type and SHA256 fingerprint as OpenSSH prints them. */
  keyType?: string;
  keyFingerprint?: string;
  /** `accepted` or `refused`, as the emulator answered. */
  result?: 'accepted' | 'refused';
  /** The client's own identification (SSH version string, HTTP User-Agent is in userAgent). */
  clientVersion?: string;
  /** HASSH of the client's key-exchange init (SSH). */
  hassh?: string;
  // service.command
  command?: string;
  // service.message (SMTP)
  mailFrom?: string;
  rcptTo?: string[];
  subject?: string;
  // service.session (written when the session ends)
  /** Bounded transcript, both directions, `> ` for what the client sent and `< ` for answers. */
  transcript?: string;
  /** Bytes the transcript bound left out. */
  transcriptDropped?: number;
  durationMs?: number;
  /** service.session: bytes from and to the client over the whole session. */
  bytesIn?: number;
  bytesOut?: number;
}

/**
 * Honeyd's service actions (services/actions/): a script run for a connection or a datagram, a
 * proxied connection, a tarpitted connection.
 */
export interface ServiceActionEvent extends EventBase, ConnectionRef {
  kind: 'script.start' | 'script.exit' | 'script.limit' | 'proxy.open' | 'proxy.close' | 'proxy.refused' | 'tarpit.open' | 'tarpit.close';
  /** The template whose port rule ran the action. */
  template?: string;
  // scripts
  /** The command line after substitution, as run (argv joined by spaces). */
  command?: string;
  pid?: number;
  uid?: number;
  gid?: number;
  exitCode?: number;
  signal?: string;
  /** script.limit: which bound was hit (`time`, `output`, `memory`, `processes`, `input`). */
  limit?: string;
  // proxy
  /** HOST:PORT the proxy connected (or refused to connect) to. */
  target?: string;
  // all: bytes from the client and to the client; why it ended
  bytesIn?: number;
  bytesOut?: number;
  reason?: string;
  durationMs?: number;
}

/**
 * A Honeyd subsystem program (services/subsystem/): started, listening on a port of its hosts,
 * stopped listening, exited (and whether it is restarted).
 */
export interface SubsystemEvent extends EventBase {
  kind: 'subsystem.start' | 'subsystem.listen' | 'subsystem.unlisten' | 'subsystem.exit';
  /** The template whose `add T subsystem` this is. */
  template: string;
  /** The command as run by /bin/sh -c (after `$ipsrc` / `$date`). */
  command: string;
  /** The decoy addresses the program serves (one, or every host of the template when shared). */
  addresses: string[];
  pid?: number;
  uid?: number;
  gid?: number;
  /** listen / unlisten: the TCP port, and the address it was bound to (0.0.0.0 = all of `addresses`). */
  port?: number;
  boundAddress?: string;
  exitCode?: number;
  signal?: string;
  /** exit: milliseconds until it is started again; absent when it is not. */
  restartInMs?: number;
  /** exit: why it ended, or why it is not restarted; listen: why the port was not taken. */
  reason?: string;
}

export type DecoyEventKind = DecoyEvent['kind'];

export interface EventSink {
  /** False when nobody records events of this kind: lets the per-packet path skip building them. */
  wants(kind: DecoyEventKind): boolean;
  emit(event: DecoyEvent): void;
  /**
   * Present when some sink (the store) takes the per-packet kinds as per-interval counts: the
   * packet path calls it with numbers, whether or not it also builds the event for `wants`.
   */
  readonly packetCounts?: PacketCounts;
}
