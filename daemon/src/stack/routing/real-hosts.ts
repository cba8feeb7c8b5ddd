/**
 * Honeyd's `bind IP to IF`: a real machine on the LAN that sits in a `link` network of the virtual
 * topology. Frames the routers deliver to its address go out to its MAC (learnt by ARP, asked for
 * from the entry router's address); frames it sends through the entry router's MAC walk back
 * through the routers to the LAN peer that reached it (TTL lowered, link delay and loss applied).
 * It reaches only peers whose frames reached it first: decoyd learns their MACs from those
 * frames, in a bounded table, and forwards nothing anywhere else (it is no general router).
 */

import { ipToString } from '../../wire/address';
import { copyMac, ETH_DST, ETH_SRC } from '../../wire/ethernet';

const ARP_FRAME_LEN = 60;
/** Honeyd re-asks after a second; so does a kernel for an incomplete neighbour. */
const ARP_RETRY_MS = 1000;

interface RealHost {
  readonly ip: number;
  mac: Buffer | null;
  lastArpMs: number;
}

export interface ArpSender {
  /** The entry router's MAC and address on the LAN, which the ARP requests come from. */
  mac: Buffer;
  ip: number;
}

export class RealHosts {
  private readonly hosts = new Map<number, RealHost>();
  /** LAN peers that sent to a real host: address → MAC (oldest forgotten first). */
  private readonly peers = new Map<number, Buffer>();
  private readonly arp = Buffer.alloc(ARP_FRAME_LEN);
  counters = { toReal: 0, fromReal: 0, unresolved: 0, unknownPeer: 0 };

  constructor(addresses: readonly number[], private readonly maxPeers: number) {
    for (const ip of addresses) this.hosts.set(ip, { ip, mac: null, lastArpMs: -Infinity });
  }

  get size(): number { return this.hosts.size; }

  has(ip: number): boolean { return this.hosts.has(ip); }

  addresses(): string[] { return [...this.hosts.keys()].map(ipToString); }

  /** A frame from the LAN peer `src` is on its way to a real host: remember where `src` is. */
  notePeer(src: number, frame: Buffer): void {
    let mac = this.peers.get(src);
    if (mac === undefined) {
      if (this.peers.size >= this.maxPeers) {
        const oldest = this.peers.keys().next();
        if (!oldest.done) this.peers.delete(oldest.value);
      }
      mac = Buffer.alloc(6);
      this.peers.set(src, mac);
    }
    frame.copy(mac, 0, ETH_SRC, ETH_SRC + 6);
  }

  /** The real host's MAC, seen in an ARP reply or in a frame it sent. */
  learn(ip: number, frame: Buffer, macOff: number): void {
    const h = this.hosts.get(ip);
    if (h === undefined) return;
    if (h.mac === null) h.mac = Buffer.alloc(6);
    frame.copy(h.mac, 0, macOff, macOff + 6);
  }

  /**
   * Readdresses a frame the routers deliver to real host `dst` (its TTL already lowered): from
   * `from`'s MAC to the host's. False when the MAC is not known yet: an ARP request goes out (at
   * most one a second) and the frame is dropped, as a router with an incomplete neighbour does.
   */
  toReal(dst: number, frame: Buffer, from: ArpSender, nowMs: number, send: (frame: Buffer, length: number) => void): boolean {
    const h = this.hosts.get(dst);
    if (h === undefined) return false;
    if (h.mac === null) {
      this.counters.unresolved++;
      if (nowMs - h.lastArpMs >= ARP_RETRY_MS) {
        h.lastArpMs = nowMs;
        send(this.arpRequest(from, dst), ARP_FRAME_LEN);
      }
      return false;
    }
    copyMac(from.mac, 0, frame, ETH_SRC);
    copyMac(h.mac, 0, frame, ETH_DST);
    this.counters.toReal++;
    return true;
  }

  /** The MAC of the LAN peer a real host's frame goes back to; null when that peer never reached it. */
  peerMac(ip: number): Buffer | null {
    return this.peers.get(ip) ?? null;
  }

  private arpRequest(from: ArpSender, target: number): Buffer {
    const f = this.arp;
    f.fill(0);
    f.fill(0xff, 0, 6);
    copyMac(from.mac, 0, f, 6);
    f.writeUInt16BE(0x0806, 12);
    f.writeUInt16BE(1, 14); // Ethernet
    f.writeUInt16BE(0x0800, 16); // IPv4
    f[18] = 6;
    f[19] = 4;
    f.writeUInt16BE(1, 20); // request
    copyMac(from.mac, 0, f, 22);
    f.writeUInt32BE(from.ip >>> 0, 28);
    f.writeUInt32BE(target >>> 0, 38);
    return f;
  }
}
