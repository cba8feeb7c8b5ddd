/**
 * Virtual routing: Honeyd's tables and path walk, the link model (latency, jitter, loss, bandwidth,
 * RED) with a seeded RNG, the bounded delay queue, and the engine's ingress/egress through the
 * routers (time exceeded, unreachables, delivery, reply TTLs and delays).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TopologyConfig } from '../../daemon/src/config/topology';
import { SeededRandom } from '../../daemon/src/personality/model/prng';
import { DelayQueue } from '../../daemon/src/stack/routing/delay-queue';
import { LinkLoss, LinkModel } from '../../daemon/src/stack/routing/link-model';
import { PathOutcome, PathResult, PathWalker } from '../../daemon/src/stack/routing/path';
import { compileTopology, DEFAULT_HOP_LATENCY_MS, RouteKind } from '../../daemon/src/stack/routing/tables';
import { parseIp } from '../../daemon/src/wire/address';
import { Flag, icmpFrame, icmpMessage, ipNum, tcpFrame, udpFrame } from '../helpers/frames';
import { CLIENT_IP, CLIENT_MAC, Harness, linuxTemplate } from './stack-harness';

const R1 = '198.51.100.1';
const R2 = '203.0.113.1';
const R3 = '203.0.113.129';
const HOST = '203.0.113.140';

/** Honeyd's config.sample topology, remapped (see test/e2e/routing-topology.test.ts), plus an unreach. */
function sampleTopology(): TopologyConfig {
  return {
    entries: [{ router: R1, origin: 't:1' }],
    links: [
      { router: R1, network: '192.0.2.0/24', origin: 't:2' },
      { router: R2, network: '203.0.113.0/25', origin: 't:3' },
      { router: R3, network: '203.0.113.128/25', origin: 't:4' },
    ],
    routes: [
      { router: R1, network: '203.0.113.0/24', gateway: R2, latencyMs: 8, bandwidthBps: 10_000_000, origin: 't:5' },
      { router: R2, network: '203.0.113.128/25', gateway: R3, latencyMs: 7, lossPercent: 0.5, origin: 't:6' },
    ],
    unreach: [{ router: R2, network: '203.0.113.64/26', origin: 't:7' }],
  };
}

function walk(dst: string, ttl: number, random: () => number = () => 0.5, applyLinks = false, atMs = 0, bytes = 100): PathResult {
  const tables = compileTopology(sampleTopology());
  const out = new PathResult();
  new PathWalker(tables, random).inbound(tables.entryFor(parseIp(dst))!, parseIp(dst), ttl, bytes, atMs, applyLinks, out);
  return out;
}

const routerIp = (r: PathResult): string | undefined => (r.router === null ? undefined : [r.router.ip >>> 24, (r.router.ip >>> 16) & 255, (r.router.ip >>> 8) & 255, r.router.ip & 255].join('.'));

test('tables: add net gives the gateway a default route back with the same link attributes', () => {
  const t = compileTopology(sampleTopology());
  const r2 = t.byIp.get(parseIp(R2))!;
  const back = r2.routes.find((r) => r.prefix === 0)!;
  assert.equal(back.kind, RouteKind.NET);
  assert.equal(back.gateway?.ip, parseIp(R1));
  assert.equal(back.link?.latencyMs, 8);
  assert.equal(back.link?.bandwidthBps, 10_000_000);
  const r3back = t.byIp.get(parseIp(R3))!.routes.find((r) => r.prefix === 0)!;
  assert.equal(r3back.link?.loss, 0.005);
  // Longest prefix first: R2's unreach /26 sits inside its link /25.
  assert.deepEqual(r2.routes.map((r) => r.prefix), [26, 25, 25, 0]);
});

