/**
 * One packet to a decoy (or one ARP who-has for a decoy or claim-range address), reduced to the
 * header facts the scan detector needs. The engine owns ONE instance and refills it for every
 * frame, so the frame path allocates nothing; a consumer must copy what it keeps before returning.
 *
 * This module depends only on the wire codecs: the stack fills it, the detector reads it.
 */
import type { ArpView } from '../wire/arp';
import type { IcmpView } from '../wire/icmp';
import type { Ipv4View } from '../wire/ipv4';
import { emptyOptionSummary, readTcpOptions, type TcpOptionSummary, type TcpView } from '../wire/tcp';
import type { UdpView } from '../wire/udp';

/** Bytes of transport payload kept (enough for Nmap's service probe strings to be told apart). */
export const OBSERVED_PAYLOAD_BYTES = 64;
/** TCP option space is at most 40 bytes. */
const MAX_OPTION_BYTES = 40;

/** What kind of packet was observed. */
export const ObservedKind = { ARP_REQUEST: 1, TCP: 2, UDP: 3, ICMP: 4, OTHER_IP: 5 } as const;
export type ObservedKindCode = (typeof ObservedKind)[keyof typeof ObservedKind];

export class PacketObservation {
  kind: ObservedKindCode = ObservedKind.OTHER_IP;
  /** Capture time, ms since the epoch. */
  time = 0;
  /** IPv4 source and destination as unsigned 32-bit numbers (for ARP: sender and target protocol address). */
  srcIp = 0;
  dstIp = 0;
  /** IP protocol number (0 for ARP). */
  protocol = 0;
  // IPv4 header facts.
  ipId = 0;
  ttl = 0;
  tos = 0;
  df = false;
  totalLength = 0;
  // TCP / UDP ports.
  srcPort = 0;
  dstPort = 0;
  // TCP header facts.
  /** 9 flag bits: NS CWR ECE URG ACK PSH RST SYN FIN. */
  tcpFlags = 0;
  tcpReserved = 0;
  seq = 0;
  ack = 0;
  window = 0;
  urgentPointer = 0;
  /** Raw option bytes as sent (nmap's OS probes are recognised by exact layout). */
  readonly optionBytes = Buffer.alloc(MAX_OPTION_BYTES);
  optionLength = 0;
  /** The offered options, read by the stack's own option walk (wire/tcp.ts). */
  readonly options: TcpOptionSummary = emptyOptionSummary();
  // ICMP.
  icmpType = -1;
  icmpCode = -1;
  icmpId = 0;
  icmpSeq = 0;
  // Payload (TCP segment data, UDP datagram data, ICMP data after the 8-byte header).
  payloadLength = 0;
  readonly payload = Buffer.alloc(OBSERVED_PAYLOAD_BYTES);
  /** Bytes of `payload` that are valid: min(payloadLength, OBSERVED_PAYLOAD_BYTES). */
  payloadKept = 0;

  private resetTransport(): void {
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.tcpReserved = 0;
    this.seq = 0;
    this.ack = 0;
    this.window = 0;
    this.urgentPointer = 0;
    this.optionLength = 0;
    this.options.mss = -1;
    this.options.wscale = -1;
    this.options.sackPermitted = false;
    this.options.hasTimestamp = false;
    this.icmpType = -1;
    this.icmpCode = -1;
    this.icmpId = 0;
    this.icmpSeq = 0;
    this.payloadLength = 0;
    this.payloadKept = 0;
  }

  private fillIp(ip: Ipv4View, time: number): void {
    this.time = time;
    this.srcIp = ip.src;
    this.dstIp = ip.dst;
    this.protocol = ip.protocol;
    this.ipId = ip.id;
    this.ttl = ip.ttl;
    this.tos = ip.tos;
    this.df = ip.df;
    this.totalLength = ip.totalLength;
    this.resetTransport();
  }

  private keepPayload(buf: Buffer, off: number, length: number): void {
    this.payloadLength = length;
    const n = length < OBSERVED_PAYLOAD_BYTES ? length : OBSERVED_PAYLOAD_BYTES;
    // Byte loop: a Buffer.copy call costs more than copying a few dozen bytes.
    for (let i = 0; i < n; i++) this.payload[i] = buf[off + i];
    this.payloadKept = n;
  }

  fromTcp(ip: Ipv4View, tcp: TcpView, time: number): this {
    this.fillIp(ip, time);
    this.kind = ObservedKind.TCP;
    this.srcPort = tcp.srcPort;
    this.dstPort = tcp.dstPort;
    this.tcpFlags = tcp.flags;
    this.tcpReserved = tcp.reserved;
    this.seq = tcp.seq;
    this.ack = tcp.ack;
    this.window = tcp.window;
    this.urgentPointer = tcp.urgentPointer;
    this.keepOptions(tcp);
    this.keepPayload(tcp.buf, tcp.payloadOffset, tcp.payloadLength);
    return this;
  }

  fromUdp(ip: Ipv4View, udp: UdpView, time: number): this {
    this.fillIp(ip, time);
    this.kind = ObservedKind.UDP;
    this.srcPort = udp.srcPort;
    this.dstPort = udp.dstPort;
    this.keepPayload(udp.buf, udp.payloadOffset, udp.payloadLength);
    return this;
  }

  fromIcmp(ip: Ipv4View, icmp: IcmpView, time: number): this {
    this.fillIp(ip, time);
    this.kind = ObservedKind.ICMP;
    this.icmpType = icmp.type;
    this.icmpCode = icmp.code;
    this.icmpId = icmp.identifier;
    this.icmpSeq = icmp.sequence;
    this.keepPayload(icmp.buf, icmp.dataOffset, icmp.dataLength);
    return this;
  }

  /** Any other IP protocol (what `nmap -sO` walks through). */
  fromOtherIp(ip: Ipv4View, time: number): this {
    this.fillIp(ip, time);
    this.kind = ObservedKind.OTHER_IP;
    this.payloadLength = ip.payloadLength;
    return this;
  }

  fromArpRequest(arp: ArpView, time: number): this {
    this.kind = ObservedKind.ARP_REQUEST;
    this.time = time;
    this.srcIp = arp.senderIp;
    this.dstIp = arp.targetIp;
    this.protocol = 0;
    this.ipId = 0;
    this.ttl = 0;
    this.tos = 0;
    this.df = false;
    this.totalLength = 0;
    this.resetTransport();
    return this;
  }

  /** Copies the raw options and records kinds in order plus the values the detector reads. */
  private keepOptions(tcp: TcpView): void {
    const n = tcp.optionsLength < MAX_OPTION_BYTES ? tcp.optionsLength : MAX_OPTION_BYTES;
    for (let i = 0; i < n; i++) this.optionBytes[i] = tcp.buf[tcp.optionsOffset + i];
    this.optionLength = n;
    readTcpOptions(tcp, this.options);
  }
}

/** Who consumes observations. Must do only O(1) bounded work and must not keep the record. */
export interface PacketObserver {
  observe(obs: PacketObservation): void;
}
