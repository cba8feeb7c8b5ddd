/**
 * SSH and Telnet emulators on Buffers: version tables (ident bytes nmap names exactly, HASSH of
 * the vanilla lists, distribution revisions), OpenSSH's answers to bad identification lines, the
 * per-client KEXINIT offer, Telnet negotiation per flavour, the fake shell, and the YAML keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serviceProbes } from '../../daemon/src/services/probes/catalog';
import { firstMatch, matchChain, versionInfo } from '../../daemon/src/services/probes/matcher';
import { identLine, sshPersonaFor, type SshPersona } from '../../daemon/src/services/ssh/versions';
import { judgeIdent, scanIdent } from '../../daemon/src/services/ssh/ident';
import { hasshClient, hasshServer, kexinitPacket, negotiate, offerFor, readFirstPacket, type KexLists } from '../../daemon/src/services/ssh/kexinit';
import { SSH2_AEAD, SSH2_SUPPORTED } from '../../daemon/src/services/ssh/ssh2-glue';
import { DO, DONT, FLAVOURS, IAC, OPT, SB, SE, TelnetReader, WILL, WONT } from '../../daemon/src/services/telnet/negotiation';
import { FakeShell } from '../../daemon/src/services/interactive/fake-shell';
import { hostProfile } from '../../daemon/src/services/interactive/host-profile';
import { LoginJudge } from '../../daemon/src/services/interactive/login-policy';
import { configOf, errorsOf } from './config-test-support';

const file = serviceProbes();
const nullProbe = file.probes.find((p) => p.name === 'NULL' && p.proto === 'tcp');
assert.ok(nullProbe);

function persona(product: string, version: string): SshPersona {
  const p = sshPersonaFor(product, version);
  assert.equal(typeof p, 'object', String(p));
  return p as SshPersona;
}

/** What nmap -sV prints for these banner bytes (NULL probe, first match wins). */
function nmapNames(bytes: string): { p?: string; v?: string } {
  const hit = firstMatch(matchChain(file, nullProbe!), bytes);
  return hit === undefined ? {} : versionInfo(hit);
}

const SSH_VERSIONS: Array<[string, string]> = [
  ['OpenSSH', '7.4'],
  ['OpenSSH', '7.6p1 Ubuntu 4ubuntu0.7'],
  ['OpenSSH', '7.9p1 Debian 10+deb10u2'],
  ['OpenSSH', '8.2p1 Ubuntu 4ubuntu0.13'],
  ['OpenSSH', '8.9p1 Ubuntu 3ubuntu0.10'],
  ['OpenSSH', '9.2p1 Debian 2+deb12u7'],
  ['OpenSSH', '9.6p1 Ubuntu 3ubuntu13.5'],
  ['Dropbear sshd', '2022.83'],
];

test('every SSH version in the table sends an identification nmap names exactly as configured', () => {
  for (const [product, version] of SSH_VERSIONS) {
    const p = persona(product, version);
    const got = nmapNames(identLine(p));
    assert.equal(got.p, product, identLine(p));
    assert.equal(got.v, version, identLine(p));
  }
  assert.equal(identLine(persona('OpenSSH', '8.9p1 Ubuntu 3ubuntu0.10')), 'SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10\r\n');
});

