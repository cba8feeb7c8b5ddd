import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { OsDbPersonality } from '../../daemon/src/personality/model/os-personality';
import { TcpFlag, type IcmpEchoReply, type UdpUnreachableReply, type ConnectionShape } from '../../daemon/src/personality/host-personality';
import {
  CISCO_IOS_15, FREEBSD_12, LINUX_5_4, NMAP_OPTIONS, WINDOWS_10_1607,
  emptyReply, flagString, optionString, parseEntry, segment,
} from './model-fixtures';

const ENTRIES = { linux: LINUX_5_4, windows: WINDOWS_10_1607, freebsd: FREEBSD_12, cisco: CISCO_IOS_15 };
const T0 = 1_700_000_000_000;

function host(text: string, seed = 7): OsDbPersonality {
  return new OsDbPersonality(parseEntry(text), { seed, startTimeMs: T0 });
}

function attr(text: string, test: string, a: string): string {
  return parseEntry(text).tests.get(test as never)?.get(a) as string;
}

test('SYN/ACKs to Nmap SEQ probes 1-6 carry O1-O6 and W1-W6 of the entry', () => {
  for (const [label, text] of Object.entries(ENTRIES)) {
    const p = host(text);
    NMAP_OPTIONS.seq.forEach((opts, i) => {
      const out = emptyReply();
      const seg = segment(opts, { timeMs: T0 + 100 * i, window: [1, 63, 4, 4, 16, 512][i] });
      assert.equal(p.respondTcp(seg, 'open', out), true, label);
      assert.equal(optionString(out), attr(text, 'OPS', `O${i + 1}`), `${label} O${i + 1}`);
      assert.equal(out.window.toString(16).toUpperCase(), attr(text, 'WIN', `W${i + 1}`), `${label} W${i + 1}`);
      assert.equal(flagString(out.flags), 'AS');
      assert.equal(out.ack, (seg.seq + 1) >>> 0);
      assert.equal(out.optionsLength % 4, 0);
    });
  }
});

test('the answer depends on what was offered, not on option order, window or port', () => {
  // Probe 1 offers WS 10, MSS 1460, TS, SACK; here the same offer in Linux client order.
  const reordered = Buffer.from('020405b40402080affffffff00000000' + '01030307', 'hex');
  for (const [label, text] of Object.entries(ENTRIES)) {
    const a = host(text);
    const b = host(text);
    const ra = emptyReply();
    const rb = emptyReply();
    a.respondTcp(segment(NMAP_OPTIONS.seq[0], { window: 1, dstPort: 22 }), 'open', ra);
    b.respondTcp(segment(reordered, { window: 29200, dstPort: 8080, srcPort: 51000, wscale: 10 }), 'open', rb);
    assert.equal(optionString(rb), optionString(ra), label);
    assert.equal(rb.window, ra.window, label);
  }
});

test('ordinary SYNs follow the learned negotiation rules', () => {
  const mssOnly = Buffer.from('020405b4', 'hex');
  const linux = emptyReply();
  host(LINUX_5_4).respondTcp(segment(mssOnly), 'open', linux);
  assert.equal(optionString(linux), 'M508'); // nothing offered but MSS: MSS only
  const cisco = emptyReply();
  host(CISCO_IOS_15).respondTcp(segment(Buffer.from('02040578', 'hex')), 'open', cisco);
  assert.equal(optionString(cisco), 'M578'); // Cisco echoes the offered MSS (O2 shows it)
  const win = emptyReply();
  host(WINDOWS_10_1607).respondTcp(segment(Buffer.from('020405b4010303080101 0402'.replace(/ /g, ''), 'hex')), 'open', win);
  assert.equal(optionString(win), 'MFFD7NNS'); // MSS+WS+SACK offered: the ECN probe's layout
  const fbsd = emptyReply();
  host(FREEBSD_12).respondTcp(segment(Buffer.from('020405b4010303060101080a0000000100000000', 'hex')), 'open', fbsd);
  assert.equal(optionString(fbsd), 'M5B4NW6NNT11'); // no SACK offered → O3's layout
});

test('ECN-setup SYN gets the ECN line: window, options, CC flags, DF, TTL', () => {
  const ecnFlags = TcpFlag.SYN | TcpFlag.ECE | TcpFlag.CWR;
  const cases: Array<[string, string, number]> = [
    [LINUX_5_4, 'ECE', 64],
    [WINDOWS_10_1607, '', 128],
    [CISCO_IOS_15, '', 255],
  ];
  for (const [text, cc, ttl] of cases) {
    const out = emptyReply();
    assert.equal(host(text).respondTcp(segment(NMAP_OPTIONS.ecn, { flags: ecnFlags, reserved: 4, urgentPointer: 0xf7f5, window: 3 }), 'open', out), true);
    assert.equal(optionString(out), attr(text, 'ECN', 'O'));
    assert.equal(out.window.toString(16).toUpperCase(), attr(text, 'ECN', 'W'));
    assert.equal((out.flags & TcpFlag.ECE) !== 0, cc === 'ECE');
    assert.equal(out.flags & TcpFlag.CWR, 0);
    assert.equal(out.ttl, ttl);
    assert.equal(out.reserved, 0);
    assert.equal(out.urgentPointer, 0);
  }
});

