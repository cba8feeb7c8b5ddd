/**
 * The socket's data path: out-of-order reassembly, back-pressure both ways, zero windows and
 * probing, retransmission with backoff and give-up, fast retransmission, bounds, a throwing
 * service, byte-identical SYN/ACK retransmission and released addresses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arpFrame, type ParsedFrame, tcpFrame } from '../helpers/frames';
import { CHUNK_SIZE } from '../../daemon/src/stack/tcp/byte-queue';
import { TcpState } from '../../daemon/src/stack/tcp/socket';
import { LINUX_TCP_TIMING } from '../../daemon/src/stack/tcp/timing';
import type { StreamContext, StreamService } from '../../daemon/src/services/service';
import { Flag, install, linuxSynOptions, pattern, Peer, ScriptedService, socketOf, tcpOnly } from './tcp-socket-support';
import { CLIENT_IP, CLIENT_MAC, DECOY_IP, Harness } from './stack-harness';

function setup(limits: ConstructorParameters<typeof Harness>[0] = {}): { h: Harness; svc: ScriptedService; p: Peer } {
  const h = new Harness(limits);
  const svc = new ScriptedService();
  install(h, 5000, svc);
  return { h, svc, p: new Peer(h, 5000) };
}

test('out-of-order segments are held, answered with duplicate ACKs, and delivered in order once the hole fills', () => {
  const { h, svc, p } = setup();
  p.connect();
  const base = p.seq;
  const parts = ['aaaa', 'bbbb', 'cccc', 'dddd'];
  // Send 2, 4, 3 and then 1.
  for (const i of [1, 3, 2]) {
    p.send(Flag.ACK | Flag.PSH, Buffer.from(parts[i] as string), { seq: base + 4 * i });
    const dup = tcpOnly(h.take());
    assert.equal(dup.length, 1, `dup ACK for part ${i}`);
    assert.equal(dup[0]?.tcp?.ack, base, 'still acknowledging the hole');
  }
  assert.equal(svc.data.length, 0);
  assert.equal(socketOf(h, p)?.outOfOrderCount, 3);
  p.send(Flag.ACK | Flag.PSH, Buffer.from(parts[0] as string), { seq: base });
  const ack = tcpOnly(h.take());
  assert.equal(ack.length, 1);
  assert.equal(ack[0]?.tcp?.ack, base + 16, 'one ACK covers the filled hole and everything held');
  assert.equal(svc.text, 'aaaabbbbccccdddd');
  assert.equal(socketOf(h, p)?.outOfOrderCount, 0);
  // A retransmission of old data overlapping new bytes: only the new part is taken.
  p.send(Flag.ACK | Flag.PSH, Buffer.from('ddddeeee'), { seq: base + 12 });
  h.take();
  assert.equal(svc.text, 'aaaabbbbccccddddeeee');
});

test('out-of-order queue bound: only maxOutOfOrderSegments are held, the ones nearest the hole', () => {
  const { h, svc, p } = setup({ limits: { maxOutOfOrderSegments: 2 } });
  p.connect();
  const base = p.seq;
  for (const i of [4, 3, 2, 1]) p.send(Flag.ACK, Buffer.from(`${i}${i}`), { seq: base + 2 * i });
  h.take();
  assert.equal(socketOf(h, p)?.outOfOrderCount, 2);
  p.send(Flag.ACK, Buffer.from('00'), { seq: base });
  const ack = tcpOnly(h.take());
  assert.equal(ack[0]?.tcp?.ack, base + 6, 'parts 1 and 2 were kept, 3 and 4 must come again');
  assert.equal(svc.text, '001122');
});

test('receive back-pressure: a paused service makes the window shrink to zero; data past it is not taken; resume reopens', () => {
  const { h, svc, p } = setup({ limits: { maxReceiveBuffer: 4096 } });
  p.connect();
  svc.ctx?.pause?.();
  const chunk = pattern(1000);
  const windows: number[] = [];
  for (let i = 0; i < 5; i++) {
    p.data(chunk);
    for (const f of tcpOnly(h.take())) windows.push(f.tcp?.window ?? 0);
  }
  // The peer offered no window scale, so the field is in bytes.
  assert.ok(windows.length >= 4);
  for (let i = 1; i < windows.length; i++) assert.ok((windows[i] as number) <= (windows[i - 1] as number), `window shrinks: ${windows}`);
  assert.equal(windows[windows.length - 1], 0, 'zero window once 4096 bytes wait');
  const sock = socketOf(h, p);
  assert.equal(sock?.receiveQueued, 4096);
  assert.equal(svc.data.length, 0);
  // The fifth segment only partly fit: the peer's next byte is at 4096.
  p.seq = (p.seq - 5000 + 4096) >>> 0;
  // A zero-window probe (one byte) is answered with an ACK that keeps the window shut.
  p.send(Flag.ACK, Buffer.from([0x55]));
  const probeAck = tcpOnly(h.take());
  assert.equal(probeAck.length, 1);
  assert.equal(probeAck[0]?.tcp?.window, 0);
  assert.equal(probeAck[0]?.tcp?.ack, p.seq, 'the probe byte was not taken');
  svc.ctx?.resume?.();
  assert.equal(Buffer.concat(svc.data).length, 4096);
  const update = tcpOnly(h.take());
  assert.equal(update.length, 1, 'a window update once the service caught up');
  assert.equal(update[0]?.tcp?.window, 4096);
});

test('send back-pressure: write() is bounded by maxSendBuffer, and onDrain tells the service when it may write again', () => {
  const { h, svc, p } = setup({ limits: { maxSendBuffer: 8192 } });
  p.window = 2000;
  p.connect();
  const ctx = svc.ctx as StreamContext;
  assert.equal(ctx.writable, 8192);
  const big = pattern(20000);
  assert.equal(ctx.write(big), false, 'more than the buffer holds');
  assert.equal(ctx.writable, 0);
  assert.equal(socketOf(h, p)?.sendQueued, 8192, 'only the bound was taken');
  // Only the peer's window is in flight.
  const first = tcpOnly(h.take());
  const inFlight = first.reduce((n, f) => n + (f.tcp?.payload.length ?? 0), 0);
  // No MSS option: 536-byte segments, and no runt at the window's end (silly-window avoidance).
  assert.equal(inFlight, 3 * 536);
  assert.equal(svc.drains, 0);
  p.received.push(...first.map((f) => f.tcp?.payload ?? Buffer.alloc(0)));
  p.rcv = (p.rcv + inFlight) >>> 0;
  p.send(Flag.ACK);
  assert.equal(svc.drains, 1, 'room again after the ACK');
  assert.equal(ctx.writable, inFlight);
  // Everything queued arrives intact as the peer keeps reading.
  for (let i = 0; i < 10; i++) p.read();
  assert.deepEqual(Buffer.concat(p.received), big.subarray(0, 8192));
});

test('zero window from the peer: data waits, the persist timer probes with backoff, probing lasts while the peer answers', () => {
  const { h, svc, p } = setup();
  p.connect();
  p.send(Flag.ACK, undefined, { window: 0 });
  assert.equal(svc.ctx?.write('held back'), true);
  assert.equal(tcpOnly(h.take()).length, 0, 'nothing sent into a zero window');
  const probes: number[] = [];
  const start = h.now;
  for (let t = 0; t < 200000; t += 100) {
    h.advance(100);
    for (const f of tcpOnly(h.take())) {
      assert.equal(f.tcp?.payload.length, 1, 'a one-byte probe');
      assert.equal(f.tcp?.seq, p.rcv);
      probes.push(h.now - start);
      p.send(Flag.ACK, undefined, { window: 0 }); // alive, still no room
    }
  }
  assert.ok(probes.length >= 6, `probes: ${probes}`);
  const gaps = probes.slice(1).map((t, i) => t - (probes[i] as number));
  for (let i = 1; i < gaps.length; i++) assert.ok((gaps[i] as number) >= (gaps[i - 1] as number), `backoff: ${gaps}`);
  assert.ok((gaps[gaps.length - 1] as number) <= LINUX_TCP_TIMING.maxRtoMs + 100, 'capped at maxRtoMs');
  assert.equal(socketOf(h, p)?.state, TcpState.ESTABLISHED, 'never given up while the peer answers');
  // The window opens: the rest follows.
  p.window = 64240;
  p.send(Flag.ACK);
  p.read();
  h.advance(5000);
  p.read();
  assert.equal(p.text, 'held back');
});

test('retransmission: RTO doubles from initialRtoMs up to maxRtoMs, then the connection is reset after maxDataRetries', () => {
  const { h, svc, p } = setup({ limits: { connectionIdleSeconds: 1_000_000 } });
  p.connect();
  svc.ctx?.write('unacknowledged');
  const first = tcpOnly(h.take());
  assert.equal(first.length, 1);
  const times: number[] = [];
  const start = h.now;
  let rst: ParsedFrame | undefined;
  for (let t = 0; t < 2_000_000 && rst === undefined; t += 500) {
    h.advance(500, 500);
    for (const f of tcpOnly(h.take())) {
      if ((f.tcp?.flags ?? 0) & Flag.RST) { rst = f; continue; }
      assert.equal(f.tcp?.seq, first[0]?.tcp?.seq, 'same sequence number');
      assert.deepEqual(f.tcp?.payload, first[0]?.tcp?.payload);
      times.push(h.now - start);
    }
  }
  assert.equal(times.length, LINUX_TCP_TIMING.maxDataRetries);
  const gaps = times.map((t, i) => t - (i === 0 ? 0 : times[i - 1] as number));
  assert.ok(Math.abs((gaps[0] as number) - 1000) <= 500, `first after ~1 s: ${gaps}`);
  assert.ok(Math.abs((gaps[1] as number) - 2000) <= 500, `then ~2 s: ${gaps}`);
  assert.ok(Math.abs((gaps[gaps.length - 1] as number) - LINUX_TCP_TIMING.maxRtoMs) <= 500, `capped: ${gaps}`);
  assert.ok(rst !== undefined, 'given up with RST');
  assert.equal(socketOf(h, p), null);
  assert.equal((h.eventsOf('tcp.close')[0] as { reason?: string }).reason, 'retransmission-timeout');
});

test('fast retransmission: three duplicate ACKs resend the first unacknowledged segment at once', () => {
  const { h, svc, p } = setup();
  p.connect();
  svc.ctx?.write(pattern(5 * 1448));
  const segs = tcpOnly(h.take());
  assert.ok(segs.length >= 4);
  for (let i = 0; i < 3; i++) p.send(Flag.ACK); // the first segment was "lost"
  const re = tcpOnly(h.take());
  assert.equal(re.length, 1);
  assert.equal(re[0]?.tcp?.seq, segs[0]?.tcp?.seq);
  assert.deepEqual(re[0]?.tcp?.payload, segs[0]?.tcp?.payload);
});

test('segments fit one frame: with timestamps the payload is MSS minus the option, and no byte is skipped', () => {
  const h = new Harness();
  const svc = new ScriptedService();
  install(h, 5000, svc);
  const p = new Peer(h, 5000, 40000, 1000, true);
  p.connect(linuxSynOptions(1));
  const data = pattern(10000, 7);
  svc.ctx?.write(data);
  for (let i = 0; i < 20 && p.received.length < 20; i++) p.read();
  for (const b of p.received.slice(0, -1)) assert.equal(b.length, 1460 - 12);
  assert.deepEqual(Buffer.concat(p.received), data);
  for (const f of h.sent) assert.ok(f.length <= 1514);
});

test('memory bound: peers that never read fill only their send buffers, and all buffers together stay within maxTcpBufferBytes', () => {
  const limit = 8 * CHUNK_SIZE;
  const h = new Harness({ limits: { maxSendBuffer: 3 * CHUNK_SIZE, maxTcpBufferBytes: limit } });
  const services: ScriptedService[] = [];
  const peers: Peer[] = [];
  for (let i = 0; i < 6; i++) {
    const svc = new ScriptedService();
    services.push(svc);
    install(h, 6000 + i, svc);
    const p = new Peer(h, 6000 + i, 42000 + i);
    p.window = 0;
    p.connect();
    peers.push(p);
    // Write far more than any bound.
    for (let k = 0; k < 10; k++) svc.ctx?.write(pattern(CHUNK_SIZE));
  }
  const b = h.engine.tcp.budget;
  assert.ok(b.peak <= limit, `peak ${b.peak} within ${limit}`);
  assert.equal(b.used, limit, 'the budget is full');
  assert.ok(b.refusals > 0, 'and refused the rest');
  assert.equal(socketOf(h, peers[0] as Peer)?.sendQueued, 3 * CHUNK_SIZE);
  // With the budget spent, a new connection still completes and its window shows there is no room.
  const svc = new ScriptedService();
  install(h, 7000, svc);
  const late = new Peer(h, 7000, 43000);
  late.connect();
  assert.equal(svc.ctx?.write('x'), false, 'writes are refused by the budget, not thrown');
  assert.equal(b.used, limit);
  // Closing the hogs gives the memory back.
  for (const p of peers) p.send(Flag.RST);
  assert.equal(b.used <= CHUNK_SIZE, true, `released: ${b.used}`);
});

test('a throwing service resets its connection, is reported as daemon.error naming it, and other connections carry on', () => {
  const h = new Harness();
  const bad: StreamService = {
    name: 'explosive',
    open: () => ({ onData: () => { throw new Error('boom'); }, onEnd: () => {}, onClose: () => {} }),
  };
  install(h, 5001, bad);
  const badAtOpen: StreamService = { name: 'fragile', open: () => { throw new Error('no'); } };
  install(h, 5002, badAtOpen);
  const good = new ScriptedService();
  install(h, 5000, good);
  const ok = new Peer(h, 5000, 40001);
  ok.connect();
  const p = new Peer(h, 5001, 40002);
  p.connect();
  p.data('hello');
  const out = tcpOnly(h.take());
  assert.ok(out.some((f) => (f.tcp?.flags ?? 0) & Flag.RST), 'RST to the peer');
  assert.equal(socketOf(h, p), null);
  const errors = h.eventsOf('daemon.error') as Array<{ message: string }>;
  assert.equal(errors.length, 1);
  assert.match(errors[0]?.message ?? '', /service explosive .*onData.*boom/);
  assert.equal((h.eventsOf('tcp.close').at(-1) as { reason?: string }).reason, 'service-error');
  const q = new Peer(h, 5002, 40003);
  q.connect();
  assert.ok(tcpOnly(h.take()).some((f) => (f.tcp?.flags ?? 0) & Flag.RST));
  assert.match((h.eventsOf('daemon.error')[1] as { message: string }).message, /service fragile .*open/);
  assert.equal(h.engine.tcp.counters.serviceErrors, 2);
  // The healthy connection is unaffected.
  ok.data('still here');
  ok.read();
  assert.equal(good.text, 'still here');
});

test('a retransmitted SYN/ACK is byte-identical to the first apart from TSval, IP ID and checksums (ECN bits and options included)', () => {
  const h = new Harness();
  h.take();
  // An ECN-setup SYN with Linux's options.
  const send = (): void => {
    h.feed(tcpFrame(h.macOf(DECOY_IP), CLIENT_MAC, CLIENT_IP, DECOY_IP, {
      srcPort: 40000, dstPort: 80, flags: Flag.SYN | Flag.ECE | Flag.CWR, seq: 4242, window: 64240, options: linuxSynOptions(5555),
    }));
  };
  send();
  const firstRaw = h.sent.splice(0);
  assert.equal(firstRaw.length, 1);
  const retrans: Buffer[] = [];
  h.advance(1100);
  retrans.push(...h.sent.splice(0).filter((f) => f.readUInt16BE(12) === 0x0800));
  send(); // a retransmitted SYN gets the same SYN/ACK too
  retrans.push(...h.sent.splice(0));
  assert.equal(retrans.length, 2);
  const mask = (f: Buffer): Buffer => {
    const c = Buffer.from(f);
    c.fill(0, 14 + 4, 14 + 6); // IP ID
    c.fill(0, 14 + 10, 14 + 12); // IP checksum
    c.fill(0, 34 + 16, 34 + 18); // TCP checksum
    // TSval inside the options.
    const hl = (c[34 + 12] as number) >> 4;
    for (let i = 34 + 20; i < 34 + hl * 4;) {
      const k = c[i] as number;
      if (k === 0) break;
      if (k === 1) { i++; continue; }
      if (k === 8) c.fill(0, i + 2, i + 6);
      i += c[i + 1] as number;
    }
    return c;
  };
  const first = firstRaw[0] as Buffer;
  assert.equal((first[34 + 13] as number) & Flag.ECE, Flag.ECE, 'the SYN/ACK carries ECE');
  for (const r of retrans) assert.equal(mask(r).toString('hex'), mask(first).toString('hex'));
});

test('a released address stops talking: its connections are dropped without a frame (owner appeared)', () => {
  const { h, svc, p } = setup();
  p.connect();
  svc.ctx?.write('in flight');
  h.take();
  assert.equal(h.engine.tcp.connectionCount, 1);
  h.feed(arpFrame({ op: 1, sha: '02:00:5e:00:00:77', spa: DECOY_IP, tpa: DECOY_IP }));
  assert.equal(h.eventsOf('arp.release').length, 1);
  assert.equal(h.engine.tcp.connectionCount, 0);
  assert.equal(h.engine.tcp.counters.connectionsReleased, 1);
  h.advance(10000);
  assert.equal(h.sent.filter((f) => f.readUInt16BE(12) === 0x0800).length, 0, 'no retransmission from an address a real host owns');
  assert.equal((h.eventsOf('tcp.close')[0] as { reason?: string }).reason, 'address-released');
  assert.equal(svc.closed, 1);
});

test('the advertised window starts at the OS\'s own (scaled) value and grows to the receive buffer as data arrives', () => {
  const h = new Harness({ limits: { maxReceiveBuffer: 256 * 1024 } });
  const svc = new ScriptedService();
  install(h, 5000, svc);
  const p = new Peer(h, 5000, 40000, 1000, true);
  p.connect(linuxSynOptions(1));
  p.data(pattern(1000));
  const first = tcpOnly(h.take());
  assert.equal(first[0]?.tcp?.window, 64256 >> 7, 'Linux-like shape: 64256 bytes, scale 7');
  for (let i = 0; i < 50; i++) p.data(pattern(1400, i));
  const later = tcpOnly(h.take());
  assert.equal(later.at(-1)?.tcp?.window, (256 * 1024) >> 7);
  assert.equal(Buffer.concat(svc.data).length, 1000 + 50 * 1400);
});
