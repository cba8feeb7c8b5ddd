/**
 * The seam between the TCP/UDP engine and everything behind an open port.
 * A service sees a byte stream and endpoints, never packets.
 */

export interface Endpoint {
  address: string;
  port: number;
}

/** What the stack offers a service for one connection. */
export interface StreamContext {
  readonly local: Endpoint;
  readonly remote: Endpoint;
  /** Queue bytes to the peer. Returns false once the connection is closing or closed. */
  write(data: Buffer | string): boolean;
  /** Half-close: send FIN after queued data. */
  end(): void;
  /** Abort with RST. */
  reset(): void;
}

/** One live conversation of a service. */
export interface StreamSession {
  onData(data: Buffer): void;
  /** The peer sent FIN. */
  onEnd(): void;
  /** The connection is gone (closed, reset or evicted); release everything. */
  onClose(): void;
}

export interface StreamService {
  readonly name: string;
  open(ctx: StreamContext): StreamSession;
}

/** A UDP service answers one datagram with zero or more datagrams. */
export interface DatagramService {
  readonly name: string;
  onDatagram(data: Buffer, remote: Endpoint, local: Endpoint, reply: (data: Buffer) => void): void;
}
