/** Honeyd's grammar as Honeyd 1.6d reads it: tokenizer, every directive, warnings, positions. */

import { test } from 'node:test';
import type { ServiceSpec } from '../../daemon/src/config/types';
import assert from 'node:assert/strict';
import path from 'node:path';
import { lexHoneyd } from '../../daemon/src/config/honeyd-lexer';
import { loadConfig } from '../../daemon/src/config/load';
import { configOf, errorsOf, loadedOf, removeDir, tempDir } from './config-test-support';

test('lexer_reads_tokens_as_flex_does', () => {
  const kinds = (text: string): string[] => lexHoneyd(text).tokens.map((t) => `${t.kind}:${t.text}`);
  // Longest match: 10Mbps is a number and a word; 8ms likewise; an address beats a float.
  assert.deepEqual(kinds('bandwidth 10Mbps latency 8ms 10.0.0.1/24 0.5'), [
    'word:bandwidth', 'number:10', 'word:Mbps', 'word:latency', 'number:8', 'word:ms',
    'ip:10.0.0.1', 'punct:/', 'number:24', 'float:0.5', 'eof:',
  ]);
  // Words may hold . ( ) / _ - * and start with $; a number next to a quote splits (`port 111"perl …"`).
  assert.deepEqual(kinds('$ipsrc:23 scripts/web.sh 111"perl x"'), ['word:$ipsrc', 'punct::', 'number:23', 'word:scripts/web.sh', 'number:111', 'string:perl x', 'eof:']);
  // Anything else is an illegal token for the parser to report.
  assert.deepEqual(kinds('bind <IP> x'), ['word:bind', 'illegal:<', 'word:IP', 'illegal:>', 'word:x', 'eof:']);
  // include takes the next run of non-blanks literally.
  assert.deepEqual(kinds('include ../a b.conf'), ['word:include', 'raw:../a', 'word:b.conf', 'eof:']);
});

test('lexer_strings_span_lines_and_positions_follow_the_text', () => {
  const { tokens } = lexHoneyd('add t tcp port 1 "sh -c\n  two lines" add\n# c "x\nset');
  const s = tokens.find((t) => t.kind === 'string');
  assert.ok(s);
  assert.deepEqual([s.text, s.line, s.col, s.endLine], ['sh -c\n  two lines', 1, 18, 2]);
  const after = tokens.filter((t) => t.kind === 'word').slice(-2);
  assert.deepEqual(after.map((t) => [t.text, t.line, t.col]), [['add', 2, 14], ['set', 4, 1]]);
});

test('lexer_notes_where_decoyd_differs_from_honeyd', () => {
  assert.match(lexHoneyd('create a\n# last line, no newline').notes[0].message, /no newline: Honeyd 1\.6d reads it as an illegal token .* \(a Honeyd bug\)/);
  assert.equal(lexHoneyd('create a\n# fine\n').notes.length, 0);
  assert.match(lexHoneyd('create a\r\nbind 1.2.3.4 a\r\n').notes[0].message, /carriage return/);
});

test('statements_may_share_a_line_and_span_lines', () => {
  const cfg = configOf('x.conf', `create a set a personality "Linux 4.15 - 5.6" set a default tcp action reset add a tcp port 80 open bind 192.0.2.1 a
create b
set
  b
  uptime
  77
bind 192.0.2.2 b # a comment after a statement
`);
  assert.equal(cfg.templates.get('a')?.personality, 'Linux 4.15 - 5.6');
  assert.deepEqual(cfg.templates.get('a')?.ports.map((p) => p.port), [80]);
  assert.equal(cfg.templates.get('b')?.uptime, 77);
  assert.deepEqual(cfg.hosts.map((h) => [h.address, h.template]), [['192.0.2.1', 'a'], ['192.0.2.2', 'b']]);
  assert.match(cfg.hosts[1].origin, /x\.conf:7$/);
});

