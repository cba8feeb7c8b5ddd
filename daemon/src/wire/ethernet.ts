/** Ethernet II framing. Offsets are relative to the frame start. */
export const ETH_HEADER_LEN = 14;
export const EtherType = { IPV4: 0x0800, ARP: 0x0806, VLAN: 0x8100, IPV6: 0x86dd } as const;

export const ETH_DST = 0;
export const ETH_SRC = 6;
export const ETH_TYPE = 12;

/** Minimum frame length without FCS; shorter frames are padded on transmit. */
export const ETH_MIN_FRAME = 60;

export function etherType(frame: Buffer): number {
  return (frame[ETH_TYPE] << 8) | frame[ETH_TYPE + 1];
}

/** Write an Ethernet header at offset 0. */
export function writeEthernet(frame: Buffer, dst: Buffer, dstOff: number, src: Buffer, type: number): void {
  dst.copy(frame, ETH_DST, dstOff, dstOff + 6);
  src.copy(frame, ETH_SRC, 0, 6);
  frame[ETH_TYPE] = type >>> 8;
  frame[ETH_TYPE + 1] = type & 0xff;
}

/** Zero-pad a frame to the Ethernet minimum; returns the length to send. */
export function padFrame(frame: Buffer, length: number): number {
  if (length >= ETH_MIN_FRAME) return length;
  frame.fill(0, length, ETH_MIN_FRAME);
  return ETH_MIN_FRAME;
}
