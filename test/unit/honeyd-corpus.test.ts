/**
 * The Honeyd corpus: 56 configuration files people published (../shared/corpus/honeyd-conf/),
 * each checked the way `decoyd check` checks it (loadConfigWithData with the installed Nmap data
 * files), against what Honeyd 1.6d itself said of the file once its personality names existed
 * (INDEX.tsv, column verify_1.6d_rc_personality_neutral).
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { IssueList } from '../../daemon/src/config/errors';
import { parseHoneydConfig } from '../../daemon/src/config/honeyd';
import { ConfigError, loadConfigWithData } from '../../daemon/src/config/load';
import { REPO_ROOT } from './config-test-support';

/**
 * Files Honeyd 1.6d rejects only because of a Honeyd bug; decoyd accepts them (README,
 * "How Honeyd syntax is read").
 */
const HONEYD_BUGS: Record<string, string> = {
  '52-marcolucc_docker-plcs_honeyd_-_Copy.conf': 'a comment on the last line without a newline: Honeyd lexes its "#" as an illegal token',
};

/** Where Honeyd's own line number is off: it does not count newlines inside quoted strings. */
const HONEYD_LINE_OFF: Record<string, string> = {
  '43-eichi18_APT-Detection_honeyd.conf': 'the quoted string that runs over a line end moves Honeyd one line behind',
};

/**
 * Where the corpus proxies to, listed as an operator would list them (`--proxy-allow`): decoyd
 * forwards nowhere that is not in the allow-list, and refuses such a file at load.
 */
const CORPUS_PROXY_ALLOW = [
  '$ipsrc:22', '$ipsrc:23', '$ipsrc:137-139', '$ipsrc:445', '141.211.92.141:53', '24.35.0.12:53', '0.0.0.0:502-504',
  '127.0.0.1:102', '127.0.0.1:2222', '127.0.0.1:5000', '127.0.0.1:8080', '192.168.56.104:102', '192.168.56.104:5000',
];

/** The "parsed but not run" warnings of the actions that run now. */
const ACTIONS_NOT_RUN = /(script actions|proxy actions|tarpit is|maxfds is) parsed but not run/;

/** CI puts shared/ beside the clone; a git worktree finds it beside its main checkout. */
function corpusDir(): string {
  const candidates = [path.join(REPO_ROOT, '..', 'shared', 'corpus', 'honeyd-conf')];
  const dotGit = path.join(REPO_ROOT, '.git');
  if (fs.existsSync(dotGit) && fs.statSync(dotGit).isFile()) {
    const gitdir = /^gitdir:\s*(.+)$/m.exec(fs.readFileSync(dotGit, 'utf8'))?.[1];
    // <main>/.git/worktrees/<name> -> <main>/../shared
    if (gitdir) candidates.push(path.join(path.resolve(gitdir, '..', '..', '..'), '..', 'shared', 'corpus', 'honeyd-conf'));
  }
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'INDEX.tsv')));
  assert.ok(found, `the Honeyd corpus is missing: expected INDEX.tsv in ${candidates.join(' or ')} (CI copies shared/ beside the clone)`);
  return found;
}

interface Row {
  file: string;
  /** Honeyd 1.6d accepts it once its personality names exist. */
  honeydAccepts: boolean;
  /** The line of Honeyd's first complaint that is not about a personality name. */
  honeydLine: number | undefined;
}

function readIndex(dir: string): Row[] {
  const [header, ...lines] = fs.readFileSync(path.join(dir, 'INDEX.tsv'), 'utf8').trim().split('\n');
  const cols = header.split('\t');
  const col = (name: string): number => {
    const i = cols.indexOf(name);
    assert.ok(i >= 0, `INDEX.tsv has no column ${name}`);
    return i;
  };
  const [fileCol, rcCol, msgCol] = [col('file'), col('verify_1.6d_rc_personality_neutral'), col('verify_1.6d_messages')];
  return lines.map((line) => {
    const f = line.split('\t');
    const complaint = (f[msgCol] ?? '')
      .split(/;\s*/)
      .map((m) => /^line (\d+): (.*)$/.exec(m.trim()))
      .find((m) => m !== null && !m[2].startsWith('Unknown personality'));
    return { file: f[fileCol], honeydAccepts: f[rcCol] === '0', honeydLine: complaint ? Number(complaint[1]) : undefined };
  });
}

