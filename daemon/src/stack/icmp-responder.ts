import type { EventSink } from '../events/event';
import type { IcmpEchoIn, IcmpEchoReply, UdpUnreachableReply } from '../personality/host-personality';
import { ipToString, macToString } from '../wire/address';
import { internetChecksum } from '../wire/checksum';
import { ETH_DST, ETH_SRC } from '../wire/ethernet';
import { finishIcmp, ICMP_HEADER_LEN, IcmpType, type IcmpView } from '../wire/icmp';
import { IPV4_MIN_HEADER, IpProto, type Ipv4View } from '../wire/ipv4';
import { MAX_IP_OPTIONS, msSinceMidnightUtc, reflectEchoOptions } from './ip-options';
import type { DecoyHost } from './decoy-table';
import type { IcmpErrorLimiter } from './icmp-error-limiter';
import { type FrameBuilder, L4_OFF, MAX_FRAME, MAX_L4_LENGTH, MTU } from './frame-builder';

/** An ICMP timestamp message: header, originate, receive, transmit. */
const TIMESTAMP_LEN = 20;

/** ICMP for decoys: echo and timestamp replies and the unreachable errors a host sends, shaped by the personality and its family. */
export class IcmpResponder {
  private readonly echoIn: IcmpEchoIn = { code: 0, ipDf: false, ipTtl: 0, ipTos: 0, timeMs: 0 };
  private readonly echoOut: IcmpEchoReply = { code: 0, ttl: 64, df: false, ipId: 0, tos: 0 };
  /** Scratch for an echo reply's reflected IP options. */
  private readonly options = Buffer.alloc(MAX_IP_OPTIONS);
  private readonly unreach: UdpUnreachableReply = {
    ttl: 64, df: false, ipId: 0, tos: 0, unused: 0, totalLength: 576, quotedTotalLength: -1, quotedIpId: -1,
    quotedIpChecksum: 'G', quotedUdpChecksum: -1, corruptQuotedPayload: false, quotedTtlDecrement: 0,
  };

  constructor(
    private readonly tx: FrameBuilder,
    private readonly events: EventSink,
    private readonly limiter: IcmpErrorLimiter,
  ) {}

  handle(host: DecoyHost, frame: Buffer, ip: Ipv4View, icmp: IcmpView, timeMs: number): void {
    let answer = 'none';
    if (icmp.type === IcmpType.ECHO_REQUEST && host.template.icmpOpen) {
      if (this.echoShape(host, ip, icmp.code, timeMs) && icmp.length <= MAX_L4_LENGTH) {
        const out = this.echoOut;
        const optLen = this.replyOptions(host, ip, icmp.length, timeMs);
        const l4 = L4_OFF + optLen;
        const buf = this.tx.buf;
        // Any echo that reassembled is answered in full: a reply above the MTU leaves as fragments.
        frame.copy(buf, l4, icmp.off, icmp.off + icmp.length);
        buf[l4] = IcmpType.ECHO_REPLY;
        buf[l4 + 1] = out.code;
        finishIcmp(buf, l4, icmp.length);
        if (optLen > 0) this.tx.finishIpv4WithOptions(frame, ETH_SRC, host.mac, IpProto.ICMP, host.ip, ip.src, this.options, optLen, icmp.length, out.ttl, out.df, out.ipId, out.tos);
        else this.tx.finishIpv4(frame, ETH_SRC, host.mac, IpProto.ICMP, host.ip, ip.src, icmp.length, out.ttl, out.df, out.ipId, out.tos);
        answer = 'echo-reply';
      }
    } else if (icmp.type === IcmpType.TIMESTAMP && host.template.icmpOpen) {
      // RFC 792 timestamp: originate copied, receive = transmit = ms since midnight UT. The reply is
      // 20 bytes with code 0 whatever the request carried (Linux icmp_timestamp; it needs the originate field).
      if (icmp.dataLength >= 4 && host.personality.behaviour.icmp.timestampReply && this.echoShape(host, ip, 0, timeMs)) {
        const out = this.echoOut;
        const buf = this.tx.buf;
        frame.copy(buf, L4_OFF, icmp.off, icmp.off + ICMP_HEADER_LEN + 4);
        buf[L4_OFF] = IcmpType.TIMESTAMP_REPLY;
        buf[L4_OFF + 1] = 0;
        const now = msSinceMidnightUtc(timeMs);
        buf.writeUInt32BE(now, L4_OFF + 12);
        buf.writeUInt32BE(now, L4_OFF + 16);
        finishIcmp(buf, L4_OFF, TIMESTAMP_LEN);
        this.tx.finishIpv4(frame, ETH_SRC, host.mac, IpProto.ICMP, host.ip, ip.src, TIMESTAMP_LEN, out.ttl, out.df, out.ipId, out.tos);
        answer = 'timestamp-reply';
      }
    }
    // Address mask (17) and information (15) requests, and unknown types: no family answers by default.
    const counts = this.events.packetCounts;
    if (counts !== undefined) counts.icmp(frame, ip.src, host.ip, icmp.type, icmp.code, answer, timeMs);
    if (this.events.wants('icmp')) {
      this.events.emit({
        kind: 'icmp', time: timeMs, srcMac: macToString(frame, ETH_SRC), dstMac: macToString(frame, ETH_DST),
        srcIp: ipToString(ip.src), dstIp: host.ipText, type: icmp.type, code: icmp.code, answer,
      });
    }
  }

