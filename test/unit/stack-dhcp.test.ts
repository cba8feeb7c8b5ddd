/**
 * The DHCP client state machine on a fake clock: every message it sends is decoded from the bytes
 * it wrote, and the "server" answers with messages built by the same writer a server would use.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DecoyEvent, EventSink } from '../../daemon/src/events/event';
import { DhcpClient, DEFAULT_DHCP_TIMING, type DhcpClientIo, type DhcpClientSpec } from '../../daemon/src/stack/dhcp/dhcp-client';
import { clientIdFor, dhcpProfile } from '../../daemon/src/stack/dhcp/profiles';
import { ipToString, parseIp } from '../../daemon/src/wire/address';
import { BootpOp, DhcpMessageType as T, DhcpOption as O, DhcpView, DhcpWriter } from '../../daemon/src/wire/dhcp';
import { Malformed } from '../../daemon/src/wire/malformed';

const MAC = Buffer.from('3863bbf00921', 'hex');
const SERVER = parseIp('198.51.100.2');
const SERVER_MAC = Buffer.from('02005e0a0002', 'hex');
const OFFERED = parseIp('198.51.100.105');
const T0 = 1_000_000;

interface Sent {
  at: number;
  type: number;
  xid: number;
  ciaddr: number;
  srcIp: string;
  dstIp: string;
  dstMac: string | null;
  ttl: number;
  flags: number;
  secs: number;
  options: number[];
  requested: number;
  serverId: number;
  prl: number[];
}

class Rig implements DhcpClientIo {
  readonly writer = new DhcpWriter(Buffer.alloc(1024), 0);
  readonly sent: Sent[] = [];
  readonly bound: number[] = [];
  readonly released: [number, string][] = [];
  readonly log: DecoyEvent[] = [];
  readonly events: EventSink = { wants: () => true, emit: (e) => { this.log.push(e); } };
  now = T0;
  client: DhcpClient;
  private readonly view = new DhcpView();
  private seed = 0x2545f491;
  /** A seeded generator: distinct xids, repeatable runs. */
  private rnd = (): number => {
    this.seed = (Math.imul(this.seed, 1664525) + 1013904223) >>> 0;
    return this.seed / 0x100000000;
  };

  constructor(family: Parameters<typeof dhcpProfile>[0] = 'windows-10', random?: () => number) {
    const profile = dhcpProfile(family);
    const spec: DhcpClientSpec = { mac: MAC, template: 'win', hostname: 'DESKTOP-AB12CD3', profile, clientId: clientIdFor(profile, MAC) };
    this.client = new DhcpClient(spec, this, random ?? this.rnd);
  }

  transmit(_c: DhcpClient, length: number, srcIp: number, dstIp: number, dstMac: Buffer | null, ttl: number): void {
    const v = this.view;
    assert.equal(v.wrap(this.writer.buf, 0, length), Malformed.OK, 'the client writes well-formed messages');
    const options: number[] = [];
    for (let p = 240; this.writer.buf[p] !== 255; p += 2 + this.writer.buf[p + 1]) options.push(this.writer.buf[p]);
    this.sent.push({
      at: this.now, type: v.messageType, xid: v.xid, ciaddr: v.ciaddr, srcIp: ipToString(srcIp), dstIp: ipToString(dstIp),
      dstMac: dstMac === null ? null : dstMac.toString('hex'), ttl, flags: v.flags, secs: v.secs, options,
      requested: v.u32Option(O.REQUESTED_IP), serverId: v.u32Option(O.SERVER_ID),
      prl: [...(v.optionBytes(O.PARAMETER_REQUEST_LIST) ?? [])],
    });
    assert.equal(v.op, BootpOp.REQUEST);
  }

  bindAddress(_c: DhcpClient, ip: number): void { this.bound.push(ip); }
  releaseAddress(ip: number, _now: number, reason: string): void { this.released.push([ip, reason]); }

  /** Advance the clock in 100 ms ticks, as the engine does. */
  advance(ms: number): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now = Math.min(end, this.now + 100);
      this.client.tick(this.now);
    }
  }

  last(): Sent {
    const s = this.sent[this.sent.length - 1];
    assert.ok(s, 'something was sent');
    return s;
  }

  /** A server reply to the client's current transaction. Returns whether the client took it. */
  reply(type: number, opts: { yiaddr?: number; lease?: number; t1?: number; t2?: number; serverId?: number | null; xid?: number; chaddr?: Buffer } = {}): boolean {
    const frame = Buffer.alloc(1024);
    SERVER_MAC.copy(frame, 6);
    const w = new DhcpWriter(frame, 14);
    w.begin({ op: BootpOp.REPLY, xid: opts.xid ?? this.client.transactionId, secs: 0, flags: 0, ciaddr: 0, yiaddr: opts.yiaddr ?? OFFERED, siaddr: SERVER, giaddr: 0, chaddr: opts.chaddr ?? MAC });
    w.optionU8(O.MESSAGE_TYPE, type);
    if (opts.serverId !== null) w.optionU32(O.SERVER_ID, opts.serverId ?? SERVER);
    if (type !== T.NAK && opts.lease !== 0) w.optionU32(O.LEASE_TIME, opts.lease ?? 120);
    if (opts.t1 !== undefined) w.optionU32(O.RENEWAL_TIME, opts.t1);
    if (opts.t2 !== undefined) w.optionU32(O.REBINDING_TIME, opts.t2);
    const len = w.end();
    const v = new DhcpView();
    assert.equal(v.wrap(frame, 14, len), Malformed.OK);
    return this.client.handle(v, frame, 6, this.now);
  }

  kinds(): string[] { return this.log.map((e) => e.kind); }

  /** Start and run DISCOVER/OFFER/REQUEST/ACK and the probe to BOUND. */
  lease(opts: { lease?: number; t1?: number; t2?: number } = {}): void {
    this.client.start(this.now);
    this.advance(1000);
    assert.equal(this.last().type, T.DISCOVER);
    assert.ok(this.reply(T.OFFER));
    assert.equal(this.last().type, T.REQUEST);
    assert.ok(this.reply(T.ACK, opts));
    assert.equal(this.client.state, 'probing');
    assert.deepEqual(this.bound, [OFFERED]);
    this.client.onAddressActive(this.now);
    assert.equal(this.client.state, 'bound');
  }
}

