/**
 * The DHCP clients of every `dhcp` binding, wired to the packet path: the engine hands over UDP
 * 67 → 68 datagrams, this finds the client by chaddr and xid; clients send through the engine's
 * transmit buffer with their own MACs; leased addresses are bound through the AddressManager.
 * One client per configured binding, so the count is bounded by the configuration.
 */

import type { EventSink } from '../../events/event';
import { macToNumber } from '../../wire/address';
import { DHCP_CLIENT_PORT, DHCP_SERVER_PORT, DhcpView, DhcpWriter } from '../../wire/dhcp';
import { ETH_SRC } from '../../wire/ethernet';
import { IpProto, type Ipv4View } from '../../wire/ipv4';
import { Malformed, malformedName } from '../../wire/malformed';
import { UDP_HEADER_LEN, UdpView, writeUdp } from '../../wire/udp';
import type { AddressManager } from '../address-manager';
import type { DecoyHost, DecoyTable } from '../decoy-table';
import { L4_OFF, type FrameBuilder } from '../frame-builder';
import { DEFAULT_DHCP_TIMING, DhcpClient, type DhcpClientIo, type DhcpClientSpec, type DhcpTiming } from './dhcp-client';

const BROADCAST_MAC = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

export interface LeasedHostFactory {
  /** The decoy a client's leased address becomes (same MAC as the client). */
  (ip: number, spec: DhcpClientSpec): DecoyHost;
}

export class DhcpClients implements DhcpClientIo {
  readonly writer: DhcpWriter;
  readonly clients: DhcpClient[] = [];
  private readonly byMac = new Map<number, DhcpClient>();
  private readonly view = new DhcpView();
  private readonly udp = new UdpView();
  /** Per client: its own IP ID sequence, so two decoys never share one counter (that would link them). */
  private readonly ipIds = new Map<DhcpClient, number>();

  constructor(
    specs: readonly DhcpClientSpec[],
    private readonly tx: FrameBuilder,
    private readonly addresses: AddressManager,
    table: DecoyTable,
    readonly events: EventSink,
    private readonly createHost: LeasedHostFactory,
    private readonly onDrop: (reason: string, timeMs: number, src: number, dst: number) => void,
    random: () => number,
    timing: DhcpTiming = DEFAULT_DHCP_TIMING,
  ) {
    this.writer = new DhcpWriter(tx.buf, L4_OFF + UDP_HEADER_LEN);
    for (const spec of specs) {
      const client = new DhcpClient(spec, this, random, timing);
      this.ipIds.set(client, Math.floor(random() * 0x10000));
      const key = macToNumber(spec.mac, 0);
      if (this.byMac.has(key)) throw new Error(`two DHCP clients share the MAC ${client.macText}`);
      this.byMac.set(key, client);
      this.clients.push(client);
      // Ours from the first DISCOVER on, so the capture's echo of our frames is never taken as input.
      table.registerMac({ macKey: key });
    }
  }

  get size(): number { return this.clients.length; }

  start(now: number): void {
    for (const c of this.clients) c.start(now);
  }

  tick(now: number): void {
    for (const c of this.clients) c.tick(now);
  }

  /** Release every lease (DHCPRELEASE) and give the addresses up: shutdown. */
  stop(now: number): void {
    for (const c of this.clients) c.stop(now);
  }

  /** Cheap test on the frame path: is this an unfragmented UDP datagram from port 67 to 68? */
  static isDhcpReply(frame: Buffer, ip: Ipv4View): boolean {
    if (ip.protocol !== IpProto.UDP || ip.isFragment || ip.payloadLength < UDP_HEADER_LEN) return false;
    const off = ip.payloadOffset;
    return frame.readUInt16BE(off) === DHCP_SERVER_PORT && frame.readUInt16BE(off + 2) === DHCP_CLIENT_PORT;
  }

  /**
   * A DHCP reply (isDhcpReply held). True when one of our clients took it; false for replies to
   * other hosts on the LAN, which the caller treats as any other datagram.
   */
  handle(frame: Buffer, ip: Ipv4View, timeMs: number): boolean {
    const udp = this.udp;
    if (udp.wrap(frame, ip.payloadOffset, ip.payloadLength) !== Malformed.OK) return false;
    const msgOff = udp.payloadOffset;
    const msgLen = udp.payloadLength;
    // Only replies naming one of our MACs are ours to judge; the rest belong to the LAN.
    if (msgLen < 34 || frame[msgOff + 1] !== 1 || frame[msgOff + 2] !== 6) return false;
    const client = this.byMac.get(macToNumber(frame, msgOff + 28));
    if (client === undefined) return false;
    if (!udp.checksumValid(ip.src, ip.dst)) {
      this.onDrop(malformedName(Malformed.BAD_CHECKSUM), timeMs, ip.src, ip.dst);
      return true;
    }
    const status = this.view.wrap(frame, msgOff, msgLen);
    if (status !== Malformed.OK) {
      this.onDrop(malformedName(status), timeMs, ip.src, ip.dst);
      return true;
    }
    client.handle(this.view, frame, ETH_SRC, timeMs);
    return true;
  }

  transmit(client: DhcpClient, length: number, srcIp: number, dstIp: number, dstMac: Buffer | null, ttl: number): void {
    const udpLength = writeUdp(this.tx.buf, L4_OFF, DHCP_CLIENT_PORT, DHCP_SERVER_PORT, length, srcIp, dstIp);
    const id = ((this.ipIds.get(client) ?? 0) + 1) & 0xffff;
    this.ipIds.set(client, id);
    this.tx.finishIpv4(dstMac ?? BROADCAST_MAC, 0, client.spec.mac, IpProto.UDP, srcIp, dstIp, udpLength, ttl, false, id, client.spec.profile.tos);
  }

  bindAddress(client: DhcpClient, ip: number, now: number): void {
    // A server handing out an address another decoy holds (a static one, or another client's lease)
    // is declined like any address in use, instead of taking the other binding over.
    if (this.addresses.holds(ip)) {
      client.onAddressConflict('our own decoy', now);
      return;
    }
    this.addresses.bindLeased(this.createHost(ip, client.spec), client, now);
  }

  releaseAddress(ip: number, now: number, reason: string): void {
    this.addresses.releaseLeased(ip, now, reason);
  }
}