  /** The IP shape of an ICMP reply (echo or timestamp) from the IE model, into echoOut; false when the host stays silent. */
  private echoShape(host: DecoyHost, ip: Ipv4View, code: number, timeMs: number): boolean {
    const req = this.echoIn;
    req.code = code;
    req.ipDf = ip.df;
    req.ipTtl = ip.ttl;
    req.ipTos = ip.tos;
    req.timeMs = timeMs;
    return host.personality.respondIcmpEcho(req, this.echoOut);
  }

  /** The reply's reflected IP options (record route, timestamp) into `this.options`; 0 when none or they would not fit one frame. */
  private replyOptions(host: DecoyHost, ip: Ipv4View, l4Length: number, timeMs: number): number {
    const reqOpts = ip.headerLength - IPV4_MIN_HEADER;
    if (reqOpts <= 0) return 0;
    const mode = host.personality.behaviour.icmp.echoOptions;
    if (mode === 'strip') return 0;
    const n = reflectEchoOptions(ip.buf, ip.off + IPV4_MIN_HEADER, reqOpts, host.ip, timeMs, mode === 'record-twice' ? 2 : 1, this.options);
    return IPV4_MIN_HEADER + n + l4Length <= MTU ? n : 0;
  }

  /**
   * Send destination unreachable (`code` 3 = port, 2 = protocol) quoting the offending datagram as
   * the personality says (U1). Returns false when the personality stays silent.
   */
  sendUnreachable(host: DecoyHost, frame: Buffer, ip: Ipv4View, code: number, timeMs: number): boolean {
    return this.sendError(host, frame, ip, IcmpType.DEST_UNREACHABLE, code, -1, timeMs);
  }

  /**
   * Send an ICMP error of `type`/`code` from `host` about the datagram in `frame`, shaped by the
   * host's U1 answer as Honeyd shapes every ICMP error (TTL, DF, IP ID, quote length and quote
   * edits); a personality that sends no U1 reply sends no error at all. `quotedTtl` (0-255)
   * overwrites the quoted TTL: a router quotes the header as it arrived there (TTL 1 for time
   * exceeded); -1 quotes as received.
   */
  sendError(host: DecoyHost, frame: Buffer, ip: Ipv4View, type: number, code: number, quotedTtl: number, timeMs: number): boolean {
    const out = this.unreach;
    const p = host.personality;
    if (!this.limiter.allow(host.ip, ip.src, p.icmpErrorLimit, timeMs)) return false;
    if (!p.respondUdpClosed(ip.totalLength, timeMs, out)) return false;
    const buf = this.tx.buf;
    // Record route / timestamp options of the offending datagram come back in the error's own
    // header, as in echo replies (Linux's icmp_send and BSD's icmp_reflect both echo them).
    const opt = this.replyOptions(host, ip, ICMP_HEADER_LEN + Math.min(ip.totalLength, out.totalLength), timeMs);
    const maxQuote = MAX_FRAME - L4_OFF - opt - ICMP_HEADER_LEN;
    // The error's IP total length (nmap's IPL) fixes how much of the datagram is quoted.
    const quote = Math.max(0, Math.min(out.totalLength - 20 - ICMP_HEADER_LEN, ip.totalLength, maxQuote));
    const l4 = L4_OFF + opt;
    const q = l4 + ICMP_HEADER_LEN;
    buf[l4] = type;
    buf[l4 + 1] = code;
    // U1's UN field is the port unreachable's; other errors keep the unused word zero.
    buf.writeUInt32BE(type === IcmpType.DEST_UNREACHABLE ? out.unused >>> 0 : 0, l4 + 4);
    frame.copy(buf, q, ip.off, ip.off + quote);
    const hl = ip.headerLength;
    if (quote >= hl) {
      if (out.quotedTotalLength >= 0) buf.writeUInt16BE(out.quotedTotalLength & 0xffff, q + 2);
      if (out.quotedIpId >= 0) buf.writeUInt16BE(out.quotedIpId & 0xffff, q + 4);
      if (quotedTtl >= 0) buf[q + 8] = quotedTtl;
      else if (out.quotedTtlDecrement > 0) buf[q + 8] = Math.max(0, buf[q + 8] - out.quotedTtlDecrement);
      // G: the right checksum after the edits above; Z: zero; I: a wrong, non-zero one.
      buf[q + 10] = 0; buf[q + 11] = 0;
      if (out.quotedIpChecksum !== 'Z') {
        const good = internetChecksum(buf, q, q + hl);
        buf.writeUInt16BE(out.quotedIpChecksum === 'G' ? good : (good ^ 0x5a5a) || 1, q + 10);
      }
      if (ip.protocol === IpProto.UDP && quote >= hl + 8) {
        if (out.quotedUdpChecksum >= 0) buf.writeUInt16BE(out.quotedUdpChecksum & 0xffff, q + hl + 6);
        if (out.corruptQuotedPayload && quote > hl + 8) buf[q + hl + 8] ^= 0xff;
      }
    }
    const len = ICMP_HEADER_LEN + quote;
    finishIcmp(buf, l4, len);
    if (opt > 0) this.tx.finishIpv4WithOptions(frame, ETH_SRC, host.mac, IpProto.ICMP, host.ip, ip.src, this.options, opt, len, out.ttl, out.df, out.ipId, out.tos);
    else this.tx.finishIpv4(frame, ETH_SRC, host.mac, IpProto.ICMP, host.ip, ip.src, len, out.ttl, out.df, out.ipId, out.tos);
    return true;
  }
}
