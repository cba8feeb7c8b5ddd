/**
 * DHCP through the engine's frame path: the engine hands the server's frames to the client, the
 * client's frames leave with the decoy's MAC, the leased address is probed, announced and then
 * answers like any bound host, and a stop sends DHCPRELEASE and gives the address up.
 * Also: which OS family, fingerprint, client id and hostname each real nmap-os-db personality gets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CLAIM, DEFAULT_DETECT, DEFAULT_LIMITS, type DecoydConfig, type DhcpBinding, type TemplateConfig } from '../../daemon/src/config/types';
import { emptyTopology } from '../../daemon/src/config/topology';
import { loadMacPrefixes } from '../../daemon/src/config/mac';
import { compileTemplate, dhcpClientSpecs, dhcpInterfaceProblems } from '../../daemon/src/daemon';
import type { DecoyEvent, EventSink } from '../../daemon/src/events/event';
import { LinuxLikePersonality } from '../../daemon/src/personality/linux-like-personality';
import { OsDbPersonalitySource } from '../../daemon/src/personality/source';
import { loadOsDb } from '../../daemon/src/personality/osdb/parse';
import { DecoyHost, DecoyTable } from '../../daemon/src/stack/decoy-table';
import type { DhcpClientSpec } from '../../daemon/src/stack/dhcp/dhcp-client';
import { clientIdFor, dhcpProfile, familyForClass } from '../../daemon/src/stack/dhcp/profiles';
import { Engine } from '../../daemon/src/stack/engine';
import { buildCaptureFilter } from '../../daemon/src/link/pcap-link';
import { BootpOp, DhcpMessageType as T, DhcpOption as O, DhcpView, DhcpWriter } from '../../daemon/src/wire/dhcp';
import { Malformed } from '../../daemon/src/wire/malformed';
import { parseIp } from '../../daemon/src/wire/address';
import { arpFrame, icmpFrame, icmpMessage, parseFrame, udpFrame } from '../helpers/frames';

const CLIENT_MAC = '38:63:bb:f0:09:21';
const SERVER_MAC = '02:00:5e:0a:00:02';
const SERVER = '198.51.100.2';
const LEASED = '198.51.100.105';
const T0 = 1_700_000_000_000;

function template(): TemplateConfig {
  return { name: 'win', dropRateIn: 0, defaults: { tcp: 'reset', udp: 'reset', icmp: 'open' }, ports: [] };
}

class Rig {
  readonly sent: Buffer[] = [];
  readonly events: DecoyEvent[] = [];
  readonly engine: Engine;
  readonly table = new DecoyTable();
  now = T0;

  constructor() {
    const rt = compileTemplate(template());
    const profile = dhcpProfile('windows-10');
    const mac = Buffer.from(CLIENT_MAC.replace(/:/g, ''), 'hex');
    const spec: DhcpClientSpec = { mac, template: 'win', hostname: 'DESKTOP-AB12CD3', profile, clientId: clientIdFor(profile, mac) };
    const sink: EventSink = { wants: () => true, emit: (e) => { this.events.push(e); } };
    let seed = 7;
    this.engine = new Engine({
      limits: DEFAULT_LIMITS, claim: { ...DEFAULT_CLAIM, probeWaitMs: 600 }, claimRanges: [], table: this.table, events: sink,
      send: (f, n) => { this.sent.push(Buffer.from(f.subarray(0, n))); },
      createHost: () => { throw new Error('no static hosts here'); },
      onReady: () => {},
      dhcpClients: [spec],
      createLeasedHost: (ip, s) => new DecoyHost(ip, s.mac, rt, 'dhcp', (h) => new LinuxLikePersonality(h.ip, 86400, T0)),
      now: () => this.now,
      random: () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 0x100000000; },
    });
  }

  advance(ms: number): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now += 100;
      this.engine.tick(this.now);
    }
  }

  feed(frame: Buffer): void { this.engine.handleFrame(frame, frame.length, this.now); }

  /** The DHCP messages the client sent, decoded. */
  dhcpSent(): { frame: ReturnType<typeof parseFrame>; view: DhcpView }[] {
    return this.sent.map((f) => parseFrame(f)).filter((p) => p.udp?.dstPort === 67).map((p) => {
      const view = new DhcpView();
      assert.equal(view.wrap(p.udp!.payload, 0, p.udp!.payload.length), Malformed.OK);
      return { frame: p, view };
    });
  }

  /** A server reply frame: to broadcast (no address yet) or unicast to the leased address. */
  serverReply(type: number, xid: number, opts: { dst?: string; ethDst?: string } = {}): Buffer {
    const msg = Buffer.alloc(300);
    const w = new DhcpWriter(msg, 0);
    w.begin({ op: BootpOp.REPLY, xid, secs: 0, flags: 0, ciaddr: 0, yiaddr: parseIp(LEASED), siaddr: parseIp(SERVER), giaddr: 0, chaddr: Buffer.from(CLIENT_MAC.replace(/:/g, ''), 'hex') });
    w.optionU8(O.MESSAGE_TYPE, type);
    w.optionU32(O.SERVER_ID, parseIp(SERVER));
    w.optionU32(O.LEASE_TIME, 120);
    w.optionU32(O.RENEWAL_TIME, 20);
    w.end();
    return udpFrame(opts.ethDst ?? 'ff:ff:ff:ff:ff:ff', SERVER_MAC, SERVER, opts.dst ?? '255.255.255.255', 67, 68, msg);
  }
}