test('vanilla lists give the HASSH-server values computed from myproposal.h; patch levels add Terrapin and Debian\'s sntrup rename', () => {
  const h = (p: SshPersona): string => hasshServer(p.kex, p.ciphers, p.macs, p.compression);
  // Before the distributions' Terrapin backports the lists are upstream's.
  assert.equal(h(persona('OpenSSH', '8.2p1 Ubuntu 4ubuntu0.9')), '3ccd1778a76049721c71ad7d2bf62bbc');
  assert.equal(h(persona('OpenSSH', '8.9p1 Ubuntu 3ubuntu0.4')), '699519fdcc30cbcd093d5cd01e4b1d56');
  assert.equal(h(persona('OpenSSH', '9.2p1 Debian 2+deb12u1')), 'a984ff804585fabe3cd08f4b3849024a');
  assert.equal(h(persona('OpenSSH', '9.6p1 Ubuntu 3ubuntu13.5')), 'e42184b06d45385a906f0803d04c83da');
  assert.deepEqual(persona('OpenSSH', '8.9p1 Ubuntu 3ubuntu0.10').kex.slice(-2), ['diffie-hellman-group14-sha256', 'kex-strict-s-v00@openssh.com']);
  assert.ok(!persona('OpenSSH', '8.9p1 Ubuntu 3ubuntu0.4').kex.includes('kex-strict-s-v00@openssh.com'));
  const d7 = persona('OpenSSH', '9.2p1 Debian 2+deb12u7').kex;
  assert.deepEqual(d7.slice(0, 3), ['sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com', 'curve25519-sha256']);
  assert.equal(d7[d7.length - 1], 'kex-strict-s-v00@openssh.com');
  assert.deepEqual(persona('OpenSSH', '9.6p1 Ubuntu 3ubuntu13.5').kex.slice(-2), ['ext-info-s', 'kex-strict-s-v00@openssh.com']);
  // Host-key lists follow list_hostkey_types(): ssh-rsa first before 7.9, gone from 8.8.
  assert.equal(persona('OpenSSH', '7.4').hostKeyAlgorithms[0], 'ssh-rsa');
  assert.deepEqual(persona('OpenSSH', '8.2p1 Ubuntu 4ubuntu0.13').hostKeyAlgorithms.slice(0, 3), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
  assert.ok(!persona('OpenSSH', '9.2p1 Debian 2+deb12u7').hostKeyAlgorithms.includes('ssh-rsa'));
});

test('versions without a table, and malformed revisions, are refused with the supported list', () => {
  assert.match(String(sshPersonaFor('OpenSSH', '6.6.1p1 Ubuntu 2ubuntu2')), /no KEXINIT table for OpenSSH 6\.6\.1p1.*8\.9p1 Ubuntu 3ubuntu0\.10/);
  assert.match(String(sshPersonaFor('OpenSSH', '8.9p1 Debian 3ubuntu0.10')), /version "8\.9p1 Ubuntu REVISION"/);
  assert.match(String(sshPersonaFor('OpenSSH', '8.9p1 Ubuntu 2+deb12u1')), /not a ubuntu2204 package revision/);
  assert.match(String(sshPersonaFor('libssh', '0.9.6')), /offers OpenSSH and Dropbear sshd/);
});

test('bad identification lines get OpenSSH\'s own answers, by generation', () => {
  const j = (s: string, style: 'openssh' | 'openssh-legacy' | 'dropbear' = 'openssh') => judgeIdent(Buffer.from(s, 'latin1'), style);
  assert.deepEqual(j('SSH-2.0-OpenSSH_9.2p1\r\n\0\0'), { kind: 'ok', line: 'SSH-2.0-OpenSSH_9.2p1', length: 23, software: 'OpenSSH_9.2p1' });
  assert.deepEqual(j('SSH-2.0-x'), { kind: 'more' });
  assert.deepEqual(j('\r\r\r\r\r\r\r\r'), { kind: 'more' }, 'a run of CR waits, as sshd does');
  for (const bad of ['SSH-1337-OpenSSH_9.0\r\n', 'SSH-1111-OpenSSH_9.0\r\n', 'GET / HTTP/1.0\r\n', 'SSH-2.0-\r\n', '\n', 'SSH-2.0-x\rbad\r\n', 'SSH-2.0-a\0b\r\n']) {
    const v = j(bad);
    assert.equal(v.kind, 'refuse', JSON.stringify(bad));
    assert.equal(v.kind === 'refuse' && v.reply, 'Invalid SSH identification string.\r\n', JSON.stringify(bad));
  }
  const long = j(`SSH-2.0-${'A'.repeat(9000)}`);
  assert.equal(long.kind === 'refuse' && long.reply, 'Invalid SSH identification string.\r\n');
  for (const major of ['SSH-3.0-x\r\n', 'SSH-1.5-x\r\n', 'SSH-0.0-x\n']) {
    const v = j(major);
    assert.equal(v.kind === 'refuse' && v.reply, 'Protocol major versions differ.\r\n', major);
  }
  assert.equal(j('SSH-1.99-PuTTY\r\n').kind, 'ok');
  const probe = j('SSH-2.0-Probe-x\r\n');
  assert.equal(probe.kind === 'refuse' && probe.reply, '');
  // 7.x: `Protocol mismatch.` and LF-only answers.
  const legacy = j('SSH-1337-OpenSSH_9.0\r\n', 'openssh-legacy');
  assert.equal(legacy.kind === 'refuse' && legacy.reply, 'Protocol mismatch.\n');
  const legacyMajor = j('SSH-3.0-x\r\n', 'openssh-legacy');
  assert.equal(legacyMajor.kind === 'refuse' && legacyMajor.reply, 'Protocol major versions differ.\n');
  assert.equal(j('SSH-2.0-ok\r\n', 'openssh-legacy').kind, 'ok');
  // Dropbear closes without a word.
  const db = j('HELLO\r\n', 'dropbear');
  assert.equal(db.kind === 'refuse' && db.reply, '');
  // sscanf("SSH-%d.%d-%[^\n]"): %d skips blanks and takes a sign.
  assert.deepEqual(scanIdent('SSH- 2.+0-x'), { major: 2, minor: 0, rest: 'x' });
});

/** A clear-text KEXINIT packet as a client sends it. */
function clientKexinit(l: KexLists): Buffer {
  const lists = [l.kex, l.hostKey, l.cipherCs, l.cipherSc, l.macCs, l.macSc, l.compCs, l.compSc, [], []];
  const parts = [Buffer.from([20]), Buffer.alloc(16, 7)];
  for (const x of lists) {
    const s = Buffer.from(x.join(','), 'latin1');
    const n = Buffer.alloc(4);
    n.writeUInt32BE(s.length);
    parts.push(n, s);
  }
  parts.push(Buffer.from([0, 0, 0, 0, 0]));
  const payload = Buffer.concat(parts);
  let pad = 8 - ((payload.length + 5) % 8);
  if (pad < 4) pad += 8;
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length + pad + 1);
  head[4] = pad;
  return Buffer.concat([head, payload, Buffer.alloc(pad)]);
}

