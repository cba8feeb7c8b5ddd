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
  /**
   * Queue bytes to the peer (copied into a bounded send buffer). Returns false when not all of
   * them fit or the buffer is now full (wait for `onDrain`), and once the connection is closing.
   */
  write(data: Buffer | string): boolean;
  /** Half-close: send FIN after queued data. */
  end(): void;
  /**
   * Full close, as close(2): FIN after queued data, and nobody reads any more. Data that arrives
   * afterwards is answered with the OS family's reset. Optional: contexts without it only end().
   */
  close?(): void;
  /** Abort with RST. */
  reset(): void;
  /**
   * Bytes `write` can take now (0 once closing). Writes beyond this are refused: wait for
   * `onDrain`. Optional so that other contexts need not offer it; the TCP socket layer does.
   */
  readonly writable?: number;
  /** Stop `onData` deliveries: received bytes wait in the bounded receive buffer and the advertised window shrinks. */
  pause?(): void;
  /** Deliver what waited and reopen the window. */
  resume?(): void;
  /**
   * Tarpit (Honeyd's `tarpit` flag): from now on advertise at most `window` bytes, send one
   * payload byte per segment, and ignore the peer's FIN. Optional; the TCP socket layer offers it.
   */
  hold?(window: number): void;
}

/** One live conversation of a service. */
export interface StreamSession {
  onData(data: Buffer): void;
  /** The peer sent FIN. */
  onEnd(): void;
  /** The connection is gone (closed, reset or evicted); release everything. */
  onClose(): void;
  /** The send buffer has room again after a `write` that returned false. */
  onDrain?(): void;
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
