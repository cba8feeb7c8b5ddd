/**
 * Malformed input to the wire views: every truncation of real frames, bad header lengths, lengths
 * beyond the frame, padding, bad checksums and TCP option garbage. Views must return the right
 * Malformed code (or option summary) and never throw; truncated frames are passed as exact-size
 * copies so that any read past the end would throw a RangeError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readPcapFile } from '../helpers/pcap-file';
import { checksum16, Flag, ipNum, ipv4Packet, tcpSegment, udpDatagram, icmpMessage } from '../helpers/frames';
import { ArpView } from '../../daemon/src/wire/arp';
import { ETH_HEADER_LEN, padFrame } from '../../daemon/src/wire/ethernet';
import { IcmpView } from '../../daemon/src/wire/icmp';
import { Ipv4View } from '../../daemon/src/wire/ipv4';
import { Malformed, malformedName } from '../../daemon/src/wire/malformed';
import { emptyOptionSummary, readTcpOptions, TcpView, tcpFlagsToString, writeTcp } from '../../daemon/src/wire/tcp';
import { UdpView } from '../../daemon/src/wire/udp';
import { internetChecksum } from '../../daemon/src/wire/checksum';

const frames = readPcapFile(join(__dirname, '..', '..', '..', 'test', 'fixtures', 'frames', 'wire-linux.pcap')).records.map((r) => r.data);
const A = '198.51.100.1';
const B = '198.51.100.2';

/** Run the whole view chain the engine runs over a frame; returns the first non-OK code, or OK. */
function parseChain(frame: Buffer): number {
  if (frame.length < ETH_HEADER_LEN) return Malformed.TRUNCATED;
  const type = frame.readUInt16BE(12);
  if (type === 0x0806) return new ArpView().wrap(frame, ETH_HEADER_LEN, frame.length - ETH_HEADER_LEN);
  const ip = new Ipv4View();
  const s = ip.wrap(frame, ETH_HEADER_LEN, frame.length - ETH_HEADER_LEN);
  if (s !== Malformed.OK || ip.isFragment) return s;
  if (ip.protocol === 6) {
    const tcp = new TcpView();
    const t = tcp.wrap(frame, ip.payloadOffset, ip.payloadLength);
    if (t === Malformed.OK) {
      tcp.checksumValid(ip.src, ip.dst);
      readTcpOptions(tcp, emptyOptionSummary());
      void [tcp.srcPort, tcp.dstPort, tcp.seq, tcp.ack, tcp.flags, tcp.window, tcp.urgentPointer];
    }
    return t;
  }
  if (ip.protocol === 17) {
    const udp = new UdpView();
    const u = udp.wrap(frame, ip.payloadOffset, ip.payloadLength);
    if (u === Malformed.OK) udp.checksumValid(ip.src, ip.dst);
    return u;
  }
  if (ip.protocol === 1) return new IcmpView().wrap(frame, ip.payloadOffset, ip.payloadLength);
  return Malformed.OK;
}

test('every real frame parses OK whole, and every truncation is rejected with the right code, never a throw', () => {
  assert.ok(frames.length > 0);
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i];
    assert.equal(parseChain(f), Malformed.OK, `whole frame ${i}`);
    const isArp = f.readUInt16BE(12) === 0x0806;
    const ipTotal = isArp ? 0 : 14 + f.readUInt16BE(16);
    for (let len = 0; len < f.length; len++) {
      const cut = Buffer.from(f.subarray(0, len));
      let code = -1;
      assert.doesNotThrow(() => { code = parseChain(cut); }, `frame ${i} cut at ${len}`);
      if (isArp) {
        assert.equal(code, len < 14 + 28 ? Malformed.TRUNCATED : Malformed.OK, `arp frame ${i} cut at ${len}`);
      } else if (len < 14 + 20) {
        assert.equal(code, Malformed.TRUNCATED, `frame ${i} cut at ${len}`);
      } else if (len < ipTotal) {
        assert.equal(code, Malformed.BAD_TOTAL_LENGTH, `frame ${i} cut at ${len}`);
      } else {
        assert.equal(code, Malformed.OK, `frame ${i} cut at ${len} (only trailing bytes removed)`);
      }
    }
  }
});

