import { internetChecksum } from '../wire/checksum';
import { ETH_HEADER_LEN, EtherType, padFrame, writeEthernet } from '../wire/ethernet';
import { IPV4_MIN_HEADER, writeIpv4, type Ipv4HeaderFields } from '../wire/ipv4';
import { Ipv4Fragmenter } from './ipv4-fragmenter';

/** The link MTU: the largest IPv4 datagram sent in one frame. */
export const MTU = 1500;
/** Largest frame decoyd sends: Ethernet header + MTU. */
export const MAX_FRAME = ETH_HEADER_LEN + MTU;
/** Where an IPv4 header starts in a frame, and where its (option-less) payload starts. */
export const IP_OFF = ETH_HEADER_LEN;
export const L4_OFF = ETH_HEADER_LEN + IPV4_MIN_HEADER;
/** Most transport bytes one IPv4 datagram can carry (total length 65535, option-less header). */
export const MAX_L4_LENGTH = 0xffff - IPV4_MIN_HEADER;

/**
 * One preallocated transmit buffer, reused for every frame: callers write the L4 part at L4_OFF,
 * then `finishIpv4` writes the IP and Ethernet headers and hands the frame to `send`. The buffer
 * holds a whole 64 KiB datagram; one larger than the MTU leaves as fragments.
 */
export class FrameBuilder {
  readonly buf = Buffer.alloc(L4_OFF + MAX_L4_LENGTH + 64);
  private readonly ip: Ipv4HeaderFields = { tos: 0, totalLength: 0, id: 0, df: false, ttl: 64, protocol: 0, src: 0, dst: 0 };
  private readonly fragmenter: Ipv4Fragmenter;
  /** Told of every IPv4 datagram sent (the neighbour cache counts it as use of the peer's entry). */
  onIpv4: ((src: number, dst: number, dstMac: Buffer, dstMacOff: number) => void) | null = null;

  constructor(private readonly send: (frame: Buffer, length: number) => void) {
    this.fragmenter = new Ipv4Fragmenter(MTU, send);
  }

  /**
   * Write IPv4 + Ethernet headers around an L4 payload of `l4Length` (at most MAX_L4_LENGTH) bytes
   * already at L4_OFF and transmit: in one frame when the datagram fits the MTU, else as fragments
   * (then without DF, whatever `df` says: a host fragmenting its own output does not set it).
   */
  finishIpv4(
    dstMac: Buffer, dstMacOff: number, srcMac: Buffer,
    protocol: number, src: number, dst: number, l4Length: number,
    ttl: number, df: boolean, id: number, tos: number,
  ): void {
    this.onIpv4?.(src, dst, dstMac, dstMacOff);
    const totalLength = IPV4_MIN_HEADER + l4Length;
    const fragment = totalLength > MTU;
    const ip = this.ip;
    ip.tos = tos;
    ip.totalLength = totalLength;
    ip.id = id;
    ip.df = df && !fragment;
    ip.ttl = ttl;
    ip.protocol = protocol;
    ip.src = src;
    ip.dst = dst;
    writeIpv4(this.buf, IP_OFF, ip);
    writeEthernet(this.buf, dstMac, dstMacOff, srcMac, EtherType.IPV4);
    if (fragment) this.fragmenter.sendFragments(this.buf, L4_OFF + l4Length);
    else this.send(this.buf, padFrame(this.buf, L4_OFF + l4Length));
  }

  /**
   * As finishIpv4, for a datagram with IP options: `optionsLength` (a multiple of 4, at most 40)
   * option bytes from `options`, and an L4 payload already at L4_OFF + optionsLength. Only for
   * datagrams that fit the MTU (callers drop the options otherwise).
   */
  finishIpv4WithOptions(
    dstMac: Buffer, dstMacOff: number, srcMac: Buffer,
    protocol: number, src: number, dst: number, options: Buffer, optionsLength: number, l4Length: number,
    ttl: number, df: boolean, id: number, tos: number,
  ): void {
    this.onIpv4?.(src, dst, dstMac, dstMacOff);
    const ip = this.ip;
    ip.tos = tos;
    ip.totalLength = IPV4_MIN_HEADER + optionsLength + l4Length;
    ip.id = id;
    ip.df = df;
    ip.ttl = ttl;
    ip.protocol = protocol;
    ip.src = src;
    ip.dst = dst;
    writeIpv4(this.buf, IP_OFF, ip);
    options.copy(this.buf, L4_OFF, 0, optionsLength);
    this.buf[IP_OFF] = 0x40 | ((IPV4_MIN_HEADER + optionsLength) >> 2);
    this.buf[IP_OFF + 10] = 0;
    this.buf[IP_OFF + 11] = 0;
    this.buf.writeUInt16BE(internetChecksum(this.buf, IP_OFF, L4_OFF + optionsLength), IP_OFF + 10);
    writeEthernet(this.buf, dstMac, dstMacOff, srcMac, EtherType.IPV4);
    this.send(this.buf, padFrame(this.buf, L4_OFF + optionsLength + l4Length));
  }

  /** Transmit a frame whose bytes (from offset 0) are already written. */
  sendRaw(length: number): void {
    this.send(this.buf, padFrame(this.buf, length));
  }
}