test('engine_dhcp_lease_bind_answer_renew_release_through_frames', () => {
  const r = new Rig();
  assert.ok(r.table.isOurMac(parseInt(CLIENT_MAC.replace(/:/g, ''), 16)), 'the client MAC is ours from the start');
  r.engine.dhcp?.start(r.now);
  r.advance(1100);
  const [discover] = r.dhcpSent();
  assert.ok(discover);
  assert.equal(discover.frame.src, CLIENT_MAC);
  assert.equal(discover.frame.dst, 'ff:ff:ff:ff:ff:ff');
  assert.equal(discover.frame.ip?.ttl, 128);
  assert.ok(discover.frame.udp?.checksumOk, 'UDP checksum over the pseudo header with source 0.0.0.0');
  assert.equal(discover.view.messageType, T.DISCOVER);
  const xid = discover.view.xid;

  // The capture's echo of our own DISCOVER is not input.
  r.feed(r.sent[0]);
  // A reply for another client on the LAN (other chaddr) passes by.
  const foreign = r.serverReply(T.OFFER, xid);
  foreign[14 + 20 + 8 + 28 + 5] ^= 0xff;
  const udpOff = 14 + 20;
  foreign.writeUInt16BE(0, udpOff + 6); // checksum "none", still valid
  const before = r.sent.length;
  r.feed(foreign);
  assert.equal(r.sent.length, before);

  // OFFER unicast to the offered address and our MAC (dnsmasq without the broadcast flag): REQUEST.
  r.feed(r.serverReply(T.OFFER, xid, { dst: LEASED, ethDst: CLIENT_MAC }));
  const request = r.dhcpSent().pop();
  assert.equal(request?.view.messageType, T.REQUEST);
  // ACK: the address is probed (RFC 5227, sender 0.0.0.0), then announced.
  r.feed(r.serverReply(T.ACK, xid));
  const probe = parseFrame(r.sent[r.sent.length - 1]);
  assert.deepEqual([probe.arp?.op, probe.arp?.spa, probe.arp?.tpa, probe.arp?.sha], [1, '0.0.0.0', LEASED, CLIENT_MAC]);
  assert.equal(r.table.get(parseIp(LEASED)), undefined, 'not answering while probing');
  r.advance(800);
  const leased = r.table.get(parseIp(LEASED));
  assert.ok(leased, 'bound after the probes');
  assert.equal(leased.origin, 'dhcp');
  assert.equal(leased.macText, CLIENT_MAC);
  assert.ok(r.sent.some((f) => { const p = parseFrame(f); return p.arp?.spa === LEASED && p.arp.tpa === LEASED; }), 'gratuitous ARP');
  assert.deepEqual(r.events.filter((e) => e.kind.startsWith('dhcp.')).map((e) => e.kind), ['dhcp.lease']);

  // It answers like any bound host: ARP and ping.
  r.sent.length = 0;
  r.feed(arpFrame({ op: 1, sha: SERVER_MAC, spa: SERVER, tha: '00:00:00:00:00:00', tpa: LEASED }));
  assert.equal(parseFrame(r.sent[0]).arp?.op, 2);
  r.feed(icmpFrame(CLIENT_MAC, SERVER_MAC, SERVER, LEASED, icmpMessage(8, 0, 0x01020001, Buffer.from('ping'))));
  assert.equal(parseFrame(r.sent[1]).icmp?.type, 0);

  // T1 = 20 s: a unicast REQUEST from the leased address to the server's MAC; the ACK renews.
  r.advance(20_000);
  const renew = r.dhcpSent().pop();
  assert.ok(renew);
  assert.deepEqual([renew.frame.dst, renew.frame.ip?.src, renew.frame.ip?.dst], [SERVER_MAC, LEASED, SERVER]);
  r.feed(r.serverReply(T.ACK, renew.view.xid, { dst: LEASED, ethDst: CLIENT_MAC }));
  assert.deepEqual(r.events.filter((e) => e.kind.startsWith('dhcp.')).map((e) => e.kind), ['dhcp.lease', 'dhcp.renew']);

  // A malformed reply for our MAC is dropped and counted, never acted on.
  const bad = r.serverReply(T.NAK, renew.view.xid, { dst: LEASED, ethDst: CLIENT_MAC });
  bad.writeUInt32BE(0, 14 + 20 + 8 + 236);
  bad.writeUInt16BE(0, 14 + 20 + 6);
  r.feed(bad);
  assert.ok(r.events.some((e) => e.kind === 'drop' && e.reason === 'bad-dhcp'));
  assert.ok(r.table.get(parseIp(LEASED)));

  // Stop: DHCPRELEASE to the server, address given up.
  r.sent.length = 0;
  r.engine.dhcp?.stop(r.now);
  const release = r.dhcpSent().pop();
  assert.equal(release?.view.messageType, T.RELEASE);
  assert.equal(release?.frame.dst, SERVER_MAC);
  assert.equal(r.table.get(parseIp(LEASED)), undefined);
  assert.ok(r.events.some((e) => e.kind === 'arp.release' && e.address === LEASED));
  assert.equal(r.events.filter((e) => e.kind.startsWith('dhcp.')).map((e) => e.kind).pop(), 'dhcp.release');
});

