import type { ClaimSettings, Limits } from '../config/types';
import { PacketObservation, type PacketObserver } from '../detect/observation';
import type { EventSink } from '../events/event';
import { ipToString, isMulticastMac, macEquals, macToNumber } from '../wire/address';
import { ArpOp, ArpView } from '../wire/arp';
import { ETH_DST, ETH_HEADER_LEN, ETH_SRC, EtherType, etherType } from '../wire/ethernet';
import { IcmpType, IcmpView, UnreachableCode } from '../wire/icmp';
import { IpProto, Ipv4View } from '../wire/ipv4';
import { malformedName, Malformed } from '../wire/malformed';
import { TcpView } from '../wire/tcp';
import { UdpView } from '../wire/udp';
import { AddressManager, type ClaimRangeRuntime, isUsableUnicast } from './address-manager';
import { type DecoyHost, type DecoyTable, PortState, tcpPortState, type TemplateRuntime } from './decoy-table';
import { NeighbourCache } from './neighbour-cache';

const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_ACK = 0x10;
const TCP_FIN = 0x01;
import { FrameBuilder } from './frame-builder';
import { IcmpErrorLimiter } from './icmp-error-limiter';
import { IcmpResponder } from './icmp-responder';
import { Reassembler } from './reassembly';
import { TcpEngine } from './tcp/tcp-engine';
import { UdpHandler } from './udp-handler';
import type { DhcpClientSpec, DhcpTiming } from './dhcp/dhcp-client';
import { DhcpClients, type LeasedHostFactory } from './dhcp/dhcp-clients';
import { type RoutingSpec, type RoutingTimer, VirtualRouting } from './routing/virtual-routing';
import type { PassiveOs } from './dynamic/dynamic-host';

export interface EngineOptions {
  limits: Limits;
  claim: ClaimSettings;
  claimRanges: ClaimRangeRuntime[];
  table: DecoyTable;
  events: EventSink;
  send: (frame: Buffer, length: number) => void;
  createHost: (ip: number, template: TemplateRuntime, origin: 'static' | 'claimed') => DecoyHost;
  onReady: () => void;
  /** One DHCP client per `dhcp` binding (none: no DHCP code on the frame path). */
  dhcpClients?: readonly DhcpClientSpec[];
  /** Builds the decoy a DHCP client's leased address becomes; needed with dhcpClients. */
  createLeasedHost?: LeasedHostFactory;
  dhcpTiming?: DhcpTiming;
  /** Source of randomness for droprate (tests pass a seeded one). */
  random?: () => number;
  now?: () => number;
  /** The virtual topology (config `topology:`); absent when every decoy sits on the LAN. */
  routing?: RoutingSpec;
  /** How the topology's delay queue is woken; null leaves it to `tick` and `routing.runDue` (tests). */
  routingTimer?: RoutingTimer | null;
  /** Sees every packet to a decoy and every ARP who-has for a decoy or claim-range address (the scan detector). */
  observer?: PacketObserver;
  /** Passive OS guesses of sources from their SYNs, for dynamic templates' `source os` rules (absent: none use it). */
  passiveOs?: PassiveOs;
}

export interface EngineCounters {
  frames: number;
  ownFrames: number;
  /** Frames dropped: malformed, or refused by policy (droprate, martian source, reassembly rules). */
  dropped: number;
  notForUs: number;
}


/** ICMP time exceeded code 1: fragment reassembly time exceeded (RFC 792). */
const TIME_EXCEEDED_REASSEMBLY = 1;
/** ICMP error types (RFC 1122 3.2.2): unreachable, source quench, redirect, time exceeded, parameter problem. */
const ICMP_ERROR_TYPES: ReadonlySet<number> = new Set([3, 4, 5, 11, 12]);
/**
 * The single entry point of the packet path: a captured frame goes in, replies go out through
 * `send`, and every decision becomes an event. No I/O of its own and no clock but the injected one.
 */
