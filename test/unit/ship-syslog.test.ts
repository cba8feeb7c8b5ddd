import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ecsContext, toEcs } from '../../daemon/src/events/ecs';
import { formatSyslog, frame, parseOctetCounted, severityOf } from '../../daemon/src/ship/syslog-format';
import { configOf, errorsOf } from './config-test-support';
import { SAMPLE_EVENTS } from './event-fixtures';

const ctx = ecsContext({ name: 'sensor-a', id: 'abc', hostname: 'honey host' }, Date.UTC(2026, 11, 2));
const HEADER = { facility: 19, hostname: 'honey host', appName: 'decoyd', procId: '4242', version: '0.1.0' };

test('RFC 5424 header: PRI from facility and severity, header fields without spaces, structured data, JSON message', () => {
  const syn = SAMPLE_EVENTS.find((e) => e.kind === 'tcp.packet');
  assert.ok(syn);
  const doc = toEcs(syn, 7, ctx);
  const line = formatSyslog(doc, HEADER).toString('utf8');
  const m = /^<(\d+)>1 (\S+) (\S+) (\S+) (\S+) (\S+) (\[origin [^\]]*\]\[meta sequenceId="7"\]) (\{.*\})$/.exec(line);
  assert.ok(m, line);
  assert.equal(Number(m[1]), 19 * 8 + 6, 'local3.info');
  assert.equal(m[2], doc['@timestamp']);
  assert.equal(m[3], 'honey_host', 'SP is not allowed in HOSTNAME');
  assert.equal(m[4], 'decoyd');
  assert.equal(m[5], '4242');
  assert.equal(m[6], 'tcp.packet');
  assert.deepEqual(JSON.parse(m[8] as string), doc);
});

test('severity: alerts warn, errors err, credentials notice', () => {
  const sev = (kind: string): number => {
    const e = SAMPLE_EVENTS.find((x) => x.kind === kind);
    assert.ok(e, kind);
    return severityOf(toEcs(e, 1, ctx));
  };
  assert.equal(sev('scan.detected'), 4);
  assert.equal(sev('service.login'), 5);
  assert.equal(sev('icmp'), 6);
});

test('octet counting frames round-trip, counting bytes not characters', () => {
  const a = Buffer.from('<134>1 - - - - - - {"x":"é"}');
  const b = Buffer.from('<134>1 - - - - - - {"y":2}');
  const wire = Buffer.concat([frame(a, 'octet-counting'), frame(b, 'octet-counting'), Buffer.from('12 <13')]);
  const { messages, rest } = parseOctetCounted(wire);
  assert.deepEqual(messages.map((m) => m.toString()), [a.toString(), b.toString()]);
  assert.equal(rest.toString(), '12 <13');
  assert.equal(frame(a, 'lf').toString(), `${a.toString()}\n`);
});

test('ship: YAML defaults per transport, facility names, kind families', () => {
  const cfg = configOf('s.yaml', `ship:
  - { kind: syslog, transport: tls, host: collector.example, ca_file: ca.pem }
  - { kind: syslog, host: 192.0.2.10, facility: local5, kinds: [ "service.*", scan.detected ] }
`);
  const [tls, udp] = cfg.ship ?? [];
  assert.ok(tls?.kind === 'syslog' && udp?.kind === 'syslog');
  assert.equal(tls.port, 6514);
  assert.equal(tls.framing, 'octet-counting');
  assert.equal(tls.maxMessageBytes, 65536);
  assert.equal(tls.tls?.verify, true);
  assert.ok(tls.tls?.caFile?.endsWith('/ca.pem'));
  assert.equal(udp.transport, 'udp');
  assert.equal(udp.port, 514);
  assert.equal(udp.facility, 21);
  assert.equal(udp.maxMessageBytes, 8192);
  assert.ok(udp.kinds?.includes('service.login') && udp.kinds.includes('scan.detected') && !udp.kinds.includes('tcp.packet'));
});

test('ship: bad entries are errors naming the key', () => {
  const { lines } = errorsOf('s.yaml', `ship:
  - { kind: kafka, host: x }
  - { kind: syslog, transport: udp, host: 192.0.2.1, framing: lf, ca_file: x.pem }
  - { kind: syslog, transport: tls, host: 192.0.2.1, framing: lf, cert_file: c.pem }
  - { kind: syslog, host: 192.0.2.1, kinds: [ tcp.nothing ], port: 70000 }
`);
  const text = lines.join('\n');
  assert.match(text, /expected a shipper kind \(syslog, postgres\), got "kafka"/);
  assert.match(text, /framing is for tcp and tls/);
  assert.match(text, /ca_file is for transport: tls/);
  assert.match(text, /RFC 5425/);
  assert.match(text, /needs both cert_file and key_file/);
  assert.match(text, /no event kind "tcp.nothing"/);
  assert.match(text, /port/);
});
