/**
 * The scan detector: observes packets to decoys (O(1) bounded updates on the frame path) and, on a
 * timer, classifies each source's flows and emits `scan.detected` events through the EventSink.
 *
 * It only observes. Nothing it computes reaches the stack: replies never depend on whether the
 * sender looks like a scanner or which tool it seems to be.
 */
import type { DetectConfig } from '../config/types';
import type { DecoyEvent, DecoyEventKind, EventSink, ScanDetectedEvent } from '../events/event';
import type { RecordSink } from '../events/fanout-sink';
import { ipToString, parseIp } from '../wire/address';
import { BoundedIntMap } from './bounded-sets';
import { attribute, meetsThreshold, scanTypeOf } from './classify';
import { Category, type CategoryCode, Flow, SourceState } from './flow';
import { Handshake, HandshakeTable } from './handshake-table';
import { ObservedKind, type PacketObservation, type PacketObserver } from './observation';
import type { ServiceProbeTable } from './service-probes';
import { countMarks, Flag, osProbeShape } from './signatures';

/** How often flows are classified and reported. */
export const DETECT_TICK_MS = 1000;

export interface DetectorStats {
  /** Sources tracked now. */
  sources: number;
  /** Flows tracked now (source × scan style). */
  flows: number;
  /** Flows that have been reported and are still running. */
  campaigns: number;
  /** Handshake table slots in use. */
  handshakes: number;
  /** Packets seen by the detector. */
  observed: number;
  /** scan.detected events emitted (first reports and updates). */
  reports: number;
  /** Sources forgotten because the source or flow table was full. */
  evictedSources: number;
  /** Packets not counted because no flow could be made for them. */
  unrecorded: number;
}

export class ScanDetector implements PacketObserver, RecordSink {
  private readonly sources: BoundedIntMap<SourceState>;
  private head: SourceState | null = null;
  private tail: SourceState | null = null;
  private readonly freeSources: SourceState[] = [];
  private readonly freeFlows: Flow[] = [];
  private flowsMade = 0;
  private readonly active: Flow[] = [];
  private readonly handshakes: HandshakeTable;
  private lastTick = 0;
  /** Set by `categorise` for a service-probe packet. */
  private matchedProbe = -1;
  private matchedShape = -1;
  private readonly counters = { observed: 0, reports: 0, evictedSources: 0, unrecorded: 0 };

  constructor(private readonly cfg: DetectConfig, private readonly events: EventSink, private readonly probes: ServiceProbeTable) {
    this.handshakes = new HandshakeTable(cfg.maxHandshakes);
    this.sources = new BoundedIntMap(cfg.maxSources);
  }

  observe(obs: PacketObservation): void {
    this.counters.observed++;
    const category = this.categorise(obs);
    if (category < 0) return;
    const source = this.sourceFor(obs.srcIp, obs.time);
    let flow = source.flows[category];
    if (flow === null || flow === undefined) {
      flow = this.newFlow(source, category as CategoryCode, obs.time);
      if (flow === null) {
        this.counters.unrecorded++;
        if (source.flowCount === 0) this.removeSource(source);
        return;
      }
    }
    this.count(flow, obs);
  }

  /**
   * Service sessions: the services that answered say which probes they were sent. An identity's
   * `service.probe` names the nmap probe it recognised (also inside TLS, where payloads are
   * opaque to `observe`); an interactive emulator's `service.request` is one when its request is
   * exactly a probe's (GetRequest is `GET /` with no header lines). Both count in the source's
   * service-version flow like a probe payload on the wire; `sessionProbes` tells them apart.
   */
  wants(kind: DecoyEventKind): boolean {
    return kind === 'service.probe' || kind === 'service.request';
  }

