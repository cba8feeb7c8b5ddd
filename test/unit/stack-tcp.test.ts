/** TCP through Engine.handleFrame: handshake, data to a service, teardown, RST, closed/blocked ports, table bounds. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BROADCAST_MAC, Flag, linuxSynOptions, type ParsedFrame, type TcpSpec, tcpFrame } from '../helpers/frames';
import { CLIENT_IP, CLIENT_MAC, DECOY_IP, DECOY2_IP, Harness } from './stack-harness';

type Seg = Omit<TcpSpec, 'srcPort'> & { srcPort?: number };

function client(h: Harness, dstIp = DECOY_IP, srcIp = CLIENT_IP, srcMac = CLIENT_MAC) {
  const mac = h.macOf(dstIp);
  return (s: Seg, ethDst = mac): void => {
    h.feed(tcpFrame(ethDst, srcMac, srcIp, dstIp, { srcPort: 40000, ...s }));
  };
}

function only(frames: ParsedFrame[], what: string): ParsedFrame {
  assert.equal(frames.length, 1, `${what}: expected exactly one frame, got ${frames.length}`);
  assert.deepEqual(frames[0].problems, [], what);
  assert.ok(frames[0].tcp, `${what}: not TCP`);
  return frames[0];
}

/** Find the timestamp option's (val, ecr), or null. */
function timestamps(f: ParsedFrame): [number, number] | null {
  const o = f.tcp?.options ?? Buffer.alloc(0);
  for (let i = 0; i < o.length;) {
    if (o[i] === 0) break;
    if (o[i] === 1) { i++; continue; }
    if (o[i] === 8 && o[i + 1] === 10) return [o.readUInt32BE(i + 2), o.readUInt32BE(i + 6)];
    i += Math.max(2, o[i + 1]);
  }
  return null;
}

test('SYN to an open port → SYN/ACK; handshake; data echoed with correct seq/ack; FIN teardown', () => {
  const h = new Harness();
  h.take();
  const send = client(h);
  const mac = h.macOf(DECOY_IP);
  const C = 0xfffffff0; // client ISN close to wrap-around
  send({ dstPort: 7, flags: Flag.SYN, seq: C, options: linuxSynOptions(111111) });
  const sa = only(h.take(), 'SYN/ACK');
  assert.equal(sa.dst, CLIENT_MAC);
  assert.equal(sa.src, mac);
  assert.equal(sa.ip?.src, DECOY_IP);
  assert.equal(sa.ip?.dst, CLIENT_IP);
  assert.equal(sa.ip?.df, true);
  assert.equal(sa.tcp?.srcPort, 7);
  assert.equal(sa.tcp?.dstPort, 40000);
  assert.equal(sa.tcp?.flags, Flag.SYN | Flag.ACK);
  assert.equal(sa.tcp?.ack, (C + 1) >>> 0);
  assert.equal(sa.tcp?.options.subarray(0, 4).toString('hex'), '020405b4');
  assert.equal(timestamps(sa)?.[1], 111111, 'TSecr echoes our TSval');
  const S = sa.tcp?.seq ?? 0;

  send({ dstPort: 7, flags: Flag.ACK, seq: C + 1, ack: S + 1, options: Buffer.from([1, 1, 8, 10, 0, 1, 0xb2, 0x08, 0, 0, 0, 0]) });
  assert.equal(h.take().length, 0, 'no reply to the handshake ACK');
  assert.equal(h.eventsOf('tcp.open').length, 1);

  const data = Buffer.from('hello decoyd\n');
  send({ dstPort: 7, flags: Flag.ACK | Flag.PSH, seq: C + 1, ack: S + 1, payload: data, options: Buffer.from([1, 1, 8, 10, 0, 1, 0xb2, 0x09, 0, 0, 0, 0]) });
  let out = h.take();
  assert.equal(out.length, 2, 'ACK + echoed data');
  for (const f of out) assert.deepEqual(f.problems, []);
  const clientNext = (C + 1 + data.length) >>> 0;
  assert.equal(out[0].tcp?.flags, Flag.ACK);
  assert.equal(out[0].tcp?.seq, (S + 1) >>> 0);
  assert.equal(out[0].tcp?.ack, clientNext);
  assert.equal(out[0].tcp?.payload.length, 0);
  assert.equal(out[1].tcp?.flags, Flag.ACK | Flag.PSH);
  assert.equal(out[1].tcp?.seq, (S + 1) >>> 0);
  assert.equal(out[1].tcp?.ack, clientNext);
  assert.deepEqual(out[1].tcp?.payload, data);
  assert.equal(timestamps(out[1])?.[1], 111113, 'TSecr is the latest TSval from the peer');

  send({ dstPort: 7, flags: Flag.ACK, seq: clientNext, ack: S + 1 + data.length });
  assert.equal(h.take().length, 0);
  send({ dstPort: 7, flags: Flag.ACK | Flag.FIN, seq: clientNext, ack: S + 1 + data.length });
  out = h.take();
  assert.equal(out.length, 2, 'ACK of the FIN, then our FIN (echo closes when the peer does)');
  assert.equal(out[0].tcp?.flags, Flag.ACK);
  assert.equal(out[0].tcp?.ack, (clientNext + 1) >>> 0);
  assert.equal(out[1].tcp?.flags, Flag.ACK | Flag.FIN);
  assert.equal(out[1].tcp?.seq, (S + 1 + data.length) >>> 0);
  assert.equal(out[1].tcp?.ack, (clientNext + 1) >>> 0);
  assert.equal(h.engine.tcp.connectionCount, 1);
  send({ dstPort: 7, flags: Flag.ACK, seq: clientNext + 1, ack: S + 2 + data.length });
  assert.equal(h.take().length, 0);
  assert.equal(h.engine.tcp.connectionCount, 0, 'LAST_ACK → CLOSED');
  const close = h.eventsOf('tcp.close');
  assert.equal(close.length, 1);
  assert.equal((close[0] as { bytesIn?: number }).bytesIn, data.length);
  assert.equal((close[0] as { bytesOut?: number }).bytesOut, data.length);
});

