/**
 * Honeyd service actions, pure parts: how a command becomes argv and environment (Honeyd's
 * varexpand and strsep split), the proxy allow-list, and the YAML forms.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeStaleSocketDirs } from '../../daemon/src/services/actions/broker';
import { parseProxyAllow, proxyAllowed, proxyTargetProblem } from '../../daemon/src/config/proxy-allow';
import type { ProxyAllowEntry } from '../../daemon/src/config/types';
import { expandCommand, MAX_SCRIPT_ARGS, scriptEnvironment, splitCommand } from '../../daemon/src/services/actions/command';
import { resolveProxyTarget } from '../../daemon/src/services/actions/proxy-service';
import { TarpitBounds } from '../../daemon/src/services/actions/tarpit-service';
import { configOf, errorsOf } from './config-test-support';

const remote = { address: '198.51.100.2', port: 40000 };
const local = { address: '198.51.100.10', port: 80 };

test('commands_expand_and_split_as_honeyd_does', () => {
  const now = new Date(2026, 0, 5, 12, 0, 0);
  const expanded = expandCommand('sh  scripts/web.sh $ipsrc $dport $ipdst:$sport $date $srcport\tx', remote, local, now);
  assert.equal(expanded, 'sh  scripts/web.sh 198.51.100.2 80 198.51.100.10:40000 2026-01-05 $srcport\tx');
  // Single spaces separate, empty fields vanish, tabs are no separators, no quoting.
  assert.deepEqual(splitCommand(expanded), ['sh', 'scripts/web.sh', '198.51.100.2', '80', '198.51.100.10:40000', '2026-01-05', '$srcport\tx']);
  assert.deepEqual(splitCommand('echo "a b"'), ['echo', '"a', 'b"']);
  assert.equal(splitCommand(Array.from({ length: 40 }, (_, i) => `a${i}`).join(' ')).length, MAX_SCRIPT_ARGS);
  assert.deepEqual(splitCommand('   '), []);
});

test('scripts_get_honeyds_variables_and_no_secret_of_the_daemon', () => {
  const env = scriptEnvironment({ remote, local, templateName: 'web', personality: 'Linux 4.15 - 5.6', interfaceName: 'eth1' }, { PATH: '/usr/bin:/bin', DECOYD_ADMIN_TOKEN: 'secret', TZ: 'UTC' });
  assert.deepEqual(env, [
    'PATH=/usr/bin:/bin', 'TZ=UTC', 'HONEYD_IP_SRC=198.51.100.2', 'HONEYD_IP_DST=198.51.100.10', 'HONEYD_SRC_PORT=40000', 'HONEYD_DST_PORT=80',
    'HONEYD_TEMPLATE_NAME=web', 'HONEYD_PERSONALITY=Linux 4.15 - 5.6', 'HONEYD_INTERFACE=eth1',
  ]);
  const guessed = scriptEnvironment({ remote, local, templateName: 'web', remoteOs: 'Windows 7 or 8' }, {});
  assert.equal(guessed[guessed.length - 1], 'HONEYD_REMOTE_OS=Windows 7 or 8');
});

test('the_proxy_allow_list_covers_addresses_ranges_and_explicit_ipsrc', () => {
  const entries = ['192.0.2.10:80', '198.51.100.0/24:1000-2000', '203.0.113.5:*', '$ipsrc:23'].map((t) => parseProxyAllow(t, 'x:1')) as ProxyAllowEntry[];
  assert.ok(entries.every((e) => typeof e === 'object'));
  assert.ok(proxyAllowed(entries, '192.0.2.10', 80));
  assert.ok(!proxyAllowed(entries, '192.0.2.10', 81));
  assert.ok(proxyAllowed(entries, '198.51.100.77', 1500));
  assert.ok(!proxyAllowed(entries, '198.51.101.1', 1500));
  assert.ok(proxyAllowed(entries, '203.0.113.5', undefined), 'every port covers $sport');
  assert.ok(proxyAllowed(entries, '$ipsrc', 23));
  assert.ok(!proxyAllowed(entries, '$ipsrc', 22));
  assert.ok(!proxyAllowed(entries, '$ipdst', 23));
  assert.ok(!proxyAllowed(undefined, '192.0.2.10', 80), 'no list: nowhere');
  // An address range never covers $ipsrc.
  const all = [parseProxyAllow('0.0.0.0/0:*', 'x:1') as ProxyAllowEntry];
  assert.ok(!proxyAllowed(all, '$ipsrc', 23));
  assert.match(proxyTargetProblem('$ipsrc:23', 23, all) ?? '', /explicit "\$ipsrc:PORT" entry/);
  assert.equal(proxyTargetProblem('192.0.2.10:$dport', 80, entries), undefined, '$dport is the rule port');
  assert.match(proxyTargetProblem('192.0.2.10:$dport', undefined, entries) ?? '', /not in the proxy allow-list/);
  for (const bad of ['192.0.2.1', '192.0.2.1:0', '192.0.2.300:1', '192.0.2.0/33:1', '$ipsrc/24:1', 'host:80', '192.0.2.1:9-1']) {
    assert.equal(typeof parseProxyAllow(bad, 'x:1'), 'string', bad);
  }
  // Per connection the expanded target is checked again.
  assert.deepEqual(resolveProxyTarget('$ipsrc:23', remote, local, entries), { host: '198.51.100.2', port: 23 });
  assert.deepEqual(resolveProxyTarget('192.0.2.10:$dport', remote, local, entries), { host: '192.0.2.10', port: 80 });
  assert.equal(resolveProxyTarget('192.0.2.10:$sport', remote, local, entries), 'not in the proxy allow-list');
});

test('tarpit_bounds_hold_per_source_and_in_all', () => {
  const b = new TarpitBounds({ maxTarpitConnections: 3, maxTarpitConnectionsPerSource: 2 });
  assert.ok(b.take('a') && b.take('a'));
  assert.ok(!b.take('a'));
  assert.ok(b.take('b'));
  assert.ok(!b.take('c'), 'total bound');
  b.give('a');
  assert.ok(b.take('c'));
  assert.equal(b.total, 3);
});

test('yaml_offers_script_proxy_tarpit_maxfds_default_service_and_proxy_allow', () => {
  const cfg = configOf('a.yaml', `
interface: hp0
proxy_allow: ["192.0.2.10:80", "$ipsrc:23"]
templates:
  t:
    uid: 4242
    gid: 4243
    maxfds: 40
    defaults: { tcp: open }
    default_service: { tcp: tarpit }
    ports:
      - { proto: tcp, port: 80, action: open, service: { script: "sh web.sh $ipsrc $dport" } }
      - { proto: udp, port: 53, action: open, service: { script: "python3 dns.py" } }
      - { proto: tcp, port: 8080, action: open, service: { proxy: "192.0.2.10:80" } }
      - { proto: tcp, port: 23, action: open, service: { tarpit: { proxy: "$ipsrc:23" } } }
      - { proto: tcp, port: 99, action: open, service: { tarpit: true } }
hosts:
  - { address: 198.51.100.10, template: t }
`);
  const t = cfg.templates.get('t');
  assert.equal(t?.maxfds, 40);
  assert.deepEqual(t?.defaultServices, { tcp: { kind: 'tarpit' } });
  const svc = t?.ports.map((p) => p.service);
  assert.deepEqual(svc?.[0], { kind: 'script', command: 'sh web.sh $ipsrc $dport' });
  assert.equal(svc?.[2]?.kind === 'proxy' ? svc[2].target : undefined, '192.0.2.10:80');
  assert.equal(svc?.[3]?.kind === 'tarpit' ? svc[3].inner?.kind : undefined, 'proxy');
  assert.deepEqual(svc?.[4], { kind: 'tarpit' });
  assert.deepEqual(cfg.proxyAllow?.map((e) => e.text), ['192.0.2.10:80', '$ipsrc:23']);

  const { lines } = errorsOf('b.yaml', `
interface: hp0
templates:
  t:
    ports:
      - { proto: tcp, port: 80, action: open, service: { proxy: "192.0.2.99:80" } }
      - { proto: tcp, port: 81, action: open, service: { proxy: "example.org:80" } }
      - { proto: tcp, port: 82, action: open, service: { script: "" } }
hosts:
  - { address: 198.51.100.10, template: t }
`);
  assert.ok(lines.some((l) => /b\.yaml:6:\d+: proxy target "192\.0\.2\.99:80" is not in the proxy allow-list/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /b\.yaml:7:\d+: .*expected ADDRESS:PORT, \$ipsrc:PORT or ADDRESS:\$dport, got "example\.org:80"/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /b\.yaml:8:\d+: .*expected a non-empty string/.test(l)), lines.join("\n"));
});

test('stale_script_socket_dirs_of_dead_daemons_are_removed_and_no_others', () => {
  const root = mkdtempSync(join(tmpdir(), 'decoyd-unit-stale-'));
  try {
    const uid = process.getuid?.() ?? -1;
    for (const name of ['decoyd-scripts-41-abcDEF', 'decoyd-scripts-42-ghiJKL', 'decoyd-scripts-oldfmt', 'decoyd-scripts-43-xyz123', `decoyd-scripts-${process.pid}-ownOWN`]) mkdirSync(join(root, name));
    writeFileSync(join(root, 'decoyd-scripts-41-abcDEF', 's'), '');
    symlinkSync(join(root, 'decoyd-scripts-oldfmt'), join(root, 'decoyd-scripts-44-linkkk'));
    writeFileSync(join(root, 'decoyd-scripts-45-fileee'), '');
    const removed = removeStaleSocketDirs(root, (pid) => pid === 42, uid);
    assert.deepEqual(removed.sort(), ['decoyd-scripts-41-abcDEF', 'decoyd-scripts-43-xyz123']);
    assert.deepEqual(readdirSync(root).sort(), ['decoyd-scripts-42-ghiJKL', 'decoyd-scripts-44-linkkk', 'decoyd-scripts-45-fileee', `decoyd-scripts-${process.pid}-ownOWN`, 'decoyd-scripts-oldfmt'].sort());
    assert.deepEqual(removeStaleSocketDirs(root, () => false, uid + 1), [], 'directories of another user stay');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
