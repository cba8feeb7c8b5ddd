import type { Limits } from '../../config/types';
import type { EventSink } from '../../events/event';
import { TcpFlag, type TcpReply, type TcpSegmentIn } from '../../personality/host-personality';
import { ipToString, macToString } from '../../wire/address';
import { copyMac, ETH_DST, ETH_SRC } from '../../wire/ethernet';
import { IPV4_MIN_HEADER, type Ipv4View } from '../../wire/ipv4';
import { MAX_IP_OPTIONS, reflectEchoOptions } from '../ip-options';
import { emptyOptionSummary, readTcpOptions, tcpFlagsToString, type TcpView } from '../../wire/tcp';
import { type DecoyHost, FinScan, PortState, tcpPortState, tcpServiceOf } from '../decoy-table';
import type { FrameBuilder } from '../frame-builder';
import { BufferBudget } from './byte-queue';
import { TcpEgress } from './egress';
import { emptySegment, seqAdd, segmentFromView } from './segment';
import { type SocketBounds, type SocketOwner, TcpSocket, TcpState, type TcpStateCode } from './socket';
import { LINUX_TCP_TIMING, type TcpTimingProfile } from './timing';

export interface TcpCounters {
  connectionsOpened: number;
  connectionsEvicted: number;
  /** SYN/ACKs sent without keeping state because a table bound was reached. */
  statelessSynAcks: number;
  /** Service callbacks that threw (each reset its connection). */
  serviceErrors: number;
  /** Connections forgotten because their address was given up to a real host. */
  connectionsReleased: number;
}

/**
 * TCP for every decoy. Segments that belong to no connection get stateless answers from the
 * host's personality (closed ports, T2-T7, SYN/ACKs, past-bound SYN/ACKs); SYN/ACKs for open
 * ports create a socket (socket.ts), the per-connection state machine that carries a byte stream
 * to the service. This layer owns the demultiplexing table and its bounds, the timers, the
 * buffer budget, the events, and the egress stage every outgoing frame leaves through.
 */
export class TcpEngine implements SocketOwner {
  readonly egress: TcpEgress;
  readonly budget: BufferBudget;
  readonly counters: TcpCounters = { connectionsOpened: 0, connectionsEvicted: 0, statelessSynAcks: 0, serviceErrors: 0, connectionsReleased: 0 };

  /** Peer (ip,port) → chain of sockets. The key fits in 48 bits, so no strings per packet. */
  private readonly table = new Map<number, TcpSocket>();
  private readonly perSource = new Map<number, number>();
  /** Half-open sockets in arrival order (SYN/ACK retransmission and eviction). */
  private readonly halfOpen = new Set<TcpSocket>();
  /** Synchronized sockets with a retransmission, persist or delayed-ACK timer armed. */
  private readonly timed = new Set<TcpSocket>();
  /** TIME_WAIT sockets, one set per TIME_WAIT length so that each set stays in deadline order. */
  private readonly timeWait = new Map<number, Set<TcpSocket>>();
  private timeWaitCount = 0;
  private count = 0;
  private readonly bounds: SocketBounds;
  /** Set by `reincarnate` while a segment is being processed. */
  private reborn: TcpSocket | null = null;

  private readonly segIn: TcpSegmentIn = {
    srcPort: 0, dstPort: 0, flags: 0, reserved: 0, seq: 0, ack: 0, window: 0, urgentPointer: 0, payloadLength: 0,
    mss: -1, wscale: -1, sackPermitted: false, hasTimestamp: false, tsVal: 0, tsEcr: 0, ipTtl: 0, ipDf: false, ipId: 0, timeMs: 0,
  };
  private readonly seg = emptySegment();
  private readonly reply: TcpReply = {
    flags: 0, reserved: 0, seq: 0, ack: 0, window: 0, urgentPointer: 0, options: Buffer.alloc(40), optionsLength: 0,
    payload: null, ttl: 64, df: false, ipId: 0,
  };
  private readonly opts = emptyOptionSummary();
  private readonly ipOptions = Buffer.alloc(MAX_IP_OPTIONS);

