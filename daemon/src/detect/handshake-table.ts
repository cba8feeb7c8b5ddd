/**
 * A lossy, direct-mapped table of TCP handshakes from scanners, keyed by the 4-tuple: a SYN leaves
 * the sequence number its ACK (or RST) must carry; the ACK that matches marks the tuple
 * established. It tells a connect scan (SYN, then ACK) from a SYN scan (SYN, then the scanner
 * kernel's RST), and lets ACK or FIN+ACK segments of a real connection not count as ACK or
 * Maimon probes. A colliding tuple overwrites the slot: under a flood the table forgets, it never grows.
 */

export const Handshake = { NONE: 0, PENDING: 1, ESTABLISHED: 2 } as const;
export type HandshakeState = (typeof Handshake)[keyof typeof Handshake];

export class HandshakeTable {
  private readonly src: Uint32Array;
  private readonly dst: Uint32Array;
  private readonly ports: Uint32Array;
  private readonly expect: Uint32Array;
  private readonly state: Uint8Array;
  private readonly mask: number;
  private used = 0;

  constructor(capacity: number) {
    let size = 16;
    while (size < capacity) size *= 2;
    this.mask = size - 1;
    this.src = new Uint32Array(size);
    this.dst = new Uint32Array(size);
    this.ports = new Uint32Array(size);
    this.expect = new Uint32Array(size);
    this.state = new Uint8Array(size);
  }

  /** Slots in use (a gauge for stats). */
  get size(): number { return this.used; }

  private slot(src: number, dst: number, ports: number): number {
    let h = Math.imul(src ^ 0x5bd1e995, 0x9e3779b1);
    h = Math.imul(h ^ dst, 0x85ebca6b);
    h = Math.imul(h ^ ports, 0xc2b2ae35);
    return (h ^ (h >>> 15)) & this.mask;
  }

  /** A SYN from src:sport to dst:dport with sequence number `seq`. */
  syn(src: number, dst: number, sport: number, dport: number, seq: number): void {
    const ports = ((sport << 16) | dport) >>> 0;
    const i = this.slot(src, dst, ports);
    if (this.state[i] === Handshake.NONE) this.used++;
    this.src[i] = src;
    this.dst[i] = dst;
    this.ports[i] = ports;
    this.expect[i] = (seq + 1) >>> 0;
    this.state[i] = Handshake.PENDING;
  }

  /** State of the tuple (NONE when unknown or overwritten). */
  lookup(src: number, dst: number, sport: number, dport: number): HandshakeState {
    const ports = ((sport << 16) | dport) >>> 0;
    const i = this.slot(src, dst, ports);
    if (this.state[i] === Handshake.NONE || this.src[i] !== src || this.dst[i] !== dst || this.ports[i] !== ports) return Handshake.NONE;
    return this.state[i] as HandshakeState;
  }

  /** True when this pending tuple's next segment carries `seq` (the SYN's seq + 1). */
  expects(src: number, dst: number, sport: number, dport: number, seq: number): boolean {
    const ports = ((sport << 16) | dport) >>> 0;
    const i = this.slot(src, dst, ports);
    return this.state[i] === Handshake.PENDING && this.src[i] === src && this.dst[i] === dst && this.ports[i] === ports && this.expect[i] === seq >>> 0;
  }

  establish(src: number, dst: number, sport: number, dport: number): void {
    const i = this.slot(src, dst, ((sport << 16) | dport) >>> 0);
    this.state[i] = Handshake.ESTABLISHED;
  }

  forget(src: number, dst: number, sport: number, dport: number): void {
    const ports = ((sport << 16) | dport) >>> 0;
    const i = this.slot(src, dst, ports);
    if (this.state[i] !== Handshake.NONE && this.src[i] === src && this.dst[i] === dst && this.ports[i] === ports) {
      this.state[i] = Handshake.NONE;
      this.used--;
    }
  }
}