test('multi_line_quoted_commands_are_one_script', () => {
  const loaded = loadedOf('x.conf', `create t
add t tcp port 80 "python3 web.py
  --verbose"
add t tcp port 81 open
`);
  const ports = loaded.config.templates.get('t')?.ports ?? [];
  assert.deepEqual(ports[0], { proto: 'tcp', port: 80, action: 'open', service: { kind: 'script', command: 'python3 web.py\n  --verbose' } });
  assert.equal(ports[1].port, 81);
  assert.ok(!loaded.warningLines.some((w) => /script actions are parsed but not run/.test(w)), loaded.warningLines.join('\n'));
});

test('port_actions_every_form_honeyd_has', () => {
  const loaded = loadedOf('x.conf', `create t
add t tcp port 1 open
add t tcp port 2 closed
add t tcp port 3 reset
add t tcp port 4 filtered
add t tcp port 5 block
add t tcp port 6 "sh scripts/a.sh $ipsrc $dport"
add t tcp port 7 scripts/web.sh
add t tcp port 8 allow
add t tcp port 9 proxy $ipsrc:23
add t udp port 10 proxy 192.0.2.9:53
add t tcp port 11 proxy 192.0.2.9:$dport
add t tcp port 12 proxy 192.0.2.10:80
add t tcp port 13 tarpit open
add t tcp port 14 tarpit "perl slow.pl"
add t tcp port 15 tarpit proxy $ipsrc:25
add t tcp port 16 internal "honeyd.www"
add t icmp port 17 open
`, { checkDataFiles: false, proxyAllow: ['$ipsrc:23', '$ipsrc:25', '192.0.2.0/24:*'] });
  const ports = loaded.config.templates.get('t')?.ports ?? [];
  // Proxy specs also carry where they were written (for load-time errors).
  const noAt = (s: ServiceSpec | undefined): ServiceSpec | undefined => {
    if (s?.kind === 'proxy') return { kind: 'proxy', target: s.target };
    if (s?.kind === 'tarpit' && s.inner !== undefined) return { kind: 'tarpit', inner: noAt(s.inner) as ServiceSpec };
    return s;
  };
  assert.deepEqual(
    ports.map((p) => [p.port, p.action, noAt(p.service)]),
    [
      [1, 'open', undefined],
      [2, 'reset', undefined],
      [3, 'reset', undefined],
      [4, 'block', undefined],
      [5, 'block', undefined],
      [6, 'open', { kind: 'script', command: 'sh scripts/a.sh $ipsrc $dport' }],
      [7, 'open', { kind: 'script', command: 'scripts/web.sh' }],
      [8, 'open', { kind: 'script', command: 'allow' }],
      [9, 'open', { kind: 'proxy', target: '$ipsrc:23' }],
      [10, 'open', { kind: 'proxy', target: '192.0.2.9:53' }],
      [11, 'open', { kind: 'proxy', target: '192.0.2.9:$dport' }],
      [12, 'open', { kind: 'proxy', target: '192.0.2.10:80' }],
      [13, 'open', { kind: 'tarpit' }],
      [14, 'open', { kind: 'tarpit', inner: { kind: 'script', command: 'perl slow.pl' } }],
      [15, 'open', { kind: 'tarpit', inner: { kind: 'proxy', target: '$ipsrc:25' } }],
      [16, 'open', { kind: 'internal', module: 'honeyd.www' }],
    ],
  );
  const w = loaded.warningLines;
  const has = (re: RegExp): void => assert.ok(w.some((line) => re.test(line)), `no warning matched ${re}:\n${w.join('\n')}`);
  has(/^x\.conf:3:18: "closed" is read as Honeyd 1\.6d does .*Honeyd 1\.5c had no such keyword and ran a program named "closed" \(said once per file\)$/);
  assert.equal(w.filter((line) => line.includes('said once per file')).length, 1);
  assert.ok(!w.some((line) => line.includes('"scripts/web.sh" is not a Honeyd action keyword')));
  has(/^x\.conf:9:18: "allow" is not a Honeyd action keyword: Honeyd \(1\.5c and 1\.6d\) runs it as a program/);
  // Scripts, proxies and tarpits run (services/actions/); Python modules do not.
  assert.ok(!w.some((line) => /(proxy actions|tarpit is|script actions) are parsed but not run/.test(line)), w.join('\n'));
  has(/^x\.conf:17:19: "internal" \(Python\) actions are parsed but not run yet/);
  has(/^x\.conf:18:7: ICMP has no ports/);
  // None of these stop decoyd run.
  assert.equal(loaded.warnings.filter((x) => x.blocksRun).length, 0);
});

