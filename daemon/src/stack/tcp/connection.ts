import type { ConnectionShape } from '../../personality/host-personality';
import type { Endpoint, StreamContext, StreamSession, StreamService } from '../../services/service';
import { ipToString } from '../../wire/address';
import type { DecoyHost } from '../decoy-table';

/** Shared by every connection with nothing unacknowledged: zero bytes, so nobody can write into it. */
export const EMPTY_BUFFER: Buffer = Buffer.alloc(0);

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

/** What a connection asks of the engine that owns it (sending, closing). */
export interface ConnectionOwner {
  flush(conn: TcpConnection): void;
  abort(conn: TcpConnection, reason: string): void;
}

/** One TCP connection of a decoy. Sequence numbers are kept as unsigned 32-bit values. */
export class TcpConnection implements StreamContext {
  /** Chain of connections sharing one peer ip:port key (to different decoys). */
  next: TcpConnection | null = null;
  state: TcpStateCode = TcpState.SYN_RECEIVED;

  iss = 0;
  sndUna = 0;
  sndNxt = 0;
  /** Peer's window in bytes (already scaled). */
  sndWnd = 0;
  peerWscale = -1;
  peerMss = 536;
  rcvNxt = 0;
  /** Peer's last TSval, echoed in TSecr; -1 when timestamps are off. */
  tsRecent = -1;

  /** Bytes written by the service and not yet acknowledged, starting at sndUna. */
  unacked: Buffer = EMPTY_BUFFER;
  finQueued = false;
  finSent = false;

  readonly shape: ConnectionShape = { ttl: 64, df: true, window: 65535, wscale: -1, mss: 1460, timestamps: false, tsOffset: 0 };
  session: StreamSession | null = null;
  service: StreamService | null = null;

  wasEstablished = false;
  closeLogged = false;
  bytesIn = 0;
  bytesOut = 0;
  lastActivity = 0;
  /** Retransmission deadline (ms) or 0 when nothing is outstanding. */
  rtoAt = 0;
  rtoMs = 1000;
  retries = 0;
  /** The SYN's sequence number, kept to rebuild a retransmitted SYN/ACK. */
  synSeq = 0;

  // Texts and endpoints are made on first use: most connections of a SYN flood never need them.
  private peerIpTextCache: string | null = null;
  private localEndpoint: Endpoint | null = null;
  private remoteEndpoint: Endpoint | null = null;

  constructor(
    readonly key: number,
    readonly host: DecoyHost,
    readonly peerIp: number,
    readonly peerPort: number,
    readonly localPort: number,
    readonly peerMac: Buffer,
    private readonly owner: ConnectionOwner,
  ) {}

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

  get open(): boolean {
    return this.state === TcpState.ESTABLISHED || this.state === TcpState.CLOSE_WAIT;
  }

  write(data: Buffer | string): boolean {
    if (!this.open || this.finQueued) return false;
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    if (bytes.length === 0) return true;
    this.unacked = this.unacked.length === 0 ? Buffer.from(bytes) : Buffer.concat([this.unacked, bytes]);
    this.owner.flush(this);
    return true;
  }

  end(): void {
    if (!this.open || this.finQueued) return;
    this.finQueued = true;
    this.owner.flush(this);
  }

  reset(): void {
    if (this.state === TcpState.CLOSED) return;
    this.owner.abort(this, 'service-reset');
  }
}

/** Modular comparisons on 32-bit sequence numbers. */
export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}
