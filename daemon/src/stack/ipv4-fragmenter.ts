import { internetChecksum } from '../wire/checksum';
import { ETH_HEADER_LEN, padFrame } from '../wire/ethernet';

/** IPv4 flags/offset field bits (RFC 791). */
const MF = 0x2000;

/**
 * Cuts one whole Ethernet + IPv4 frame whose datagram exceeds the MTU into fragments, as a host
 * fragments its own output (RFC 791 §3.2): every fragment carries the header of the original with
 * the same ID, its own total length, its offset in 8-byte units, MF on all but the last, DF clear,
 * and its own header checksum. The transport header and checksum travel, computed once over the
 * whole datagram, in the first fragment. One preallocated buffer; nothing is allocated per fragment.
 *
 * decoyd writes option-less IP headers; the header is copied as is into every fragment (with
 * options present, RFC 791 would copy only those marked "copied").
 */
export class Ipv4Fragmenter {
  private readonly out: Buffer;

  constructor(
    private readonly mtu: number,
    private readonly send: (frame: Buffer, length: number) => void,
  ) {
    this.out = Buffer.alloc(ETH_HEADER_LEN + mtu + 64);
  }

  /**
   * Send the datagram in `frame` (Ethernet header at 0, IPv4 header at 14, `length` bytes in all,
   * total-length and checksum fields already written) as fragments. Returns how many were sent.
   */
  sendFragments(frame: Buffer, length: number): number {
    const ip = ETH_HEADER_LEN;
    const hl = (frame[ip] & 0x0f) * 4;
    const head = ip + hl;
    const dataLength = Math.min(length, ip + frame.readUInt16BE(ip + 2)) - head;
    // Data bytes per non-final fragment: what the MTU leaves after the header, down to a multiple of 8.
    const step = (this.mtu - hl) & ~7;
    const out = this.out;
    frame.copy(out, 0, 0, head);
    let sent = 0;
    for (let offset = 0; offset < dataLength; offset += step) {
      const n = Math.min(step, dataLength - offset);
      const last = offset + n >= dataLength;
      frame.copy(out, head, head + offset, head + offset + n);
      out.writeUInt16BE(hl + n, ip + 2);
      out.writeUInt16BE((last ? 0 : MF) | (offset >>> 3), ip + 6); // DF clear: we are fragmenting
      out[ip + 10] = 0;
      out[ip + 11] = 0;
      out.writeUInt16BE(internetChecksum(out, ip, head), ip + 10);
      this.send(out, padFrame(out, head + n));
      sent++;
    }
    return sent;
  }
}