test('proxy_targets_are_addresses_in_the_allow_list', () => {
  const { lines } = errorsOf('x.conf', `create t
set t default tcp action reset
add t tcp port 12 proxy relay.example:80
add t tcp port 13 proxy 192.0.2.9:80
add t tcp port 14 proxy $ipsrc:$sport
`, { checkDataFiles: false, proxyAllow: ['192.0.2.0/24:443', '$ipsrc:23'] });
  assert.deepEqual(lines.map((l) => l.replace(/^.*x\.conf:/, 'x.conf:')), [
    'x.conf:3:19: proxy target "relay.example:80": decoyd resolves no host names and knows no variable "relay.example"; write an address, $ipsrc or $ipdst',
    'x.conf:4:19: proxy target "192.0.2.9:80" is not in the proxy allow-list: add it to proxy_allow (YAML) or "option decoyd proxy_allow ADDRESS:PORT" (Honeyd syntax) if it is meant',
    'x.conf:5:19: proxy target "$ipsrc:$sport" is not in the proxy allow-list: connecting back to the attacker needs an explicit "$ipsrc:PORT" entry',
  ]);
});

test('default_actions_and_the_icmp_difference_between_15c_and_16d', () => {
  const loaded = loadedOf('x.conf', `create t
set t default tcp action tarpit open
set t default udp action "sh udp.sh"
set t default icmp action reset
create u
set u default icmp action filtered
set u default tcp action allow
create v
set v default icmp action open
set v default tcp action closed
`);
  const t = loaded.config.templates.get('t');
  assert.deepEqual([t?.defaults, t?.defaultServices], [{ tcp: 'open', udp: 'open', icmp: 'block' }, { tcp: { kind: 'tarpit' }, udp: { kind: 'script', command: 'sh udp.sh' } }]);
  assert.deepEqual(loaded.config.templates.get('u')?.defaults, { tcp: 'open', udp: 'reset', icmp: 'block' });
  assert.deepEqual(loaded.config.templates.get('v')?.defaults, { tcp: 'reset', udp: 'reset', icmp: 'open' });
  assert.ok(loaded.warningLines.includes('x.conf:4:27: icmp action "reset" follows Honeyd 1.6d: ICMP is dropped (Honeyd 1.5c still answered it)'), loaded.warningLines.join('\n'));
});

test('duplicate_port_keeps_the_first_as_16d_does', () => {
  const loaded = loadedOf('x.conf', `create windows\nadd windows tcp port 25 open\nadd windows tcp port 25 "sh smtp.sh"\n`);
  assert.deepEqual(loaded.config.templates.get('windows')?.ports, [{ proto: 'tcp', port: 25, action: 'open' }]);
  assert.ok(
    loaded.warningLines.includes('x.conf:3:22: port tcp/25 of "windows" is defined again: Honeyd 1.6d keeps the first definition (and so does decoyd); Honeyd 1.5c rejects the file'),
    loaded.warningLines.join('\n'),
  );
});

test('set_forms_uid_gid_maxfds_droprate_spoof_uptime', () => {
  const loaded = loadedOf('x.conf', `create t
set t uid 32767 gid 32766
set t maxfds 35
set t droprate in 2.5
set t droprate syn 10
set t spoof from 192.0.2.1 to 192.0.2.2
set t uptime 0
set t ethernet "00:11:22:33:44:55"
create u
set u uid 1000
set u spoof to 192.0.2.3
`);
  const t = loaded.config.templates.get('t');
  assert.deepEqual(
    [t?.uid, t?.gid, t?.maxfds, t?.dropRateIn, t?.dropRateSyn, t?.spoof, t?.uptime, t?.ethernet],
    [32767, 32766, 35, 2.5, 10, { from: '192.0.2.1', to: '192.0.2.2' }, undefined, '00:11:22:33:44:55'],
  );
  const u = loaded.config.templates.get('u');
  assert.deepEqual([u?.uid, u?.gid, u?.spoof], [1000, undefined, { to: '192.0.2.3' }]);
  const spoof = loaded.warnings.find((w) => w.line === 6);
  assert.equal(spoof?.blocksRun, true);
  assert.match(spoof?.message ?? '', /spoof is parsed but not run yet: .*decoyd run refuses to start/);
});

