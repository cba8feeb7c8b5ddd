/**
 * Shipping to syslog end to end: a real rsyslog (Debian's rsyslogd with its gtls driver) runs in
 * the lab's honeynet namespace on its loopback, with three inputs (TCP+TLS with a certificate of a
 * CA made by the test, plain TCP, UDP). decoyd ships to all three while nmap scans it. Every
 * event the daemon logged arrives at each input as parseable JSON with the RFC 5424 header
 * rsyslog parsed (app name, MSGID = event.action); then the collector is stopped, the shipper
 * queues (seen in /metrics), and after rsyslog is back the queued events arrive over TCP and TLS.
 */
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { startDaemon, type DaemonHandle } from '../helpers/daemon';
import { needsRoot, withLab, type Lab } from '../helpers/lab';
import { runNmap } from '../helpers/nmap';
import { waitUntil } from '../helpers/wait';

const TOKEN = 'e2e-syslog-token-83d1c0f7a2';
const INPUTS = { tls: 6514, tcp: 1514, udp: 1515 } as const;
type Input = keyof typeof INPUTS;

function makeCertificates(dir: string): void {
  const run = (args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  };
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=decoyd e2e collector CA']);
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf']);
}

function rsyslogConfig(dir: string): string {
  const rules = (Object.keys(INPUTS) as Input[]).map((name) => `ruleset(name="${name}") { action(type="omfile" file="${dir}/${name}.log" template="fields" flushOnTXEnd="on") }`).join('\n');
  return `
global(workDirectory="${dir}" maxMessageSize="256k"
  DefaultNetstreamDriverCAFile="${dir}/ca.pem" DefaultNetstreamDriverCertFile="${dir}/server.pem" DefaultNetstreamDriverKeyFile="${dir}/server.key")
module(load="imtcp" MaxSessions="50")
module(load="imudp")
template(name="fields" type="string" string="%app-name% %msgid% %msg%\\n")
${rules}
input(type="imtcp" port="${INPUTS.tls}" address="127.0.0.1" ruleset="tls" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imtcp" port="${INPUTS.tcp}" address="127.0.0.1" ruleset="tcp")
input(type="imudp" port="${INPUTS.udp}" address="127.0.0.1" ruleset="udp")
`;
}

interface Received { appName: string; msgId: string; doc: Record<string, Record<string, unknown>> }

/** The lines rsyslog wrote for one input; a line that is not `APP MSGID {json}` fails the test. */
function received(dir: string, input: Input): Received[] {
  const file = join(dir, `${input}.log`);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0).map((line) => {
    const m = /^(\S+) (\S+) (.*)$/.exec(line);
    assert.ok(m, `unparseable line from ${input}: ${line.slice(0, 200)}`);
    let doc: Received['doc'];
    try {
      doc = JSON.parse((m[3] as string).trimStart()) as Received['doc'];
    } catch {
      assert.fail(`${input}: the message is not JSON: ${line.slice(0, 300)}`);
    }
    return { appName: m[1] as string, msgId: m[2] as string, doc };
  });
}

function idsOf(lines: readonly Received[]): Set<string> {
  return new Set(lines.map((l) => String(l.doc.event?.id)));
}

/** The event ids the daemon logged on stdout (its pino lines are the same ECS documents). */
function loggedIds(d: DaemonHandle, from = 0): string[] {
  return d.events.slice(from).map((l) => (l.ecs?.event as Record<string, unknown> | undefined)?.id).filter((id): id is string => typeof id === 'string');
}

