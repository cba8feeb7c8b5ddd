/**
 * The virtual topology at run time, hooked around the engine's dispatch:
 *
 * - ingress: an IPv4 frame sent to an entry router's MAC for an address the topology routes is
 *   walked through the routers (path.ts). It is then delivered to the destination decoy with its
 *   TTL lowered, or answered by the router where it ended (time exceeded, net or host
 *   unreachable), after the latency accumulated up to that point.
 * - egress: every frame the decoys send passes here (the FrameBuilder's send). A frame from a
 *   virtual host or router walks back to the entry router, loses a TTL per router, takes the
 *   links' delay and loss, and leaves with the entry router's MAC as its source.
 *
 * Delays never block the packet path: frames wait in a bounded DelayQueue (copied into its pool).
 */

import type { Limits } from '../../config/types';
import type { DecoyEvent, EventSink } from '../../events/event';
import { ipToString, macEquals } from '../../wire/address';
import { internetChecksum } from '../../wire/checksum';
import { copyMac, ETH_DST, ETH_HEADER_LEN, ETH_SRC, EtherType } from '../../wire/ethernet';
import { IcmpType, UnreachableCode } from '../../wire/icmp';
import { IpProto, Ipv4View } from '../../wire/ipv4';
import { Malformed } from '../../wire/malformed';
import { isUsableUnicast } from '../address-manager';
import type { DecoyHost, DecoyTable, TemplateRuntime } from '../decoy-table';
import { MAX_FRAME } from '../frame-builder';
import { DelayQueue } from './delay-queue';
import { PathOutcome, PathResult, PathWalker } from './path';
import { RealHosts } from './real-hosts';
import { inNet, type RoutingTables, type VirtualRouter } from './tables';

export interface RoutingSpec {
  tables: RoutingTables;
  /** Decoys behind the routers, and every router not bound on the LAN, by address. */
  hosts: Map<number, DecoyHost>;
  /** Answers for unbound addresses in `link` networks (Honeyd's `default` template), if configured. */
  defaultTemplate?: TemplateRuntime;
  /** Real machines on the LAN placed in `link` networks (Honeyd `bind IP to IF`). */
  realHosts?: number[];
}

/** What the engine does for the topology: the same paths a LAN frame takes. */
export interface RoutingHooks {
  /** A routed frame reached `host` (TTL already lowered): droprate, reassembly, dispatch. */
  deliver(host: DecoyHost, frame: Buffer, length: number, timeMs: number): void;
  /** `router` answers the datagram in `frame` with an ICMP error; false when it stays silent. */
  icmpError(router: DecoyHost, frame: Buffer, ip: Ipv4View, type: number, code: number, timeMs: number): boolean;
  drop(reason: string, timeMs: number, src: number, dst: number): void;
  /** Makes a decoy for an unbound address (its MAC never shows: frames leave with the entry's). */
  createHost(ip: number, template: TemplateRuntime): DecoyHost;
}

/** Schedules `fn` after `delayMs`; returns a handle for `cancel`. */
export interface RoutingTimer {
  schedule(fn: () => void, delayMs: number): unknown;
  cancel(handle: unknown): void;
}