test('subsystems_with_shared_and_restart', () => {
  const cfg = configOf('x.conf', `create base\nadd base subsystem "/usr/share/honeyd/s7commServer" shared restart\nadd base subsystem "run.sh" restart\n`);
  assert.deepEqual(
    cfg.templates.get('base')?.subsystems?.map((s) => [s.command, s.shared, s.restart]),
    [['/usr/share/honeyd/s7commServer', true, true], ['run.sh', false, true]],
  );
});

test('dynamic_templates_with_every_condition', () => {
  const loaded = loadedOf('x.conf', `create sticky
create suse
create router
create default
dynamic magic
add magic use sticky if source os = "windows"
add magic use suse if source ip = 192.0.2.0/28
add magic use suse if source ip = 192.0.2.77
add magic use router if time between 12:00am - 5:30am
add magic use router if time between "13:00:00" - "14:00:00"
add magic use sticky if udp
add magic otherwise use default
bind 192.0.2.100 magic
bind source ip = 198.51.100.0/24 192.0.2.101 router
bind otherwise 192.0.2.101 default
`);
  const magic = loaded.config.templates.get('magic');
  assert.equal(magic?.dynamic, true);
  assert.deepEqual(
    magic?.rules?.map((r) => [r.template, r.condition]),
    [
      ['magic_0_sticky', { kind: 'os', value: 'windows' }],
      ['magic_1_suse', { kind: 'ip', value: '192.0.2.0/28' }],
      ['magic_2_suse', { kind: 'ip', value: '192.0.2.77' }],
      ['magic_3_router', { kind: 'time', value: { startSeconds: 0, endSeconds: 5 * 3600 + 1800 } }],
      ['magic_4_router', { kind: 'time', value: { startSeconds: 13 * 3600, endSeconds: 14 * 3600 } }],
      ['magic_5_sticky', { kind: 'proto', value: 'udp' }],
      ['magic_6_default', { kind: 'default' }],
    ],
  );
  // Rules clone their template at that point, as Honeyd does.
  assert.ok(loaded.config.templates.has('magic_0_sticky'));
  const conditional = loaded.config.templates.get('192.0.2.101');
  assert.deepEqual(conditional?.rules?.map((r) => r.condition.kind), ['ip', 'default']);
  assert.deepEqual(loaded.config.hosts.map((h) => h.address), ['192.0.2.100', '192.0.2.101']);
  assert.ok(loaded.warningLines.some((w) => /^x\.conf:9:38: Honeyd reads 12:00am as noon .* decoyd reads it as the clock says, 00:00$/.test(w)), loaded.warningLines.join('\n'));
  // Dynamic templates run: no "not run yet" warning, nothing that blocks `decoyd run`.
  assert.ok(!loaded.warnings.some((w) => /dynamic templates are parsed/.test(w.message) || (w.line === 5 && w.blocksRun)));
});

