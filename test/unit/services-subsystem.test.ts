/** Subsystems' pure parts: listener names, which listener takes a host's port, the relay header, restart timing, plans. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listenersForHost, parseListenerName } from '../../daemon/src/services/subsystem/listeners';
import { relayHeader } from '../../daemon/src/services/subsystem/relay-service';
import { expandSubsystemCommand, planSubsystems, restartDelay } from '../../daemon/src/services/subsystem/supervisor';
import { DecoyHost, TemplateRuntime, PortState } from '../../daemon/src/stack/decoy-table';
import { DEFAULT_LIMITS, type TemplateConfig } from '../../daemon/src/config/types';
import { parseIp } from '../../daemon/src/wire/address';

test('listener names as the shim publishes them', () => {
  assert.deepEqual(parseListenerName('tcp-0.0.0.0-8080'), { name: 'tcp-0.0.0.0-8080', address: '0.0.0.0', port: 8080 });
  assert.deepEqual(parseListenerName('tcp-198.51.100.10-22'), { name: 'tcp-198.51.100.10-22', address: '198.51.100.10', port: 22 });
  for (const bad of ['.bind-12-3', 'tcp-0.0.0.0-0', 'tcp-0.0.0.0-70000', 'udp-0.0.0.0-53', 'tcp-x-80']) assert.equal(parseListenerName(bad), null, bad);
});

test('a bind to the host address wins over a bind to any address; other hosts see only the wildcard', () => {
  const ls = ['tcp-0.0.0.0-80', 'tcp-198.51.100.10-80', 'tcp-198.51.100.11-443', 'tcp-0.0.0.0-22'].map((n) => parseListenerName(n)!);
  const a = listenersForHost(ls, '198.51.100.10');
  assert.deepEqual([...a].map(([p, l]) => [p, l.address]).sort(), [[22, '0.0.0.0'], [80, '198.51.100.10']]);
  const b = listenersForHost(ls, '198.51.100.11');
  assert.deepEqual([...b].map(([p, l]) => [p, l.address]).sort(), [[22, '0.0.0.0'], [443, '198.51.100.11'], [80, '0.0.0.0']]);
  // Order does not matter: the specific bind still wins when it comes first.
  const rev = listenersForHost([...ls].reverse(), '198.51.100.10');
  assert.equal(rev.get(80)?.address, '198.51.100.10');
});

test('the relay header: peer address and port, then local, network order', () => {
  assert.equal(relayHeader('203.0.113.7', 40000, '192.0.2.10', 8080).toString('hex'), 'cb007107' + '9c40' + 'c000020a' + '1f90');
});

test('restart timing: at once after 5 s of life (Honeyd), else doubling from the base up to the cap', () => {
  assert.deepEqual(restartDelay(5000, 3, 10_000, 300_000), { delayMs: 0, quickDeaths: 0 });
  assert.deepEqual(restartDelay(100, 0, 10_000, 300_000), { delayMs: 10_000, quickDeaths: 1 });
  assert.deepEqual(restartDelay(100, 1, 10_000, 300_000), { delayMs: 20_000, quickDeaths: 2 });
  assert.deepEqual(restartDelay(100, 5, 10_000, 300_000), { delayMs: 300_000, quickDeaths: 6 });
  assert.deepEqual(restartDelay(100, 1000, 10_000, 300_000), { delayMs: 300_000, quickDeaths: 1001 });
  assert.ok(DEFAULT_LIMITS.subsystemRestartDelayMs === 10_000, "Honeyd's 10 s");
});

test('$ipsrc is the honeypot address and $date the local date, as Honeyd substitutes them', () => {
  const cmd = expandSubsystemCommand('srv --ip $ipsrc --log /tmp/$date-$ipsrc.log', '198.51.100.10', new Date(2026, 11, 2, 10, 0, 0));
  assert.equal(cmd, 'srv --ip 198.51.100.10 --log /tmp/2026-12-02-198.51.100.10.log');
});

test('plans: one program per bound host, or one per template when shared; unbound templates run nothing', () => {
  const tmpl = (name: string, shared: boolean): TemplateConfig => ({
    name, dropRateIn: 0, defaults: { tcp: 'reset', udp: 'reset', icmp: 'open' }, ports: [],
    subsystems: [{ command: 'srv', shared, restart: false, origin: 'x.conf:1' }],
  });
  const templates = new Map([['solo', tmpl('solo', false)], ['pair', tmpl('pair', true)], ['idle', tmpl('idle', false)]]);
  const rt = (name: string) => new TemplateRuntime(name, undefined, PortState.RESET, PortState.RESET, true, 0);
  const solo = rt('solo');
  const pair = rt('pair');
  const host = (ip: string, t: TemplateRuntime) => new DecoyHost(parseIp(ip), Buffer.alloc(6), t, 'static', () => { throw new Error('unused'); });
  const hosts = [host('198.51.100.10', solo), host('198.51.100.11', solo), host('198.51.100.20', pair), host('198.51.100.21', pair)];
  const plans = planSubsystems(templates, hosts);
  assert.deepEqual(plans.map((p) => [p.template.name, p.hosts.map((h) => h.ipText)]), [
    ['solo', ['198.51.100.10']], ['solo', ['198.51.100.11']], ['pair', ['198.51.100.20', '198.51.100.21']],
  ]);
});

test('YAML subsystems read as Honeyd add T subsystem does, with errors at their keys', async () => {
  const { configOf, errorsOf } = await import('./config-test-support');
  const cfg = configOf('x.yaml', `templates:
  web:
    subsystems:
      - { command: "/usr/bin/python3 srv.py 8080", restart: true }
      - { command: "other", shared: true }
hosts:
  - { address: 198.51.100.10, template: web }
`);
  assert.deepEqual(cfg.templates.get('web')?.subsystems?.map((s) => [s.command, s.shared, s.restart, s.origin.replace(/^.*\//, '')]), [
    ['/usr/bin/python3 srv.py 8080', false, true, 'x.yaml:4'], ['other', true, false, 'x.yaml:5'],
  ]);
  const { lines } = errorsOf('x.yaml', `templates:\n  web:\n    subsystems:\n      - { shared: true }\n      - { command: "x", restart: "yes" }\n`);
  assert.match(lines[0] ?? '', /x\.yaml:4:9: templates\.web\.subsystems\[0\]: .*command/);
  assert.match(lines[1] ?? '', /x\.yaml:5:\d+: templates\.web\.subsystems\[1\]\.restart: /);
});
