/**
 * nmap-service-probes parsing (the installed file), the PCRE subset and its JS translation, the
 * version-info substitution, and the response generator (every NULL and GetRequest rule).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../daemon/src/personality/model/prng';
import { serviceProbes } from '../../daemon/src/services/probes/catalog';
import { generateVerified } from '../../daemon/src/services/probes/generate';
import { firstMatch, matchChain, probeOrder, substitute, versionInfo } from '../../daemon/src/services/probes/matcher';
import { compileJs, parseRegex } from '../../daemon/src/services/probes/pcre';
import { parseServiceProbes, ruleRegex, unescapeC } from '../../daemon/src/services/probes/service-probes';

const file = serviceProbes();
const probe = (name: string, proto: 'tcp' | 'udp' = 'tcp') => {
  const p = file.probes.find((x) => x.name === name && x.proto === proto);
  assert.ok(p, `probe ${name}`);
  return p;
};

test('probes_installed_file_counts_match_nmap_7_93', () => {
  // Debian 12 nmap 7.93 (reference §1.3): 148 probes, 100 TCP / 48 UDP, 11,721 match, 196 softmatch.
  assert.equal(file.probes.length, 148);
  assert.equal(file.probes.filter((p) => p.proto === 'tcp').length, 100);
  const rules = file.probes.flatMap((p) => p.rules);
  assert.equal(rules.filter((r) => !r.soft).length, 11721);
  assert.equal(rules.filter((r) => r.soft).length, 196);
  assert.deepEqual(file.exclude, ['T:9100-9107']);
  assert.equal(probe('NULL').totalwaitms, 6000);
  assert.equal(probe('NULL').tcpwrappedms, 3000);
  assert.equal(probe('GetRequest').payload, 'GET / HTTP/1.0\r\n\r\n');
  assert.ok(probe('GetRequest').ports.has(80) && probe('GetRequest').sslports.has(443) && !probe('GetRequest').ports.has(443));
  assert.equal(probe('GetRequest').rarity, 1);
  assert.deepEqual(probe('HTTPOptions').fallback, ['GetRequest']);
  assert.equal(probe('DNSVersionBindReq', 'udp').payload, '\0\x06\x01\0\0\x01\0\0\0\0\0\0\x07version\x04bind\0\0\x10\0\x03');
  // Every rule is inside our PCRE subset.
  assert.equal(rules.filter((r) => ruleRegex(r) === undefined).length, 0);
});

test('probes_known_rule_fields', () => {
  const rule = probe('NULL').rules.find((r) => r.line === 745);
  assert.ok(rule);
  assert.equal(rule.service, 'ftp');
  assert.equal(rule.pattern, '^220 ProFTPD (\\d\\S+) Server');
  assert.deepEqual(rule.info, { p: 'ProFTPD', v: '$1', o: 'Unix' });
  assert.deepEqual(rule.cpe, ['a:proftpd:proftpd:$1']);
  const hit = firstMatch(matchChain(file, probe('NULL')), '220 ProFTPD 1.3.5 Server (ProFTPD Default Installation) [198.51.100.1]\r\n');
  assert.equal(hit?.rule, rule);
  assert.deepEqual(hit && versionInfo(hit), { p: 'ProFTPD', v: '1.3.5', o: 'Unix' });
});

test('probes_parser_reads_grammar_and_rejects_bad_flags', () => {
  const text = [
    '# comment', 'Exclude T:9100', 'Probe TCP NULL q||', 'totalwaitms 6000',
    'match a m|^x(\\d)|s p/A/ v/$1/ cpe:/a:x:y:$1/a', 'softmatch b m=^y=i',
    'Probe UDP Z q|\\x01\\0a| no-payload', 'ports 1,5-7', 'sslports 9', 'rarity 8', 'fallback NULL',
  ].join('\n');
  const f = parseServiceProbes(text, 'fixture');
  assert.equal(f.probes.length, 2);
  const [n, z] = f.probes;
  assert.equal(n.rules[0].dotall, true);
  assert.equal(n.rules[1].soft, true);
  assert.equal(n.rules[1].caseless, true);
  assert.equal(z.payload, '\x01\0a');
  assert.equal(z.noPayload, true);
  assert.ok(z.ports.has(6) && !z.ports.has(8) && z.sslports.has(9));
  assert.equal(z.rarity, 8);
  assert.throws(() => parseServiceProbes('Probe TCP NULL q||\nmatch a m|x|m p/A/', 'f'), /f:2: illegal regex flag "m"/);
  assert.equal(unescapeC('a\\r\\n\\x41\\0\\\\'), 'a\r\nA\0\\');
});

test('probe_order_follows_nmap_for_80_22_and_443', () => {
  const names = (port: number, tunnel = false) => probeOrder(file, 'tcp', port, tunnel).map((p) => p.name);
  assert.deepEqual(names(80).slice(0, 7), ['NULL', 'GetRequest', 'HTTPOptions', 'RTSPRequest', 'X11Probe', 'FourOhFourRequest', 'GenericLines']);
  assert.deepEqual(names(22).slice(0, 3), ['NULL', 'GenericLines', 'GetRequest']);
  assert.deepEqual(names(443).slice(0, 6), ['NULL', 'SSLSessionReq', 'TLSSessionReq', 'SSLv23SessionReq', 'X11Probe', 'OpenVPN']);
  assert.equal(names(80).length, 30);
  assert.deepEqual(names(443, true).slice(0, 2), ['NULL', 'GetRequest']);
  assert.equal(probeOrder(file, 'udp', 53)[0].name, 'DNSVersionBindReq');
});

test('pcre_translation_keeps_pcre_semantics', () => {
  const rx = (src: string, i = false, s = false) => compileJs(parseRegex(src, i, s));
  assert.ok(rx('^[^]x]+$').test('ab'), '[^]…] is a negated class with ]');
  assert.ok(!rx('^[^]x]+$').test('a]'));
  assert.ok(rx('^a.b').test('a\rb'), 'non-DOTALL . matches CR in PCRE');
  assert.ok(!rx('^a.b').test('a\nb'));
  assert.ok(rx('^a.b', false, true).test('a\nb'));
  assert.ok(rx('^abc$').test('abc\n'), '$ matches before a final newline');
  assert.ok(!rx('^abc$').test('abc\n\n'));
  assert.ok(!rx('^a\\sb').test('a\xa0b'), 'PCRE \\s (C locale) excludes 0xa0');
  assert.ok(rx('^caf\xe9', true).test('CAF\xe9') && !rx('^caf\xe9', true).test('caf\xc9'), 'no Latin-1 case folding');
  assert.ok(rx('^\\x41\\0\\x4a').test('A\0J'));
  assert.ok(rx('^a{2}\\{x').test('aa{x'), 'a { that is no quantifier is literal');
  assert.ok(rx('^(a)b\\1').test('aba'));
  assert.ok(rx('^(?!.*ssh)x').test('xyz') && !rx('^(?!.*ssh)x').test('xssh'));
});

test('substitution_helpers_as_nmap', () => {
  assert.equal(substitute('$1 Debian $2', [undefined, '9.2p1', '2+deb12u10']), '9.2p1 Debian 2+deb12u10');
  assert.equal(substitute('$P(1)', [undefined, 'W\0O\0R\0K\0']), 'WORK');
  assert.equal(substitute('$SUBST(1,"_",".")', [undefined, '1_2_3']), '1.2.3');
  assert.equal(substitute('$I(1,">")', [undefined, '\x01\x00']), '256');
  assert.equal(substitute('$I(1,"<")', [undefined, '\x01\x00']), '1');
  assert.equal(substitute('x $1, ', [undefined, 'y']), 'x y');
  assert.equal(substitute('$2', [undefined, 'a']), undefined, 'an unset group fails the template');
});

test('generator_output_matches_its_own_rule_for_every_null_and_getrequest_rule', () => {
  let total = 0;
  let matched = 0;
  for (const p of [probe('NULL'), probe('GetRequest')]) {
    for (const rule of p.rules) {
      const rx = ruleRegex(rule);
      assert.ok(rx);
      total++;
      const out = generateVerified(rx.parsed, rx.compiled, { rng: new SeededRandom(rule.line) });
      if (out !== undefined) {
        matched++;
        assert.ok(rx.compiled.test(out.text));
      }
    }
  }
  assert.equal(total, 8860);
  // Three rules need a lookahead our generator does not build; everything else matches.
  assert.ok(matched >= total - 5, `${matched} of ${total}`);
});

test('generator_pins_captures_and_rejects_values_the_group_refuses', () => {
  const parsed = parseRegex('^220 ProFTPD (\\d\\S+) Server', false, false);
  const compiled = compileJs(parsed);
  const out = generateVerified(parsed, compiled, { pins: new Map([[1, '1.3.5']]), rng: new SeededRandom(1) });
  assert.equal(out?.text, '220 ProFTPD 1.3.5 Server');
  assert.equal(generateVerified(parsed, compiled, { pins: new Map([[1, 'x.y']]), rng: new SeededRandom(1) }), undefined);
  // Non-DOTALL `.` and `[^\r\n]` fillers never produce a line break.
  const filler = parseRegex('^a.{20}[^\\r\\n]{20}b', false, false);
  for (let seed = 0; seed < 20; seed++) {
    const g = generateVerified(filler, compileJs(filler), { rng: new SeededRandom(seed), variation: 3 });
    assert.ok(g !== undefined && !/[\r\n]/.test(g.text));
  }
});

test('runs inside unbounded repeats are matched one byte per iteration: same strings, no exponential backtracking', () => {
  // Nmap's PHP-cli-server rule against a Boa 404: JavaScript never returned on the literal form.
  const file = serviceProbes('/usr/share/nmap/nmap-service-probes');
  const rule = file.probes.flatMap((p) => p.rules).find((m) => m.service === 'http' && m.pattern.startsWith('^HTTP/1\\.0 404 Not Found\\r\\n(?:[^<]+|<(?!/head>))*?<style>'));
  assert.ok(rule, 'the PHP cli server rule is in nmap-service-probes');
  const rx = ruleRegex(rule);
  assert.ok(rx);
  const boa = 'HTTP/1.0 404 Not Found\r\nDate: Wed, 02 Dec 2026 18:00:00 GMT\r\nServer: Boa/0.94.14rc21\r\nConnection: close\r\nContent-Type: text/html; charset=ISO-8859-1\r\n\r\n'
    + '<HTML><HEAD><TITLE>404 Not Found</TITLE></HEAD>\n<BODY><H1>404 Not Found</H1>\nThe requested URL /nice%20ports%2C/Tri%6Eity.txt%2ebak was not found on this server.\n</BODY></HTML>\n';
  const started = Date.now();
  assert.equal(rx.compiled.exec(boa), null);
  assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);

  // The rewritten forms accept exactly what the literal ones accept (checked on every short string).
  const patterns = ['^(?:a+|b)*c$', '^(?:[ab]+)*?c', '^(?:a*|b){2,}$', '^(?:a+|b){2,}$', '^x(?:[^<]+|<(?!/h))*y$', '^(a+|b)*$'];
  const alphabet = ['a', 'b', 'c', '<', '/', 'h', 'x', 'y'];
  const strings: string[] = [''];
  for (let len = 1; len <= 5; len++) for (const s of strings.filter((t) => t.length === len - 1)) for (const ch of alphabet) strings.push(s + ch);
  for (const source of patterns) {
    const literal = new RegExp(source);
    const compiled = compileJs(parseRegex(source, false, false));
    for (const s of strings) assert.equal(compiled.test(s), literal.test(s), `${source} on ${JSON.stringify(s)}`);
  }
});
