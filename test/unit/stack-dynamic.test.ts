/**
 * Dynamic templates' pure parts: decoyd's p0f matcher against the installed p0f's own verdicts on
 * captured SYNs (test/fixtures/p0f/syns.json, from scripts/capture-p0f-fixtures.sh), the
 * `source os` name rule, the bounded source cache, the rule choice, and the engine answering one
 * dynamic address per source with a connection kept on its host.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_P0F_DATABASE, readP0fDatabase } from '../../daemon/src/daemon';
import { DynamicChooser, localSecondsOfDay, PassiveOs, RuleKind, type CompiledRule } from '../../daemon/src/stack/dynamic/dynamic-host';
import { conditionMatchesLabel, labelsMatching } from '../../daemon/src/stack/dynamic/os-condition';
import { matchSyn, SynFacts } from '../../daemon/src/stack/dynamic/p0f-matcher';
import { parseP0fDatabase, P0fParseError, type P0fDatabase } from '../../daemon/src/stack/dynamic/p0f-signatures';
import { SourceOsCache } from '../../daemon/src/stack/dynamic/source-os-cache';
import { DecoyHost, PortState, TemplateRuntime } from '../../daemon/src/stack/decoy-table';
import { parseIp } from '../../daemon/src/wire/address';
import { Harness, CLIENT_MAC, DECOY_IP } from './stack-harness';
import { checksum16, ethernet, Flag, tcpFrame, transportChecksum } from '../helpers/frames';
import type { TemplateConfig } from '../../daemon/src/config/types';

interface Fixture { capture: string; ip: string; p0f: string; rawSig: string }
const FIXTURES: Fixture[] = JSON.parse(readFileSync(resolve(__dirname, '../../../test/fixtures/p0f/syns.json'), 'utf8'));
const skipNoP0f = { skip: existsSync(DEFAULT_P0F_DATABASE) ? false : `${DEFAULT_P0F_DATABASE} is missing (Debian package p0f)` };

function db(): P0fDatabase {
  const d = readP0fDatabase();
  if (typeof d === 'string') assert.fail(d);
  return d;
}

test('p0f.fp is read: labels and [tcp:request] signatures', skipNoP0f, () => {
  const d = db();
  assert.ok(d.syn.length > 50, `${d.syn.length} SYN signatures`);
  const win7 = d.labels.findIndex((l) => l.text === 'Windows 7 or 8');
  assert.ok(win7 >= 0);
  assert.equal(d.labels[win7]?.osClass, 'win');
  assert.ok(d.syn.some((s) => s.label === win7 && s.win === 8192 && s.wscale === 0 && s.quirks !== 0));
  assert.ok(d.labels.some((l) => l.osClass === '!' && l.name === 'NMap'));
});

test('every captured SYN gets the label the installed p0f gave it', skipNoP0f, () => {
  const d = db();
  const facts = new SynFacts();
  assert.ok(FIXTURES.length >= 8);
  const captures = new Set(FIXTURES.map((f) => f.capture));
  for (const c of ['linux-curl', 'windows7-like', 'nmap-syn', 'hping3-syn']) assert.ok(captures.has(c), c);
  for (const f of FIXTURES) {
    const buf = Buffer.from(f.ip, 'hex');
    assert.equal(facts.read(buf, 0, buf.length), true, f.capture);
    const label = matchSyn(d, facts);
    const got = label < 0 ? '???' : `${d.labels[label]?.osClass === '!' ? 'app' : 'os'} = ${d.labels[label]?.text}`;
    assert.equal(got, f.p0f, `${f.capture} ${f.rawSig}`);
  }
});

test('the SYN reader refuses what p0f does not fingerprint', () => {
  const f = FIXTURES.find((x) => x.capture === 'linux-curl') as Fixture;
  const facts = new SynFacts();
  const syn = Buffer.from(f.ip, 'hex');
  const hl = ((syn[0] as number) & 0x0f) * 4;
  const synAck = Buffer.from(syn);
  synAck[hl + 13] = 0x12;
  assert.equal(facts.read(synAck, 0, synAck.length), false, 'SYN+ACK');
  const frag = Buffer.from(syn);
  frag[6] = 0x20; // MF
  assert.equal(facts.read(frag, 0, frag.length), false, 'fragment');
  assert.equal(facts.read(syn.subarray(0, 30), 0, 30), false, 'truncated');
  assert.equal(facts.read(syn, 0, syn.length), true);
  assert.equal(facts.mss, 1460);
  assert.deepEqual([...facts.layout.subarray(0, facts.layoutLength)], [2, 4, 8, 1, 3]);
});

test('p0f.fp syntax errors name the line', () => {
  assert.throws(() => parseP0fDatabase('[tcp:request]\nlabel = s:unix:Linux:3\nsig = *:64:0:*:mss*20,10:mss,bogus:df:0\n'), (e: unknown) => e instanceof P0fParseError && /line 3: unknown TCP option "bogus"/.test(e.message));
  assert.throws(() => parseP0fDatabase('[tcp:request]\nsig = *:64:0:*:*,*:mss::0\n'), /line 2: sig before any label/);
  const parsed = parseP0fDatabase('[tcp:response]\nlabel = s:unix:X:1\nsig = *:64:0:*:*,*:mss::0\n[tcp:request]\nlabel = g:win:Windows:\nsys = a\nsig = 4:128-:0:1460:%512,*:mss,eol+2:df,id+:+\n');
  assert.equal(parsed.syn.length, 1, 'only [tcp:request]');
  assert.deepEqual({ ...parsed.syn[0], layout: [...(parsed.syn[0]?.layout ?? [])] }, {
    label: 0, line: 7, ipVersion: 4, ttl: 128, badTtl: true, ipOptionsLength: 0, mss: 1460, winType: 2, win: 512, wscale: -1,
    layout: [2, 0], eolPad: 2, quirks: 0b110, payloadClass: 1,
  });
});

test('source os names: Honeyd genre/version words against p0f labels, at word boundaries', () => {
  const l = (name: string, flavor: string) => ({ generic: false, osClass: 'x', name, flavor, text: flavor === '' ? name : `${name} ${flavor}` });
  const yes: [string, ReturnType<typeof l>][] = [
    ['Windows', l('Windows', '7 or 8')], ['windows', l('Windows', 'XP')], ['Windows 7', l('Windows', '7 or 8')],
    ['Linux 2.6', l('Linux', '2.6.x')], ['Linux 3.1', l('Linux', '3.1-3.10')], ['Mac OS X', l('Mac OS X', '')], ['NMap', l('NMap', 'SYN scan')],
    ['Linux  2.2.x-3.x', l('Linux', '2.2.x-3.x (no timestamps)')],
  ];
  const no: [string, ReturnType<typeof l>][] = [
    ['Windows 7', l('Windows', 'XP')], ['Linux 3.1', l('Linux', '3.11 and newer')], ['Win', l('Windows', 'XP')], ['Linux 2', l('Linux', '20')], ['', l('Linux', '')],
  ];
  for (const [c, lab] of yes) assert.equal(conditionMatchesLabel(c, lab), true, `${c} ~ ${lab.text}`);
  for (const [c, lab] of no) assert.equal(conditionMatchesLabel(c, lab), false, `${c} !~ ${lab.text}`);
});

test('the source cache is bounded and forgets the least recently seen source', () => {
  const c = new SourceOsCache(3);
  c.set(1, 10);
  c.set(2, 20);
  c.set(3, 30);
  assert.equal(c.get(1), 10); // 1 is now the most recent
  c.set(4, 40); // evicts 2
  assert.deepEqual([c.get(1), c.get(2), c.get(3), c.get(4)], [10, -1, 30, 40]);
  c.set(3, 31);
  assert.equal(c.get(3), 31);
  assert.equal(c.size, 3);
  // Many sources: still 3, and the last three are kept.
  for (let i = 0; i < 10_000; i++) c.set(0xc6336400 + i, i);
  assert.equal(c.size, 3);
  assert.deepEqual([c.get(0xc6336400 + 9999), c.get(0xc6336400 + 9998), c.get(0xc6336400 + 9997), c.get(0xc6336400 + 9996)], [9999, 9998, 9997, -1]);
});

test('rules: first match wins, source ip by network, proto, time of day, os guess; nothing holds → the first rule', skipNoP0f, () => {
  const d = db();
  const rt = (name: string) => new TemplateRuntime(name, undefined, PortState.RESET, PortState.RESET, true, 0);
  const host = (name: string) => new DecoyHost(parseIp('198.51.100.10'), Buffer.alloc(6), rt(name), 'static', () => { throw new Error('unused'); });
  const [win, net, udp, night, other] = ['win', 'net', 'udp', 'night', 'other'].map(host) as DecoyHost[];
  const base: Omit<CompiledRule, 'kind' | 'host'> = { network: 0, mask: 0, startSeconds: 0, endSeconds: 0, proto: 0, osLabels: null };
  const os = new PassiveOs(d, 16);
  const now = Date.now();
  const sec = localSecondsOfDay(now);
  const rules: CompiledRule[] = [
    { ...base, kind: RuleKind.OS, osLabels: labelsMatching('Windows', d.labels), host: win as DecoyHost },
    { ...base, kind: RuleKind.IP, network: parseIp('203.0.113.0'), mask: 0xfffffff0, host: net as DecoyHost },
    { ...base, kind: RuleKind.PROTO, proto: 17, host: udp as DecoyHost },
    { ...base, kind: RuleKind.TIME, startSeconds: Math.max(0, sec - 60), endSeconds: Math.min(86_399, sec + 60), host: night as DecoyHost },
  ];
  const chooser = new DynamicChooser(rules, os);
  const windows = FIXTURES.find((f) => f.capture === 'windows7-like') as Fixture;
  const linux = FIXTURES.find((f) => f.capture === 'linux-curl') as Fixture;
  const winSrc = parseIp('198.51.100.3');
  const linSrc = parseIp('198.51.100.2');
  const w = Buffer.from(windows.ip, 'hex');
  const lx = Buffer.from(linux.ip, 'hex');
  os.observeSyn(w, 0, w.length, winSrc);
  os.observeSyn(lx, 0, lx.length, linSrc);
  assert.equal(chooser.choose(winSrc, 6, now), win, 'Windows SYN → the Windows rule');
  assert.equal(chooser.choose(linSrc, 6, now), night, 'Linux: no os, ip or proto rule; the time rule holds now');
  assert.equal(chooser.choose(parseIp('203.0.113.5'), 6, now), net);
  assert.equal(chooser.choose(parseIp('203.0.113.17'), 17, now), udp);
  assert.equal(chooser.choose(winSrc, 17, now), win, 'first match wins');
  // Nothing holds: Honeyd uses the first rule's template anyway.
  const late = new DynamicChooser(rules.slice(1, 3), os);
  assert.equal(late.choose(linSrc, 6, now), net);
  const withDefault = new DynamicChooser([...rules.slice(1, 3), { ...base, kind: RuleKind.DEFAULT, host: other as DecoyHost }], os);
  assert.equal(withDefault.choose(linSrc, 6, now), other);
  // A later unrecognised SYN does not erase the guess (p0f keeps the last known OS).
  const odd = Buffer.from(FIXTURES.find((f) => f.p0f === '???')?.ip ?? linux.ip, 'hex');
  os.observeSyn(odd, 0, odd.length, winSrc);
  assert.equal(chooser.choose(winSrc, 6, now), win);
});

// ---- the engine: dynamic addresses through the daemon's own composition ----


/** A captured SYN re-addressed from `src`:`sport` to DECOY:`dport`, checksums fixed, in an Ethernet frame to `mac`. */
function capturedSyn(capture: string, src: string, sport: number, dport: number, mac: string): Buffer {
  const f = FIXTURES.find((x) => x.capture === capture) as Fixture;
  const ip = Buffer.from(f.ip, 'hex');
  const hl = ((ip[0] as number) & 0x0f) * 4;
  ip.writeUInt32BE(parseIp(src) >>> 0, 12);
  ip.writeUInt32BE(parseIp(DECOY_IP) >>> 0, 16);
  ip.writeUInt16BE(0, 10);
  ip.writeUInt16BE(checksum16(ip.subarray(0, hl)), 10);
  ip.writeUInt16BE(sport, hl);
  ip.writeUInt16BE(dport, hl + 2);
  ip.writeUInt16BE(0, hl + 16);
  ip.writeUInt16BE(transportChecksum(src, DECOY_IP, 6, ip.subarray(hl)), hl + 16);
  return ethernet(mac, CLIENT_MAC, 0x0800, ip);
}

