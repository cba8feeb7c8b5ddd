import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BOOTP_MIN_LEN, BootpOp, DHCP_FIXED_LEN, DhcpMessageType, DhcpOption, DhcpView, DhcpWriter, type BootpFields,
} from '../../daemon/src/wire/dhcp';
import { join } from 'node:path';
import { Malformed } from '../../daemon/src/wire/malformed';
import { ipToString, macToString, parseIp } from '../../daemon/src/wire/address';
import { Ipv4View } from '../../daemon/src/wire/ipv4';
import { UdpView } from '../../daemon/src/wire/udp';
import { readPcapFile } from '../helpers/pcap-file';

const MAC = Buffer.from('02005e0a0001', 'hex');

function header(over: Partial<BootpFields> = {}): BootpFields {
  return { op: BootpOp.REPLY, xid: 0x12345678, secs: 3, flags: 0x8000, ciaddr: 0, yiaddr: parseIp('198.51.100.105'), siaddr: parseIp('198.51.100.2'), giaddr: 0, chaddr: MAC, ...over };
}

/** An OFFER as dnsmasq sends one: type, server id, lease, T1, T2, mask, router. */
function offer(buf = Buffer.alloc(600), off = 0): { buf: Buffer; len: number } {
  const w = new DhcpWriter(buf, off);
  w.begin(header());
  w.optionU8(DhcpOption.MESSAGE_TYPE, DhcpMessageType.OFFER);
  w.optionU32(DhcpOption.SERVER_ID, parseIp('198.51.100.2'));
  w.optionU32(DhcpOption.LEASE_TIME, 120);
  w.optionU32(DhcpOption.RENEWAL_TIME, 60);
  w.optionU32(DhcpOption.REBINDING_TIME, 105);
  w.optionU32(DhcpOption.SUBNET_MASK, parseIp('255.255.255.0'));
  w.optionBytes(DhcpOption.ROUTER, Buffer.from([198, 51, 100, 1, 198, 51, 100, 254]));
  return { buf, len: w.end() };
}

test('dhcp_writer_and_view_round_trip_header_and_options', () => {
  const { buf, len } = offer(Buffer.alloc(640), 20);
  assert.equal(len, BOOTP_MIN_LEN, 'short messages are padded to the BOOTP minimum');
  const v = new DhcpView();
  assert.equal(v.wrap(buf, 20, len), Malformed.OK);
  assert.equal(v.op, BootpOp.REPLY);
  assert.equal(v.xid, 0x12345678);
  assert.equal(v.secs, 3);
  assert.equal(v.flags, 0x8000);
  assert.equal(v.yiaddr, parseIp('198.51.100.105'));
  assert.equal(v.siaddr, parseIp('198.51.100.2'));
  assert.deepEqual(buf.subarray(v.chaddrOffset, v.chaddrOffset + 6), MAC);
  assert.equal(v.messageType, DhcpMessageType.OFFER);
  assert.equal(v.u32Option(DhcpOption.SERVER_ID), parseIp('198.51.100.2'));
  assert.equal(v.u32Option(DhcpOption.LEASE_TIME), 120);
  assert.equal(v.u32Option(DhcpOption.RENEWAL_TIME), 60);
  assert.equal(v.u32Option(DhcpOption.REBINDING_TIME), 105);
  assert.equal(v.firstAddress(DhcpOption.ROUTER), parseIp('198.51.100.1'));
  assert.equal(v.u32Option(DhcpOption.ROUTER), -1, 'an 8-byte option is not a u32');
  assert.equal(v.optionOffset(DhcpOption.CLIENT_ID), -1);
  // Bytes on the wire: magic cookie at 236, options from 240, END, zero padding.
  assert.equal(buf.readUInt32BE(20 + 236), 0x63825363);
  assert.deepEqual([...buf.subarray(20 + 240, 20 + 243)], [53, 1, 2]);
});

test('dhcp_writer_emits_options_in_call_order_with_exact_bytes', () => {
  const buf = Buffer.alloc(600);
  const w = new DhcpWriter(buf, 0);
  w.begin(header({ op: BootpOp.REQUEST, yiaddr: 0, siaddr: 0 }));
  w.optionU8(53, 1);
  w.optionBytes(61, Buffer.concat([Buffer.from([1]), MAC]));
  w.optionBytes(12, Buffer.from('DESKTOP-AB12CD3'));
  w.optionBytes(60, Buffer.from('MSFT 5.0'));
  w.optionBytes(55, Buffer.from([1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252]));
  w.optionU16(57, 1500);
  w.end();
  const v = new DhcpView();
  assert.equal(v.wrap(buf, 0, BOOTP_MIN_LEN), Malformed.OK);
  const codes: number[] = [];
  for (let p = DHCP_FIXED_LEN; buf[p] !== 255; p += 2 + buf[p + 1]) codes.push(buf[p]);
  assert.deepEqual(codes, [53, 61, 12, 60, 55, 57]);
  assert.equal(v.optionText(DhcpOption.HOST_NAME), 'DESKTOP-AB12CD3');
  assert.equal(v.optionText(DhcpOption.VENDOR_CLASS), 'MSFT 5.0');
  assert.deepEqual([...(v.optionBytes(DhcpOption.PARAMETER_REQUEST_LIST) ?? [])], [1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252]);
  assert.deepEqual(v.optionBytes(DhcpOption.CLIENT_ID), Buffer.concat([Buffer.from([1]), MAC]));
  assert.equal(buf.readUInt16BE(v.optionOffset(57)), 1500);
  assert.throws(() => w.optionBytes(77, Buffer.alloc(256)), RangeError);
});