  constructor(
    tx: FrameBuilder,
    private readonly events: EventSink,
    private readonly limits: Limits,
    now: () => number,
  ) {
    this.egress = new TcpEgress(tx, now);
    this.budget = new BufferBudget(limits.maxTcpBufferBytes);
    this.bounds = { sendBuffer: limits.maxSendBuffer, receiveBuffer: limits.maxReceiveBuffer, outOfOrderSegments: limits.maxOutOfOrderSegments };
  }

  get connectionCount(): number { return this.count; }
  get halfOpenCount(): number { return this.halfOpen.size; }
  get timeWaitSockets(): number { return this.timeWaitCount; }

  /** The socket for a peer and local port, if any (tests and diagnostics). */
  find(host: DecoyHost, peerIp: number, peerPort: number, localPort: number): TcpSocket | null {
    let s = this.table.get(peerIp * 65536 + peerPort) ?? null;
    while (s !== null && (s.host !== host || s.localPort !== localPort)) s = s.next;
    return s;
  }

  /**
   * The host of the connection (peer, local address and port), in any state up to TIME_WAIT;
   * null when there is none. Dynamic templates keep a connection on the host it started with.
   */
  hostOfFlow(peerIp: number, peerPort: number, localIp: number, localPort: number): DecoyHost | null {
    let s = this.table.get(peerIp * 65536 + peerPort) ?? null;
    while (s !== null && (s.host.ip !== localIp || s.localPort !== localPort)) s = s.next;
    return s === null ? null : s.host;
  }

