import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadConfig } from '../../daemon/src/config/load';
import { DEFAULT_LIMITS } from '../../daemon/src/config/types';
import { configOf, errorsOf, loadedOf, REPO_ROOT } from './config-test-support';

const BRIEF_EXAMPLE = `interface: hp0
templates:
  web:
    personality: "Linux 4.15 - 5.6"     # an exact nmap-os-db Fingerprint name
    ethernet: "Dell"
    uptime: 864000
    defaults: { tcp: reset, udp: reset, icmp: open }
    ports:
      - { proto: tcp, port: 22, action: open }
      - { proto: tcp, port: 80, action: open }
      - { proto: tcp, port: 135, action: block }
hosts:
  - { address: 198.51.100.10, template: web }
claim:
  - { range: 198.51.100.128/25, template: web }
`;

test('yaml_valid_example_resolves_every_field', () => {
  const cfg = configOf('x.yaml', BRIEF_EXAMPLE, { checkDataFiles: true });
  assert.equal(cfg.interface, 'hp0');
  const web = cfg.templates.get('web');
  assert.ok(web);
  assert.equal(web.personality, 'Linux 4.15 - 5.6');
  assert.equal(web.ethernet, 'Dell');
  assert.equal(web.uptime, 864000);
  assert.deepEqual(web.defaults, { tcp: 'reset', udp: 'reset', icmp: 'open' });
  assert.deepEqual(web.ports, [
    { proto: 'tcp', port: 22, action: 'open' },
    { proto: 'tcp', port: 80, action: 'open' },
    { proto: 'tcp', port: 135, action: 'block' },
  ]);
  assert.equal(cfg.hosts.length, 1);
  assert.equal(cfg.hosts[0].address, '198.51.100.10');
  assert.match(cfg.hosts[0].origin, /x\.yaml:13$/);
  assert.deepEqual(cfg.claims.map((c) => [c.range, c.template]), [['198.51.100.128/25', 'web']]);
  assert.match(cfg.claims[0].origin, /x\.yaml:15$/);
  assert.deepEqual(cfg.limits, DEFAULT_LIMITS);
  assert.deepEqual(cfg.osDb, ['/usr/share/nmap/nmap-os-db']);
});

test('yaml_optional_sections_and_relative_paths', () => {
  const cfg = configOf(
    'sub/x.yaml',
    `templates: { t: ~ }
hosts: [{ address: 198.51.100.1, template: t }]
limits: { maxConnections: 10, reassemblyTimeoutMs: 5000 }
claim_settings: { tries: 2, windowMs: 1000, probeBeforeBind: false, probeWaitMs: 0 }
osdb: [/usr/share/nmap/nmap-os-db, extra/my-os-db]
mac_prefixes: ../macs
log: { level: warn }
`,
  );
  assert.equal(cfg.limits.maxConnections, 10);
  assert.equal(cfg.limits.reassemblyTimeoutMs, 5000);
  assert.equal(cfg.limits.maxReassemblies, DEFAULT_LIMITS.maxReassemblies);
  assert.deepEqual(cfg.claim, { tries: 2, windowMs: 1000, probeBeforeBind: false, probeWaitMs: 0 });
  assert.equal(cfg.osDb[0], '/usr/share/nmap/nmap-os-db');
  assert.ok(cfg.osDb[1].endsWith(path.join('sub', 'extra', 'my-os-db')) && path.isAbsolute(cfg.osDb[1]));
  assert.ok(!cfg.macPrefixes.includes('sub') && cfg.macPrefixes.endsWith(path.sep + 'macs'));
  assert.equal(cfg.log.level, 'warn');
  // A template with nothing under it gets the defaults.
  assert.deepEqual(cfg.templates.get('t')?.defaults, { tcp: 'reset', udp: 'reset', icmp: 'open' });
});

test('yaml_services_banner_echo_and_closed_alias', () => {
  const cfg = configOf(
    'x.yaml',
    `templates:
  t:
    ports:
      - { proto: tcp, port: 22, action: open, service: { banner: "SSH-2.0-OpenSSH_8.9p1\\r\\n" } }
      - { proto: udp, port: 7, action: open, service: echo }
      - { proto: tcp, port: 23, action: closed }
      - { proto: tcp, port: 25, action: filtered }
hosts: [{ address: 198.51.100.1, template: t }]
`,
  );
  assert.deepEqual(cfg.templates.get('t')?.ports, [
    { proto: 'tcp', port: 22, action: 'open', service: { kind: 'banner', banner: 'SSH-2.0-OpenSSH_8.9p1\r\n' } },
    { proto: 'udp', port: 7, action: 'open', service: { kind: 'echo' } },
    { proto: 'tcp', port: 23, action: 'reset' },
    { proto: 'tcp', port: 25, action: 'block' },
  ]);
});

