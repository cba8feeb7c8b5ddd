import type { Limits } from '../../config/types';
import type { EventSink } from '../../events/event';
import { TcpFlag, type HostPersonality, type TcpReply, type TcpSegmentIn } from '../../personality/host-personality';
import { ipToString, macToString } from '../../wire/address';
import { copyMac, ETH_DST, ETH_SRC } from '../../wire/ethernet';
import { IpProto, type Ipv4View } from '../../wire/ipv4';
import { emptyOptionSummary, readTcpOptions, TCP_MIN_HEADER, tcpFlagsToString, TcpOpt, tcpOptionSpace, type TcpView, writeTcp } from '../../wire/tcp';
import { type DecoyHost, PortState } from '../decoy-table';
import { type FrameBuilder, L4_OFF, MAX_FRAME } from '../frame-builder';
import { type ConnectionOwner, EMPTY_BUFFER, seqAdd, seqLe, seqLt, TcpConnection, TcpState } from './connection';

const SYNACK_RETRIES = 5;
const MAX_RETRIES = 8;
const TIME_WAIT_MS = 60000;

export interface TcpCounters {
  connectionsOpened: number;
  connectionsEvicted: number;
  /** SYN/ACKs sent without keeping state because a table bound was reached. */
  statelessSynAcks: number;
}

/**
 * TCP for every decoy: stateless answers from the host's personality for segments that belong to
 * no connection, and a small real TCP (handshake, in-order data, retransmission, FIN/RST teardown)
 * for connections to open ports, which carries bytes to the service behind the port.
 */
export class TcpEngine implements ConnectionOwner {
  /** Peer (ip,port) → chain of connections. The key fits in 48 bits, so no strings per packet. */
  private readonly table = new Map<number, TcpConnection>();
  private readonly perSource = new Map<number, number>();
  /** Half-open connections in arrival order (for SYN/ACK retransmission and eviction). */
  private readonly halfOpen = new Set<TcpConnection>();
  /** Connections with data or FIN in flight. */
  private readonly retransmitting = new Set<TcpConnection>();
  private readonly timeWait = new Set<TcpConnection>();
  private count = 0;

  private readonly segIn: TcpSegmentIn = {
    srcPort: 0, dstPort: 0, flags: 0, reserved: 0, seq: 0, ack: 0, window: 0, urgentPointer: 0, payloadLength: 0,
    mss: -1, wscale: -1, sackPermitted: false, hasTimestamp: false, tsVal: 0, tsEcr: 0, ipTtl: 0, ipDf: false, ipId: 0, timeMs: 0,
  };
  private readonly reply: TcpReply = {
    flags: 0, reserved: 0, seq: 0, ack: 0, window: 0, urgentPointer: 0, options: Buffer.alloc(40), optionsLength: 0,
    payload: null, ttl: 64, df: false, ipId: 0,
  };
  private readonly opts = emptyOptionSummary();
  private readonly optBuf = Buffer.alloc(40);
  private readonly header = { srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, reserved: 0, window: 0, urgentPointer: 0 };
  readonly counters: TcpCounters = { connectionsOpened: 0, connectionsEvicted: 0, statelessSynAcks: 0 };

  constructor(
    private readonly tx: FrameBuilder,
    private readonly events: EventSink,
    private readonly limits: Limits,
    private readonly now: () => number,
  ) {}

  get connectionCount(): number { return this.count; }

