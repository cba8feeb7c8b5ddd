import type { OverlapPolicy } from '../personality/behaviour/types';
import { internetChecksum } from '../wire/checksum';
import { ETH_HEADER_LEN } from '../wire/ethernet';
import type { Ipv4View } from '../wire/ipv4';

interface Fragment {
  offset: number;
  data: Buffer;
}

interface Pending {
  key: string;
  /** When this partial datagram is forgotten (its host's family timeout, within the configured bound). */
  expiresAt: number;
  policy: OverlapPolicy;
  /** Copy of the Ethernet + IP header of the offset-0 fragment, once seen. */
  head: Buffer | null;
  /** In arrival order: the overlap policies need it. */
  fragments: Fragment[];
  /** Payload length, known once the last fragment (MF=0) arrives; -1 before. */
  totalPayload: number;
  /** Bytes held, overlaps counted twice (the memory bound). */
  bytes: number;
  overlapped: boolean;
}

export type ReassemblyResult =
  | { status: 'pending' }
  | { status: 'dropped'; reason: string }
  | { status: 'complete'; frame: Buffer; length: number };

const PENDING: ReassemblyResult = { status: 'pending' };

/**
 * Bounded IPv4 reassembly with the destination's overlap policy (OverlapPolicy): Linux's 'drop'
 * (overlapping fragments poison the datagram, as Linux has done since 2018), or the first / last /
 * BSD rules of older and other stacks. For every policy, oversize datagrams, misaligned non-final
 * fragments and fragments beyond a known end are dropped, and partial datagrams expire.
 */
export class Reassembler {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly maxDatagrams: number,
    private readonly maxBytes: number,
    /** Upper bound on how long any partial datagram is kept (limits.reassemblyTimeoutMs). */
    private readonly timeoutMs: number,
  ) {}

  get size(): number { return this.pending.size; }

  /**
   * Feed one fragment whose frame starts at 0 and IP header at ETH_HEADER_LEN, for a host whose
   * family reassembles with `policy` and forgets partial datagrams after `timeoutMs`.
   */
  add(frame: Buffer, ip: Ipv4View, now: number, policy: OverlapPolicy = 'drop', timeoutMs = this.timeoutMs): ReassemblyResult {
    const key = `${ip.src}:${ip.dst}:${ip.id}:${ip.protocol}`;
    const offset = ip.fragmentOffset;
    const len = ip.payloadLength;
    if (ip.mf && (len === 0 || len % 8 !== 0)) return this.poison(key, 'misaligned-fragment');
    if (offset + len > 65535 - ip.headerLength) return this.poison(key, 'oversize-datagram');

    let p = this.pending.get(key);
    if (p === undefined) {
      if (this.pending.size >= this.maxDatagrams) {
        // Evict the oldest partial datagram, as a full fragment queue does.
        const oldest = this.pending.keys().next();
        if (!oldest.done) this.pending.delete(oldest.value);
      }
      p = { key, expiresAt: now + Math.min(timeoutMs, this.timeoutMs), policy, head: null, fragments: [], totalPayload: -1, bytes: 0, overlapped: false };
      this.pending.set(key, p);
    }
    // The end checks come first, as in Linux's ip_frag_queue: a second, different last fragment is
    // corruption even when its bytes are already queued.
    let pendingEnd = -1;
    if (!ip.mf) {
      if (p.totalPayload >= 0 && p.totalPayload !== offset + len) return this.poison(key, 'conflicting-last-fragment');
      // Fragments queued before the end was known must lie inside it.
      for (const f of p.fragments) if (f.offset + f.data.length > offset + len) return this.poison(key, 'fragment-beyond-end');
      pendingEnd = offset + len;
    }
    const end = pendingEnd >= 0 ? pendingEnd : p.totalPayload;
    if (end >= 0 && offset + len > end) return this.poison(key, 'fragment-beyond-end');
    if (pendingEnd >= 0) p.totalPayload = pendingEnd;
    let overlaps = false;
    for (const f of p.fragments) if (offset < f.offset + f.data.length && f.offset < offset + len) overlaps = true;
    if (overlaps && p.policy === 'drop') {
      // Linux (inet_frag_queue_insert): a fragment wholly inside bytes already queued is a duplicate,
      // dropped on its own; any other overlap discards the datagram.
      if (insideCovered(p.fragments, offset, offset + len)) return PENDING;
      return this.poison(key, 'overlapping-fragment');
    }
    if (overlaps) p.overlapped = true;
    p.bytes += len;
    if (p.bytes > this.maxBytes) return this.poison(key, 'reassembly-too-large');
    p.fragments.push({ offset, data: Buffer.from(frame.subarray(ip.payloadOffset, ip.payloadOffset + len)) });
    // The header comes from the offset-0 fragment whose bytes win under the policy.
    if (offset === 0 && (p.head === null || p.policy === 'last')) p.head = Buffer.from(frame.subarray(0, ETH_HEADER_LEN + ip.headerLength));

    if (p.totalPayload < 0 || p.head === null) return PENDING;
    // Without overlaps the byte count equals the datagram length exactly when coverage is complete.
    if (p.overlapped ? !covers(p.fragments, p.totalPayload) : p.bytes !== p.totalPayload) return PENDING;
    this.pending.delete(key);
    const hl = p.head.length - ETH_HEADER_LEN;
    const out = Buffer.alloc(p.head.length + p.totalPayload);
    p.head.copy(out, 0);
    if (p.overlapped) assembleOverlapping(p.fragments, p.policy, out, p.head.length, p.totalPayload);
    else for (const f of p.fragments) f.data.copy(out, p.head.length + f.offset);
    const ipOff = ETH_HEADER_LEN;
    out.writeUInt16BE(hl + p.totalPayload, ipOff + 2);
    out[ipOff + 6] &= 0x40; // keep DF, clear MF and offset
    out[ipOff + 7] = 0;
    out[ipOff + 10] = 0;
    out[ipOff + 11] = 0;
    out.writeUInt16BE(internetChecksum(out, ipOff, ipOff + hl), ipOff + 10);
    return { status: 'complete', frame: out, length: out.length };
  }

  /**
   * Forget partial datagrams past their time. When fragment 0 had arrived, `onTimeout` gets it
   * back as a frame (its Ethernet and IP header as received, then its payload): the host's family
   * may answer ICMP time exceeded (reassembly), as Linux's ip_expire does. At most one call per
   * expired datagram; the caller's ICMP error limiter bounds what goes out.
   */
  expire(now: number, onTimeout?: (fragmentZero: Buffer) => void): number {
    let n = 0;
    for (const [key, p] of this.pending) {
      if (now < p.expiresAt) continue;
      this.pending.delete(key);
      n++;
      if (onTimeout === undefined || p.head === null) continue;
      const zero = p.policy === 'last' ? lastAtZero(p.fragments) : p.fragments.find((f) => f.offset === 0);
      if (zero !== undefined) onTimeout(Buffer.concat([p.head, zero.data]));
    }
    return n;
  }

  private poison(key: string, reason: string): ReassemblyResult {
    this.pending.delete(key);
    return { status: 'dropped', reason };
  }
}