test('engine_dhcp_probe_conflict_declines_the_address', () => {
  const r = new Rig();
  r.engine.dhcp?.start(r.now);
  r.advance(1100);
  const xid = r.dhcpSent()[0].view.xid;
  r.feed(r.serverReply(T.OFFER, xid));
  r.feed(r.serverReply(T.ACK, xid));
  // A real host answers the probe for the leased address.
  r.feed(arpFrame({ op: 2, sha: '02:00:5e:0a:00:77', spa: LEASED, tha: CLIENT_MAC, tpa: '0.0.0.0', ethDst: CLIENT_MAC }));
  const decline = r.dhcpSent().pop();
  assert.equal(decline?.view.messageType, T.DECLINE);
  assert.equal(decline?.view.u32Option(O.REQUESTED_IP), parseIp(LEASED));
  r.advance(2000);
  assert.equal(r.table.get(parseIp(LEASED)), undefined, 'never bound');
  const kinds = r.events.map((e) => e.kind);
  assert.ok(kinds.includes('arp.conflict') && kinds.includes('dhcp.lost'));
  assert.ok(!kinds.includes('dhcp.lease'));
});

test('dhcp_families_fingerprints_and_hostnames_follow_the_nmap_class', () => {
  const names = [
    'Microsoft Windows 10 1507 - 1607', 'Microsoft Windows 7 SP1', 'Microsoft Windows XP Home Edition SP3', 'Linux 4.15 - 5.6',
    'Apple macOS 10.14 (Mojave) (Darwin 18.2.0 - 18.6.0)', 'FreeBSD 12.1-RELEASE', 'Cisco 1921 router (IOS 15.1)',
    'HP LaserJet 1300n, 1320nw, or 3550 printer', 'OpenBSD 3.5',
  ];
  const db = loadOsDb(['/usr/share/nmap/nmap-os-db'], new Set(names));
  const source = new OsDbPersonalitySource(db);
  const families = names.map((n) => familyForClass(source.classOf(n)));
  assert.deepEqual(families, ['windows-10', 'windows-7', 'windows-xp', 'linux-dhclient', 'macos', 'freebsd', 'cisco-ios', 'hp-jetdirect', 'openbsd']);

  const templates = new Map(names.map((n, i) => [`t${i}`, { ...template(), name: `t${i}`, personality: n }]));
  const cfg: DecoydConfig = {
    source: 'test', osDb: [], macPrefixes: '/usr/share/nmap/nmap-mac-prefixes', templates, hosts: [], claims: [],
    dhcp: [...[...templates.keys()].map((t, i): DhcpBinding => ({ template: t, origin: `test:${i}` })), { template: 't0', hostname: 'kiosk-7', origin: 'test:x' }],
    limits: DEFAULT_LIMITS, claim: DEFAULT_CLAIM, log: { level: 'info' }, detect: DEFAULT_DETECT, topology: emptyTopology(),
  };
  const prefixes = loadMacPrefixes(cfg.macPrefixes);
  const specs = dhcpClientSpecs(cfg, source, prefixes, new Set());
  const again = dhcpClientSpecs(cfg, source, prefixes, new Set());
  assert.deepEqual(specs.map((s) => s.mac.toString('hex')), again.map((s) => s.mac.toString('hex')), 'deterministic per binding');
  assert.equal(new Set(specs.map((s) => s.mac.toString('hex'))).size, specs.length, 'distinct MACs');
  const [win10, win7, xp, linux, mac, freebsd, cisco, hp, , named] = specs;
  assert.deepEqual(win10.profile.parameterRequestList, [1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252]);
  assert.equal(win10.profile.vendorClass, 'MSFT 5.0');
  assert.match(win10.hostname, /^DESKTOP-[A-Z0-9]{7}$/);
  assert.deepEqual(win10.clientId, Buffer.concat([Buffer.from([1]), win10.mac]));
  assert.deepEqual(win7.profile.parameterRequestList, [1, 15, 3, 6, 44, 46, 47, 31, 33, 121, 249, 43, 252]);
  assert.deepEqual(xp.profile.parameterRequestList.slice(0, 11), [1, 15, 3, 6, 44, 46, 47, 31, 33, 249, 43]);
  assert.deepEqual(linux.profile.parameterRequestList, [1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42]);
  assert.equal(linux.clientId, null, 'ISC dhclient sends no client id by default');
  assert.equal(linux.profile.vendorClass, undefined);
  assert.deepEqual(mac.profile.parameterRequestList.slice(0, 6), [1, 121, 3, 6, 15, 119]);
  assert.match(mac.hostname, /^[A-Z][a-z]+s-MacBook-Pro$/);
  assert.deepEqual(freebsd.profile.parameterRequestList, [1, 28, 2, 121, 3, 15, 6, 12]);
  assert.deepEqual(cisco.profile.parameterRequestList, [1, 6, 15, 44, 3, 33, 150, 43]);
  const hex = cisco.mac.toString('hex');
  assert.equal(cisco.clientId?.toString('latin1'), `\0cisco-${hex.slice(0, 4)}.${hex.slice(4, 8)}.${hex.slice(8)}-Gi0/0`);
  assert.equal(hp.profile.vendorClass, 'Hewlett-Packard JetDirect');
  assert.equal(hp.hostname, `NPI${hp.mac.subarray(3).toString('hex').toUpperCase()}`);
  assert.equal(named.hostname, 'kiosk-7');
  // The OUI fits the OS like any host's: the Cisco decoy has a Cisco MAC, the HP printer an HP one.
  assert.ok(prefixes.findVendor('Cisco Systems').ouis.includes(cisco.mac.readUIntBE(0, 3)));
  assert.ok(prefixes.findVendor('Hewlett Packard').ouis.concat(prefixes.findVendor('HP').ouis).includes(hp.mac.readUIntBE(0, 3)));
});