  /** A validated TCP segment (checksum included) for `host` arrived in `frame`. */
  handle(host: DecoyHost, frame: Buffer, ip: Ipv4View, tcp: TcpView, timeMs: number): void {
    const key = ip.src * 65536 + tcp.srcPort;
    let conn = this.table.get(key) ?? null;
    while (conn !== null && (conn.host !== host || conn.localPort !== tcp.dstPort)) conn = conn.next;
    if (conn !== null) {
      this.onSegment(conn, frame, ip, tcp, timeMs);
      return;
    }

    const flags = tcp.flags;
    const portState = host.template.tcp[tcp.dstPort];
    if (portState === PortState.BLOCK || (flags & TcpFlag.RST) !== 0) {
      // Filtered ports are silent; nobody answers an RST.
      this.logPacket(host, frame, ip, tcp, portState === PortState.BLOCK ? 'block' : portState === PortState.OPEN ? 'open' : 'closed', 'none', timeMs);
      return;
    }
    this.fillSegment(ip, tcp, timeMs);
    const open = portState === PortState.OPEN;
    const p = host.personality;
    const r = this.reply;
    if (!p.respondTcp(this.segIn, open ? 'open' : 'closed', r)) {
      this.logPacket(host, frame, ip, tcp, open ? 'open' : 'closed', 'none', timeMs);
      return;
    }
    const isSynAck = (r.flags & (TcpFlag.SYN | TcpFlag.ACK | TcpFlag.RST)) === (TcpFlag.SYN | TcpFlag.ACK);
    if (open && isSynAck && (flags & TcpFlag.SYN) !== 0) {
      // Past a table bound the SYN/ACK still goes out, statelessly, as a stack under SYN-cookie
      // pressure answers: scans keep seeing open ports while memory stays bounded.
      if (this.admit(ip.src, timeMs)) this.createHalfOpen(host, frame, ip, tcp, key, r, timeMs);
    }
    this.sendReply(host, frame, ip.src, tcp.srcPort, tcp.dstPort, r);
    this.logPacket(host, frame, ip, tcp, open ? 'open' : 'closed', describeReply(r.flags), timeMs);
  }

  /** Timers: SYN/ACK and data retransmission, TIME_WAIT expiry, idle connections. */
  tick(now: number): void {
    for (const conn of this.halfOpen) {
      if (conn.rtoAt > now) continue;
      if (conn.retries >= SYNACK_RETRIES) { this.destroy(conn, 'handshake-timeout'); continue; }
      conn.retries++;
      conn.rtoMs *= 2;
      conn.rtoAt = now + conn.rtoMs;
      this.sendSynAck(conn);
    }
    for (const conn of this.retransmitting) {
      if (conn.rtoAt === 0 || conn.rtoAt > now) continue;
      if (conn.retries >= MAX_RETRIES) { this.abort(conn, 'retransmission-timeout'); continue; }
      conn.retries++;
      conn.rtoMs = Math.min(conn.rtoMs * 2, 60000);
      conn.sndNxt = conn.sndUna; // go back N
      if (conn.finSent && conn.unacked.length === 0) conn.finSent = false;
      conn.rtoAt = now + conn.rtoMs;
      this.flush(conn);
    }
    for (const conn of this.timeWait) {
      if (now - conn.lastActivity < TIME_WAIT_MS) break;
      this.destroy(conn, 'closed');
    }
  }

  /** Drop connections idle longer than the configured limit (checked every few seconds). */
  expireIdle(now: number): void {
    const idleMs = this.limits.connectionIdleSeconds * 1000;
    for (const head of this.table.values()) {
      for (let c: TcpConnection | null = head; c !== null; c = c.next) {
        if (c.state !== TcpState.TIME_WAIT && now - c.lastActivity > idleMs) {
          if (c.open) c.end();
          else this.abort(c, 'idle');
        }
      }
    }
  }

  /** Reset every connection (shutdown), telling services. */
  closeAll(): void {
    for (const head of [...this.table.values()]) {
      for (let c: TcpConnection | null = head; c !== null; c = c.next) this.abort(c, 'shutdown');
    }
  }

  // ---- ConnectionOwner ----