test('bind_to_interface_dhcp_annotate_and_other_directives', () => {
  const loaded = loadedOf('x.conf', `create win
set win ethernet "Dell"
dhcp win on eth0
dhcp win on eth1 ethernet "00:1d:09:0f:88:1f"
set win uptime 5
bind 192.0.2.53 to eth0
annotate "Linux 4.15 - 5.6" no finscan
annotate "Linux 4.15 - 5.6" fragment new
set win personality "Linux 4.15 - 5.6"
create late
set late personality "Linux 4.15 - 5.6"
delete late
add win tcp port 9 open
delete win tcp port 9
option p0f database /etc/p0f.fp
list template
debug fd 3
broadcast win srcport 137 dstport 137 time 60 "python nbns.py"
`);
  const cfg = loaded.config;
  // dhcp copies the template as it is then (before the uptime), like bind.
  assert.deepEqual(cfg.dhcp?.map((d) => [d.template, d.interface, d.ethernet]), [['win@dhcp0', 'eth0', undefined], ['win@dhcp1', 'eth1', '00:1d:09:0f:88:1f']]);
  assert.equal(cfg.templates.get('win@dhcp0')?.uptime, undefined);
  assert.equal(cfg.templates.get('win')?.uptime, 5);
  assert.deepEqual(cfg.realHosts?.map((r) => [r.address, r.interface]), [['192.0.2.53', 'eth0']]);
  assert.deepEqual(cfg.templates.get('win')?.annotation, { finscan: false, fragment: 'new' });
  assert.equal(cfg.templates.has('late'), false);
  assert.deepEqual(cfg.templates.get('win')?.ports, []);
  const w = loaded.warningLines.join('\n');
  // dhcp runs (stack/dhcp/): no warning.
  assert.doesNotMatch(w, /dhcp bindings are parsed/);
  // bind IP to IF runs (stack/routing/real-hosts.ts): no warning.
  assert.doesNotMatch(w, /"bind ADDRESS to INTERFACE" is parsed/);
  // annotate runs (stack/honeyd-tuning.ts): no warning.
  assert.doesNotMatch(w, /annotate is parsed/);
  assert.doesNotMatch(w, /annotate comes after/);
  assert.match(w, /x\.conf:15:1: option for the Honeyd plugin "p0f" is ignored: decoyd has no Honeyd plugins/);
  assert.match(w, /x\.conf:16:1: "list" is a honeydctl command/);
  assert.match(w, /x\.conf:17:1: "debug" is a honeydctl command/);
  assert.match(w, /x\.conf:18:1: broadcast is parsed but not run yet/);
});

test('route_maps_onto_the_topology_shape', () => {
  const loaded = loadedOf('x.conf', `route entry 10.0.0.1 network 10.0.0.0/8
route 10.0.0.1 link 10.2.0.0/24
route 10.0.0.1 add net 10.3.0.0/16 10.3.0.1 latency 8ms bandwidth 10Mbps
route 10.3.0.1 add net 10.3.1.0/24 10.3.1.1 latency 7 ms loss 0.5 bandwidth 56 Kbps drop between 10 ms - 20 ms
route 10.3.0.1 add net 10.3.2.0/24 10.3.2.1 bandwidth 1000 1000
route 10.3.1.1 link 10.3.1.5/24
route 10.3.1.1 unreach 10.9.0.0/16
route 10.3.1.1 add net 10.4.0.0/16 10.4.0.1 latency 1ms drop between 1 ms - 2 ms
route 10.3.1.1 add net 10.5.0.0/16 tunnel 10.0.0.1 10.0.0.2
`);
  const t = loaded.config.topology;
  assert.deepEqual(t.entries.map((e) => [e.router, e.network]), [['10.0.0.1', '10.0.0.0/8']]);
  assert.deepEqual(t.links.map((l) => [l.router, l.network]), [['10.0.0.1', '10.2.0.0/24'], ['10.3.1.1', '10.3.1.0/24']]);
  assert.deepEqual(t.unreach.map((u) => [u.router, u.network]), [['10.3.1.1', '10.9.0.0/16']]);
  const strip = ({ origin: _o, ...r }: (typeof t.routes)[number]): object => r;
  assert.deepEqual(t.routes.map(strip), [
    { router: '10.0.0.1', network: '10.3.0.0/16', gateway: '10.3.0.1', latencyMs: 8, bandwidthBps: 10_000_000 },
    { router: '10.3.0.1', network: '10.3.1.0/24', gateway: '10.3.1.1', latencyMs: 7, lossPercent: 0.5, bandwidthBps: 56_000, dropBetweenMs: { low: 10, high: 20 } },
    { router: '10.3.0.1', network: '10.3.2.0/24', gateway: '10.3.2.1', bandwidthBps: 1_000_000 },
    { router: '10.3.1.1', network: '10.4.0.0/16', gateway: '10.4.0.1', latencyMs: 1 },
  ]);
  assert.match(t.routes[0].origin, /x\.conf:3$/);
  const w = loaded.warningLines.join('\n');
  // Routing runs (stack/routing/): no warning for it, only for the tunnel.
  assert.doesNotMatch(w, /virtual routing \(route\) is parsed/);
  assert.match(w, /x\.conf:6:21: bad network mask in 10\.3\.1\.5\/24: host bits set, read as 10\.3\.1\.0\/24 \(as Honeyd does\)/);
  assert.match(w, /x\.conf:8:57: "drop between" without a bandwidth is ignored \(as in Honeyd\)/);
  assert.match(w, /x\.conf:9:1: route \.\.\. tunnel is parsed but not run yet/);
});