test('engine_dhcp_survives_mutated_server_replies', () => {
  const r = new Rig();
  r.engine.dhcp?.start(r.now);
  r.advance(1100);
  let x = 0x1234567;
  const next = (): number => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  for (let i = 0; i < 20_000; i++) {
    const xid = r.engine.dhcp?.clients[0]?.transactionId ?? 0;
    const types = [T.OFFER, T.ACK, T.NAK, T.ACK];
    const frame = r.serverReply(types[next() % types.length], xid, next() % 2 === 0 ? {} : { dst: LEASED, ethDst: CLIENT_MAC });
    // Mutate bytes in the UDP header and DHCP message, and sometimes cut the frame short.
    for (let k = next() % 6; k > 0; k--) frame[34 + (next() % (frame.length - 34))] = next() & 0xff;
    if (next() % 4 === 0) frame.writeUInt16BE(0, 34 + 6);
    const len = next() % 5 === 0 ? 34 + (next() % (frame.length - 34)) : frame.length;
    r.engine.handleFrame(frame, len, r.now);
    if (i % 50 === 0) r.advance(next() % 30_000);
  }
  for (const f of r.sent) assert.deepEqual(parseFrame(f).problems, [], 'every frame sent is well-formed');
  assert.ok(r.events.some((e) => e.kind === 'drop'), 'mutations were seen and dropped');
});