test('dhcp_client_full_lifecycle_bound_renewing_rebinding_expiry', () => {
  const r = new Rig();
  r.client.start(r.now);
  assert.equal(r.sent.length, 0, 'waits its initial delay first');
  r.advance(1000);
  const discover = r.last();
  assert.equal(discover.type, T.DISCOVER);
  assert.deepEqual([discover.srcIp, discover.dstIp, discover.dstMac, discover.ttl], ['0.0.0.0', '255.255.255.255', null, 128]);
  assert.deepEqual(discover.options, [53, 61, 12, 60, 55], 'Windows writes 53,61,(50),12,60,55');
  assert.deepEqual(discover.prl, [1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252]);

  assert.equal(r.reply(T.OFFER), true);
  const request = r.last();
  assert.equal(request.type, T.REQUEST);
  assert.equal(request.xid, discover.xid, 'REQUEST keeps the DISCOVER xid');
  assert.deepEqual([request.requested, request.serverId, request.ciaddr], [OFFERED, SERVER, 0]);
  assert.deepEqual(request.options, [53, 61, 50, 54, 12, 81, 60, 55]);
  assert.equal(request.dstIp, '255.255.255.255');

  const requestedAt = r.now;
  r.advance(200);
  assert.equal(r.reply(T.ACK, { lease: 120, t1: 20, t2: 100 }), true);
  assert.equal(r.client.state, 'probing');
  r.advance(700);
  r.client.onAddressActive(r.now);
  assert.equal(r.client.state, 'bound');
  const lease = r.log.find((e) => e.kind === 'dhcp.lease');
  assert.ok(lease && lease.kind === 'dhcp.lease');
  assert.deepEqual([lease.address, lease.mac, lease.server, lease.leaseTime, lease.hostname], ['198.51.100.105', '38:63:bb:f0:09:21', '198.51.100.2', 120, 'DESKTOP-AB12CD3']);

  // T1 counts from the REQUEST (RFC 2131 4.4.1): 20 s after it, a unicast REQUEST to the server.
  const before = r.sent.length;
  r.advance(requestedAt + 20_000 - 100 - r.now);
  assert.equal(r.sent.length, before, 'nothing before T1');
  r.advance(100);
  const renew = r.last();
  assert.equal(r.client.state, 'renewing');
  assert.equal(renew.at, requestedAt + 20_000);
  assert.deepEqual([renew.type, renew.ciaddr, renew.requested, renew.serverId], [T.REQUEST, OFFERED, -1, -1], 'RENEWING: ciaddr set, no 50 or 54');
  assert.deepEqual([renew.srcIp, renew.dstIp, renew.dstMac], ['198.51.100.105', '198.51.100.2', SERVER_MAC.toString('hex')]);
  assert.notEqual(renew.xid, discover.xid);

  // No answer: next try after half the time left to T2 (40 s) but at least 60 s: at 80 s, unicast again.
  r.advance(59_900);
  assert.equal(r.sent.length, before + 1, 'no retransmission before a minute has passed');
  r.advance(100);
  assert.equal(r.last().at, requestedAt + 80_000);
  assert.equal(r.last().dstIp, '198.51.100.2');
  assert.equal(r.last().xid, renew.xid, 'a retransmission keeps the xid');
  // Then, 20 s later (the minimum would pass T2), T2 itself: REBINDING, broadcast.
  r.advance(19_900);
  assert.equal(r.client.state, 'renewing');
  r.advance(100);
  const rebind = r.last();
  assert.equal(r.client.state, 'rebinding');
  assert.equal(rebind.at, requestedAt + 100_000);
  assert.deepEqual([rebind.ciaddr, rebind.srcIp, rebind.dstIp, rebind.dstMac], [OFFERED, '198.51.100.105', '255.255.255.255', null]);
  assert.notEqual(rebind.xid, renew.xid, 'REBINDING is a new transaction');

  // Still nothing: at expiry (120 s) the address is given up and the client starts over.
  r.advance(19_900);
  assert.deepEqual(r.released, []);
  r.advance(100);
  assert.deepEqual(r.released, [[OFFERED, 'dhcp-lost']]);
  const lost = r.log.find((e) => e.kind === 'dhcp.lost');
  assert.ok(lost && lost.kind === 'dhcp.lost' && lost.reason === 'expired');
  r.advance(100);
  const again = r.last();
  assert.equal(again.type, T.DISCOVER);
  assert.equal(again.requested, OFFERED, 'asks for its previous address again');
  assert.deepEqual(again.options, [53, 61, 50, 12, 60, 55]);
  assert.deepEqual(r.kinds(), ['dhcp.lease', 'dhcp.lost']);
});