test('tables: a (router, next hop) pair keeps the first value of each attribute; Honeyd default latency 3 ms', () => {
  const t = compileTopology({
    entries: [{ router: R1, origin: 'x' }],
    links: [],
    unreach: [],
    routes: [
      { router: R1, network: '203.0.113.0/25', gateway: R2, origin: 'x' },
      { router: R1, network: '203.0.113.128/25', gateway: R2, latencyMs: 50, lossPercent: 2, origin: 'x' },
      { router: R1, network: '192.0.2.0/24', gateway: R3, latencyMs: 10, jitterMs: 0, origin: 'x' },
    ],
  });
  const r1 = t.byIp.get(parseIp(R1))!;
  const toR2 = r1.lookup(parseIp('203.0.113.200'))!.link!;
  assert.equal(toR2, r1.lookup(parseIp('203.0.113.5'))!.link, 'one link per pair');
  assert.equal(toR2.latencyMs, 50, 'first route gave no latency: the second one sets it');
  assert.equal(toR2.loss, 0.02);
  assert.equal(toR2.jitterMs, 5, 'jitter defaults to a tenth of the latency');
  const toR3 = r1.lookup(parseIp('192.0.2.9'))!.link!;
  assert.equal(toR3.jitterMs, 0);
  const plain = compileTopology({ entries: [{ router: R1, origin: 'x' }], links: [], unreach: [], routes: [{ router: R1, network: '192.0.2.0/24', gateway: R3, origin: 'x' }] });
  assert.equal(plain.byIp.get(parseIp(R1))!.routes[0]!.link!.latencyMs, DEFAULT_HOP_LATENCY_MS);
});

test('path: each router decrements TTL; the TTL runs out at the router it reaches with TTL 1', () => {
  assert.deepEqual([1, 2, 3].map((ttl) => {
    const r = walk(HOST, ttl);
    return [r.outcome, routerIp(r), r.ttl];
  }), [
    [PathOutcome.TIME_EXCEEDED, R1, 1],
    [PathOutcome.TIME_EXCEEDED, R2, 1],
    [PathOutcome.TIME_EXCEEDED, R3, 1],
  ]);
  const d = walk(HOST, 4);
  assert.deepEqual([d.outcome, routerIp(d), d.ttl, d.hops, d.atRouter], [PathOutcome.DELIVER, R3, 1, 3, false]);
  const far = walk(HOST, 64);
  assert.equal(far.ttl, 61);
});

test('path: routers themselves, the entry link (two hops), unreach, and destinations the topology does not route', () => {
  const r2 = walk(R2, 64);
  assert.deepEqual([r2.outcome, r2.atRouter, r2.ttl, r2.hops], [PathOutcome.DELIVER, true, 63, 1]);
  const lan = walk('192.0.2.10', 64);
  assert.deepEqual([lan.outcome, routerIp(lan), lan.ttl], [PathOutcome.DELIVER, R1, 63]);
  const unreach = walk('203.0.113.70', 64);
  assert.deepEqual([unreach.outcome, routerIp(unreach)], [PathOutcome.NET_UNREACH, R2]);
  assert.equal(walk('198.51.100.77', 64).outcome, PathOutcome.NOT_ROUTED);
});

test('path: replies lose one TTL per router back; a router skips its own decrement', () => {
  const tables = compileTopology(sampleTopology());
  const w = new PathWalker(tables, () => 0.5);
  const out = new PathResult();
  w.outbound(parseIp(HOST), parseIp(CLIENT_IP), 128, 60, 0, out);
  assert.deepEqual([out.outcome, routerIp(out), out.ttl, out.hops], [PathOutcome.EXIT, R1, 125, 3]);
  w.outbound(parseIp(R3), parseIp(CLIENT_IP), 255, 60, 0, out);
  assert.deepEqual([out.outcome, out.ttl], [PathOutcome.EXIT, 253]);
  w.outbound(parseIp(R2), parseIp(CLIENT_IP), 255, 60, 0, out);
  assert.equal(out.ttl, 254);
  w.outbound(parseIp(HOST), parseIp(CLIENT_IP), 2, 60, 0, out);
  assert.equal(out.outcome, PathOutcome.TTL_EXPIRED);
  w.outbound(parseIp('198.51.100.50'), parseIp(CLIENT_IP), 64, 60, 0, out);
  assert.equal(out.outcome, PathOutcome.NOT_ROUTED, 'a LAN address is not behind the routers');
});