test('honeyd_corpus_is_read_as_honeyd_16d_reads_it', () => {
  const dir = corpusDir();
  const rows = readIndex(dir);
  assert.equal(rows.length, 56);
  let accepted = 0;
  let rejected = 0;
  let bugs = 0;
  let warnings = 0;
  let mapped = 0;
  const failures: string[] = [];
  for (const row of rows) {
    const file = path.join(dir, row.file);
    let error: ConfigError | undefined;
    try {
      const loaded = loadConfigWithData(file, { proxyAllow: CORPUS_PROXY_ALLOW });
      warnings += loaded.warnings.length;
      mapped += loaded.personalityMappings.length;
      // Scripts, proxies, tarpits and maxfds run: none of them is warned about as parsed only.
      const notRun = loaded.warnings.filter((w) => ACTIONS_NOT_RUN.test(w.message));
      if (notRun.length > 0) failures.push(`${row.file}: ${notRun.map((w) => `${w.line}: ${w.message}`).join('; ')}`);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      error = err;
    }
    const bug = HONEYD_BUGS[row.file];
    if (row.honeydAccepts || bug !== undefined) {
      if (error) failures.push(`${row.file}: Honeyd 1.6d accepts it${bug ? ' (but for a Honeyd bug)' : ''}, decoyd said:\n  ${error.message}`);
      else if (bug) bugs++;
      else accepted++;
      continue;
    }
    if (!error) {
      failures.push(`${row.file}: Honeyd 1.6d rejects it (line ${row.honeydLine}), decoyd accepted it`);
      continue;
    }
    rejected++;
    const first = error.issues[0];
    if (first.file !== file || !(first.line >= 1)) failures.push(`${row.file}: the first error does not name the file and a line: ${error.message}`);
    else if (row.honeydLine !== undefined && HONEYD_LINE_OFF[row.file] === undefined && !error.issues.some((i) => i.line === row.honeydLine)) {
      failures.push(`${row.file}: Honeyd complains at line ${row.honeydLine}, decoyd at ${error.issues.map((i) => i.line).join(', ')}:\n  ${error.message}`);
    }
  }
  console.log(
    `honeyd corpus: ${rows.length} files; ${accepted} accepted as Honeyd 1.6d accepts them, ${rejected} rejected with file:line errors as Honeyd 1.6d rejects them, ` +
      `${bugs} accepted where Honeyd's rejection is a Honeyd bug; ${mapped} personality names mapped, ${warnings} warnings`,
  );
  assert.deepEqual(failures, []);
  assert.equal(accepted + rejected + bugs, rows.length);
});

