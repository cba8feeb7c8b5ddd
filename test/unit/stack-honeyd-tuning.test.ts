/**
 * Honeyd's `set T droprate syn N` and `annotate "P" [no] finscan | fragment drop|old|new` through
 * Engine.handleFrame, and their way from the Honeyd file into the compiled template.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTemplate } from '../../daemon/src/daemon';
import { FinScan } from '../../daemon/src/stack/decoy-table';
import { IssueList } from '../../daemon/src/config/errors';
import { parseHoneydConfig } from '../../daemon/src/config/honeyd';
import type { TemplateConfig } from '../../daemon/src/config/types';
import { Flag, ipFrame, tcpFrame, udpDatagram } from '../helpers/frames';
import { CLIENT_IP, CLIENT_MAC, DECOY_IP, Harness, linuxTemplate } from './stack-harness';

function tuned(extra: Partial<TemplateConfig>): TemplateConfig {
  return { ...linuxTemplate(), ...extra };
}

test('droprate syn: new SYNs to open ports are dropped at the rate; closed ports, retransmitted SYNs of a connection and other segments are not', () => {
  // The engine's random source is shared (neighbour cache, links): set what the next draws return.
  let draw = 0.2;
  const h = new Harness({ templates: [tuned({ dropRateSyn: 50 })], random: () => draw });
  h.take();
  const mac = h.macOf(DECOY_IP);
  const syn = (srcPort: number, dstPort: number, flags: number = Flag.SYN, seq = 1000): number[] => {
    h.feed(tcpFrame(mac, CLIENT_MAC, CLIENT_IP, DECOY_IP, { srcPort, dstPort, flags, seq }));
    return h.take().map((f) => f.tcp?.flags ?? -1);
  };
  assert.deepEqual(syn(41000, 80), [], 'draw 0.2 < 50 %: the SYN is dropped');
  assert.ok(h.events.some((e) => e.kind === 'drop' && (e as { reason: string }).reason === 'droprate-syn'));
  draw = 0.7;
  assert.deepEqual(syn(41000, 80), [Flag.SYN | Flag.ACK], 'the retry draws 0.7: answered');
  draw = 0.2;
  // A SYN of the half-open connection (retransmission) is not a new connection request.
  assert.deepEqual(syn(41000, 80), [Flag.SYN | Flag.ACK], 'retransmitted SYN of the half-open connection');
  // Closed ports still answer RST (Honeyd draws only for listening ports).
  assert.deepEqual(syn(41001, 81), [Flag.RST | Flag.ACK]);
  // A SYN/ACK or a bare ACK is no connection request.
  assert.deepEqual(syn(41003, 80, Flag.ACK), [Flag.RST]);
  assert.deepEqual(syn(41002, 80), []);
  // A template without it drops nothing.
  assert.equal(compileTemplate(linuxTemplate()).synDropRate, 0);
});

test('droprate syn 100 drops every connection request; 0 none', () => {
  const all = new Harness({ templates: [tuned({ dropRateSyn: 100 })], random: () => 0.9999 });
  all.take();
  for (let p = 0; p < 20; p++) all.feed(tcpFrame(all.macOf(DECOY_IP), CLIENT_MAC, CLIENT_IP, DECOY_IP, { srcPort: 42000 + p, dstPort: 7, flags: Flag.SYN, seq: 1 }));
  assert.equal(all.take().length, 0);
  const none = new Harness({ templates: [tuned({ dropRateSyn: 0 })], random: () => 0 });
  none.take();
  for (let p = 0; p < 20; p++) none.feed(tcpFrame(none.macOf(DECOY_IP), CLIENT_MAC, CLIENT_IP, DECOY_IP, { srcPort: 42000 + p, dstPort: 7, flags: Flag.SYN, seq: 1 }));
  assert.equal(none.take().length, 20);
});

test('annotate no finscan: a FIN probe to an open port gets the closed-port RST; finscan keeps it silent', () => {
  const probe = (h: Harness, flags: number): number[] => {
    h.take();
    h.feed(tcpFrame(h.macOf(DECOY_IP), CLIENT_MAC, CLIENT_IP, DECOY_IP, { srcPort: 43000, dstPort: 80, flags, seq: 5000 }));
    return h.take().map((f) => f.tcp?.flags ?? -1);
  };
  const noFinscan = new Harness({ templates: [tuned({ annotation: { finscan: false } })] });
  assert.deepEqual(probe(noFinscan, Flag.FIN), [Flag.RST | Flag.ACK]);
  assert.deepEqual(probe(noFinscan, Flag.FIN | Flag.PSH | Flag.URG), [Flag.RST | Flag.ACK], 'Xmas carries FIN without SYN/ACK: same rule');
  assert.deepEqual(probe(noFinscan, 0), [], 'a NULL probe is not a FIN probe: the personality decides (Linux: silent)');
  assert.deepEqual(probe(noFinscan, Flag.SYN), [Flag.SYN | Flag.ACK], 'SYNs still open the port');
  const finscan = new Harness({ templates: [tuned({ annotation: { finscan: true } })] });
  assert.deepEqual(probe(finscan, Flag.FIN), []);
  assert.equal(compileTemplate(tuned({ annotation: { finscan: true } })).finScan, FinScan.DROP);
  assert.equal(compileTemplate(linuxTemplate()).finScan, FinScan.MODEL);
});

/** A UDP datagram to the echo port cut at [offset, length, more] triples, each piece taken from `source`. */
function pieces(mac: string, id: number, cuts: Array<[number, number, boolean, Buffer]>): Buffer[] {
  return cuts.map(([off, len, mf, source]) => {
    const part = Buffer.alloc(len);
    source.copy(part, 0, off, Math.min(source.length, off + len));
    return ipFrame(mac, CLIENT_MAC, { src: CLIENT_IP, dst: DECOY_IP, proto: 17, id, mf, fragOffset: off, payload: part });
  });
}