/** Each broken input with the message it must produce: [name, yaml, expected line pattern]. */
const BROKEN: [string, string, RegExp][] = [
  [
    'port_not_integer',
    `templates:\n  web:\n    ports:\n      - { proto: tcp, port: 22, action: open }\n      - { proto: tcp, port: "http", action: open }\n`,
    /:5:29: templates\.web\.ports\[1\]\.port: expected an integer 1-65535, got "http"$/,
  ],
  ['port_zero', `templates:\n  web:\n    ports:\n      - proto: tcp\n        port: 0\n        action: open\n`, /:5:15: templates\.web\.ports\[0\]\.port: expected an integer 1-65535, got 0$/],
  ['port_too_big', `templates:\n  web:\n    ports: [{ proto: tcp, port: 65536, action: open }]\n`, /:3:33: templates\.web\.ports\[0\]\.port: expected an integer 1-65535, got 65536$/],
  ['bad_proto', `templates:\n  web:\n    ports: [{ proto: sctp, port: 1, action: open }]\n`, /:3:22: templates\.web\.ports\[0\]\.proto: expected tcp or udp, got "sctp"$/],
  ['bad_action', `templates:\n  web:\n    ports: [{ proto: tcp, port: 1, action: drop }]\n`, /:3:44: templates\.web\.ports\[0\]\.action: expected open, reset/],
  ['missing_action', `templates:\n  web:\n    ports:\n      - { proto: tcp, port: 1 }\n`, /:4:9: templates\.web\.ports\[0\]: missing key "action"$/],
  ['unknown_top_key', `templates: {}\nhostz: []\n`, /:2:1: hostz: unknown key$/],
  ['unknown_template_key', `templates:\n  web:\n    personalty: "Linux 4.15 - 5.6"\n`, /:3:5: templates\.web\.personalty: unknown key$/],
  ['unknown_port_key', `templates:\n  web:\n    ports:\n      - { proto: tcp, port: 1, action: open, banner: x }\n`, /:4:46: templates\.web\.ports\[0\]\.banner: unknown key$/],
  ['snake_case_limit_hint', `limits:\n  max_connections: 5\n`, /:2:3: limits\.max_connections: unknown key \(did you mean "maxConnections"\?\)$/],
  ['limit_not_positive', `limits:\n  maxConnections: 0\n`, /:2:19: limits\.maxConnections: expected an integer >= 1, got 0$/],
  ['bad_address', `templates: { t: ~ }\nhosts:\n  - { address: 198.51.100.300, template: t }\n`, /:3:16: hosts\[0\]\.address: expected a dotted IPv4 address, got "198\.51\.100\.300"$/],
  ['address_leading_zero', `templates: { t: ~ }\nhosts:\n  - { address: 198.51.100.010, template: t }\n`, /:3:16: hosts\[0\]\.address: leading zeros/],
  ['unknown_template_ref', `templates: { t: ~ }\nhosts:\n  - address: 198.51.100.1\n    template: nope\n`, /:4:15: hosts\[0\]\.template: unknown template "nope"$/],
  ['duplicate_host', `templates: { t: ~ }\nhosts:\n  - { address: 198.51.100.1, template: t }\n  - { address: 198.51.100.1, template: t }\n`, /:4:16: hosts\[1\]\.address: duplicate address 198\.51\.100\.1 \(first bound at .*x\.yaml:3\)$/],
  ['duplicate_port', `templates:\n  t:\n    ports:\n      - { proto: tcp, port: 22, action: open }\n      - { proto: tcp, port: 22, action: block }\n`, /:5:29: templates\.t\.ports\[1\]\.port: duplicate port tcp\/22 \(also at ports\[0\]\)$/],
  ['cidr_host_bits', `templates: { t: ~ }\nclaim:\n  - { range: 198.51.100.129/25, template: t }\n`, /:3:14: claim\[0\]\.range: "198\.51\.100\.129\/25" has host bits set; the range is 198\.51\.100\.128\/25$/],
  ['cidr_garbage', `templates: { t: ~ }\nclaim:\n  - { range: "198.51.100.0/33", template: t }\n`, /claim\[0\]\.range: prefix length 33 is over 32/],
  ['overlapping_claims', `templates: { t: ~ }\nclaim:\n  - { range: 198.51.100.0/24, template: t }\n  - { range: 198.51.100.128/25, template: t }\n`, /:4:14: claim\[1\]\.range: range 198\.51\.100\.128\/25 overlaps 198\.51\.100\.0\/24/],
  ['claim_without_default', `templates: { t: ~ }\nclaim:\n  - { range: 198.51.100.0/24 }\n`, /:3:5: claim\[0\]: unknown template "default" \(a claim without a template uses "default"\)$/],
  ['service_on_blocked_port', `templates:\n  t:\n    ports: [{ proto: tcp, port: 1, action: block, service: echo }]\n`, /templates\.t\.ports\[0\]\.service: a service needs action "open"/],
  ['banner_on_udp', `templates:\n  t:\n    ports: [{ proto: udp, port: 1, action: open, service: { banner: x } }]\n`, /templates\.t\.ports\[0\]\.service: a banner needs a tcp port/],
  ['bad_service', `templates:\n  t:\n    ports: [{ proto: tcp, port: 1, action: open, service: http }]\n`, /templates\.t\.ports\[0\]\.service: expected "echo", "none", \{ banner: "text" \} or \{ name, product, version \}, got "http"$/],
  ['icmp_reset', `templates:\n  t:\n    defaults: { icmp: reset }\n`, /:3:23: templates\.t\.defaults\.icmp: expected open or block, got "reset"$/],
  ['droprate_over_100', `templates:\n  t:\n    droprate_in: 101\n`, /:3:18: templates\.t\.droprate_in: expected a number 0-100, got 101$/],
  ['bad_template_name', `templates:\n  9lives: ~\n`, /:2:3: templates\.9lives: template names start with a letter/],
  ['ports_not_list', `templates:\n  t:\n    ports: 22\n`, /:3:12: templates\.t\.ports: expected a list, got 22$/],
  ['syntax_error', `templates:\n  t: [\n`, /:3:1: YAML syntax: /],
  ['duplicate_yaml_key', `templates:\n  t: ~\n  t: ~\n`, /:3:\d+: YAML syntax: duplicated mapping key/],
  ['empty_file', ``, /:1:1: the file is empty/],
  ['log_level', `log: { level: loud }\n`, /:1:15: log\.level: expected trace, debug, info, warn or error, got "loud"$/],
  ['bad_interface', `interface: "eth0 extra"\n`, /:1:12: interface: "eth0 extra" is not a valid interface name$/],
];