test('decoyd_check_on_corpus_files_prints_hosts_templates_mapping_and_warnings', () => {
  const dir = corpusDir();
  const allow = CORPUS_PROXY_ALLOW.flatMap((a) => ['--proxy-allow', a]);
  const check = (name: string): string =>
    execFileSync(process.execPath, [path.join(REPO_ROOT, 'dist/daemon/src/cli/main.js'), 'check', ...allow, path.join(dir, name)], { encoding: 'utf8' });

  const sample = check('01-provos_honeyd_config.sample');
  assert.match(sample, /^hosts \(5\)$/m);
  assert.match(sample, /^templates \(5\)$/m);
  assert.match(sample, /^ {2}default {2}built-in default personality, 0 ports; no host bound$/m);
  assert.match(sample, /^ {2}10\.3\.1\.11 {2}template 10\.3\.1\.11 /m);
  assert.match(sample, /personality {2}"Microsoft Windows NT 4\.0 SP3"/);
  assert.match(sample, /tcp\/23 \(proxy \$ipsrc:23\)/);
  assert.match(sample, /^personality mapping \(1: names not in nmap-os-db\)$/m);
  assert.match(sample, /^ {2}"Cisco 1601R router running IOS 12\.1\(5\)" -> "Cisco [^"]+\(IOS 12\.[^"]+"$/m);
  assert.match(sample, /^topology \(1 entries, 3 links, 2 routes, 0 unreach\)$/m);
  assert.match(sample, /^ {2}10\.0\.0\.1 {2}10\.3\.0\.0\/16 via 10\.3\.0\.1 {2}latency 8 ms .*bandwidth 10000000 bit\/s/m);
  assert.match(sample, /^warnings \(\d+\)$/m);

  const bloat = check('10-DataSoft_Honeyd_honeyd.conf.bloat');
  assert.match(bloat, /dynamic {6}4 rules; per new flow the first that holds answers/);
  assert.match(bloat, /p0f labels \(\d+\): Windows XP, Windows 7 or 8/);
  assert.match(bloat, /source os = "windows" -> magichost_0_sticky/);
  assert.match(bloat, /time 00:00-05:00 -> magichost_2_router/);
  assert.match(bloat, /other tcp {4}tarpit$/m);
  assert.match(bloat, /"Linux 2\.4\.7 \(X86\)" -> "Linux 2\.4\.7"/);
  assert.match(bloat, /scripts and subsystems as uid 32767 gid 32767/);

  const nova = check('23-DataSoft_Nova_user_honeyd.config');
  assert.match(nova, /^dhcp clients \(3\)$/m);
  assert.match(nova, /template WinServer on eth0: address from the LAN's DHCP server; MAC from "00:1d:09:0f:88:1f"/);
});

test('corpus_proxies_outside_the_allow_list_are_refused_at_their_line', () => {
  const dir = corpusDir();
  const file = path.join(dir, '01-provos_honeyd_config.sample');
  assert.throws(
    () => loadConfigWithData(file),
    (err: unknown) => err instanceof ConfigError
      && err.issues.some((i) => i.line === 15 && /proxy target "\$ipsrc:23" is not in the proxy allow-list: connecting back to the attacker needs an explicit "\$ipsrc:PORT" entry/.test(i.message))
      && err.issues.some((i) => i.line === 16 && /proxy target "141\.211\.92\.141:53" is not in the proxy allow-list/.test(i.message)),
  );
  // An address range never covers $ipsrc: it must be listed as such.
  assert.throws(() => loadConfigWithData(file, { proxyAllow: ['0.0.0.0/0:*'] }), (err: unknown) => err instanceof ConfigError && err.issues.length === 1 && err.issues[0]?.line === 15);
  assert.doesNotThrow(() => loadConfigWithData(file, { proxyAllow: ['0.0.0.0/0:*', '$ipsrc:23'] }));
});

test('strict_personalities_turns_the_mapping_into_errors', () => {
  const dir = corpusDir();
  assert.throws(
    () => loadConfigWithData(path.join(dir, '35-aneeshkp246_honeyd-honeypot-generator_honeyd.conf'), { strictPersonalities: true }),
    (err: unknown) => err instanceof ConfigError && err.issues.length === 8 && /:4:27: unknown personality "OpenBSD": .*the closest entry is "OpenBSD/.test(err.message),
  );
});

test('decoyd_run_refuses_only_features_that_would_run_wrongly', () => {
  const dir = corpusDir();
  const allow = CORPUS_PROXY_ALLOW.flatMap((a) => ['--proxy-allow', a]);
  const run = (name: string, ...extra: string[]): { status: number | null; stderr: string } => {
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist/daemon/src/cli/main.js'), 'run', '--config', path.join(dir, name), '--interface', 'decoyd-none0', ...allow, ...extra], { encoding: 'utf8' });
    return { status: r.status, stderr: r.stderr };
  };
  // `bind IP to IF` runs (stack/routing/real-hosts.ts): run stops later, at the missing interface.
  const realHost = run('11-DataSoft_Honeyd_honeyd.conf.networks');
  assert.doesNotMatch(realHost.stderr, /refusing to run|"bind ADDRESS to INTERFACE" is parsed/);
  assert.match(realHost.stderr, /no such network interface: decoyd-none0/);
  // Dynamic templates run: the file with them is accepted (run stops later, at the missing interface).
  const dynamic = run('10-DataSoft_Honeyd_honeyd.conf.bloat');
  assert.doesNotMatch(dynamic.stderr, /refusing to run|dynamic templates are parsed/);
  assert.doesNotMatch(dynamic.stderr, ACTIONS_NOT_RUN);
  assert.match(dynamic.stderr, /no such network interface: decoyd-none0/);
  // Scripts and proxies run: no warning about them; run stops later, at the missing interface.
  const scripted = run('05-DataSoft_Honeyd_config.sample');
  assert.doesNotMatch(scripted.stderr, ACTIONS_NOT_RUN);
  assert.doesNotMatch(scripted.stderr, /refusing to run/);
  assert.match(scripted.stderr, /no such network interface: decoyd-none0/);
  // --strict-personalities turns a mapped name into a configuration error.
  const strict = run('35-aneeshkp246_honeyd-honeypot-generator_honeyd.conf', '--strict-personalities');
  assert.equal(strict.status, 2);
  assert.match(strict.stderr, /:4:27: unknown personality "OpenBSD"/);
});

test('honeyd_parser_never_throws_on_mutated_corpus_files', () => {
  // Bad input never crashes: corpus files with bytes deleted, inserted and replaced.
  const dir = corpusDir();
  const texts = readIndex(dir).map((row) => fs.readFileSync(path.join(dir, row.file), 'latin1'));
  let seed = 7;
  const random = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < 2000; i++) {
    let text = texts[Math.floor(random() * texts.length)];
    for (let k = 1 + Math.floor(random() * 5); k > 0; k--) {
      const at = Math.floor(random() * text.length);
      const op = random();
      if (op < 0.4) text = text.slice(0, at) + text.slice(at + Math.floor(random() * 20));
      else if (op < 0.8) text = text.slice(0, at) + ' "#:/-=.\n0123xyz$'[Math.floor(random() * 17)] + text.slice(at);
      else text = text.slice(0, at) + String.fromCharCode(Math.floor(random() * 256)) + text.slice(at);
    }
    const issues = new IssueList();
    const readText = (f: string): string => {
      if (f !== 'fuzz.conf') throw new Error('ENOENT');
      return text;
    };
    assert.doesNotThrow(() => parseHoneydConfig('fuzz.conf', issues, readText), `input: ${JSON.stringify(text.slice(0, 300))}`);
  }
});
