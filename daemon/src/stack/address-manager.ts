import type { ClaimSettings } from '../config/types';
import type { ArpBehaviour } from '../personality/behaviour/types';
import type { DecoyEvent, EventSink } from '../events/event';
import { ipToString, isMulticastMac, macEquals, macToNumber, macToString } from '../wire/address';
import { ArpOp, type ArpView, ARP_LEN, writeArp } from '../wire/arp';
import { ETH_DST, ETH_HEADER_LEN, EtherType, writeEthernet } from '../wire/ethernet';
import type { DecoyHost, DecoyTable, TemplateRuntime } from './decoy-table';
import type { FrameBuilder } from './frame-builder';
import type { NeighbourCache } from './neighbour-cache';

const BROADCAST = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
const ZERO_MAC = Buffer.alloc(6);

export interface ClaimRangeRuntime {
  network: number;
  size: number;
  template: TemplateRuntime;
}

export interface AddressManagerOptions {
  settings: ClaimSettings;
  claimRanges: ClaimRangeRuntime[];
  maxCandidates: number;
  /** How long an address stays known as someone else's after we last saw them use it. */
  ownerMemoryMs: number;
  /** After a refused or released static binding, probe again this much later. */
  reprobeAfterMs: number;
  /** Second gratuitous announcement, RFC 5227 ANNOUNCE_INTERVAL. */
  announceIntervalMs: number;
  /** Called when a live address is given up, after it left the table (TCP forgets its connections). */
  onRelease?: (host: DecoyHost) => void;
}

/** Told what becomes of an address a DHCP client leased (bindLeased). */
export interface LeasedAddressListener {
  /** Nobody answered the probes: the address is live and announced. */
  onAddressActive(now: number): void;
  /** Another host answered a probe or uses the address: it has been given up. */
  onAddressConflict(peerMac: string, now: number): void;
}

interface StaticBinding {
  host: DecoyHost;
  /** Present for an address a DHCP client leased: it is never re-probed, its client decides. */
  lease?: LeasedAddressListener;
  phase: 'probing' | 'active' | 'refused';
  /** Next action time: second probe, end of probing, second announcement or re-probe. */
  nextAt: number;
  probesSent: number;
  announcesSent: number;
  /** Still counted in the start-up probing that gates readiness. */
  initialPending: boolean;
}

interface ClaimCandidate {
  firstAt: number;
  requests: number;
  /** The decoy this address would become; its MAC sends the probes. */
  host: DecoyHost;
}

/**
 * Owns the life of every decoy address on the LAN: RFC 5227 probing and announcement of static
 * bindings, arpd-style dynamic claiming of unanswered addresses, answering ARP, and giving an
 * address up the moment a real owner shows itself.
 */
export class AddressManager {
  private readonly statics = new Map<number, StaticBinding>();
  private readonly candidates = new Map<number, ClaimCandidate>();
  /** Addresses seen in use by another MAC: ip → time last seen. */
  private readonly owned = new Map<number, number>();
  private pendingProbes = 0;
  private readyNotified = false;

  constructor(
    private readonly table: DecoyTable,
    private readonly tx: FrameBuilder,
    private readonly events: EventSink,
    private readonly opts: AddressManagerOptions,
    private readonly createHost: (ip: number, template: TemplateRuntime, origin: 'static' | 'claimed') => DecoyHost,
    private readonly onReady: () => void,
    /** Families that re-probe peers learn them from the requests they answer. */
    private readonly neighbours: NeighbourCache | null = null,
  ) {}

  /** Register static bindings; probing starts at `now` (or they go live at once when probing is off). */
  bindStatic(hosts: DecoyHost[], now: number): void {
    for (const host of hosts) {
      const b: StaticBinding = { host, phase: 'probing', nextAt: now, probesSent: 0, announcesSent: 0, initialPending: false };
      this.statics.set(host.ip, b);
      this.table.registerMac(host);
      if (this.opts.settings.probeBeforeBind) {
        this.pendingProbes++;
        b.initialPending = true;
        this.sendProbe(host);
        b.probesSent = 1;
        b.nextAt = now + this.opts.settings.probeWaitMs / 2;
      } else {
        this.activate(b, now);
      }
    }
    this.maybeReady();
  }

