import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DecoyEvent } from '../../daemon/src/events/event';
import { FanoutSink, type RecordSink } from '../../daemon/src/events/fanout-sink';
import { PacketTally } from '../../daemon/src/events/packet-tally';
import { parseIp } from '../../daemon/src/wire/address';

/** An Ethernet header: dst 00:1b:21:aa:bb:01, src 02:00:00:00:00:0N. */
function frame(n: number): Buffer {
  return Buffer.from([0x00, 0x1b, 0x21, 0xaa, 0xbb, 0x01, 0x02, 0, 0, 0, 0, n, 0x08, 0x00]);
}

const SRC = parseIp('203.0.113.7');
const DST = parseIp('198.51.100.10');

test('alike packets of one interval fold into one row with a count; different ones do not', () => {
  const out: DecoyEvent[] = [];
  const t = new PacketTally((e) => out.push(e), 64);
  for (let k = 0; k < 1000; k++) t.tcp(frame(1), SRC, DST, 40000 + k, 80, 0x02, 'open', 'syn-ack', 5000 + k);
  t.tcp(frame(1), SRC, DST, 1, 81, 0x02, 'closed', 'rst-ack', 6000);
  t.tcp(frame(1), SRC, DST, 1, 80, 0x01, 'open', 'none', 6001); // FIN to the same port: its own row
  t.udp(frame(2), SRC, DST, 53, 161, 40, 'closed', 'port-unreachable', 6002);
  t.icmp(frame(3), SRC, DST, 8, 0, 'echo-reply', 6003);
  t.icmp(frame(3), SRC, DST, 13, 0, 'timestamp-reply', 6004);
  assert.equal(t.size, 6);
  assert.equal(out.length, 0, 'nothing leaves before drain');
  t.drain();
  assert.equal(t.size, 0);
  assert.equal(out.length, 6);
  assert.deepEqual(out[0], {
    kind: 'tcp.packet', time: 5000, srcMac: '02:00:00:00:00:01', dstMac: '00:1b:21:aa:bb:01', srcIp: '203.0.113.7', dstIp: '198.51.100.10',
    answer: 'syn-ack', packets: 1000, lastTime: 5999, srcPort: 40000, dstPort: 80, flags: 'S', state: 'open',
  });
  assert.equal((out[2] as { flags: string }).flags, 'F');
  assert.deepEqual(out[3], {
    kind: 'udp.packet', time: 6002, srcMac: '02:00:00:00:00:02', dstMac: '00:1b:21:aa:bb:01', srcIp: '203.0.113.7', dstIp: '198.51.100.10',
    answer: 'port-unreachable', packets: 1, lastTime: 6002, srcPort: 53, dstPort: 161, length: 40, state: 'closed',
  });
  assert.deepEqual(out.slice(4).map((e) => [(e as { type: number }).type, (e as { code: number }).code, (e as { answer: string }).answer]), [[8, 0, 'echo-reply'], [13, 0, 'timestamp-reply']]);
  // The next interval starts empty.
  t.tcp(frame(1), SRC, DST, 40000, 80, 0x02, 'open', 'syn-ack', 7000);
  t.drain();
  assert.equal((out[6] as { packets: number }).packets, 1);
  assert.equal(t.packets, 1006);
  assert.equal(t.rows, 7);
});

test('a full table is drained early: nothing is lost, nothing grows', () => {
  const out: DecoyEvent[] = [];
  const t = new PacketTally((e) => out.push(e), 16);
  for (let port = 1; port <= 100; port++) for (let k = 0; k < 3; k++) t.tcp(frame(1), SRC, DST, 5555, port, 0x02, 'closed', 'rst-ack', port);
  assert.ok(t.size <= 16);
  t.drain();
  let total = 0;
  for (const e of out) total += (e as { packets: number }).packets;
  assert.equal(total, 300);
  assert.equal(new Set(out.map((e) => (e as { dstPort: number }).dstPort)).size, 100);
});

test('the fan-out feeds counting sinks from the tally, others per event; observers count once', () => {
  const counted: DecoyEvent[] = [];
  const each: DecoyEvent[] = [];
  const observed: number[] = [];
  const store: RecordSink = { countsPackets: true, wants: (k) => k !== 'tcp.packet', write: (e) => counted.push(e) };
  const log: RecordSink = { wants: (k) => k === 'tcp.packet', write: (e) => each.push(e) };
  const fan = new FanoutSink([store, log]);
  fan.observe({ wants: () => false, write: (e) => { if (e.kind === 'tcp.packet') observed.push(e.packets ?? 1); } });
  assert.ok(fan.packetCounts !== undefined);
  for (let k = 0; k < 10; k++) {
    fan.packetCounts.tcp(frame(1), SRC, DST, 40000 + k, 22, 0x02, 'open', 'syn-ack', k);
    fan.emit({ kind: 'tcp.packet', time: k, srcMac: '02:00:00:00:00:01', dstMac: '00:1b:21:aa:bb:01', srcIp: '203.0.113.7', dstIp: '198.51.100.10', srcPort: 40000 + k, dstPort: 22, flags: 'S', state: 'open', answer: 'syn-ack' });
  }
  fan.drainCounts();
  assert.equal(each.length, 10);
  assert.equal(counted.length, 1);
  assert.equal((counted[0] as { packets: number }).packets, 10);
  assert.deepEqual(observed, [10], 'metrics see the folded row, not the ten logged events as well');
  assert.equal(new FanoutSink([log]).packetCounts, undefined, 'no counting sink: the frame path counts nothing');
});

test('drops fold by reason and addresses; an unknown address stays absent', () => {
  const out: DecoyEvent[] = [];
  const t = new PacketTally((e) => out.push(e), 64);
  for (let k = 0; k < 500; k++) t.drop(SRC, -1, 'per-source-limit', 100 + k);
  t.drop(SRC, DST, 'bad-checksum', 700);
  t.drop(-1, -1, 'runt', 701);
  t.drain();
  assert.deepEqual(out, [
    { kind: 'drop', time: 100, reason: 'per-source-limit', packets: 500, lastTime: 599, srcIp: '203.0.113.7' },
    { kind: 'drop', time: 700, reason: 'bad-checksum', packets: 1, lastTime: 700, srcIp: '203.0.113.7', dstIp: '198.51.100.10' },
    { kind: 'drop', time: 701, reason: 'runt', packets: 1, lastTime: 701 },
  ]);
});