test('dhcp_client_renews_when_acked_and_defaults_t1_t2_from_the_lease', () => {
  const r = new Rig('linux-dhclient');
  r.lease({ lease: 3600 });
  const requestedAt = r.sent[r.sent.length - 1].at;
  r.advance(requestedAt + 1_800_000 - r.now);
  const renew = r.last();
  assert.equal(renew.at, requestedAt + 1_800_000, 'T1 = 0.5 × lease');
  assert.equal(renew.ttl, 64, 'dhclient unicasts with TTL 64');
  assert.equal(r.reply(T.ACK, { lease: 3600 }), true);
  assert.equal(r.client.state, 'bound');
  assert.deepEqual(r.kinds(), ['dhcp.lease', 'dhcp.renew']);
  // A stray ACK of a finished transaction changes nothing.
  assert.equal(r.reply(T.ACK, { lease: 3600, xid: renew.xid ^ 1 }), false);
  // T2 = 0.875 × lease when the server gives neither T1 nor T2: renew ignored → rebinding at 3150 s.
  const renewedAt = r.now;
  r.advance(1_800_000);
  assert.equal(r.client.state, 'renewing');
  r.advance(renewedAt + 3_150_000 - r.now);
  assert.equal(r.client.state, 'rebinding');
  assert.deepEqual(r.released, []);
});