  /**
   * Take up an address a DHCP client was given: probed like a static binding (RFC 2131 4.4.1 asks
   * the client to check the address before use) and announced, but a conflict hands the address
   * back to the listener, which declines it, instead of re-probing. The host's MAC is registered
   * by its DHCP client for the client's whole life.
   */
  bindLeased(host: DecoyHost, listener: LeasedAddressListener, now: number): void {
    const b: StaticBinding = { host, lease: listener, phase: 'probing', nextAt: now, probesSent: 0, announcesSent: 0, initialPending: false };
    this.statics.set(host.ip, b);
    if (this.opts.settings.probeBeforeBind) {
      this.sendProbe(host);
      b.probesSent = 1;
      b.nextAt = now + this.opts.settings.probeWaitMs / 2;
    } else {
      this.activate(b, now);
    }
  }

  /** True when the address is a live decoy or a binding being probed: a lease must not take it over. */
  holds(ip: number): boolean {
    return this.table.has(ip) || this.statics.has(ip);
  }

  /** Give up a leased address (lease ended, released, lost); the listener is not called. */
  releaseLeased(ip: number, now: number, reason: string): void {
    const b = this.statics.get(ip);
    if (b === undefined || b.lease === undefined) return;
    this.statics.delete(ip);
    const host = this.table.get(ip);
    if (host === b.host) {
      this.table.remove(ip);
      if (reason !== 'shutdown') this.opts.onRelease?.(host);
      if (this.events.wants('arp.release')) this.emit({ kind: 'arp.release', time: now, address: host.ipText, mac: host.macText, template: host.template.name, reason });
    }
  }

  /** Static addresses configured (whatever their phase; not DHCP leases), for the admin API. */
  staticAddresses(): number[] {
    const out: number[] = [];
    for (const [ip, b] of this.statics) if (b.lease === undefined) out.push(ip);
    return out;
  }

  /** Phase of a static binding: probing, active or refused; undefined when not bound statically. */
  staticPhase(ip: number): string | undefined {
    const b = this.statics.get(ip);
    return b === undefined || b.lease !== undefined ? undefined : b.phase;
  }

  /** Withdraw a static binding at run time (admin API): the address is released if live. */
  unbindStatic(ip: number, now: number): boolean {
    const b = this.statics.get(ip);
    if (b === undefined || b.lease !== undefined) return false;
    this.resolveInitial(b);
    this.statics.delete(ip);
    if (this.table.get(ip) === b.host) this.release(b.host, now, 'removed', undefined);
    this.table.unregisterMac(b.host);
    this.maybeReady();
    return true;
  }

  /** Handle a validated ARP packet from a frame whose source MAC is not ours. */
  handleArp(arp: ArpView, frame: Buffer, now: number): void {
    const sip = arp.senderIp;
    const tip = arp.targetIp;
    const shaOff = arp.senderMacOffset;
    // Address state (owners, probes, claims) is learnt only from well-formed ARP with a unicast
    // sender MAC and a usable sender IP: odd requests may still be answered, never believed.
    const believable = arp.isEthernetIpv4 && !isMulticastMac(frame, shaOff);
    if (believable && sip !== 0 && isUsableUnicast(sip)) this.noteOwner(sip, frame, shaOff, now);
    else if (believable && sip === 0 && arp.op === ArpOp.REQUEST) {
      // An RFC 5227 probe: someone is about to take `tip`. A claimed address yields to it; a static
      // binding answers it if its family does (the prober then sees the address in use).
      this.noteProbeFor(tip, frame, shaOff, now);
    }

    if (arp.op !== ArpOp.REQUEST) {
      // A peer's reply to one of our neighbour probes confirms it.
      const to = this.table.get(tip);
      if (believable && to !== undefined && isUsableUnicast(sip) && macEquals(frame, ETH_DST, to.mac, 0)) this.neighbours?.confirm(to, sip, now);
      return;
    }
    if (!isUsableUnicast(tip) || tip === sip) return; // gratuitous announcements need no answer

    const host = this.table.get(tip);
    if (host !== undefined) {
      // Like Linux (PACKET_OTHERHOST), never answer a request unicast to another station's MAC.
      if (!isMulticastMac(frame, ETH_DST) && !macEquals(frame, ETH_DST, host.mac, 0)) return;
      // Safety over fidelity: Linux answers a group sender MAC (measured), decoyd never sends to a group.
      if (isMulticastMac(frame, shaOff)) return;
      if (answersArp(host.personality.behaviour.arp, arp, frame, host.ip)) this.reply(host, arp, frame, now);
      return;
    }
    if (believable && sip !== 0 && isUsableUnicast(sip)) this.considerClaim(tip, arp, frame, now);
  }

