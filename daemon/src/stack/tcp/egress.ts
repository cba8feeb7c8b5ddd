import type { TcpReply } from '../../personality/host-personality';
import { ETH_SRC } from '../../wire/ethernet';
import { IpProto } from '../../wire/ipv4';
import { TCP_MIN_HEADER, TcpOpt, tcpOptionSpace, writeTcp } from '../../wire/tcp';
import type { DecoyHost } from '../decoy-table';
import { type FrameBuilder, L4_OFF, MAX_FRAME } from '../frame-builder';
import type { ByteQueue } from './byte-queue';

/** Timestamp option bytes on connection segments (NOP NOP TS), as Linux lays them out. */
export const TS_OPTION_SPACE = 12;

/** What the egress stage needs of a connection to put one of its segments on the wire. */
export interface SegmentSource {
  readonly host: DecoyHost;
  readonly peerIp: number;
  readonly peerPort: number;
  readonly localPort: number;
  /** The peer's MAC in bytes 0-5. */
  readonly peerMac: Buffer;
  readonly ttl: number;
  readonly df: boolean;
  /** Peer's last TSval (echoed), or -1 when timestamps are off. */
  readonly tsRecent: number;
  readonly tsOffset: number;
  /** The connection's own IP ID counter (next value), or -1: the host's counter (ConnectionShape.ipIdNext). */
  ipIdNext: number;
}

/**
 * The SYN/ACK first sent for a half-open connection, kept whole so that a retransmission repeats
 * it: its option bytes sit in `peerMac` right after the MAC (one allocation per connection).
 */
export interface SynAckSource extends SegmentSource {
  readonly synAckFlags: number;
  readonly synAckReserved: number;
  readonly synAckWindow: number;
  readonly synAckUrgent: number;
  readonly synAckOptLen: number;
  readonly synAckTtl: number;
  readonly synAckDf: boolean;
}

/**
 * The one stage every outgoing TCP frame passes: it owns the transmit buffer, the clock and the
 * host-wide values the OS itself changes between frames (TSval, IP ID), and writes the headers.
 * Stateless answers, SYN/ACKs and connection segments all leave here.
 */
export class TcpEgress {
  private readonly optBuf = Buffer.alloc(40);
  private readonly header = { srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, reserved: 0, window: 0, urgentPointer: 0 };
  framesSent = 0;

  constructor(private readonly tx: FrameBuilder, readonly now: () => number) {}

  /** A connection segment: seq/ack/flags/window from the socket, `n` data bytes from `data` at `dataOff`. */
  sendSegment(src: SegmentSource, flags: number, seq: number, ack: number, window: number, data: ByteQueue | null, dataOff: number, n: number): void {
    const p = src.host.personality;
    const now = this.now();
    let optLen = 0;
    const hostTs = src.tsRecent >= 0 ? p.tsVal(now) : -1;
    if (hostTs >= 0) {
      // The connection's own TS sequence: the host clock moved by the offset its SYN/ACK fixed.
      const o = this.optBuf;
      o[0] = TcpOpt.NOP; o[1] = TcpOpt.NOP; o[2] = TcpOpt.TIMESTAMP; o[3] = 10;
      o.writeUInt32BE((hostTs + src.tsOffset) >>> 0, 4);
      o.writeUInt32BE(src.tsRecent >>> 0, 8);
      optLen = TS_OPTION_SPACE;
    }
    const buf = this.tx.buf;
    if (data !== null && n > 0) data.copyOut(dataOff, n, buf, L4_OFF + TCP_MIN_HEADER + optLen);
    const h = this.header;
    h.srcPort = src.localPort;
    h.dstPort = src.peerPort;
    h.seq = seq;
    h.ack = ack;
    h.flags = flags;
    h.reserved = 0;
    h.window = window;
    h.urgentPointer = 0;
    const segLen = writeTcp(buf, L4_OFF, h, this.optBuf, optLen, n, src.host.ip, src.peerIp);
    let ipId: number;
    if (src.ipIdNext >= 0) { ipId = src.ipIdNext; src.ipIdNext = (ipId + 1) & 0xffff; } else ipId = p.nextIpId('tcp-open', now);
    this.tx.finishIpv4(src.peerMac, 0, src.host.mac, IpProto.TCP, src.host.ip, src.peerIp, segLen, src.ttl, src.df, ipId, 0);
    this.framesSent++;
  }

