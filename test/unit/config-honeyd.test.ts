import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../daemon/src/config/load';
import { lexHoneyd } from '../../daemon/src/config/honeyd-lexer';
import { behaviourOf, configOf, errorsOf, FIXTURES, REPO_ROOT } from './config-test-support';

test('honeyd_and_yaml_fixtures_resolve_to_the_same_config', () => {
  const fromYaml = loadConfig(path.join(FIXTURES, 'equivalent.yaml'));
  const fromConf = loadConfig(path.join(FIXTURES, 'equivalent.conf'));
  assert.deepEqual(behaviourOf(fromConf), behaviourOf(fromYaml));
  // Guard against both sides being trivially empty.
  assert.equal(fromConf.templates.get('web2')?.ports.length, 6);
  assert.equal(fromConf.limits.maxConnections, 1000);
});

test('honeyd_and_yaml_demo_configs_resolve_to_the_same_config', () => {
  const fromYaml = loadConfig(path.join(REPO_ROOT, 'configs/demo.yaml'));
  const fromConf = loadConfig(path.join(REPO_ROOT, 'configs/demo.conf'));
  assert.deepEqual(behaviourOf(fromConf), behaviourOf(fromYaml));
  assert.equal(fromConf.hosts.length, 6);
  assert.deepEqual(fromConf.claims.map((c) => c.range), ['198.51.100.128/26']);
});

test('honeyd_clone_is_a_deep_copy', () => {
  const cfg = configOf(
    'x.conf',
    `create a
add a tcp port 80 open banner "hello"
clone b a
add b tcp port 81 open
set a default tcp action block
add a tcp port 82 block
`,
  );
  const a = cfg.templates.get('a');
  const b = cfg.templates.get('b');
  assert.ok(a && b);
  assert.deepEqual(a.ports.map((p) => p.port), [80, 82]);
  assert.deepEqual(b.ports.map((p) => p.port), [80, 81]);
  assert.equal(b.defaults.tcp, 'reset');
  assert.notEqual(a.ports[0], b.ports[0]);
  assert.notEqual(a.ports[0].service, b.ports[0].service);
  assert.deepEqual(b.ports[0].service, { kind: 'banner', banner: 'hello' });
});

test('honeyd_bind_copies_the_template_as_it_is_then', () => {
  const cfg = configOf(
    'x.conf',
    `create t
add t tcp port 22 open
bind 198.51.100.1 t
bind 198.51.100.2 t
set 198.51.100.2 personality "Linux 4.15 - 5.6"
add 198.51.100.2 tcp port 23 open
bind 198.51.100.3 t
add t tcp port 80 open
bind 198.51.100.4 t
`,
  );
  const templateOf = (ip: string): string | undefined => cfg.hosts.find((h) => h.address === ip)?.template;
  // .1 and .3 were bound before port 80 was added, and .2 was changed on its own.
  assert.equal(templateOf('198.51.100.4'), 't');
  for (const ip of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) assert.equal(templateOf(ip), ip);
  assert.deepEqual(cfg.templates.get('198.51.100.1')?.ports.map((p) => p.port), [22]);
  assert.deepEqual(cfg.templates.get('198.51.100.2')?.ports.map((p) => p.port), [22, 23]);
  assert.equal(cfg.templates.get('198.51.100.2')?.personality, 'Linux 4.15 - 5.6');
  assert.equal(cfg.templates.get('t')?.personality, undefined);
  assert.deepEqual(cfg.templates.get('t')?.ports.map((p) => p.port), [22, 80]);
});

test('honeyd_include_is_relative_to_the_including_file', () => {
  const cfg = loadConfig(path.join(FIXTURES, 'include/main.conf'));
  assert.equal(cfg.templates.get('web')?.personality, 'Linux 4.15 - 5.6');
  assert.deepEqual(cfg.hosts.map((h) => [h.address, h.template]), [
    ['198.51.100.10', 'web'],
    ['198.51.100.11', '198.51.100.11'],
  ]);
  assert.equal(cfg.templates.get('198.51.100.11')?.uptime, 5);
  assert.deepEqual(cfg.claims.map((c) => [c.range, c.template]), [['198.51.100.64/27', 'default']]);
  assert.match(cfg.hosts[0].origin, /include\/main\.conf:3$/);
});

