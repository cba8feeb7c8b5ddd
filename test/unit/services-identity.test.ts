/**
 * Identity synthesis and the services that serve it: chain checks (the response wins nmap's whole
 * match order), per-host filler determinism, TLS with a per-host certificate, UDP probes, events,
 * and the load-time check with its hint.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { Duplex } from 'node:stream';
import { connect } from 'node:tls';
import type { ServiceIdentitySpec } from '../../daemon/src/config/types';
import type { DecoyEvent, DecoyEventKind, EventSink } from '../../daemon/src/events/event';
import { identityProblem } from '../../daemon/src/services/identity/check';
import { IdentityDatagramService, IdentityStreamService } from '../../daemon/src/services/identity/identity-service';
import { findCandidates, solveTemplate, synthesize, type IdentityPlan } from '../../daemon/src/services/identity/synthesize';
import { serviceProbes } from '../../daemon/src/services/probes/catalog';
import { firstMatch, matchChain, probeOrder, versionInfo } from '../../daemon/src/services/probes/matcher';
import { parseServiceProbes } from '../../daemon/src/services/probes/service-probes';
import type { StreamContext } from '../../daemon/src/services/service';
import { makeHostCertificate } from '../../daemon/src/services/tls/cert';
import { errorsOf, configOf } from './config-test-support';
import { escapeBytes, parseServiceSpec } from '../../daemon/src/cli/services';

const file = serviceProbes();
const id = (s: Omit<ServiceIdentitySpec, 'tls'> & { tls?: boolean }): ServiceIdentitySpec => ({ tls: false, ...s });

function planOf(proto: 'tcp' | 'udp', port: number, spec: ServiceIdentitySpec, seed = 7): IdentityPlan {
  const plan = synthesize(file, findCandidates(file, proto, port, spec), spec, port, seed);
  assert.ok(plan, `no plan for ${spec.product}`);
  return plan;
}

const SPECS: [('tcp' | 'udp'), number, ServiceIdentitySpec][] = [
  ['tcp', 21, id({ name: 'ftp', product: 'ProFTPD', version: '1.3.5' })],
  ['tcp', 22, id({ name: 'ssh', product: 'OpenSSH', version: '9.2p1 Debian 2+deb12u10' })],
  ['tcp', 80, id({ name: 'http', product: 'Apache httpd', version: '2.4.57' })],
  ['tcp', 443, id({ name: 'http', product: 'nginx', version: '1.22.1', tls: true })],
  ['tcp', 587, id({ name: 'smtp', product: 'Exim smtpd', version: '4.96', hostname: 'mx1.example.org' })],
  ['tcp', 3306, id({ name: 'mysql', product: 'MySQL', version: '5.7.33' })],
  ['tcp', 3389, id({ name: 'ms-wbt-server', product: 'Microsoft Terminal Services' })],
  ['udp', 53, id({ name: 'domain', product: 'ISC BIND', version: '9.18.19' })],
  ['udp', 123, id({ name: 'ntp', product: 'NTP', version: 'v4' })],
];

test('identity_plans_win_the_whole_chain_and_print_the_configured_values', () => {
  for (const [proto, port, spec] of SPECS) {
    for (const seed of [1, 2, 3]) {
      const plan = planOf(proto, port, spec, seed);
      // The probe is one nmap sends to this port, and the answer is first in its whole chain.
      assert.ok(probeOrder(file, proto, port, spec.tls).includes(plan.probe), `${spec.product}: ${plan.probe.name} not sent to ${port}`);
      const hit = firstMatch(matchChain(file, plan.probe), plan.response);
      assert.equal(hit?.rule, plan.rule, `${spec.product}: another rule wins`);
      const printed = hit === undefined ? {} : versionInfo(hit);
      assert.equal(printed.p, spec.product);
      assert.equal(printed.v, spec.version);
      if (spec.hostname !== undefined) assert.equal(printed.h, spec.hostname);
      // A banner-first plan also must not be caught by an earlier NULL rule (it is the NULL chain).
      if (plan.probe.name === 'NULL') assert.equal(firstMatch(plan.probe.rules, plan.response)?.rule, plan.rule);
    }
  }
});

test('identity_a_shadowed_rule_is_never_chosen', () => {
  // The first rule catches every "220 …" banner, so the second can never be the first match.
  const fixture = parseServiceProbes([
    'Probe TCP NULL q||',
    'match ftp m|^220 | p/Generic FTP/',
    'match ftp m|^220 X-FTP (\\d[\\d.]+)| p/X-FTP/ v/$1/',
    'match ftp m|^230 X-FTP (\\d[\\d.]+)| p/X-FTP/ v/$1/',
  ].join('\n'), 'fixture');
  const spec = id({ name: 'ftp', product: 'X-FTP', version: '2.1' });
  const plan = synthesize(fixture, findCandidates(fixture, 'tcp', 21, spec), spec, 21, 1);
  assert.equal(plan?.rule.line, 4, 'the 230 rule is the only one that can win');
  assert.equal(firstMatch(fixture.probes[0].rules, plan.response)?.rule.line, 4);
  const only = parseServiceProbes('Probe TCP NULL q||\nmatch ftp m|^220 (.*)| p/Generic FTP/\nmatch ftp m|^220 X (\\d+)| p/X/ v/$1/', 'f');
  const x = id({ name: 'ftp', product: 'X', version: '1' });
  assert.equal(synthesize(only, findCandidates(only, 'tcp', 21, x), x, 21, 1), undefined);
});

test('identity_fillers_are_deterministic_per_seed_and_differ_between_seeds', () => {
  const spec = id({ name: 'smtp', product: 'Exim smtpd', version: '4.96' });
  const a = planOf('tcp', 25, spec, 11).response;
  assert.equal(planOf('tcp', 25, spec, 11).response, a);
  const others = new Set([11, 12, 13, 14, 15, 16].map((s) => planOf('tcp', 25, spec, s).response));
  assert.ok(others.size >= 3, `only ${others.size} distinct banners over 6 seeds`);
  const mem = id({ name: 'memcached', product: 'Memcached', version: '1.6.18' });
  assert.notEqual(planOf('tcp', 11211, mem, 1).response, planOf('tcp', 11211, mem, 2).response);
});

test('identity_template_solving_inverts_helpers', () => {
  assert.deepEqual(solveTemplate('$1', '1.3.5').map((m) => [...m]), [[[1, '1.3.5']]]);
  assert.deepEqual(solveTemplate('$2 Debian $3', '9.2p1 Debian 2').map((m) => [...m]), [[[2, '9.2p1'], [3, '2']]]);
  assert.deepEqual(solveTemplate('$SUBST(1,"_",".")', '1.2.3').map((m) => [...m]), [[[1, '1_2_3']]]);
  assert.deepEqual(solveTemplate('$I(1,">")', '258').map((m) => m.get(1)), ['\x01\x02', '\0\0\x01\x02', '\0\0\0\0\0\0\x01\x02']);
  assert.deepEqual(solveTemplate('ProFTPD', 'ProFTPD').length, 1);
  assert.deepEqual(solveTemplate('ProFTPD', 'vsftpd'), []);
});

class Sink implements EventSink {
  readonly events: DecoyEvent[] = [];
  wants(_kind: DecoyEventKind): boolean { return true; }
  emit(event: DecoyEvent): void { this.events.push(event); }
}

function fakeContext(local = '198.51.100.10', port = 21): StreamContext & { written: Buffer[]; ended: boolean } {
  const ctx = {
    local: { address: local, port }, remote: { address: '198.51.100.2', port: 40000 }, written: [] as Buffer[], ended: false,
    write(data: Buffer | string) { ctx.written.push(typeof data === 'string' ? Buffer.from(data, 'latin1') : data); return true; },
    end() { ctx.ended = true; },
    reset() { ctx.ended = true; },
  };
  return ctx;
}

const serviceOpts = (spec: ServiceIdentitySpec, port: number, events: EventSink) => ({ file, spec, port, templateName: 't', deploymentSeed: 99, events });

test('identity_stream_banner_first_and_request_first', () => {
  const sink = new Sink();
  const ftp = new IdentityStreamService(serviceOpts(id({ name: 'ftp', product: 'ProFTPD', version: '1.3.5' }), 21, sink));
  const c1 = fakeContext();
  ftp.open(c1);
  assert.equal(c1.written.length, 1, 'banner on connect');
  assert.match(c1.written[0].toString('latin1'), /^220 ProFTPD 1\.3\.5 Server/);
  assert.deepEqual(sink.events.map((e) => e.kind), ['service.identity', 'service.probe']);
  const ev = sink.events[1];
  assert.ok(ev.kind === 'service.probe' && ev.probe === 'NULL' && ev.product === 'ProFTPD' && ev.version === '1.3.5' && ev.srcPort === 40000 && ev.dstPort === 21);

  const http = new IdentityStreamService(serviceOpts(id({ name: 'http', product: 'Apache httpd', version: '2.4.57' }), 80, sink));
  const c2 = fakeContext('198.51.100.10', 80);
  const session = http.open(c2);
  assert.equal(c2.written.length, 0, 'quiet (and open) during the NULL probe');
  assert.equal(c2.ended, false);
  session.onData(Buffer.from('\r\n\r\n')); // GenericLines: not the identity's probe
  assert.equal(c2.written.length, 0);
  session.onData(Buffer.from('GET / HTTP/1.0\r\n\r\n'));
  assert.equal(c2.written.length, 1, 'one write');
  const reply = c2.written[0].toString('latin1');
  const plan = http.planFor('198.51.100.10');
  assert.ok(plan);
  assert.equal(firstMatch(matchChain(file, plan.probe), reply)?.rule, plan.rule, 'the refreshed Date keeps the match');
  assert.match(reply, /^HTTP\/1\.[01] 200 OK\r\nDate: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\r\n/);
  assert.equal(c2.ended, true, 'HTTP/1.0: closed after the response');
  // Two hosts of one template get their own plans (fillers from their own seed).
  assert.notEqual(http.planFor('198.51.100.11'), plan);
});

test('identity_tls_handshake_then_inner_identity_with_a_per_host_certificate', async () => {
  const sink = new Sink();
  const svc = new IdentityStreamService(serviceOpts(id({ name: 'https', product: 'nginx', version: '1.22.1', tls: true, hostname: 'www.example.net' }), 443, sink));
  // Wire a TLS client to the session through two in-memory byte pipes.
  const toClient = new Duplex({ read() {}, write(chunk: Buffer, _e, cb) { session.onData(Buffer.from(chunk)); cb(); } });
  const ctx = fakeContext('198.51.100.10', 443);
  ctx.write = (data) => { toClient.push(typeof data === 'string' ? Buffer.from(data, 'latin1') : data); return true; };
  const session = svc.open(ctx);
  const client = connect({ socket: toClient, rejectUnauthorized: false });
  const reply = await new Promise<{ text: string; cert: X509Certificate | undefined }>((resolve, reject) => {
    let text = '';
    client.on('secureConnect', () => client.write('GET / HTTP/1.0\r\n\r\n'));
    client.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (text.includes('</html>')) resolve({ text, cert: client.getPeerX509Certificate() });
    });
    client.on('error', reject);
    setTimeout(() => reject(new Error(`timeout; got ${JSON.stringify(text)}`)), 5000).unref();
  });
  client.destroy();
  session.onClose();
  assert.match(reply.text, /\r\nServer: nginx\/1\.22\.1\r\n/);
  assert.ok(reply.cert);
  assert.equal(reply.cert.subject, 'CN=www.example.net');
  assert.ok(reply.cert.verify(reply.cert.publicKey), 'self-signed');
  const probeEvent = sink.events.find((e) => e.kind === 'service.probe');
  assert.ok(probeEvent?.kind === 'service.probe' && probeEvent.service === 'ssl/http' && probeEvent.probe === 'GetRequest' && probeEvent.tls?.startsWith('TLS'));
});

test('identity_host_certificates_differ_per_seed', () => {
  const a = new X509Certificate(makeHostCertificate('fs12', 1, Date.UTC(2026, 0, 1)).certPem);
  const b = new X509Certificate(makeHostCertificate('fs12', 2, Date.UTC(2026, 0, 1)).certPem);
  const a2 = new X509Certificate(makeHostCertificate('fs12', 1, Date.UTC(2026, 0, 1)).certPem);
  assert.equal(a.serialNumber, a2.serialNumber);
  assert.equal(a.validFrom, a2.validFrom);
  assert.notEqual(a.serialNumber, b.serialNumber);
  assert.equal(a.subjectAltName, 'DNS:fs12');
});

test('identity_udp_answers_only_nmaps_probe', () => {
  const sink = new Sink();
  const dns = new IdentityDatagramService(serviceOpts(id({ name: 'domain', product: 'ISC BIND', version: '9.18.19' }), 53, sink));
  const replies: Buffer[] = [];
  const local = { address: '198.51.100.10', port: 53 };
  dns.onDatagram(Buffer.from('garbage'), { address: '198.51.100.2', port: 5000 }, local, (b) => replies.push(b));
  assert.equal(replies.length, 0);
  const probe = file.probes.find((p) => p.name === 'DNSVersionBindReq');
  assert.ok(probe);
  dns.onDatagram(Buffer.from(probe.payload, 'latin1'), { address: '198.51.100.2', port: 5000 }, local, (b) => replies.push(b));
  assert.equal(replies.length, 1);
  const hit = firstMatch(matchChain(file, probe), replies[0].toString('latin1'));
  assert.ok(hit);
  assert.deepEqual([versionInfo(hit).p, versionInfo(hit).v], ['ISC BIND', '9.18.19']);
});

test('identity_config_yaml_and_load_time_errors', () => {
  const yaml = (service: string) => `templates:\n  t:\n    ports:\n      - { proto: tcp, port: 21, action: open, service: ${service} }\nhosts:\n  - { address: 198.51.100.10, template: t }\n`;
  const cfg = configOf('x.yaml', yaml('{ name: ftp, product: "ProFTPD", version: "1.3.5" }'), { checkDataFiles: true });
  assert.deepEqual(cfg.templates.get('t')?.ports[0].service, { kind: 'identity', identity: { name: 'ftp', product: 'ProFTPD', version: '1.3.5', tls: false } });
  const https = configOf('x.yaml', yaml('{ name: https, product: "nginx", version: "1.22.1" }'));
  const s = https.templates.get('t')?.ports[0].service;
  assert.ok(s?.kind === 'identity' && s.identity.tls);
  const unknown = errorsOf('x.yaml', yaml('{ name: ftp, product: "Proftpd", version: "1.3.5" }'), { checkDataFiles: true });
  assert.ok(unknown.lines.some((l) => /x\.yaml:4:\d+: .*unknown product "Proftpd".*did you mean "ProFTPD"/.test(l)), unknown.lines.join('\n'));
  const badKey = errorsOf('x.yaml', yaml('{ name: ftp, product: "ProFTPD", colour: red }'));
  assert.ok(badKey.lines.some((l) => /x\.yaml:4:\d+: .*colour/.test(l)), badKey.lines.join('\n'));
  const noVersion = errorsOf('x.yaml', yaml('{ name: ftp, product: "ProFTPD", version: "not a version" }'), { checkDataFiles: true });
  assert.ok(noVersion.lines.some((l) => /cannot emulate ftp "ProFTPD" not a version on tcp\/21/.test(l)), noVersion.lines.join('\n'));
  assert.equal(identityProblem(file, 'tcp', 21, id({ name: 'ftp', product: 'ProFTPD', version: '1.3.5' })), undefined);
});

test('identity_honeyd_extension_form', () => {
  const cfg = configOf('x.conf', 'create t\nadd t tcp port 21 open service ftp product "ProFTPD" version "1.3.5" hostname "ftp1"\nadd t tcp port 8443 open service http product "nginx" tls\nbind 198.51.100.10 t\n', { checkDataFiles: true });
  const ports = cfg.templates.get('t')?.ports ?? [];
  assert.deepEqual(ports[0].service, { kind: 'identity', identity: { name: 'ftp', product: 'ProFTPD', version: '1.3.5', hostname: 'ftp1', tls: false } });
  assert.ok(ports[1].service?.kind === 'identity' && ports[1].service.identity.tls);
  const bad = errorsOf('x.conf', 'create t\nadd t tcp port 21 open service ftp product "Proftpd"\nbind 198.51.100.10 t\n', { checkDataFiles: true });
  assert.ok(bad.lines.some((l) => /x\.conf:2:\d+: unknown product "Proftpd"/.test(l)), bad.lines.join('\n'));
  const syntax = errorsOf('x.conf', 'create t\nadd t tcp port 21 open service ftp colour "x"\n');
  assert.ok(syntax.lines.some((l) => /x\.conf:2:\d+: expected: open service NAME product/.test(l)), syntax.lines.join('\n'));
});

test('identity_http_answers_other_clients_but_not_other_nmap_probes', () => {
  const http = new IdentityStreamService(serviceOpts(id({ name: 'http', product: 'nginx', version: '1.22.1' }), 2301, new Sink()));
  const options = fakeContext('198.51.100.10', 2301);
  http.open(options).onData(Buffer.from('OPTIONS / HTTP/1.0\r\n\r\n')); // HTTPOptions: sent before GetRequest on 2301
  assert.equal(options.written.length, 0);
  const browser = fakeContext('198.51.100.10', 2301);
  http.open(browser).onData(Buffer.from('GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n'));
  assert.equal(browser.written.length, 1);
  assert.match(browser.written[0].toString('latin1'), /^HTTP\/1\.[01] 200 OK\r\n/);
});

test('identity_cli_spec_and_escaping', () => {
  assert.deepEqual(parseServiceSpec('tcp/21 ftp "ProFTPD" 1.3.5'), { proto: 'tcp', port: 21, spec: { name: 'ftp', product: 'ProFTPD', version: '1.3.5', tls: false } });
  assert.deepEqual(parseServiceSpec('tcp/22 ssh OpenSSH "9.2p1 Debian 2+deb12u10"').spec.version, '9.2p1 Debian 2+deb12u10');
  assert.equal(parseServiceSpec('tcp/443 https nginx').spec.tls, true);
  assert.throws(() => parseServiceSpec('21 ftp ProFTPD'), /PROTO\/PORT/);
  assert.equal(escapeBytes('220 a\r\n\0\xff"\\'), '220 a\\r\\n\\0\\xff\\"\\\\');
});

test('identity_mysql_greeting_is_whole_and_salts_differ_per_connection', () => {
  const mysql = new IdentityStreamService(serviceOpts(id({ name: 'mysql', product: 'MySQL', version: '5.7.33' }), 3306, new Sink()));
  const a = fakeContext('198.51.100.10', 3306);
  const b = fakeContext('198.51.100.10', 3306);
  mysql.open(a);
  mysql.open(b);
  const plan = mysql.planFor('198.51.100.10');
  assert.ok(plan?.nonces);
  const [x, y] = [a.written[0].toString('latin1'), b.written[0].toString('latin1')];
  assert.equal(x.length, y.length);
  assert.equal(x.charCodeAt(0) | (x.charCodeAt(1) << 8), x.length - 4, 'packet length header is true');
  assert.ok(x.endsWith('\0mysql_native_password\0'));
  assert.notEqual(x, y, 'salts are drawn per connection');
  for (const reply of [x, y]) assert.equal(firstMatch(matchChain(file, plan.probe), reply)?.rule, plan.rule);
});