  flush(conn: TcpConnection): void {
    if (conn.state === TcpState.CLOSED || conn.state === TcpState.SYN_RECEIVED) return;
    const mss = Math.min(conn.peerMss, conn.shape.mss);
    const inFlightLimit = seqAdd(conn.sndUna, Math.max(conn.sndWnd, 1));
    let sent = false;
    for (;;) {
      const offset = (conn.sndNxt - conn.sndUna) >>> 0;
      const remaining = conn.unacked.length - offset;
      if (remaining <= 0) break;
      const room = (inFlightLimit - conn.sndNxt) | 0;
      if (room <= 0) break;
      const n = Math.min(remaining, mss, room);
      this.sendSegment(conn, TcpFlag.ACK | TcpFlag.PSH, conn.unacked, offset, n);
      conn.sndNxt = seqAdd(conn.sndNxt, n);
      conn.bytesOut += n;
      sent = true;
    }
    const allSent = ((conn.sndNxt - conn.sndUna) >>> 0) >= conn.unacked.length;
    if (conn.finQueued && !conn.finSent && allSent) {
      this.sendSegment(conn, TcpFlag.ACK | TcpFlag.FIN, null, 0, 0);
      conn.sndNxt = seqAdd(conn.sndNxt, 1);
      conn.finSent = true;
      sent = true;
      if (conn.state === TcpState.ESTABLISHED) conn.state = TcpState.FIN_WAIT_1;
      else if (conn.state === TcpState.CLOSE_WAIT) conn.state = TcpState.LAST_ACK;
    }
    if (sent && conn.rtoAt === 0) {
      conn.rtoAt = this.now() + conn.rtoMs;
      this.retransmitting.add(conn);
    }
  }

  abort(conn: TcpConnection, reason: string): void {
    if (conn.state === TcpState.CLOSED) return;
    if (conn.state !== TcpState.TIME_WAIT && conn.state !== TcpState.SYN_RECEIVED) {
      this.sendSegment(conn, TcpFlag.RST | TcpFlag.ACK, null, 0, 0);
    }
    this.destroy(conn, reason);
  }

  // ---- internals ----

  private fillSegment(ip: Ipv4View, tcp: TcpView, timeMs: number): void {
    const s = this.segIn;
    readTcpOptions(tcp, this.opts);
    s.srcPort = tcp.srcPort;
    s.dstPort = tcp.dstPort;
    s.flags = tcp.flags;
    s.reserved = tcp.reserved;
    s.seq = tcp.seq;
    s.ack = tcp.ack;
    s.window = tcp.window;
    s.urgentPointer = tcp.urgentPointer;
    s.payloadLength = tcp.payloadLength;
    s.mss = this.opts.mss;
    s.wscale = this.opts.wscale;
    s.sackPermitted = this.opts.sackPermitted;
    s.hasTimestamp = this.opts.hasTimestamp;
    s.tsVal = this.opts.tsVal;
    s.tsEcr = this.opts.tsEcr;
    s.ipTtl = ip.ttl;
    s.ipDf = ip.df;
    s.ipId = ip.id;
    s.timeMs = timeMs;
  }

  private admit(src: number, timeMs: number): boolean {
    if ((this.perSource.get(src) ?? 0) >= this.limits.maxConnectionsPerSource) {
      this.counters.statelessSynAcks++;
      if (this.events.wants('drop')) this.events.emit({ kind: 'drop', time: timeMs, reason: 'per-source-limit', srcIp: ipToString(src) });
      return false;
    }
    if (this.count >= this.limits.maxConnections) {
      // Make room as a full SYN queue would: the oldest TIME_WAIT, else the oldest half-open connection.
      const victim = firstOf(this.timeWait) ?? firstOf(this.halfOpen);
      if (victim === undefined) {
        this.counters.statelessSynAcks++;
        if (this.events.wants('drop')) this.events.emit({ kind: 'drop', time: timeMs, reason: 'connection-table-full', srcIp: ipToString(src) });
        return false;
      }
      this.counters.connectionsEvicted++;
      this.destroy(victim, 'evicted');
    }
    return true;
  }