interface Shape { reply: boolean; flags?: string; seq?: 'Z' | 'A' | 'A+' | 'O'; ack?: 'Z' | 'S' | 'S+' | 'O'; window?: number; df?: boolean }

function checkShape(text: string, label: string, flags: number, state: 'open' | 'closed', opts: Buffer, want: Shape): void {
  const p = host(text);
  const seg = segment(opts, { flags, seq: 0x1000, ack: 0x9000 });
  const out = emptyReply();
  const replied = p.respondTcp(seg, state, out);
  assert.equal(replied, want.reply, `${label} reply`);
  if (!replied) return;
  if (want.flags !== undefined) assert.equal(flagString(out.flags), want.flags, `${label} flags`);
  const seqClass = out.seq === 0 ? 'Z' : out.seq === seg.ack ? 'A' : out.seq === seg.ack + 1 ? 'A+' : 'O';
  const ackClass = out.ack === 0 ? 'Z' : out.ack === seg.seq ? 'S' : out.ack === seg.seq + 1 ? 'S+' : 'O';
  if (want.seq) assert.equal(seqClass, want.seq, `${label} S`);
  if (want.ack) assert.equal(ackClass, want.ack, `${label} A`);
  if (want.window !== undefined) assert.equal(out.window, want.window, `${label} W`);
  if (want.df !== undefined) assert.equal(out.df, want.df, `${label} DF`);
  assert.equal(out.optionsLength, 0, `${label} O`);
}

test('T2-T7 situations are answered with the entry shapes', () => {
  const { SYN, ACK, FIN, PSH, URG } = TcpFlag;
  const T = NMAP_OPTIONS.t;
  // Linux: NULL and SYN+FIN to open dropped; RFC RSTs otherwise.
  checkShape(LINUX_5_4, 'linux T2', 0, 'open', T, { reply: false });
  checkShape(LINUX_5_4, 'linux T3', SYN | FIN | PSH | URG, 'open', T, { reply: false });
  checkShape(LINUX_5_4, 'linux T4', ACK, 'open', T, { reply: true, flags: 'R', seq: 'A', ack: 'Z', window: 0, df: true });
  checkShape(LINUX_5_4, 'linux T5', SYN, 'closed', T, { reply: true, flags: 'AR', seq: 'Z', ack: 'S+', window: 0 });
  checkShape(LINUX_5_4, 'linux T6', ACK, 'closed', T, { reply: true, flags: 'R', seq: 'A', ack: 'Z' });
  checkShape(LINUX_5_4, 'linux T7', FIN | PSH | URG, 'closed', NMAP_OPTIONS.t7, { reply: true, flags: 'AR', seq: 'Z', ack: 'S+' });
  // Windows answers NULL to open, and acks "other" values.
  checkShape(WINDOWS_10_1607, 'win T2', 0, 'open', T, { reply: true, flags: 'AR', seq: 'Z', ack: 'S' });
  checkShape(WINDOWS_10_1607, 'win T3', SYN | FIN | PSH | URG, 'open', T, { reply: true, flags: 'AR', seq: 'Z', ack: 'O' });
  checkShape(WINDOWS_10_1607, 'win T4', ACK, 'open', T, { reply: true, flags: 'R', seq: 'A', ack: 'O' });
  // FreeBSD drops Xmas to closed; Cisco's RSTs take seq from the probe's ack.
  checkShape(FREEBSD_12, 'fbsd T7', FIN | PSH | URG, 'closed', NMAP_OPTIONS.t7, { reply: false });
  checkShape(CISCO_IOS_15, 'cisco T5', SYN, 'closed', T, { reply: true, flags: 'AR', seq: 'A', ack: 'S+', df: false });
  checkShape(CISCO_IOS_15, 'cisco T7', FIN | PSH | URG, 'closed', NMAP_OPTIONS.t7, { reply: true, flags: 'AR', seq: 'A', ack: 'S' });
  // A RST is never answered, in any state.
  checkShape(WINDOWS_10_1607, 'win RST', TcpFlag.RST, 'closed', T, { reply: false });
});

test('RST data forges the RD CRC and quirks set the reserved bit and urgent pointer', () => {
  const text = LINUX_5_4.replace('T6(R=Y%DF=Y%T=3B-45%TG=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)', 'T6(R=Y%DF=Y%T=3B-45%TG=40%W=0%S=A%A=Z%F=R%O=%RD=EA6C967D%Q=RU)');
  assert.notEqual(text, LINUX_5_4);
  const out = emptyReply();
  host(text).respondTcp(segment(NMAP_OPTIONS.t, { flags: TcpFlag.ACK }), 'closed', out);
  assert.ok(out.payload);
  assert.equal(crc32(out.payload as Buffer), 0xea6c967d);
  assert.notEqual(out.reserved, 0);
  assert.notEqual(out.urgentPointer, 0);
  assert.equal(out.flags & TcpFlag.URG, 0);
});

