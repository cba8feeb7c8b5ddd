import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configOf, errorsOf } from './config-test-support';

const TEMPLATES = `templates:
  win:
    personality: "Microsoft Windows 10 1507 - 1607"
`;

test('yaml_dhcp_bindings_resolve_every_field', () => {
  const cfg = configOf('d.yaml', `${TEMPLATES}dhcp:
  - { template: win }
  - { template: win, interface: eth1, ethernet: "Dell", hostname: DESKTOP-AB12CD3 }
`, { checkDataFiles: true });
  assert.equal(cfg.dhcp.length, 2);
  assert.equal(cfg.dhcp[0].template, 'win');
  assert.equal(cfg.dhcp[0].interface, undefined);
  assert.equal(cfg.dhcp[0].ethernet, undefined);
  assert.equal(cfg.dhcp[0].hostname, undefined);
  assert.match(cfg.dhcp[0].origin, /d\.yaml:5$/);
  assert.deepEqual({ ...cfg.dhcp[1], origin: '' }, { template: 'win', interface: 'eth1', ethernet: 'Dell', hostname: 'DESKTOP-AB12CD3', origin: '' });
});

test('yaml_dhcp_errors_name_line_column_and_key', () => {
  const { lines } = errorsOf('d.yaml', `${TEMPLATES}dhcp:
  - { template: nosuch }
  - { template: win, hostname: "bad name" }
  - { template: win, interface: "much-too-long-interface" }
  - { interface: eth0 }
  - { template: win, ethernet: "01:00:5e:00:00:01" }
  - { template: win, mac: "x" }
`);
  const text = lines.join('\n');
  assert.match(text, /d\.yaml:5:\d+: dhcp\[0\]\.template: unknown template "nosuch"/);
  assert.match(text, /d\.yaml:6:\d+: dhcp\[1\]\.hostname: expected a hostname/);
  assert.match(text, /d\.yaml:7:\d+: dhcp\[2\]\.interface: "much-too-long-interface" is not a valid interface name/);
  assert.match(text, /d\.yaml:8:\d+: dhcp\[3\]: missing key "template"/);
  assert.match(text, /d\.yaml:9:\d+: dhcp\[4\]\.ethernet: ethernet 01:00:5e:00:00:01 is a multicast address/);
  assert.match(text, /d\.yaml:10:\d+: dhcp\[5\]\.mac: unknown key/);
});

test('yaml_dhcp_must_be_a_list', () => {
  const { lines } = errorsOf('d.yaml', `${TEMPLATES}dhcp: { template: win }\n`);
  assert.match(lines.join('\n'), /d\.yaml:4:\d+: dhcp: expected a list/);
});

test('honeyd_dhcp_directive_with_and_without_ethernet', () => {
  const cfg = configOf('d.conf', `create win
set win personality "Microsoft Windows 10 1507 - 1607"
dhcp win on eth0
dhcp win on eth0 ethernet "00:11:22:33:44:55"
`, { checkDataFiles: true });
  assert.deepEqual(cfg.dhcp.map((d) => [d.template, d.interface, d.ethernet]), [
    ['win', 'eth0', undefined],
    ['win', 'eth0', '00:11:22:33:44:55'],
  ]);
  assert.match(cfg.dhcp[1].origin, /d\.conf:4$/);
});

test('honeyd_dhcp_errors_name_file_and_line', () => {
  const { lines } = errorsOf('d.conf', `create win
dhcp win eth0
dhcp win on eth0 ethernet 00:11:22:33:44:55
dhcp nosuch on eth0
dhcp win on eth0 ethernet "Nosuchvendorzz"
`, { checkDataFiles: true });
  const text = lines.join('\n');
  assert.match(text, /d\.conf:2:10: expected "on", got the word "eth0"/);
  assert.match(text, /d\.conf:3:27: expected a quoted MAC address or vendor name, got "00"/);
  assert.match(text, /d\.conf:4:6: unknown template "nosuch"/);
  assert.match(text, /d\.conf:5:27: unknown ethernet vendor "Nosuchvendorzz"/);
});

test('dhcp_bindings_may_not_share_a_fixed_mac', () => {
  const { lines } = errorsOf('d.yaml', `templates:
  fixed: { ethernet: "00:11:22:33:44:55" }
  other: {}
dhcp:
  - { template: fixed }
  - { template: other, ethernet: "00:11:22:33:44:55" }
  - { template: other, ethernet: "00:11:22:33:44:56" }
`);
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0], /d\.yaml:6:\d+: dhcp\[1\]\.ethernet: MAC 00:11:22:33:44:55 is already used by the dhcp binding at .*d\.yaml:5$/);
});
