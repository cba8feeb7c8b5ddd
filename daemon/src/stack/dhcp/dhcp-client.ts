/**
 * One decoy's DHCP client (RFC 2131 section 4.4): INIT → SELECTING → REQUESTING → (ARP probe) →
 * BOUND → RENEWING at T1 (unicast to the server) → REBINDING at T2 (broadcast) → expiry, with
 * DECLINE after a conflict, NAK handling, retransmission with exponential backoff and jitter, and
 * RELEASE on stop. State is a fixed set of numbers per client; it runs from the engine's tick and
 * from the frame path (a reply), never blocks, and allocates only when it builds event records.
 */

import type { EventSink, DhcpEvent } from '../../events/event';
import { ipToString, macEquals, macToString } from '../../wire/address';
import { BOOTP_FLAG_BROADCAST, BootpOp, DhcpMessageType, DhcpOption, type DhcpView, type DhcpWriter } from '../../wire/dhcp';
import { isUsableUnicast, type LeasedAddressListener } from '../address-manager';
import type { DhcpProfile } from './profiles';

export interface DhcpTiming {
  /** Random wait before the first DISCOVER, so many decoys starting together do not burst. */
  initialDelayMaxMs: number;
  /** RFC 2131 4.1: the first retransmission after 4 s, doubling up to 64 s, each ±1 s at random. */
  firstRetransmitMs: number;
  maxRetransmitMs: number;
  jitterMs: number;
  /** REQUESTs sent in REQUESTING before starting over from DISCOVER. */
  requestAttempts: number;
  /** RFC 2131 3.1 step 5: wait at least ten seconds after a DECLINE before starting again. */
  declineBackoffMs: number;
  /** After a NAK, restart after this long, doubling per NAK up to the maximum. */
  nakBackoffMinMs: number;
  nakBackoffMaxMs: number;
  /** RFC 2131 4.4.5: in RENEWING/REBINDING retransmit after half the time left, at least this long. */
  minRenewRetransmitMs: number;
}

export const DEFAULT_DHCP_TIMING: DhcpTiming = {
  initialDelayMaxMs: 1000,
  firstRetransmitMs: 4000,
  maxRetransmitMs: 64000,
  jitterMs: 1000,
  requestAttempts: 4,
  declineBackoffMs: 10000,
  nakBackoffMinMs: 1000,
  nakBackoffMaxMs: 60000,
  minRenewRetransmitMs: 60000,
};

export type DhcpState = 'stopped' | 'init' | 'selecting' | 'requesting' | 'probing' | 'bound' | 'renewing' | 'rebinding';

/** What a client sends through and binds with; the engine provides it (dhcp-clients.ts). */
export interface DhcpClientIo {
  /** Where the DHCP message is written (the transmit buffer, after IPv4 and UDP headers). */
  readonly writer: DhcpWriter;
  /**
   * Send the message just written (`length` bytes) from this client's MAC: to `dstMac`, or to
   * broadcast when null, as UDP 68 → 67 from `srcIp` to `dstIp`.
   */
  transmit(client: DhcpClient, length: number, srcIp: number, dstIp: number, dstMac: Buffer | null, ttl: number): void;
  /** Probe and take up a leased address for this client (AddressManager.bindLeased). */
  bindAddress(client: DhcpClient, ip: number, now: number): void;
  /** Give a leased address up. */
  releaseAddress(ip: number, now: number, reason: string): void;
  readonly events: EventSink;
}

export interface DhcpClientSpec {
  /** The decoy's MAC, also the BOOTP chaddr. */
  mac: Buffer;
  template: string;
  hostname: string;
  profile: DhcpProfile;
  /** Option 61, or null when this family sends none. */
  clientId: Buffer | null;
}

const BROADCAST_IP = 0xffffffff;
const O = DhcpOption;

