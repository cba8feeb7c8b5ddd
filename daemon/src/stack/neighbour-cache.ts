import type { NeighbourBehaviour } from '../personality/behaviour/types';
import { ArpOp, ARP_LEN, writeArp } from '../wire/arp';
import { ETH_HEADER_LEN, EtherType, writeEthernet } from '../wire/ethernet';
import type { DecoyHost } from './decoy-table';
import type { FrameBuilder } from './frame-builder';

const ZERO_MAC = Buffer.alloc(6);
/** Linux retrans_time_ms: the gap between unicast probes. */
const PROBE_INTERVAL_MS = 1000;
/** Linux gc_stale_time: an unused stale entry is forgotten after this. */
const GC_STALE_MS = 60_000;

type State = 'stale' | 'delay' | 'probe' | 'reachable';

interface Entry {
  host: DecoyHost;
  peerIp: number;
  mac: Buffer;
  state: State;
  /** reachable: until when; delay / probe: when to send the next probe. */
  at: number;
  probes: number;
  lastUsed: number;
}

/**
 * The neighbour-unreachability detection of families that re-probe peers (Linux, Windows Vista+):
 * a peer learnt from its ARP request is 'stale'; the first packet we send it starts a delay
 * (`delayFirstProbeMs`, Linux 5 s), after which we ask it by unicast ARP, `unicastProbes` times a
 * second apart, unless it was confirmed meanwhile (its ARP reply, or TCP acknowledgement). Measured
 * against the lab kernel: the probe is a who-has unicast to the cached MAC with a zero target MAC.
 * A peer that never answers is forgotten. Bounded: at most `maxEntries`, oldest forgotten first.
 */
export class NeighbourCache {
  /** host IP → peer IP → entry: numeric keys, no garbage per packet. */
  private readonly byHost = new Map<number, Map<number, Entry>>();
  private count = 0;

  constructor(private readonly tx: FrameBuilder, private readonly maxEntries: number, private readonly random: () => number) {}

  get size(): number { return this.count; }

  /** A peer asked for `host`'s address (and was answered): Linux neigh_event_ns, a stale entry unless already known. */
  learnFromRequest(host: DecoyHost, peerIp: number, frame: Buffer, macOff: number, now: number): void {
    const nb = this.behaviourOf(host);
    if (nb === null) return;
    const e = this.get(host.ip, peerIp);
    if (e !== undefined && frame.compare(e.mac, 0, 6, macOff, macOff + 6) === 0) return;
    this.insert({ host, peerIp, mac: Buffer.from(frame.subarray(macOff, macOff + 6)), state: 'stale', at: 0, probes: 0, lastUsed: now });
  }

  /** The peer showed itself reachable (an ARP reply to us, or an acknowledgement). */
  confirm(host: DecoyHost, peerIp: number, now: number): void {
    const e = this.get(host.ip, peerIp);
    const nb = this.behaviourOf(host);
    if (e === undefined || nb === null) return;
    e.state = 'reachable';
    e.probes = 0;
    // Linux draws reachable_time between 0.5 and 1.5 × base_reachable_time.
    e.at = now + nb.reachableMs * (0.5 + this.random());
  }

  /** `host` sends an IPv4 packet to `peerIp` at `dstMac`. */
  used(host: DecoyHost, peerIp: number, dstMac: Buffer, dstMacOff: number, now: number): void {
    const nb = this.behaviourOf(host);
    if (nb === null) return;
    let e = this.get(host.ip, peerIp);
    if (e === undefined) {
      // Learnt from the frame: count it as resolved (decoyd answers first instead of ARPing).
      e = { host, peerIp, mac: Buffer.from(dstMac.subarray(dstMacOff, dstMacOff + 6)), state: 'reachable', at: now + nb.reachableMs * (0.5 + this.random()), probes: 0, lastUsed: now };
      this.insert(e);
      return;
    }
    e.lastUsed = now;
    if (e.state === 'reachable' && now >= e.at) e.state = 'stale';
    if (e.state === 'stale') {
      e.state = 'delay';
      e.at = now + nb.delayFirstProbeMs;
    }
  }

  /** Timers: send due probes, give up on silent peers, age entries. */
  tick(now: number): void {
    for (const peers of this.byHost.values()) {
      for (const e of peers.values()) {
        const nb = this.behaviourOf(e.host);
        if (nb === null) { this.remove(e); continue; }
        if (e.state === 'reachable' && now >= e.at) e.state = 'stale';
        if (e.state === 'stale' && now - e.lastUsed >= GC_STALE_MS) { this.remove(e); continue; }
        if ((e.state === 'delay' || e.state === 'probe') && now >= e.at) {
          if (e.probes >= nb.unicastProbes) { this.remove(e); continue; } // Linux: FAILED
          e.state = 'probe';
          e.probes++;
          e.at = now + PROBE_INTERVAL_MS;
          this.sendProbe(e);
        }
      }
    }
  }

  /** Forget every entry of `host` (its address was released). */
  forget(host: DecoyHost): void {
    const peers = this.byHost.get(host.ip);
    if (peers === undefined) return;
    this.count -= peers.size;
    this.byHost.delete(host.ip);
  }

  private behaviourOf(host: DecoyHost): NeighbourBehaviour | null {
    const nb = host.personality.behaviour.neighbour;
    return nb.delayFirstProbeMs > 0 && nb.unicastProbes > 0 ? nb : null;
  }

  private get(hostIp: number, peerIp: number): Entry | undefined {
    return this.byHost.get(hostIp)?.get(peerIp);
  }

  private remove(e: Entry): void {
    const peers = this.byHost.get(e.host.ip);
    if (peers === undefined || peers.get(e.peerIp) !== e) return;
    peers.delete(e.peerIp);
    this.count--;
    if (peers.size === 0) this.byHost.delete(e.host.ip);
  }

  private insert(e: Entry): void {
    const old = this.get(e.host.ip, e.peerIp);
    if (old !== undefined) this.remove(old);
    if (this.count >= this.maxEntries) {
      // Forget the oldest peer of the host known longest (Maps keep insertion order).
      const first = this.byHost.values().next();
      if (!first.done) {
        const victim = first.value.values().next();
        if (!victim.done) this.remove(victim.value);
      }
    }
    let peers = this.byHost.get(e.host.ip);
    if (peers === undefined) {
      peers = new Map();
      this.byHost.set(e.host.ip, peers);
    }
    peers.set(e.peerIp, e);
    this.count++;
  }

  private sendProbe(e: Entry): void {
    const buf = this.tx.buf;
    writeEthernet(buf, e.mac, 0, e.host.mac, EtherType.ARP);
    writeArp(buf, ETH_HEADER_LEN, ArpOp.REQUEST, e.host.mac, e.host.ip, ZERO_MAC, 0, e.peerIp);
    this.tx.sendRaw(ETH_HEADER_LEN + ARP_LEN);
  }
}
