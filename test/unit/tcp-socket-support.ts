/**
 * A scripted TCP peer for the socket tests: it speaks to the engine through Engine.handleFrame
 * (the harness), keeps its own sequence numbers, and reads what the decoy sends back.
 */
import assert from 'node:assert/strict';
import { Flag, ipNum, linuxSynOptions, type ParsedFrame, tcpFrame } from '../helpers/frames';
import type { StreamContext, StreamService, StreamSession } from '../../daemon/src/services/service';
import type { TcpSocket } from '../../daemon/src/stack/tcp/socket';
import { CLIENT_IP, CLIENT_MAC, DECOY_IP, Harness } from './stack-harness';

export { Flag };

/** TCP frames among `frames` (timer ticks may also bring gratuitous ARP). */
export function tcpOnly(frames: ParsedFrame[]): ParsedFrame[] {
  return frames.filter((f) => f.tcp !== undefined);
}

export class Peer {
  /** Our next sequence number, and what we have acknowledged of theirs. */
  seq: number;
  rcv = 0;
  iss = 0;
  window = 64240;
  readonly received: Buffer[] = [];

  constructor(readonly h: Harness, readonly dstPort: number, readonly srcPort = 40000, isn = 1000, readonly timestamps = false) {
    this.seq = isn;
  }

  send(flags: number, payload?: Buffer, o: { seq?: number; ack?: number; window?: number } = {}): void {
    const mac = this.h.macOf(DECOY_IP);
    this.h.feed(tcpFrame(mac, CLIENT_MAC, CLIENT_IP, DECOY_IP, {
      srcPort: this.srcPort, dstPort: this.dstPort, flags, seq: o.seq ?? this.seq,
      ack: o.ack ?? ((flags & Flag.ACK) !== 0 ? this.rcv : 0), window: o.window ?? this.window, payload,
      options: this.timestamps ? tsOption(Math.floor(this.h.now / 10)) : undefined,
    }));
  }

  /** SYN, SYN/ACK, ACK. Returns the SYN/ACK. */
  connect(synOptions?: Buffer): ParsedFrame {
    this.h.take();
    const mac = this.h.macOf(DECOY_IP);
    this.h.feed(tcpFrame(mac, CLIENT_MAC, CLIENT_IP, DECOY_IP, { srcPort: this.srcPort, dstPort: this.dstPort, flags: Flag.SYN, seq: this.seq, window: this.window, options: synOptions }));
    const sa = tcpOnly(this.h.take());
    assert.equal(sa.length, 1, 'one SYN/ACK');
    const f = sa[0] as ParsedFrame;
    assert.equal(f.tcp?.flags, Flag.SYN | Flag.ACK);
    this.seq = (this.seq + 1) >>> 0;
    this.iss = f.tcp?.seq ?? 0;
    this.rcv = (this.iss + 1) >>> 0;
    this.send(Flag.ACK);
    return f;
  }

  /** Send data at our sequence number and advance it. */
  data(bytes: Buffer | string, flags = Flag.ACK | Flag.PSH, o: { window?: number } = {}): void {
    const b = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    this.send(flags, b, o);
    this.seq = (this.seq + b.length + ((flags & Flag.FIN) !== 0 ? 1 : 0)) >>> 0;
  }

  fin(): void {
    this.send(Flag.ACK | Flag.FIN);
    this.seq = (this.seq + 1) >>> 0;
  }

  /** Take the decoy's TCP frames, keep their payloads, and (optionally) acknowledge everything in order. */
  read(ack = true): ParsedFrame[] {
    const out = tcpOnly(this.h.take());
    let advanced = false;
    for (const f of out) {
      const t = f.tcp;
      if (t === undefined) continue;
      if (t.seq === this.rcv && t.payload.length > 0) {
        this.received.push(Buffer.from(t.payload));
        this.rcv = (this.rcv + t.payload.length) >>> 0;
        advanced = true;
      }
      if ((t.flags & Flag.FIN) !== 0 && ((t.seq + t.payload.length) >>> 0) === this.rcv) {
        this.rcv = (this.rcv + 1) >>> 0;
        advanced = true;
      }
    }
    if (ack && advanced) this.send(Flag.ACK);
    return out;
  }

  get text(): string { return Buffer.concat(this.received).toString('latin1'); }
}

export function tsOption(v: number): Buffer {
  const o = Buffer.from([1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0]);
  o.writeUInt32BE(v >>> 0, 4);
  return o;
}

export { linuxSynOptions };

/** The socket the peer talks to. */
export function socketOf(h: Harness, p: Peer): TcpSocket | null {
  const host = h.parts.staticHosts[0];
  assert.ok(host);
  return h.engine.tcp.find(host, ipNum(CLIENT_IP), p.srcPort, p.dstPort);
}

/** Put `service` behind `port` of the harness's first host. */
export function install(h: Harness, port: number, service: StreamService): void {
  const host = h.parts.staticHosts[0];
  assert.ok(host);
  host.template.tcp[port] = 1; // open
  host.template.tcpServices.set(port, service);
}

/** A service a test drives by hand: it records what arrives and exposes its context. */
export class ScriptedService implements StreamService {
  readonly name = 'scripted';
  ctx: StreamContext | null = null;
  readonly data: Buffer[] = [];
  ended = 0;
  closed = 0;
  drains = 0;
  onOpen: ((ctx: StreamContext) => void) | null = null;
  onDataHook: ((data: Buffer, ctx: StreamContext) => void) | null = null;

  open(ctx: StreamContext): StreamSession {
    this.ctx = ctx;
    this.onOpen?.(ctx);
    return {
      onData: (d) => { this.data.push(d); this.onDataHook?.(d, ctx); },
      onEnd: () => { this.ended++; },
      onClose: () => { this.closed++; },
      onDrain: () => { this.drains++; },
    };
  }

  get text(): string { return Buffer.concat(this.data).toString('latin1'); }
}

/** A deterministic byte pattern. */
export function pattern(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}
