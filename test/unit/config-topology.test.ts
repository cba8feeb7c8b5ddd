/** The YAML `topology:` section: the shape it produces, and errors with line and column. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeConfig } from '../../daemon/src/config/describe';
import { configOf, errorsOf } from './config-test-support';

const BASE = `templates: { r: ~ }
hosts: [{ address: 198.51.100.1, template: r }]
`;

test('topology_yaml_resolves_every_key', () => {
  const cfg = configOf('t.yaml', `${BASE}topology:
  entries:
    - { router: 198.51.100.1, network: 203.0.113.0/24 }
  links:
    - { router: 203.0.113.1, network: 203.0.113.0/26 }
  routes:
    - { router: 198.51.100.1, network: 203.0.113.0/24, gateway: 203.0.113.1, latency_ms: 8, jitter_ms: 0.5, loss_percent: 0.5, bandwidth: 1.5Mbps, drop_between_ms: [10, 40] }
    - { router: 203.0.113.1, network: 203.0.113.128/25, gateway: 203.0.113.129, bandwidth: 56000 }
  unreach:
    - { router: 203.0.113.1, network: 203.0.113.64/26 }
`);
  const t = cfg.topology;
  assert.deepEqual(t.entries.map((e) => [e.router, e.network]), [['198.51.100.1', '203.0.113.0/24']]);
  assert.match(t.entries[0]!.origin, /t\.yaml:5:7$/);
  assert.deepEqual(t.links.map((l) => [l.router, l.network]), [['203.0.113.1', '203.0.113.0/26']]);
  const [a, b] = t.routes;
  assert.deepEqual({ ...a, origin: undefined }, {
    router: '198.51.100.1', network: '203.0.113.0/24', gateway: '203.0.113.1', latencyMs: 8, jitterMs: 0.5, lossPercent: 0.5,
    bandwidthBps: 1_500_000, dropBetweenMs: { low: 10, high: 40 }, origin: undefined,
  });
  assert.equal(b?.bandwidthBps, 56000);
  assert.equal(b?.latencyMs, undefined, 'absent: the runtime uses Honeyd\'s 3 ms');
  assert.deepEqual(t.unreach.map((u) => [u.router, u.network]), [['203.0.113.1', '203.0.113.64/26']]);
});

test('topology_yaml_shape_errors_name_line_and_column', () => {
  const { lines } = errorsOf('t.yaml', `${BASE}topology:
  entries:
    - { router: 198.51.100.300 }
  links:
    - { router: 203.0.113.1, network: 203.0.113.1/24 }
  routes:
    - { router: 198.51.100.1, network: 203.0.113.0/24, gateway: 198.51.100.1 }
    - { router: 198.51.100.1, network: 192.0.2.0/24, gateway: 192.0.2.1, drop_between_ms: [5, 9] }
    - { router: 198.51.100.1, network: 192.0.2.0/25, gateway: 192.0.2.1, bandwidth: fast, loss_percent: 120 }
    - { router: 198.51.100.1, network: 192.0.2.0/26, gateway: 192.0.2.1, bandwidth: 1000, drop_between_ms: [9, 5] }
    - { router: 198.51.100.1, network: 192.0.2.0/27, gateway: 192.0.2.1, latency: 5 }
  tunnels: []
`);
  const expected = [
    /t\.yaml:5:17: topology\.entries\[0\]\.router: expected a dotted IPv4 address, got "198\.51\.100\.300"/,
    /t\.yaml:7:39: topology\.links\[0\]\.network: "203\.0\.113\.1\/24" has host bits set; the range is 203\.0\.113\.0\/24/,
    /t\.yaml:9:65: topology\.routes\[0\]\.gateway: the gateway must be another router than 198\.51\.100\.1/,
    /t\.yaml:10:91: topology\.routes\[1\]\.drop_between_ms: drop_between_ms needs a bandwidth/,
    /t\.yaml:11:105: topology\.routes\[2\]\.loss_percent: expected a number 0-100, got 120/,
    /t\.yaml:11:85: topology\.routes\[2\]\.bandwidth: expected bits per second/,
    /t\.yaml:12:108: topology\.routes\[3\]\.drop_between_ms: the low delay \(9\) must be below the high one \(5\)/,
    /t\.yaml:13:74: topology\.routes\[4\]\.latency: unknown key/,
    /t\.yaml:14:3: topology\.tunnels: unknown key/,
  ];
  for (const re of expected) assert.ok(lines.some((l) => re.test(l)), `no line matches ${re}:\n${lines.join('\n')}`);
});

test('topology_checks_across_the_configuration', () => {
  const { lines } = errorsOf('t.yaml', `${BASE}claim: [{ range: 203.0.113.192/26, template: r }]
limits: { maxDelayMs: 100 }
topology:
  entries:
    - { router: 198.51.100.1 }
    - { router: 198.51.100.5, network: 192.0.2.0/24 }
  routes:
    - { router: 198.51.100.1, network: 203.0.113.0/24, gateway: 203.0.113.1, latency_ms: 95 }
`);
  assert.ok(lines.some((l) => /t\.yaml:8:7: entry network 192\.0\.2\.0\/24 of 198\.51\.100\.5 overlaps 0\.0\.0\.0\/0/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /t\.yaml:3: claim range 203\.0\.113\.192\/26 reaches into the virtual network 203\.0\.113\.0\/24/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /t\.yaml:10:7: latency 95 ms \(\+ jitter\) .* exceeds limits\.maxDelayMs \(100\)/.test(l)), lines.join('\n'));

  const noEntry = errorsOf('t.yaml', `${BASE}topology:
  links: [{ router: 203.0.113.1, network: 203.0.113.0/26 }]
`);
  assert.match(noEntry.lines[0]!, /t\.yaml:4:11: the topology has routes but no entry router/);
});

test('topology_check_output_lists_routes_and_marks_hosts_behind_routers', () => {
  const cfg = configOf('t.yaml', `templates: { r: ~ }
hosts:
  - { address: 198.51.100.1, template: r }
  - { address: 203.0.113.1, template: r }
  - { address: 203.0.113.10, template: r }
topology:
  entries: [{ router: 198.51.100.1 }]
  links: [{ router: 203.0.113.1, network: 203.0.113.0/26 }]
  routes: [{ router: 198.51.100.1, network: 203.0.113.0/24, gateway: 203.0.113.1, latency_ms: 20, loss_percent: 1 }]
`);
  const text = describeConfig(cfg);
  assert.match(text, /198\.51\.100\.1 {2}template r {2}\(.*; entry router, on the LAN\)/);
  assert.match(text, /203\.0\.113\.1 {2}template r {2}\(.*; virtual router, no ARP\)/);
  assert.match(text, /203\.0\.113\.10 {2}template r {2}\(.*; behind virtual router 203\.0\.113\.1, no ARP\)/);
  assert.match(text, /198\.51\.100\.1 {2}203\.0\.113\.0\/24 via 203\.0\.113\.1 {2}latency 20 ms ± 2, loss 1 %/);
});