test('path: latency and serialisation delay add up hop by hop; loss ends the walk', () => {
  const d = walk(HOST, 64, () => 0.5, true, 1000, 100);
  // 100 bytes at 10 Mbit/s = 0.08 ms, then 8 ms; then 7 ms (jitter draws 0.5 → ±0).
  assert.equal(d.outcome, PathOutcome.DELIVER);
  assert.ok(Math.abs(d.arrivalMs - (1000 + 0.08 + 8 + 7)) < 1e-9, String(d.arrivalMs));
  const lost = walk(HOST, 64, () => 0, true, 1000, 100);
  assert.equal(lost.outcome, PathOutcome.LOST, 'the R2 → R3 link loses everything when the RNG says 0');
  assert.equal(walk(R2, 64, () => 0, true).outcome, PathOutcome.DELIVER, 'the lossless first link delivers');
});

test('link: loss rate with a seeded RNG stays within three standard deviations', () => {
  const link = new LinkModel();
  link.loss = 0.1;
  const rng = new SeededRandom(7);
  const random = (): number => rng.nextFloat();
  const n = 20000;
  let lost = 0;
  for (let i = 0; i < n; i++) if (link.traverse(i * 10, 100, random) === LinkLoss.LOST) lost++;
  const sd = Math.sqrt(n * 0.1 * 0.9);
  assert.ok(Math.abs(lost - n * 0.1) <= 3 * sd, `${lost} lost of ${n}`);
  assert.equal(link.counters.lost, lost);
});

test('link: jitter varies the delay around the latency, never reorders, and averages out', () => {
  const link = new LinkModel();
  link.latencyMs = 20;
  link.jitterMs = 2;
  const rng = new SeededRandom(11);
  const random = (): number => rng.nextFloat();
  const delays: number[] = [];
  for (let i = 0; i < 5000; i++) delays.push(link.traverse(i * 10, 100, random) - i * 10);
  const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
  const sd = Math.sqrt(delays.reduce((a, b) => a + (b - mean) ** 2, 0) / delays.length);
  assert.ok(delays.every((x) => x >= 18 && x <= 22), 'within ± jitter');
  assert.ok(Math.abs(mean - 20) < 0.1, `mean ${mean}`);
  assert.ok(sd > 1, `spread ${sd} (uniform ± 2 ms: about 1.15)`);
  // Back-to-back packets: arrivals keep their order despite the jitter.
  let last = 0;
  for (let i = 0; i < 1000; i++) {
    const at = link.traverse(100_000, 100, random);
    assert.ok(at >= last);
    last = at;
  }
});

test('link: bandwidth queues packets; drop between acts on the queueing delay (RED)', () => {
  const link = new LinkModel();
  link.bandwidthBps = 1_000_000;
  link.dropLowMs = 5;
  link.dropHighMs = 15;
  const random = (): number => 0.5;
  // 1250 bytes at 1 Mbit/s: 10 ms each.
  assert.equal(link.traverse(0, 1250, random), 10);
  assert.equal(link.traverse(0, 1250, random), 20, 'waits for the first (queue delay 10 ms: p = 0.5, RNG 0.5 keeps it)');
  assert.equal(link.traverse(0, 1250, random), LinkLoss.QUEUE_DROP, 'queue delay 20 ms ≥ 15: always dropped');
  assert.equal(link.traverse(30, 1250, random), 40, 'an idle link again sends at once');
  assert.equal(link.counters.queueDropped, 1);
});

test('delay queue: frames come out at their time, in order, as copies', () => {
  const q = new DelayQueue<string>(8, 64, 100);
  const f = (b: number): Buffer => Buffer.alloc(20, b);
  const src = f(5);
  assert.ok(q.enqueue(src, 20, 5.5, 1, 'five', 0));
  src.fill(9); // the queue holds its own copy
  assert.ok(q.enqueue(f(3), 20, 3.2, 1, 'three-a', 0));
  assert.ok(q.enqueue(f(3), 20, 3.9, 1, 'three-b', 0));
  assert.ok(q.enqueue(f(10), 20, 10, 2, 'ten', 0));
  assert.equal(q.nextDueMs(), 3);
  const out: string[] = [];
  const take = (frame: Buffer, length: number, tag: number, ref: string | null): void => { out.push(`${ref}:${frame[0]}:${length}:${tag}`); };
  assert.equal(q.runDue(2.9, take), 0);
  q.runDue(4, take);
  assert.deepEqual(out, ['three-a:3:20:1', 'three-b:3:20:1']);
  q.runDue(9.99, take);
  assert.deepEqual(out.slice(2), ['five:5:20:1']);
  assert.equal(q.nextDueMs(), 10);
  q.runDue(50, take);
  assert.deepEqual(out.slice(3), ['ten:10:20:2']);
  assert.equal(q.size, 0);
  assert.equal(q.nextDueMs(), Infinity);
});