  /**
   * Note a peer seen sending from `ip`: an unclaimed range address in use is never claimed. It does not
   * release a live decoy: one spoofed packet must not make decoys vanish (only ARP from the owner does).
   */
  noteIpv4Source(ip: number, frame: Buffer, srcMacOff: number, now: number): void {
    if (this.opts.claimRanges.length === 0 || this.table.has(ip) || !this.inClaimRange(ip)) return;
    if (this.table.isOurMac(macToNumber(frame, srcMacOff))) return;
    this.owned.set(ip, now);
    this.dropCandidate(ip);
  }

  /** Timers: probing, announcements, re-probes, forgetting stale state. Called every ~100 ms. */
  tick(now: number): void {
    for (const b of this.statics.values()) {
      if (now < b.nextAt) continue;
      if (b.phase === 'probing') {
        if (b.probesSent < 2) {
          this.sendProbe(b.host);
          b.probesSent++;
          b.nextAt = now + this.opts.settings.probeWaitMs / 2;
        } else {
          this.resolveInitial(b);
          this.activate(b, now);
        }
      } else if (b.phase === 'active') {
        if (b.announcesSent < 2) {
          this.announce(b.host);
          b.announcesSent++;
          b.nextAt = b.announcesSent < 2 ? now + this.opts.announceIntervalMs : Infinity;
        }
      } else if (b.phase === 'refused') {
        b.phase = 'probing';
        b.probesSent = 1;
        this.sendProbe(b.host);
        b.nextAt = now + this.opts.settings.probeWaitMs / 2;
      }
    }
    this.maybeReady();
    const window = this.opts.settings.windowMs;
    for (const [ip, c] of this.candidates) if (now - c.firstAt > window * 2) this.dropCandidate(ip);
    for (const [ip, seen] of this.owned) if (now - seen > this.opts.ownerMemoryMs) this.owned.delete(ip);
  }

  /** Give up every address (shutdown). */
  releaseAll(now: number): void {
    for (const host of [...this.table.hosts()]) this.release(host, now, 'shutdown', undefined);
  }

  private resolveInitial(b: StaticBinding): void {
    if (b.initialPending) {
      b.initialPending = false;
      this.pendingProbes--;
    }
  }

  private maybeReady(): void {
    if (!this.readyNotified && this.pendingProbes === 0) {
      this.readyNotified = true;
      this.onReady();
    }
  }

  private activate(b: StaticBinding, now: number): void {
    b.phase = 'active';
    this.table.add(b.host);
    this.announce(b.host);
    b.announcesSent = 1;
    b.nextAt = now + this.opts.announceIntervalMs;
    if (this.events.wants('arp.announce')) this.emit({ kind: 'arp.announce', time: now, address: b.host.ipText, mac: b.host.macText, template: b.host.template.name });
    b.lease?.onAddressActive(now);
  }

  private noteOwner(ip: number, frame: Buffer, macOff: number, now: number): void {
    const macKey = macToNumber(frame, macOff);
    if (this.table.isOurMac(macKey)) return;
    const host = this.table.get(ip);
    const b = this.statics.get(ip);
    if (host !== undefined) {
      this.release(host, now, 'owner-appeared', macToString(frame, macOff));
    } else if (b !== undefined && b.phase === 'probing') {
      this.refuse(b, now, macToString(frame, macOff));
    }
    if (this.inClaimRange(ip)) {
      this.owned.set(ip, now);
      this.dropCandidate(ip);
    }
  }

