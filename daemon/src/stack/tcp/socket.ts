import type { ConnectionShape } from '../../personality/host-personality';
import { TcpFlag } from '../../personality/host-personality';
import type { Endpoint, StreamContext, StreamService, StreamSession } from '../../services/service';
import { ipToString } from '../../wire/address';
import type { DecoyHost } from '../decoy-table';
import { type BufferBudget, ByteQueue, CHUNK_SIZE } from './byte-queue';
import { maxSegmentPayload, type SynAckSource, type TcpEgress, TS_OPTION_SPACE } from './egress';
import { type TcpSegment, seqAdd, seqDiff, seqLe, seqLt } from './segment';
import type { TcpTimingProfile } from './timing';

export const TcpState = {
  SYN_RECEIVED: 1,
  ESTABLISHED: 2,
  CLOSE_WAIT: 3,
  LAST_ACK: 4,
  FIN_WAIT_1: 5,
  FIN_WAIT_2: 6,
  CLOSING: 7,
  TIME_WAIT: 8,
  CLOSED: 9,
} as const;
export type TcpStateCode = (typeof TcpState)[keyof typeof TcpState];

const STATE_NAMES = ['', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSING', 'TIME-WAIT', 'CLOSED'];
export function tcpStateName(s: TcpStateCode): string { return STATE_NAMES[s] as string; }

/** Per-connection bounds (from `limits:`). */
export interface SocketBounds {
  sendBuffer: number;
  receiveBuffer: number;
  outOfOrderSegments: number;
}

/** What a socket asks of the layer that owns it. The socket never emits events or touches tables itself. */
export interface SocketOwner {
  readonly egress: TcpEgress;
  readonly budget: BufferBudget;
  /** Every state change, right after it happened (tables, timers, events). */
  stateChanged(sock: TcpSocket, from: TcpStateCode, to: TcpStateCode, reason: string): void;
  /** A timer of `sock` was armed: make sure the owner's tick visits it. */
  armed(sock: TcpSocket): void;
  /** A service callback threw; the socket is reset right after. */
  serviceFailed(sock: TcpSocket, callback: string, err: unknown): void;
  /** A SYN for a new incarnation arrived on a TIME_WAIT socket: forget it and handle the SYN afresh. */
  reincarnate(sock: TcpSocket): void;
}

interface OutOfOrder {
  seq: number;
  data: Buffer;
  fin: boolean;
}

const EMPTY = Buffer.alloc(0);
/** Dup ACKs that trigger a fast retransmission (RFC 5681). */
const DUP_ACK_THRESHOLD = 3;
/** Segments ACKed at once after the handshake, as Linux's quick-ACK mode does. */
const QUICK_ACKS = 16;

/**
 * What a connection needs once its handshake completed: buffers, the peer's window updates, the
 * RTT estimator, recovery and delayed-ACK state, and the service. Half-open sockets (most of a SYN
 * flood) carry none of it; they all point at one shared placeholder that nothing writes.
 */
class StreamState {
  sndWl1 = 0;
  sndWl2 = 0;
  /** Right edge of the window last advertised (never moved left). */
  rcvAdvEdge = 0;
  readonly sendQ: ByteQueue | null;
  readonly recvQ: ByteQueue | null;
  readonly ooo: OutOfOrder[];
  /** In-order bytes taken from the current segment, handed to the service after our ACK. */
  readonly pending: Buffer[];
  finQueued = false;
  finSent = false;
  /** The service closed (close(2), not a half-close): nobody reads what arrives from now on. */
  appClosed = false;
  /** The peer's FIN arrived while bytes before it still wait for a paused service. */
  finPending = false;
  paused = false;
  wantDrain = false;
  delivering = false;
  session: StreamSession | null = null;
  service: StreamService | null = null;
  wasEstablished = false;
  closeReported = false;
  bytesIn = 0;
  bytesOut = 0;
  /** Delayed-ACK deadline (ms) or 0; end of TIME_WAIT. */
  ackAt = 0;
  timeWaitUntil = 0;
  rtoMs: number;
  retries = 0;
  srtt = -1;
  rttvar = 0;
  /** Sequence number whose ACK gives an RTT sample, and when it left (Karn: never a retransmission). */
  rttSeq = -1;
  rttSentAt = 0;
  dupAcks = 0;
  /** In loss recovery until this is acknowledged (NewReno), else -1. */
  recover = -1;
  quickAcks = QUICK_ACKS;
  unackedSegments = 0;

  constructor(budget: BufferBudget | null, bounds: SocketBounds | null, timing: TcpTimingProfile | null) {
    this.sendQ = budget !== null && bounds !== null ? new ByteQueue(budget, bounds.sendBuffer) : null;
    this.recvQ = budget !== null && bounds !== null ? new ByteQueue(budget, bounds.receiveBuffer) : null;
    this.ooo = [];
    this.pending = [];
    this.rtoMs = timing?.initialRtoMs ?? 1000;
  }
}

const HALF_OPEN = new StreamState(null, null, null);

/**
 * One TCP connection: a pure state machine over inbound segments, service calls and timer ticks.
 * Every state change goes through `setState`. Output goes through the owner's egress stage; the
 * socket holds only bounded buffers (send queue, receive queue for a paused service, out-of-order
 * segments) drawn from the owner's budget.
 */
export class TcpSocket implements StreamContext, SynAckSource {
  /** Chain of sockets sharing one peer ip:port key (to different decoys). */
  next: TcpSocket | null = null;
  private stateCode: TcpStateCode = TcpState.SYN_RECEIVED;

  iss = 0;
  sndUna = 0;
  sndNxt = 0;
  /** Peer's window in bytes (scaled). */
  sndWnd = 0;
  peerWscale = -1;
  peerMss = 536;
  rcvNxt = 0;
  tsRecent = -1;


  readonly shape: ConnectionShape = { ttl: 64, df: true, window: 65535, wscale: -1, mss: 1460, timestamps: false, tsOffset: 0, ipIdNext: -1 };
  /** The first SYN/ACK's header fields; its options follow the MAC in `peerMac`. */
  synAckFlags = 0;
  synAckReserved = 0;
  synAckWindow = 0;
  synAckUrgent = 0;
  synAckOptLen = 0;
  synAckTtl = 64;
  synAckDf = true;
  /** The SYN's sequence number: a retransmitted SYN repeats it. */
  synSeq = 0;

  lastActivity = 0;
  /** Tarpit: the most we advertise, or -1 (services/actions/tarpit-service.ts). */
  private holdWindow = -1;

  /** Retransmission / persist / SYN-ACK deadline (ms) or 0. */
  rtxAt = 0;
  /** SYN/ACKs sent so far (first one included), and when the first went out. */
  synAcksSent = 0;
  firstSynAckAt = 0;

  /** The data path's state: a shared, never-used placeholder until the handshake completes. */
  private d: StreamState = HALF_OPEN;

  private peerIpTextCache: string | null = null;
  private localEndpoint: Endpoint | null = null;
  private remoteEndpoint: Endpoint | null = null;

  constructor(
    readonly key: number,
    readonly host: DecoyHost,
    readonly peerIp: number,
    readonly peerPort: number,
    readonly localPort: number,
    /** The peer's MAC (bytes 0-5), then our first SYN/ACK's options. */
    readonly peerMac: Buffer,
    readonly timing: TcpTimingProfile,
    private readonly bounds: SocketBounds,
    private readonly owner: SocketOwner,
  ) {}

  get state(): TcpStateCode { return this.stateCode; }
  get session(): StreamSession | null { return this.d.session; }
  set session(s: StreamSession | null) { if (this.d !== HALF_OPEN) this.d.session = s; }
  get service(): StreamService | null { return this.d.service; }
  get wasEstablished(): boolean { return this.d.wasEstablished; }
  get closeReported(): boolean { return this.d.closeReported; }
  set closeReported(v: boolean) { if (this.d !== HALF_OPEN) this.d.closeReported = v; }
  /** Bytes taken from the peer, and bytes of ours the peer acknowledged. */
  get bytesIn(): number { return this.d.bytesIn; }
  get bytesOut(): number { return this.d.bytesOut; }
  get timeWaitUntil(): number { return this.d.timeWaitUntil; }
  /** Delayed-ACK deadline (ms) or 0. */
  get ackAt(): number { return this.d.ackAt; }
  get rtoMs(): number { return this.d.rtoMs; }
  /** A method, not a field test, so that checks after service calls (which may close us) are not narrowed away. */
  isClosed(): boolean { return this.stateCode === TcpState.CLOSED; }
  get ttl(): number { return this.shape.ttl; }
  get df(): boolean { return this.shape.df; }
  get tsOffset(): number { return this.shape.tsOffset; }
  get ipIdNext(): number { return this.shape.ipIdNext; }
  set ipIdNext(id: number) { this.shape.ipIdNext = id; }

  get peerIpText(): string {
    if (this.peerIpTextCache === null) this.peerIpTextCache = ipToString(this.peerIp);
    return this.peerIpTextCache;
  }
  get local(): Endpoint {
    if (this.localEndpoint === null) this.localEndpoint = { address: this.host.ipText, port: this.localPort };
    return this.localEndpoint;
  }
  get remote(): Endpoint {
    if (this.remoteEndpoint === null) this.remoteEndpoint = { address: this.peerIpText, port: this.peerPort };
    return this.remoteEndpoint;
  }

  /** The service may still write (established, or the peer has half-closed). */
  get open(): boolean {
    return (this.stateCode === TcpState.ESTABLISHED || this.stateCode === TcpState.CLOSE_WAIT) && !this.d.finQueued;
  }

  /** Bytes queued towards the peer, not yet acknowledged. */
  get sendQueued(): number { return this.d.sendQ?.length ?? 0; }
  /** Bytes received and held for a paused service. */
  get receiveQueued(): number { return this.d.recvQ?.length ?? 0; }
  get outOfOrderCount(): number { return this.d.ooo.length; }

  // ---- StreamContext (the service's side) ----

  /** Room in the send buffer. A service that finds none is told by `onDrain` when there is. */
  get writable(): number {
    if (!this.open || this.d.sendQ === null) return 0;
    const room = this.d.sendQ.room;
    if (room === 0) this.d.wantDrain = true;
    return room;
  }

  /**
   * Queue bytes, copying as many as the send buffer holds. Returns false when some did not fit or
   * the buffer is now full (the service should wait for `onDrain`), or the connection is closing.
   */
  write(data: Buffer | string): boolean {
    if (!this.open || this.d.sendQ === null) return false;
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    if (bytes.length === 0) {
      if (this.d.sendQ.room > 0) return true;
      this.d.wantDrain = true;
      return false;
    }
    const taken = this.d.sendQ.append(bytes, 0, bytes.length);
    const ok = taken === bytes.length && this.d.sendQ.room > 0;
    if (!ok) this.d.wantDrain = true;
    if (taken > 0) this.flush();
    return ok;
  }

  end(): void {
    if (!this.open) return;
    this.d.finQueued = true;
    this.flush();
  }

  /** Full close: FIN after queued data; later data gets the family's reset (see `refusesData`). */
  close(): void {
    if (!this.open) return;
    this.d.appClosed = true;
    this.end();
  }

  reset(): void {
    this.abort('service-reset');
  }

  /**
   * True when this segment brings new data to a connection the service closed: Linux's
   * tcp_rcv_state_process (FIN_WAIT1/2 with RCV_SHUTDOWN, RFC 1122 4.2.2.13) resets it, and so do
   * the BSDs and Windows. The owner then answers with the family's reset shape and forgets the socket.
   */
  refusesData(seq: number, payloadLength: number, flags: number): boolean {
    if (!this.d.appClosed || payloadLength === 0 || (flags & (TcpFlag.RST | TcpFlag.SYN)) !== 0 || (flags & TcpFlag.ACK) === 0) return false;
    const st = this.stateCode;
    if (st !== TcpState.ESTABLISHED && st !== TcpState.FIN_WAIT_1 && st !== TcpState.FIN_WAIT_2) return false;
    // Only data beyond what we already took, starting within the window (else it is a duplicate, ACKed as usual).
    return seqLt(this.rcvNxt, seqAdd(seq, payloadLength)) && seqLt(seq, seqAdd(this.rcvNxt, Math.max(this.receiveWindow(), 1)));
  }

  pause(): void { this.d.paused = true; }

  resume(): void {
    if (!this.d.paused) return;
    this.d.paused = false;
    this.deliverQueued();
  }

  get isPaused(): boolean { return this.d.paused; }

  /** Tarpit: a tiny window from now on (the right edge moves back once, as LaBrea's does), one byte per segment, FINs ignored. */
  hold(window: number): void {
    if (this.d === HALF_OPEN) return;
    this.holdWindow = Math.max(0, Math.floor(window));
    this.d.rcvAdvEdge = seqAdd(this.rcvNxt, this.receiveWindow());
  }

  get held(): boolean { return this.holdWindow >= 0; }

  // ---- inbound ----

  /** A segment for this connection. */
  process(seg: TcpSegment, now: number): void {
    const flags = seg.flags;
    const seq = seg.seq;
    this.lastActivity = now;
    const st = this.stateCode;

    if (flags & TcpFlag.RST) {
      // RFC 5961: only an RST exactly at rcvNxt resets; one elsewhere in the window earns a challenge ACK.
      if (seq === this.rcvNxt || st === TcpState.SYN_RECEIVED) this.setState(TcpState.CLOSED, 'reset-by-peer');
      else if (this.inWindow(seq)) this.sendAck();
      return;
    }
    if (flags & TcpFlag.SYN) {
      if (st === TcpState.SYN_RECEIVED && seq === this.synSeq) this.resendSynAck();
      else if (st === TcpState.TIME_WAIT && seqLt(this.rcvNxt, seq)) this.owner.reincarnate(this);
      else this.sendAck(); // challenge ACK (RFC 5961)
      return;
    }
    if ((flags & TcpFlag.ACK) === 0) return;

    if (st === TcpState.TIME_WAIT) {
      // A retransmitted FIN means our last ACK was lost: ACK again and restart the 2MSL wait.
      // Data is answered with our ACK too; a bare ACK is not (Linux drops it silently).
      if (flags & TcpFlag.FIN) {
        this.d.timeWaitUntil = now + this.timing.timeWaitMs;
        this.owner.stateChanged(this, st, st, 'refresh');
      }
      if ((flags & TcpFlag.FIN) !== 0 || seg.payloadLength > 0) this.sendAck();
      return;
    }

    if (st === TcpState.SYN_RECEIVED) {
      if (seg.ack !== this.sndNxt) {
        this.owner.egress.sendRst(this, seg.ack);
        return;
      }
      this.sndUna = this.sndNxt;
      this.sndWnd = seg.window * 2 ** Math.max(this.peerWscale, 0);
      this.rtxAt = 0;
      this.d = new StreamState(this.owner.budget, this.bounds, this.timing);
      this.d.sndWl1 = seq;
      this.d.sndWl2 = seg.ack;
      this.d.rcvAdvEdge = seqAdd(this.rcvNxt, this.receiveWindow());
      this.setState(TcpState.ESTABLISHED, 'handshake');
      if (this.isClosed()) return;
    }

    if (this.tsRecent >= 0 && seg.hasTimestamp && seqLe(seq, this.rcvNxt)) this.tsRecent = seg.tsVal;
    const handshakeAck = st === TcpState.SYN_RECEIVED;
    const goOn = this.processAck(seg, now);
    if (handshakeAck) this.d.dupAcks = 0; // the handshake ACK is no duplicate of a banner sent at open
    if (!goOn) return;
    if (this.isClosed()) return;
    this.processData(seg, now);
  }

  /** Timers: SYN/ACK retransmission, data retransmission, zero-window probe, delayed ACK. */
  tick(now: number): void {
    if (this.stateCode === TcpState.SYN_RECEIVED) {
      if (this.rtxAt === 0 || this.rtxAt > now) return;
      const d = this.timing.synAckRetransmitMs;
      if (this.synAcksSent > d.length) { this.setState(TcpState.CLOSED, 'handshake-timeout'); return; }
      this.resendSynAck();
      this.synAcksSent++;
      this.rtxAt = this.synAcksSent > d.length ? this.firstSynAckAt + synAckGiveUp(d) : this.firstSynAckAt + (d[this.synAcksSent - 1] as number);
      return;
    }
    if (this.d.ackAt !== 0 && this.d.ackAt <= now) this.sendAck();
    if (this.rtxAt !== 0 && this.rtxAt <= now) this.onRetransmitTimer(now);
  }

  get timerArmed(): boolean { return this.rtxAt !== 0 || this.d.ackAt !== 0; }

  /** Reset the connection: RST to the peer (when synchronized), then closed. */
  abort(reason: string): void {
    const st = this.stateCode;
    if (st === TcpState.CLOSED) return;
    if (st !== TcpState.TIME_WAIT && st !== TcpState.SYN_RECEIVED) this.sendSegment(TcpFlag.RST | TcpFlag.ACK, this.sndNxt, 0, 0);
    this.setState(TcpState.CLOSED, reason);
  }

  /** Forget the connection without a word (the address now belongs to a real host). */
  drop(reason: string): void {
    if (!this.isClosed()) this.setState(TcpState.CLOSED, reason);
  }

  // ---- the single place where state changes ----

  private setState(to: TcpStateCode, reason: string): void {
    const from = this.stateCode;
    if (from === to || from === TcpState.CLOSED) return;
    this.stateCode = to;
    if (to === TcpState.ESTABLISHED) this.d.wasEstablished = true;
    if (to === TcpState.TIME_WAIT) {
      this.rtxAt = 0;
      this.d.ackAt = 0;
      this.d.timeWaitUntil = this.owner.egress.now() + this.timing.timeWaitMs;
    }
    if (to === TcpState.CLOSED || to === TcpState.TIME_WAIT) this.releaseBuffers();
    this.owner.stateChanged(this, from, to, reason);
  }

  private releaseBuffers(): void {
    if (this.d === HALF_OPEN) return;
    this.d.sendQ?.clear();
    this.d.recvQ?.clear();
    for (const o of this.d.ooo) this.owner.budget.give(o.data.length);
    this.d.ooo.length = 0;
    if (this.isClosed()) { this.rtxAt = 0; this.d.ackAt = 0; }
  }

  // ---- ACK processing and our data ----

  /**
   * The ACK field. Returns false when the segment must go no further: RFC 9293 §3.10.7.4 answers
   * an ACK of data never sent with an ACK and drops the segment, payload and FIN included.
   */
  private processAck(seg: TcpSegment, now: number): boolean {
    const ack = seg.ack;
    if (seqLt(this.sndNxt, ack)) {
      this.sendAck();
      return false;
    }
    const sendQ = this.d.sendQ as ByteQueue;
    const oldWnd = this.sndWnd;
    if (seqLt(this.d.sndWl1, seg.seq) || (this.d.sndWl1 === seg.seq && seqLe(this.d.sndWl2, ack))) {
      this.sndWnd = seg.window * 2 ** Math.max(this.peerWscale, 0);
      this.d.sndWl1 = seg.seq;
      this.d.sndWl2 = ack;
    }
    if (oldWnd === 0 && this.sndWnd > 0 && this.sndNxt !== this.sndUna && !this.d.finSent) {
      // The window reopened: whatever went out while it was shut (the probe byte) was not taken.
      // Start again from the first unacknowledged byte at the normal timeout.
      this.sndNxt = ack;
      this.rtxAt = 0;
      this.d.retries = 0;
      this.d.rtoMs = this.baseRto();
    }
    if (seqLt(this.sndUna, ack)) {
      let acked = seqDiff(ack, this.sndUna);
      const dataAcked = Math.min(acked, sendQ.length);
      sendQ.consume(dataAcked);
      this.d.bytesOut += dataAcked;
      acked -= dataAcked;
      if (this.d.rttSeq >= 0 && seqLe(this.d.rttSeq, ack)) {
        this.rttSample(now - this.d.rttSentAt);
        this.d.rttSeq = -1;
      }
      this.sndUna = ack;
      this.d.retries = 0;
      this.d.dupAcks = 0;
      const finAcked = this.d.finSent && ack === this.sndNxt && acked > 0;
      if (this.d.recover >= 0) {
        if (seqLt(ack, this.d.recover)) this.retransmitFirst(); // partial ACK: the next hole (RFC 6582)
        else this.d.recover = -1;
      }
      if (this.sndUna === this.sndNxt) this.rtxAt = 0;
      else this.arm(now + this.d.rtoMs);
      if (finAcked) {
        const st = this.stateCode;
        if (st === TcpState.FIN_WAIT_1) this.setState(TcpState.FIN_WAIT_2, 'fin-acked');
        else if (st === TcpState.CLOSING) { this.setState(TcpState.TIME_WAIT, 'closed'); return false; }
        else if (st === TcpState.LAST_ACK) { this.setState(TcpState.CLOSED, 'closed'); return false; }
      }
      if (this.d.wantDrain && this.open && sendQ.room > 0) {
        this.d.wantDrain = false;
        this.callService('onDrain', this.d.session?.onDrain);
        if (this.isClosed()) return false;
      }
    } else if (ack === this.sndUna && seg.payloadLength === 0 && (seg.flags & TcpFlag.FIN) === 0 && this.sndNxt !== this.sndUna && this.sndWnd === oldWnd) {
      if (this.sndWnd === 0) {
        // The peer answers our zero-window probe: it is alive, so keep probing (RFC 9293 §3.8.6.1).
        this.d.retries = 0;
      } else if (++this.d.dupAcks === DUP_ACK_THRESHOLD && this.d.recover < 0) {
        this.d.recover = this.sndNxt;
        this.retransmitFirst();
      }
    }
    this.flush();
    return !this.isClosed();
  }

  /** The timeout the RTT estimate gives, without backoff. */
  private baseRto(): number {
    if (this.d.srtt < 0) return this.timing.initialRtoMs;
    return Math.min(this.timing.maxRtoMs, Math.max(this.timing.minRtoMs, this.d.srtt + Math.max(4 * this.d.rttvar, 10)));
  }

  private rttSample(r: number): void {
    // RFC 6298 estimator.
    if (this.d.srtt < 0) {
      this.d.srtt = r;
      this.d.rttvar = r / 2;
    } else {
      this.d.rttvar = 0.75 * this.d.rttvar + 0.25 * Math.abs(this.d.srtt - r);
      this.d.srtt = 0.875 * this.d.srtt + 0.125 * r;
    }
    this.d.rtoMs = this.baseRto();
  }

  /** Payload bytes per segment: the smaller MSS, less the timestamp option, within one frame. */
  private segmentSize(): number {
    if (this.holdWindow >= 0) return 1;
    const opt = this.tsRecent >= 0 ? TS_OPTION_SPACE : 0;
    return Math.max(1, Math.min(Math.min(this.peerMss, this.shape.mss) - opt, maxSegmentPayload(opt)));
  }

  /** Send what the peer's window allows, then our FIN once all data has left. */
  private flush(): void {
    const st = this.stateCode;
    if (st === TcpState.SYN_RECEIVED || st === TcpState.CLOSED || st === TcpState.TIME_WAIT || this.d.sendQ === null) return;
    const q = this.d.sendQ;
    const mss = this.segmentSize();
    const now = this.owner.egress.now();
    let sentAny = false;
    for (;;) {
      const offset = seqDiff(this.sndNxt, this.sndUna);
      const remaining = q.length - offset;
      if (remaining <= 0) break;
      const room = seqDiff(seqAdd(this.sndUna, this.sndWnd), this.sndNxt);
      if (room <= 0) break;
      const n = Math.min(remaining, mss, room);
      // Avoid sending a runt while a full segment's worth can still come (Nagle-like, RFC 9293 §3.8.6.2.1).
      if (n < mss && n < remaining && offset > 0) break;
      this.sendSegment(TcpFlag.ACK | (n === remaining ? TcpFlag.PSH : 0), this.sndNxt, offset, n);
      if (this.d.rttSeq < 0 && this.d.recover < 0) { this.d.rttSeq = seqAdd(this.sndNxt, n); this.d.rttSentAt = now; }
      this.sndNxt = seqAdd(this.sndNxt, n);
      sentAny = true;
    }
    const allSent = seqDiff(this.sndNxt, this.sndUna) >= q.length;
    if (this.d.finQueued && !this.d.finSent && allSent) {
      this.d.finSent = true;
      this.sendSegment(TcpFlag.ACK | TcpFlag.FIN, this.sndNxt, 0, 0);
      this.sndNxt = seqAdd(this.sndNxt, 1);
      sentAny = true;
      if (st === TcpState.ESTABLISHED) this.setState(TcpState.FIN_WAIT_1, 'closing');
      else if (st === TcpState.CLOSE_WAIT) this.setState(TcpState.LAST_ACK, 'closing');
    }
    if (sentAny && this.rtxAt === 0) this.arm(now + this.d.rtoMs);
    else if (!sentAny && this.rtxAt === 0 && this.sndWnd === 0 && q.length > seqDiff(this.sndNxt, this.sndUna)) {
      // Data waits on a zero window: the persist timer will probe it.
      this.arm(now + this.d.rtoMs);
    }
  }

  private onRetransmitTimer(now: number): void {
    this.rtxAt = 0;
    const inFlight = this.sndNxt !== this.sndUna;
    const q = this.d.sendQ;
    if (!inFlight) {
      // Persist timer: probe a zero window with one new byte.
      if (q === null || this.sndWnd > 0 || q.length === 0) { this.flush(); return; }
      this.sendSegment(TcpFlag.ACK, this.sndNxt, 0, 1);
      this.sndNxt = seqAdd(this.sndNxt, 1);
      this.d.rtoMs = Math.min(this.d.rtoMs * 2, this.timing.maxRtoMs);
      this.arm(now + this.d.rtoMs);
      return;
    }
    if (this.d.retries >= this.timing.maxDataRetries) {
      this.abort('retransmission-timeout');
      return;
    }
    this.d.retries++;
    this.d.rtoMs = Math.min(this.d.rtoMs * 2, this.timing.maxRtoMs);
    this.d.rttSeq = -1; // Karn: no samples from retransmitted data
    this.d.dupAcks = 0;
    this.d.recover = this.sndNxt;
    this.retransmitFirst();
    this.arm(now + this.d.rtoMs);
  }

  /** Send again the first unacknowledged segment (data, or our FIN). */
  private retransmitFirst(): void {
    const q = this.d.sendQ;
    const dataInFlight = Math.min(q?.length ?? 0, seqDiff(this.sndNxt, this.sndUna));
    if (dataInFlight > 0) {
      const n = Math.min(dataInFlight, this.segmentSize());
      this.sendSegment(TcpFlag.ACK | TcpFlag.PSH, this.sndUna, 0, n);
    } else if (this.d.finSent) {
      this.sendSegment(TcpFlag.ACK | TcpFlag.FIN, this.sndUna, 0, 0);
    }
  }

  private arm(at: number): void {
    this.rtxAt = at;
    this.owner.armed(this);
  }

  // ---- receiving ----

  /** Free receive space, as advertised: what the receive buffer can still take. */
  private receiveWindow(): number {
    const q = this.d.recvQ;
    // The OS's own window first; with window scaling it grows to the buffer once the peer has sent
    // that much, as receive-window autotuning does.
    let cap = Math.min(this.shape.window, 0xffff);
    if (this.shape.wscale >= 0) cap = this.d.bytesIn >= this.shape.window ? Math.max(this.shape.window, this.bounds.receiveBuffer) : this.shape.window;
    const free = q === null ? this.bounds.receiveBuffer : q.room;
    // The shared budget can run dry before this buffer does: then the window closes too.
    const budgetFree = this.owner.budget.limit - this.owner.budget.used;
    if (this.holdWindow >= 0) cap = Math.min(cap, this.holdWindow);
    return Math.max(0, Math.min(cap, free, budgetFree));
  }

  private processData(seg: TcpSegment, now: number): void {
    const st = this.stateCode;
    let len = seg.payloadLength;
    // A tarpit ignores the peer's FIN (Honeyd): the peer is left to give up on its own.
    const fin = (seg.flags & TcpFlag.FIN) !== 0 && this.holdWindow < 0;
    if (len === 0 && !fin) {
      if ((seg.flags & TcpFlag.FIN) !== 0) this.sendAck();
      return;
    }
    if (st !== TcpState.ESTABLISHED && st !== TcpState.FIN_WAIT_1 && st !== TcpState.FIN_WAIT_2) {
      // Data or FIN after the peer's FIN: acknowledge what we have.
      this.sendAck();
      return;
    }
    let seq = seg.seq;
    let off = seg.payloadOffset;
    // Trim what we already have (a retransmission overlapping new data).
    const dup = seqDiff(this.rcvNxt, seq);
    if (dup > 0) {
      if (dup >= len + (fin ? 1 : 0)) { this.sendAck(); return; }
      const k = Math.min(dup, len);
      off += k; len -= k; seq = seqAdd(seq, k);
    }
    const wnd = this.receiveWindow();
    if (seq !== this.rcvNxt) {
      // Out of order: keep it (bounded, within the window) and send a duplicate ACK at once.
      this.queueOutOfOrder(seg.payload, off, len, seq, fin, wnd);
      this.sendAck();
      return;
    }
    const take = this.accept(seg.payload, off, Math.min(len, wnd));
    let gotFin = fin && take === len;
    const hadHoles = this.d.ooo.length > 0;
    if (!gotFin && take === len && hadHoles) gotFin = this.pullOutOfOrder();
    if (gotFin) this.rcvNxt = seqAdd(this.rcvNxt, 1);
    // ACK at once in quick-ACK mode, for every second segment, on a FIN, a full window or a filled hole; else delay.
    this.d.unackedSegments++;
    if (gotFin || take < len || this.d.quickAcks > 0 || this.d.unackedSegments >= 2 || hadHoles) {
      if (this.d.quickAcks > 0) this.d.quickAcks--;
      this.sendAck();
    } else if (this.d.ackAt === 0) {
      this.d.ackAt = now + this.timing.delayedAckMs;
      this.owner.armed(this);
    }
    // The ACK leaves before the service sees the bytes, so its answer follows the ACK on the wire.
    this.handOver();
    if (this.isClosed()) return;
    if (gotFin) this.peerFinished();
  }

  /**
   * Take `n` in-order bytes: set aside for a reading service, else into the receive queue.
   * Returns how many were taken (the shared budget may refuse some); rcvNxt moves by that much.
   */
  private accept(src: Buffer, off: number, n: number): number {
    if (n <= 0) return 0;
    const q = this.d.recvQ as ByteQueue;
    let got: number;
    if (!this.d.paused && q.length === 0 && !this.d.delivering && this.d.session !== null) {
      this.d.pending.push(Buffer.from(src.subarray(off, off + n)));
      got = n;
    } else {
      got = q.append(src, off, n);
    }
    this.rcvNxt = seqAdd(this.rcvNxt, got);
    this.d.bytesIn += got;
    return got;
  }

  /** Give the service the bytes set aside by `accept`, then anything queued. */
  private handOver(): void {
    const p = this.d.pending;
    for (let i = 0; i < p.length; i++) {
      // Bytes already taken are handed over even if the service pauses meanwhile: they are acknowledged.
      if (!this.isClosed() && this.d.session !== null) this.callService('onData', this.d.session.onData, p[i] as Buffer);
    }
    p.length = 0;
    if (!this.isClosed()) this.deliverQueued();
  }

  private queueOutOfOrder(src: Buffer, off: number, len: number, seq: number, fin: boolean, wnd: number): void {
    if (len === 0 && !fin) return;
    const ahead = seqDiff(seq, this.rcvNxt);
    if (ahead + len > wnd) return; // beyond what we advertised room for
    const list = this.d.ooo;
    let i = 0;
    while (i < list.length && seqLt((list[i] as OutOfOrder).seq, seq)) i++;
    const at = list[i];
    if (at !== undefined && at.seq === seq && at.data.length >= len) return; // already held
    if (list.length >= this.bounds.outOfOrderSegments) {
      // Full: keep the segments nearest the hole, as they fill it first.
      if (i >= list.length) return;
      const last = list.pop() as OutOfOrder;
      this.owner.budget.give(last.data.length);
    }
    if (!this.owner.budget.take(len)) return;
    const data = Buffer.allocUnsafe(len);
    src.copy(data, 0, off, off + len);
    if (at !== undefined && at.seq === seq) {
      this.owner.budget.give(at.data.length);
      list[i] = { seq, data, fin };
    } else {
      list.splice(i, 0, { seq, data, fin });
    }
  }

  /** Take queued segments that now continue the stream. Returns true when the peer's FIN came with them. */
  private pullOutOfOrder(): boolean {
    const list = this.d.ooo;
    let fin = false;
    while (list.length > 0 && !fin) {
      const o = list[0] as OutOfOrder;
      const skip = seqDiff(this.rcvNxt, o.seq);
      if (skip < 0) break; // still a hole
      list.shift();
      this.owner.budget.give(o.data.length);
      if (skip >= o.data.length && !(o.fin && skip === o.data.length)) continue; // wholly old
      const n = Math.max(0, o.data.length - skip);
      const take = this.accept(o.data, skip, Math.min(n, this.receiveWindow()));
      if (take < n) break; // no room: the peer retransmits the rest
      fin = o.fin;
    }
    if (fin) {
      for (const o of list) this.owner.budget.give(o.data.length);
      list.length = 0;
    }
    return fin;
  }

  /** Hand queued bytes to a reading service, then the peer's FIN; reopen the window. */
  private deliverQueued(): void {
    const q = this.d.recvQ;
    if (q === null || this.d.delivering) return;
    this.d.delivering = true;
    const before = q.length;
    while (q.length > 0 && !this.d.paused && this.d.session !== null && !this.isClosed()) {
      const n = Math.min(q.length, CHUNK_SIZE);
      const chunk = Buffer.allocUnsafe(n);
      q.copyOut(0, n, chunk, 0);
      q.consume(n);
      this.callService('onData', this.d.session.onData, chunk);
    }
    this.d.delivering = false;
    if (this.isClosed()) return;
    if (this.d.finPending && q.length === 0 && !this.d.paused) {
      this.d.finPending = false;
      this.callService('onEnd', this.d.session?.onEnd);
      if (this.isClosed()) return;
    }
    // Window update once the service has caught up by a useful amount (RFC 9293 §3.8.6.2.2).
    if (before > q.length) {
      const edge = seqAdd(this.rcvNxt, this.receiveWindow());
      if (seqDiff(edge, this.d.rcvAdvEdge) >= Math.min(this.bounds.receiveBuffer / 2, 2 * this.segmentSize())) this.sendAck();
    }
  }

  private peerFinished(): void {
    const st = this.stateCode;
    if (st === TcpState.ESTABLISHED) this.setState(TcpState.CLOSE_WAIT, 'peer-fin');
    else if (st === TcpState.FIN_WAIT_1) this.setState(TcpState.CLOSING, 'peer-fin');
    else if (st === TcpState.FIN_WAIT_2) { this.setState(TcpState.TIME_WAIT, 'closed'); return; }
    if (this.stateCode !== TcpState.CLOSE_WAIT) return;
    if ((this.d.recvQ?.length ?? 0) > 0 || this.d.paused) this.d.finPending = true;
    else this.callService('onEnd', this.d.session?.onEnd);
  }

  // ---- output helpers ----

  private sendAck(): void {
    this.sendSegment(TcpFlag.ACK, this.sndNxt, 0, 0);
  }

  private resendSynAck(): void {
    this.owner.egress.resendSynAck(this, this.iss, this.rcvNxt);
  }

  /** Every connection segment carries our current ACK and window; sending one clears a pending delayed ACK. */
  private sendSegment(flags: number, seq: number, dataOff: number, n: number): void {
    let ack = 0;
    let window = 0;
    if ((flags & TcpFlag.ACK) !== 0 && this.d === HALF_OPEN) {
      // A challenge ACK before the handshake completed: the SYN/ACK's window, nothing tracked.
      ack = this.rcvNxt;
      window = this.synAckWindow;
    } else if (flags & TcpFlag.ACK) {
      ack = this.rcvNxt;
      let wnd = this.receiveWindow();
      // Never move the right edge left (RFC 9293 §3.8.6.2.2): a shrinking buffer shows as a smaller window only as data arrives.
      const edge = seqAdd(this.rcvNxt, wnd);
      if (seqLt(edge, this.d.rcvAdvEdge)) wnd = seqDiff(this.d.rcvAdvEdge, this.rcvNxt);
      else this.d.rcvAdvEdge = edge;
      const scale = this.shape.wscale >= 0 ? this.shape.wscale : 0;
      window = Math.min(0xffff, Math.floor(wnd / 2 ** scale));
      this.d.ackAt = 0;
      this.d.unackedSegments = 0;
    }
    this.owner.egress.sendSegment(this, flags, seq, ack, window, n > 0 ? this.d.sendQ : null, dataOff, n);
  }

  /** The error boundary around every service callback: a throwing service resets its connection. */
  private callService(name: string, fn: ((data: Buffer) => void) | (() => void) | undefined, data: Buffer = EMPTY): void {
    const s = this.d.session;
    if (fn === undefined || s === null) return;
    try {
      (fn as (d: Buffer) => void).call(s, data);
    } catch (err) {
      this.owner.serviceFailed(this, name, err);
      this.abort('service-error');
    }
  }

  /** Open the service once the handshake completed (called by the owner). */
  openService(service: StreamService | null): void {
    this.d.service = service;
    if (service === null) return;
    try {
      this.d.session = service.open(this);
    } catch (err) {
      this.owner.serviceFailed(this, 'open', err);
      this.abort('service-error');
    }
  }

  private inWindow(seq: number): boolean {
    return seqLe(this.rcvNxt, seq) && seqLt(seq, seqAdd(this.rcvNxt, Math.max(this.receiveWindow(), 1)));
  }
}

function synAckGiveUp(d: readonly number[]): number {
  const last = d[d.length - 1] as number;
  const prev = d.length > 1 ? d[d.length - 2] as number : 0;
  return last + 2 * (last - prev);
}
