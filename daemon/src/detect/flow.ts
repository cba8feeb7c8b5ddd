/**
 * Per-source state: a source holds at most one flow per scan style ("category"); a flow counts
 * that style's packets, distinct targets and ports exactly (within bounds) and the tool marks its
 * packets carry. Records are pooled and reused, so steady-state tracking allocates nothing.
 */
import { BoundedIntSet, PortBitmap } from './bounded-sets';
import { MARK_COUNT } from './signatures';

/** How a packet is counted: each observed packet goes to at most one category. */
export const Category = {
  ARP: 0, PING: 1, TCP_SYN: 2, TCP_ACK: 3, TCP_FIN: 4, TCP_NULL: 5, TCP_XMAS: 6, TCP_MAIMON: 7,
  UDP: 8, IP_PROTO: 9, OS: 10, SERVICE: 11,
} as const;
export type CategoryCode = (typeof Category)[keyof typeof Category];
export const CATEGORY_COUNT = 12;

export class Flow {
  category: CategoryCode = Category.ARP;
  source: SourceState | null = null;
  /** Position in the detector's active list (for O(1) removal). */
  activeIndex = -1;
  firstSeen = 0;
  lastSeen = 0;
  packets = 0;
  readonly targets: BoundedIntSet;
  /** Destination ports (TCP/UDP), or IP protocol numbers for a protocol scan. */
  readonly ports = new PortBitmap();
  readonly marks = new Uint32Array(MARK_COUNT);
  firstSport = -1;
  prevSport = -1;
  firstSeq = -1;
  ttlMin = 256;
  ttlMax = -1;
  /** Bits of OS_PROBE_NAMES seen. */
  osShapes = 0;
  /** ICMP request types seen (bit = type, types < 32). */
  icmpTypes = 0;
  /** Service probes seen: bit per ServiceProbeTable index (< 256). */
  readonly serviceProbes = new Uint32Array(8);
  serviceProbeCount = 0;
  /** Service probes reported by the services that answered them (service.probe / service.request), bit per index. */
  readonly sessionProbes = new Uint32Array(8);
  sessionProbeCount = 0;
  /** SYNs answered by the scanner with the handshake's ACK (connect) or with a RST (SYN scan). */
  handshakes = 0;
  handshakeResets = 0;
  /** Of those resets, how many carried window 1200 (masscan's own stack). */
  resetsWindow1200 = 0;
  /** Set at the first report; the same for every later report of this campaign. */
  scanId: string | null = null;
  reportedAt = 0;
  packetsAtReport = 0;

  constructor(maxTargets: number) {
    this.targets = new BoundedIntSet(maxTargets);
  }

  reset(source: SourceState, category: CategoryCode, now: number): void {
    this.source = source;
    this.category = category;
    this.firstSeen = now;
    this.lastSeen = now;
    this.packets = 0;
    this.targets.clear();
    this.ports.clear();
    this.marks.fill(0);
    this.firstSport = -1;
    this.prevSport = -1;
    this.firstSeq = -1;
    this.ttlMin = 256;
    this.ttlMax = -1;
    this.osShapes = 0;
    this.icmpTypes = 0;
    this.serviceProbes.fill(0);
    this.serviceProbeCount = 0;
    this.sessionProbes.fill(0);
    this.sessionProbeCount = 0;
    this.handshakes = 0;
    this.handshakeResets = 0;
    this.resetsWindow1200 = 0;
    this.scanId = null;
    this.reportedAt = 0;
    this.packetsAtReport = 0;
  }

  addServiceProbe(index: number): void {
    if (index < 0 || index >= 256) return;
    const w = index >>> 5;
    const bit = 1 << (index & 31);
    if ((this.serviceProbes[w] & bit) !== 0) return;
    this.serviceProbes[w] |= bit;
    this.serviceProbeCount++;
  }

  markSessionProbe(index: number): void {
    if (index < 0 || index >= 256 || this.sessionProbeSeen(index)) return;
    this.sessionProbes[index >>> 5] |= 1 << (index & 31);
    this.sessionProbeCount++;
  }

  sessionProbeSeen(index: number): boolean {
    return index >= 0 && index < 256 && (this.sessionProbes[index >>> 5] & (1 << (index & 31))) !== 0;
  }

  hasServiceProbe(index: number): boolean {
    return index >= 0 && index < 256 && (this.serviceProbes[index >>> 5] & (1 << (index & 31))) !== 0;
  }
}

export class SourceState {
  ip = 0;
  lastSeen = 0;
  readonly flows: (Flow | null)[] = new Array<Flow | null>(CATEGORY_COUNT).fill(null);
  flowCount = 0;
  /** Least-recently-seen list links (head = most recent). */
  prev: SourceState | null = null;
  next: SourceState | null = null;
}

export function popcount(x: number): number {
  let v = x >>> 0;
  let n = 0;
  while (v !== 0) { v &= v - 1; n++; }
  return n;
}