test('delay queue: a frame enqueued from a late drain, due within the current millisecond, is not skipped', () => {
  const q = new DelayQueue<string>(4, 64, 100);
  const f = Buffer.alloc(20);
  assert.ok(q.enqueue(f, 20, 10, 1, 'a', 0));
  const out: string[] = [];
  // The drain runs 5 ms late; the reply to `a` is due half a millisecond after it.
  q.runDue(15.2, (_frame, _len, _tag, ref) => {
    out.push(ref as string);
    if (ref === 'a') assert.ok(q.enqueue(f, 20, 15.7, 1, 'reply', 15.2));
  });
  q.runDue(16, (_frame, _len, _tag, ref) => { out.push(ref as string); });
  assert.deepEqual(out, ['a', 'reply']);
  assert.equal(q.size, 0);
});

test('delay queue: a full pool, a delay beyond the span and an oversize frame are refused and counted', () => {
  const q = new DelayQueue<null>(2, 64, 100);
  const f = Buffer.alloc(64);
  assert.ok(q.enqueue(f, 64, 10, 1, null, 0));
  assert.ok(q.enqueue(f, 64, 10, 1, null, 0));
  assert.equal(q.enqueue(f, 64, 10, 1, null, 0), false);
  assert.equal(q.counters.poolFull, 1);
  assert.equal(q.runDue(10, () => {}), 2);
  assert.equal(q.enqueue(f, 64, 150, 1, null, 20), false, '130 ms > span');
  assert.equal(q.counters.tooLong, 1);
  assert.equal(q.enqueue(Buffer.alloc(65), 65, 30, 1, null, 20), false);
  assert.equal(q.counters.tooLarge, 1);
  // The pool is whole again after the drain; drainAll hands back what is not yet due.
  assert.ok(q.enqueue(f, 64, 90, 1, null, 20));
  assert.ok(q.enqueue(f, 64, 60, 1, null, 20));
  const dues: number[] = [];
  assert.equal(q.drainAll((_f, _l, _t, _r, due) => { dues.push(due); }), 2);
  assert.deepEqual(dues, [60, 90]);
  // A frame enqueued late (due already past) comes out on the next run.
  assert.ok(q.enqueue(f, 64, 5, 1, null, 200));
  assert.equal(q.runDue(200, () => {}), 1);
});

// ---- through the engine ----

function routedHarness(extra: Partial<TopologyConfig> = {}, withDefault = false, limits = {}): Harness {
  const templates = [linuxTemplate('linux'), linuxTemplate('router')];
  if (withDefault) templates.push(linuxTemplate('default'));
  const topo = { ...sampleTopology(), ...extra };
  // No loss in these tests: the engine's RNG is fixed at 0.5.
  topo.routes = topo.routes.map((r) => ({ ...r, lossPercent: undefined }));
  const h = new Harness({
    templates,
    hosts: [
      { address: R1, template: 'router' },
      { address: R2, template: 'router' },
      { address: R3, template: 'router' },
      { address: HOST, template: 'linux' },
      { address: '198.51.100.10', template: 'linux' },
    ],
    topology: topo,
    limits,
  });
  h.take();
  return h;
}

test('engine: only the entry router and LAN decoys are bound on the LAN; the rest answer no ARP', () => {
  const h = routedHarness();
  assert.deepEqual([...h.parts.table.hosts()].map((x) => x.ipText).sort(), ['198.51.100.1', '198.51.100.10']);
});

