/**
 * The pcap reader/writer (test/helpers/pcap-file.ts) against the golden frames captured from real
 * Linux stacks, and the fixtures themselves: complete checksums (offloads were off), expected shapes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LINKTYPE_ETHERNET, PcapFormatError, parsePcap, readPcapFile, serializePcap, type PcapRecord } from '../helpers/pcap-file';

const FRAMES_DIR = resolve(__dirname, '../../../test/fixtures/frames');

/** The fixtures scripts/capture-fixtures.sh writes, with their frame counts. */
const FIXTURES: Record<string, number> = {
  'arp-request-reply': 2,
  'arp-gratuitous': 1,
  'icmp-echo': 2,
  'tcp-session': 10,
  'tcp-rst-closed': 2,
  'udp-port-unreachable': 2,
  'ipv4-fragments': 6,
  'nmap-os-probes': 48,
};

const MAC_A = '02:00:5e:00:71:01';
const MAC_B = '02:00:5e:00:71:02';

/** The frames of one fixture. */
function fixture(name: string): Buffer[] {
  return readPcapFile(join(FRAMES_DIR, `${name}.pcap`)).records.map((r: PcapRecord) => r.data);
}

function mac(frame: Buffer, off: number): string {
  return [...frame.subarray(off, off + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

function onesComplementSum(bufs: Buffer[]): number {
  let sum = 0;
  for (const buf of bufs) {
    for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
    if (buf.length % 2 === 1) sum += (buf[buf.length - 1] as number) << 8;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

interface Ipv4Info {
  headerLen: number;
  totalLen: number;
  protocol: number;
  moreFragments: boolean;
  fragmentOffset: number;
  payload: Buffer;
  src: Buffer;
  dst: Buffer;
}

function ipv4(frame: Buffer): Ipv4Info | undefined {
  if (frame.readUInt16BE(12) !== 0x0800) return undefined;
  const ip = frame.subarray(14);
  const headerLen = ((ip[0] as number) & 0x0f) * 4;
  const totalLen = ip.readUInt16BE(2);
  const flagsFrag = ip.readUInt16BE(6);
  return {
    headerLen,
    totalLen,
    protocol: ip[9] as number,
    moreFragments: (flagsFrag & 0x2000) !== 0,
    fragmentOffset: (flagsFrag & 0x1fff) * 8,
    payload: ip.subarray(headerLen, totalLen),
    src: ip.subarray(12, 16),
    dst: ip.subarray(16, 20),
  };
}

test('every fixture parses as Ethernet pcap with the documented frame count', () => {
  for (const [name, count] of Object.entries(FIXTURES)) {
    const file = readPcapFile(join(FRAMES_DIR, `${name}.pcap`));
    assert.equal(file.linkType, LINKTYPE_ETHERNET, name);
    assert.equal(file.nanosecond, false, name);
    assert.equal(file.records.length, count, name);
    for (const record of file.records) {
      assert.equal(record.data.length, record.origLen, `${name}: nothing cut by snaplen`);
      assert.ok(record.data.length <= 1514, `${name}: no frame above the MTU (offloads off)`);
    }
  }
});

test('serializePcap(parsePcap(x)) reproduces each fixture byte for byte', () => {
  for (const name of Object.keys(FIXTURES)) {
    const bytes = readFileSync(join(FRAMES_DIR, `${name}.pcap`));
    const parsed = parsePcap(bytes);
    assert.ok(serializePcap(parsed).equals(bytes), name);
  }
});

test('every IPv4 frame in the fixtures carries final header and transport checksums', () => {
  let checkedTransport = 0;
  for (const name of Object.keys(FIXTURES)) {
    for (const [index, frame] of fixture(name).entries()) {
      const ip = ipv4(frame);
      if (!ip) continue;
      const header = frame.subarray(14, 14 + ip.headerLen);
      assert.equal(onesComplementSum([header]), 0xffff, `${name}#${index}: IPv4 header checksum`);
      if (ip.moreFragments || ip.fragmentOffset !== 0) continue;
      if (ip.protocol === 1) {
        assert.equal(onesComplementSum([ip.payload]), 0xffff, `${name}#${index}: ICMP checksum`);
      } else if (ip.protocol === 6 || ip.protocol === 17) {
        const pseudo = Buffer.alloc(12);
        ip.src.copy(pseudo, 0);
        ip.dst.copy(pseudo, 4);
        pseudo[9] = ip.protocol;
        pseudo.writeUInt16BE(ip.payload.length, 10);
        assert.equal(onesComplementSum([pseudo, ip.payload]), 0xffff, `${name}#${index}: transport checksum`);
      } else {
        continue;
      }
      checkedTransport++;
    }
  }
  assert.ok(checkedTransport > 50, `checked ${checkedTransport} transport checksums`);
});

test('ARP fixtures: kernel request and reply, and a gratuitous announcement', () => {
  const [request, reply] = fixture('arp-request-reply');
  assert.ok(request && reply);
  assert.equal(mac(request, 0), 'ff:ff:ff:ff:ff:ff');
  assert.equal(request.readUInt16BE(20), 1);
  assert.equal(mac(request, 22), MAC_A);
  assert.equal(reply.readUInt16BE(20), 2);
  assert.equal(mac(reply, 0), MAC_A);
  assert.equal(mac(reply, 22), MAC_B);
  assert.deepEqual([...reply.subarray(28, 32)], [203, 0, 113, 2]);
  const [gratuitous] = fixture('arp-gratuitous');
  assert.ok(gratuitous);
  assert.ok(gratuitous.subarray(28, 32).equals(gratuitous.subarray(38, 42)), 'sender IP equals target IP');
});

test('TCP session fixture opens with a Linux SYN carrying MSS, SACK-permitted, timestamps, NOP, window scale', () => {
  const frames = fixture('tcp-session');
  const flags = frames.map((f) => {
    const ip = ipv4(f);
    assert.ok(ip && ip.protocol === 6);
    return (ip.payload[13] as number) & 0x3f;
  });
  assert.deepEqual(flags.slice(0, 3), [0x02, 0x12, 0x10]);
  assert.ok(flags.some((f) => (f & 0x01) !== 0), 'has a FIN');
  const syn = ipv4(frames[0] as Buffer) as Ipv4Info;
  const dataOffset = ((syn.payload[12] as number) >> 4) * 4;
  const options = syn.payload.subarray(20, dataOffset);
  const kinds: number[] = [];
  for (let i = 0; i < options.length; ) {
    const kind = options[i] as number;
    kinds.push(kind);
    i += kind === 0 || kind === 1 ? 1 : (options[i + 1] as number);
  }
  assert.deepEqual(kinds, [2, 4, 8, 1, 3]);
});

test('fragments fixture: three fragments each way at offsets 0, 1480, 2960', () => {
  const offsets = fixture('ipv4-fragments').map((f) => {
    const ip = ipv4(f) as Ipv4Info;
    return [ip.fragmentOffset, ip.moreFragments];
  });
  const one = [
    [0, true],
    [1480, true],
    [2960, false],
  ];
  assert.deepEqual(offsets, [...one, ...one]);
});

test('nmap fixture holds the OS-detection probes: T2 null, T3 SYN|FIN|PSH|URG, ECN SYN, U1, IE', () => {
  const frames = fixture('nmap-os-probes');
  const fromA = frames.filter((f) => mac(f, 6) === MAC_A).map((f) => ipv4(f) as Ipv4Info);
  const tcpFlags = fromA.filter((ip) => ip.protocol === 6).map((ip) => (ip.payload[13] as number) | (((ip.payload[12] as number) & 1) << 8));
  assert.ok(tcpFlags.includes(0x000), 'T2 (no flags)');
  assert.ok(tcpFlags.includes(0x02b), 'T3 (SYN FIN PSH URG)');
  assert.ok(tcpFlags.includes(0x0c2), 'ECN probe (SYN ECE CWR)');
  assert.ok(tcpFlags.includes(0x029), 'T7 (FIN PSH URG)');
  assert.ok(fromA.some((ip) => ip.protocol === 17 && ip.payload.length === 8 + 300), 'U1 (300 data bytes)');
  assert.equal(fromA.filter((ip) => ip.protocol === 1 && ip.payload[0] === 8).length, 2, 'IE1 and IE2');
  const seqWindows = fromA.filter((ip) => ip.protocol === 6 && ip.payload[13] === 0x02).map((ip) => ip.payload.readUInt16BE(14));
  for (const window of [1, 63, 4, 16, 512]) assert.ok(seqWindows.includes(window), `SEQ probe with window ${window}`);
});

test('parsePcap reads big-endian and nanosecond files', () => {
  const frame = Buffer.from('ffffffffffff0200000000010806', 'hex');
  const file = Buffer.alloc(24 + 16 + frame.length);
  file.writeUInt32BE(0xa1b23c4d, 0);
  file.writeUInt16BE(2, 4);
  file.writeUInt16BE(4, 6);
  file.writeUInt32BE(65535, 16);
  file.writeUInt32BE(1, 20);
  file.writeUInt32BE(1700000000, 24);
  file.writeUInt32BE(999_999_999, 28);
  file.writeUInt32BE(frame.length, 32);
  file.writeUInt32BE(60, 36);
  frame.copy(file, 40);
  const parsed = parsePcap(file);
  assert.equal(parsed.nanosecond, true);
  assert.equal(parsed.snapLen, 65535);
  assert.equal(parsed.records.length, 1);
  assert.deepEqual({ ...parsed.records[0], data: parsed.records[0]?.data.toString('hex') }, {
    tsSec: 1700000000,
    tsFrac: 999_999_999,
    origLen: 60,
    data: frame.toString('hex'),
  });
});

test('parsePcap rejects bad magic, truncation at every point, and impossible lengths', () => {
  const good = serializePcap({ records: [{ tsSec: 1, tsFrac: 2, data: Buffer.alloc(42, 7) }] });
  assert.throws(() => parsePcap(Buffer.from('0a0d0d0a', 'hex')), PcapFormatError);
  const badMagic = Buffer.from(good);
  badMagic.writeUInt32LE(0x0a0d0d0a, 0);
  assert.throws(() => parsePcap(badMagic), /unknown magic/);
  for (let len = 0; len < good.length; len++) {
    if (len === 24) {
      assert.equal(parsePcap(good.subarray(0, len)).records.length, 0);
      continue;
    }
    assert.throws(() => parsePcap(good.subarray(0, len)), PcapFormatError, `prefix of ${len} bytes`);
  }
  const inclAboveOrig = Buffer.from(good);
  inclAboveOrig.writeUInt32LE(41, 24 + 12);
  assert.throws(() => parsePcap(inclAboveOrig), /exceeds original length/);
  const hugeRecord = Buffer.from(good);
  hugeRecord.writeUInt32LE(0x7fffffff, 24 + 8);
  hugeRecord.writeUInt32LE(0x7fffffff, 24 + 12);
  assert.throws(() => parsePcap(hugeRecord), /implausible/);
  assert.throws(() => serializePcap({ records: [{ data: Buffer.alloc(10), origLen: 5 }] }), RangeError);
});

test('records are copies: changing the source buffer leaves parsed data intact', () => {
  const bytes = serializePcap({ records: [{ data: Buffer.from([1, 2, 3]) }] });
  const parsed = parsePcap(bytes);
  bytes.fill(0);
  assert.deepEqual([...(parsed.records[0]?.data ?? [])], [1, 2, 3]);
});
