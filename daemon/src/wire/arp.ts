import { copyMac } from './ethernet';
import { Malformed } from './malformed';

/** ARP over Ethernet/IPv4 (RFC 826), a view over a frame's payload. */
export const ARP_LEN = 28;
export const ArpOp = { REQUEST: 1, REPLY: 2 } as const;

export class ArpView {
  buf: Buffer = Buffer.alloc(0);
  off = 0;

  /**
   * Check that this is an IPv4 ARP request or reply laid out as Ethernet/IPv4 (28 bytes). The
   * hardware type and the two length bytes are left to the host's family (some stacks answer
   * hardware type 6 or wrong lengths; see `isEthernetIpv4`); no stack answers another protocol
   * or opcode.
   */
  wrap(buf: Buffer, off: number, available: number): number {
    this.buf = buf;
    this.off = off;
    if (available < ARP_LEN) return Malformed.TRUNCATED;
    if (buf.readUInt16BE(off + 2) !== 0x0800) return Malformed.BAD_ARP_FORMAT;
    const op = this.op;
    if (op !== ArpOp.REQUEST && op !== ArpOp.REPLY) return Malformed.BAD_ARP_FORMAT;
    return Malformed.OK;
  }

  /** Hardware type 1, hlen 6, plen 4: the only shape decoyd learns addresses from. */
  get isEthernetIpv4(): boolean {
    return this.hardwareType === 1 && this.buf[this.off + 4] === 6 && this.buf[this.off + 5] === 4;
  }

  get hardwareType(): number { return this.buf.readUInt16BE(this.off); }
  get hardwareLength(): number { return this.buf[this.off + 4] as number; }
  get protocolLength(): number { return this.buf[this.off + 5] as number; }
  get op(): number { return this.buf.readUInt16BE(this.off + 6); }
  get senderMacOffset(): number { return this.off + 8; }
  get senderIp(): number { return this.buf.readUInt32BE(this.off + 14); }
  get targetMacOffset(): number { return this.off + 18; }
  get targetIp(): number { return this.buf.readUInt32BE(this.off + 24); }
}

/** Write an ARP packet at `off`. */
export function writeArp(
  buf: Buffer, off: number, op: number,
  senderMac: Buffer, senderIp: number,
  targetMac: Buffer, targetMacOff: number, targetIp: number,
): void {
  buf.writeUInt16BE(1, off);
  buf.writeUInt16BE(0x0800, off + 2);
  buf[off + 4] = 6;
  buf[off + 5] = 4;
  buf.writeUInt16BE(op, off + 6);
  copyMac(senderMac, 0, buf, off + 8);
  buf.writeUInt32BE(senderIp >>> 0, off + 14);
  copyMac(targetMac, targetMacOff, buf, off + 18);
  buf.writeUInt32BE(targetIp >>> 0, off + 24);
}