test('engine: a dynamic address answers each source as its rule says, and a connection keeps its host', skipNoP0f, () => {
  const plain = (name: string, ports: TemplateConfig['ports']): TemplateConfig => ({ name, dropRateIn: 0, defaults: { tcp: 'reset', udp: 'reset', icmp: 'open' }, ports });
  const win = plain('win', [{ proto: 'tcp', port: 445, action: 'open' }, { proto: 'tcp', port: 7, action: 'open', service: { kind: 'echo' } }]);
  const lin = plain('lin', [{ proto: 'tcp', port: 22, action: 'open' }]);
  const magic: TemplateConfig = {
    ...plain('magic', []), dynamic: true,
    rules: [{ template: 'win', condition: { kind: 'os', value: 'Windows' }, origin: 't:1' }, { template: 'lin', condition: { kind: 'default' }, origin: 't:2' }],
  };
  const h = new Harness({ viaAssemble: true, templates: [win, lin, magic], hosts: [{ address: DECOY_IP, template: 'magic' }] });
  const mac = h.macOf(DECOY_IP);
  const WIN = '198.51.100.3';
  const LIN = '198.51.100.2';
  const answer = (frame: Buffer): number => {
    h.take();
    h.feed(frame);
    const replies = h.take().filter((f) => f.tcp !== undefined);
    assert.equal(replies.length, 1);
    assert.equal(replies[0]?.src, mac, 'every rule answers with the address MAC');
    return replies[0]?.tcp?.flags ?? -1;
  };
  const SYNACK = Flag.SYN | Flag.ACK;
  const RSTACK = Flag.RST | Flag.ACK;
  assert.equal(answer(capturedSyn('windows7-like', WIN, 40001, 445, mac)), SYNACK, 'Windows source: win answers, 445 open');
  assert.equal(answer(capturedSyn('linux-curl', LIN, 40002, 445, mac)), RSTACK, 'Linux source: lin answers, 445 closed');
  assert.equal(answer(capturedSyn('linux-curl', LIN, 40003, 22, mac)), SYNACK);
  assert.equal(answer(capturedSyn('windows7-like', WIN, 40004, 22, mac)), RSTACK);

  // The Windows source opens an echo connection; then its nmap SYN makes it NMap (so: lin) for new flows.
  h.take();
  h.feed(capturedSyn('windows7-like', WIN, 40010, 7, mac));
  const synAck = h.take().find((f) => f.tcp !== undefined)?.tcp;
  assert.equal(synAck?.flags, SYNACK);
  const seq = (capturedSynSeq('windows7-like') + 1) >>> 0;
  const ackNo = ((synAck?.seq ?? 0) + 1) >>> 0;
  h.feed(tcpFrame(mac, CLIENT_MAC, WIN, DECOY_IP, { srcPort: 40010, dstPort: 7, seq, ack: ackNo, flags: Flag.ACK, window: 8192 }));
  assert.equal(answer(capturedSyn('nmap-syn', WIN, 40011, 7, mac)), RSTACK, 'nmap SYN: not Windows, lin answers (7 closed)');
  h.take();
  h.feed(tcpFrame(mac, CLIENT_MAC, WIN, DECOY_IP, { srcPort: 40010, dstPort: 7, seq, ack: ackNo, flags: Flag.ACK | Flag.PSH, window: 8192, payload: Buffer.from('still win\n') }));
  const echoed = h.take().filter((f) => f.tcp !== undefined);
  assert.ok(echoed.some((f) => f.tcp?.payload.toString() === 'still win\n'), `the connection stays with win: ${JSON.stringify(echoed.map((f) => f.tcp?.flags))}`);
  // Its kernel's next SYN makes it Windows again.
  assert.equal(answer(capturedSyn('windows7-like', WIN, 40012, 445, mac)), SYNACK);
});

function capturedSynSeq(capture: string): number {
  const ip = Buffer.from((FIXTURES.find((x) => x.capture === capture) as Fixture).ip, 'hex');
  return ip.readUInt32BE(((ip[0] as number) & 0x0f) * 4 + 4);
}