const OPENSSH_92_CLIENT: KexLists = {
  kex: ['sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com', 'curve25519-sha256', 'curve25519-sha256@libssh.org', 'ecdh-sha2-nistp256', 'diffie-hellman-group14-sha256', 'ext-info-c', 'kex-strict-c-v00@openssh.com'],
  hostKey: ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'rsa-sha2-512', 'rsa-sha2-256'],
  cipherCs: ['chacha20-poly1305@openssh.com', 'aes128-ctr', 'aes256-gcm@openssh.com'], cipherSc: ['chacha20-poly1305@openssh.com', 'aes128-ctr', 'aes256-gcm@openssh.com'],
  macCs: ['umac-64-etm@openssh.com', 'hmac-sha2-256-etm@openssh.com'], macSc: ['umac-64-etm@openssh.com', 'hmac-sha2-256-etm@openssh.com'],
  compCs: ['none', 'zlib@openssh.com'], compSc: ['none', 'zlib@openssh.com'],
};

test('the offer keeps every name this client would not choose, and drops the ones ssh2 cannot run that it would', () => {
  const p = persona('OpenSSH', '9.2p1 Debian 2+deb12u7');
  const wanted = { kex: p.kex, hostKey: p.hostKeyAlgorithms, ciphers: p.ciphers, macs: p.macs, compression: p.compression };
  const first = readFirstPacket(Buffer.concat([clientKexinit(OPENSSH_92_CLIENT), Buffer.from('rest')]));
  assert.equal(first.kind, 'kexinit');
  const lists = (first as { lists: KexLists }).lists;
  assert.deepEqual(lists, OPENSSH_92_CLIENT);
  assert.match(hasshClient(lists), /^[0-9a-f]{32}$/);
  // OpenSSH 9.2 would pick both sntrup names: they go; its AEAD cipher means the umac names stay.
  const o = offerFor(wanted, lists, SSH2_SUPPORTED, SSH2_AEAD);
  assert.deepEqual(o.kex, p.kex.filter((k) => !k.startsWith('sntrup')));
  assert.deepEqual(o.macs, p.macs);
  assert.equal(negotiate(lists.kex, o.kex), 'curve25519-sha256');
  // A scanner that offers neither sntrup nor umac sees the version's lists unchanged: HASSH exact.
  const scanner: KexLists = { ...OPENSSH_92_CLIENT, kex: ['curve25519-sha256', 'diffie-hellman-group14-sha1'], macCs: ['hmac-sha1'], macSc: ['hmac-sha1'], cipherCs: ['aes128-ctr'], cipherSc: ['aes128-ctr'] };
  const s = offerFor(wanted, scanner, SSH2_SUPPORTED, SSH2_AEAD);
  assert.equal(hasshServer(s.kex, s.ciphers, s.macs, s.compression), hasshServer(p.kex, p.ciphers, p.macs, p.compression));
  // A client that would choose umac with a non-AEAD cipher gets the umac names removed, nothing else.
  const umac: KexLists = { ...scanner, macCs: ['umac-64-etm@openssh.com', 'hmac-sha2-256'], macSc: ['umac-64-etm@openssh.com', 'hmac-sha2-256'] };
  const u = offerFor(wanted, umac, SSH2_SUPPORTED, SSH2_AEAD);
  assert.deepEqual(u.macs, p.macs.filter((m) => m !== 'umac-64-etm@openssh.com'));
  assert.equal(negotiate(umac.macCs, u.macs), 'hmac-sha2-256');
  // No KEXINIT in time: only what ssh2 runs (plus the signalling names).
  const blind = offerFor(wanted, undefined, SSH2_SUPPORTED, SSH2_AEAD);
  assert.ok(blind.kex.every((k) => SSH2_SUPPORTED.kex.has(k) || k === 'kex-strict-s-v00@openssh.com'), blind.kex.join());
  assert.ok(blind.macs.every((m) => SSH2_SUPPORTED.mac.has(m)));
  // The emulator's own KEXINIT packet (sent when ssh2 never runs) reads back as the same lists.
  const own = readFirstPacket(kexinitPacket(blind));
  assert.equal(own.kind, 'kexinit');
  assert.deepEqual((own as { lists: KexLists }).lists.kex, blind.kex);
  assert.deepEqual((own as { lists: KexLists }).lists.macSc, blind.macs);
  assert.equal(kexinitPacket(blind).length % 8, 0);
  // Bad lengths are OpenSSH's silent discard.
  assert.deepEqual(readFirstPacket(Buffer.from('\r\r\r\r\r\r\r\r', 'latin1')), { kind: 'bad-length' });
  assert.deepEqual(readFirstPacket(Buffer.from([0, 0, 1])), { kind: 'more' });
});