export const NODE_TIMER: RoutingTimer = {
  schedule: (fn, delayMs) => {
    const t = setTimeout(fn, delayMs);
    t.unref();
    return t;
  },
  cancel: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

const Tag = { DELIVER: 1, TIME_EXCEEDED: 2, NET_UNREACH: 3, HOST_UNREACH: 4, EGRESS: 5, TO_REAL: 6 } as const;
const IP_TTL = ETH_HEADER_LEN + 8;
const IP_SRC = ETH_HEADER_LEN + 12;
const IP_DST = ETH_HEADER_LEN + 16;
/** Room for the largest frame decoyd sends or a full-size frame it receives. */
const POOL_FRAME = MAX_FRAME + 22;

export interface RoutingCounters {
  routed: number;
  delivered: number;
  timeExceeded: number;
  unreachable: number;
  lost: number;
  queueDropped: number;
  noRoute: number;
  delayQueueFull: number;
  egress: number;
}

export class VirtualRouting {
  readonly counters: RoutingCounters = {
    routed: 0, delivered: 0, timeExceeded: 0, unreachable: 0, lost: 0, queueDropped: 0, noRoute: 0, delayQueueFull: 0, egress: 0,
  };
  readonly queue: DelayQueue<DecoyHost>;
  readonly real: RealHosts;
  private readonly walker: PathWalker;
  private readonly path = new PathResult();
  private readonly view = new Ipv4View();
  private readonly scratch = Buffer.alloc(POOL_FRAME);
  /** Hosts made on demand from the default template, oldest first (bounded). */
  private readonly onDemand = new Map<number, DecoyHost>();
  private hooks: RoutingHooks | null = null;
  private timerHandle: unknown = null;
  private timerAt = Infinity;
  private stopped = false;
  /**
   * While a routed frame is handled, the time it reached its host (capture time plus the path's
   * delay): a reply it causes leaves from that moment, so timer lateness does not add up hop by hop.
   */
  private causeMs = -1;
  private readonly onDue = (frame: Buffer, length: number, tag: number, host: DecoyHost | null, dueMs: number): void => {
    this.handleDue(frame, length, tag, host, dueMs);
  };
  private readonly fire = (): void => {
    this.timerHandle = null;
    this.timerAt = Infinity;
    this.runDue(this.now());
  };

  constructor(
    private readonly spec: RoutingSpec,
    private readonly lan: DecoyTable,
    private readonly limits: Limits,
    private readonly linkSend: (frame: Buffer, length: number) => void,
    private readonly events: EventSink,
    random: () => number,
    private readonly now: () => number,
    /** null: nothing is scheduled; the owner calls runDue (tests, and the engine's tick as a backstop). */
    private readonly timer: RoutingTimer | null = NODE_TIMER,
  ) {
    this.walker = new PathWalker(spec.tables, random);
    this.queue = new DelayQueue<DecoyHost>(limits.maxDelayedFrames, POOL_FRAME, limits.maxDelayMs);
    this.real = new RealHosts(spec.realHosts ?? [], limits.maxNeighbours);
  }

  /** An ARP frame from `senderIp`: a real host's MAC, when it is one. */
  noteArp(senderIp: number, frame: Buffer, senderMacOff: number): void {
    if (this.real.size > 0) this.real.learn(senderIp, frame, senderMacOff);
  }

  attach(hooks: RoutingHooks): void { this.hooks = hooks; }

  /** True when `ip` is a decoy behind the virtual routers (or a virtual router). */
  isVirtual(ip: number): boolean {
    return this.spec.hosts.has(ip) || this.onDemand.has(ip);
  }

  /**
   * A valid IPv4 frame whose destination is no LAN decoy. Returns false when the topology does not
   * take it (not sent to the entry router's MAC, or not a routed destination).
   */
  ingress(frame: Buffer, length: number, ip: Ipv4View, timeMs: number): boolean {
    if (this.real.size > 0 && this.real.has(ip.src)) return this.fromReal(frame, length, ip, timeMs);
    const dst = ip.dst;
    const entry = this.spec.tables.entryFor(dst);
    if (entry === undefined) return false;
    const entryHost = this.lan.get(entry.ip);
    if (entryHost === undefined || !macEquals(frame, ETH_DST, entryHost.mac, 0)) return false;
    const path = this.path;
    const src = ip.src;
    this.walker.inbound(entry, dst, ip.ttl, length, timeMs, true, path);
    if (path.outcome === PathOutcome.NOT_ROUTED) return false;
    const hooks = this.hooks as RoutingHooks;
    this.counters.routed++;
    if (!isUsableUnicast(src) || src === dst) {
      hooks.drop('martian-source', timeMs, src, dst);
      return true;
    }
    const router = path.router as VirtualRouter;
    switch (path.outcome) {
      case PathOutcome.DELIVER: {
        setTtl(frame, path.ttl);
        if (!path.atRouter && this.real.has(dst)) {
          this.real.notePeer(src, frame);
          this.schedule(frame, length, Tag.TO_REAL, entryHost, path.arrivalMs, timeMs, src, dst);
          break;
        }
        const host = path.atRouter ? this.routerHost(router) : this.hostFor(dst);
        if (host === undefined) this.schedule(frame, length, Tag.HOST_UNREACH, this.routerHost(router), path.arrivalMs, timeMs, src, dst);
        else this.schedule(frame, length, Tag.DELIVER, host, path.arrivalMs, timeMs, src, dst);
        break;
      }
      case PathOutcome.TIME_EXCEEDED:
        setTtl(frame, path.ttl);
        this.schedule(frame, length, Tag.TIME_EXCEEDED, this.routerHost(router), path.arrivalMs, timeMs, src, dst);
        break;
      case PathOutcome.NET_UNREACH:
        // Quoted as it reached the router, before its decrement.
        setTtl(frame, path.ttl + 1);
        this.schedule(frame, length, Tag.NET_UNREACH, this.routerHost(router), path.arrivalMs, timeMs, src, dst);
        break;
      default:
        this.countLoss(path.outcome, timeMs, src, dst);
        break;
    }
    return true;
  }

  /** The FrameBuilder's send: frames from virtual sources go back through the routers. */
  egress(frame: Buffer, length: number): void {
    if (length < ETH_HEADER_LEN + 20 || frame.readUInt16BE(12) !== EtherType.IPV4) {
      this.linkSend(frame, length);
      return;
    }
    const src = frame.readUInt32BE(IP_SRC);
    if (!this.isVirtual(src)) {
      this.linkSend(frame, length);
      return;
    }
    const dst = frame.readUInt32BE(IP_DST);
    const now = this.causeMs >= 0 ? this.causeMs : this.now();
    const path = this.path;
    this.walker.outbound(src, dst, frame[IP_TTL] as number, length, now, path);
    if (path.outcome !== PathOutcome.EXIT) {
      this.countLoss(path.outcome, now, src, dst);
      return;
    }
    const exit = this.lan.get((path.router as VirtualRouter).ip);
    if (exit === undefined || length > POOL_FRAME) {
      this.countLoss(PathOutcome.NO_ROUTE, now, src, dst);
      return;
    }
    // Never edit the caller's buffer: the fragmenter reuses its header for every fragment.
    const out = this.scratch;
    frame.copy(out, 0, 0, length);
    setTtl(out, path.ttl);
    copyMac(exit.mac, 0, out, ETH_SRC);
    this.counters.egress++;
    if (path.arrivalMs <= this.now()) this.linkSend(out, length);
    else this.schedule(out, length, Tag.EGRESS, null, path.arrivalMs, now, src, dst);
  }

  /**
   * A frame from a real host (`bind IP to IF`) sent to an entry router's MAC: back through the
   * routers to the LAN peer it answers. False when it is not addressed to an entry router.
   */
  private fromReal(frame: Buffer, length: number, ip: Ipv4View, timeMs: number): boolean {
    let entryHost: DecoyHost | undefined;
    for (const r of this.spec.tables.routers) {
      if (!r.isEntry) continue;
      const h = this.lan.get(r.ip);
      if (h !== undefined && macEquals(frame, ETH_DST, h.mac, 0)) entryHost = h;
    }
    if (entryHost === undefined) return false;
    const src = ip.src;
    const dst = ip.dst;
    this.real.learn(src, frame, ETH_SRC);
    const hooks = this.hooks as RoutingHooks;
    const peer = this.real.peerMac(dst);
    if (peer === null || this.isVirtual(dst) || this.lan.get(dst) !== undefined) {
      // Only the peers that reached it; decoy-to-decoy (and real-to-decoy) traffic is not carried.
      this.real.counters.unknownPeer++;
      hooks.drop('real-host-unknown-peer', timeMs, src, dst);
      return true;
    }
    const path = this.path;
    this.walker.outbound(src, dst, ip.ttl, length, timeMs, path);
    if (path.outcome !== PathOutcome.EXIT) {
      this.countLoss(path.outcome, timeMs, src, dst);
      return true;
    }
    const exit = this.lan.get((path.router as VirtualRouter).ip);
    if (exit === undefined || length > POOL_FRAME) {
      this.countLoss(PathOutcome.NO_ROUTE, timeMs, src, dst);
      return true;
    }
    const out = this.scratch;
    frame.copy(out, 0, 0, length);
    setTtl(out, path.ttl);
    copyMac(exit.mac, 0, out, ETH_SRC);
    copyMac(peer, 0, out, ETH_DST);
    this.real.counters.fromReal++;
    if (path.arrivalMs <= timeMs) this.linkSend(out, length);
    else this.schedule(out, length, Tag.EGRESS, null, path.arrivalMs, timeMs, src, dst);
    return true;
  }

  /** Hands on everything due by `nowMs`; re-arms the timer for the rest. */
  runDue(nowMs: number): void {
    if (this.queue.size > 0) this.queue.runDue(nowMs, this.onDue);
    this.arm();
  }

  /** Shutdown: frames on their way out leave now; frames on their way in are dropped. */
  stop(): void {
    this.stopped = true;
    if (this.timerHandle !== null && this.timer !== null) this.timer.cancel(this.timerHandle);
    this.timerHandle = null;
    this.queue.drainAll((frame, length, tag) => {
      if (tag === Tag.EGRESS) this.linkSend(frame, length);
    });
  }

  private schedule(frame: Buffer, length: number, tag: number, host: DecoyHost | null | undefined, dueMs: number, startMs: number, src: number, dst: number): void {
    if (host === undefined) return; // a router that lost its LAN address answers nothing
    if (dueMs <= startMs || this.stopped) {
      this.handleDue(frame, length, tag, host, dueMs);
      return;
    }
    if (!this.queue.enqueue(frame, length, dueMs, tag, host, this.now())) {
      this.counters.delayQueueFull++;
      (this.hooks as RoutingHooks).drop('delay-queue-full', startMs, src, dst);
      return;
    }
    this.arm();
  }

  private handleDue(frame: Buffer, length: number, tag: number, host: DecoyHost | null, dueMs: number): void {
    if (tag === Tag.EGRESS) {
      this.linkSend(frame, length);
      return;
    }
    const outer = this.causeMs;
    this.causeMs = dueMs;
    try {
      this.handleArrival(frame, length, tag, host, dueMs);
    } finally {
      this.causeMs = outer;
    }
  }

  private handleArrival(frame: Buffer, length: number, tag: number, host: DecoyHost | null, dueMs: number): void {
    const hooks = this.hooks as RoutingHooks;
    if (host === null) return;
    if (tag === Tag.TO_REAL) {
      // `host` is the entry router the frame came in through; the real host is its destination.
      const dst = frame.readUInt32BE(IP_DST);
      if (this.real.toReal(dst, frame, host, dueMs, this.linkSend)) this.linkSend(frame, length);
      else hooks.drop('real-host-unresolved', dueMs, frame.readUInt32BE(IP_SRC), dst);
      return;
    }
    if (tag === Tag.DELIVER) {
      this.counters.delivered++;
      hooks.deliver(host, frame, length, dueMs);
      return;
    }
    const ip = this.view;
    if (ip.wrap(frame, ETH_HEADER_LEN, length - ETH_HEADER_LEN) !== Malformed.OK) return;
    const type = tag === Tag.TIME_EXCEEDED ? IcmpType.TIME_EXCEEDED : IcmpType.DEST_UNREACHABLE;
    const code = tag === Tag.NET_UNREACH ? UnreachableCode.NET : tag === Tag.HOST_UNREACH ? UnreachableCode.HOST : 0;
    let answer = 'none';
    // RFC 1122: no error about an ICMP error, nor about any fragment but the first.
    if (ip.fragmentOffset === 0 && !isIcmpError(frame, ip) && hooks.icmpError(host, frame, ip, type, code, dueMs)) {
      answer = tag === Tag.TIME_EXCEEDED ? 'time-exceeded' : tag === Tag.NET_UNREACH ? 'net-unreachable' : 'host-unreachable';
      if (tag === Tag.TIME_EXCEEDED) this.counters.timeExceeded++;
      else this.counters.unreachable++;
    }
    if (this.events.wants('route')) {
      this.emit({ kind: 'route', time: dueMs, srcIp: ipToString(ip.src), dstIp: ipToString(ip.dst), router: host.ipText, answer, ttl: ip.ttl });
    }
  }

  private arm(): void {
    if (this.timer === null || this.stopped) return;
    const next = this.queue.nextDueMs();
    if (next === Infinity || next >= this.timerAt) return;
    if (this.timerHandle !== null) this.timer.cancel(this.timerHandle);
    this.timerAt = next;
    this.timerHandle = this.timer.schedule(this.fire, Math.max(0, next - this.now()));
  }

  private routerHost(router: VirtualRouter): DecoyHost | undefined {
    return this.spec.hosts.get(router.ip) ?? this.lan.get(router.ip);
  }

  /** The decoy at a linked address: bound, made earlier on demand, or made now from `default`. */
  private hostFor(ip: number): DecoyHost | undefined {
    const bound = this.spec.hosts.get(ip) ?? this.onDemand.get(ip);
    if (bound !== undefined) return bound;
    const template = this.spec.defaultTemplate;
    if (template === undefined || !isHostAddress(ip, this.spec.tables)) return undefined;
    if (this.onDemand.size >= this.limits.maxTopologyHosts) {
      const oldest = this.onDemand.keys().next();
      if (!oldest.done) this.onDemand.delete(oldest.value);
    }
    const host = (this.hooks as RoutingHooks).createHost(ip, template);
    this.onDemand.set(ip, host);
    return host;
  }

  private countLoss(outcome: number, timeMs: number, src: number, dst: number): void {
    let reason: string;
    if (outcome === PathOutcome.LOST) { this.counters.lost++; reason = 'route-loss'; }
    else if (outcome === PathOutcome.QUEUE_DROP) { this.counters.queueDropped++; reason = 'route-queue-drop'; }
    else { this.counters.noRoute++; reason = outcome === PathOutcome.TTL_EXPIRED ? 'route-ttl-expired' : 'no-route'; }
    (this.hooks as RoutingHooks).drop(reason, timeMs, src, dst);
  }

  private emit(e: DecoyEvent): void { this.events.emit(e); }
}

/** Writes the IPv4 TTL of the frame and its header checksum. */
function setTtl(frame: Buffer, ttl: number): void {
  frame[IP_TTL] = ttl;
  const hl = ((frame[ETH_HEADER_LEN] as number) & 0x0f) * 4;
  frame[ETH_HEADER_LEN + 10] = 0;
  frame[ETH_HEADER_LEN + 11] = 0;
  frame.writeUInt16BE(internetChecksum(frame, ETH_HEADER_LEN, ETH_HEADER_LEN + hl), ETH_HEADER_LEN + 10);
}

function isIcmpError(frame: Buffer, ip: Ipv4View): boolean {
  if (ip.protocol !== IpProto.ICMP || ip.payloadLength < 1) return false;
  const type = frame[ip.payloadOffset] as number;
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

/** Not the network or broadcast address of the link network holding `ip`. */
function isHostAddress(ip: number, tables: RoutingTables): boolean {
  for (const l of tables.linked) {
    if (!inNet(ip, l.network, l.prefix)) continue;
    if (l.prefix >= 31) return true;
    const hostBits = (ip & (2 ** (32 - l.prefix) - 1)) >>> 0;
    return hostBits !== 0 && hostBits !== 2 ** (32 - l.prefix) - 1;
  }
  return false;
}