test('ICMP echo and UDP unreachable follow IE and U1', () => {
  const echo: IcmpEchoReply = { code: 0, ttl: 0, df: false, ipId: 0, tos: 0 };
  const fbsd = host(FREEBSD_12);
  assert.equal(fbsd.respondIcmpEcho({ code: 9, ipDf: true, ipTtl: 50, ipTos: 0, timeMs: T0 }, echo), true);
  assert.deepEqual([echo.code, echo.df, echo.ttl], [9, true, 64]); // CD=S, DFI=S
  fbsd.respondIcmpEcho({ code: 0, ipDf: false, ipTtl: 50, ipTos: 4, timeMs: T0 + 1 }, echo);
  assert.deepEqual([echo.code, echo.df], [0, false]);
  host(WINDOWS_10_1607).respondIcmpEcho({ code: 9, ipDf: true, ipTtl: 50, ipTos: 0, timeMs: T0 }, echo);
  assert.deepEqual([echo.code, echo.df, echo.ttl], [0, false, 128]); // CD=Z, DFI=N

  const u: UdpUnreachableReply = {
    ttl: 0, df: true, ipId: 0, tos: 0, unused: 1, totalLength: 0, quotedTotalLength: 0, quotedIpId: 0,
    quotedIpChecksum: 'G', quotedUdpChecksum: 0, corruptQuotedPayload: true, quotedTtlDecrement: 5,
  };
  assert.equal(host(CISCO_IOS_15).respondUdpClosed(328, T0, u), true);
  assert.deepEqual([u.totalLength, u.ttl, u.df, u.unused, u.quotedTotalLength, u.quotedIpId, u.quotedUdpChecksum, u.corruptQuotedPayload], [0x38, 255, false, 0, -1, -1, -1, false]);
  host(WINDOWS_10_1607).respondUdpClosed(328, T0, u);
  assert.deepEqual([u.totalLength, u.quotedIpChecksum], [0x164, 'Z']);
  host(LINUX_5_4).respondUdpClosed(100, T0, u);
  assert.equal(u.totalLength, 128); // quotes the whole (shorter) datagram
});

test('connection shape agrees with the SYN/ACK', () => {
  const p = host(LINUX_5_4);
  const syn = segment(NMAP_OPTIONS.seq[0]);
  const shape: ConnectionShape = { ttl: 0, df: false, window: 0, wscale: 0, mss: 0, timestamps: false, tsOffset: 7, ipIdNext: -1 };
  p.connectionShape(syn, shape);
  const { ipIdNext, ...rest } = shape;
  assert.deepEqual(rest, { ttl: 64, df: true, window: 0x68df, wscale: 6, mss: 0x508, timestamps: true, tsOffset: 0 });
  // Linux (TI=Z, DF): an established socket counts IP IDs from a random start of its own.
  assert.ok(ipIdNext >= 0 && ipIdNext <= 0xffff);
  const starts = new Set<number>();
  for (let i = 0; i < 8; i++) { p.connectionShape(syn, shape); starts.add(shape.ipIdNext); }
  assert.ok(starts.size >= 7, 'each connection draws its own start');
  p.connectionShape(segment(Buffer.from('020405b4', 'hex')), shape);
  assert.equal(shape.wscale, -1);
  assert.equal(shape.timestamps, false);
});

test('same seed gives the same host; different seeds may differ', () => {
  const run = (seed: number): string => {
    const p = host(LINUX_5_4, seed);
    const parts: string[] = [];
    for (let i = 0; i < 6; i++) {
      const out = emptyReply();
      p.respondTcp(segment(NMAP_OPTIONS.seq[i], { timeMs: T0 + 100 * i }), 'open', out);
      parts.push(`${out.seq}:${out.options.subarray(0, out.optionsLength).toString('hex')}`);
    }
    parts.push(String(p.nextIpId('tcp-closed', T0 + 700)), [...p.chosen.get('SEQ') ?? []].join());
    return parts.join('|');
  };
  assert.equal(run(11), run(11));
  const distinct = new Set([1, 2, 3, 4, 5, 6].map(run));
  assert.ok(distinct.size >= 5, `seeds gave ${distinct.size} distinct hosts`);
});

test('replies reuse one option buffer (no allocation per packet)', () => {
  const p = host(WINDOWS_10_1607);
  const a = emptyReply();
  const b = emptyReply();
  p.respondTcp(segment(NMAP_OPTIONS.seq[0]), 'open', a);
  p.respondTcp(segment(NMAP_OPTIONS.seq[1], { timeMs: T0 + 100 }), 'open', b);
  assert.equal(a.options, b.options);
});

test('vendor comes from the first Class line', () => {
  assert.equal(host(CISCO_IOS_15).vendor, 'Cisco');
  assert.equal(host(WINDOWS_10_1607).name, 'Microsoft Windows 10 1607');
});
