import type { IcmpErrorLimit } from '../personality/host-personality';

interface Bucket {
  /** Milliseconds of credit, capped at burst × interval (Linux's xrlim). */
  credit: number;
  lastMs: number;
}

/**
 * Per-decoy token buckets for ICMP errors, per peer or host-wide as the OS keeps them. Each
 * decoy remembers at most `maxPeers` peers; the oldest is forgotten first (so it starts full again).
 */
export class IcmpErrorLimiter {
  private readonly buckets = new Map<number, Map<number, Bucket>>();

  constructor(private readonly maxPeers: number) {}

  /** True when `host` may send an ICMP error to `peer` at `nowMs`; spends the credit if so. */
  allow(host: number, peer: number, limit: IcmpErrorLimit | null, nowMs: number): boolean {
    if (limit === null) return true;
    // A host-wide limit (BSD icmplim, Cisco IOS) is one bucket under the reserved peer key 0.0.0.0.
    if (limit.scope === 'host') peer = 0;
    let perHost = this.buckets.get(host);
    if (perHost === undefined) {
      perHost = new Map();
      this.buckets.set(host, perHost);
    }
    const cap = limit.burst * limit.intervalMs;
    let b = perHost.get(peer);
    if (b === undefined) {
      if (perHost.size >= this.maxPeers) {
        const oldest = perHost.keys().next();
        if (!oldest.done) perHost.delete(oldest.value);
      }
      b = { credit: cap, lastMs: nowMs };
      perHost.set(peer, b);
    }
    b.credit = Math.min(cap, b.credit + Math.max(0, nowMs - b.lastMs));
    b.lastMs = nowMs;
    if (b.credit < limit.intervalMs) return false;
    b.credit -= limit.intervalMs;
    return true;
  }
}