test('banner service: the banner follows the handshake; our side closing goes through TIME_WAIT', () => {
  const h = new Harness();
  h.take();
  const send = client(h);
  send({ dstPort: 21, flags: Flag.SYN, seq: 5000 });
  const S = only(h.take(), 'SYN/ACK').tcp?.seq ?? 0;
  send({ dstPort: 21, flags: Flag.ACK, seq: 5001, ack: S + 1 });
  const banner = only(h.take(), 'banner');
  assert.equal(banner.tcp?.payload.toString(), '220 ready\r\n');
  assert.equal(banner.tcp?.seq, (S + 1) >>> 0);
  assert.equal(banner.tcp?.ack, 5001);
  // Peer closes; banner service ends too.
  send({ dstPort: 21, flags: Flag.ACK | Flag.FIN, seq: 5001, ack: S + 12 });
  const out = h.take();
  assert.equal(out.length, 2);
  assert.equal(out[1].tcp?.flags, Flag.ACK | Flag.FIN);
  send({ dstPort: 21, flags: Flag.ACK, seq: 5002, ack: S + 13 });
  assert.equal(h.engine.tcp.connectionCount, 0);
});

test('unacknowledged data is retransmitted by tick() with the same sequence number', () => {
  const h = new Harness();
  h.take();
  const send = client(h);
  send({ dstPort: 21, flags: Flag.SYN, seq: 9000 });
  const S = only(h.take(), 'SYN/ACK').tcp?.seq ?? 0;
  send({ dstPort: 21, flags: Flag.ACK, seq: 9001, ack: S + 1 });
  const first = only(h.take(), 'banner');
  h.advance(1100);
  const again = only(h.take(), 'retransmission');
  assert.equal(again.tcp?.seq, first.tcp?.seq);
  assert.deepEqual(again.tcp?.payload, first.tcp?.payload);
});

test('SYN/ACK is retransmitted with the same ISN, and a retransmitted SYN gets the same SYN/ACK', () => {
  const h = new Harness();
  h.take();
  const send = client(h);
  send({ dstPort: 80, flags: Flag.SYN, seq: 777 });
  const S = only(h.take(), 'SYN/ACK').tcp?.seq;
  send({ dstPort: 80, flags: Flag.SYN, seq: 777 });
  assert.equal(only(h.take(), 'SYN/ACK again').tcp?.seq, S);
  h.advance(1100);
  const re = only(h.take(), 'timer SYN/ACK');
  assert.equal(re.tcp?.seq, S);
  assert.equal(re.tcp?.ack, 778);
  assert.equal(re.tcp?.flags, Flag.SYN | Flag.ACK);
});