  /** A validated TCP segment (checksum included) for `host` arrived in `frame`. */
  handle(host: DecoyHost, frame: Buffer, ip: Ipv4View, tcp: TcpView, timeMs: number): void {
    const key = ip.src * 65536 + tcp.srcPort;
    let sock = this.table.get(key) ?? null;
    while (sock !== null && (sock.host !== host || sock.localPort !== tcp.dstPort)) sock = sock.next;
    if (sock !== null && sock.refusesData(tcp.seq, tcp.payloadLength, tcp.flags)) {
      // Data after the service closed. 'rst-ack': an active reset from the connection's own
      // sequence space. 'rst-seq-ack' (Linux, BSD): the socket is done and the segment is answered
      // as one no socket takes (tcp_v4_send_reset / tcp_dropwithreset), below.
      if (host.personality.behaviour.tcp.dataAfterClose === 'rst-ack') {
        this.logPacket(host, frame, ip, tcp, 'connection', 'rst-ack', timeMs);
        sock.abort('data-after-close');
        return;
      }
      sock.drop('data-after-close');
      sock = null;
    }
    if (sock !== null) {
      this.logPacket(host, frame, ip, tcp, 'connection', 'connection', timeMs);
      const wantOptions = sock.tsRecent >= 0 && (tcp.flags & TcpFlag.RST) === 0;
      sock.process(segmentFromView(tcp, frame, this.opts, wantOptions, timeMs, this.seg), timeMs);
      if (this.reborn === sock) {
        // A new incarnation reusing the port pair: forget TIME_WAIT and take the SYN afresh.
        this.reborn = null;
        sock.drop('closed');
        this.handle(host, frame, ip, tcp, timeMs);
      }
      return;
    }

    const flags = tcp.flags;
    const portState = tcpPortState(host, tcp.dstPort);
    if (portState === PortState.BLOCK || (flags & TcpFlag.RST) !== 0) {
      // Filtered ports are silent; nobody answers an RST.
      this.logPacket(host, frame, ip, tcp, portState === PortState.BLOCK ? 'block' : portState === PortState.OPEN ? 'open' : 'closed', 'none', timeMs);
      return;
    }
    this.fillSegment(ip, tcp, timeMs);
    let open = portState === PortState.OPEN;
    // Honeyd `annotate … [no] finscan`: a FIN probe to a listening port is dropped, or answered as a closed port would.
    const finScan = host.template.finScan;
    if (open && finScan !== FinScan.MODEL && (flags & (TcpFlag.FIN | TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.FIN) {
      if (finScan === FinScan.DROP) {
        this.logPacket(host, frame, ip, tcp, 'open', 'none', timeMs);
        return;
      }
      open = false;
    }
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
    const ipOpt = this.replyIpOptions(host, ip, timeMs);
    this.egress.sendReply(host, frame, ip.src, tcp.srcPort, tcp.dstPort, r, ETH_SRC, ipOpt > 0 ? this.ipOptions : null, ipOpt);
    this.logPacket(host, frame, ip, tcp, open ? 'open' : 'closed', describeReply(r.flags), timeMs);
  }

  /**
   * IP options for a stateless reply, into `ipOptions`: Linux (echo mode 'record-twice') reflects a
   * segment's record route and timestamp options in its RST or SYN/ACK (ip_send_unicast_reply,
   * tcp_v4_save_options) as in echo replies; the BSDs' tcp_respond sends none. Connection segments
   * after the SYN/ACK carry none (Linux would keep them: a known difference). 0 when none.
   */
  private replyIpOptions(host: DecoyHost, ip: Ipv4View, timeMs: number): number {
    const reqOpts = ip.headerLength - IPV4_MIN_HEADER;
    if (reqOpts <= 0 || host.personality.behaviour.icmp.echoOptions !== 'record-twice') return 0;
    return reflectEchoOptions(ip.buf, ip.off + IPV4_MIN_HEADER, reqOpts, host.ip, timeMs, 2, this.ipOptions);
  }

  /** Timers: SYN/ACK and data retransmission, zero-window probes, delayed ACKs, TIME_WAIT expiry. */
  tick(now: number): void {
    for (const s of this.halfOpen) if (s.rtxAt !== 0 && s.rtxAt <= now) s.tick(now);
    for (const s of this.timed) {
      if ((s.rtxAt !== 0 && s.rtxAt <= now) || (s.ackAt !== 0 && s.ackAt <= now)) s.tick(now);
      if (!s.timerArmed || s.state === TcpState.CLOSED || s.state === TcpState.TIME_WAIT) this.timed.delete(s);
    }
    for (const set of this.timeWait.values()) {
      // Each set is in deadline order: a refreshed entry moves to its end.
      for (const s of set) {
        if (s.timeWaitUntil > now) break;
        s.drop('closed');
      }
    }
  }

  /** Drop connections idle longer than the configured limit (checked every few seconds). */
  expireIdle(now: number): void {
    const idleMs = this.limits.connectionIdleSeconds * 1000;
    for (const head of [...this.table.values()]) {
      for (let s: TcpSocket | null = head; s !== null; s = s.next) {
        if (s.state !== TcpState.TIME_WAIT && now - s.lastActivity > idleMs) {
          if (s.open) s.end();
          else s.abort('idle');
        }
      }
    }
  }

  /** Reset every connection (shutdown), telling services. */
  closeAll(): void {
    for (const s of this.allSockets()) s.abort('shutdown');
  }

  /**
   * The host's address was given up (a real owner appeared): forget its connections without a
   * frame more, so that nothing leaves from an address that another machine now owns.
   */
  releaseHost(host: DecoyHost): void {
    for (const s of this.allSockets()) {
      // By address: a dynamic template's rule hosts share it.
      if (s.host.ip !== host.ip) continue;
      this.counters.connectionsReleased++;
      s.drop('address-released');
    }
  }

  // ---- SocketOwner ----

  stateChanged(sock: TcpSocket, from: TcpStateCode, to: TcpStateCode, reason: string): void {
    if (from === TcpState.SYN_RECEIVED) this.halfOpen.delete(sock);
    if (to === TcpState.ESTABLISHED && from === TcpState.SYN_RECEIVED) {
      this.counters.connectionsOpened++;
      const service = tcpServiceOf(sock.host, sock.localPort) ?? null;
      if (this.events.wants('tcp.open')) this.events.emit({ kind: 'tcp.open', time: this.egress.now(), srcIp: sock.peerIpText, srcPort: sock.peerPort, dstIp: sock.host.ipText, dstPort: sock.localPort, service: service?.name });
      sock.openService(service);
      return;
    }
    if (to === TcpState.TIME_WAIT) {
      const set = this.timeWaitSet(sock.timing.timeWaitMs);
      if (from === TcpState.TIME_WAIT) set.delete(sock); // refreshed: to the end, in deadline order
      else {
        this.timed.delete(sock);
        this.timeWaitCount++;
        this.finishSession(sock, reason);
      }
      set.add(sock);
      return;
    }
    if (to === TcpState.CLOSED) this.remove(sock, from, reason);
  }

  armed(sock: TcpSocket): void {
    if (sock.state !== TcpState.SYN_RECEIVED) this.timed.add(sock);
  }

  serviceFailed(sock: TcpSocket, callback: string, err: unknown): void {
    this.counters.serviceErrors++;
    const what = err instanceof Error ? err.message : String(err);
    this.events.emit({
      kind: 'daemon.error', time: this.egress.now(), address: sock.host.ipText,
      message: `service ${sock.service?.name ?? '?'} on ${sock.host.ipText}:${sock.localPort} threw in ${callback} (peer ${sock.peerIpText}:${sock.peerPort}): ${what}; connection reset`,
    });
  }

  reincarnate(sock: TcpSocket): void {
    this.reborn = sock;
  }

  // ---- internals ----

  private *allSockets(): Generator<TcpSocket> {
    const list: TcpSocket[] = [];
    for (const head of this.table.values()) for (let s: TcpSocket | null = head; s !== null; s = s.next) list.push(s);
    yield* list;
  }

  private timeWaitSet(ms: number): Set<TcpSocket> {
    let set = this.timeWait.get(ms);
    if (set === undefined) { set = new Set(); this.timeWait.set(ms, set); }
    return set;
  }

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
      this.events.packetCounts?.drop(src, -1, 'per-source-limit', timeMs);
      if (this.events.wants('drop')) this.events.emit({ kind: 'drop', time: timeMs, reason: 'per-source-limit', srcIp: ipToString(src) });
      return false;
    }
    if (this.count >= this.limits.maxConnections) {
      // Make room as a full SYN queue would: the oldest TIME_WAIT, else the oldest half-open connection.
      const victim = this.oldestTimeWait() ?? firstOf(this.halfOpen);
      if (victim === undefined) {
        this.counters.statelessSynAcks++;
        this.events.packetCounts?.drop(src, -1, 'connection-table-full', timeMs);
        if (this.events.wants('drop')) this.events.emit({ kind: 'drop', time: timeMs, reason: 'connection-table-full', srcIp: ipToString(src) });
        return false;
      }
      this.counters.connectionsEvicted++;
      victim.drop('evicted');
    }
    return true;
  }