test('TcpView: segment shorter than 20 is truncated, data offset beyond the segment or below 5 is bad', () => {
  const seg = tcpSegment(A, B, { srcPort: 1, dstPort: 2, flags: Flag.SYN, options: Buffer.from([2, 4, 5, 0xb4]) });
  const tcp = new TcpView();
  for (let len = 0; len < 20; len++) assert.equal(tcp.wrap(Buffer.from(seg.subarray(0, len)), 0, len), Malformed.TRUNCATED);
  for (let len = 20; len < 24; len++) assert.equal(tcp.wrap(Buffer.from(seg.subarray(0, len)), 0, len), Malformed.BAD_DATA_OFFSET);
  assert.equal(tcp.wrap(seg, 0, 24), Malformed.OK);
  for (let doff = 0; doff < 5; doff++) {
    const bad = tcpSegment(A, B, { srcPort: 1, dstPort: 2, flags: Flag.SYN, dataOffset: doff });
    assert.equal(tcp.wrap(bad, 0, bad.length), Malformed.BAD_DATA_OFFSET, `data offset ${doff}`);
  }
  const over = tcpSegment(A, B, { srcPort: 1, dstPort: 2, flags: Flag.SYN, dataOffset: 15 });
  assert.equal(tcp.wrap(over, 0, over.length), Malformed.BAD_DATA_OFFSET);
});

test('IPv4: bad version, every bad IHL, total length beyond frame or below header, padding allowed', () => {
  const good = ipv4Packet({ src: A, dst: B, proto: 17, payload: udpDatagram(A, B, 1000, 53, Buffer.from('x')) });
  const ip = new Ipv4View();
  const frameOf = (pkt: Buffer, pad = 0): Buffer => Buffer.concat([Buffer.alloc(14), pkt, Buffer.alloc(pad)]);
  const wrap = (f: Buffer): number => ip.wrap(f, 14, f.length - 14);
  assert.equal(wrap(frameOf(good)), Malformed.OK);
  for (const version of [0, 5, 6, 15]) {
    const p = Buffer.from(good);
    p[0] = (version << 4) | 5;
    assert.equal(wrap(frameOf(p)), Malformed.BAD_VERSION, `version ${version}`);
  }
  for (let ihl = 0; ihl < 5; ihl++) {
    assert.equal(wrap(frameOf(ipv4Packet({ src: A, dst: B, proto: 17, payload: Buffer.alloc(8), ihl }))), Malformed.BAD_HEADER_LENGTH, `ihl ${ihl}`);
  }
  // IHL 15 = 60 bytes of header, more than this 48-byte packet holds.
  assert.equal(wrap(frameOf(ipv4Packet({ src: A, dst: B, proto: 17, payload: Buffer.alloc(8), ihl: 15 }))), Malformed.BAD_HEADER_LENGTH);
  // IHL 6 with 4 bytes of options (NOP NOP NOP EOL) is fine, and the payload starts after them.
  const withOpts = ipv4Packet({ src: A, dst: B, proto: 17, payload: Buffer.alloc(8), options: Buffer.from([1, 1, 1, 0]) });
  assert.equal(wrap(frameOf(withOpts)), Malformed.OK);
  assert.equal(ip.headerLength, 24);
  assert.equal(ip.payloadOffset, 14 + 24);
  assert.equal(ip.payloadLength, 8);
  // Total length one beyond the frame, and below the header length.
  assert.equal(wrap(frameOf(ipv4Packet({ src: A, dst: B, proto: 17, payload: Buffer.alloc(8), totalLength: 29 }))), Malformed.BAD_TOTAL_LENGTH);
  assert.equal(wrap(frameOf(ipv4Packet({ src: A, dst: B, proto: 17, payload: Buffer.alloc(8), totalLength: 19 }))), Malformed.BAD_TOTAL_LENGTH);
  assert.equal(wrap(frameOf(ipv4Packet({ src: A, dst: B, proto: 17, payload: Buffer.alloc(8), totalLength: 0 }))), Malformed.BAD_TOTAL_LENGTH);
  // Ethernet padding after the datagram: accepted, payload length from the IP header.
  const padded = frameOf(good, 17);
  assert.equal(wrap(padded), Malformed.OK);
  assert.equal(ip.payloadLength, good.length - 20);
  const udp = new UdpView();
  assert.equal(udp.wrap(padded, ip.payloadOffset, ip.payloadLength), Malformed.OK);
  assert.ok(udp.checksumValid(ip.src, ip.dst));
  // The real 54-byte RST padded to 60 as a NIC would: still OK and the TCP checksum still validates.
  const rst = Buffer.alloc(60, 0);
  frames[15].copy(rst);
  assert.equal(wrap(rst), Malformed.OK);
  const tcp = new TcpView();
  assert.equal(tcp.wrap(rst, ip.payloadOffset, ip.payloadLength), Malformed.OK);
  assert.equal(tcp.payloadLength, 0);
  assert.ok(tcp.checksumValid(ip.src, ip.dst));
});