test('RST: exact sequence resets, in-window earns a challenge ACK, out of window is ignored; nobody answers an RST', () => {
  const h = new Harness();
  h.take();
  const send = client(h);
  send({ dstPort: 80, flags: Flag.SYN, seq: 100 });
  const S = only(h.take(), 'SYN/ACK').tcp?.seq ?? 0;
  send({ dstPort: 80, flags: Flag.ACK, seq: 101, ack: S + 1 });
  assert.equal(h.take().length, 0);
  send({ dstPort: 80, flags: Flag.RST, seq: 101 + 1000000000 });
  assert.equal(h.take().length, 0, 'out of window: silence');
  send({ dstPort: 80, flags: Flag.RST, seq: 150 });
  const ch = only(h.take(), 'challenge ACK');
  assert.equal(ch.tcp?.flags, Flag.ACK);
  assert.equal(ch.tcp?.ack, 101);
  assert.equal(h.engine.tcp.connectionCount, 1);
  send({ dstPort: 80, flags: Flag.RST | Flag.ACK, seq: 101, ack: S + 1 });
  assert.equal(h.take().length, 0);
  assert.equal(h.engine.tcp.connectionCount, 0);
  // A stray RST to an open or closed port, and SYN+RST anywhere: never answered.
  for (const port of [80, 81, 139]) {
    send({ dstPort: port, flags: Flag.RST, seq: 1 });
    send({ dstPort: port, flags: Flag.RST | Flag.ACK, seq: 1, ack: 5 });
    send({ dstPort: port, flags: Flag.SYN | Flag.RST, seq: 1 });
    send({ dstPort: port, flags: Flag.SYN | Flag.RST | Flag.ACK, seq: 1 });
  }
  assert.equal(h.take().length, 0);
  assert.equal(h.engine.tcp.connectionCount, 0);
});

test('closed port: SYN → RST/ACK, ACK → RST (seq = ack), FIN/NULL/Xmas → RST/ACK with ack = seq + FIN', () => {
  const h = new Harness();
  h.take();
  const send = client(h);
  const cases: Array<[string, Seg, number, number, number]> = [
    // [what, segment, reply flags, reply seq, reply ack]
    ['SYN', { dstPort: 81, flags: Flag.SYN, seq: 1000 }, Flag.RST | Flag.ACK, 0, 1001],
    ['ACK', { dstPort: 81, flags: Flag.ACK, seq: 1000, ack: 0xdeadbeef }, Flag.RST, 0xdeadbeef, 0],
    ['FIN', { dstPort: 81, flags: Flag.FIN, seq: 2000 }, Flag.RST | Flag.ACK, 0, 2001],
    ['NULL', { dstPort: 81, flags: 0, seq: 3000 }, Flag.RST | Flag.ACK, 0, 3000],
    ['Xmas', { dstPort: 81, flags: Flag.FIN | Flag.PSH | Flag.URG, seq: 0xffffffff }, Flag.RST | Flag.ACK, 0, 0],
    ['SYN with data', { dstPort: 81, flags: Flag.SYN, seq: 10, payload: Buffer.from('abcd') }, Flag.RST | Flag.ACK, 0, 15],
  ];
  for (const [what, seg, flags, seq, ack] of cases) {
    send(seg);
    const r = only(h.take(), what);
    assert.equal(r.tcp?.flags, flags, what);
    assert.equal(r.tcp?.seq, seq, what);
    assert.equal(r.tcp?.ack, ack, what);
    assert.equal(r.tcp?.srcPort, 81);
    assert.equal(r.tcp?.dstPort, 40000);
    assert.equal(r.tcp?.window, 0);
    assert.equal(r.tcp?.payload.length, 0);
  }
  // An ACK to an open port without a connection also gets RST seq = ack.
  send({ dstPort: 80, flags: Flag.ACK, seq: 1, ack: 12345 });
  const r = only(h.take(), 'ACK to open port');
  assert.equal(r.tcp?.flags, Flag.RST);
  assert.equal(r.tcp?.seq, 12345);
  // FIN/NULL/Xmas to an open port: Linux stays silent.
  send({ dstPort: 80, flags: Flag.FIN, seq: 1 });
  send({ dstPort: 80, flags: 0, seq: 1 });
  send({ dstPort: 80, flags: Flag.FIN | Flag.PSH | Flag.URG, seq: 1 });
  assert.equal(h.take().length, 0);
});