export class DhcpClient implements LeasedAddressListener {
  state: DhcpState = 'stopped';
  readonly macText: string;
  private xid = 0;
  private nextAt = Infinity;
  /** Transmissions in the current exchange (drives the backoff). */
  private attempt = 0;
  private exchangeStart = 0;
  /** When the REQUEST that got the lease was sent: lease times count from there (RFC 2131 4.4.1). */
  private requestSentAt = 0;
  private offered = 0;
  private server = 0;
  private readonly serverMac = Buffer.alloc(6);
  /** The address we hold (probing or bound); 0 when none. */
  private address = 0;
  /** The last address held, asked for again in the next DISCOVER as real clients do. */
  private previous = 0;
  private leaseSeconds = 0;
  private pendingT1 = 0;
  private pendingT2 = 0;
  private t1At = Infinity;
  private t2At = Infinity;
  private expireAt = Infinity;
  private nakBackoffMs: number;
  private readonly fqdn: Buffer;
  private readonly prl: Buffer;
  private readonly vendorClass: Buffer | null;
  private readonly hostnameBytes: Buffer;

  constructor(
    readonly spec: DhcpClientSpec,
    private readonly io: DhcpClientIo,
    private readonly random: () => number,
    private readonly timing: DhcpTiming = DEFAULT_DHCP_TIMING,
  ) {
    this.macText = macToString(spec.mac);
    this.nakBackoffMs = timing.nakBackoffMinMs;
    this.prl = Buffer.from(spec.profile.parameterRequestList);
    this.vendorClass = spec.profile.vendorClass === undefined ? null : Buffer.from(spec.profile.vendorClass, 'latin1');
    this.hostnameBytes = Buffer.from(spec.hostname, 'latin1');
    // RFC 4702: flags, two obsolete RCODE bytes, then the name (ASCII form, as Windows sends it).
    this.fqdn = Buffer.concat([Buffer.from([0, 0, 0]), this.hostnameBytes]);
  }

  get transactionId(): number { return this.xid; }
  get leasedAddress(): number { return this.address; }
  /** Time of the next timer action (tests and the scheduler read it). */
  get nextActionAt(): number { return this.nextAt; }

  start(now: number): void {
    if (this.state !== 'stopped') return;
    this.state = 'init';
    this.nextAt = now + Math.floor(this.random() * this.timing.initialDelayMaxMs);
  }

  tick(now: number): void {
    if (now < this.nextAt) return;
    switch (this.state) {
      case 'init':
        this.beginDiscover(now);
        return;
      case 'selecting':
        this.attempt++;
        this.sendDiscover(now);
        this.nextAt = now + this.backoff();
        return;
      case 'requesting':
        if (this.attempt >= this.timing.requestAttempts) {
          this.state = 'init';
          this.nextAt = now;
          return;
        }
        this.attempt++;
        this.sendSelectingRequest(now);
        this.nextAt = now + this.backoff();
        return;
      case 'bound':
      case 'renewing':
      case 'rebinding':
        this.leaseTimer(now);
        return;
      default:
        this.nextAt = Infinity;
    }
  }

  /** A validated DHCP reply whose chaddr is ours. `srcMacOff` locates the frame's Ethernet source. */
  handle(msg: DhcpView, frame: Buffer, srcMacOff: number, now: number): boolean {
    if (msg.op !== BootpOp.REPLY || msg.xid !== this.xid || !macEquals(frame, msg.chaddrOffset, this.spec.mac, 0)) return false;
    const type = msg.messageType;
    const serverId = msg.u32Option(O.SERVER_ID);
    switch (type) {
      case DhcpMessageType.OFFER:
        if (this.state !== 'selecting' || serverId < 0 || !isUsableUnicast(msg.yiaddr)) return false;
        this.offered = msg.yiaddr;
        this.server = serverId;
        frame.copy(this.serverMac, 0, srcMacOff, srcMacOff + 6);
        this.state = 'requesting';
        this.attempt = 1;
        this.sendSelectingRequest(now);
        this.nextAt = now + this.backoff();
        return true;
      case DhcpMessageType.ACK:
        return this.onAck(msg, serverId, frame, srcMacOff, now);
      case DhcpMessageType.NAK:
        return this.onNak(serverId, now);
      default:
        return false;
    }
  }

  /** Stop: release a held lease (DHCPRELEASE, RFC 2131 4.4.6) and give the address up. */
  stop(now: number): void {
    if (this.state === 'bound' || this.state === 'renewing' || this.state === 'rebinding' || this.state === 'probing') {
      // Probing too: the server has ACKed, so it holds the address for us until told otherwise.
      const wasBound = this.state !== 'probing';
      this.sendRelease();
      this.io.releaseAddress(this.address, now, 'dhcp-release');
      if (wasBound) this.emit('dhcp.release', now, this.address, 'shutdown');
    }
    this.address = 0;
    this.state = 'stopped';
    this.nextAt = Infinity;
  }