test('bad checksums: IP header, TCP, UDP (zero means none), ICMP', () => {
  const ip = new Ipv4View();
  const badIp = Buffer.concat([Buffer.alloc(14), ipv4Packet({ src: A, dst: B, proto: 17, payload: Buffer.alloc(8), checksum: 0x1234 })]);
  assert.equal(ip.wrap(badIp, 14, badIp.length - 14), Malformed.BAD_CHECKSUM);
  // Every single-bit flip in a real IP header is caught (by the checksum or a length/version check).
  const f = frames[4];
  for (let bit = 0; bit < 160; bit++) {
    const c = Buffer.from(f);
    c[14 + (bit >> 3)] ^= 0x80 >> (bit & 7);
    assert.notEqual(ip.wrap(c, 14, c.length - 14), Malformed.OK, `IP bit ${bit}`);
  }

  const tcp = new TcpView();
  const seg = tcpSegment(A, B, { srcPort: 40000, dstPort: 80, flags: Flag.SYN, payload: Buffer.from('abc'), badChecksum: true });
  assert.equal(tcp.wrap(seg, 0, seg.length), Malformed.OK);
  assert.equal(tcp.checksumValid(ipNum(A), ipNum(B)), false);
  const goodSeg = tcpSegment(A, B, { srcPort: 40000, dstPort: 80, flags: Flag.SYN, payload: Buffer.from('abc') });
  tcp.wrap(goodSeg, 0, goodSeg.length);
  assert.equal(tcp.checksumValid(ipNum(A), ipNum(B)), true);
  // The pseudo-header matters: another destination address invalidates it.
  assert.equal(tcp.checksumValid(ipNum(A), ipNum('198.51.100.3')), false);

  const udp = new UdpView();
  const badUdp = udpDatagram(A, B, 1, 2, Buffer.from('hello'), 'bad');
  udp.wrap(badUdp, 0, badUdp.length);
  assert.equal(udp.checksumValid(ipNum(A), ipNum(B)), false);
  const noSum = udpDatagram(A, B, 1, 2, Buffer.from('hello'), 'zero');
  udp.wrap(noSum, 0, noSum.length);
  assert.equal(udp.checksum, 0);
  assert.equal(udp.checksumValid(ipNum(A), ipNum(B)), true);

  const icmp = new IcmpView();
  const badIcmp = icmpMessage(8, 0, 0x00010001, Buffer.from('ping'), true);
  assert.equal(icmp.wrap(badIcmp, 0, badIcmp.length), Malformed.BAD_CHECKSUM);
  assert.equal(icmp.wrap(badIcmp, 0, 7), Malformed.TRUNCATED);
  const goodIcmp = icmpMessage(8, 0, 0x00010001, Buffer.from('ping'));
  assert.equal(icmp.wrap(goodIcmp, 0, goodIcmp.length), Malformed.OK);
});

test('UDP length field: below 8 or beyond the IP payload is rejected; shorter than the IP payload is fine', () => {
  const udp = new UdpView();
  const d = udpDatagram(A, B, 5000, 53, Buffer.from('0123456789'));
  for (const len of [0, 1, 7]) {
    const c = Buffer.from(d);
    c.writeUInt16BE(len, 4);
    assert.equal(udp.wrap(c, 0, c.length), Malformed.BAD_TOTAL_LENGTH, `length ${len}`);
  }
  const c = Buffer.from(d);
  c.writeUInt16BE(d.length + 1, 4);
  assert.equal(udp.wrap(c, 0, c.length), Malformed.BAD_TOTAL_LENGTH);
  assert.equal(udp.wrap(d, 0, 7), Malformed.TRUNCATED);
  const shorter = Buffer.from(d);
  shorter.writeUInt16BE(12, 4);
  assert.equal(udp.wrap(shorter, 0, shorter.length), Malformed.OK);
  assert.equal(udp.payloadLength, 4);
});

