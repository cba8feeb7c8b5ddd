/**
 * Per-interval packet counts for sinks that want the per-packet kinds (`tcp.packet`,
 * `udp.packet`, `icmp`, and `drop`, which a flood past a bound makes per packet too) folded rather than one by one: the store. A flood of a million SYNs from
 * one source to one port is then a few rows per flush interval with a count, not a million rows,
 * and the frame path pays a hash-table update per packet instead of building an event.
 *
 * One bucket per (kind, source, destination, destination port or ICMP type/code, TCP flags,
 * port state, answer or drop reason) within an interval. On a hit the frame path allocates nothing: keys and
 * counts live in preallocated typed arrays, state and answer are the callers' constant strings.
 * `drain` turns the buckets into ordinary events carrying `packets` (how many were folded, ≥ 1)
 * and `lastTime` (the last one's time; `time` is the first's); `srcPort`, the MACs and a UDP
 * datagram's `length` are the first packet's. The table is bounded (`maxBuckets`); when it is
 * full it is drained early, so nothing is lost and nothing grows.
 */
import type { DecoyEvent, DropEvent, IcmpEvent, TcpPacketEvent, UdpPacketEvent } from './event';
import { ipToString } from '../wire/address';
import { ETH_DST, ETH_SRC } from '../wire/ethernet';
import { tcpFlagsToString } from '../wire/tcp';

/** What the frame path calls when some sink counts packets. */
export interface PacketCounts {
  tcp(frame: Buffer, srcIp: number, dstIp: number, srcPort: number, dstPort: number, flags: number, state: TcpPacketEvent['state'], answer: string, time: number): void;
  udp(frame: Buffer, srcIp: number, dstIp: number, srcPort: number, dstPort: number, length: number, state: UdpPacketEvent['state'], answer: string, time: number): void;
  icmp(frame: Buffer, srcIp: number, dstIp: number, type: number, code: number, answer: string, time: number): void;
  /** A packet dropped by policy or as malformed (`drop`); src/dst -1 when unknown. */
  drop(srcIp: number, dstIp: number, reason: string, time: number): void;
}

/** The kinds a PacketTally folds. */
export const COUNTED_KINDS: ReadonlySet<string> = new Set(['tcp.packet', 'udp.packet', 'icmp', 'drop']);

const KIND_TCP = 0;
const KIND_UDP = 1;
const KIND_ICMP = 2;
const KIND_DROP = 3;
const NO_FRAME = Buffer.alloc(14);

export const DEFAULT_TALLY_BUCKETS = 16_384;

export class PacketTally implements PacketCounts {
  private readonly capacity: number;
  private readonly mask: number;
  /** Hash slot → bucket index + 1 (0 = empty). */
  private readonly slots: Int32Array;
  private readonly kind: Uint8Array;
  private readonly src: Uint32Array;
  private readonly dst: Uint32Array;
  /** dport (or ICMP type·256 + code) · 512 + TCP flags (9 bits, NS included). */
  private readonly port: Uint32Array;
  private readonly sport: Uint16Array;
  private readonly length: Uint16Array;
  private readonly macs: Uint32Array; // per bucket: src hi, src lo, dst hi, dst lo
  private readonly first: Float64Array;
  private readonly last: Float64Array;
  private readonly count: Uint32Array;
  private readonly state: string[];
  private readonly answer: string[];
  private used = 0;
  /** Packets folded since start, and buckets drained (events made). */
  packets = 0;
  rows = 0;

  /** `out` receives each drained bucket as an event. */
  constructor(private readonly out: (event: DecoyEvent) => void, maxBuckets = DEFAULT_TALLY_BUCKETS) {
    this.capacity = Math.max(16, maxBuckets);
    let size = 1;
    while (size < this.capacity * 2) size <<= 1;
    this.mask = size - 1;
    this.slots = new Int32Array(size);
    this.kind = new Uint8Array(this.capacity);
    this.src = new Uint32Array(this.capacity);
    this.dst = new Uint32Array(this.capacity);
    this.port = new Uint32Array(this.capacity);
    this.sport = new Uint16Array(this.capacity);
    this.length = new Uint16Array(this.capacity);
    this.macs = new Uint32Array(this.capacity * 4);
    this.first = new Float64Array(this.capacity);
    this.last = new Float64Array(this.capacity);
    this.count = new Uint32Array(this.capacity);
    this.state = new Array<string>(this.capacity).fill('');
    this.answer = new Array<string>(this.capacity).fill('');
  }

  /** Buckets in use now. */
  get size(): number {
    return this.used;
  }

  tcp(frame: Buffer, srcIp: number, dstIp: number, srcPort: number, dstPort: number, flags: number, state: TcpPacketEvent['state'], answer: string, time: number): void {
    this.add(KIND_TCP, frame, srcIp, dstIp, dstPort * 512 + (flags & 0x1ff), srcPort, 0, state, answer, time);
  }