test('telnet openings are the bytes nmap names as the configured product', () => {
  assert.equal(nmapNames(FLAVOURS.linux.opening.toString('latin1')).p, 'Linux telnetd');
  assert.equal(nmapNames(`${FLAVOURS.busybox.opening.toString('latin1')}web-02 login: `).p, 'BusyBox telnetd');
  assert.equal(nmapNames(FLAVOURS.cisco.opening.toString('latin1')).p, 'Cisco router telnetd');
  assert.equal(nmapNames(`${FLAVOURS.cisco.opening.toString('latin1')}\r\n\r\nUser Access Verification\r\n\r\nUsername: `).p, 'Cisco IOS telnetd');
});

test('telnet negotiation: answers once per change, strips IAC sequences split across chunks, reads the terminal type', () => {
  const r = new TelnetReader(FLAVOURS.linux);
  // The client agrees to TTYPE (asked in the opening): we ask for the type; it offers an unknown option: DONT.
  let got = r.read(Buffer.from([IAC, WILL, OPT.TTYPE, IAC, WILL, 99, 0x61]));
  assert.deepEqual([...got.reply], [IAC, SB, OPT.TTYPE, 1, IAC, SE, IAC, DONT, 99]);
  assert.deepEqual([...got.data], [0x61]);
  assert.ok(got.negotiated);
  // A DO for something we do (SGA is in afterAnswer: already WILL) gets nothing; an unknown DO gets WONT.
  got = r.read(Buffer.from([IAC, DO, OPT.SGA, IAC, DO, 77]));
  assert.deepEqual([...got.reply], [IAC, WONT, 77]);
  // Split: IAC | SB TTYPE IS "xterm" IAC | SE, then IAC IAC as a data byte.
  got = r.read(Buffer.from([IAC]));
  assert.equal(got.reply.length + got.data.length, 0);
  got = r.read(Buffer.from([SB, OPT.TTYPE, 0, ...Buffer.from('xterm'), IAC]));
  got = r.read(Buffer.from([SE, IAC, IAC, 0x62]));
  assert.equal(got.terminal, 'xterm');
  assert.deepEqual([...got.data], [255, 0x62]);
  // An endless subnegotiation stays bounded and ends at IAC SE.
  const huge = Buffer.concat([Buffer.from([IAC, SB, OPT.TTYPE, 0]), Buffer.alloc(100_000, 0x41), Buffer.from([IAC, SE, 0x63])]);
  got = r.read(huge);
  assert.deepEqual([...got.data], [0x63]);
});

