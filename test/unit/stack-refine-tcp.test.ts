/**
 * TCP refinements through Engine.handleFrame: a segment acknowledging unsent data is dropped after
 * its ACK (RFC 9293 §3.10.7.4), and each connection's TSvals continue its SYN/ACK's for hosts
 * with random per-connection timestamps (Nmap TS=21/22), retransmitted SYN/ACKs included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Flag, linuxSynOptions, type ParsedFrame, type TcpSpec, tcpFrame } from '../helpers/frames';
import { OsDbPersonality } from '../../daemon/src/personality/model/os-personality';
import { FREEBSD_12, LINUX_5_4, parseEntry } from './model-fixtures';
import { CLIENT_IP, CLIENT_MAC, DECOY_IP, Harness, T0 } from './stack-harness';

type Seg = Omit<TcpSpec, 'srcPort'> & { srcPort?: number };

function client(h: Harness, srcPort = 40000): (s: Seg) => void {
  const mac = h.macOf(DECOY_IP);
  return (s) => h.feed(tcpFrame(mac, CLIENT_MAC, CLIENT_IP, DECOY_IP, { srcPort, ...s }));
}

/** The one TCP frame among `frames` (gratuitous ARP announcements may come with timer ticks). */
function only(frames: ParsedFrame[], what: string): ParsedFrame {
  frames = frames.filter((f) => f.arp === undefined);
  assert.equal(frames.length, 1, `${what}: expected one frame, got ${frames.length}`);
  assert.deepEqual(frames[0].problems, [], what);
  return frames[0];
}

function tsVal(f: ParsedFrame): number {
  const o = f.tcp?.options ?? Buffer.alloc(0);
  for (let i = 0; i < o.length;) {
    if (o[i] === 0) break;
    if (o[i] === 1) { i++; continue; }
    if (o[i] === 8 && o[i + 1] === 10) return o.readUInt32BE(i + 2);
    i += Math.max(2, o[i + 1]);
  }
  assert.fail('no timestamp option');
}

function tsOption(v: number): Buffer {
  const o = Buffer.from([1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0]);
  o.writeUInt32BE(v, 4);
  return o;
}

test('a segment that ACKs data never sent is answered with an ACK and its payload and FIN are dropped', () => {
  const h = new Harness();
  h.take();
  const send = client(h);
  const C = 1000;
  send({ dstPort: 7, flags: Flag.SYN, seq: C, options: linuxSynOptions(1) });
  const S = only(h.take(), 'SYN/ACK').tcp?.seq ?? 0;
  send({ dstPort: 7, flags: Flag.ACK, seq: C + 1, ack: S + 1, options: tsOption(2) });
  assert.equal(h.take().length, 0);

  // ACK 1000 bytes beyond anything we sent, carrying data and a FIN.
  send({ dstPort: 7, flags: Flag.ACK | Flag.PSH | Flag.FIN, seq: C + 1, ack: S + 1 + 1000, payload: Buffer.from('bogus'), options: tsOption(3) });
  const ack = only(h.take(), 'ACK for the unsent-data ACK');
  assert.equal(ack.tcp?.flags, Flag.ACK);
  assert.equal(ack.tcp?.seq, (S + 1) >>> 0);
  assert.equal(ack.tcp?.ack, C + 1, 'neither the payload nor the FIN was taken');
  assert.equal(ack.tcp?.payload.length, 0);

  // The same bytes with a valid ACK are taken and echoed: nothing of the dropped segment stuck.
  send({ dstPort: 7, flags: Flag.ACK | Flag.PSH, seq: C + 1, ack: S + 1, payload: Buffer.from('hello'), options: tsOption(4) });
  const out = h.take();
  assert.equal(out.length, 2, 'ACK and echo');
  assert.equal(out[0].tcp?.ack, C + 1 + 5);
  assert.equal(out[1].tcp?.payload.toString(), 'hello');
  assert.equal(out[1].tcp?.seq, (S + 1) >>> 0);
  const close = h.eventsOf('tcp.close');
  assert.equal(close.length, 0, 'the dropped FIN did not close the connection');
});