  write(event: DecoyEvent): void {
    let index = -1;
    if (event.kind === 'service.probe') index = this.probes.indexOf(event.probe);
    else if (event.kind === 'service.request' && event.method !== undefined && event.path !== undefined) {
      index = this.probes.matchRequest(event.method, event.path, event.headers?.length ?? 0);
    } else return;
    if (index < 0) return;
    const src = parseIp(event.srcIp);
    const dst = parseIp(event.dstIp);
    if (src < 0 || dst < 0) return;
    const source = this.sourceFor(src, event.time);
    const flow = source.flows[Category.SERVICE] ?? this.newFlow(source, Category.SERVICE, event.time);
    if (flow === null) {
      this.counters.unrecorded++;
      if (source.flowCount === 0) this.removeSource(source);
      return;
    }
    flow.markSessionProbe(index);
    flow.addServiceProbe(index);
    flow.packets++;
    flow.lastSeen = event.time;
    flow.targets.add(dst);
    flow.ports.add(event.dstPort);
  }

  /** The category a packet counts in, or -1 (handshake bookkeeping and connection traffic). */
  private categorise(obs: PacketObservation): number {
    switch (obs.kind) {
      case ObservedKind.ARP_REQUEST:
        return Category.ARP;
      case ObservedKind.OTHER_IP:
        return Category.IP_PROTO;
      case ObservedKind.UDP:
        this.matchedShape = osProbeShape(obs);
        return this.matchedShape >= 0 ? Category.OS : Category.UDP;
      case ObservedKind.ICMP: {
        const t = obs.icmpType;
        if (t !== 8 && t !== 13 && t !== 17) return -1; // only requests count; errors and replies do not
        this.matchedShape = osProbeShape(obs);
        return this.matchedShape >= 0 ? Category.OS : Category.PING;
      }
      default:
        return this.categoriseTcp(obs);
    }
  }

  private categoriseTcp(obs: PacketObservation): number {
    this.matchedShape = osProbeShape(obs);
    if (this.matchedShape >= 0) return Category.OS;
    const f = obs.tcpFlags & (Flag.FIN | Flag.SYN | Flag.RST | Flag.PSH | Flag.ACK | Flag.URG);
    const s = obs.srcIp;
    const d = obs.dstIp;
    const sp = obs.srcPort;
    const dp = obs.dstPort;
    if (f === Flag.SYN) {
      this.handshakes.syn(s, d, sp, dp, obs.seq);
      return Category.TCP_SYN;
    }
    if ((f & Flag.RST) !== 0) {
      // The scanner resetting after our reply (its kernel, or a tool's own stack): a half-open (SYN) scan.
      if (this.handshakes.expects(s, d, sp, dp, obs.seq)) {
        const syn = this.peekSource(s)?.flows[Category.TCP_SYN];
        if (syn) {
          syn.handshakeResets++;
          if (obs.window === 1200) syn.resetsWindow1200++;
        }
      }
      this.handshakes.forget(s, d, sp, dp);
      return -1;
    }
    if (f === 0) return Category.TCP_NULL;
    if (f === Flag.FIN) return Category.TCP_FIN;
    if (f === (Flag.FIN | Flag.PSH | Flag.URG)) return Category.TCP_XMAS;
    if ((f & (Flag.ACK | Flag.SYN)) !== Flag.ACK) return -1; // other odd combinations: not a scan style we name
    const state = this.handshakes.lookup(s, d, sp, dp);
    if (state === Handshake.PENDING && this.handshakes.expects(s, d, sp, dp, obs.seq)) {
      this.handshakes.establish(s, d, sp, dp);
      const syn = this.peekSource(s)?.flows[Category.TCP_SYN];
      if (syn) syn.handshakes++;
      // A probe string may ride on the handshake's ACK; fall through to the payload check.
    } else if (state === Handshake.NONE) {
      if (f === Flag.ACK && obs.payloadLength === 0) return Category.TCP_ACK;
      if (f === (Flag.FIN | Flag.ACK)) return Category.TCP_MAIMON;
    }
    if ((f & Flag.FIN) !== 0 && state !== Handshake.NONE) this.handshakes.forget(s, d, sp, dp);
    if (obs.payloadLength > 0) {
      this.matchedProbe = this.probes.match(obs);
      if (this.matchedProbe >= 0) return Category.SERVICE;
    }
    return -1;
  }