async function metric(lab: Lab, name: string, labels: string): Promise<number> {
  const r = await lab.exec(lab.honeyNs, ['curl', '-s', '-m', '5', '-H', `Authorization: Bearer ${TOKEN}`, 'http://127.0.0.1:8080/metrics'], { timeoutMs: 10_000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('syslog shipping to a real rsyslog', { skip: needsRoot.skip }, () => {
  test('every event of a scan arrives over TLS, TCP and UDP as JSON; TCP and TLS catch up after the collector returns', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'decoyd-syslog-e2e-'));
    try {
      makeCertificates(dir);
      writeFileSync(join(dir, 'rsyslog.conf'), rsyslogConfig(dir));
      writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
      await withLab(t, {}, async (lab) => {
        const startCollector = async (): Promise<ChildProcess> => {
          const p = lab.spawn(lab.honeyNs, ['rsyslogd', '-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'rsyslogd.pid')], { stdio: 'ignore' });
          await waitUntil('rsyslog listening', async () => {
            const ss = await lab.exec(lab.honeyNs, ['ss', '-Hltn'], { timeoutMs: 5000 });
            return ss.stdout.includes(`127.0.0.1:${INPUTS.tls}`) && ss.stdout.includes(`127.0.0.1:${INPUTS.tcp}`);
          }, 20_000, 200);
          return p;
        };
        let collector = await startCollector();
        const config = `
templates:
  web:
    personality: "Linux 4.15 - 5.6"
    defaults: { tcp: reset, udp: reset, icmp: open }
    ports:
      - { proto: tcp, port: 22, action: open, service: { banner: "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10\\r\\n" } }
      - { proto: tcp, port: 80, action: open }
hosts:
  - { address: 198.51.100.10, template: web }
  - { address: 198.51.100.11, template: web }
log: { level: info }
sensor: { name: e2e-syslog-sensor }
admin: { listen: "127.0.0.1:8080", token_file: ${join(dir, 'token')} }
ship:
  - { kind: syslog, name: tls, transport: tls, host: 127.0.0.1, port: ${INPUTS.tls}, ca_file: ${join(dir, 'ca.pem')}, facility: local3, reconnect_max_ms: 1000 }
  - { kind: syslog, name: tcp, transport: tcp, host: 127.0.0.1, port: ${INPUTS.tcp}, framing: lf, reconnect_max_ms: 1000 }
  - { kind: syslog, name: udp, transport: udp, host: 127.0.0.1, port: ${INPUTS.udp} }
`;
        const d = await startDaemon(lab, config);
        try {
          await runNmap(lab, ['-sS', '-O', '-n', '-Pn', '-p', '20-25,80', '198.51.100.10,11'], { flushNeighbours: true, timeoutMs: 180_000 });
          await lab.exec(lab.scannerNs, ['ping', '-c', '3', '-i', '0.2', '198.51.100.10'], { timeoutMs: 10_000 });
          const banner = await lab.exec(lab.scannerNs, ['socat', '-T', '2', '-', 'TCP:198.51.100.10:22'], { timeoutMs: 10_000, input: '' });
          assert.match(banner.stdout, /^SSH-2\.0-OpenSSH_8\.9p1/);
          // Everything logged so far must reach each input.
          const phase1 = loggedIds(d);
          assert.ok(phase1.length > 60, `the scan made only ${phase1.length} events`);
          for (const input of Object.keys(INPUTS) as Input[]) {
            await waitUntil(`${input} to receive ${phase1.length} events`, () => {
              const got = idsOf(received(dir, input));
              return phase1.every((id) => got.has(id));
            }, 20_000, 200);
          }
          for (const input of Object.keys(INPUTS) as Input[]) {
            const lines = received(dir, input);
            const kinds = new Set(lines.map((l) => l.msgId));
            for (const k of ['tcp.packet', 'icmp', 'tcp.open', 'tcp.close', 'scan.detected']) assert.ok(kinds.has(k), `${input}: no ${k} among ${[...kinds].join(', ')}`);
            for (const l of lines) {
              assert.equal(l.appName, 'decoyd');
              assert.equal(l.msgId, l.doc.event?.action, 'MSGID is event.action');
              assert.equal(l.doc.observer?.name, 'e2e-syslog-sensor');
              assert.equal(typeof l.doc['@timestamp'], 'string');
            }
            const ids = lines.map((l) => String(l.doc.event?.id));
            assert.equal(new Set(ids).size, ids.length, `${input}: an event arrived twice`);
          }
          assert.equal(await metric(lab, 'decoyd_ship_connected', 'shipper="tls"'), 1);
          assert.equal(await metric(lab, 'decoyd_ship_events_dropped_total', 'shipper="tls",reason="transport"'), 0);

          // The collector goes away: the shippers notice, queue, and say so in /metrics.
          const pid = Number(readFileSync(join(dir, 'rsyslogd.pid'), 'utf8'));
          process.kill(pid, 'SIGTERM');
          await new Promise<void>((resolve) => (collector.exitCode !== null ? resolve() : collector.once('exit', () => resolve())));
          await waitUntil('the TLS shipper to see the collector gone', async () => (await metric(lab, 'decoyd_ship_connected', 'shipper="tls"')) === 0, 20_000, 200);
          await waitUntil('the TCP shipper to see the collector gone', async () => (await metric(lab, 'decoyd_ship_connected', 'shipper="tcp"')) === 0, 20_000, 200);
          const mark = d.events.length;
          await runNmap(lab, ['-sS', '-n', '-Pn', '-p', '1-40', '198.51.100.11'], { timeoutMs: 60_000 });
          const phase2 = loggedIds(d, mark);
          assert.ok(phase2.length >= 40, `the second scan made ${phase2.length} events`);
          assert.ok((await metric(lab, 'decoyd_ship_queue_events', 'shipper="tls"')) >= 40, 'the TLS shipper queues while the collector is down');
          // The daemon answered the scan at full speed meanwhile.
          const answered = d.events.slice(mark).filter((l) => l.kind === 'tcp.packet' && l.answer !== 'none').length;
          assert.ok(answered >= 40, `answered ${answered} SYNs while the collector was down`);

          collector = await startCollector();
          for (const input of ['tls', 'tcp'] as const) {
            await waitUntil(`${input} to catch up with ${phase2.length} queued events`, () => {
              const got = idsOf(received(dir, input));
              return phase2.every((id) => got.has(id));
            }, 30_000, 200);
          }
          assert.equal(await metric(lab, 'decoyd_ship_queue_events', 'shipper="tls"'), 0);
          // The outage itself was logged once per shipper, not per retry.
          const outages = d.events.filter((l) => l.kind === 'daemon.error' && typeof l.message === 'string' && l.message.startsWith('ship tls:') && l.message.includes('retrying'));
          assert.equal(outages.length, 1, JSON.stringify(outages.map((l) => l.message)));
          assert.ok(d.events.some((l) => l.kind === 'daemon.error' && typeof l.message === 'string' && l.message.startsWith('ship tls: connected to')));
        } finally {
          await d.stop();
          collector.kill('SIGTERM');
        }
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
