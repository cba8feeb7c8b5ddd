/**
 * Golden frames: real Linux 6.x traffic between two namespaces (198.51.100.1 ⇄ 198.51.100.2 over a
 * veth pair with checksum offload off), captured with tcpdump into test/fixtures/frames/wire-linux.pcap:
 * ARP, ping, a TCP echo conversation (handshake, data, FIN), SYN to a closed port, UDP to a closed port
 * and a fragmented ping. Expected values are the ones `tcpdump -n -e -vv -r` prints for these frames.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readPcapFile } from '../helpers/pcap-file';
import { checksum16, transportChecksum } from '../helpers/frames';
import { ArpOp, ArpView, writeArp } from '../../daemon/src/wire/arp';
import { internetChecksum } from '../../daemon/src/wire/checksum';
import { ETH_HEADER_LEN, EtherType, etherType, writeEthernet } from '../../daemon/src/wire/ethernet';
import { finishIcmp, IcmpView } from '../../daemon/src/wire/icmp';
import { IpProto, Ipv4View, writeIpv4 } from '../../daemon/src/wire/ipv4';
import { Malformed } from '../../daemon/src/wire/malformed';
import { emptyOptionSummary, readTcpOptions, TcpView, writeTcp } from '../../daemon/src/wire/tcp';
import { UdpView, writeUdp } from '../../daemon/src/wire/udp';
import { ipToString, macToString } from '../../daemon/src/wire/address';

const PCAP = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'frames', 'wire-linux.pcap');
const frames = readPcapFile(PCAP).records.map((r) => r.data);
const A = '198.51.100.1';
const B = '198.51.100.2';
const MAC_A = '02:00:5e:10:00:01';
const MAC_B = '02:00:5e:10:00:02';

function ipOf(i: number): Ipv4View {
  const ip = new Ipv4View();
  const f = frames[i];
  assert.equal(ip.wrap(f, ETH_HEADER_LEN, f.length - ETH_HEADER_LEN), Malformed.OK, `frame ${i}`);
  return ip;
}

function tcpOf(i: number): { ip: Ipv4View; tcp: TcpView } {
  const ip = ipOf(i);
  const tcp = new TcpView();
  assert.equal(tcp.wrap(frames[i], ip.payloadOffset, ip.payloadLength), Malformed.OK);
  return { ip, tcp };
}

/** A0 fill shows any byte a writer leaves unwritten. */
function scratch(len: number): Buffer {
  return Buffer.alloc(len, 0xa5);
}

test('the capture holds the 22 frames listed by tcpdump', () => {
  assert.equal(frames.length, 22);
  assert.deepEqual(frames.map((f) => f.length), [42, 42, 66, 66, 74, 74, 66, 79, 66, 79, 66, 66, 66, 66, 74, 54, 51, 79, 1514, 562, 1514, 562]);
});

test('ARP request and reply: fields, and writeArp rebuilds them byte for byte', () => {
  const arp = new ArpView();
  const req = frames[0];
  assert.equal(etherType(req), EtherType.ARP);
  assert.equal(macToString(req, 0), 'ff:ff:ff:ff:ff:ff');
  assert.equal(macToString(req, 6), MAC_A);
  assert.equal(arp.wrap(req, ETH_HEADER_LEN, req.length - ETH_HEADER_LEN), Malformed.OK);
  assert.equal(arp.op, ArpOp.REQUEST);
  assert.equal(macToString(req, arp.senderMacOffset), MAC_A);
  assert.equal(ipToString(arp.senderIp), A);
  assert.equal(macToString(req, arp.targetMacOffset), '00:00:00:00:00:00');
  assert.equal(ipToString(arp.targetIp), B);

  const rep = frames[1];
  assert.equal(arp.wrap(rep, ETH_HEADER_LEN, rep.length - ETH_HEADER_LEN), Malformed.OK);
  assert.equal(arp.op, ArpOp.REPLY);
  assert.equal(macToString(rep, arp.senderMacOffset), MAC_B);
  assert.equal(ipToString(arp.senderIp), B);
  assert.equal(ipToString(arp.targetIp), A);

  for (const f of [req, rep]) {
    arp.wrap(f, ETH_HEADER_LEN, f.length - ETH_HEADER_LEN);
    const out = scratch(f.length);
    writeEthernet(out, f, 0, f.subarray(6, 12), EtherType.ARP);
    writeArp(out, ETH_HEADER_LEN, arp.op, Buffer.from(f.subarray(arp.senderMacOffset, arp.senderMacOffset + 6)), arp.senderIp, f, arp.targetMacOffset, arp.targetIp);
    assert.deepEqual(out, f);
  }
});