test('honeyd_include_cycles_are_reported_not_followed', () => {
  for (const [file, pattern] of [
    ['cycle/a.conf', /cycle\/b\.conf:2: include cycle: a\.conf -> b\.conf -> a\.conf$/],
    ['cycle/self.conf', /cycle\/self\.conf:1: include cycle: self\.conf -> self\.conf$/],
  ] as const) {
    assert.throws(
      () => loadConfig(path.join(FIXTURES, file), { checkDataFiles: false }),
      (err: unknown) => err instanceof ConfigError && err.issues.length === 1 && pattern.test(err.message),
    );
  }
});

test('honeyd_default_template_without_claim_claims_nothing', () => {
  const cfg = configOf('x.conf', `create default\nset default default tcp action block\n`);
  assert.equal(cfg.claims.length, 0);
  const claimed = configOf('x.conf', `create default\nclaim 198.51.100.0/25\n`);
  assert.deepEqual(claimed.claims.map((c) => [c.range, c.template]), [['198.51.100.0/25', 'default']]);
});

test('honeyd_lexer_comments_quotes_and_positions', () => {
  const { tokens } = lexHoneyd('set t personality "A # not comment" # comment\nadd');
  assert.deepEqual(
    tokens.map((t) => [t.kind, t.text, t.line, t.col]),
    [
      ['word', 'set', 1, 1],
      ['word', 't', 1, 5],
      ['word', 'personality', 1, 7],
      ['string', 'A # not comment', 1, 19],
      ['word', 'add', 2, 1],
      ['eof', '', 2, 4],
    ],
  );
  // Honeyd strings have no escapes: a backslash is kept; banners unescape it later.
  assert.equal(lexHoneyd('x "a\\r"').tokens[1].text, 'a\\r');
  assert.deepEqual(lexHoneyd('x "open').tokens[1].kind, 'illegal');
});