test('blocked port, bad checksum, wrong MAC, wrong IP, martian and multicast sources → nothing', () => {
  const h = new Harness({ hosts: [{ address: DECOY_IP, template: 'linux' }, { address: DECOY2_IP, template: 'linux' }] });
  h.take();
  const mac = h.macOf(DECOY_IP);
  const send = client(h);
  send({ dstPort: 139, flags: Flag.SYN, seq: 1 });
  send({ dstPort: 139, flags: Flag.ACK, seq: 1, ack: 1 });
  send({ dstPort: 80, flags: Flag.SYN, seq: 1, badChecksum: true });
  send({ dstPort: 81, flags: Flag.SYN, seq: 1, badChecksum: true });
  // Right IP, wrong destination MAC (another station, broadcast, the other decoy's MAC).
  send({ dstPort: 80, flags: Flag.SYN, seq: 1 }, '02:00:5e:00:00:55');
  send({ dstPort: 80, flags: Flag.SYN, seq: 1 }, BROADCAST_MAC);
  send({ dstPort: 80, flags: Flag.SYN, seq: 1 }, h.macOf(DECOY2_IP));
  // The decoy's MAC, another IP (an undefined address and 198.51.100.1).
  h.feed(tcpFrame(mac, CLIENT_MAC, CLIENT_IP, '198.51.100.50', { srcPort: 40000, dstPort: 80, flags: Flag.SYN }));
  h.feed(tcpFrame(mac, CLIENT_MAC, CLIENT_IP, '198.51.100.1', { srcPort: 40000, dstPort: 81, flags: Flag.SYN }));
  // Martian sources.
  for (const src of ['127.0.0.1', '0.0.0.0', '224.0.0.5', '255.255.255.255', '240.0.0.1', DECOY_IP]) {
    h.feed(tcpFrame(mac, CLIENT_MAC, src, DECOY_IP, { srcPort: 40000, dstPort: 81, flags: Flag.SYN }));
  }
  // A multicast or broadcast source MAC: never answered (the reply would go to a group).
  h.feed(tcpFrame(mac, '01:00:5e:00:00:01', CLIENT_IP, DECOY_IP, { srcPort: 40000, dstPort: 81, flags: Flag.SYN }));
  h.feed(tcpFrame(mac, BROADCAST_MAC, CLIENT_IP, DECOY_IP, { srcPort: 40000, dstPort: 80, flags: Flag.SYN }));
  assert.deepEqual(h.take().map((f) => `${f.ip?.src}>${f.ip?.dst} ${f.tcp?.flags}`), []);
  assert.equal(h.engine.tcp.connectionCount, 0);
  assert.equal(h.parts.table.size, 2, 'nothing above released a decoy');
});

test('connection table bound: with maxConnections = 4 the 5th SYN evicts the oldest half-open and is answered', () => {
  const h = new Harness({ limits: { maxConnections: 4 } });
  h.take();
  const send = client(h);
  const isn: number[] = [];
  for (let i = 0; i < 5; i++) {
    send({ srcPort: 41000 + i, dstPort: 80, flags: Flag.SYN, seq: 1000 * i });
    const sa = only(h.take(), `SYN ${i}`);
    assert.equal(sa.tcp?.flags, Flag.SYN | Flag.ACK);
    isn.push(sa.tcp?.seq ?? 0);
    assert.equal(h.engine.tcp.connectionCount, Math.min(i + 1, 4));
  }
  assert.equal(h.engine.tcp.counters.connectionsEvicted, 1);
  // The first (evicted) one is gone: completing its handshake is answered with RST as Linux does.
  send({ srcPort: 41000, dstPort: 80, flags: Flag.ACK, seq: 1, ack: isn[0] + 1 });
  const rst = only(h.take(), 'ACK for the evicted connection');
  assert.equal(rst.tcp?.flags, Flag.RST);
  // The second one still completes.
  send({ srcPort: 41001, dstPort: 80, flags: Flag.ACK, seq: 1001, ack: isn[1] + 1 });
  assert.equal(h.take().length, 0);
  assert.equal(h.eventsOf('tcp.open').length, 1);
});

test('per-source connection limit is honoured and does not affect other sources', () => {
  const h = new Harness({ limits: { maxConnectionsPerSource: 2 } });
  h.take();
  const send = client(h);
  send({ srcPort: 42000, dstPort: 80, flags: Flag.SYN, seq: 1 });
  send({ srcPort: 42001, dstPort: 80, flags: Flag.SYN, seq: 1 });
  assert.equal(h.take().length, 2);
  send({ srcPort: 42002, dstPort: 80, flags: Flag.SYN, seq: 1 });
  // Past the bound the SYN is answered without state, as SYN cookies would; the table stays at 2.
  assert.equal(only(h.take(), 'third SYN').tcp?.flags, Flag.SYN | Flag.ACK);
  assert.equal(h.engine.tcp.connectionCount, 2);
  assert.equal(h.engine.tcp.counters.statelessSynAcks, 1);
  const other = client(h, DECOY_IP, '198.51.100.3', '02:00:5e:00:00:03');
  other({ srcPort: 42002, dstPort: 80, flags: Flag.SYN, seq: 1 });
  assert.equal(only(h.take(), 'other source').tcp?.flags, Flag.SYN | Flag.ACK);
  // Closed ports still answer RST: the limit is about connections.
  send({ srcPort: 42003, dstPort: 81, flags: Flag.SYN, seq: 1 });
  assert.equal(only(h.take(), 'closed port').tcp?.flags, Flag.RST | Flag.ACK);
  // Half-open connections time out and free the slots.
  h.advance(70000, 500);
  h.take();
  assert.equal(h.engine.tcp.connectionCount, 0);
  send({ srcPort: 42004, dstPort: 80, flags: Flag.SYN, seq: 1 });
  assert.equal(only(h.take(), 'after timeout').tcp?.flags, Flag.SYN | Flag.ACK);
});