test('include_reads_the_file_inline_and_errors_name_the_included_file', () => {
  const dir = tempDir({
    'main.conf': 'create a\ninclude parts/more.conf bind 192.0.2.1 b\n',
    'parts/more.conf': 'create b add b tcp port 1 open\nadd b tcp port x open\n',
  });
  try {
    assert.throws(
      () => loadConfig(path.join(dir, 'main.conf'), { checkDataFiles: false }),
      (err: unknown) => err instanceof Error && /parts\/more\.conf:2:16: expected a port number, got the word "x"$/.test(err.message),
    );
  } finally {
    removeDir(dir);
  }
});

test('a_syntax_error_resumes_at_the_next_statement', () => {
  const { lines } = errorsOf('x.conf', `create a\nadd a tcp port open\nadd a tcp port 80 open\nset a uptime soon\nbind 192.0.2.1 nope\n`);
  assert.deepEqual(
    lines.map((l) => l.replace(/^.*x\.conf:/, '')),
    ['2:16: expected a port number, got the keyword "open"', '4:14: expected a number of seconds, got the word "soon"', '5:16: unknown template "nope"'],
  );
});

test('decoyd_extensions_still_work', () => {
  const cfg = configOf('x.conf', `option decoyd maxConnections 1000
option decoyd osdb /usr/share/nmap/nmap-os-db
option decoyd osdb ../extra/x.nmap-os-db
create t
add t tcp port 22 open banner "SSH-2.0-x\\r\\n\\x41"
add t udp port 7 open echo
claim 192.0.2.128/25 t
`);
  assert.equal(cfg.limits.maxConnections, 1000);
  assert.equal(cfg.osDb.length, 2);
  assert.equal(cfg.osDb[0], '/usr/share/nmap/nmap-os-db');
  assert.match(cfg.osDb[1], /\/extra\/x\.nmap-os-db$/);
  assert.deepEqual(cfg.templates.get('t')?.ports.map((p) => p.service), [{ kind: 'banner', banner: 'SSH-2.0-x\r\nA' }, { kind: 'echo' }]);
  assert.deepEqual(cfg.claims.map((c) => [c.range, c.template]), [['192.0.2.128/25', 't']]);
});

test('honeyd_files_without_conf_suffix_are_recognised', () => {
  const dir = tempDir({ 'config.sample': '# Honeyd\n\ncreate default\nset default default tcp action block\n' });
  try {
    assert.equal(loadConfig(path.join(dir, 'config.sample'), { checkDataFiles: false }).templates.get('default')?.defaults.tcp, 'block');
  } finally {
    removeDir(dir);
  }
});

test('a_template_without_a_tcp_default_is_warned_about', () => {
  const loaded = loadedOf('x.conf', `create a\ncreate b\nset b default tcp action open\nclone c b\nclone d a\nset d default tcp action block\n`);
  assert.deepEqual(
    loaded.warningLines.filter((w) => w.includes('sets no default tcp action')).map((w) => w.slice(0, w.indexOf(' sets'))),
    ['x.conf:1:1: template "a"'],
  );
  assert.equal(loaded.config.templates.get('a')?.defaults.tcp, 'reset');
});

test('annotate_after_set_personality_does_not_reach_that_template', () => {
  const loaded = loadedOf('x.conf', `create a\nset a personality "Linux 4.15 - 5.6"\nannotate "Linux 4.15 - 5.6" no finscan\ncreate b\nset b personality "Linux 4.15 - 5.6"\n`);
  assert.equal(loaded.config.templates.get('a')?.annotation, undefined);
  assert.deepEqual(loaded.config.templates.get('b')?.annotation, { finscan: false });
  assert.ok(loaded.warningLines.some((w) => w.startsWith('x.conf:3:1: annotate comes after "set … personality" for "a"')), loaded.warningLines.join('\n'));
});
