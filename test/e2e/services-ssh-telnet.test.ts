/**
 * The SSH and Telnet emulators against real clients, one daemon start:
 * - `nmap -sV` names every configured SSH/Telnet product and version;
 * - OpenSSH's `ssh` (driven by sshpass) reaches the password prompt and the password shows up
 *   as a `service.login` event with the client's version and HASSH;
 * - `ssh-keyscan` gets one key per type the version makes; `ssh -vv` sees the KEXINIT lists the
 *   README promises (the version's own lists, minus only what this client would pick and ssh2
 *   cannot run);
 * - malformed identification lines get OpenSSH's answers; MaxAuthTries ends with
 *   `Too many authentication failures`;
 * - shell mode: `ssh … 'uname -a'` answers as the host, and the command is an event;
 * - a Telnet login through the real `telnet` client (on a pty via `script`) is captured, refused,
 *   then let into the shell;
 * - a credential flood (hundreds of passwords over many parallel sessions) leaves the daemon up,
 *   within its memory bound, and still answering.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { startDaemon, type DaemonHandle } from '../helpers/daemon';
import { needsRoot, withLab, type Lab } from '../helpers/lab';
import { hostByAddress, portOf, runNmap } from '../helpers/nmap';
import { sshPersonaFor, type SshPersona } from '../../daemon/src/services/ssh/versions';
import { hasshServer } from '../../daemon/src/services/ssh/kexinit';

const DEBIAN = '198.51.100.10';
const UBUNTU = '198.51.100.11';
const DEBIAN_SSH = '9.2p1 Debian 2+deb12u7';
const UBUNTU_SSH = '8.9p1 Ubuntu 3ubuntu0.10';

const CONFIG = `templates:
  debian:
    personality: "Linux 4.15 - 5.6"
    defaults: { tcp: reset, udp: reset, icmp: open }
    ports:
      - { proto: tcp, port: 22, action: open, service: { emulate: ssh, product: OpenSSH, version: "${DEBIAN_SSH}", fail_delay_ms: 300 } }
      - { proto: tcp, port: 2200, action: open, service: { emulate: ssh, product: OpenSSH, version: "${DEBIAN_SSH}" } }
      - { proto: tcp, port: 2201, action: open, service: { emulate: ssh, product: OpenSSH, version: "${DEBIAN_SSH}", methods: [publickey, keyboard-interactive], fail_delay_ms: 100 } }
      - { proto: tcp, port: 23, action: open, service: { emulate: telnet, product: "Linux telnetd", auth: { accept: ["root:toor"] }, fail_delay_ms: 300, hostname: deb-web01 } }
  ubuntu:
    personality: "Linux 4.15 - 5.6"
    defaults: { tcp: reset, udp: reset, icmp: open }
    ports:
      - { proto: tcp, port: 22, action: open, service: { emulate: ssh, product: OpenSSH, version: "${UBUNTU_SSH}", auth: { accept: ["root:toor"] }, hostname: jammy-app02 } }
      - { proto: tcp, port: 2222, action: open, service: { emulate: ssh, product: "Dropbear sshd", version: "2022.83" } }
      - { proto: tcp, port: 2323, action: open, service: { emulate: telnet, product: "BusyBox telnetd" } }
hosts:
  - { address: ${DEBIAN}, template: debian }
  - { address: ${UBUNTU}, template: ubuntu }
service_seed: e2e-ssh-telnet
log: { level: info }
`;

const SSH_OPTS = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'PubkeyAuthentication=no', '-o', 'ConnectTimeout=20'];

function persona(product: string, version: string): SshPersona {
  const p = sshPersonaFor(product, version);
  assert.equal(typeof p, 'object');
  return p as SshPersona;
}

/**
 * An expect-like dialogue with a program on a terminal: `script` gives it a pty; each step waits
 * for its text (after the previous match) and answers. Returns everything the program printed.
 */