  private oldestTimeWait(): TcpSocket | undefined {
    let best: TcpSocket | undefined;
    for (const set of this.timeWait.values()) {
      const first = firstOf(set);
      if (first !== undefined && (best === undefined || first.timeWaitUntil < best.timeWaitUntil)) best = first;
    }
    return best;
  }

  private createHalfOpen(host: DecoyHost, frame: Buffer, ip: Ipv4View, tcp: TcpView, key: number, r: TcpReply, timeMs: number): void {
    // One pooled Buffer (allocUnsafe draws from Node's slab) holds the peer's MAC and our SYN/ACK's options.
    const optLen = r.optionsLength;
    const mem = Buffer.allocUnsafe(6 + optLen);
    copyMac(frame, ETH_SRC, mem, 0);
    // A byte loop: for a few dozen bytes it is cheaper than Buffer.copy's native call.
    const o = r.options;
    for (let i = 0; i < optLen; i++) mem[6 + i] = o[i] as number;
    const p = host.personality;
    const timing = p.tcpTiming ?? LINUX_TCP_TIMING;
    const sock = new TcpSocket(key, host, ip.src, tcp.srcPort, tcp.dstPort, mem, timing, this.bounds, this);
    const s = this.segIn;
    sock.iss = r.seq >>> 0;
    sock.sndUna = sock.iss;
    sock.sndNxt = seqAdd(sock.iss, 1);
    sock.rcvNxt = seqAdd(s.seq, 1);
    sock.synSeq = s.seq;
    sock.peerMss = s.mss > 0 ? s.mss : 536;
    p.connectionShape(s, sock.shape);
    sock.peerWscale = s.wscale >= 0 && sock.shape.wscale >= 0 ? Math.min(s.wscale, 14) : -1;
    if (sock.peerWscale < 0) sock.shape.wscale = -1;
    sock.tsRecent = s.hasTimestamp && sock.shape.timestamps ? s.tsVal : -1;
    sock.sndWnd = s.window; // the SYN's window is never scaled
    sock.synAckFlags = r.flags;
    sock.synAckReserved = r.reserved;
    sock.synAckWindow = r.window;
    sock.synAckUrgent = r.urgentPointer;
    sock.synAckOptLen = r.optionsLength;
    sock.synAckTtl = r.ttl;
    sock.synAckDf = r.df;
    sock.lastActivity = timeMs;
    sock.synAcksSent = 1;
    sock.firstSynAckAt = timeMs;
    sock.rtxAt = timeMs + (timing.synAckRetransmitMs[0] ?? timing.initialRtoMs);
    sock.next = this.table.get(key) ?? null;
    this.table.set(key, sock);
    this.perSource.set(ip.src, (this.perSource.get(ip.src) ?? 0) + 1);
    this.halfOpen.add(sock);
    this.count++;
  }