test('engine: a TTL that runs out gets time exceeded from that router, shaped by its personality, after the path delay', () => {
  const h = routedHarness();
  const entryMac = h.macOf(R1);
  h.feed(udpFrame(entryMac, CLIENT_MAC, CLIENT_IP, HOST, 40000, 33434, Buffer.alloc(32), { ttl: 2, id: 0x4242 }));
  assert.equal(h.take().length, 0, 'the probe is still on the R1 → R2 link');
  h.advance(15, 1);
  assert.equal(h.take().length, 0, 'and the answer on its way back');
  h.advance(2, 1);
  const [te, ...rest] = h.take();
  assert.equal(rest.length, 0);
  assert.ok(te?.ip && te.icmp, 'an ICMP error');
  assert.deepEqual([te.icmp.type, te.icmp.code, te.icmp.rest], [11, 0, 0]);
  assert.equal(te.ip.src, R2);
  assert.equal(te.src, entryMac, 'leaves with the entry router\'s MAC');
  assert.equal(te.dst, CLIENT_MAC);
  // Linux-like personality: TTL 64, TOS 0xc0, no DF; one router (R1) on the way back.
  assert.deepEqual([te.ip.ttl, te.ip.tos, te.ip.df], [63, 0xc0, false]);
  const quoted = te.icmp.data;
  assert.equal(quoted[8], 1, 'the quoted header carries the TTL that reached the router');
  assert.equal(quoted.readUInt16BE(4), 0x4242);
  assert.equal(quoted.readUInt32BE(16), ipNum(HOST));
  assert.equal(quoted.length, 20 + 8 + 32, 'the whole datagram quoted (U1 IPL 576)');
  const ev = h.eventsOf('route');
  assert.equal(ev.length, 1);
  assert.deepEqual(ev[0], { kind: 'route', time: ev[0]!.time, srcIp: CLIENT_IP, dstIp: HOST, router: R2, answer: 'time-exceeded', ttl: 1 });
});

test('engine: the destination answers as a normal decoy, its reply TTL lowered by the routers back', () => {
  const h = routedHarness();
  h.feed(tcpFrame(h.macOf(R1), CLIENT_MAC, CLIENT_IP, HOST, { srcPort: 40000, dstPort: 80, seq: 1, flags: Flag.SYN }, { ttl: 64 }));
  h.advance(40, 1);
  const [synAck] = h.take();
  assert.ok(synAck?.tcp && synAck.ip);
  assert.equal(synAck.tcp.flags & (Flag.SYN | Flag.ACK), Flag.SYN | Flag.ACK);
  assert.deepEqual([synAck.ip.src, synAck.ip.ttl, synAck.src], [HOST, 61, h.macOf(R1)]);
  const pkt = h.eventsOf('tcp.packet')[0] as { dstIp: string; answer: string } | undefined;
  assert.deepEqual([pkt?.dstIp, pkt?.answer], [HOST, 'syn-ack']);
});

test('engine: unreach routes answer net unreachable, a missing host host unreachable; with `default` the address answers', () => {
  const h = routedHarness();
  const mac = h.macOf(R1);
  const echo = icmpMessage(8, 0, 0x10001, Buffer.alloc(16));
  h.feed(icmpFrame(mac, CLIENT_MAC, CLIENT_IP, '203.0.113.70', echo));
  h.feed(icmpFrame(mac, CLIENT_MAC, CLIENT_IP, '203.0.113.150', echo));
  h.advance(40, 1);
  const got = h.take().map((f) => [f.ip?.src, f.icmp?.type, f.icmp?.code]);
  assert.deepEqual(got, [[R2, 3, 0], [R3, 3, 1]]);

  const d = routedHarness({}, true);
  d.feed(icmpFrame(d.macOf(R1), CLIENT_MAC, CLIENT_IP, '203.0.113.150', echo));
  d.advance(40, 1);
  const [reply] = d.take();
  assert.deepEqual([reply?.ip?.src, reply?.icmp?.type, reply?.ip?.ttl], ['203.0.113.150', 0, 61]);
});