async function dialogue(lab: Lab, command: string, steps: Array<[RegExp, string]>, timeoutMs = 60_000): Promise<string> {
  const child: ChildProcess = lab.spawn(lab.scannerNs, ['script', '-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let pos = 0;
  let step = 0;
  return new Promise((resolveOut, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`dialogue timed out at step ${step}: ${JSON.stringify(out.slice(-400))}`)); }, timeoutMs);
    const advance = (): void => {
      while (step < steps.length) {
        const [re, answer] = steps[step] as [RegExp, string];
        const m = re.exec(out.slice(pos));
        if (m === null) return;
        pos += m.index + m[0].length;
        step++;
        child.stdin?.write(answer);
      }
    };
    child.stdout?.on('data', (d: Buffer) => { out += d.toString('latin1'); advance(); });
    child.stderr?.on('data', (d: Buffer) => { out += d.toString('latin1'); advance(); });
    child.on('exit', () => { clearTimeout(timer); resolveOut(out); });
  });
}

function logins(d: DaemonHandle, dst: string, port: number): Array<Record<string, unknown>> {
  return d.eventsOfKind('service.login').filter((e) => e['dstIp'] === dst && e['dstPort'] === port);
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

test('ssh and telnet emulators: nmap names, real clients log in and are logged, floods stay bounded', needsRoot, async (t) => {
  await withLab(t, {}, async (lab) => {
    const d = await startDaemon(lab, CONFIG, { readyTimeoutMs: 90_000 });
    try {
      const scan = (argv: string[], timeoutMs = 60_000) => lab.exec(lab.scannerNs, argv, { timeoutMs });

      // 1. nmap -sV names every product and version exactly.
      const run = await runNmap(lab, ['-n', '-Pn', '-sS', '-sV', '--script', 'ssh2-enum-algos', '-p', '22,23,2222,2323', DEBIAN, UBUNTU], { flushNeighbours: true, timeoutMs: 240_000 });
      const want: Array<[string, number, string, string | undefined]> = [
        [DEBIAN, 22, 'OpenSSH', DEBIAN_SSH], [DEBIAN, 23, 'Linux telnetd', undefined],
        [UBUNTU, 22, 'OpenSSH', UBUNTU_SSH], [UBUNTU, 2222, 'Dropbear sshd', '2022.83'], [UBUNTU, 2323, 'BusyBox telnetd', undefined],
      ];
      for (const [host, port, product, version] of want) {
        const s = portOf(hostByAddress(run, host) ?? ({ ports: [] } as never), 'tcp', port)?.service;
        t.diagnostic(`${host}:${port} -> ${s?.name} "${s?.product}" ${s?.version ?? ''}`);
        assert.equal(s?.product, product, `${host}:${port}`);
        assert.equal(s?.version, version, `${host}:${port}`);
      }

      // nmap's ssh2-enum-algos offers no sntrup and no umac: it sees Debian 12's lists whole (HASSH 425d29fe…).
      const debianHost = /<host\b[\s\S]*?<\/host>/g;
      const hostXml = [...run.xml.matchAll(debianHost)].map((m) => m[0]).find((h) => h.includes(`addr="${DEBIAN}"`)) ?? '';
      const algos = /<port protocol="tcp" portid="22">[\s\S]*?<script id="ssh2-enum-algos"[\s\S]*?<\/script>/.exec(hostXml)?.[0] ?? '';
      const elems = (key: string): string[] => [...(new RegExp(`<table key="${key}">([\\s\\S]*?)</table>`).exec(algos)?.[1] ?? '').matchAll(/<elem>([^<]*)<\/elem>/g)].map((m) => m[1] as string);
      const deb = persona('OpenSSH', DEBIAN_SSH);
      assert.deepEqual(elems('kex_algorithms'), deb.kex);
      assert.deepEqual(elems('mac_algorithms'), deb.macs);
      assert.equal(hasshServer(elems('kex_algorithms'), elems('encryption_algorithms'), elems('mac_algorithms'), elems('compression_algorithms')), '425d29fe50d8e4f5e37efb6e24bcf660');

      // 2. sshpass + ssh reach the password prompt; the password tried is an event.
      const password = `hunter2-${process.pid}`;
      const denied = await scan(['sshpass', '-p', password, 'ssh', ...SSH_OPTS, `root@${DEBIAN}`, 'true']);
      assert.equal(denied.code, 5, `sshpass: wrong password expected; ${denied.stderr}`);
      const tried = await d.waitForEvent((e) => e.kind === 'service.login' && e['dstPort'] === 22 && e['password'] === password, 10_000);
      assert.ok(tried, 'the password sshpass typed is logged');
      assert.equal(tried['user'], 'root');
      assert.equal(tried['result'], 'refused');
      assert.match(String(tried['clientVersion']), /^SSH-2\.0-OpenSSH_9\.2p1 Debian/);
      assert.match(String(tried['hassh']), /^[0-9a-f]{32}$/);

      // 3. ssh-keyscan: one key per type; ssh -vv: the KEXINIT lists the README promises.
      const keys = await scan(['ssh-keyscan', '-T', '20', DEBIAN]);
      const types = [...keys.stdout.matchAll(/^\S+ (\S+) AAAA/gm)].map((m) => m[1]).sort();
      assert.deepEqual(types, ['ecdsa-sha2-nistp256', 'ssh-ed25519', 'ssh-rsa']);
      const otherKeys = await scan(['ssh-keyscan', '-T', '20', UBUNTU]);
      assert.notEqual(keys.stdout.match(/ssh-ed25519 (\S+)/)?.[1], otherKeys.stdout.match(/ssh-ed25519 (\S+)/)?.[1], 'hosts do not share keys');
      const verbose = await scan(['ssh', '-vv', '-o', 'BatchMode=yes', ...SSH_OPTS, `nobody@${DEBIAN}`, 'true']);
      const peer = verbose.stderr.split('peer server KEXINIT proposal')[1] ?? '';
      const list = (label: string): string[] => (new RegExp(`debug2: ${label}: (.*)`).exec(peer)?.[1] ?? '').split(',');
      const p = persona('OpenSSH', DEBIAN_SSH);
      // OpenSSH 9.2's client would pick sntrup, which ssh2 cannot run: those two names go, nothing else.
      assert.deepEqual(list('KEX algorithms'), p.kex.filter((k) => !k.startsWith('sntrup761x25519')));
      assert.deepEqual(list('host key algorithms'), p.hostKeyAlgorithms);
      assert.deepEqual(list('ciphers stoc'), p.ciphers);
      assert.deepEqual(list('MACs stoc'), p.macs, 'umac names stay: this client chooses an AEAD cipher');
      assert.deepEqual(list('compression stoc'), p.compression);
      assert.match(verbose.stderr, /Permission denied \(publickey,password\)/);
      const u = persona('Dropbear sshd', '2022.83');
      const dropbear = await scan(['ssh', '-vv', '-p', '2222', '-o', 'BatchMode=yes', ...SSH_OPTS, `nobody@${UBUNTU}`, 'true']);
      const dpeer = dropbear.stderr.split('peer server KEXINIT proposal')[1] ?? '';
      assert.equal(/debug2: KEX algorithms: (.*)/.exec(dpeer)?.[1], u.kex.join(','), 'Dropbear: every name, exact');
      assert.equal(/debug2: MACs stoc: (.*)/.exec(dpeer)?.[1], u.macs.join(','));
      // No strict KEX offered (Dropbear 2022.83 predates it): the session still gets past NEWKEYS.
      assert.match(dropbear.stderr, /Permission denied \(publickey,password\)/);

      // Public keys: type and SHA256 fingerprint as ssh-keygen prints them; keyboard-interactive answers too.
      const keyDir = mkdtempSync(join(tmpdir(), 'decoyd-e2e-key-'));
      try {
        const keyFile = join(keyDir, 'id_ed25519');
        execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
        const printed = execFileSync('ssh-keygen', ['-lf', `${keyFile}.pub`]).toString().split(' ')[1];
        const keyed = await scan(['ssh', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', keyFile, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=20', `deploy@${DEBIAN}`, 'true']);
        const pk = await d.waitForEvent((e) => e.kind === 'service.login' && e['authMethod'] === 'publickey' && e['user'] === 'deploy', 10_000).catch(() => undefined);
        assert.ok(pk, `the offered key is logged; ssh said: ${keyed.stderr}`);
        assert.equal(pk['keyType'], 'ED25519');
        assert.equal(pk['keyFingerprint'], printed);
      } finally {
        rmSync(keyDir, { recursive: true, force: true });
      }
      const kbd = await scan(['sshpass', '-p', 'kbd-secret', 'ssh', '-p', '2201', ...SSH_OPTS, '-o', 'PreferredAuthentications=keyboard-interactive', `oracle@${DEBIAN}`, 'true']);
      assert.equal(kbd.code, 5, kbd.stderr);
      await d.waitForEvent((e) => e.kind === 'service.login' && e['dstPort'] === 2201 && e['authMethod'] === 'keyboard-interactive' && e['password'] === 'kbd-secret' && e['user'] === 'oracle', 10_000);

      // 4. OpenSSH's answers to bad identification lines.
      const bad = await lab.exec(lab.scannerNs, ['socat', '-t', '3', '-', `TCP:${DEBIAN}:22`], { input: 'SSH-1337-OpenSSH_9.0\r\n', timeoutMs: 15_000 });
      assert.equal(bad.stdout, `SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u7\r\nInvalid SSH identification string.\r\n`);
      const major = await lab.exec(lab.scannerNs, ['socat', '-t', '3', '-', `TCP:${DEBIAN}:22`], { input: 'SSH-1.5-OpenSSH_9.0\r\n', timeoutMs: 15_000 });
      assert.match(major.stdout, /\r\nProtocol major versions differ\.\r\n$/);

      // 5. MaxAuthTries: the sixth refusal is a DISCONNECT with OpenSSH's words.
      const tries = await dialogue(lab, `ssh ${SSH_OPTS.join(' ')} -o NumberOfPasswordPrompts=10 root@${DEBIAN}`, Array.from({ length: 6 }, (_, i) => [/password: $/m, `try-${i}\n`] as [RegExp, string]));
      assert.match(tries, /Received disconnect from 198\.51\.100\.10 port 22:2: Too many authentication failures/);
      await d.waitForEvent((e) => e.kind === 'service.login' && e['dstPort'] === 22 && e['password'] === 'try-5', 10_000);
      assert.equal(logins(d, DEBIAN, 22).filter((e) => String(e['password']).startsWith('try-')).length, 6);

      // 6. Shell mode: exec answers as the host, and the command is an event.
      const uname = await scan(['sshpass', '-p', 'toor', 'ssh', ...SSH_OPTS, `root@${UBUNTU}`, 'uname -a']);
      assert.equal(uname.code, 0, uname.stderr);
      assert.match(uname.stdout, /^Linux jammy-app02 5\.15\.0-\d+-generic #\d+-Ubuntu SMP .* x86_64 GNU\/Linux\n$/);
      const again = await scan(['sshpass', '-p', 'toor', 'ssh', ...SSH_OPTS, `root@${UBUNTU}`, 'uname -a; cat /etc/os-release | grep VERSION_ID']);
      assert.equal(again.stdout, `${uname.stdout}VERSION_ID="22.04"\n`, 'the same host answers the same');
      await d.waitForEvent((e) => e.kind === 'service.command' && e['dstIp'] === UBUNTU && e['command'] === 'uname -a', 10_000);
      assert.ok(logins(d, UBUNTU, 22).some((e) => e['result'] === 'accepted' && e['password'] === 'toor'));
      const interactive = await dialogue(lab, `sshpass -p toor ssh -tt ${SSH_OPTS.join(' ')} root@${UBUNTU}`, [[/root@jammy-app02:~# $/m, 'id\r'], [/root@jammy-app02:~# $/m, 'exit\r']]);
      assert.match(interactive, /Welcome to Ubuntu 22\.04\.4 LTS/);
      assert.match(interactive, /uid=0\(root\) gid=0\(root\) groups=0\(root\)/);

      // 7. Telnet through the real client: refused once, then let in; both logged.
      const tel = await dialogue(lab, `telnet ${DEBIAN} 23`, [
        [/deb-web01 login: $/m, 'admin\r'], [/Password: $/m, 'admin123\r'],
        [/Login incorrect\r?\ndeb-web01 login: $/m, 'root\r'], [/Password: $/m, 'toor\r'],
        [/root@deb-web01:~# $/m, 'uname -r\r'], [/root@deb-web01:~# $/m, 'exit\r'],
      ]);
      assert.match(tel, /Debian GNU\/Linux 12 \(bookworm\)\r?\ndeb-web01 login: /, 'the telnet host is the distribution its SSH build says');
      assert.match(tel, /\nLogin incorrect/);
      assert.match(tel, /uname -r\r?\n\d+\.\d+\.\d+-\S+\r?\n/);
      await d.waitForEvent((e) => e.kind === 'service.session' && e['dstPort'] === 23 && e['service'] === 'telnet', 10_000);
      const tl = logins(d, DEBIAN, 23);
      assert.deepEqual(tl.map((e) => [e['user'], e['password'], e['result']]), [['admin', 'admin123', 'refused'], ['root', 'toor', 'accepted']]);
      assert.ok(d.eventsOfKind('service.command').some((e) => e['dstPort'] === 23 && e['command'] === 'uname -r'));
      assert.ok(d.eventsOfKind('service.session').some((e) => e['dstPort'] === 23 && e['service'] === 'telnet'));

      // 8. A credential flood: 60 sessions at once, 6 passwords each, on the default PAM delay.
      const floodJs = resolve(__dirname, 'ssh-flood-client.js');
      const before = logins(d, DEBIAN, 2200).length;
      const flood = await scan(['node', floodJs, DEBIAN, '2200', '60', '6'], 200_000);
      const result = JSON.parse(flood.stdout.trim().split('\n').pop() ?? '{}') as { finished: number; sent: number; outcomes: Record<string, number> };
      t.diagnostic(`flood: ${JSON.stringify(result)}; daemon RSS ${rssKiB(d.pid)} KiB`);
      assert.equal(result.finished, 60);
      assert.ok(result.sent >= 300, `passwords sent: ${result.sent}`);
      await d.waitForEvent(() => logins(d, DEBIAN, 2200).length - before >= 300, 15_000).catch(() => undefined);
      assert.ok(logins(d, DEBIAN, 2200).length - before >= 300, 'every flood password is an event');
      assert.ok(rssKiB(d.pid) < 512 * 1024, 'daemon RSS under 512 MiB after the flood');
      // 9. A thousand hostile connections at once: bad identifications, bad packet lengths, random bytes.
      const junk = await scan(['node', floodJs, 'garbage', DEBIAN, '2200', '1000'], 90_000);
      const j = JSON.parse(junk.stdout.trim().split('\n').pop() ?? '{}') as Record<string, number>;
      t.diagnostic(`garbage: ${JSON.stringify(j)}; daemon RSS ${rssKiB(d.pid)} KiB`);
      assert.equal(j['opened'], 1000);
      assert.equal(j['gotIdent'], 1000, 'every connection got the identification');
      assert.ok((j['gotInvalid'] ?? 0) >= 333, 'every SSH-1337 line got OpenSSH\'s refusal');
      assert.ok(rssKiB(d.pid) < 512 * 1024);
      // Still answering, quickly, afterwards.
      const after = await scan(['sshpass', '-p', 'toor', 'ssh', ...SSH_OPTS, `root@${UBUNTU}`, 'whoami']);
      assert.equal(after.stdout, 'root\n');
    } finally {
      await d.stop();
    }
  });
});