  private count(flow: Flow, obs: PacketObservation): void {
    if (flow.packets === 0) {
      flow.firstSport = obs.srcPort;
      flow.firstSeq = obs.seq;
    }
    flow.packets++;
    flow.lastSeen = obs.time;
    flow.targets.add(obs.dstIp);
    switch (flow.category) {
      case Category.IP_PROTO: flow.ports.add(obs.protocol); break;
      case Category.PING: flow.icmpTypes |= 1 << (obs.icmpType & 31); break;
      case Category.OS:
        flow.osShapes |= 1 << this.matchedShape;
        if (obs.kind !== ObservedKind.ICMP) flow.ports.add(obs.dstPort);
        break;
      case Category.SERVICE:
        flow.addServiceProbe(this.matchedProbe);
        flow.ports.add(obs.dstPort);
        break;
      case Category.ARP: break;
      default: flow.ports.add(obs.dstPort);
    }
    countMarks(obs, flow.marks, flow.firstSport, flow.prevSport, flow.firstSeq);
    flow.prevSport = obs.srcPort;
    if (obs.ttl < flow.ttlMin) flow.ttlMin = obs.ttl;
    if (obs.ttl > flow.ttlMax) flow.ttlMax = obs.ttl;
  }

  // --- sources: a map plus a least-recently-seen list ---------------------------------------

  /** The tracked source for `ip`, if any (the most recent one is checked first: scans come in runs). */
  private peekSource(ip: number): SourceState | undefined {
    const head = this.head;
    return head !== null && head.ip === ip ? head : this.sources.get(ip);
  }

  private sourceFor(ip: number, now: number): SourceState {
    let s = this.peekSource(ip);
    if (s !== undefined) {
      s.lastSeen = now;
      if (s !== this.head) { this.unlink(s); this.pushHead(s); }
      return s;
    }
    if (this.sources.size >= this.cfg.maxSources && this.tail !== null) this.evict(this.tail);
    s = this.freeSources.pop() ?? new SourceState();
    s.ip = ip;
    s.lastSeen = now;
    s.flowCount = 0;
    this.sources.set(ip, s);
    this.pushHead(s);
    return s;
  }

  private newFlow(source: SourceState, category: CategoryCode, now: number): Flow | null {
    let flow = this.freeFlows.pop();
    if (flow === undefined && this.flowsMade < this.cfg.maxFlows) {
      flow = new Flow(this.cfg.maxTargetsPerFlow);
      this.flowsMade++;
    }
    // Table full: forget the least recently seen other source until a flow is free.
    while (flow === undefined) {
      const victim = this.tail === source ? source.prev : this.tail;
      if (victim === null) return null;
      this.evict(victim);
      flow = this.freeFlows.pop();
    }
    flow.reset(source, category, now);
    source.flows[category] = flow;
    source.flowCount++;
    flow.activeIndex = this.active.length;
    this.active.push(flow);
    return flow;
  }

  private evict(s: SourceState): void {
    this.counters.evictedSources++;
    for (let c = 0; c < s.flows.length; c++) {
      const flow = s.flows[c];
      if (flow !== null && flow !== undefined) this.releaseFlow(flow, false);
    }
    if (this.sources.get(s.ip) === s) this.removeSource(s);
  }

  private releaseFlow(flow: Flow, removeEmptySource = true): void {
    const last = this.active.pop() as Flow;
    if (last !== flow) {
      this.active[flow.activeIndex] = last;
      last.activeIndex = flow.activeIndex;
    }
    flow.activeIndex = -1;
    const source = flow.source as SourceState;
    source.flows[flow.category] = null;
    source.flowCount--;
    flow.source = null;
    this.freeFlows.push(flow);
    if (removeEmptySource && source.flowCount === 0) this.removeSource(source);
  }