for (const [name, yaml, expected] of BROKEN) {
  test(`yaml_rejects_${name}`, () => {
    const { file, lines } = errorsOf('x.yaml', yaml);
    assert.ok(
      lines.some((line) => line.startsWith(file + ':') && expected.test(line)),
      `no line matched ${expected}:\n${lines.join('\n')}`,
    );
  });
}

test('yaml_reports_every_problem_in_one_error', () => {
  const { lines } = errorsOf('x.yaml', `templates:\n  t:\n    uptime: -1\n    ports: [{ proto: tcp, port: 0, action: open }]\nhosts:\n  - { address: 1.2.3, template: t }\n`);
  assert.equal(lines.length, 3, lines.join('\n'));
});

test('yaml_unknown_personality_is_named_with_a_suggestion', () => {
  const { lines } = errorsOf('x.yaml', `templates:\n  t:\n    personality: "linux 4.15 - 5.6"\n`, { checkDataFiles: true });
  assert.match(lines[0], /:3:18: templates\.t\.personality: unknown personality "linux 4\.15 - 5\.6": no such Fingerprint in \/usr\/share\/nmap\/nmap-os-db \(did you mean "Linux 4\.15 - 5\.6"\?\)$/);
});

test('yaml_unknown_ethernet_vendor_and_multicast_mac', () => {
  const { lines } = errorsOf('x.yaml', `templates:\n  a: { ethernet: "Zzyzxcorp" }\n  b: { ethernet: "01:00:5e:00:00:01" }\n`, { checkDataFiles: true });
  assert.match(lines[0], /:2:18: templates\.a\.ethernet: unknown ethernet vendor "Zzyzxcorp"/);
  assert.match(lines[1], /:3:18: templates\.b\.ethernet: ethernet 01:00:5e:00:00:01 is a multicast address/);
});