test('dhcp_view_reads_overloaded_file_and_sname_fields', () => {
  const buf = Buffer.alloc(600);
  const w = new DhcpWriter(buf, 0);
  w.begin(header());
  w.optionU8(DhcpOption.MESSAGE_TYPE, DhcpMessageType.ACK);
  w.optionU8(DhcpOption.OVERLOAD, 3);
  const len = w.end();
  // Lease time in `file` (offset 108), server id in `sname` (offset 44), as RFC 2132 9.3 allows.
  buf.set([51, 4, 0, 0, 0x0e, 0x10, 255], 108);
  buf.set([54, 4, 198, 51, 100, 2, 0, 0, 255], 44);
  const v = new DhcpView();
  assert.equal(v.wrap(buf, 0, len), Malformed.OK);
  assert.equal(v.u32Option(DhcpOption.LEASE_TIME), 3600);
  assert.equal(v.u32Option(DhcpOption.SERVER_ID), parseIp('198.51.100.2'));
  assert.equal(v.messageType, DhcpMessageType.ACK);
});

test('dhcp_view_skips_pads_before_options', () => {
  const { buf, len } = offer();
  const v = new DhcpView();
  const copy = Buffer.alloc(len + 3);
  buf.copy(copy, 0, 0, DHCP_FIXED_LEN);
  copy.set([0, 0, 0], DHCP_FIXED_LEN);
  buf.copy(copy, DHCP_FIXED_LEN + 3, DHCP_FIXED_LEN, len);
  assert.equal(v.wrap(copy, 0, copy.length), Malformed.OK);
  assert.equal(v.messageType, DhcpMessageType.OFFER);
  assert.equal(v.u32Option(DhcpOption.LEASE_TIME), 120);
});

test('dhcp_view_rejects_malformed_messages', () => {
  const v = new DhcpView();
  const cases: [string, (b: Buffer) => void, number, number?][] = [
    ['shorter than the fixed header', () => {}, Malformed.TRUNCATED, 239],
    ['bad op', (b) => { b[0] = 3; }, Malformed.BAD_DHCP],
    ['not Ethernet', (b) => { b[1] = 6; }, Malformed.BAD_DHCP],
    ['hardware length 16', (b) => { b[2] = 16; }, Malformed.BAD_DHCP],
    ['no magic cookie', (b) => { b.writeUInt32BE(0, 236); }, Malformed.BAD_DHCP],
    ['option runs past the end', (b) => { b[241] = 200; }, Malformed.BAD_OPTION_LENGTH],
    ['no END option', (b) => { b.fill(53, 240); }, Malformed.BAD_OPTION_LENGTH],
    ['only pads, no END', (b) => { b.fill(0, 240); }, Malformed.TRUNCATED],
  ];
  for (const [name, mutate, expected, length] of cases) {
    const { buf, len } = offer();
    mutate(buf);
    assert.equal(v.wrap(buf, 0, length ?? len), expected, name);
  }
  // A code byte as the last byte of the area has no length byte.
  const { buf } = offer();
  buf.fill(0, 240, 300);
  buf[299] = 53;
  assert.equal(v.wrap(buf, 0, 300), Malformed.BAD_OPTION_LENGTH);
  // Overload with a wrong length, and an overloaded field without room.
  const o = offer();
  o.buf.set([52, 2, 1, 1, 255], 240);
  assert.equal(v.wrap(o.buf, 0, o.len), Malformed.BAD_OPTION_LENGTH);
  const f = offer();
  f.buf.set([52, 1, 1, 255], 240);
  f.buf.set([51, 200], 108);
  assert.equal(v.wrap(f.buf, 0, f.len), Malformed.BAD_OPTION_LENGTH);
  // A one-byte-short message type reads as "no type" (plain BOOTP), never out of bounds.
  const t = offer();
  t.buf.set([53, 0, 255], 240);
  assert.equal(v.wrap(t.buf, 0, t.len), Malformed.OK);
  assert.equal(v.messageType, 0);
});

