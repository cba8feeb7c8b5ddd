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
  // Byte stores, not Buffer.copy: for 6 bytes the copy call costs more than the copying (hot path).
  copyMac(dst, dstOff, frame, ETH_DST);
  copyMac(src, 0, frame, ETH_SRC);
  frame[ETH_TYPE] = type >>> 8;
  frame[ETH_TYPE + 1] = type & 0xff;
}

/** Copy 6 bytes (a MAC) from `from[fromOff..]` to `to[toOff..]`. */
export function copyMac(from: Buffer, fromOff: number, to: Buffer, toOff: number): void {
  to[toOff] = from[fromOff];
  to[toOff + 1] = from[fromOff + 1];
  to[toOff + 2] = from[fromOff + 2];
  to[toOff + 3] = from[fromOff + 3];
  to[toOff + 4] = from[fromOff + 4];
  to[toOff + 5] = from[fromOff + 5];
}

/** Zero-pad a frame to the Ethernet minimum; returns the length to send. */
export function padFrame(frame: Buffer, length: number): number {
  if (length >= ETH_MIN_FRAME) return length;
  frame.fill(0, length, ETH_MIN_FRAME);
  return ETH_MIN_FRAME;
}