test('IPv4 headers: fields as tcpdump prints them, checksums validate, writeIpv4 is byte-identical', () => {
  // [frame, tos, id, df, ttl, proto, total, src, dst]
  const expected: Array<[number, number, number, boolean, number, number, number, string, string]> = [
    [2, 0, 34027, true, 64, 1, 52, A, B],
    [3, 0, 28022, false, 64, 1, 52, B, A],
    [4, 0, 26035, true, 64, 6, 60, A, B],
    [5, 0, 0, true, 64, 6, 60, B, A],
    [7, 0, 26037, true, 64, 6, 65, A, B],
    [12, 0, 384, true, 64, 6, 52, B, A],
    [15, 0, 0, true, 64, 6, 40, B, A],
    [16, 0, 13436, true, 64, 17, 37, A, B],
    [17, 0xc0, 28052, false, 64, 1, 65, B, A],
  ];
  for (const [i, tos, id, df, ttl, proto, total, src, dst] of expected) {
    const f = frames[i];
    const ip = ipOf(i);
    assert.equal(ip.headerLength, 20);
    assert.equal(ip.tos, tos, `tos ${i}`);
    assert.equal(ip.id, id, `id ${i}`);
    assert.equal(ip.df, df, `df ${i}`);
    assert.equal(ip.mf, false);
    assert.equal(ip.isFragment, false);
    assert.equal(ip.ttl, ttl);
    assert.equal(ip.protocol, proto);
    assert.equal(ip.totalLength, total);
    assert.equal(ipToString(ip.src), src);
    assert.equal(ipToString(ip.dst), dst);
    assert.equal(checksum16(f.subarray(14, 34)), 0, `independent IP checksum ${i}`);
    assert.equal(internetChecksum(f, 14, 34), 0);
    const out = scratch(34);
    writeEthernet(out, f, 0, f.subarray(6, 12), EtherType.IPV4);
    writeIpv4(out, ETH_HEADER_LEN, { tos, totalLength: total, id, df, ttl, protocol: proto, src: ip.src, dst: ip.dst });
    assert.deepEqual(out, f.subarray(0, 34), `rebuilt header of frame ${i}`);
  }
});

test('fragments of the 2000-byte ping: MF, offsets and lengths', () => {
  const first = ipOf(18);
  assert.equal(first.id, 34253);
  assert.equal(first.mf, true);
  assert.equal(first.df, false);
  assert.equal(first.fragmentOffset, 0);
  assert.equal(first.totalLength, 1500);
  assert.equal(first.isFragment, true);
  const second = ipOf(19);
  assert.equal(second.id, 34253);
  assert.equal(second.mf, false);
  assert.equal(second.fragmentOffset, 1480);
  assert.equal(second.totalLength, 548);
  assert.equal(second.payloadLength, 528);
  assert.equal(second.isFragment, true);
  // ICMP checksum covers the whole reassembled message: 1480 + 528 bytes.
  const whole = Buffer.concat([frames[18].subarray(34, 1514), frames[19].subarray(34, 562)]);
  assert.equal(whole.length, 2008);
  assert.equal(internetChecksum(whole, 0, whole.length), 0);
  const icmp = new IcmpView();
  assert.equal(icmp.wrap(whole, 0, whole.length), Malformed.OK);
  assert.equal(icmp.type, 8);
  assert.equal(icmp.identifier, 13636);
  assert.equal(icmp.sequence, 1);
});

interface TcpExpect {
  frame: number; srcPort: number; dstPort: number; seq: number; ack: number; flags: number; window: number; checksum: number;
  payload: string; mss: number; wscale: number; sack: boolean; tsVal: number; tsEcr: number; hasTs: boolean;
}