export class Engine {
  readonly addresses: AddressManager;
  readonly tcp: TcpEngine;
  /** The DHCP clients, or null when the configuration has no `dhcp` bindings. */
  readonly dhcp: DhcpClients | null;
  /** The virtual routers, when the configuration has a topology. */
  readonly routing: VirtualRouting | null;
  readonly counters: EngineCounters = { frames: 0, ownFrames: 0, dropped: 0, notForUs: 0 };
  private readonly tx: FrameBuilder;
  private readonly icmp: IcmpResponder;
  private readonly udp: UdpHandler;
  private readonly reassembler: Reassembler;
  private readonly neighbours: NeighbourCache;
  private readonly arpView = new ArpView();
  private readonly ipView = new Ipv4View();
  /** A second IPv4 view for a reassembled datagram (its own buffer), reused like the others. */
  private readonly wholeView = new Ipv4View();
  /** The view over a routed frame when it reaches its host (possibly later, from the delay queue). */
  private readonly routedView = new Ipv4View();
  /** Fragment 0 of a timed-out datagram, and the tick that expired it. */
  private readonly expiredView = new Ipv4View();
  private expiryNow = 0;
  private readonly tcpView = new TcpView();
  private readonly udpView = new UdpView();
  private readonly icmpView = new IcmpView();
  private readonly random: () => number;
  private lastIdleCheck = 0;
  private readonly passiveOs: PassiveOs | undefined;
  private readonly observer: PacketObserver | undefined;
  /** Refilled for every observed packet: the observer copies what it keeps. */
  private readonly observation = new PacketObservation();

  constructor(private readonly opts: EngineOptions) {
    const now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.observer = opts.observer;
    this.passiveOs = opts.passiveOs;
    // With a topology, every frame a decoy sends passes the routers on its way out (egress hook).
    const routing = opts.routing === undefined || opts.routing.tables.empty ? null
      : new VirtualRouting(opts.routing, opts.table, opts.limits, opts.send, opts.events, this.random, now, opts.routingTimer);
    this.routing = routing;
    this.tx = new FrameBuilder(routing === null ? opts.send : (frame, length) => routing.egress(frame, length));
    this.neighbours = new NeighbourCache(this.tx, opts.limits.maxNeighbours, this.random);
    this.tx.onIpv4 = (src, dst, mac, macOff) => {
      // Hosts behind the virtual routers are never on the LAN: they ARP for nobody.
      const h = opts.table.get(src);
      if (h !== undefined && routing?.isVirtual(src) !== true) this.neighbours.used(h, dst, mac, macOff, now());
    };
    this.addresses = new AddressManager(opts.table, this.tx, opts.events, {
      settings: opts.claim,
      claimRanges: opts.claimRanges,
      maxCandidates: opts.limits.maxClaimCandidates,
      ownerMemoryMs: 60000,
      reprobeAfterMs: 60000,
      announceIntervalMs: 2000,
      onRelease: (host) => this.tcp.releaseHost(host),
    }, opts.createHost, opts.onReady, this.neighbours);
    this.tcp = new TcpEngine(this.tx, opts.events, opts.limits, now);
    this.icmp = new IcmpResponder(this.tx, opts.events, new IcmpErrorLimiter(opts.limits.maxIcmpLimitPeers));
    this.udp = new UdpHandler(this.tx, this.icmp, opts.events, now);
    this.reassembler = new Reassembler(opts.limits.maxReassemblies, opts.limits.maxReassemblyBytes, opts.limits.reassemblyTimeoutMs);
    const specs = opts.dhcpClients ?? [];
    if (specs.length > 0 && opts.createLeasedHost === undefined) throw new Error('dhcpClients need createLeasedHost');
    this.dhcp = specs.length === 0 || opts.createLeasedHost === undefined
      ? null
      : new DhcpClients(specs, this.tx, this.addresses, opts.table, opts.events, opts.createLeasedHost,
        (reason, t, src, dst) => this.drop(reason, t, src, dst), this.random, opts.dhcpTiming);
    routing?.attach({
      deliver: (host, frame, length, timeMs) => this.deliverRouted(host, frame, length, timeMs),
      icmpError: (router, frame, ip, type, code, timeMs) => this.icmp.sendError(router, frame, ip, type, code, ip.ttl, timeMs),
      drop: (reason, timeMs, src, dst) => this.drop(reason, timeMs, src, dst),
      createHost: (ip, template) => opts.createHost(ip, template, 'claimed'),
    });
  }