function lastAtZero(fragments: readonly Fragment[]): Fragment | undefined {
  for (let i = fragments.length - 1; i >= 0; i--) if ((fragments[i] as Fragment).offset === 0) return fragments[i];
  return undefined;
}

/** Whether [start, end) lies inside one contiguous stretch of queued bytes. */
function insideCovered(fragments: readonly Fragment[], start: number, end: number): boolean {
  let reach = start;
  let grew = true;
  // Walk forward over queued fragments holding the byte at `reach`; at most one pass per fragment.
  while (grew && reach < end) {
    grew = false;
    for (const f of fragments) {
      if (f.offset <= reach && f.offset + f.data.length > reach) {
        reach = f.offset + f.data.length;
        grew = true;
      }
    }
  }
  return reach >= end;
}

/** Whether the fragments cover [0, total) without a hole. */
function covers(fragments: readonly Fragment[], total: number): boolean {
  const sorted = [...fragments].sort((a, b) => a.offset - b.offset);
  let end = 0;
  for (const f of sorted) {
    if (f.offset > end) return false;
    end = Math.max(end, f.offset + f.data.length);
  }
  return end >= total;
}

/**
 * Lay overlapping fragments (arrival order) into `out` at `base`: 'first' keeps the bytes that came
 * first, 'last' the newest; 'bsd' (ip_reass) gives each byte to the fragment that starts lowest,
 * the earlier one on a tie.
 */
function assembleOverlapping(fragments: readonly Fragment[], policy: OverlapPolicy, out: Buffer, base: number, total: number): void {
  const owner = new Int32Array(total).fill(-1);
  for (const f of fragments) {
    for (let i = 0; i < f.data.length; i++) {
      const at = f.offset + i;
      const o = owner[at] as number;
      const take = o < 0 || policy === 'last' || (policy === 'bsd' && o > f.offset);
      if (!take) continue;
      owner[at] = f.offset;
      out[base + at] = f.data[i] as number;
    }
  }
}