test('TCP segments: ports, seq/ack, flags, window, options, checksum; writeTcp is byte-identical', () => {
  const ISN_A = 3541491738;
  const ISN_B = 711936781;
  const cases: TcpExpect[] = [
    { frame: 4, srcPort: 33572, dstPort: 7007, seq: ISN_A, ack: 0, flags: 0x02, window: 64240, checksum: 0xd7c7, payload: '', mss: 1460, wscale: 10, sack: true, tsVal: 2884969263, tsEcr: 0, hasTs: true },
    { frame: 5, srcPort: 7007, dstPort: 33572, seq: ISN_B, ack: ISN_A + 1, flags: 0x12, window: 65160, checksum: 0xde2d, payload: '', mss: 1460, wscale: 10, sack: true, tsVal: 2440752889, tsEcr: 2884969263, hasTs: true },
    { frame: 6, srcPort: 33572, dstPort: 7007, seq: ISN_A + 1, ack: ISN_B + 1, flags: 0x10, window: 63, checksum: 0x0b47, payload: '', mss: -1, wscale: -1, sack: false, tsVal: 2884969263, tsEcr: 2440752889, hasTs: true },
    { frame: 7, srcPort: 33572, dstPort: 7007, seq: ISN_A + 1, ack: ISN_B + 1, flags: 0x18, window: 63, checksum: 0x7c04, payload: 'hello decoyd\n', mss: -1, wscale: -1, sack: false, tsVal: 2884969265, tsEcr: 2440752889, hasTs: true },
    { frame: 9, srcPort: 7007, dstPort: 33572, seq: ISN_B + 1, ack: ISN_A + 14, flags: 0x18, window: 64, checksum: 0x7bf3, payload: 'hello decoyd\n', mss: -1, wscale: -1, sack: false, tsVal: 2440752892, tsEcr: 2884969265, hasTs: true },
    { frame: 11, srcPort: 33572, dstPort: 7007, seq: ISN_A + 14, ack: ISN_B + 14, flags: 0x11, window: 63, checksum: 0x0b25, payload: '', mss: -1, wscale: -1, sack: false, tsVal: 2884969267, tsEcr: 2440752892, hasTs: true },
    { frame: 12, srcPort: 7007, dstPort: 33572, seq: ISN_B + 14, ack: ISN_A + 15, flags: 0x11, window: 64, checksum: 0x0b21, payload: '', mss: -1, wscale: -1, sack: false, tsVal: 2440752894, tsEcr: 2884969267, hasTs: true },
    { frame: 15, srcPort: 7008, dstPort: 47328, seq: 0, ack: 2687967594, flags: 0x14, window: 0, checksum: 0xc583, payload: '', mss: -1, wscale: -1, sack: false, tsVal: 0, tsEcr: 0, hasTs: false },
  ];
  const summary = emptyOptionSummary();
  for (const c of cases) {
    const f = frames[c.frame];
    const { ip, tcp } = tcpOf(c.frame);
    const label = `frame ${c.frame}`;
    assert.equal(tcp.srcPort, c.srcPort, label);
    assert.equal(tcp.dstPort, c.dstPort, label);
    assert.equal(tcp.seq, c.seq, label);
    assert.equal(tcp.ack, c.ack, label);
    assert.equal(tcp.flags, c.flags, label);
    assert.equal(tcp.reserved, 0);
    assert.equal(tcp.window, c.window, label);
    assert.equal(tcp.checksum, c.checksum, label);
    assert.equal(tcp.urgentPointer, 0);
    assert.equal(f.toString('latin1', tcp.payloadOffset, tcp.payloadOffset + tcp.payloadLength), c.payload, label);
    assert.ok(tcp.checksumValid(ip.src, ip.dst), `${label} checksum`);
    assert.equal(transportChecksum(ip.src, ip.dst, 6, f.subarray(ip.payloadOffset, ip.payloadOffset + ip.payloadLength)), 0);
    readTcpOptions(tcp, summary);
    assert.equal(summary.wellFormed, true, label);
    assert.equal(summary.mss, c.mss, label);
    assert.equal(summary.wscale, c.wscale, label);
    assert.equal(summary.sackPermitted, c.sack, label);
    assert.equal(summary.hasTimestamp, c.hasTs, label);
    assert.equal(summary.tsVal, c.tsVal, label);
    assert.equal(summary.tsEcr, c.tsEcr, label);

    // Rebuild the segment: payload first (callers place it), then header + options + checksum.
    const out = scratch(f.length);
    f.copy(out, 0, 0, ip.payloadOffset);
    f.copy(out, tcp.payloadOffset, tcp.payloadOffset, tcp.payloadOffset + tcp.payloadLength);
    const options = Buffer.from(f.subarray(tcp.optionsOffset, tcp.optionsOffset + tcp.optionsLength));
    const segLen = writeTcp(out, ip.payloadOffset, {
      srcPort: tcp.srcPort, dstPort: tcp.dstPort, seq: tcp.seq, ack: tcp.ack, flags: tcp.flags,
      reserved: tcp.reserved, window: tcp.window, urgentPointer: tcp.urgentPointer,
    }, options, options.length, tcp.payloadLength, ip.src, ip.dst);
    assert.equal(segLen, ip.payloadLength);
    assert.deepEqual(out, f, `rebuilt ${label}`);
  }
});

