/**
 * The seam for per-OS TCP timing: how often and how long an OS retransmits, how long TIME_WAIT
 * lasts and how long an ACK may wait. The socket layer reads these per host (HostPersonality's
 * optional `tcpTiming`); hosts without one behave as Linux.
 */
export interface TcpTimingProfile {
  /**
   * Delays after the first SYN/ACK at which it is sent again, cumulative (Linux: 1, 3, 7, 15, 31 s).
   * The half-open connection is given up one doubled interval after the last one (Linux: 63 s).
   */
  synAckRetransmitMs: readonly number[];
  /** Retransmission timeout before an RTT sample exists (RFC 6298: 1 s). */
  initialRtoMs: number;
  minRtoMs: number;
  maxRtoMs: number;
  /** Retransmissions of our data without progress before the connection is reset (Linux tcp_retries2). */
  maxDataRetries: number;
  timeWaitMs: number;
  /** Longest an ACK of received data waits for more data or a reply to ride on. */
  delayedAckMs: number;
}

/** Linux defaults (tcp_synack_retries 5, TCP_RTO_MIN 200 ms, TCP_RTO_MAX 120 s, tcp_retries2 15, TCP_TIMEWAIT_LEN 60 s, 40 ms delayed ACK). */
export const LINUX_TCP_TIMING: TcpTimingProfile = {
  synAckRetransmitMs: [1000, 3000, 7000, 15000, 31000],
  initialRtoMs: 1000,
  minRtoMs: 200,
  maxRtoMs: 120000,
  maxDataRetries: 15,
  timeWaitMs: 60000,
  delayedAckMs: 40,
};

/** When a half-open connection under `t` is given up, measured from its first SYN/ACK. */
export function synAckGiveUpMs(t: TcpTimingProfile): number {
  const d = t.synAckRetransmitMs;
  if (d.length === 0) return t.initialRtoMs;
  const last = d[d.length - 1] as number;
  const prev = d.length > 1 ? d[d.length - 2] as number : 0;
  return last + 2 * (last - prev);
}