  private createHalfOpen(host: DecoyHost, frame: Buffer, ip: Ipv4View, tcp: TcpView, key: number, r: TcpReply, timeMs: number): void {
    // One pooled 6-byte Buffer (allocUnsafe draws from Node's slab), filled at once.
    const peerMac = Buffer.allocUnsafe(6);
    copyMac(frame, ETH_SRC, peerMac, 0);
    const conn = new TcpConnection(key, host, ip.src, tcp.srcPort, tcp.dstPort, peerMac, this);
    const s = this.segIn;
    conn.iss = r.seq >>> 0;
    conn.sndUna = conn.iss;
    conn.sndNxt = seqAdd(conn.iss, 1);
    conn.rcvNxt = seqAdd(s.seq, 1);
    conn.synSeq = s.seq;
    conn.peerMss = s.mss > 0 ? s.mss : 536;
    host.personality.connectionShape(s, conn.shape);
    conn.peerWscale = s.wscale >= 0 && conn.shape.wscale >= 0 ? Math.min(s.wscale, 14) : -1;
    if (conn.peerWscale < 0) conn.shape.wscale = -1;
    conn.tsRecent = s.hasTimestamp && conn.shape.timestamps ? s.tsVal : -1;
    conn.sndWnd = s.window; // the SYN's window is never scaled
    conn.lastActivity = timeMs;
    conn.rtoAt = timeMs + conn.rtoMs;
    conn.next = this.table.get(key) ?? null;
    this.table.set(key, conn);
    this.perSource.set(ip.src, (this.perSource.get(ip.src) ?? 0) + 1);
    this.halfOpen.add(conn);
    this.count++;
  }

  /** Rebuild the SYN/ACK for a retransmitted SYN or timer, from the same model. */
  private sendSynAck(conn: TcpConnection): void {
    const s = this.segIn;
    s.srcPort = conn.peerPort; s.dstPort = conn.localPort; s.flags = TcpFlag.SYN; s.reserved = 0;
    s.seq = conn.synSeq; s.ack = 0; s.window = conn.sndWnd; s.urgentPointer = 0; s.payloadLength = 0;
    s.mss = conn.peerMss; s.wscale = conn.peerWscale; s.sackPermitted = false;
    s.hasTimestamp = conn.tsRecent >= 0; s.tsVal = conn.tsRecent >= 0 ? conn.tsRecent : 0; s.tsEcr = 0;
    s.ipTtl = 64; s.ipDf = true; s.ipId = 0; s.timeMs = this.now();
    const r = this.reply;
    if (!conn.host.personality.respondTcp(s, 'open', r)) return;
    r.seq = conn.iss; // the ISN is fixed once chosen
    r.ack = conn.rcvNxt;
    // So is the connection's TS sequence: a per-connection host would otherwise draw a new random
    // TSval, and a peer that kept this one would then PAWS-drop our data.
    const hostTs = conn.host.personality.tsVal(s.timeMs);
    if (hostTs >= 0) rewriteTsVal(r.options, r.optionsLength, (hostTs + conn.shape.tsOffset) >>> 0);
    this.sendReply(conn.host, conn.peerMac, conn.peerIp, conn.peerPort, conn.localPort, r, 0);
  }