  private noteProbeFor(ip: number, frame: Buffer, macOff: number, now: number): void {
    if (this.table.isOurMac(macToNumber(frame, macOff))) return;
    const host = this.table.get(ip);
    if (host !== undefined && host.origin === 'claimed') {
      this.release(host, now, 'probed-by-other', macToString(frame, macOff));
      this.owned.set(ip, now);
    } else if (host === undefined) {
      const b = this.statics.get(ip);
      if (b !== undefined && b.phase === 'probing') this.refuse(b, now, macToString(frame, macOff));
      if (this.inClaimRange(ip)) this.owned.set(ip, now);
    }
  }

  private refuse(b: StaticBinding, now: number, otherMac: string): void {
    this.resolveInitial(b);
    b.phase = 'refused';
    b.nextAt = now + this.opts.reprobeAfterMs;
    if (this.events.wants('arp.conflict')) this.emit({ kind: 'arp.conflict', time: now, address: b.host.ipText, mac: b.host.macText, peerMac: otherMac, template: b.host.template.name, reason: 'in use by another host; binding refused' });
    if (b.lease !== undefined) {
      this.statics.delete(b.host.ip);
      b.lease.onAddressConflict(otherMac, now);
    }
  }

  private release(host: DecoyHost, now: number, reason: string, otherMac: string | undefined): void {
    this.table.remove(host.ip);
    if (reason !== 'shutdown') this.opts.onRelease?.(host);
    this.neighbours?.forget(host);
    if (host.origin === 'claimed') this.table.unregisterMac(host);
    const b = this.statics.get(host.ip);
    if (b !== undefined && reason !== 'shutdown') {
      b.phase = 'refused';
      b.nextAt = now + this.opts.reprobeAfterMs;
    }
    if (this.events.wants('arp.release')) this.emit({ kind: 'arp.release', time: now, address: host.ipText, mac: host.macText, peerMac: otherMac, template: host.template.name, reason });
    if (b !== undefined && b.lease !== undefined) {
      this.statics.delete(host.ip);
      if (reason !== 'shutdown') b.lease.onAddressConflict(otherMac ?? 'unknown', now);
    }
  }

  /**
   * arpd's rule with a safeguard: an address in a claim range whose requests go unanswered `tries`
   * times within the window is claimed. A real owner's replies are unicast to the asker and a
   * switch does not show them to us, so each request also makes us probe (RFC 5227, sender
   * 0.0.0.0): a real owner answers the probe to our MAC, and `noteOwner` marks the address as taken.
   */
  private considerClaim(ip: number, arp: ArpView, frame: Buffer, now: number): void {
    const range = this.rangeOf(ip);
    if (range === undefined || this.owned.has(ip) || this.statics.has(ip)) return;
    let c = this.candidates.get(ip);
    if (c !== undefined && now - c.firstAt > this.opts.settings.windowMs) {
      c.firstAt = now;
      c.requests = 0;
    }
    if (c === undefined) {
      if (this.candidates.size >= this.opts.maxCandidates) {
        const oldest = this.candidates.keys().next();
        if (!oldest.done) this.dropCandidate(oldest.value);
      }
      const host = this.createHost(ip, range.template, 'claimed');
      this.table.registerMac(host);
      c = { firstAt: now, requests: 0, host };
      this.candidates.set(ip, c);
    }
    c.requests++;
    if (c.requests < this.opts.settings.tries) {
      this.sendProbe(c.host);
      return;
    }
    this.candidates.delete(ip);
    const host = c.host;
    this.table.add(host);
    this.emit({ kind: 'arp.claim', time: now, address: host.ipText, mac: host.macText, template: range.template.name, peerIp: ipToString(arp.senderIp), peerMac: macToString(frame, arp.senderMacOffset), reason: `${this.opts.settings.tries} unanswered requests` });
    this.reply(host, arp, frame, now);
  }

  private dropCandidate(ip: number): void {
    const c = this.candidates.get(ip);
    if (c === undefined) return;
    this.candidates.delete(ip);
    this.table.unregisterMac(c.host);
  }