test('engine: frames the topology does not take are left alone; LAN decoys answer at once', () => {
  const h = routedHarness();
  const before = h.engine.counters.notForUs;
  h.feed(icmpFrame(h.macOf(R1), CLIENT_MAC, CLIENT_IP, '198.51.100.77', icmpMessage(8, 0, 1, Buffer.alloc(8))));
  h.feed(icmpFrame('02:00:5e:00:00:42', CLIENT_MAC, CLIENT_IP, HOST, icmpMessage(8, 0, 1, Buffer.alloc(8))));
  h.advance(40, 1);
  assert.equal(h.take().length, 0);
  assert.equal(h.engine.counters.notForUs, before + 2);
  h.feed(icmpFrame(h.macOf('198.51.100.10'), CLIENT_MAC, CLIENT_IP, '198.51.100.10', icmpMessage(8, 0, 1, Buffer.alloc(8))));
  const [lan] = h.take();
  assert.deepEqual([lan?.ip?.src, lan?.ip?.ttl, lan?.icmp?.type], ['198.51.100.10', 64, 0]);
});

test('engine: no time exceeded about an ICMP error', () => {
  const h = routedHarness();
  const err = icmpMessage(3, 3, 0, Buffer.alloc(28));
  h.feed(icmpFrame(h.macOf(R1), CLIENT_MAC, CLIENT_IP, HOST, err, { ttl: 1 }));
  h.advance(40, 1);
  assert.equal(h.take().length, 0);
  assert.equal((h.eventsOf('route')[0] as { answer: string } | undefined)?.answer, 'none');
});

test('engine: a full delay queue drops and counts, and the rest still arrive', () => {
  const h = routedHarness({}, false, { maxDelayedFrames: 2 });
  const mac = h.macOf(R1);
  for (let i = 0; i < 5; i++) h.feed(icmpFrame(mac, CLIENT_MAC, CLIENT_IP, HOST, icmpMessage(8, 0, 0x10000 + i, Buffer.alloc(8))));
  const drops = h.eventsOf('drop').filter((e) => (e as { reason: string }).reason === 'delay-queue-full');
  assert.equal(drops.length, 3);
  assert.equal(h.engine.routing?.counters.delayQueueFull, 3);
  h.advance(60, 1);
  assert.equal(h.take().filter((f) => f.icmp?.type === 0).length, 2);
});

test('engine: mutated frames through the topology never throw, and everything sent is well formed', () => {
  const h = routedHarness({}, true, { maxDelayedFrames: 64 });
  const mac = h.macOf(R1);
  const rng = new SeededRandom(0x70b0);
  const targets = [R2, R3, HOST, '203.0.113.70', '203.0.113.150', '192.0.2.10', '198.51.100.77'];
  const seeds: Buffer[] = [];
  for (const dst of targets) {
    for (const ttl of [1, 2, 3, 4, 64]) {
      seeds.push(udpFrame(mac, CLIENT_MAC, CLIENT_IP, dst, 40000, 33434, Buffer.alloc(24), { ttl }));
      seeds.push(tcpFrame(mac, CLIENT_MAC, CLIENT_IP, dst, { srcPort: 40001, dstPort: 80, seq: 9, flags: Flag.SYN }, { ttl }));
      seeds.push(icmpFrame(mac, CLIENT_MAC, CLIENT_IP, dst, icmpMessage(8, 0, 0x10001, Buffer.alloc(16)), { ttl }));
    }
  }
  for (let i = 0; i < 20000; i++) {
    const frame = Buffer.from(rng.pick(seeds));
    const flips = rng.int(0, 3);
    // Mutate past the Ethernet header mostly, so frames still reach the routers.
    for (let k = 0; k < flips; k++) frame[rng.int(14, frame.length - 1)] = rng.int(0, 255);
    h.feed(frame);
    if (i % 50 === 0) h.advance(rng.int(0, 20), 1);
  }
  h.advance(100, 1);
  for (const f of h.take()) assert.deepEqual(f.problems, [], 'a malformed frame was sent');
  assert.ok((h.engine.routing?.counters.routed ?? 0) > 2000, `routed ${h.engine.routing?.counters.routed}`);
});