  private onSegment(conn: TcpConnection, frame: Buffer, ip: Ipv4View, tcp: TcpView, timeMs: number): void {
    const flags = tcp.flags;
    const seq = tcp.seq;
    conn.lastActivity = timeMs;
    this.logPacket(conn.host, frame, ip, tcp, 'connection', 'connection', timeMs);

    if (flags & TcpFlag.RST) {
      // RFC 5961: only an RST exactly at rcvNxt resets; one elsewhere in the window earns a challenge ACK.
      if (seq === conn.rcvNxt || conn.state === TcpState.SYN_RECEIVED) this.destroy(conn, 'reset-by-peer');
      else if (this.inWindow(conn, seq)) this.sendAck(conn);
      return;
    }
    if (flags & TcpFlag.SYN) {
      if (conn.state === TcpState.SYN_RECEIVED && seq === conn.synSeq) {
        this.sendSynAck(conn); // retransmitted SYN
      } else if (conn.state === TcpState.TIME_WAIT && seqLt(conn.rcvNxt, seq)) {
        // A new incarnation reusing the port pair: forget TIME_WAIT and treat it as a fresh SYN.
        this.destroy(conn, 'closed');
        this.handle(conn.host, frame, ip, tcp, timeMs);
      } else {
        this.sendAck(conn); // challenge ACK (RFC 5961)
      }
      return;
    }
    if ((flags & TcpFlag.ACK) === 0) return; // no ACK, no RST, no SYN: drop

    if (conn.state === TcpState.SYN_RECEIVED) {
      if (tcp.ack !== conn.sndNxt) {
        this.sendRstForAck(conn, tcp.ack);
        return;
      }
      this.establish(conn, timeMs);
    }

    this.updateTimestamp(conn, tcp);
    if (!this.processAck(conn, tcp)) return;
    if (conn.state === TcpState.CLOSED) return;

    const len = tcp.payloadLength;
    const fin = (flags & TcpFlag.FIN) !== 0;
    if (len > 0 || fin) {
      if (seq !== conn.rcvNxt || conn.state >= TcpState.CLOSE_WAIT && conn.state !== TcpState.FIN_WAIT_1 && conn.state !== TcpState.FIN_WAIT_2) {
        // Out of order, a retransmission, or data after the peer's FIN: acknowledge what we have.
        this.sendAck(conn);
        return;
      }
      // Take what fits the receive buffer; the rest is left for the peer to retransmit.
      const take = Math.min(len, this.limits.maxReceiveBuffer);
      const finAccepted = fin && take === len;
      conn.rcvNxt = seqAdd(conn.rcvNxt, take + (finAccepted ? 1 : 0));
      conn.bytesIn += take;
      const data = take > 0 ? Buffer.from(frame.subarray(tcp.payloadOffset, tcp.payloadOffset + take)) : null;
      const stateBefore = conn.state;
      if (finAccepted) {
        if (stateBefore === TcpState.ESTABLISHED) conn.state = TcpState.CLOSE_WAIT;
        else if (stateBefore === TcpState.FIN_WAIT_1) conn.state = TcpState.CLOSING;
      }
      this.sendAck(conn);
      if (data !== null && conn.session !== null) conn.session.onData(data);
      if (finAccepted) {
        if (stateBefore === TcpState.FIN_WAIT_2) this.enterTimeWait(conn);
        else if (stateBefore === TcpState.ESTABLISHED && conn.session !== null) conn.session.onEnd();
      }
    }
  }

  private establish(conn: TcpConnection, timeMs: number): void {
    this.halfOpen.delete(conn);
    conn.state = TcpState.ESTABLISHED;
    conn.wasEstablished = true;
    conn.rtoAt = 0;
    conn.retries = 0;
    conn.rtoMs = 1000;
    conn.sndUna = conn.sndNxt;
    this.counters.connectionsOpened++;
    const service = conn.host.template.tcpServices.get(conn.localPort) ?? null;
    conn.service = service;
    if (this.events.wants('tcp.open')) this.events.emit({ kind: 'tcp.open', time: timeMs, srcIp: conn.peerIpText, srcPort: conn.peerPort, dstIp: conn.host.ipText, dstPort: conn.localPort, service: service?.name });
    if (service !== null) conn.session = service.open(conn);
  }

  /**
   * The ACK field of a segment on a synchronized connection. Returns false when the segment must
   * go no further: RFC 9293 §3.10.7.4 answers an ACK of data never sent with an ACK and drops the
   * segment, so neither its payload nor its FIN is taken.
   */
  private processAck(conn: TcpConnection, tcp: TcpView): boolean {
    const ack = tcp.ack;
    if (seqLt(conn.sndNxt, ack)) {
      this.sendAck(conn);
      return false;
    }
    const scale = conn.peerWscale >= 0 ? conn.peerWscale : 0;
    conn.sndWnd = tcp.window * 2 ** scale;
    if (seqLt(conn.sndUna, ack)) {
      let acked = (ack - conn.sndUna) >>> 0;
      const dataAcked = Math.min(acked, conn.unacked.length);
      conn.unacked = dataAcked === conn.unacked.length ? EMPTY_BUFFER : conn.unacked.subarray(dataAcked);
      acked -= dataAcked;
      conn.sndUna = ack;
      conn.retries = 0;
      conn.rtoMs = 1000;
      const finAcked = conn.finSent && ack === conn.sndNxt && acked > 0;
      if (conn.sndUna === conn.sndNxt) {
        conn.rtoAt = 0;
        this.retransmitting.delete(conn);
      } else {
        conn.rtoAt = this.now() + conn.rtoMs;
      }
      if (finAcked) {
        if (conn.state === TcpState.FIN_WAIT_1) conn.state = TcpState.FIN_WAIT_2;
        else if (conn.state === TcpState.CLOSING) this.enterTimeWait(conn);
        else if (conn.state === TcpState.LAST_ACK) { this.destroy(conn, 'closed'); return true; }
      }
    }
    this.flush(conn);
    return true;
  }