test('dhcp_bindings_on_another_interface_are_named', () => {
  const dhcp: DhcpBinding[] = [{ template: 'a', origin: 'x.conf:3' }, { template: 'b', interface: 'eth0', origin: 'x.conf:4' }, { template: 'c', interface: 'eth1', origin: 'x.conf:5' }];
  assert.deepEqual(dhcpInterfaceProblems({ dhcp }, 'eth0'), ['x.conf:5: dhcp c runs on eth1, but decoyd runs on eth0']);
});

test('capture_filter_lets_dhcp_replies_and_client_macs_through', () => {
  assert.equal(buildCaptureFilter(['198.51.100.0/24']), 'arp or (ip and (dst net 198.51.100.0/24))');
  assert.equal(
    buildCaptureFilter(['198.51.100.0/24'], ['38:63:bb:f0:09:21', '70:9c:d1:ba:73:b5']),
    'arp or (ip and (dst net 198.51.100.0/24)) or (udp and src port 67 and dst port 68) or ether dst 38:63:bb:f0:09:21 or ether dst 70:9c:d1:ba:73:b5',
  );
  assert.equal(buildCaptureFilter([], ['38:63:bb:f0:09:21']), 'arp or (udp and src port 67 and dst port 68) or ether dst 38:63:bb:f0:09:21');
  assert.equal(buildCaptureFilter(Array.from({ length: 60 }, (_, i) => `198.51.${i}.0/24`), Array.from({ length: 5 }, () => '38:63:bb:f0:09:21')), 'arp or ip');
});

test('engine_dhcp_declines_an_address_another_decoy_holds', () => {
  const r = new Rig();
  // A static decoy already answers for the address the server is about to hand out.
  const rt = compileTemplate(template());
  const other = new DecoyHost(parseIp(LEASED), Buffer.from('02005e0a0063', 'hex'), rt, 'static', (h) => new LinuxLikePersonality(h.ip, 86400, T0));
  r.engine.addresses.bindStatic([other], r.now);
  r.advance(1000);
  assert.equal(r.table.get(parseIp(LEASED)), other);
  r.engine.dhcp?.start(r.now);
  r.advance(1100);
  const xid = r.dhcpSent()[0].view.xid;
  r.feed(r.serverReply(T.OFFER, xid));
  r.feed(r.serverReply(T.ACK, xid));
  assert.equal(r.dhcpSent().pop()?.view.messageType, T.DECLINE);
  r.advance(2000);
  assert.equal(r.table.get(parseIp(LEASED)), other, 'the static decoy keeps its address');
});