  /** Tell the service and log the close, once, for connections that were established. */
  private finishSession(sock: TcpSocket, reason: string): void {
    if (!sock.wasEstablished || sock.closeReported) return;
    sock.closeReported = true;
    const session = sock.session;
    sock.session = null;
    if (session !== null) {
      try {
        session.onClose();
      } catch (err) {
        this.serviceFailed(sock, 'onClose', err);
      }
    }
    if (this.events.wants('tcp.close')) this.events.emit({ kind: 'tcp.close', time: this.egress.now(), srcIp: sock.peerIpText, srcPort: sock.peerPort, dstIp: sock.host.ipText, dstPort: sock.localPort, service: sock.service?.name, bytesIn: sock.bytesIn, bytesOut: sock.bytesOut, reason });
  }

  private remove(sock: TcpSocket, from: TcpStateCode, reason: string): void {
    if (sock.wasEstablished) {
      this.finishSession(sock, reason);
      this.timed.delete(sock);
    }
    if (from === TcpState.TIME_WAIT) {
      this.timeWait.get(sock.timing.timeWaitMs)?.delete(sock);
      this.timeWaitCount--;
    }
    let head = this.table.get(sock.key) ?? null;
    if (head === sock) {
      if (sock.next === null) this.table.delete(sock.key);
      else this.table.set(sock.key, sock.next);
    } else {
      while (head !== null && head.next !== sock) head = head.next;
      if (head !== null) head.next = sock.next;
    }
    const n = (this.perSource.get(sock.peerIp) ?? 1) - 1;
    if (n <= 0) this.perSource.delete(sock.peerIp);
    else this.perSource.set(sock.peerIp, n);
    this.count--;
  }

  private logPacket(host: DecoyHost, frame: Buffer, ip: Ipv4View, tcp: TcpView, state: 'open' | 'closed' | 'block' | 'connection', answer: string, timeMs: number): void {
    const counts = this.events.packetCounts;
    if (counts !== undefined) counts.tcp(frame, ip.src, host.ip, tcp.srcPort, tcp.dstPort, tcp.flags, state, answer, timeMs);
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

function firstOf<T>(set: Set<T>): T | undefined {
  const it = set.values().next();
  return it.done ? undefined : it.value;
}