  udp(frame: Buffer, srcIp: number, dstIp: number, srcPort: number, dstPort: number, length: number, state: UdpPacketEvent['state'], answer: string, time: number): void {
    this.add(KIND_UDP, frame, srcIp, dstIp, dstPort * 512, srcPort, length, state, answer, time);
  }

  icmp(frame: Buffer, srcIp: number, dstIp: number, type: number, code: number, answer: string, time: number): void {
    this.add(KIND_ICMP, frame, srcIp, dstIp, ((type & 0xff) * 256 + (code & 0xff)) * 512, 0, 0, '', answer, time);
  }

  drop(srcIp: number, dstIp: number, reason: string, time: number): void {
    // Absent addresses are flagged in the port field, so 0.0.0.0 stays an address.
    const absent = (srcIp < 0 ? 1 : 0) | (dstIp < 0 ? 2 : 0);
    this.add(KIND_DROP, NO_FRAME, srcIp < 0 ? 0 : srcIp, dstIp < 0 ? 0 : dstIp, absent, 0, 0, '', reason, time);
  }

  private add(kind: number, frame: Buffer, src: number, dst: number, port: number, sport: number, length: number, state: string, answer: string, time: number): void {
    this.packets++;
    src >>>= 0;
    dst >>>= 0;
    let h = Math.imul(src ^ Math.imul(dst, 0x9e3779b1), 0x85ebca6b) ^ Math.imul(port + kind, 0xc2b2ae35);
    h ^= h >>> 15;
    for (let slot = h & this.mask; ; slot = (slot + 1) & this.mask) {
      const at = this.slots[slot] as number;
      if (at === 0) break;
      const b = at - 1;
      if (this.src[b] === src && this.dst[b] === dst && this.port[b] === port && this.kind[b] === kind && this.answer[b] === answer && this.state[b] === state) {
        this.count[b]++;
        if (time > (this.last[b] as number)) this.last[b] = time;
        return;
      }
    }
    if (this.used >= this.capacity) this.drain();
    const b = this.used++;
    // Re-probe: a drain emptied the table.
    let slot = h & this.mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
    this.slots[slot] = b + 1;
    this.kind[b] = kind;
    this.src[b] = src;
    this.dst[b] = dst;
    this.port[b] = port;
    this.sport[b] = sport;
    this.length[b] = Math.min(length, 0xffff);
    const m = b * 4;
    this.macs[m] = frame.readUInt16BE(ETH_SRC);
    this.macs[m + 1] = frame.readUInt32BE(ETH_SRC + 2);
    this.macs[m + 2] = frame.readUInt16BE(ETH_DST);
    this.macs[m + 3] = frame.readUInt32BE(ETH_DST + 2);
    this.first[b] = time;
    this.last[b] = time;
    this.count[b] = 1;
    this.state[b] = state;
    this.answer[b] = answer;
  }

  /** Hands every bucket to `out` as an event (first-seen order) and empties the table. */
  drain(): void {
    const n = this.used;
    if (n === 0) return;
    this.used = 0;
    this.slots.fill(0);
    this.rows += n;
    for (let b = 0; b < n; b++) {
      const m = b * 4;
      const base = {
        time: this.first[b] as number,
        srcMac: macText(this.macs[m] as number, this.macs[m + 1] as number),
        dstMac: macText(this.macs[m + 2] as number, this.macs[m + 3] as number),
        srcIp: ipToString(this.src[b] as number),
        dstIp: ipToString(this.dst[b] as number),
        answer: this.answer[b] as string,
        packets: this.count[b] as number,
        lastTime: this.last[b] as number,
      };
      const port = this.port[b] as number;
      const kind = this.kind[b];
      let event: TcpPacketEvent | UdpPacketEvent | IcmpEvent | DropEvent;
      if (kind === KIND_DROP) {
        event = { kind: 'drop', time: base.time, reason: base.answer, packets: base.packets, lastTime: base.lastTime };
        if ((port & 1) === 0) event.srcIp = base.srcIp;
        if ((port & 2) === 0) event.dstIp = base.dstIp;
      } else if (kind === KIND_TCP) {
        event = { kind: 'tcp.packet', ...base, srcPort: this.sport[b] as number, dstPort: port >>> 9, flags: tcpFlagsToString(port & 0x1ff), state: this.state[b] as TcpPacketEvent['state'] };
      } else if (kind === KIND_UDP) {
        event = { kind: 'udp.packet', ...base, srcPort: this.sport[b] as number, dstPort: port >>> 9, length: this.length[b] as number, state: this.state[b] as UdpPacketEvent['state'] };
      } else {
        event = { kind: 'icmp', ...base, type: port >>> 17, code: (port >>> 9) & 0xff };
      }
      this.state[b] = '';
      this.answer[b] = '';
      this.out(event);
    }
  }
}

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function macText(hi: number, lo: number): string {
  return `${HEX[(hi >>> 8) & 0xff]}:${HEX[hi & 0xff]}:${HEX[lo >>> 24]}:${HEX[(lo >>> 16) & 0xff]}:${HEX[(lo >>> 8) & 0xff]}:${HEX[lo & 0xff]}`;
}