  /** Process one captured frame. `frame` is only borrowed for the duration of the call. */
  handleFrame(frame: Buffer, length: number, timeMs: number): void {
    this.counters.frames++;
    if (length < ETH_HEADER_LEN) return;
    // The capture also sees what we inject: never take our own frames as input.
    if (this.opts.table.isOurMac(macToNumber(frame, ETH_SRC))) {
      this.counters.ownFrames++;
      return;
    }
    const type = etherType(frame);
    if (type === EtherType.ARP) {
      if (this.arpView.wrap(frame, ETH_HEADER_LEN, length - ETH_HEADER_LEN) === Malformed.OK) {
        if (this.observer !== undefined) this.observeArp(timeMs);
        // A real host placed in the topology (`bind IP to IF`) shows its MAC in its ARP frames.
        this.routing?.noteArp(this.arpView.senderIp, frame, ETH_HEADER_LEN + 8);
        this.addresses.handleArp(this.arpView, frame, timeMs);
      } else {
        this.counters.dropped++;
      }
    } else if (type === EtherType.IPV4) {
      this.handleIpv4(frame, length, timeMs);
    }
  }

  tick(now: number): void {
    this.addresses.tick(now);
    this.dhcp?.tick(now);
    this.neighbours.tick(now);
    this.tcp.tick(now);
    this.expiryNow = now;
    this.reassembler.expire(now, this.onReassemblyTimeout);
    this.routing?.runDue(now);
    if (now - this.lastIdleCheck >= 5000) {
      this.lastIdleCheck = now;
      this.tcp.expireIdle(now);
    }
  }

  /** Fragment 0 of a datagram that timed out: ICMP time exceeded (reassembly) where the family sends one. */
  private readonly onReassemblyTimeout = (fragmentZero: Buffer): void => {
    const ip = this.expiredView;
    if (ip.wrap(fragmentZero, ETH_HEADER_LEN, fragmentZero.length - ETH_HEADER_LEN) !== Malformed.OK) return;
    const host = this.opts.table.get(ip.dst);
    if (host === undefined || !host.personality.behaviour.ipv4.timeExceededOnTimeout) return;
    // RFC 1122 3.2.2: no error about an ICMP error (queries and echoes are fine).
    if (ip.protocol === IpProto.ICMP && ip.payloadLength > 0 && ICMP_ERROR_TYPES.has(fragmentZero[ip.payloadOffset] as number)) return;
    this.icmp.sendError(host, fragmentZero, ip, IcmpType.TIME_EXCEEDED, TIME_EXCEEDED_REASSEMBLY, -1, this.expiryNow);
  };

  private handleIpv4(frame: Buffer, length: number, timeMs: number): void {
    const ip = this.ipView;
    const status = ip.wrap(frame, ETH_HEADER_LEN, length - ETH_HEADER_LEN);
    if (status !== Malformed.OK) {
      this.drop(malformedName(status), timeMs, -1, -1);
      return;
    }
    const src = ip.src;
    // A group address is never a valid source (IEEE 802.3); replies would go to the whole group.
    if (isMulticastMac(frame, ETH_SRC)) {
      this.drop('multicast-source-mac', timeMs, src, ip.dst);
      return;
    }
    // A datagram claiming to come from its own destination (LAND) is a spoof, not evidence of an owner.
    if (src !== ip.dst) this.addresses.noteIpv4Source(src, frame, ETH_SRC, timeMs);
    // A DHCP server's reply to one of our clients (broadcast, or unicast to an address not yet ours).
    if (this.dhcp !== null && DhcpClients.isDhcpReply(frame, ip) && this.dhcp.handle(frame, ip, timeMs)) return;
    const host = this.opts.table.get(ip.dst);
    // Addresses behind the virtual routers arrive at an entry router's MAC (routing/).
    if (host === undefined && this.routing !== null && this.routing.ingress(frame, length, ip, timeMs)) return;
    // A host takes only frames sent to its own MAC; one that does not route never forwards the rest.
    if (host === undefined || !macEquals(frame, ETH_DST, host.mac, 0)) {
      this.counters.notForUs++;
      return;
    }
    if (!isUsableUnicast(src) || src === ip.dst) {
      this.drop('martian-source', timeMs, src, ip.dst);
      return;
    }
    this.accept(host, frame, ip, timeMs);
  }