test('yaml_missing_osdb_file_is_an_error_at_its_entry', () => {
  const { lines } = errorsOf('x.yaml', `osdb:\n  - /nonexistent/nmap-os-db\n`, { checkDataFiles: true });
  assert.match(lines[0], /:2:5: osdb\[0\]: cannot read nmap-os-db file: .*ENOENT/);
});

test('yaml_demo_and_example_configs_load_with_data_checks', () => {
  for (const name of ['demo.yaml', 'example.yaml']) {
    const cfg = loadConfig(path.join(REPO_ROOT, 'configs', name));
    assert.ok(cfg.templates.size > 0 && cfg.hosts.length > 0, name);
  }
});

test('yaml_honeyd_template_features_uid_gid_droprate_syn_dynamic_dhcp', () => {
  const loaded = loadedOf(
    'x.yaml',
    `templates:
  linux: { personality: "Linux 4.15 - 5.6", uid: 1000, gid: 1001, droprate_syn: 5 }
  win: { ethernet: "Dell" }
  magic:
    dynamic:
      - { use: win, if: { source_os: "Windows" } }
      - { use: linux, if: { source_ip: 198.51.100.0/28 } }
      - { use: linux, if: { time: "00:00-05:30" } }
      - { use: win, if: { proto: udp } }
      - { use: linux }
hosts:
  - { address: 198.51.100.10, template: magic }
dhcp:
  - { template: win, interface: eth0, ethernet: "00:1d:09:0f:88:1f" }
`,
  );
  const cfg = loaded.config;
  const linux = cfg.templates.get('linux');
  assert.deepEqual([linux?.uid, linux?.gid, linux?.dropRateSyn], [1000, 1001, 5]);
  assert.deepEqual(
    cfg.templates.get('magic')?.rules?.map((r) => [r.template, r.condition]),
    [
      ['win', { kind: 'os', value: 'Windows' }],
      ['linux', { kind: 'ip', value: '198.51.100.0/28' }],
      ['linux', { kind: 'time', value: { startSeconds: 0, endSeconds: 5 * 3600 + 1800 } }],
      ['win', { kind: 'proto', value: 'udp' }],
      ['linux', { kind: 'default' }],
    ],
  );
  assert.deepEqual(cfg.dhcp?.map((d) => [d.template, d.interface, d.ethernet]), [['win', 'eth0', '00:1d:09:0f:88:1f']]);
  assert.deepEqual(
    loaded.warningLines.map((w) => `${w.slice(0, w.indexOf(': ', w.indexOf(': ') + 2))}${w.includes('parsed but not run yet') ? ' not run' : ''}${w.endsWith('(decoyd run refuses to start)') ? ', refused' : ''}`),
    [],
  );
});

const YAML_HONEYD_ERRORS: [string, string, RegExp][] = [
  ['dynamic_with_ports', `templates:\n  d: { dynamic: [], ports: [] }\n`, /x\.yaml:2:21: templates\.d\.ports: a dynamic template has no behaviour of its own/],
  ['rule_unknown_template', `templates:\n  d: { dynamic: [{ use: nope }] }\n`, /x\.yaml:2: unknown template "nope" in a rule of dynamic template "d"/],
  ['two_conditions', `templates:\n  a: ~\n  d: { dynamic: [{ use: a, if: { proto: tcp, source_os: "x" } }] }\n`, /templates\.d\.dynamic\[0\]\.if: expected exactly one of source_os, source_ip, time, proto/],
  ['bad_time', `templates:\n  a: ~\n  d: { dynamic: [{ use: a, if: { time: "5am-6am" } }] }\n`, /\.if\.time: expected a local time range "HH:MM-HH:MM"/],
  ['uid_zero', `templates:\n  a: { uid: 0 }\n`, /templates\.a\.uid: expected an integer 1-/],
  ['gid_without_uid', `templates:\n  a: { gid: 5 }\n`, /templates\.a\.gid: gid needs uid/],
];

for (const [name, yaml, expected] of YAML_HONEYD_ERRORS) {
  test(`yaml_rejects_${name}`, () => {
    const { lines } = errorsOf('x.yaml', yaml);
    assert.ok(lines.some((line) => expected.test(line)), `no line matched ${expected}:\n${lines.join('\n')}`);
  });
}