test('dhcp_client_discover_backoff_doubles_to_64_seconds_with_jitter', () => {
  let n = 0;
  const values = [0.5, 0.0, 0.9, 0.1, 0.5, 1.0 - 1e-9, 0.5, 0.5, 0.5, 0.5];
  const r = new Rig('windows-10', () => values[n++ % values.length]);
  r.client.start(r.now);
  r.advance(200_000);
  const times = r.sent.filter((s) => s.type === T.DISCOVER).map((s) => s.at);
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  // Bases 4, 8, 16, 32, 64, 64 s; each within ±1 s (rounded up to the 100 ms tick).
  const bases = [4000, 8000, 16000, 32000, 64000, 64000];
  gaps.slice(0, bases.length).forEach((gap, i) => assert.ok(Math.abs(gap - bases[i]) <= 1100, `gap ${i}: ${gap}`));
  assert.ok(new Set(gaps).size > 1, 'jitter makes the gaps differ');
  assert.ok(r.sent.every((s) => s.xid === r.sent[0].xid), 'retransmissions keep the xid');
  assert.deepEqual(r.sent.map((s) => s.secs).slice(0, 3), [0, 4, 12], 'secs counts from the first DISCOVER');
});

test('dhcp_client_gives_up_requesting_and_starts_over', () => {
  const r = new Rig();
  r.client.start(r.now);
  r.advance(1000);
  r.reply(T.OFFER);
  r.advance(120_000);
  const types = r.sent.map((s) => s.type);
  assert.deepEqual(types.slice(0, 6), [T.DISCOVER, T.REQUEST, T.REQUEST, T.REQUEST, T.REQUEST, T.DISCOVER], `${types}`);
  assert.equal(DEFAULT_DHCP_TIMING.requestAttempts, 4);
});

test('dhcp_client_nak_in_requesting_restarts_and_nak_in_renewing_loses_the_lease', () => {
  const r = new Rig();
  r.client.start(r.now);
  r.advance(1000);
  r.reply(T.OFFER);
  // A NAK from another server (its own id) is not ours to obey.
  assert.equal(r.reply(T.NAK, { serverId: parseIp('198.51.100.3') }), false);
  assert.equal(r.reply(T.NAK), true);
  assert.equal(r.client.state, 'init');
  const nakAt = r.now;
  r.advance(3000);
  const next = r.sent.filter((s) => s.type === T.DISCOVER).pop();
  assert.ok(next && next.at >= nakAt + 1000 && next.at <= nakAt + 1100, 'restart after the NAK back-off');

  const s = new Rig();
  s.lease({ lease: 120, t1: 20, t2: 100 });
  s.advance(20_000);
  assert.equal(s.client.state, 'renewing');
  assert.equal(s.reply(T.NAK), true);
  assert.deepEqual(s.released, [[OFFERED, 'dhcp-lost']]);
  assert.equal(s.client.state, 'init');
  const lost = s.log.find((e) => e.kind === 'dhcp.lost');
  assert.ok(lost && lost.kind === 'dhcp.lost' && lost.reason === 'nak');
});

