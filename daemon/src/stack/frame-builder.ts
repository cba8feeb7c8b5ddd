import { ETH_HEADER_LEN, EtherType, padFrame, writeEthernet } from '../wire/ethernet';
import { IPV4_MIN_HEADER, writeIpv4, type Ipv4HeaderFields } from '../wire/ipv4';

/** Largest frame decoyd sends: Ethernet header + 1500-byte MTU. */
export const MAX_FRAME = ETH_HEADER_LEN + 1500;
/** Where an IPv4 header starts in a frame, and where its (option-less) payload starts. */
export const IP_OFF = ETH_HEADER_LEN;
export const L4_OFF = ETH_HEADER_LEN + IPV4_MIN_HEADER;

/**
 * One preallocated transmit buffer, reused for every frame: callers write the L4 part at L4_OFF,
 * then `finishIpv4` writes the IP and Ethernet headers and hands the frame to `send`.
 */
export class FrameBuilder {
  readonly buf = Buffer.alloc(MAX_FRAME + 64);
  private readonly ip: Ipv4HeaderFields = { tos: 0, totalLength: 0, id: 0, df: false, ttl: 64, protocol: 0, src: 0, dst: 0 };

  constructor(private readonly send: (frame: Buffer, length: number) => void) {}

  /** Write IPv4 + Ethernet headers around an L4 payload of `l4Length` bytes already at L4_OFF and transmit. */
  finishIpv4(
    dstMac: Buffer, dstMacOff: number, srcMac: Buffer,
    protocol: number, src: number, dst: number, l4Length: number,
    ttl: number, df: boolean, id: number, tos: number,
  ): void {
    const ip = this.ip;
    ip.tos = tos;
    ip.totalLength = IPV4_MIN_HEADER + l4Length;
    ip.id = id;
    ip.df = df;
    ip.ttl = ttl;
    ip.protocol = protocol;
    ip.src = src;
    ip.dst = dst;
    writeIpv4(this.buf, IP_OFF, ip);
    writeEthernet(this.buf, dstMac, dstMacOff, srcMac, EtherType.IPV4);
    this.send(this.buf, padFrame(this.buf, L4_OFF + l4Length));
  }

  /** Transmit a frame whose bytes (from offset 0) are already written. */
  sendRaw(length: number): void {
    this.send(this.buf, padFrame(this.buf, length));
  }
}
