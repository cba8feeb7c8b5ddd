import {
  LINUX_ICMP_ERROR_LIMIT,
  type ConnectionShape, type DatagramShape, type HostPersonality, type IcmpEchoIn, type IcmpEchoReply, type IpIdKind,
  TcpFlag, type TcpReply, type TcpSegmentIn, type UdpUnreachableReply,
} from './host-personality';
import { FAMILY_BEHAVIOURS } from './behaviour/tables';

/**
 * A fixed, Linux-5.x-like personality. It is what a decoy runs when nmap-os-db is not installed
 * and what the stack's unit tests run against; the OS-database model replaces it wherever a
 * fingerprint is available.
 */
export class LinuxLikePersonality implements HostPersonality {
  readonly name = 'builtin:linux-like';
  readonly vendor = 'Linux';
  readonly icmpErrorLimit = LINUX_ICMP_ERROR_LIMIT;
  readonly behaviour = FAMILY_BEHAVIOURS.linux;
  private ipId: number;
  private isnBase: number;
  private readonly bootMs: number;

  constructor(seed: number, uptimeSeconds = 86400, nowMs = Date.now()) {
    this.ipId = seed & 0xffff;
    this.isnBase = (seed * 2654435761) >>> 0;
    this.bootMs = nowMs - uptimeSeconds * 1000;
  }

  respondTcp(seg: TcpSegmentIn, state: 'open' | 'closed', out: TcpReply): boolean {
    const f = seg.flags;
    out.reserved = 0;
    out.urgentPointer = 0;
    out.payload = null;
    out.ttl = 64;
    out.df = true;
    out.optionsLength = 0;
    if (state === 'open' && (f & TcpFlag.SYN) && !(f & (TcpFlag.ACK | TcpFlag.RST | TcpFlag.FIN))) {
      out.flags = TcpFlag.SYN | TcpFlag.ACK;
      if ((f & (TcpFlag.ECE | TcpFlag.CWR)) === (TcpFlag.ECE | TcpFlag.CWR)) out.flags |= TcpFlag.ECE;
      out.seq = this.isn(seg.timeMs);
      out.ack = (seg.seq + 1) >>> 0;
      out.window = 65160;
      out.ipId = 0;
      this.writeSynAckOptions(seg, out);
      return true;
    }
    if (state === 'open' && (f & TcpFlag.ACK) === 0) return false; // Linux drops FIN/NULL/Xmas in LISTEN
    out.window = 0;
    out.ipId = 0;
    if (f & TcpFlag.ACK) {
      out.flags = TcpFlag.RST;
      out.seq = seg.ack;
      out.ack = 0;
    } else {
      out.flags = TcpFlag.RST | TcpFlag.ACK;
      out.seq = 0;
      out.ack = (seg.seq + seg.payloadLength + (f & TcpFlag.SYN ? 1 : 0) + (f & TcpFlag.FIN ? 1 : 0)) >>> 0;
    }
    return true;
  }

  connectionShape(syn: TcpSegmentIn, out: ConnectionShape): void {
    out.ttl = 64;
    out.df = true;
    out.window = 64256;
    out.wscale = syn.wscale >= 0 ? 7 : -1;
    out.mss = 1460;
    out.timestamps = syn.hasTimestamp;
    out.tsOffset = 0; // one host-wide clock
    out.ipIdNext = -1; // one host-wide counter
  }

  datagramShape(out: DatagramShape): void {
    out.ttl = 64;
    out.df = true;
  }

  tsVal(timeMs: number): number {
    return Math.floor(timeMs - this.bootMs) >>> 0;
  }

  nextIpId(_kind: IpIdKind, _timeMs: number): number {
    this.ipId = (this.ipId + 1) & 0xffff;
    return this.ipId;
  }

  respondIcmpEcho(req: IcmpEchoIn, out: IcmpEchoReply): boolean {
    out.code = 0;
    out.ttl = 64;
    out.df = false;
    out.tos = req.ipTos;
    out.ipId = this.nextIpId('icmp', req.timeMs);
    return true;
  }

  respondUdpClosed(_len: number, timeMs: number, out: UdpUnreachableReply): boolean {
    out.ttl = 64;
    out.df = false;
    out.tos = 0xc0;
    out.ipId = this.nextIpId('icmp', timeMs);
    out.unused = 0;
    out.totalLength = 576;
    out.quotedTotalLength = -1;
    out.quotedIpId = -1;
    out.quotedIpChecksum = 'G';
    out.quotedUdpChecksum = -1;
    out.corruptQuotedPayload = false;
    out.quotedTtlDecrement = 0;
    return true;
  }

  private isn(timeMs: number): number {
    // RFC 6528 style: a secret base plus a 250 kHz clock.
    return (this.isnBase + Math.floor(timeMs * 250) + Math.floor(Math.random() * 0xffff)) >>> 0;
  }

  /** Linux's layout: MSS, SACK-permitted, timestamps, NOP, window scale — each only if offered. */
  private writeSynAckOptions(seg: TcpSegmentIn, out: TcpReply): void {
    const o = out.options;
    let i = 0;
    o[i++] = 2; o[i++] = 4; o.writeUInt16BE(1460, i); i += 2;
    if (seg.sackPermitted && seg.hasTimestamp) {
      o[i++] = 4; o[i++] = 2;
    } else if (seg.sackPermitted) {
      o[i++] = 1; o[i++] = 1; o[i++] = 4; o[i++] = 2;
    }
    if (seg.hasTimestamp) {
      if (!seg.sackPermitted) { o[i++] = 1; o[i++] = 1; }
      o[i++] = 8; o[i++] = 10;
      o.writeUInt32BE(this.tsVal(seg.timeMs), i); i += 4;
      o.writeUInt32BE(seg.tsVal >>> 0, i); i += 4;
    }
    if (seg.wscale >= 0) { o[i++] = 1; o[i++] = 3; o[i++] = 3; o[i++] = 7; }
    out.optionsLength = i;
  }
}
