import { internetChecksum } from '../wire/checksum';
import { ETH_HEADER_LEN } from '../wire/ethernet';
import type { Ipv4View } from '../wire/ipv4';

interface Fragment {
  offset: number;
  data: Buffer;
}

interface Pending {
  key: string;
  firstAt: number;
  /** Copy of the Ethernet + IP header of the offset-0 fragment, once seen. */
  head: Buffer | null;
  fragments: Fragment[];
  /** Payload length, known once the last fragment (MF=0) arrives; -1 before. */
  totalPayload: number;
  bytes: number;
}

export type ReassemblyResult =
  | { status: 'pending' }
  | { status: 'dropped'; reason: string }
  | { status: 'complete'; frame: Buffer; length: number };

const PENDING: ReassemblyResult = { status: 'pending' };

/**
 * Bounded IPv4 reassembly with Linux's policy: overlapping fragments poison the datagram
 * (RFC 5722 style, as Linux has done since 2018), oversize datagrams and misaligned
 * non-final fragments are dropped, and partial datagrams expire.
 */
export class Reassembler {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly maxDatagrams: number,
    private readonly maxBytes: number,
    private readonly timeoutMs: number,
  ) {}

  get size(): number { return this.pending.size; }

  /** Feed one fragment whose frame starts at 0 and IP header at ETH_HEADER_LEN. */
  add(frame: Buffer, ip: Ipv4View, now: number): ReassemblyResult {
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
      p = { key, firstAt: now, head: null, fragments: [], totalPayload: -1, bytes: 0 };
      this.pending.set(key, p);
    }
    for (const f of p.fragments) {
      if (offset < f.offset + f.data.length && f.offset < offset + len) return this.poison(key, 'overlapping-fragment');
    }
    if (!ip.mf) {
      if (p.totalPayload >= 0 && p.totalPayload !== offset + len) return this.poison(key, 'conflicting-last-fragment');
      // Fragments queued before the end was known must lie inside it, or the byte count below lies.
      for (const f of p.fragments) if (f.offset + f.data.length > offset + len) return this.poison(key, 'fragment-beyond-end');
      p.totalPayload = offset + len;
    }
    if (p.totalPayload >= 0 && offset + len > p.totalPayload) return this.poison(key, 'fragment-beyond-end');
    p.bytes += len;
    if (p.bytes > this.maxBytes) return this.poison(key, 'reassembly-too-large');
    p.fragments.push({ offset, data: Buffer.from(frame.subarray(ip.payloadOffset, ip.payloadOffset + len)) });
    if (offset === 0) p.head = Buffer.from(frame.subarray(0, ETH_HEADER_LEN + ip.headerLength));

    if (p.totalPayload < 0 || p.head === null || p.bytes !== p.totalPayload) return PENDING;
    // No overlaps and the byte count equals the datagram length: coverage is complete.
    this.pending.delete(key);
    const hl = p.head.length - ETH_HEADER_LEN;
    const out = Buffer.alloc(p.head.length + p.totalPayload);
    p.head.copy(out, 0);
    for (const f of p.fragments) f.data.copy(out, p.head.length + f.offset);
    const ipOff = ETH_HEADER_LEN;
    out.writeUInt16BE(hl + p.totalPayload, ipOff + 2);
    out[ipOff + 6] &= 0x40; // keep DF, clear MF and offset
    out[ipOff + 7] = 0;
    out[ipOff + 10] = 0;
    out[ipOff + 11] = 0;
    out.writeUInt16BE(internetChecksum(out, ipOff, ipOff + hl), ipOff + 10);
    return { status: 'complete', frame: out, length: out.length };
  }

  /** Forget partial datagrams older than the timeout. Linux would send ICMP time exceeded (reassembly) only if fragment 0 arrived; decoyd stays silent. */
  expire(now: number): number {
    let n = 0;
    for (const [key, p] of this.pending) {
      if (now - p.firstAt < this.timeoutMs) break; // insertion order = age order
      this.pending.delete(key);
      n++;
    }
    return n;
  }

  private poison(key: string, reason: string): ReassemblyResult {
    this.pending.delete(key);
    return { status: 'dropped', reason };
  }
}