  private reply(host: DecoyHost, arp: ArpView, frame: Buffer, now: number): void {
    const buf = this.tx.buf;
    const shaOff = arp.senderMacOffset;
    writeEthernet(buf, frame, shaOff, host.mac, EtherType.ARP);
    writeArp(buf, ETH_HEADER_LEN, ArpOp.REPLY, host.mac, host.ip, frame, shaOff, arp.senderIp);
    // BSD stacks turn the request buffer round, so the reply keeps the request's hardware type.
    if (host.personality.behaviour.arp.replyHardwareType === 'echo-request') buf.writeUInt16BE(arp.hardwareType, ETH_HEADER_LEN);
    this.tx.sendRaw(ETH_HEADER_LEN + ARP_LEN);
    if (arp.isEthernetIpv4 && isUsableUnicast(arp.senderIp)) this.neighbours?.learnFromRequest(host, arp.senderIp, frame, shaOff, now);
    if (this.events.wants('arp.reply')) {
      this.emit({ kind: 'arp.reply', time: now, address: host.ipText, mac: host.macText, peerIp: ipToString(arp.senderIp), peerMac: macToString(frame, shaOff) });
    }
  }

  /** RFC 5227 probe: sender IP 0.0.0.0 so that nobody's cache learns anything from it. */
  private sendProbe(host: DecoyHost): void {
    const buf = this.tx.buf;
    writeEthernet(buf, BROADCAST, 0, host.mac, EtherType.ARP);
    writeArp(buf, ETH_HEADER_LEN, ArpOp.REQUEST, host.mac, 0, ZERO_MAC, 0, host.ip);
    this.tx.sendRaw(ETH_HEADER_LEN + ARP_LEN);
  }

  /** Gratuitous ARP request (sender = target = our address), as Linux sends on address configuration. */
  private announce(host: DecoyHost): void {
    const buf = this.tx.buf;
    writeEthernet(buf, BROADCAST, 0, host.mac, EtherType.ARP);
    writeArp(buf, ETH_HEADER_LEN, ArpOp.REQUEST, host.mac, host.ip, ZERO_MAC, 0, host.ip);
    this.tx.sendRaw(ETH_HEADER_LEN + ARP_LEN);
  }

  /** A bound decoy or an address in a claim range: what the scan detector watches ARP for. */
  isDecoyAddress(ip: number): boolean {
    return this.table.has(ip) || this.inClaimRange(ip);
  }

  private rangeOf(ip: number): ClaimRangeRuntime | undefined {
    for (const r of this.opts.claimRanges) if (ip >= r.network && ip < r.network + r.size) return r;
    return undefined;
  }

  private inClaimRange(ip: number): boolean {
    return this.rangeOf(ip) !== undefined;
  }

  /** Callers check `events.wants` first, so events nobody records are never built (texts, strings). */
  private emit(e: DecoyEvent): void { this.events.emit(e); }
}

/**
 * Whether a host of this ARP family answers `arp` (a request for its address `ownIp`), by the
 * request's hardware type and lengths, its sender MAC and the class of its sender IP.
 */
export function answersArp(b: ArpBehaviour, arp: ArpView, frame: Buffer, ownIp: number): boolean {
  if (b.hardwareTypes !== 'any' && !b.hardwareTypes.includes(arp.hardwareType)) return false;
  if (!b.ignoreLengths && (arp.hardwareLength !== 6 || arp.protocolLength !== 4)) return false;
  if (!b.multicastSenderMac && isMulticastMac(frame, arp.senderMacOffset)) return false;
  const sip = arp.senderIp;
  const a = sip >>> 24;
  if (sip === 0) return b.senderZero;
  if (sip === 0xffffffff) return b.senderBroadcast;
  if (a === 127) return b.senderLoopback;
  if (a === 0) return b.senderZeroNet;
  if (a >= 240) return b.senderClassE;
  if (a >= 224) return b.senderMulticast;
  // decoyd knows no netmask: the decoy's /24 stands for its subnet.
  if ((sip ^ ownIp) >>> 8 !== 0) return b.senderOffSubnet;
  return true;
}

/** Unicast IPv4 a host may use: not 0/8, 127/8, multicast, class E or broadcast. */
export function isUsableUnicast(ip: number): boolean {
  const a = ip >>> 24;
  return a !== 0 && a !== 127 && a < 224;
}