  /** A routed frame reaches its decoy: the same path a LAN frame takes after the address checks. */
  private deliverRouted(host: DecoyHost, frame: Buffer, length: number, timeMs: number): void {
    const ip = this.routedView;
    if (ip.wrap(frame, ETH_HEADER_LEN, length - ETH_HEADER_LEN) !== Malformed.OK) return;
    this.accept(host, frame, ip, timeMs);
  }

  /** Droprate, reassembly, then the transport. */
  private accept(host: DecoyHost, frame: Buffer, ip: Ipv4View, timeMs: number): void {
    const src = ip.src;
    if (host.template.dropRate > 0 && this.random() < host.template.dropRate) {
      this.drop('droprate', timeMs, src, ip.dst);
      return;
    }
    if (ip.isFragment) {
      const ipb = host.personality.behaviour.ipv4;
      const policy = host.template.fragments;
      if (policy === 'drop-all') {
        this.drop('annotate-fragment-drop', timeMs, src, ip.dst);
        return;
      }
      const r = this.reassembler.add(frame, ip, timeMs, policy ?? ipb.overlap, ipb.reassemblyTimeoutMs);
      if (r.status === 'dropped') this.drop(r.reason, timeMs, src, ip.dst);
      if (r.status !== 'complete') return;
      // Continue with the reassembled datagram in its own buffer.
      const whole = this.wholeView;
      if (whole.wrap(r.frame, ETH_HEADER_LEN, r.length - ETH_HEADER_LEN) !== Malformed.OK) return;
      this.dispatch(host, r.frame, whole, timeMs);
      return;
    }
    this.dispatch(host, frame, ip, timeMs);
  }

  /**
   * A dynamic template's address: the rule host for this packet. A TCP segment of a connection
   * stays with the host it started with; anything else is chosen by the rules. The chosen host's
   * own droprate applies too.
   */
  private chooseDynamic(host: DecoyHost, chooser: NonNullable<DecoyHost['dynamic']>, ip: Ipv4View, timeMs: number): DecoyHost | null {
    let chosen: DecoyHost | null = null;
    if (ip.protocol === IpProto.TCP) chosen = this.tcp.hostOfFlow(ip.src, this.tcpView.srcPort, host.ip, this.tcpView.dstPort);
    if (chosen === null) chosen = chooser.choose(ip.src, ip.protocol, timeMs);
    if (chosen.template.dropRate > 0 && this.random() < chosen.template.dropRate) {
      this.drop('droprate', timeMs, ip.src, ip.dst);
      return null;
    }
    return chosen;
  }

  /**
   * Honeyd's `droprate syn`: a connection request (SYN without ACK or RST) to an open port with no
   * connection yet is dropped at the template's rate; the peer's retransmission may get through.
   */
  private dropsNewSyn(host: DecoyHost, ip: Ipv4View): boolean {
    const tcp = this.tcpView;
    if ((tcp.flags & (TCP_SYN | TCP_ACK | TCP_RST)) !== TCP_SYN) return false;
    if (tcpPortState(host, tcp.dstPort) !== PortState.OPEN) return false;
    if (this.tcp.find(host, ip.src, tcp.srcPort, tcp.dstPort) !== null) return false;
    return this.random() < host.template.synDropRate;
  }

