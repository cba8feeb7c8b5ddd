import type { EventSink } from '../events/event';
import type { DatagramShape } from '../personality/host-personality';
import { ipToString, macToString } from '../wire/address';
import { ETH_DST, ETH_SRC } from '../wire/ethernet';
import { UnreachableCode } from '../wire/icmp';
import { IpProto, type Ipv4View } from '../wire/ipv4';
import { UDP_HEADER_LEN, type UdpView, writeUdp } from '../wire/udp';
import { type DecoyHost, PortState, udpServiceOf } from './decoy-table';
import { type FrameBuilder, L4_OFF, MAX_L4_LENGTH } from './frame-builder';
import type { IcmpResponder } from './icmp-responder';

/** UDP for decoys: closed ports answer ICMP port unreachable, open ports hand datagrams to a service. */
export class UdpHandler {
  private readonly shape: DatagramShape = { ttl: 64, df: false };

  constructor(
    private readonly tx: FrameBuilder,
    private readonly icmp: IcmpResponder,
    private readonly events: EventSink,
    /** The engine's clock: a service may answer later than the datagram's capture time. */
    private readonly now: () => number,
  ) {}

  /** A validated datagram (checksum included) for `host` arrived in `frame`. */
  handle(host: DecoyHost, frame: Buffer, ip: Ipv4View, udp: UdpView, timeMs: number): void {
    const port = udp.dstPort;
    const code = host.template.udp[port];
    let answer = 'none';
    let state: 'open' | 'closed' | 'block' = 'block';
    if (code === PortState.RESET) {
      state = 'closed';
      if (this.icmp.sendUnreachable(host, frame, ip, UnreachableCode.PORT, timeMs)) answer = 'port-unreachable';
    } else if (code === PortState.OPEN) {
      state = 'open';
      const service = udpServiceOf(host.template, port);
      if (service !== undefined) {
        const data = Buffer.from(frame.subarray(udp.payloadOffset, udp.payloadOffset + udp.payloadLength));
        const peerMac = Buffer.from(frame.subarray(ETH_SRC, ETH_SRC + 6));
        const srcPort = udp.srcPort;
        const src = ip.src;
        service.onDatagram(data, { address: ipToString(src), port: srcPort }, { address: host.ipText, port }, (reply) => {
          this.sendDatagram(host, peerMac, src, srcPort, port, reply);
        });
        answer = 'service';
      }
    }
    const counts = this.events.packetCounts;
    if (counts !== undefined) counts.udp(frame, ip.src, host.ip, udp.srcPort, port, udp.payloadLength, state, answer, timeMs);
    if (this.events.wants('udp.packet')) {
      this.events.emit({
        kind: 'udp.packet', time: timeMs, srcMac: macToString(frame, ETH_SRC), dstMac: macToString(frame, ETH_DST),
        srcIp: ipToString(ip.src), dstIp: host.ipText, srcPort: udp.srcPort, dstPort: port, length: udp.payloadLength, state, answer,
      });
    }
  }

  private sendDatagram(host: DecoyHost, peerMac: Buffer, peerIp: number, peerPort: number, localPort: number, data: Buffer): void {
    // Above the MTU the datagram leaves as fragments; beyond what one datagram holds it is cut.
    const n = Math.min(data.length, MAX_L4_LENGTH - UDP_HEADER_LEN);
    const buf = this.tx.buf;
    data.copy(buf, L4_OFF + UDP_HEADER_LEN, 0, n);
    const len = writeUdp(buf, L4_OFF, localPort, peerPort, n, host.ip, peerIp);
    const p = host.personality;
    p.datagramShape(this.shape);
    this.tx.finishIpv4(peerMac, 0, host.mac, IpProto.UDP, host.ip, peerIp, len, this.shape.ttl, this.shape.df, p.nextIpId('udp', this.now()), 0);
  }
}