test('dhcp_view_never_reads_past_its_bounds_on_random_input', () => {
  const v = new DhcpView();
  let seed = 12345;
  const rnd = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed >>> 16; };
  for (let i = 0; i < 2000; i++) {
    const { buf, len } = offer();
    for (let k = 0; k < 1 + (rnd() % 8); k++) buf[240 + (rnd() % 60)] = rnd() & 0xff;
    const cut = 240 + (rnd() % (len - 239));
    const status = v.wrap(buf, 0, cut);
    if (status === Malformed.OK) {
      // Every indexed option lies inside the message or an overloaded field.
      for (let code = 1; code < 255; code++) {
        const at = v.optionOffset(code);
        if (at >= 0) assert.ok(at + v.optionLength(code) <= cut || at < 236, `option ${code}`);
      }
    }
  }
});

/**
 * test/fixtures/frames/dhcp-dnsmasq.pcap: a real dnsmasq 2.90 (scanner side of the lab) leasing to two
 * decoyd DHCP clients (a Windows 10 and a Linux template), renewing at T1 and taking their
 * releases; `dhcp-dnsmasq.txt` is tcpdump's decode of it. dnsmasq's OFFERs and ACKs are real
 * server bytes; our clients' messages are what tcpdump, and dnsmasq, accepted.
 */
test('dhcp_view_reads_a_real_dnsmasq_exchange', () => {
  const file = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'frames', 'dhcp-dnsmasq.pcap');
  const view = new DhcpView();
  const udp = new UdpView();
  const ip = new Ipv4View();
  const messages = readPcapFile(file).records.map((r) => {
    const d = r.data;
    assert.equal(ip.wrap(d, 14, d.length - 14), Malformed.OK);
    assert.equal(udp.wrap(d, ip.payloadOffset, ip.payloadLength), Malformed.OK);
    assert.ok(udp.checksumValid(ip.src, ip.dst));
    assert.equal(view.wrap(d, udp.payloadOffset, udp.payloadLength), Malformed.OK);
    const options: number[] = [];
    for (let p = udp.payloadOffset + 240; d[p] !== 255; p += 2 + d[p + 1]) options.push(d[p]);
    return {
      type: view.messageType, op: view.op, xid: view.xid, yiaddr: ipToString(view.yiaddr), ciaddr: ipToString(view.ciaddr),
      chaddr: macToString(d, view.chaddrOffset), server: view.u32Option(DhcpOption.SERVER_ID), lease: view.u32Option(DhcpOption.LEASE_TIME),
      t1: view.u32Option(DhcpOption.RENEWAL_TIME), t2: view.u32Option(DhcpOption.REBINDING_TIME), mask: view.u32Option(DhcpOption.SUBNET_MASK),
      router: view.firstAddress(DhcpOption.ROUTER), options, ttl: ip.ttl, src: ipToString(ip.src), dst: ipToString(ip.dst),
    };
  });
  assert.equal(messages.length, 16);
  const offers = messages.filter((m) => m.type === DhcpMessageType.OFFER);
  const acks = messages.filter((m) => m.type === DhcpMessageType.ACK);
  assert.equal(offers.length, 3);
  assert.equal(acks.length, 4);
  for (const m of [...offers, ...acks]) {
    assert.equal(m.op, BootpOp.REPLY);
    assert.equal(m.server, parseIp('198.51.100.2'));
    assert.equal(m.lease, 120);
    assert.equal(m.mask, parseIp('255.255.255.0'));
    assert.equal(m.router, parseIp('198.51.100.2'));
    assert.match(m.yiaddr, /^198\.51\.100\.1[01]\d$/);
    assert.ok(m.t1 > 0 && m.t1 <= 20 && m.t2 > m.t1 && m.t2 < 120, `T1 ${m.t1}, T2 ${m.t2}`);
  }
  // Each ACK answers a REQUEST of the same transaction, to the same client.
  for (const ack of acks) assert.ok(messages.some((m) => m.type === DhcpMessageType.REQUEST && m.xid === ack.xid && m.chaddr === ack.chaddr));
  // The Windows client's options in order, and the Linux (dhclient) client's.
  const win = '38:63:bb:f0:09:21';
  const lin = '70:9c:d1:ba:73:b5';
  const first = (mac: string, type: number) => messages.find((m) => m.chaddr === mac && m.type === type && m.op === BootpOp.REQUEST);
  assert.deepEqual(first(win, DhcpMessageType.DISCOVER)?.options, [53, 61, 12, 60, 55]);
  assert.deepEqual(first(win, DhcpMessageType.REQUEST)?.options, [53, 61, 50, 54, 12, 81, 60, 55]);
  assert.deepEqual(first(win, DhcpMessageType.RELEASE)?.options, [53, 54, 61]);
  assert.deepEqual(first(lin, DhcpMessageType.DISCOVER)?.options, [53, 12, 55]);
  assert.deepEqual(first(lin, DhcpMessageType.REQUEST)?.options, [53, 54, 50, 12, 55]);
  assert.deepEqual(first(lin, DhcpMessageType.RELEASE)?.options, [53, 54, 12]);
  assert.deepEqual([first(lin, DhcpMessageType.DISCOVER)?.ttl, first(lin, DhcpMessageType.RELEASE)?.ttl], [128, 64]);
});