  /**
   * Send a SYN/ACK again exactly as first sent: same flags (ECN bits included), window and option
   * bytes. Only what the OS itself changes moves: the TSval follows the clock and the IP ID its counter.
   */
  resendSynAck(src: SynAckSource, seq: number, ack: number): void {
    const p = src.host.personality;
    const now = this.now();
    const o = this.optBuf;
    const optLen = src.synAckOptLen;
    src.peerMac.copy(o, 0, 6, 6 + optLen);
    const hostTs = p.tsVal(now);
    if (hostTs >= 0) rewriteTsVal(o, optLen, (hostTs + src.tsOffset) >>> 0);
    const h = this.header;
    h.srcPort = src.localPort;
    h.dstPort = src.peerPort;
    h.seq = seq;
    h.ack = ack;
    h.flags = src.synAckFlags;
    h.reserved = src.synAckReserved;
    h.window = src.synAckWindow;
    h.urgentPointer = src.synAckUrgent;
    const segLen = writeTcp(this.tx.buf, L4_OFF, h, o, optLen, 0, src.host.ip, src.peerIp);
    this.tx.finishIpv4(src.peerMac, 0, src.host.mac, IpProto.TCP, src.host.ip, src.peerIp, segLen,
      src.synAckTtl, src.synAckDf, p.nextIpId('tcp-open', now), 0);
    this.framesSent++;
  }

  /** An RST with seq = `seq` (no ACK), shaped as the connection's segments: the answer to a bad handshake ACK. */
  sendRst(src: SegmentSource, seq: number): void {
    const h = this.header;
    h.srcPort = src.localPort; h.dstPort = src.peerPort; h.seq = seq; h.ack = 0; h.flags = 0x04; h.reserved = 0; h.window = 0; h.urgentPointer = 0;
    const p = src.host.personality;
    const segLen = writeTcp(this.tx.buf, L4_OFF, h, this.optBuf, 0, 0, src.host.ip, src.peerIp);
    this.tx.finishIpv4(src.peerMac, 0, src.host.mac, IpProto.TCP, src.host.ip, src.peerIp, segLen, src.ttl, src.df, p.nextIpId('tcp-open', this.now()), 0);
    this.framesSent++;
  }

  /**
   * The personality's stateless reply `r` to the segment's sender (MAC at `macOff` in `macSrc`).
   * `ipOptions[0, ipOptionsLength)`: IP options to carry (the request's record route / timestamp
   * reflected, as Linux's ip_send_unicast_reply does), 0 for none.
   */
  sendReply(host: DecoyHost, macSrc: Buffer, peerIp: number, peerPort: number, localPort: number, r: TcpReply, macOff = ETH_SRC, ipOptions: Buffer | null = null, ipOptionsLength = 0): void {
    const buf = this.tx.buf;
    const ipOpt = ipOptions === null ? 0 : ipOptionsLength;
    const l4 = L4_OFF + ipOpt;
    let payloadLen = 0;
    if (r.payload !== null && r.payload.length > 0) {
      const optionSpace = tcpOptionSpace(r.optionsLength);
      payloadLen = Math.min(r.payload.length, MAX_FRAME - l4 - TCP_MIN_HEADER - optionSpace);
      r.payload.copy(buf, l4 + TCP_MIN_HEADER + optionSpace, 0, payloadLen);
    }
    const h = this.header;
    h.srcPort = localPort;
    h.dstPort = peerPort;
    h.seq = r.seq;
    h.ack = r.ack;
    h.flags = r.flags;
    h.reserved = r.reserved;
    h.window = r.window;
    h.urgentPointer = r.urgentPointer;
    const segLen = writeTcp(buf, l4, h, r.options, r.optionsLength, payloadLen, host.ip, peerIp);
    if (ipOptions !== null && ipOpt > 0) this.tx.finishIpv4WithOptions(macSrc, macOff, host.mac, IpProto.TCP, host.ip, peerIp, ipOptions, ipOpt, segLen, r.ttl, r.df, r.ipId, 0);
    else this.tx.finishIpv4(macSrc, macOff, host.mac, IpProto.TCP, host.ip, peerIp, segLen, r.ttl, r.df, r.ipId, 0);
    this.framesSent++;
  }
}

/** Largest payload of one connection segment with `optLen` option bytes (one unfragmented frame). */
export function maxSegmentPayload(optLen: number): number {
  return MAX_FRAME - L4_OFF - TCP_MIN_HEADER - optLen;
}


/**
 * Overwrite the TSval of the timestamp option in `options[0, length)`, if there is one and it
 * shows a clock: a zero TSval is part of the OS's layout (Nmap's T0x) and stays zero.
 */
function rewriteTsVal(options: Buffer, length: number, tsVal: number): void {
  for (let i = 0; i < length;) {
    const kind = options[i];
    if (kind === TcpOpt.EOL) return;
    if (kind === TcpOpt.NOP) { i++; continue; }
    const len = i + 1 < length ? options[i + 1] as number : 0;
    if (len < 2 || i + len > length) return;
    if (kind === TcpOpt.TIMESTAMP && len === 10) {
      if (options.readUInt32BE(i + 2) !== 0) options.writeUInt32BE(tsVal === 0 ? 1 : tsVal, i + 2);
      return;
    }
    i += len;
  }
}
