import { readTcpOptions, type TcpOptionSummary, type TcpView } from '../../wire/tcp';

/**
 * One inbound TCP segment as the socket layer sees it: ports, sequence space, options and a view
 * of the payload, with no network-layer fields, so IPv6 can fill the same record. The engine
 * reuses one record for every segment; a socket must not keep it past the call.
 */
export interface TcpSegment {
  srcPort: number;
  dstPort: number;
  flags: number;
  seq: number;
  ack: number;
  /** The window field as sent (not yet scaled). */
  window: number;
  /** The buffer holding the payload, and where it lies in it. */
  payload: Buffer;
  payloadOffset: number;
  payloadLength: number;
  hasTimestamp: boolean;
  tsVal: number;
  tsEcr: number;
  /** Capture time, milliseconds since the epoch. */
  timeMs: number;
}

const EMPTY = Buffer.alloc(0);

export function emptySegment(): TcpSegment {
  return { srcPort: 0, dstPort: 0, flags: 0, seq: 0, ack: 0, window: 0, payload: EMPTY, payloadOffset: 0, payloadLength: 0, hasTimestamp: false, tsVal: 0, tsEcr: 0, timeMs: 0 };
}

/**
 * Fill `out` from a validated TCP view over `frame`. Options are parsed (into `opts`, reused) only
 * when `wantOptions`: a connection without timestamps reads none, and an RST needs none.
 */
export function segmentFromView(tcp: TcpView, frame: Buffer, opts: TcpOptionSummary, wantOptions: boolean, timeMs: number, out: TcpSegment): TcpSegment {
  if (wantOptions) readTcpOptions(tcp, opts);
  else opts.hasTimestamp = false;
  out.srcPort = tcp.srcPort;
  out.dstPort = tcp.dstPort;
  out.flags = tcp.flags;
  out.seq = tcp.seq;
  out.ack = tcp.ack;
  out.window = tcp.window;
  out.payload = frame;
  out.payloadOffset = tcp.payloadOffset;
  out.payloadLength = tcp.payloadLength;
  out.hasTimestamp = opts.hasTimestamp;
  out.tsVal = opts.tsVal;
  out.tsEcr = opts.tsEcr;
  out.timeMs = timeMs;
  return out;
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
/** b - a in sequence space (a before b). */
export function seqDiff(b: number, a: number): number {
  return (b - a) | 0;
}