  onAddressActive(now: number): void {
    if (this.state !== 'probing') return;
    this.state = 'bound';
    this.setLeaseTimes(this.requestSentAt);
    this.nakBackoffMs = this.timing.nakBackoffMinMs;
    this.emit('dhcp.lease', now, this.address);
    // The probe took a moment: T1 may already be due when the lease is very short.
    this.nextAt = Math.max(now, this.t1At);
  }

  /** Someone else uses the address: decline it to the server and start over after a pause. */
  onAddressConflict(_peerMac: string, now: number): void {
    if (this.state !== 'probing' && this.state !== 'bound' && this.state !== 'renewing' && this.state !== 'rebinding') return;
    const lost = this.address;
    this.sendDecline(lost);
    this.address = 0;
    this.emit('dhcp.lost', now, lost, 'conflict');
    this.state = 'init';
    this.nextAt = now + this.timing.declineBackoffMs;
  }

  private onAck(msg: DhcpView, serverId: number, frame: Buffer, srcMacOff: number, now: number): boolean {
    const lease = msg.u32Option(O.LEASE_TIME);
    // A server MUST send the lease time in an ACK to a REQUEST; one without it cannot be timed.
    if (lease <= 0 || !isUsableUnicast(msg.yiaddr)) return false;
    if (this.state === 'requesting') {
      if (serverId >= 0 && serverId !== this.server) return false;
      this.takeLeaseParameters(msg, lease);
      this.address = msg.yiaddr;
      this.previous = msg.yiaddr;
      this.state = 'probing';
      this.nextAt = Infinity;
      this.io.bindAddress(this, this.address, now);
      return true;
    }
    if (this.state !== 'renewing' && this.state !== 'rebinding') return false;
    if (serverId >= 0) this.server = serverId;
    frame.copy(this.serverMac, 0, srcMacOff, srcMacOff + 6);
    this.takeLeaseParameters(msg, lease);
    if (msg.yiaddr !== this.address) {
      // The server moved us: the old address goes, the new one is probed like a first lease.
      this.io.releaseAddress(this.address, now, 'dhcp-lost');
      this.emit('dhcp.lost', now, this.address, 'address-changed');
      this.address = msg.yiaddr;
      this.previous = msg.yiaddr;
      this.state = 'probing';
      this.nextAt = Infinity;
      this.io.bindAddress(this, this.address, now);
      return true;
    }
    this.state = 'bound';
    this.setLeaseTimes(this.requestSentAt);
    this.emit('dhcp.renew', now, this.address);
    this.nextAt = Math.max(now, this.t1At);
    return true;
  }

  private onNak(serverId: number, now: number): boolean {
    if (this.state === 'requesting') {
      if (serverId >= 0 && serverId !== this.server) return false;
    } else if (this.state === 'renewing' || this.state === 'rebinding') {
      this.io.releaseAddress(this.address, now, 'dhcp-lost');
      this.emit('dhcp.lost', now, this.address, 'nak');
      this.address = 0;
    } else {
      return false;
    }
    // RFC 2131 3.1 step 5: a NAK sends the client back to INIT; waits double per NAK, like systemd's.
    this.state = 'init';
    this.nextAt = now + this.nakBackoffMs;
    this.nakBackoffMs = Math.min(this.nakBackoffMs * 2, this.timing.nakBackoffMaxMs);
    return true;
  }

  private takeLeaseParameters(msg: DhcpView, lease: number): void {
    this.leaseSeconds = lease;
    const t1 = msg.u32Option(O.RENEWAL_TIME);
    const t2 = msg.u32Option(O.REBINDING_TIME);
    // RFC 2131 4.4.5 defaults: T1 = 0.5 × lease, T2 = 0.875 × lease; inconsistent values are ignored.
    this.pendingT2 = t2 > 0 && t2 < lease ? t2 : lease * 0.875;
    this.pendingT1 = t1 > 0 && t1 < this.pendingT2 ? t1 : Math.min(lease * 0.5, this.pendingT2);
  }

  private setLeaseTimes(from: number): void {
    this.t1At = from + this.pendingT1 * 1000;
    this.t2At = from + this.pendingT2 * 1000;
    this.expireAt = from + this.leaseSeconds * 1000;
  }