const BROKEN: [string, string, RegExp][] = [
  ['route', `route entry 198.51.100.1\n`, /:1: "route" is not supported by decoyd yet$/],
  ['annotate', `# c\nannotate "Linux 4.15 - 5.6" fragment old\n`, /:2: "annotate" is not supported by decoyd yet$/],
  ['subsystem', `create t\nadd t subsystem "/usr/sbin/sshd"\n`, /:2: "add \.\.\. subsystem" is not supported by decoyd yet$/],
  ['set_subsystem', `create t\nset t subsystem "/bin/x"\n`, /:2: "set \.\.\. subsystem" is not supported by decoyd yet$/],
  ['proxy', `create t\nadd t tcp port 80 proxy 198.51.100.9:80\n`, /:2: "proxy" is not supported by decoyd yet$/],
  ['script', `create t\nadd t tcp port 80 "sh scripts/web.sh"\n`, /:2: script commands \("sh scripts\/web\.sh"\) are not supported by decoyd yet$/],
  ['tarpit', `create t\nadd t tcp port 80 tarpit open\n`, /:2: "tarpit" is not supported by decoyd yet$/],
  ['random_personality', `create t\nset t personality random\n`, /:2: "personality random" is not supported by decoyd yet$/],
  ['uid', `create t\nset t uid 32767\n`, /:2: "set \.\.\. uid" is not supported by decoyd yet$/],
  ['bind_to_interface', `bind 198.51.100.1 to eth0\n`, /:1: "bind ADDRESS to INTERFACE" is not supported/],
  ['dynamic', `dynamic t\n`, /:1: "dynamic" is not supported by decoyd yet$/],
  ['plugin_option', `option p0f key value\n`, /:1: plugin options are not supported/],
  ['unknown_directive', `\n\nfrobnicate t\n`, /:3: unknown directive "frobnicate"$/],
  ['unknown_template', `add nope tcp port 1 open\n`, /:1: unknown template "nope"$/],
  ['unbound_address', `set 198.51.100.7 uptime 5\n`, /:1: 198\.51\.100\.7 is not bound to a template$/],
  ['create_twice', `create t\ncreate t\n`, /:2: template "t" exists already \(created at .*x\.conf:1\)$/],
  ['clone_onto_existing', `create a\ncreate b\nclone b a\n`, /:3: template "b" exists already/],
  ['bad_port', `create t\nadd t tcp port http open\n`, /:2: expected a port number 1-65535, got "http"$/],
  ['port_zero', `create t\nadd t tcp port 0 open\n`, /:2: expected a port number 1-65535, got "0"$/],
  ['icmp_port', `create t\nadd t icmp port 1 open\n`, /:2: ports need tcp or udp, got "icmp"$/],
  ['bad_action', `create t\nadd t tcp port 1 drop\n`, /:2: unknown action "drop"/],
  ['duplicate_port', `create t\nadd t tcp port 22 open\nadd t tcp port 22 reset\n`, /:3: duplicate port tcp\/22 in template "t"$/],
  ['icmp_reset', `create t\nset t default icmp action reset\n`, /:2: icmp default action must be open or block, got "reset"$/],
  ['bad_default_proto', `create t\nset t default sctp action block\n`, /:2: unknown protocol "sctp"/],
  ['unquoted_personality', `create t\nset t personality Linux\n`, /:2: expected: set TEMPLATE personality "Fingerprint name"$/],
  ['droprate_high', `create t\nset t droprate in 150\n`, /:2: expected: set TEMPLATE droprate in PERCENT \(0-100\)$/],
  ['bad_bind_address', `create t\nbind 198.51.100.256 t\n`, /:2: expected a dotted IPv4 address, got "198\.51\.100\.256"$/],
  ['duplicate_bind', `create t\nbind 198.51.100.1 t\nbind 198.51.100.1 t\n`, /:3: 198\.51\.100\.1 is already bound \(at .*x\.conf:2\)$/],
  ['bind_unknown_template', `bind 198.51.100.1 t\n`, /:1: unknown template "t"$/],
  ['claim_host_bits', `create default\nclaim 198.51.100.1/24\n`, /:2: "198\.51\.100\.1\/24" has host bits set; the range is 198\.51\.100\.0\/24$/],
  ['claim_unknown_template', `claim 198.51.100.0/24 nope\n`, /:1: unknown template "nope"$/],
  ['claim_overlap', `create default\nclaim 198.51.100.0/25\nclaim 198.51.100.64/26\n`, /:3: range 198\.51\.100\.64\/26 overlaps 198\.51\.100\.0\/25/],
  ['banner_on_closed_port', `create t\nadd t tcp port 1 reset banner "x"\n`, /:2: a service needs action "open"/],
  ['unterminated_quote', `create t\nset t personality "Linux\n`, /:2: unterminated quoted string$/],
  ['missing_include', `include nothere.conf\n`, /:1: cannot read .*nothere\.conf: ENOENT/],
  ['bad_decoyd_option', `option decoyd maxConnections -1\n`, /:1: maxConnections must be a positive integer, got "-1"$/],
  ['unknown_decoyd_option', `option decoyd colour blue\n`, /:1: unknown decoyd option "colour"$/],
];

for (const [name, conf, expected] of BROKEN) {
  test(`honeyd_rejects_${name}`, () => {
    const { file, lines } = errorsOf('x.conf', conf);
    assert.ok(
      lines.some((line) => line.startsWith(file + ':') && expected.test(line)),
      `no line matched ${expected}:\n${lines.join('\n')}`,
    );
  });
}

test('honeyd_unknown_personality_and_vendor_name_the_line', () => {
  const { lines } = errorsOf('x.conf', `create t\nset t personality "Windows 99"\nset t ethernet "Zzyzxcorp"\n`, { checkDataFiles: true });
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.match(lines[0], /x\.conf:2: unknown personality "Windows 99"/);
  assert.match(lines[1], /x\.conf:3: unknown ethernet vendor "Zzyzxcorp"/);
});

test('socket_layer_bounds_are_limits_in_both_front_ends', () => {
  const conf = configOf('x.conf', `option decoyd maxSendBuffer 32768
option decoyd maxOutOfOrderSegments 8
option decoyd maxTcpBufferBytes 1048576
`);
  const yaml = configOf('x.yaml', `limits: { maxSendBuffer: 32768, maxOutOfOrderSegments: 8, maxTcpBufferBytes: 1048576 }
`);
  for (const cfg of [conf, yaml]) {
    assert.equal(cfg.limits.maxSendBuffer, 32768);
    assert.equal(cfg.limits.maxOutOfOrderSegments, 8);
    assert.equal(cfg.limits.maxTcpBufferBytes, 1048576);
  }
  assert.match(errorsOf('y.yaml', 'limits: { maxSendBuffer: 0 }\n').lines.join('\n'), /limits\.maxSendBuffer: expected an integer >= 1, got 0/);
});