  private removeSource(s: SourceState): void {
    this.sources.delete(s.ip);
    this.unlink(s);
    this.freeSources.push(s);
  }

  private pushHead(s: SourceState): void {
    s.prev = null;
    s.next = this.head;
    if (this.head !== null) this.head.prev = s;
    this.head = s;
    if (this.tail === null) this.tail = s;
  }

  private unlink(s: SourceState): void {
    if (s.prev !== null) s.prev.next = s.next;
    else if (this.head === s) this.head = s.next;
    if (s.next !== null) s.next.prev = s.prev;
    else if (this.tail === s) this.tail = s.prev;
    s.prev = null;
    s.next = null;
  }

  // --- the timer: classification and reports -------------------------------------------------

  /** Classify and report; cheap to call often (runs at most every DETECT_TICK_MS). */
  tick(now: number): void {
    if (now - this.lastTick < DETECT_TICK_MS) return;
    this.lastTick = now;
    const idleMs = this.cfg.idleSeconds * 1000;
    const windowMs = this.cfg.windowSeconds * 1000;
    const updateMs = this.cfg.updateSeconds * 1000;
    // Backwards: releasing swaps the last flow into this slot, which has then been visited already.
    for (let i = this.active.length - 1; i >= 0; i--) {
      const flow = this.active[i] as Flow;
      const idle = now - flow.lastSeen >= idleMs;
      if (flow.scanId === null) {
        if (meetsThreshold(flow, this.cfg)) this.report(flow, now);
        else if (idle || now - flow.firstSeen > windowMs) { this.releaseFlow(flow); continue; }
        if (!idle) continue;
      }
      if (idle) {
        if (flow.packets > flow.packetsAtReport) this.report(flow, now);
        this.releaseFlow(flow);
      } else if (flow.packets > flow.packetsAtReport && now - flow.reportedAt >= updateMs) {
        this.report(flow, now);
      }
    }
  }

  /** Report every running campaign a last time (at shutdown). */
  flush(now: number): void {
    for (const flow of this.active) if (flow.scanId !== null && flow.packets > flow.packetsAtReport) this.report(flow, now);
  }

  private report(flow: Flow, now: number): void {
    const scanType = scanTypeOf(flow, this.cfg);
    const srcIp = ipToString((flow.source as SourceState).ip);
    if (flow.scanId === null) flow.scanId = `${srcIp}/${scanType}/${Math.floor(flow.firstSeen)}`;
    flow.reportedAt = now;
    flow.packetsAtReport = flow.packets;
    this.counters.reports++;
    if (!this.events.wants('scan.detected')) return;
    const { tool, evidence } = attribute(flow, scanType, this.cfg, this.probes);
    const seconds = (flow.lastSeen - flow.firstSeen) / 1000;
    const countsPorts = flow.category !== Category.ARP && flow.category !== Category.PING && flow.category !== Category.IP_PROTO;
    const event: ScanDetectedEvent = {
      kind: 'scan.detected',
      time: now,
      scanId: flow.scanId,
      srcIp,
      scanType,
      targets: flow.targets.sample(this.cfg.sampleSize).map(ipToString),
      targetCount: flow.targets.size,
      ports: countsPorts ? flow.ports.sample(this.cfg.sampleSize) : [],
      portCount: countsPorts ? flow.ports.size : 0,
      packets: flow.packets,
      ratePps: seconds > 0 ? Math.round((flow.packets / seconds) * 10) / 10 : flow.packets,
      firstSeen: flow.firstSeen,
      lastSeen: flow.lastSeen,
      evidence,
    };
    if (tool !== undefined) event.tool = tool;
    this.events.emit(event);
  }

  stats(): DetectorStats {
    let campaigns = 0;
    for (const flow of this.active) if (flow.scanId !== null) campaigns++;
    return {
      sources: this.sources.size,
      flows: this.active.length,
      campaigns,
      handshakes: this.handshakes.size,
      ...this.counters,
    };
  }
}