  private updateTimestamp(conn: TcpConnection, tcp: TcpView): void {
    if (conn.tsRecent < 0) return;
    readTcpOptions(tcp, this.opts);
    if (this.opts.hasTimestamp && seqLe(tcp.seq, conn.rcvNxt)) conn.tsRecent = this.opts.tsVal;
  }

  private inWindow(conn: TcpConnection, seq: number): boolean {
    return seqLe(conn.rcvNxt, seq) && seqLt(seq, seqAdd(conn.rcvNxt, conn.shape.window));
  }

  private enterTimeWait(conn: TcpConnection): void {
    conn.state = TcpState.TIME_WAIT;
    this.retransmitting.delete(conn);
    this.finishSession(conn, 'closed');
    this.timeWait.add(conn);
  }

  /** Tell the service and log the close, once, for connections that were established. */
  private finishSession(conn: TcpConnection, reason: string): void {
    if (!conn.wasEstablished || conn.closeLogged) return;
    conn.closeLogged = true;
    const session = conn.session;
    conn.session = null;
    if (session !== null) session.onClose();
    if (this.events.wants('tcp.close')) this.events.emit({ kind: 'tcp.close', time: this.now(), srcIp: conn.peerIpText, srcPort: conn.peerPort, dstIp: conn.host.ipText, dstPort: conn.localPort, service: conn.service?.name, bytesIn: conn.bytesIn, bytesOut: conn.bytesOut, reason });
  }

  private destroy(conn: TcpConnection, reason: string): void {
    if (conn.state === TcpState.CLOSED) return;
    this.finishSession(conn, reason);
    conn.state = TcpState.CLOSED;
    this.halfOpen.delete(conn);
    this.retransmitting.delete(conn);
    this.timeWait.delete(conn);
    let head = this.table.get(conn.key) ?? null;
    if (head === conn) {
      if (conn.next === null) this.table.delete(conn.key);
      else this.table.set(conn.key, conn.next);
    } else {
      while (head !== null && head.next !== conn) head = head.next;
      if (head !== null) head.next = conn.next;
    }
    const n = (this.perSource.get(conn.peerIp) ?? 1) - 1;
    if (n <= 0) this.perSource.delete(conn.peerIp);
    else this.perSource.set(conn.peerIp, n);
    this.count--;
  }

  private sendAck(conn: TcpConnection): void {
    this.sendSegment(conn, TcpFlag.ACK, null, 0, 0);
  }

  private sendRstForAck(conn: TcpConnection, ack: number): void {
    const r = this.reply;
    const p = conn.host.personality;
    r.flags = TcpFlag.RST; r.reserved = 0; r.seq = ack; r.ack = 0; r.window = 0; r.urgentPointer = 0;
    r.optionsLength = 0; r.payload = null; r.ttl = conn.shape.ttl; r.df = conn.shape.df;
    r.ipId = p.nextIpId('tcp-open', this.now());
    this.sendReply(conn.host, conn.peerMac, conn.peerIp, conn.peerPort, conn.localPort, r, 0);
  }