test('the fake shell answers from the host profile, the same each time, with the distribution\'s prompt and errors', () => {
  const now = Date.UTC(2026, 11, 2, 10, 0, 0);
  const host = hostProfile('ubuntu2204', 1234, 'web-02', now);
  const commands: string[] = [];
  const sh = new FakeShell(host, 'root', true, { maxLineBytes: 64, maxCommands: 5 }, (l) => commands.push(l));
  assert.equal(sh.prompt(), 'root@web-02:~# ');
  assert.match(sh.banner('10.0.0.5', now), /^Welcome to Ubuntu 22\.04\.4 LTS \(GNU\/Linux 5\.15\.0-\d+-generic x86_64\)[\s\S]*Last login: .* from 10\.0\.0\.5\r\nroot@web-02:~# $/);
  const uname = sh.runLine('uname -a');
  assert.match(uname, /^Linux web-02 5\.15\.0-\d+-generic #\d+-Ubuntu SMP .* x86_64 x86_64 x86_64 GNU\/Linux\r\n$/);
  assert.equal(sh.runLine('uname -a'), uname, 'the same answer twice');
  assert.equal(sh.runLine('id'), 'uid=0(root) gid=0(root) groups=0(root)\r\n');
  assert.equal(sh.runLine('cat /etc/os-release | grep VERSION_ID'), 'VERSION_ID="22.04"\r\n');
  assert.equal(sh.runLine('foo; whoami'), '-bash: foo: command not found\r\nroot\r\n');
  assert.deepEqual(commands, ['uname -a', 'uname -a', 'id', 'cat /etc/os-release | grep VERSION_ID', 'foo; whoami']);
  // The sixth command ends the session (maxCommands 5).
  assert.equal(sh.runLine('pwd'), 'logout\r\n');
  assert.ok(sh.done);
  // Keystrokes: echo, backspace, bounded line, CR LF as one end of line.
  const t = new FakeShell(host, 'admin', true, { maxLineBytes: 8, maxCommands: 50 });
  const out = t.input(Buffer.from('whoamx\x7fi\r\n'));
  assert.equal(out.text, 'whoamx\b \bi\r\nadmin\r\nadmin@web-02:~$ ');
  assert.equal(t.input(Buffer.from('x'.repeat(20))).text, 'x'.repeat(8) + '\x07'.repeat(12));
  // Other distributions word it their way.
  const centos = new FakeShell(hostProfile('centos7', 1, 'db01', now), 'root', false);
  assert.equal(centos.prompt(), '[root@db01 ~]# ');
  assert.match(centos.runLine('uname -r'), /^3\.10\.0-1160\.[\d.]+\.el7\.x86_64\n$/);
  const busybox = new FakeShell(hostProfile('embedded', 1, 'cam', now), 'root', false);
  assert.equal(busybox.runLine('foo'), '-sh: foo: not found\n');
  // Two hosts differ.
  assert.notEqual(hostProfile('ubuntu2204', 1, undefined, now).hostname + hostProfile('ubuntu2204', 1, undefined, now).kernel, hostProfile('ubuntu2204', 2, undefined, now).hostname + hostProfile('ubuntu2204', 2, undefined, now).kernel);
});

test('login policies: refuse, a list, and any password after N refusals per source (bounded)', () => {
  assert.equal(new LoginJudge({ mode: 'refuse' }).judge('a', 'root', 'root'), false);
  const list = new LoginJudge({ mode: 'accept', credentials: [{ user: 'root', password: 'toor' }] });
  assert.equal(list.judge('a', 'root', 'toor'), true);
  assert.equal(list.judge('a', 'root', 'root'), false);
  const after = new LoginJudge({ mode: 'any-after', attempts: 2 }, 2);
  assert.deepEqual([after.judge('a', 'u', '1'), after.judge('a', 'u', '2'), after.judge('a', 'u', '3')], [false, false, true]);
  after.judge('b', 'u', '1');
  after.judge('c', 'u', '1');
  after.judge('d', 'u', '1'); // 'b' is forgotten (two sources kept)
  assert.deepEqual([after.judge('b', 'u', '2'), after.judge('b', 'u', '3')], [false, false]);
});

test('YAML: emulate ssh/telnet with identity and emulator keys; errors name the key', () => {
  const cfg = configOf('x.yaml', `templates:
  t:
    ports:
      - { proto: tcp, port: 22, action: open, service: { emulate: ssh, product: OpenSSH, version: "8.9p1 Ubuntu 3ubuntu0.10", auth: { accept: ["root:toor", "pi:raspberry"] }, max_auth_tries: 3, hostname: web-02 } }
      - { proto: tcp, port: 23, action: open, service: { emulate: telnet, product: "BusyBox telnetd", auth: { any_after: 2 } } }
hosts:
  - { address: 198.51.100.10, template: t }
`);
  const ports = cfg.templates.get('t')?.ports ?? [];
  const ssh = ports[0]?.service;
  assert.equal(ssh?.kind, 'ssh');
  if (ssh?.kind === 'ssh') {
    assert.equal(ssh.identity.name, 'ssh');
    assert.equal(ssh.identity.version, '8.9p1 Ubuntu 3ubuntu0.10');
    assert.deepEqual(ssh.ssh.auth, { mode: 'accept', credentials: [{ user: 'root', password: 'toor' }, { user: 'pi', password: 'raspberry' }] });
    assert.equal(ssh.ssh.maxAuthTries, 3);
    assert.equal(ssh.ssh.loginGraceSeconds, 120);
    assert.equal(ssh.ssh.shell.hostname, 'web-02');
  }
  const telnet = ports[1]?.service;
  assert.equal(telnet?.kind, 'telnet');
  if (telnet?.kind === 'telnet') assert.deepEqual(telnet.telnet.auth, { mode: 'any-after', attempts: 2 });
  const bad = errorsOf('x.yaml', `templates:
  t:
    ports:
      - { proto: tcp, port: 22, action: open, service: { emulate: ssh, product: OpenSSH, version: "5.3p1" } }
      - { proto: tcp, port: 2222, action: open, service: { emulate: ssh, product: OpenSSH, version: "8.9p1 Ubuntu 3ubuntu0.10", auth: { accept: ["nocolon"] }, max_auth_trys: 2 } }
      - { proto: udp, port: 23, action: open, service: { emulate: telnet, product: "Linux telnetd" } }
`);
  const text = bad.lines.join('\n');
  assert.match(text, /ports\[0\]\.service: no KEXINIT table for OpenSSH 5\.3p1/);
  assert.match(text, /ports\[1\]\.service\.auth\.accept\[0\]: expected "user:password"/);
  assert.match(text, /max_auth_trys/);
  assert.match(text, /ports\[2\]\.service: the telnet emulator needs a tcp port/);
});

test('StreamDuplex: writes wait for room and drain in order; a full read side pauses the connection', async () => {
  const { StreamDuplex } = await import('../../daemon/src/services/interactive/stream-duplex');
  const sent: Buffer[] = [];
  let room = 10;
  let paused = 0;
  let resumed = 0;
  let ended = false;
  const ctx = {
    local: { address: '198.51.100.10', port: 22 }, remote: { address: '203.0.113.5', port: 40000 },
    get writable(): number { return room; },
    write: (d: Buffer | string): boolean => { const b = Buffer.from(d); sent.push(b); room -= b.length; return room > 0; },
    end: (): void => { ended = true; }, reset: (): void => {},
    pause: (): void => { paused++; }, resume: (): void => { resumed++; },
  };
  const duplex = new StreamDuplex(ctx, { highWaterMark: 16 });
  duplex.swallowPrefix(Buffer.from('SSH-2.0-x\r\n'));
  let written = false;
  duplex.write(Buffer.from('SSH-2.0-x\r\nabcdefghijklmnopqrstuvwxyz'), () => { written = true; });
  await new Promise((r) => setImmediate(r));
  assert.equal(Buffer.concat(sent).toString(), 'abcdefghij', 'only what fits, after the swallowed identification');
  assert.equal(written, false, 'the write callback waits for the rest');
  for (let i = 0; i < 3; i++) { room = 10; duplex.drained(); }
  await new Promise((r) => setImmediate(r));
  assert.equal(Buffer.concat(sent).toString(), 'abcdefghijklmnopqrstuvwxyz');
  assert.equal(written, true);
  duplex.end();
  await new Promise((r) => setImmediate(r));
  assert.equal(ended, true);
  // Reading: past the high-water mark the connection is paused; reading resumes it.
  duplex.deliver(Buffer.alloc(32, 1));
  assert.equal(paused, 1);
  const got = duplex.read() as Buffer | null;
  assert.equal(got?.length, 32);
  await new Promise((r) => setImmediate(r));
  assert.ok(resumed >= 1);
  duplex.connectionGone();
});
