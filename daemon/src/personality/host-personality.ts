/**
 * The contract between the stack and a host's OS personality.
 *
 * The personality decides field values; the stack writes bytes. Every packet a decoy
 * sends goes through this model, probe or not, so ordinary traffic never contradicts
 * what `nmap -O` measured. The stack fills the `In` records from wire views (reused
 * objects, no allocation); the personality fills the reused `Reply` records.
 */

import type { FamilyBehaviour, IcmpErrorLimitSpec } from './behaviour/types';
import type { TcpTimingProfile } from '../stack/tcp/timing';

/** TCP flag bits as on the wire (NS is bit 8 of the 9-bit field). */
export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
  NS: 0x100,
} as const;

/** What the model may look at in an incoming TCP segment. */
export interface TcpSegmentIn {
  srcPort: number;
  dstPort: number;
  /** 9-bit flags (TcpFlag). */
  flags: number;
  /** The 3 reserved bits between data offset and NS (0-7). */
  reserved: number;
  seq: number;
  ack: number;
  window: number;
  urgentPointer: number;
  payloadLength: number;
  /** Offered options: -1 / false when absent. */
  mss: number;
  wscale: number;
  sackPermitted: boolean;
  hasTimestamp: boolean;
  tsVal: number;
  tsEcr: number;
  /** Incoming IP header fields. */
  ipTtl: number;
  ipDf: boolean;
  ipId: number;
  /** Capture time of the frame, milliseconds (fractional) since the epoch. */
  timeMs: number;
}

/** A TCP segment the stack is asked to send. `options` is model-owned scratch, valid until the next call. */
export interface TcpReply {
  flags: number;
  reserved: number;
  seq: number;
  ack: number;
  window: number;
  urgentPointer: number;
  options: Buffer;
  optionsLength: number;
  /** Payload to carry (e.g. RST data for RD); null for none. */
  payload: Buffer | null;
  ttl: number;
  df: boolean;
  ipId: number;
}

/**
 * Which IP ID counter a packet draws from: nmap's TI / CI / II tests, and 'udp' for datagrams
 * services send (the family's UdpBehaviour says which counter that is).
 */
export type IpIdKind = 'tcp-open' | 'tcp-closed' | 'icmp' | 'udp';

export interface IcmpEchoIn {
  code: number;
  ipDf: boolean;
  ipTtl: number;
  ipTos: number;
  timeMs: number;
}

export interface IcmpEchoReply {
  code: number;
  ttl: number;
  df: boolean;
  ipId: number;
  tos: number;
}

/** How to build an ICMP port unreachable for a datagram to a closed UDP port. */
export interface UdpUnreachableReply {
  ttl: number;
  df: boolean;
  ipId: number;
  tos: number;
  /** ICMP bytes 4-7 (nmap's UN). */
  unused: number;
  /** Total IP length of the ICMP error (nmap's IPL): how much of the offending datagram is quoted. */
  totalLength: number;
  /** Overwrite the quoted IP total length with this, or -1 to keep it. */
  quotedTotalLength: number;
  /** Overwrite the quoted IP ID with this, or -1 to keep it. */
  quotedIpId: number;
  /** Quoted IP checksum: G = recompute after edits, Z = zero, I = wrong non-zero. */
  quotedIpChecksum: 'G' | 'Z' | 'I';
  /** Overwrite the quoted UDP checksum with this, or -1 to keep it. */
  quotedUdpChecksum: number;
  /** Corrupt a quoted payload byte (RUD=I). */
  corruptQuotedPayload: boolean;
  /**
   * Lower the quoted IP TTL by this much (0: quote as received). Devices whose errors quote a TTL
   * already spent make Nmap count extra hops, which is how entries reach `T` values above 255.
   */
  quotedTtlDecrement: number;
}

/** Segment shape inside an established connection (data, ACKs, FINs). */
export interface ConnectionShape {
  ttl: number;
  df: boolean;
  /** Receive window we advertise, in bytes (the stack divides by 2^wscale for the header). */
  window: number;
  /** Our window scale shift, or -1 if not negotiated. */
  wscale: number;
  mss: number;
  timestamps: boolean;
  /**
   * Added to `tsVal(timeMs)` for this connection's TSval (mod 2^32). 0 for hosts with one clock;
   * hosts with a random TSval per connection (Nmap TS=21/22) set it so that the connection's
   * segments continue the SYN/ACK's TSval. Filled by `connectionShape`, which the stack calls
   * right after the `respondTcp` that produced the SYN/ACK.
   */
  tsOffset: number;
  /**
   * The IP ID of this connection's next segment, or -1 when its segments take the host's counter.
   * Linux (TI=Z) sends 0 only where no connected socket exists (SYN/ACKs, stateless resets); an
   * established socket counts from a random start of its own (inet_id, set in tcp_v4_syn_recv_sock).
   */
  ipIdNext: number;
}

/**
 * A token bucket: up to `burst` errors at once, then one every `intervalMs`; kept per peer (Linux)
 * or once for the whole host (BSD icmplim, Solaris, Cisco IOS).
 */
export type IcmpErrorLimit = IcmpErrorLimitSpec;

/** Linux's default (net.ipv4.icmp_ratelimit = 1000 ms, burst factor 6), per peer. */
export const LINUX_ICMP_ERROR_LIMIT: IcmpErrorLimit = { scope: 'peer', burst: 6, intervalMs: 1000 };

/** IP shape of UDP datagrams a service sends. */
export interface DatagramShape {
  ttl: number;
  df: boolean;
}

export interface HostPersonality {
  /** The fingerprint name (or `builtin:…`). */
  readonly name: string;

  /**
   * A segment that belongs to no connection arrived at a port in `state`.
   * Fill `out` and return true to send it, false to stay silent. A SYN/ACK returned for an
   * open port makes the stack create a half-open connection with `out.seq` as ISN.
   */
  respondTcp(seg: TcpSegmentIn, state: 'open' | 'closed', out: TcpReply): boolean;

  /** Shape of our segments on a connection the SYN `syn` opened. */
  connectionShape(syn: TcpSegmentIn, out: ConnectionShape): void;

  /** TCP timestamp value at `timeMs`, or -1 if this host sends no timestamps. */
  tsVal(timeMs: number): number;

  /** Next IP ID for a packet of `kind`. */
  nextIpId(kind: IpIdKind, timeMs: number): number;

  /** Echo request: fill `out` and return true to reply. */
  respondIcmpEcho(req: IcmpEchoIn, out: IcmpEchoReply): boolean;

  /** Datagram to a closed UDP port: fill `out` and return true to send port unreachable. */
  respondUdpClosed(ipTotalLength: number, timeMs: number, out: UdpUnreachableReply): boolean;

  /** IP TTL and DF of UDP datagrams sent by services on this host. */
  datagramShape(out: DatagramShape): void;

  /**
   * How the OS rate-limits the ICMP errors it sends to one peer, or null for no limit. Linux allows
   * a burst of 6 and then one a second (icmp_ratelimit); answering every closed UDP port at once
   * would mark the host as an emulator.
   */
  readonly icmpErrorLimit: IcmpErrorLimit | null;

  /** Class vendor (e.g. `Microsoft`, `Cisco`) for choosing a MAC prefix; undefined if unknown. */
  readonly vendor: string | undefined;

  /** Retransmission, TIME_WAIT and delayed-ACK timing of this OS; undefined means Linux's. */
  readonly tcpTiming?: TcpTimingProfile;

  /** What the OS family does beyond nmap-os-db's probes: ARP, ICMP extras, reassembly, UDP IP ID, TCP timers. */
  readonly behaviour: FamilyBehaviour;
}
