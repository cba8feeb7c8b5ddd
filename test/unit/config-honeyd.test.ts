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
    ['cycle/a.conf', /cycle\/b\.conf:2:1: include cycle: a\.conf -> b\.conf -> a\.conf$/],
    ['cycle/self.conf', /cycle\/self\.conf:1:1: include cycle: self\.conf -> self\.conf$/],
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

/** Each is an error naming file:line:column and what was expected. */
const BROKEN: [string, string, RegExp][] = [
  ['set_subsystem', `create t\nset t subsystem "/bin/x"\n`, /:2:7: expected personality, .* \(subsystems are added: add TEMPLATE subsystem "command"\), got the keyword "subsystem"$/],
  ['unknown_directive', `\n\nfrobnicate t\n`, /:3:1: expected a statement \(create, .*\), got the word "frobnicate"$/],
  ['capitalised_directive', `Create t\n`, /:1:1: expected a statement .*, got the word "Create"$/],
  ['unknown_template', `add nope tcp port 1 open\n`, /:1:5: unknown template "nope"$/],
  ['unbound_address', `set 198.51.100.7 uptime 5\n`, /:1:5: 198\.51\.100\.7 is not bound to a template$/],
  ['create_twice', `create t\ncreate t\n`, /:2:1: template "t" exists already \(created at .*x\.conf:1\)$/],
  ['keyword_as_name', `create os\n`, /:1:8: expected a template name \("os" is a Honeyd keyword\), got the keyword "os"$/],
  ['clone_onto_existing', `create a\ncreate b\nclone b a\n`, /:3:1: template "b" exists already/],
  ['bad_port', `create t\nadd t tcp port http open\n`, /:2:16: expected a port number, got the word "http"$/],
  ['port_zero', `create t\nadd t tcp port 0 open\n`, /:2:16: expected a port number 1-65535, got "0"$/],
  ['bad_action', `create t\nadd t tcp port 1 drop\n`, /:2:18: expected an action: open, closed, filtered, block, reset, tarpit, proxy, internal or a quoted script command, got the keyword "drop"$/],
  ['tarpit_block', `create t\nadd t tcp port 1 tarpit block\n`, /:2:25: expected open, proxy, internal or a script command after tarpit/],
  ['bad_default_proto', `create t\nset t default sctp action block\n`, /:2:15: expected tcp, udp or icmp, got the word "sctp"$/],
  ['unquoted_personality', `create t\nset t personality Linux\n`, /:2:19: expected a quoted personality name, e\.g\. "Linux 4\.15 - 5\.6", or random, got the word "Linux"$/],
  ['droprate_high', `create t\nset t droprate in 150\n`, /:2:19: droprate 150 is over 100 percent$/],
  ['bad_bind_address', `create t\nbind 198.51.100.256 t\n`, /:2:6: expected a dotted IPv4 address, got "198\.51\.100\.256"$/],
  ['placeholder_bind', `create t\nbind <IP> t\n`, /:2:6: expected an IPv4 address to bind \(or a condition\), got the character "<" \(Honeyd: illegal token\)$/],
  ['ipv6_bind', `create t\nbind 2001:db8::1 t\n`, /:2:6: expected an IPv4 address .*got "2001" \(a MAC address must be quoted; IPv6 addresses are not Honeyd syntax/],
  ['duplicate_bind', `create t\nbind 198.51.100.1 t\nbind 198.51.100.1 t\n`, /:3:6: 198\.51\.100\.1 is already bound \(at .*x\.conf:2\)$/],
  ['bind_unknown_template', `bind 198.51.100.1 t\n`, /:1:19: unknown template "t"$/],
  ['claim_host_bits', `create default\nclaim 198.51.100.1/24\n`, /:2:7: "198\.51\.100\.1\/24" has host bits set; the range is 198\.51\.100\.0\/24$/],
  ['claim_unknown_template', `claim 198.51.100.0/24 nope\n`, /:1:23: unknown template "nope"$/],
  ['claim_overlap', `create default\nclaim 198.51.100.0/25\nclaim 198.51.100.64/26\n`, /:3:7: range 198\.51\.100\.64\/26 overlaps 198\.51\.100\.0\/25/],
  ['banner_on_closed_port', `create t\nadd t tcp port 1 reset banner "x"\n`, /:2:24: expected a statement .*, got the word "banner"$/],
  ['banner_on_udp', `create t\nadd t udp port 1 open banner "x"\n`, /:2:18: a banner needs a tcp port$/],
  ['bad_banner_escape', `create t\nadd t tcp port 1 open banner "a\\qb"\n`, /:2:30: unknown escape "\\q" in banner/],
  ['unterminated_quote', `create t\nset t personality "Linux\n`, /:2:19: expected a quoted personality name.*, got a quote that is never closed$/],
  ['empty_string', `create t\nadd t tcp port 1 ""\n`, /:2:18: expected an action: .*, got an empty quoted string ""/],
  ['quote_inside_command', `create t\nadd t tcp port 1 "sh -c "x" y"\n`, /:2:26: expected a statement .*got the word "x" \(a double quote ends a Honeyd string/],
  ['runaway_quote', `create t\nadd t tcp port 1 "sh a.sh\nadd t tcp port 2 "sh b.sh"\n`, /:3:19: expected a statement .*, got the word "sh" \(the quoted string before it runs from line 2 to line 3: is a closing quote missing\?\)$/],
  ['missing_include', `include nothere.conf\n`, /:1:1: cannot read .*nothere\.conf: ENOENT/],
  ['include_without_name', `include\n`, /:2:1: expected a file name after include, got the end of the file$/],
  ['bad_decoyd_option', `option decoyd maxConnections -1\n`, /:1:30: maxConnections must be a positive integer, got "-1"$/],
  ['unknown_decoyd_option', `option decoyd colour blue\n`, /:1:22: unknown decoyd option "colour"$/],
  ['uid_zero', `create t\nset t uid 0\n`, /:2:11: bad uid 0: scripts never run as root$/],
  ['maxfds_small', `create t\nset t maxfds 3\n`, /:2:14: maxfds must be more than 3, got 3$/],
  ['use_on_plain_template', `create a\ncreate b\nadd a use b if tcp\n`, /:3:5: cannot add rules to "a": it is not a dynamic template/],
  ['latency_without_ms', `route entry 192.0.2.1\nroute 192.0.2.1 add net 192.0.2.0/24 192.0.2.2 latency 10\n`, /:3:1: expected "ms" after the latency/],
  ['drop_thresholds', `route 192.0.2.1 add net 192.0.2.0/24 192.0.2.2 bandwidth 1Mbps drop between 20 ms - 10 ms\n`, /:1:77: drop between: the first delay must be smaller than the second$/],
  ['overlapping_entries', `route entry 192.0.2.1\nroute entry 192.0.2.9\n`, /:2:13: entry 192\.0\.2\.9 overlaps the entry 192\.0\.2\.1/],
  ['host_name_address', `create t\nbind "www.example.com" t\n`, /:2:6: "www\.example\.com": decoyd does not resolve host names/],
  ['twelve_oclock_is_fine_but_13_is_not', `dynamic d\ncreate a\nadd d use a if time between 13:00pm - 1:00am\n`, /:3:29: bad time 13:00pm$/],
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

test('honeyd_unknown_personality_with_strict_and_vendor_name_the_line', () => {
  const { lines } = errorsOf('x.conf', `create t\nset t personality "Windows 99"\nset t ethernet "Zzyzxcorp"\n`, { checkDataFiles: true, strictPersonalities: true });
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.match(lines[0], /x\.conf:2:19: unknown personality "Windows 99": no such Fingerprint in .*the closest entry is "Microsoft Windows/);
  assert.match(lines[1], /x\.conf:3:16: unknown ethernet vendor "Zzyzxcorp"/);
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
