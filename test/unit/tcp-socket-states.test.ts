/**
 * The socket state machine, state by state, through Engine.handleFrame: SYN-RECEIVED,
 * ESTABLISHED, CLOSE-WAIT, LAST-ACK, FIN-WAIT-1/2, CLOSING, TIME-WAIT, half-close both ways, RST.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TcpState } from '../../daemon/src/stack/tcp/socket';
import { LINUX_TCP_TIMING, type TcpTimingProfile } from '../../daemon/src/stack/tcp/timing';
import { LinuxLikePersonality } from '../../daemon/src/personality/linux-like-personality';
import { Flag, install, Peer, ScriptedService, socketOf, tcpOnly } from './tcp-socket-support';
import { Harness, T0 } from './stack-harness';

function setup(): { h: Harness; svc: ScriptedService; p: Peer } {
  const h = new Harness();
  const svc = new ScriptedService();
  install(h, 5000, svc);
  return { h, svc, p: new Peer(h, 5000) };
}

test('listen → SYN-RECEIVED on SYN, → ESTABLISHED on the handshake ACK (service opened once)', () => {
  const { h, svc, p } = setup();
  h.take();
  p.send(Flag.SYN);
  const sa = tcpOnly(h.take());
  assert.equal(sa.length, 1);
  assert.equal(socketOf(h, p)?.state, TcpState.SYN_RECEIVED);
  assert.equal(svc.ctx, null, 'no service before the handshake completes');
  p.seq++;
  p.iss = sa[0]?.tcp?.seq ?? 0;
  p.rcv = (p.iss + 1) >>> 0;
  // A handshake ACK with the wrong ack number gets RST seq = ack and leaves the socket half-open.
  p.send(Flag.ACK, undefined, { ack: p.rcv + 5 });
  const rst = tcpOnly(h.take());
  assert.equal(rst.length, 1);
  assert.equal(rst[0]?.tcp?.flags, Flag.RST);
  assert.equal(rst[0]?.tcp?.seq, (p.rcv + 5) >>> 0);
  assert.equal(socketOf(h, p)?.state, TcpState.SYN_RECEIVED);
  p.send(Flag.ACK);
  assert.equal(socketOf(h, p)?.state, TcpState.ESTABLISHED);
  assert.ok(svc.ctx !== null);
  assert.equal(h.eventsOf('tcp.open').length, 1);
});

test('SYN-RECEIVED: an RST closes silently; the SYN/ACK timer gives up after the profile\'s schedule', () => {
  const { h, p } = setup();
  h.take();
  p.send(Flag.SYN);
  h.take();
  p.send(Flag.RST, undefined, { seq: p.seq + 1 });
  assert.equal(socketOf(h, p), null);
  assert.equal(h.take().length, 0);
  assert.equal(h.eventsOf('tcp.close').length, 0, 'never established: no close event');

  p.send(Flag.SYN, undefined, { seq: 9 });
  h.take();
  const times: number[] = [];
  const start = h.now;
  for (let t = 0; t < 70000; t += 100) {
    h.advance(100);
    if (tcpOnly(h.take()).length > 0) times.push(h.now - start);
  }
  assert.deepEqual(times, [...LINUX_TCP_TIMING.synAckRetransmitMs], 'retransmitted at 1, 3, 7, 15, 31 s');
  assert.equal(socketOf(h, p), null, 'given up by 63 s');
});

test('peer closes first: ESTABLISHED → CLOSE-WAIT, we still send (half-close), end() → LAST-ACK → CLOSED', () => {
  const { h, svc, p } = setup();
  p.connect();
  p.data('request');
  p.read();
  assert.equal(svc.text, 'request');
  p.fin();
  const ack = p.read(false);
  assert.equal(ack.length, 1);
  assert.equal(ack[0]?.tcp?.ack, p.seq, 'FIN acknowledged');
  assert.equal(socketOf(h, p)?.state, TcpState.CLOSE_WAIT);
  assert.equal(svc.ended, 1);
  // Half-closed by the peer: our direction still carries data.
  assert.equal(svc.ctx?.write('late answer'), true);
  p.read();
  assert.equal(p.text, 'late answer');
  svc.ctx?.end();
  assert.equal(socketOf(h, p)?.state, TcpState.LAST_ACK);
  const fin = p.read();
  assert.equal(fin.length, 1);
  assert.ok(((fin[0]?.tcp?.flags ?? 0) & Flag.FIN) !== 0);
  assert.equal(socketOf(h, p), null, 'the ACK of our FIN closes');
  const close = h.eventsOf('tcp.close');
  assert.equal(close.length, 1);
  assert.equal((close[0] as { reason?: string }).reason, 'closed');
  assert.equal(svc.closed, 1);
});

test('we close first: FIN-WAIT-1 → FIN-WAIT-2 (the peer still sends: half-close) → TIME-WAIT → CLOSED after timeWaitMs', () => {
  const { h, svc, p } = setup();
  p.connect();
  svc.ctx?.end();
  assert.equal(socketOf(h, p)?.state, TcpState.FIN_WAIT_1);
  assert.equal(svc.ctx?.write('x'), false, 'no writes after end()');
  p.read();
  assert.equal(socketOf(h, p)?.state, TcpState.FIN_WAIT_2);
  // Our direction is closed; the peer's is not.
  p.data('still talking');
  p.read();
  assert.equal(svc.text, 'still talking');
  p.fin();
  p.read(false);
  assert.equal(socketOf(h, p)?.state, TcpState.TIME_WAIT);
  assert.equal(h.engine.tcp.timeWaitSockets, 1);
  p.send(Flag.ACK);
  assert.equal(tcpOnly(h.take()).length, 0, 'a bare ACK in TIME-WAIT is not answered');
  assert.equal(svc.closed, 1, 'the session is over in TIME-WAIT');
  h.advance(LINUX_TCP_TIMING.timeWaitMs - 1000, 500);
  assert.equal(socketOf(h, p)?.state, TcpState.TIME_WAIT);
  h.advance(1500, 500);
  assert.equal(socketOf(h, p), null);
  assert.equal(h.engine.tcp.timeWaitSockets, 0);
});

test('simultaneous close: FIN-WAIT-1 → CLOSING on the peer\'s FIN → TIME-WAIT on the ACK of ours', () => {
  const { h, svc, p } = setup();
  p.connect();
  svc.ctx?.end();
  const ourFin = p.read(false);
  assert.equal(ourFin.length, 1);
  // The peer's FIN crosses ours: it does not acknowledge our FIN yet.
  p.send(Flag.ACK | Flag.FIN, undefined, { ack: (p.rcv - 1) >>> 0 });
  p.seq++;
  assert.equal(socketOf(h, p)?.state, TcpState.CLOSING);
  h.take();
  p.send(Flag.ACK);
  assert.equal(socketOf(h, p)?.state, TcpState.TIME_WAIT);
});

test('TIME-WAIT: a retransmitted FIN is re-ACKed and restarts the wait; expiry is in deadline order', () => {
  const h = new Harness();
  const svc = new ScriptedService();
  install(h, 5000, svc);
  const a = new Peer(h, 5000, 41000);
  const b = new Peer(h, 5000, 41001);
  for (const p of [a, b]) {
    p.connect();
    svc.ctx?.end();
    p.read();
    p.fin();
    h.take();
    assert.equal(socketOf(h, p)?.state, TcpState.TIME_WAIT);
    h.advance(10000, 1000);
  }
  // a entered TIME-WAIT 10 s before b; a's FIN comes again 30 s later and restarts a's wait.
  h.advance(20000, 1000);
  a.send(Flag.ACK | Flag.FIN, undefined, { seq: a.seq - 1 });
  const reAck = tcpOnly(h.take());
  assert.equal(reAck.length, 1);
  assert.equal(reAck[0]?.tcp?.ack, a.seq);
  // b's deadline passes first; a (older, but refreshed, and first in line) must not hold b back.
  h.advance(LINUX_TCP_TIMING.timeWaitMs - 30000 + 500, 500);
  assert.equal(socketOf(h, b), null, 'b expired');
  assert.equal(socketOf(h, a)?.state, TcpState.TIME_WAIT, 'a was refreshed');
  h.advance(31000, 500);
  assert.equal(socketOf(h, a), null);
});

test('TIME-WAIT: a new SYN with a higher sequence number opens a new incarnation', () => {
  const { h, svc, p } = setup();
  p.connect();
  svc.ctx?.end();
  p.read();
  p.fin();
  h.take();
  assert.equal(socketOf(h, p)?.state, TcpState.TIME_WAIT);
  p.send(Flag.SYN, undefined, { seq: p.seq + 100000 });
  const sa = tcpOnly(h.take());
  assert.equal(sa.length, 1);
  assert.equal(sa[0]?.tcp?.flags, Flag.SYN | Flag.ACK);
  assert.equal(socketOf(h, p)?.state, TcpState.SYN_RECEIVED);
});

test('RST in ESTABLISHED and CLOSE-WAIT: exact sequence resets (reset-by-peer), in-window earns a challenge ACK', () => {
  const { h, svc, p } = setup();
  p.connect();
  p.fin();
  h.take();
  assert.equal(socketOf(h, p)?.state, TcpState.CLOSE_WAIT);
  p.send(Flag.RST, undefined, { seq: p.seq + 10 });
  const ch = tcpOnly(h.take());
  assert.equal(ch.length, 1);
  assert.equal(ch[0]?.tcp?.flags, Flag.ACK);
  p.send(Flag.RST);
  assert.equal(socketOf(h, p), null);
  assert.equal((h.eventsOf('tcp.close')[0] as { reason?: string }).reason, 'reset-by-peer');
  assert.equal(svc.closed, 1);
  assert.equal(h.take().length, 0, 'an RST is never answered');
});

test('a SYN on an established connection earns a challenge ACK and changes nothing', () => {
  const { h, p } = setup();
  p.connect();
  p.send(Flag.SYN, undefined, { seq: p.seq + 5 });
  const out = tcpOnly(h.take());
  assert.equal(out.length, 1);
  assert.equal(out[0]?.tcp?.flags, Flag.ACK);
  assert.equal(out[0]?.tcp?.ack, p.seq);
  assert.equal(socketOf(h, p)?.state, TcpState.ESTABLISHED);
});

test('the timing seam: a personality\'s own tcpTiming drives SYN/ACK retransmission, data RTO, retries and TIME-WAIT', () => {
  const timing: TcpTimingProfile = { synAckRetransmitMs: [3000, 9000], initialRtoMs: 3000, minRtoMs: 300, maxRtoMs: 6000, maxDataRetries: 2, timeWaitMs: 30000, delayedAckMs: 100 };
  class SlowOs extends LinuxLikePersonality {
    readonly tcpTiming = timing;
  }
  const h = new Harness({ personality: (seed) => new SlowOs(seed, 86400, T0) });
  const svc = new ScriptedService();
  install(h, 5000, svc);
  const half = new Peer(h, 5000, 41000);
  h.take();
  half.send(Flag.SYN);
  h.take();
  const synAcks: number[] = [];
  const start = h.now;
  for (let t = 0; t < 30000; t += 100) {
    h.advance(100);
    if (tcpOnly(h.take()).length > 0) synAcks.push(h.now - start);
  }
  assert.deepEqual(synAcks, [3000, 9000]);
  assert.equal(socketOf(h, half), null, 'given up at 9 + 2 × 6 = 21 s');

  const p = new Peer(h, 5000, 41001);
  p.connect();
  svc.ctx?.write('x');
  h.take();
  const rtx: number[] = [];
  const t0 = h.now;
  for (let t = 0; t < 30000; t += 100) {
    h.advance(100);
    for (const f of tcpOnly(h.take())) if (((f.tcp?.flags ?? 0) & Flag.RST) === 0) rtx.push(h.now - t0);
  }
  assert.deepEqual(rtx, [3000, 9000], 'RTO 3 s, doubled to the 6 s cap, two retries');
  assert.equal(socketOf(h, p), null, 'reset after maxDataRetries');

  const q = new Peer(h, 5000, 41002);
  q.connect();
  svc.ctx?.end();
  q.read();
  q.fin();
  h.take();
  assert.equal(socketOf(h, q)?.state, TcpState.TIME_WAIT);
  h.advance(30500, 500);
  assert.equal(socketOf(h, q), null, 'TIME-WAIT lasts timeWaitMs');
});

test('after close() (not end()), data from the peer gets a reset as for no socket, and the service never sees it', () => {
  const { h, svc, p } = setup();
  p.connect();
  svc.ctx?.close?.();
  assert.equal(socketOf(h, p)?.state, TcpState.FIN_WAIT_1);
  p.read();
  assert.equal(socketOf(h, p)?.state, TcpState.FIN_WAIT_2);
  // A duplicate of nothing new is no reason to reset: only new data is.
  p.send(Flag.ACK);
  assert.equal(tcpOnly(h.take()).length, 0);
  p.send(Flag.ACK | Flag.PSH, Buffer.from('too late'));
  const out = tcpOnly(h.take());
  assert.equal(out.length, 1);
  assert.equal(out[0]?.tcp?.flags, Flag.RST, 'RST without ACK (Linux tcp_v4_send_reset)');
  assert.equal(out[0]?.tcp?.seq, p.rcv >>> 0, 'seq = the segment\'s ACK');
  assert.equal(socketOf(h, p), null);
  assert.equal(svc.text, '');
  const closed = h.eventsOf('tcp.close').at(-1);
  assert.equal(closed !== undefined && 'reason' in closed ? closed.reason : undefined, 'data-after-close');
});