/** Open a connection with timestamps, send data, and return the SYN/ACK and echoed segments' TSvals. */
function tsSequence(h: Harness, srcPort: number, gapMs: number): { synAck: number; ack: number; data: number } {
  const send = client(h, srcPort);
  const C = 5000 + srcPort;
  send({ dstPort: 7, flags: Flag.SYN, seq: C, options: linuxSynOptions(100) });
  const sa = only(h.take(), 'SYN/ACK');
  const S = sa.tcp?.seq ?? 0;
  h.advance(gapMs, gapMs);
  send({ dstPort: 7, flags: Flag.ACK, seq: C + 1, ack: S + 1, options: tsOption(101) });
  send({ dstPort: 7, flags: Flag.ACK | Flag.PSH, seq: C + 1, ack: S + 1, payload: Buffer.from('ts?'), options: tsOption(102) });
  const out = h.take().filter((f) => f.arp === undefined);
  assert.equal(out.length, 2, 'ACK and echoed data');
  assert.equal(out[1].tcp?.payload.toString(), 'ts?');
  send({ dstPort: 7, flags: Flag.ACK, seq: C + 4, ack: S + 4, options: tsOption(103) }); // nothing left to retransmit
  assert.equal(h.take().length, 0);
  return { synAck: tsVal(sa), ack: tsVal(out[0]), data: tsVal(out[1]) };
}

const FREEBSD_TS21 = FREEBSD_12.replace('TS=22', 'TS=21');

test('TS=21 host: data segments continue the SYN/ACK TSval (small positive delta), connection by connection', () => {
  const fp = parseEntry(FREEBSD_TS21);
  const h = new Harness({ personality: (seed) => new OsDbPersonality(fp, { seed, startTimeMs: T0 }) });
  h.take();
  const seen = new Set<number>();
  for (const port of [41000, 41001, 41002]) {
    const r = tsSequence(h, port, 40);
    seen.add(r.synAck);
    for (const [what, v] of [['ACK', r.ack], ['data', r.data]] as const) {
      const delta = (v - r.synAck) >>> 0;
      assert.ok(delta >= 39 && delta <= 41, `port ${port}: ${what} TSval ${v} is ${delta} ticks after the SYN/ACK's ${r.synAck}`);
    }
    h.advance(2000, 500); // next connection in a new burst: a fresh random TSval
  }
  assert.equal(seen.size, 3, 'each connection has its own TSval sequence');
});

test('TS=21 host: a retransmitted SYN/ACK keeps the connection TSval sequence', () => {
  const fp = parseEntry(FREEBSD_TS21);
  const h = new Harness({ personality: (seed) => new OsDbPersonality(fp, { seed, startTimeMs: T0 }) });
  h.take();
  const send = client(h, 42000);
  send({ dstPort: 7, flags: Flag.SYN, seq: 9, options: linuxSynOptions(100) });
  const first = only(h.take(), 'SYN/ACK');
  h.advance(1100);
  const again = only(h.take(), 'retransmitted SYN/ACK');
  assert.equal(again.tcp?.seq, first.tcp?.seq);
  const delta = (tsVal(again) - tsVal(first)) >>> 0;
  assert.ok(delta >= 1000 && delta <= 1100, `retransmission ${delta} ticks after the first SYN/ACK`);
});

test('one-clock hosts are unchanged: Linux-like and a TS=8 entry send their host clock', () => {
  const linuxLike = new Harness();
  linuxLike.take();
  const a = tsSequence(linuxLike, 43000, 40);
  assert.equal(a.data - a.synAck, 40, 'Linux-like: 1 kHz host clock');
  assert.equal(a.ack, a.data);

  const fp = parseEntry(LINUX_5_4);
  const made: OsDbPersonality[] = [];
  const h = new Harness({ personality: (seed) => { const p = new OsDbPersonality(fp, { seed, startTimeMs: T0 }); made.push(p); return p; } });
  h.take();
  const b = tsSequence(h, 43001, 400);
  assert.equal(made.length, 1);
  assert.equal(b.synAck, made[0].tsVal(T0), 'SYN/ACK: the 250 Hz host clock');
  assert.equal(b.data, made[0].tsVal(h.now), 'data: the same clock, no offset');
  assert.equal(b.data - b.synAck, 100);
});