  private leaseTimer(now: number): void {
    if (now >= this.expireAt) {
      const lost = this.address;
      this.io.releaseAddress(lost, now, 'dhcp-lost');
      this.emit('dhcp.lost', now, lost, 'expired');
      this.address = 0;
      this.state = 'init';
      this.nextAt = now;
      return;
    }
    if (now >= this.t2At) {
      if (this.state !== 'rebinding') this.newExchange(now);
      this.state = 'rebinding';
      this.sendRenewal(now, true);
      this.nextAt = this.renewRetransmitAt(now, this.expireAt);
      return;
    }
    if (now >= this.t1At) {
      if (this.state !== 'renewing') this.newExchange(now);
      this.state = 'renewing';
      this.sendRenewal(now, false);
      this.nextAt = this.renewRetransmitAt(now, this.t2At);
      return;
    }
    this.nextAt = this.t1At;
  }

  /** Half the time left until `until`, at least the minimum, never past `until`. */
  private renewRetransmitAt(now: number, until: number): number {
    return Math.min(until, now + Math.max((until - now) / 2, this.timing.minRenewRetransmitMs));
  }

  private beginDiscover(now: number): void {
    this.newExchange(now);
    this.state = 'selecting';
    this.sendDiscover(now);
    this.nextAt = now + this.backoff();
  }

  private newExchange(now: number): void {
    this.xid = Math.floor(this.random() * 0x100000000) >>> 0;
    this.exchangeStart = now;
    this.attempt = 1;
  }

  /** 4 s, 8 s, 16 s … up to 64 s for the attempt just made, ±jitter (RFC 2131 4.1). */
  private backoff(): number {
    const base = Math.min(this.timing.firstRetransmitMs * 2 ** Math.max(0, this.attempt - 1), this.timing.maxRetransmitMs);
    return Math.max(0, base + (this.random() * 2 - 1) * this.timing.jitterMs);
  }

  private secs(now: number): number {
    return Math.min(0xffff, Math.floor((now - this.exchangeStart) / 1000));
  }

  private flags(): number {
    return this.spec.profile.broadcastFlag ? BOOTP_FLAG_BROADCAST : 0;
  }

  private sendDiscover(now: number): void {
    const w = this.io.writer;
    w.begin({ op: BootpOp.REQUEST, xid: this.xid, secs: this.secs(now), flags: this.flags(), ciaddr: 0, yiaddr: 0, siaddr: 0, giaddr: 0, chaddr: this.spec.mac });
    this.writeOptions(this.spec.profile.discoverOrder, DhcpMessageType.DISCOVER, this.previous, 0);
    this.io.transmit(this, w.end(), 0, BROADCAST_IP, null, this.spec.profile.broadcastTtl);
  }

  /** REQUEST in SELECTING: broadcast, naming the chosen server and the offered address. */
  private sendSelectingRequest(now: number): void {
    const w = this.io.writer;
    w.begin({ op: BootpOp.REQUEST, xid: this.xid, secs: this.secs(now), flags: this.flags(), ciaddr: 0, yiaddr: 0, siaddr: 0, giaddr: 0, chaddr: this.spec.mac });
    this.writeOptions(this.spec.profile.requestOrder, DhcpMessageType.REQUEST, this.offered, this.server);
    this.requestSentAt = now;
    this.io.transmit(this, w.end(), 0, BROADCAST_IP, null, this.spec.profile.broadcastTtl);
  }

  /** REQUEST in RENEWING (unicast to the server) or REBINDING (broadcast): ciaddr set, no 50 or 54. */
  private sendRenewal(now: number, rebinding: boolean): void {
    const w = this.io.writer;
    w.begin({ op: BootpOp.REQUEST, xid: this.xid, secs: this.secs(now), flags: 0, ciaddr: this.address, yiaddr: 0, siaddr: 0, giaddr: 0, chaddr: this.spec.mac });
    this.writeOptions(this.spec.profile.requestOrder, DhcpMessageType.REQUEST, 0, 0);
    this.requestSentAt = now;
    const p = this.spec.profile;
    if (rebinding) this.io.transmit(this, w.end(), this.address, BROADCAST_IP, null, p.broadcastTtl);
    else this.io.transmit(this, w.end(), this.address, this.server, this.serverMac, p.unicastTtl);
  }