test('ARP: wrong protocol or opcode is BAD_ARP_FORMAT; hardware type and lengths are left to the family', () => {
  const arp = new ArpView();
  const base = Buffer.from(frames[0].subarray(14, 42));
  assert.equal(arp.wrap(base, 0, 28), Malformed.OK);
  const mutate = (off: number, value: number, width: 1 | 2): Buffer => {
    const c = Buffer.from(base);
    if (width === 1) c[off] = value; else c.writeUInt16BE(value, off);
    return c;
  };
  const bad: Array<[string, Buffer]> = [
    ['ptype 0xffff', mutate(2, 0xffff, 2)], ['ptype ipv6', mutate(2, 0x86dd, 2)], ['ptype IPX', mutate(2, 0x8137, 2)],
    ['op 0', mutate(6, 0, 2)], ['op 3 (RARP)', mutate(6, 3, 2)], ['op 255', mutate(6, 255, 2)], ['op 0x0101', mutate(6, 0x0101, 2)],
  ];
  for (const [what, pkt] of bad) assert.equal(arp.wrap(pkt, 0, 28), Malformed.BAD_ARP_FORMAT, what);
  // Parsed (some families answer them), but not the shape addresses are learnt from.
  for (const [what, pkt] of [['htype 6', mutate(0, 6, 2)], ['htype 255', mutate(0, 255, 2)], ['hlen 8', mutate(4, 8, 1)], ['hlen 0', mutate(4, 0, 1)], ['plen 16', mutate(5, 16, 1)]] as Array<[string, Buffer]>) {
    assert.equal(arp.wrap(pkt, 0, 28), Malformed.OK, what);
    assert.equal(arp.isEthernetIpv4, false, what);
  }
  assert.equal(arp.wrap(base, 0, 28), Malformed.OK);
  assert.equal(arp.isEthernetIpv4, true);
  for (let n = 0; n < 28; n++) assert.equal(arp.wrap(Buffer.from(base.subarray(0, n)), 0, n), Malformed.TRUNCATED);
});

/** Options of a SYN, as a view; returns the summary. */
function optionsOf(options: Buffer, dataOffsetWords?: number): ReturnType<typeof emptyOptionSummary> {
  const seg = tcpSegment(A, B, { srcPort: 1, dstPort: 2, flags: Flag.SYN, options, dataOffset: dataOffsetWords });
  const tcp = new TcpView();
  assert.equal(tcp.wrap(seg, 0, seg.length), Malformed.OK);
  const out = emptyOptionSummary();
  out.mss = 99; out.wellFormed = false; // must be reset by the reader
  assert.doesNotThrow(() => readTcpOptions(tcp, out));
  return out;
}

test('TCP options: length 0, length 1, overrunning, unknown kinds, EOL, truncated kind byte', () => {
  const mss = [2, 4, 0x05, 0xb4];
  let s = optionsOf(Buffer.from(mss));
  assert.equal(s.wellFormed, true);
  assert.equal(s.mss, 1460);

  s = optionsOf(Buffer.from([30, 0, ...mss]));
  assert.equal(s.wellFormed, false, 'length 0');
  s = optionsOf(Buffer.from([30, 1, ...mss]));
  assert.equal(s.wellFormed, false, 'length 1');
  s = optionsOf(Buffer.from([2, 0, 5, 0xb4]));
  assert.equal(s.wellFormed, false, 'MSS with length 0');
  // MSS claiming 8 bytes in a 4-byte option area: runs past the header.
  s = optionsOf(Buffer.from([2, 8, 5, 0xb4]));
  assert.equal(s.wellFormed, false, 'overrunning');
  assert.equal(s.mss, -1);
  // Unknown kinds are skipped by their length and parsing continues.
  s = optionsOf(Buffer.from([253, 4, 0xde, 0xad, 254, 2, 77, 3, 9, 1, ...mss, 3, 3, 7, 1, 4, 2, 1, 1]));
  assert.equal(s.wellFormed, true);
  assert.equal(s.mss, 1460);
  assert.equal(s.wscale, 7);
  assert.equal(s.sackPermitted, true);
  // Known kinds with the wrong length are ignored, not misread.
  s = optionsOf(Buffer.from([2, 6, 5, 0xb4, 0, 0, 3, 4, 7, 0, 8, 6, 1, 2, 3, 4]));
  assert.equal(s.wellFormed, true);
  assert.equal(s.mss, -1);
  assert.equal(s.wscale, -1);
  assert.equal(s.hasTimestamp, false);
  // EOL ends the list: an MSS after it is not an option.
  s = optionsOf(Buffer.from([1, 0, 2, 4, 5, 0xb4, 0, 0]));
  assert.equal(s.wellFormed, true);
  assert.equal(s.mss, -1);
  // A kind byte in the last position with no room for its length.
  s = optionsOf(Buffer.from([1, 1, 1, 2]));
  assert.equal(s.wellFormed, false);
  // 40 bytes of NOPs: fine, nothing offered.
  s = optionsOf(Buffer.alloc(40, 1));
  assert.equal(s.wellFormed, true);
  assert.equal(s.mss, -1);
  // Timestamps parsed with full 32-bit values.
  s = optionsOf(Buffer.from([1, 1, 8, 10, 0xff, 0xff, 0xff, 0xfe, 0x80, 0, 0, 1]));
  assert.equal(s.hasTimestamp, true);
  assert.equal(s.tsVal, 0xfffffffe);
  assert.equal(s.tsEcr, 0x80000001);
});