  private dispatch(host: DecoyHost, frame: Buffer, ip: Ipv4View, timeMs: number): void {
    const off = ip.payloadOffset;
    const len = ip.payloadLength;
    let status: number;
    switch (ip.protocol) {
      case IpProto.TCP:
        status = this.tcpView.wrap(frame, off, len);
        // A real stack drops a bad checksum silently; it is recorded (nmap --badsum probes for firewalls this way).
        if (status === Malformed.OK && !this.tcpView.checksumValid(ip.src, ip.dst)) status = Malformed.BAD_CHECKSUM;
        if (status === Malformed.OK) {
          // p0f-style guess of the source's OS from its SYN, for dynamic templates' `source os`.
          if (this.passiveOs !== undefined && (this.tcpView.flags & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN)) === TCP_SYN) {
            this.passiveOs.observeSyn(frame, off - ip.headerLength, ip.totalLength, ip.src);
          }
          if (host.dynamic !== null) {
            const chosen = this.chooseDynamic(host, host.dynamic, ip, timeMs);
            if (chosen === null) return;
            host = chosen;
          }
          if (host.template.synDropRate > 0 && this.dropsNewSyn(host, ip)) {
            this.drop('droprate-syn', timeMs, ip.src, ip.dst);
            return;
          }
          if (this.observer !== undefined) this.observer.observe(this.observation.fromTcp(ip, this.tcpView, timeMs));
          // An acknowledgement to an open port stands for TCP's forward-progress confirmation of the peer.
          const f = this.tcpView.flags;
          if ((f & TCP_ACK) !== 0 && (f & (TCP_SYN | TCP_RST)) === 0 && tcpPortState(host, this.tcpView.dstPort) === PortState.OPEN) this.neighbours.confirm(host, ip.src, timeMs);
          this.tcp.handle(host, frame, ip, this.tcpView, timeMs);
        }
        break;
      case IpProto.UDP:
        status = this.udpView.wrap(frame, off, len);
        if (status === Malformed.OK && !this.udpView.checksumValid(ip.src, ip.dst)) status = Malformed.BAD_CHECKSUM;
        if (status === Malformed.OK) {
          if (host.dynamic !== null) {
            const chosen = this.chooseDynamic(host, host.dynamic, ip, timeMs);
            if (chosen === null) return;
            host = chosen;
          }
          if (this.observer !== undefined) this.observer.observe(this.observation.fromUdp(ip, this.udpView, timeMs));
          this.udp.handle(host, frame, ip, this.udpView, timeMs);
        }
        break;
      case IpProto.ICMP:
        status = this.icmpView.wrap(frame, off, len);
        if (status === Malformed.OK) {
          if (host.dynamic !== null) {
            const chosen = this.chooseDynamic(host, host.dynamic, ip, timeMs);
            if (chosen === null) return;
            host = chosen;
          }
          if (this.observer !== undefined) this.observer.observe(this.observation.fromIcmp(ip, this.icmpView, timeMs));
          this.icmp.handle(host, frame, ip, this.icmpView, timeMs);
        }
        break;
      default:
        // No such transport: a host answers protocol unreachable (nmap -sO reads this as closed).
        status = Malformed.OK;
        if (host.dynamic !== null) {
          const chosen = this.chooseDynamic(host, host.dynamic, ip, timeMs);
          if (chosen === null) return;
          host = chosen;
        }
        if (this.observer !== undefined) this.observer.observe(this.observation.fromOtherIp(ip, timeMs));
        this.icmp.sendUnreachable(host, frame, ip, UnreachableCode.PROTOCOL, timeMs);
        break;
    }
    if (status !== Malformed.OK) this.drop(malformedName(status), timeMs, ip.src, ip.dst);
  }

  /** Who-has for a decoy or claim-range address from a real sender (not a probe, not gratuitous). */
  private observeArp(timeMs: number): void {
    const arp = this.arpView;
    if (arp.op !== ArpOp.REQUEST || arp.senderIp === 0 || arp.senderIp === arp.targetIp) return;
    if (!this.addresses.isDecoyAddress(arp.targetIp)) return;
    (this.observer as PacketObserver).observe(this.observation.fromArpRequest(arp, timeMs));
  }

  private drop(reason: string, timeMs: number, src: number, dst: number): void {
    this.counters.dropped++;
    this.opts.events.packetCounts?.drop(src, dst, reason, timeMs);
    if (!this.opts.events.wants('drop')) return;
    this.opts.events.emit({
      kind: 'drop', time: timeMs, reason,
      srcIp: src >= 0 ? ipToString(src) : undefined,
      dstIp: dst >= 0 ? ipToString(dst) : undefined,
    });
  }
}