test('UDP datagram with an odd-length payload: fields, checksum, writeUdp is byte-identical', () => {
  const f = frames[16];
  const ip = ipOf(16);
  const udp = new UdpView();
  assert.equal(udp.wrap(f, ip.payloadOffset, ip.payloadLength), Malformed.OK);
  assert.equal(udp.srcPort, 43789);
  assert.equal(udp.dstPort, 7009);
  assert.equal(udp.length, 17);
  assert.equal(udp.payloadLength, 9);
  assert.equal(f.toString('latin1', udp.payloadOffset, udp.payloadOffset + 9), 'probe-udp');
  assert.ok(udp.checksumValid(ip.src, ip.dst));
  assert.equal(transportChecksum(ip.src, ip.dst, 17, f.subarray(34, 51)), 0);
  const out = scratch(f.length);
  f.copy(out, 0, 0, 34);
  f.copy(out, 42, 42, 51);
  assert.equal(writeUdp(out, 34, udp.srcPort, udp.dstPort, 9, ip.src, ip.dst), 17);
  assert.deepEqual(out, f);
});

test('ICMP echo and port unreachable: fields, checksums, finishIcmp is byte-identical', () => {
  const icmp = new IcmpView();
  // [frame, type, code, identifier, sequence, length]
  const cases: Array<[number, number, number, number, number, number]> = [
    [2, 8, 0, 13588, 1, 32],
    [3, 0, 0, 13588, 1, 32],
    [17, 3, 3, 0, 0, 45],
  ];
  for (const [i, type, code, id, seq, len] of cases) {
    const f = frames[i];
    const ip = ipOf(i);
    assert.equal(ip.protocol, IpProto.ICMP);
    assert.equal(icmp.wrap(f, ip.payloadOffset, ip.payloadLength), Malformed.OK, `frame ${i}`);
    assert.equal(icmp.type, type);
    assert.equal(icmp.code, code);
    assert.equal(icmp.identifier, id);
    assert.equal(icmp.sequence, seq);
    assert.equal(icmp.length, len);
    assert.equal(icmp.dataLength, len - 8);
    const out = Buffer.from(f);
    out[ip.payloadOffset + 2] = 0xa5;
    out[ip.payloadOffset + 3] = 0xa5;
    finishIcmp(out, ip.payloadOffset, ip.payloadLength);
    assert.deepEqual(out, f, `rebuilt frame ${i}`);
  }
  // The unreachable quotes the UDP datagram's IP header and UDP header as sent (frame 16).
  const quote = frames[17].subarray(42);
  assert.deepEqual(quote, frames[16].subarray(14, 14 + quote.length));
  const quoted = new Ipv4View();
  assert.equal(quoted.wrap(frames[17], 42, frames[17].length - 42), Malformed.OK);
  assert.equal(quoted.id, 13436);
  assert.equal(quoted.protocol, IpProto.UDP);
});