test('TCP option walk never reads beyond the header, whatever the bytes', () => {
  // Deterministic garbage: every 2-byte prefix (kind, length) followed by a fixed tail.
  const tcp = new TcpView();
  const out = emptyOptionSummary();
  for (let kind = 0; kind < 256; kind += 1) {
    for (const len of [0, 1, 2, 3, 4, 10, 11, 40, 255]) {
      const seg = tcpSegment(A, B, { srcPort: 1, dstPort: 2, flags: Flag.SYN, options: Buffer.from([kind, len, 1, 1]) });
      tcp.wrap(seg, 0, seg.length);
      readTcpOptions(tcp, out);
      if (kind > 1 && (len < 2 || len > 4)) assert.equal(out.wellFormed, false, `kind ${kind} len ${len}`);
    }
  }
});

test('writeTcp pads option layouts that are not a multiple of 4 and keeps the checksum right', () => {
  for (const optLen of [1, 2, 3, 5, 6, 7, 10, 11, 39]) {
    const options = Buffer.alloc(optLen, 1);
    options[0] = 2; // the content does not matter to the header layout; kind 2 with garbage length
    const buf = Buffer.alloc(200, 0xa5);
    const padded = (optLen + 3) & ~3;
    const payload = Buffer.from('data!');
    payload.copy(buf, 20 + padded);
    const segLen = writeTcp(buf, 0, { srcPort: 80, dstPort: 40000, seq: 1, ack: 2, flags: Flag.SYN | Flag.ACK, reserved: 0, window: 1024, urgentPointer: 0 },
      options, optLen, payload.length, ipNum(B), ipNum(A));
    assert.equal(segLen, 20 + padded + payload.length, `segment length for ${optLen} option bytes`);
    const tcp = new TcpView();
    assert.equal(tcp.wrap(buf, 0, segLen), Malformed.OK);
    assert.equal(tcp.headerLength, 20 + padded);
    assert.equal(buf.toString('latin1', tcp.payloadOffset, tcp.payloadOffset + tcp.payloadLength), 'data!');
    for (let i = 20 + optLen; i < 20 + padded; i++) assert.equal(buf[i], 0, 'padding is EOL (0), not left unwritten');
    assert.ok(tcp.checksumValid(ipNum(B), ipNum(A)));
  }
});

test('checksum: agrees with an independent implementation on odd lengths, offsets and 64 KiB of 0xff', () => {
  let seed = 12345;
  const rnd = (): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed >>> 16; };
  for (let n = 0; n < 300; n++) {
    const len = rnd() % 300;
    const b = Buffer.alloc(len + 7);
    for (let i = 0; i < b.length; i++) b[i] = rnd() & 0xff;
    const start = rnd() % 7;
    assert.equal(internetChecksum(b, start, start + len), checksum16(b.subarray(start, start + len)));
  }
  const big = Buffer.alloc(65535, 0xff);
  assert.equal(internetChecksum(big, 0, big.length), checksum16(big));
  assert.equal(internetChecksum(Buffer.alloc(0), 0, 0), 0xffff);
});

test('small helpers: padFrame, malformedName, tcpFlagsToString', () => {
  const b = Buffer.alloc(80, 0xa5);
  assert.equal(padFrame(b, 42), 60);
  assert.ok(b.subarray(42, 60).every((x) => x === 0));
  assert.equal(b[60], 0xa5);
  assert.equal(padFrame(b, 70), 70);
  assert.equal(malformedName(Malformed.BAD_TOTAL_LENGTH), 'bad-total-length');
  assert.equal(malformedName(Malformed.OK), 'ok');
  assert.equal(malformedName(99), 'unknown-99');
  assert.equal(tcpFlagsToString(0x02), 'S');
  assert.equal(tcpFlagsToString(0x12), 'SA');
  assert.equal(tcpFlagsToString(0x29), 'FPU');
  assert.equal(tcpFlagsToString(0), '.');
  assert.equal(tcpFlagsToString(0x1c2), 'SEWN');
});
