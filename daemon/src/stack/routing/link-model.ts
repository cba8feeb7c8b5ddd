/**
 * One directed virtual link (router → next hop): latency with jitter, loss, bandwidth with its
 * queue, and Honeyd's RED-like `drop between` on that queue's delay. Pure state and arithmetic
 * over times in milliseconds; the randomness is injected so tests can seed it.
 */

/** traverse() results below zero: the packet does not arrive. */
export const LinkLoss = { LOST: -1, QUEUE_DROP: -2 } as const;

export class LinkModel {
  latencyMs = 0;
  /** Uniform ± jitter around the latency, milliseconds. */
  jitterMs = 0;
  /** Probability (0-1) that a packet is lost. */
  loss = 0;
  /** Bits per second; 0 = no serialisation delay and no queue. */
  bandwidthBps = 0;
  /** RED: drop probability rises from 0 at dropLowMs to 1 at dropHighMs of queueing delay (0 = off). */
  dropLowMs = 0;
  dropHighMs = 0;
  /** When the link has finished sending what it holds (bandwidth queue). */
  private busyUntil = 0;
  /** The latest arrival handed out: arrivals never overtake each other on one link. */
  private lastArrival = 0;
  readonly counters = { packets: 0, lost: 0, queueDropped: 0 };

  /**
   * A packet of `bytes` enters the link at `atMs`. Returns when it reaches the far end, or a
   * LinkLoss code. Loss is drawn first, so a lost packet never occupies the queue.
   */
  traverse(atMs: number, bytes: number, random: () => number): number {
    this.counters.packets++;
    if (this.loss > 0 && random() < this.loss) {
      this.counters.lost++;
      return LinkLoss.LOST;
    }
    let depart = atMs;
    if (this.bandwidthBps > 0) {
      const start = this.busyUntil > atMs ? this.busyUntil : atMs;
      const queued = start - atMs;
      if (this.dropHighMs > 0 && queued >= this.dropLowMs) {
        const p = queued >= this.dropHighMs ? 1 : (queued - this.dropLowMs) / (this.dropHighMs - this.dropLowMs);
        if (random() < p) {
          this.counters.queueDropped++;
          return LinkLoss.QUEUE_DROP;
        }
      }
      depart = start + (bytes * 8000) / this.bandwidthBps;
      this.busyUntil = depart;
    }
    let arrival = depart + this.latencyMs;
    if (this.jitterMs > 0) arrival += (random() * 2 - 1) * this.jitterMs;
    if (arrival < depart) arrival = depart;
    // A link keeps its packets in order (jitter must not reorder a TCP stream).
    if (arrival < this.lastArrival) arrival = this.lastArrival;
    this.lastArrival = arrival;
    return arrival;
  }
}