test('dhcp_client_declines_a_conflicting_address_and_waits_ten_seconds', () => {
  const r = new Rig();
  r.client.start(r.now);
  r.advance(1000);
  r.reply(T.OFFER);
  r.reply(T.ACK);
  assert.equal(r.client.state, 'probing');
  const xid = r.client.transactionId;
  r.client.onAddressConflict('02:00:5e:00:00:99', r.now);
  const decline = r.last();
  assert.equal(decline.type, T.DECLINE);
  assert.deepEqual([decline.xid, decline.requested, decline.serverId, decline.ciaddr], [xid, OFFERED, SERVER, 0]);
  assert.deepEqual([decline.srcIp, decline.dstIp], ['0.0.0.0', '255.255.255.255']);
  assert.deepEqual(decline.prl, [], 'a DECLINE carries no parameter list');
  const lost = r.log.find((e) => e.kind === 'dhcp.lost');
  assert.ok(lost && lost.kind === 'dhcp.lost' && lost.reason === 'conflict' && lost.address === '198.51.100.105');
  assert.equal(r.client.state, 'init');
  const declinedAt = r.now;
  r.advance(9900);
  assert.equal(r.last().type, T.DECLINE, 'nothing for ten seconds');
  r.advance(200);
  assert.equal(r.last().type, T.DISCOVER);
  assert.ok(r.last().at >= declinedAt + 10_000);

  // Conflict while bound (another host took the address): declined too.
  const b = new Rig();
  b.lease();
  b.client.onAddressConflict('02:00:5e:00:00:99', b.now);
  assert.equal(b.last().type, T.DECLINE);
  assert.equal(b.client.state, 'init');
});

test('dhcp_client_releases_on_stop', () => {
  const r = new Rig('linux-dhclient');
  r.lease();
  r.advance(5000);
  r.client.stop(r.now);
  const release = r.last();
  assert.equal(release.type, T.RELEASE);
  assert.deepEqual([release.ciaddr, release.serverId, release.srcIp, release.dstIp, release.dstMac], [OFFERED, SERVER, '198.51.100.105', '198.51.100.2', SERVER_MAC.toString('hex')]);
  assert.deepEqual(release.options, [53, 54, 12], 'dhclient releases with 53,54,12');
  assert.deepEqual(r.released, [[OFFERED, 'dhcp-release']]);
  assert.deepEqual(r.kinds(), ['dhcp.lease', 'dhcp.release']);
  assert.equal(r.client.state, 'stopped');
  r.advance(600_000);
  assert.equal(r.last(), release, 'a stopped client sends nothing');

  // Stopped before any lease: nothing to release.
  const s = new Rig();
  s.client.start(s.now);
  s.advance(1000);
  s.client.stop(s.now);
  assert.deepEqual(s.released, []);
  assert.equal(s.last().type, T.DISCOVER);
});

test('dhcp_client_ignores_replies_that_are_not_its_own_or_not_usable', () => {
  const r = new Rig();
  r.client.start(r.now);
  r.advance(1000);
  const xid = r.client.transactionId;
  assert.equal(r.reply(T.OFFER, { xid: xid ^ 0xff }), false, 'other xid');
  assert.equal(r.reply(T.OFFER, { chaddr: Buffer.from('02005e0a00ff', 'hex') }), false, 'other chaddr');
  assert.equal(r.reply(T.OFFER, { serverId: null }), false, 'OFFER without server id');
  assert.equal(r.reply(T.OFFER, { yiaddr: parseIp('224.0.0.5') }), false, 'multicast offer');
  assert.equal(r.reply(T.ACK), false, 'ACK while selecting');
  assert.equal(r.client.state, 'selecting');
  assert.equal(r.reply(T.OFFER), true);
  assert.equal(r.reply(T.OFFER), false, 'a second OFFER once requesting');
  assert.equal(r.reply(T.ACK, { lease: 0 }), false, 'ACK without lease time');
  assert.equal(r.reply(T.ACK, { serverId: parseIp('198.51.100.3') }), false, "another server's ACK");
  assert.equal(r.client.state, 'requesting');
  assert.equal(r.reply(T.ACK), true);
});

test('dhcp_client_follows_a_server_that_moves_it_to_another_address', () => {
  const r = new Rig();
  r.lease({ lease: 120, t1: 20, t2: 100 });
  r.advance(20_000);
  const other = parseIp('198.51.100.110');
  assert.equal(r.reply(T.ACK, { yiaddr: other }), true);
  assert.deepEqual(r.released, [[OFFERED, 'dhcp-lost']]);
  assert.equal(r.client.state, 'probing');
  assert.deepEqual(r.bound, [OFFERED, other]);
  r.client.onAddressActive(r.now);
  assert.deepEqual(r.kinds(), ['dhcp.lease', 'dhcp.lost', 'dhcp.lease']);
});