  private sendDecline(address: number): void {
    const w = this.io.writer;
    w.begin({ op: BootpOp.REQUEST, xid: this.xid, secs: 0, flags: 0, ciaddr: 0, yiaddr: 0, siaddr: 0, giaddr: 0, chaddr: this.spec.mac });
    this.writeOptions([O.MESSAGE_TYPE, O.CLIENT_ID, O.REQUESTED_IP, O.SERVER_ID], DhcpMessageType.DECLINE, address, this.server);
    this.io.transmit(this, w.end(), 0, BROADCAST_IP, null, this.spec.profile.broadcastTtl);
  }

  private sendRelease(): void {
    const w = this.io.writer;
    // RFC 2131 4.4.6: a RELEASE carries a fresh xid, ciaddr = the address, and the server identifier.
    this.xid = Math.floor(this.random() * 0x100000000) >>> 0;
    w.begin({ op: BootpOp.REQUEST, xid: this.xid, secs: 0, flags: 0, ciaddr: this.address, yiaddr: 0, siaddr: 0, giaddr: 0, chaddr: this.spec.mac });
    this.writeOptions(this.spec.profile.releaseOrder ?? [O.MESSAGE_TYPE, O.SERVER_ID, O.CLIENT_ID], DhcpMessageType.RELEASE, 0, this.server);
    this.io.transmit(this, w.end(), this.address, this.server, this.serverMac, this.spec.profile.unicastTtl);
  }

  /**
   * Options in the family's own order. 50 goes only where given (DISCOVER with a previous
   * address, REQUEST from SELECTING, DECLINE); 54 only with a server (SELECTING, DECLINE, RELEASE);
   * the parameter list, FQDN and lease time only in DISCOVER and REQUEST.
   */
  private writeOptions(order: readonly number[], type: number, requestedIp: number, serverId: number): void {
    const w = this.io.writer;
    const p = this.spec.profile;
    const negotiating = type === DhcpMessageType.DISCOVER || type === DhcpMessageType.REQUEST;
    for (const code of order) {
      switch (code) {
        case O.MESSAGE_TYPE: w.optionU8(O.MESSAGE_TYPE, type); break;
        case O.CLIENT_ID: if (this.spec.clientId !== null) w.optionBytes(O.CLIENT_ID, this.spec.clientId); break;
        case O.REQUESTED_IP: if (requestedIp !== 0) w.optionU32(O.REQUESTED_IP, requestedIp); break;
        case O.SERVER_ID: if (serverId !== 0) w.optionU32(O.SERVER_ID, serverId); break;
        case O.HOST_NAME: if (this.hostnameBytes.length > 0 && type !== DhcpMessageType.DECLINE) w.optionBytes(O.HOST_NAME, this.hostnameBytes); break;
        case O.CLIENT_FQDN: if (p.sendsFqdn && type === DhcpMessageType.REQUEST) w.optionBytes(O.CLIENT_FQDN, this.fqdn); break;
        case O.VENDOR_CLASS: if (this.vendorClass !== null && negotiating) w.optionBytes(O.VENDOR_CLASS, this.vendorClass); break;
        case O.PARAMETER_REQUEST_LIST: if (negotiating) w.optionBytes(O.PARAMETER_REQUEST_LIST, this.prl); break;
        case O.MAX_MESSAGE_SIZE: if (p.maxMessageSize !== undefined && negotiating) w.optionU16(O.MAX_MESSAGE_SIZE, p.maxMessageSize); break;
        case O.LEASE_TIME: if (p.requestedLeaseSeconds !== undefined && negotiating) w.optionU32(O.LEASE_TIME, p.requestedLeaseSeconds); break;
        default: break;
      }
    }
  }

  private emit(kind: DhcpEvent['kind'], now: number, address: number, reason?: string): void {
    if (!this.io.events.wants(kind)) return;
    const event: DhcpEvent = {
      kind, time: now, address: ipToString(address), mac: this.macText, server: ipToString(this.server),
      leaseTime: this.leaseSeconds, template: this.spec.template, hostname: this.spec.hostname,
    };
    if (reason !== undefined) event.reason = reason;
    this.io.events.emit(event);
  }
}
