/**
 * Every interaction becomes one DecoyEvent, and every event goes through one EventSink.
 * Logging (pino), the event store and shipping to a fleet collector all hang off that sink.
 */

export type DecoyEvent =
  | ArpEvent
  | IcmpEvent
  | TcpPacketEvent
  | UdpPacketEvent
  | TcpConnectionEvent
  | DropEvent
  | DaemonEvent;

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
}

export interface DaemonEvent extends EventBase {
  kind: 'daemon.start' | 'daemon.stop' | 'daemon.bind' | 'daemon.refuse' | 'daemon.error';
  message: string;
  address?: string;
}

export type DecoyEventKind = DecoyEvent['kind'];

export interface EventSink {
  /** False when nobody records events of this kind: lets the per-packet path skip building them. */
  wants(kind: DecoyEventKind): boolean;
  emit(event: DecoyEvent): void;
}