  /** A segment on an established connection, shaped by the personality. */
  private sendSegment(conn: TcpConnection, flags: number, data: Buffer | null, dataOff: number, dataLen: number): void {
    const p = conn.host.personality;
    const now = this.now();
    let optLen = 0;
    const hostTs = conn.tsRecent >= 0 ? p.tsVal(now) : -1;
    if (hostTs >= 0) {
      // The connection's own TS sequence: the host clock moved by the offset its SYN/ACK fixed.
      const tsVal = (hostTs + conn.shape.tsOffset) >>> 0;
      const o = this.optBuf;
      o[0] = TcpOpt.NOP; o[1] = TcpOpt.NOP; o[2] = TcpOpt.TIMESTAMP; o[3] = 10;
      o.writeUInt32BE(tsVal, 4);
      o.writeUInt32BE(conn.tsRecent >>> 0, 8);
      optLen = 12;
    }
    const buf = this.tx.buf;
    const maxData = MAX_FRAME - L4_OFF - TCP_MIN_HEADER - optLen;
    const n = Math.min(dataLen, maxData);
    if (data !== null && n > 0) data.copy(buf, L4_OFF + TCP_MIN_HEADER + optLen, dataOff, dataOff + n);
    const h = this.header;
    h.srcPort = conn.localPort;
    h.dstPort = conn.peerPort;
    h.seq = conn.sndNxt;
    h.ack = (flags & TcpFlag.ACK) !== 0 ? conn.rcvNxt : 0;
    h.flags = flags;
    h.reserved = 0;
    const scale = conn.shape.wscale >= 0 ? conn.shape.wscale : 0;
    h.window = Math.min(0xffff, Math.floor(conn.shape.window / 2 ** scale));
    h.urgentPointer = 0;
    const segLen = writeTcp(buf, L4_OFF, h, this.optBuf, optLen, n, conn.host.ip, conn.peerIp);
    this.tx.finishIpv4(conn.peerMac, 0, conn.host.mac, IpProto.TCP, conn.host.ip, conn.peerIp, segLen,
      conn.shape.ttl, conn.shape.df, p.nextIpId('tcp-open', now), 0);
  }

  /** Send the personality's reply (`this.reply` or equal) to the segment's sender. */
  private sendReply(host: DecoyHost, macSrc: Buffer, peerIp: number, peerPort: number, localPort: number, r: TcpReply, macOff = ETH_SRC): void {
    const buf = this.tx.buf;
    let payloadLen = 0;
    if (r.payload !== null && r.payload.length > 0) {
      const optionSpace = tcpOptionSpace(r.optionsLength);
      payloadLen = Math.min(r.payload.length, MAX_FRAME - L4_OFF - TCP_MIN_HEADER - optionSpace);
      r.payload.copy(buf, L4_OFF + TCP_MIN_HEADER + optionSpace, 0, payloadLen);
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
    const segLen = writeTcp(buf, L4_OFF, h, r.options, r.optionsLength, payloadLen, host.ip, peerIp);
    this.tx.finishIpv4(macSrc, macOff, host.mac, IpProto.TCP, host.ip, peerIp, segLen, r.ttl, r.df, r.ipId, 0);
  }

  private logPacket(host: DecoyHost, frame: Buffer, ip: Ipv4View, tcp: TcpView, state: 'open' | 'closed' | 'block' | 'connection', answer: string, timeMs: number): void {
    if (!this.events.wants('tcp.packet')) return;
    this.events.emit({
      kind: 'tcp.packet', time: timeMs,
      srcMac: macToString(frame, ETH_SRC), dstMac: macToString(frame, ETH_DST),
      srcIp: ipToString(ip.src), dstIp: host.ipText, srcPort: tcp.srcPort, dstPort: tcp.dstPort,
      flags: tcpFlagsToString(tcp.flags), state, answer,
    });
  }
}

function describeReply(flags: number): string {
  if ((flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK)) return 'syn-ack';
  if (flags & TcpFlag.RST) return flags & TcpFlag.ACK ? 'rst-ack' : 'rst';
  return tcpFlagsToString(flags).toLowerCase();
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
    const len = i + 1 < length ? options[i + 1] : 0;
    if (len < 2 || i + len > length) return;
    if (kind === TcpOpt.TIMESTAMP && len === 10) {
      if (options.readUInt32BE(i + 2) !== 0) options.writeUInt32BE(tsVal === 0 ? 1 : tsVal, i + 2);
      return;
    }
    i += len;
  }
}

function firstOf<T>(set: Set<T>): T | undefined {
  const it = set.values().next();
  return it.done ? undefined : it.value;
}