test('annotate fragment: drop refuses every fragment; old and new reassemble overlaps keeping the first or the newest bytes', () => {
  const first = udpDatagram(CLIENT_IP, DECOY_IP, 6000, 7, Buffer.from('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), 'zero');
  const second = udpDatagram(CLIENT_IP, DECOY_IP, 6000, 7, Buffer.from('BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'), 'zero');
  // 48 bytes of UDP: [0,24) from the first datagram, then [16,48) from the second overlapping 8 bytes.
  const send = (h: Harness, id: number): string[] => {
    h.take();
    for (const f of pieces(h.macOf(DECOY_IP), id, [[0, 24, true, first], [16, 32, false, second]])) h.feed(f);
    return h.take().map((f) => f.udp?.payload.toString() ?? '?');
  };
  const header = 8;
  const old = new Harness({ templates: [tuned({ annotation: { fragment: 'old' } })] });
  assert.deepEqual(send(old, 1), ['A'.repeat(24 - header) + 'B'.repeat(24)]);
  const fresh = new Harness({ templates: [tuned({ annotation: { fragment: 'new' } })] });
  assert.deepEqual(send(fresh, 2), ['A'.repeat(16 - header) + 'B'.repeat(32)]);
  // The Linux-like personality itself drops overlapping datagrams (Linux since 4.19).
  const model = new Harness();
  assert.deepEqual(send(model, 3), []);
  const dropAll = new Harness({ templates: [tuned({ annotation: { fragment: 'drop' } })] });
  dropAll.take();
  const whole = udpDatagram(CLIENT_IP, DECOY_IP, 6000, 7, Buffer.from('no overlap here, just two pieces!!!!!!!!'), 'zero');
  for (const f of pieces(dropAll.macOf(DECOY_IP), 4, [[0, 16, true, whole], [16, 32, false, whole]])) dropAll.feed(f);
  assert.equal(dropAll.take().length, 0);
  assert.equal(dropAll.events.filter((e) => e.kind === 'drop' && (e as { reason: string }).reason === 'annotate-fragment-drop').length, 2);
  // Unfragmented datagrams are untouched.
  dropAll.feed(ipFrame(dropAll.macOf(DECOY_IP), CLIENT_MAC, { src: CLIENT_IP, dst: DECOY_IP, proto: 17, payload: udpDatagram(CLIENT_IP, DECOY_IP, 6000, 7, Buffer.from('whole'), 'good') }));
  assert.deepEqual(dropAll.take().map((f) => f.udp?.payload.toString()), ['whole']);
});

test('the Honeyd file carries annotate and droprate syn into the template that runs them', () => {
  const issues = new IssueList();
  const text = `annotate "Linux 2.6.32" no finscan
annotate "Linux 2.6.32" fragment new
create lin
set lin personality "Linux 2.6.32"
set lin droprate syn 12.5
set lin default tcp action reset
`;
  const parsed = parseHoneydConfig('x.conf', issues, () => text);
  const t = parsed.config.templates.get('lin');
  assert.ok(t);
  const rt = compileTemplate(t);
  assert.deepEqual([rt.finScan, rt.fragments, rt.synDropRate], [FinScan.RESET, 'last', 0.125]);
  assert.deepEqual(issues.warnings.filter((w) => /parsed but not run/.test(w.message)), []);
});
