/**
 * Honeyd's service actions with real clients, the daemon running with `--user nobody` (so every
 * script is started by the root broker it forked before dropping privileges):
 * - a shell and a Python script of ours answer through TCP (socat) with Honeyd's substituted
 *   arguments and HONEYD_* environment, as the template's uid/gid;
 * - a UDP script answers one datagram;
 * - a proxied port reaches a real HTTP server (python3 -m http.server in the daemon's namespace)
 *   with curl, and proxy.close carries the byte counts; a target outside the allow-list is refused
 *   by `decoyd check` at its file:line;
 * - a tarpitted connection stays established with a tiny window (tcpdump on the scanner side);
 * - hostile scripts: one that never exits and one that writes without end are killed at their
 *   limits (script.limit), 200 concurrent connections to a slow script never run more scripts than
 *   the bound (counted as the broker's child processes), daemon memory stays bounded, and an nmap
 *   scan of the same host meanwhile finds every open port.
 */
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { runCommand } from '../../daemon/src/lab/run-command';
import { DEFAULT_MAIN_JS, startDaemon, type DaemonHandle } from '../helpers/daemon';
import { needsRoot, withLab, type Lab } from '../helpers/lab';

const WEB = '198.51.100.10';
const HOSTILE = '198.51.100.11';
const BUSY = '198.51.100.12';
const FIXTURES = resolve(__dirname, '../../../test/fixtures/actions');
const BACKEND_PORT = 8088;
const UDP_BACKEND_PORT = 5300;
const MAX_PER_TEMPLATE = 8;
const MAX_OUTPUT = 65536;

function config(dir: string): string {
  return `# Honeyd service actions lab test
option decoyd scriptTimeoutSeconds 3
option decoyd scriptMaxOutputBytes ${MAX_OUTPUT}
option decoyd maxScriptsPerTemplate ${MAX_PER_TEMPLATE}
option decoyd proxy_allow 127.0.0.1:${BACKEND_PORT}
option decoyd proxy_allow 127.0.0.1:${UDP_BACKEND_PORT}

create web
set web personality "Linux 4.15 - 5.6"
set web default tcp action reset
set web default udp action reset
set web uid 4242 gid 4243
set web maxfds 40
add web tcp port 80 "sh ${dir}/web.sh $ipsrc $dport"
add web tcp port 81 "/usr/bin/python3 ${dir}/web.py $ipsrc $sport $date"
add web udp port 5353 "/usr/bin/python3 ${dir}/udp.py $ipsrc"
add web tcp port 8080 proxy 127.0.0.1:${BACKEND_PORT}
add web udp port 5301 proxy 127.0.0.1:${UDP_BACKEND_PORT}
add web tcp port 99 tarpit open
add web tcp port 22 open
bind ${WEB} web

create hostile
set hostile personality "Linux 4.15 - 5.6"
set hostile default tcp action reset
add hostile tcp port 7000 "sh ${dir}/forever.sh"
add hostile tcp port 7001 "sh ${dir}/flood.sh"
bind ${HOSTILE} hostile

create busy
set busy personality "Linux 4.15 - 5.6"
set busy default tcp action reset
add busy tcp port 7002 "sh ${dir}/slow.sh"
bind ${BUSY} busy
`;
}

const today = (): string => {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
};

async function socat(lab: Lab, target: string, input: string, timeoutMs = 15_000): Promise<{ code: number | null; stdout: string; ms: number }> {
  const started = Date.now();
  const r = await lab.exec(lab.scannerNs, ['socat', '-T', '10', '-', `${target},connect-timeout=5`], { input, timeoutMs });
  return { code: r.code, stdout: r.stdout, ms: Date.now() - started };
}

/** The broker's pid: the daemon's child running decoyd-script-broker. */
function brokerPid(daemonPid: number): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const m = /^\d+ \((.*)\) \S+ (\d+)/.exec(stat);
      if (m !== null && Number(m[2]) === daemonPid && m[1]?.startsWith('decoyd-script')) return Number(name);
    } catch { /* gone */ }
  }
  return undefined;
}

function childCount(pid: number): number {
  let n = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const m = /^\d+ \(.*\) \S+ (\d+)/.exec(readFileSync(`/proc/${name}/stat`, 'utf8'));
      if (m !== null && Number(m[1]) === pid) n++;
    } catch { /* gone */ }
  }
  return n;
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? 0 : Number(m[1]) * 1024;
}

/** 200 connections at once from one Python process; prints "answered closed" counts. */
const BURST = `
import socket, selectors, sys
sel = selectors.DefaultSelector()
n = int(sys.argv[2]); answered = 0; closed = 0
for i in range(n):
    s = socket.socket(); s.setblocking(False)
    s.connect_ex((sys.argv[1], 7002))
    sel.register(s, selectors.EVENT_READ, bytearray())
import time
deadline = time.time() + 40
while sel.get_map() and time.time() < deadline:
    for key, _ in sel.select(timeout=1):
        try:
            data = key.fileobj.recv(4096)
        except OSError:
            data = b''
        if data:
            key.data.extend(data)
            continue
        if b'done' in key.data: answered += 1
        else: closed += 1
        sel.unregister(key.fileobj); key.fileobj.close()
print(answered, closed, len(sel.get_map()))
`;

/** A tarpitted connection: send, wait, report whether it is still open. */
const TARPIT = `
import socket, sys, time
s = socket.create_connection((sys.argv[1], 99), timeout=5)
s.setblocking(False)
sent = 0
try:
    for _ in range(100):
        sent += s.send(b'A' * 100)
except BlockingIOError:
    pass
time.sleep(float(sys.argv[2]))
try:
    data = s.recv(10)
    state = 'closed' if data == b'' else 'data'
except BlockingIOError:
    state = 'open'
print(state, sent)
sys.stdout.flush()
time.sleep(1)
s.close()
`;

test('Honeyd scripts, proxy and tarpit run for real clients, within their bounds', needsRoot, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'decoyd-actions-test-'));
  chmodSync(dir, 0o755);
  for (const f of ['web.sh', 'web.py', 'udp.py', 'forever.sh', 'flood.sh', 'slow.sh']) {
    copyFileSync(join(FIXTURES, f), join(dir, f));
    chmodSync(join(dir, f), 0o755);
  }
  const conf = join(dir, 'actions.conf');
  writeFileSync(conf, config(dir));
  try {
    // `decoyd check` accepts it without "parsed but not run" for these actions...
    const check = await runCommand(process.execPath, [DEFAULT_MAIN_JS, 'check', conf], { timeoutMs: 30_000 });
    assert.equal(check.code, 0, check.stderr);
    assert.doesNotMatch(check.stdout + check.stderr, /(script actions|proxy actions|tarpit is|maxfds is) parsed but not run/);
    // ...and refuses a proxy target outside the allow-list, naming its line.
    const bad = join(dir, 'bad.conf');
    writeFileSync(bad, `create x\nset x default tcp action reset\nadd x tcp port 80 proxy 192.0.2.99:80\nadd x tcp port 23 proxy $ipsrc:23\nbind ${WEB} x\n`);
    const refused = await runCommand(process.execPath, [DEFAULT_MAIN_JS, 'check', bad], { timeoutMs: 30_000 });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /bad\.conf:3:\d+: proxy target "192\.0\.2\.99:80" is not in the proxy allow-list/);
    assert.match(refused.stderr, /bad\.conf:4:\d+: proxy target "\$ipsrc:23" is not in the proxy allow-list: connecting back to the attacker needs an explicit "\$ipsrc:PORT" entry/);
    const allowed = await runCommand(process.execPath, [DEFAULT_MAIN_JS, 'check', '--proxy-allow', '192.0.2.0/24:80', '--proxy-allow', '$ipsrc:23', bad], { timeoutMs: 30_000 });
    assert.equal(allowed.code, 0, allowed.stderr);

    await withLab(t, {}, async (lab) => {
      let daemon: DaemonHandle | undefined;
      const backend = lab.spawn(lab.honeyNs, ['python3', '-m', 'http.server', '--bind', '127.0.0.1', '--directory', dir, String(BACKEND_PORT)], { stdio: ['ignore', 'ignore', 'ignore'] });
      const udpBackend = lab.spawn(lab.honeyNs, ['socat', `UDP4-RECVFROM:${UDP_BACKEND_PORT},bind=127.0.0.1,fork`, 'EXEC:cat'], { stdio: ['ignore', 'ignore', 'ignore'] });
      try {
        daemon = await startDaemon(lab, conf, { user: 'nobody', readyTimeoutMs: 30_000 });
        const d = daemon;

        // The shell script: Honeyd's arguments, environment and the template's uid/gid.
        const sh = await socat(lab, `TCP:${WEB}:80`, 'GET / HTTP/1.0\r\n\r\n');
        assert.match(sh.stdout, /^HTTP\/1\.0 200 OK\r\nServer: fixture-sh\r\n\r\n/);
        assert.match(sh.stdout, new RegExp(`^args: ${lab.scannerIp.replace(/\./g, '\\.')} 80$`, 'm'));
        const env = /^env: (\S+) (\d+) (\S+) (\d+) \[(.*)\] (\S+)$/m.exec(sh.stdout);
        assert.ok(env, sh.stdout);
        assert.equal(env[1], lab.scannerIp);
        assert.equal(env[3], WEB);
        assert.equal(env[4], '80');
        assert.equal(env[5], 'Linux 4.15 - 5.6');
        assert.equal(env[6], WEB, 'HONEYD_TEMPLATE_NAME is a bound host\'s address, as in Honeyd 1.6d');
        // socat's SYN came from the scanner namespace's Linux kernel: p0f's signatures name it.
        assert.match(sh.stdout, /^remote os: Linux \S.*$/m, 'HONEYD_REMOTE_OS is the passive guess of the peer');
        assert.match(sh.stdout, /^uid: 4242 gid: 4243$/m);
        assert.match(sh.stdout, /^request: GET \/ HTTP\/1\.0/m);
        const shStart = await d.waitForEvent((e) => e.kind === 'script.start' && e.dstPort === 80, 5000);
        assert.equal(shStart.command, `sh ${dir}/web.sh ${lab.scannerIp} 80`);
        assert.equal(shStart.uid, 4242);
        const shExit = await d.waitForEvent((e) => e.kind === 'script.exit' && e.dstPort === 80, 5000);
        assert.equal(shExit.exitCode, 0);
        assert.equal(shExit.srcPort, Number(env[2]), 'HONEYD_SRC_PORT is the client port');

        // The Python script: $sport and $date too.
        const py = await socat(lab, `TCP:${WEB}:81`, 'hello python\n');
        assert.match(py.stdout, /^220 fixture-py ready\r\n/);
        const argv = /^argv: (\S+) (\d+) (\S+)$/m.exec(py.stdout);
        assert.ok(argv, py.stdout);
        assert.equal(argv[1], lab.scannerIp);
        assert.equal(argv[3], today());
        assert.match(py.stdout, new RegExp(`^env: ${lab.scannerIp.replace(/\./g, '\\.')} ${argv[2]} ${WEB.replace(/\./g, '\\.')} 81$`, 'm'));
        assert.match(py.stdout, /^uid: 4242 gid: 4243$/m);
        assert.match(py.stdout, /^you said: hello python$/m);

        // UDP: one datagram in, the reply datagram out.
        const udp = await lab.exec(lab.scannerNs, ['socat', '-T', '5', '-', `UDP:${WEB}:5353`], { input: 'ping-udp', timeoutMs: 15_000 });
        assert.match(udp.stdout, new RegExp(`^udp reply to ${lab.scannerIp.replace(/\./g, '\\.')}:\\d+ uid 4242: ping-udp$`));
        await d.waitForEvent((e) => e.kind === 'script.exit' && e.proto === 'udp' && e.exitCode === 0, 5000);

        // Proxy: curl through the decoy reaches the real HTTP server; byte counts in proxy.close.
        const curl = await lab.exec(lab.scannerNs, ['curl', '-s', '-m', '10', `http://${WEB}:8080/web.sh`], { timeoutMs: 15_000 });
        assert.equal(curl.code, 0, curl.stderr);
        assert.equal(curl.stdout, readFileSync(join(dir, 'web.sh'), 'utf8'));
        const opened = await d.waitForEvent((e) => e.kind === 'proxy.open', 5000);
        assert.equal(opened.target, `127.0.0.1:${BACKEND_PORT}`);
        const closed = await d.waitForEvent((e) => e.kind === 'proxy.close', 10_000);
        assert.ok((closed.bytesIn as number) > 50, `request bytes ${closed.bytesIn}`);
        assert.ok((closed.bytesOut as number) > curl.stdout.length, `response bytes ${closed.bytesOut}`);
        // UDP proxy: the datagram reaches a UDP echo server (socat), its answer comes back.
        const udpProxied = await lab.exec(lab.scannerNs, ['socat', '-T', '3', '-', `UDP:${WEB}:5301`], { input: 'udp-proxied', timeoutMs: 15_000 });
        assert.equal(udpProxied.stdout, 'udp-proxied');
        const udpClose = await d.waitForEvent((e) => e.kind === 'proxy.close' && e.proto === 'udp', 10_000);
        assert.equal(udpClose.bytesIn, 11);
        assert.equal(udpClose.bytesOut, 11);

        // Tarpit: the connection stays established; the decoy advertises at most 5 bytes once it holds it.
        const dump = lab.spawn(lab.scannerNs, ['tcpdump', '-i', lab.scannerIf, '-nn', '-l', '-S', `tcp and src host ${WEB} and src port 99`], { stdio: ['ignore', 'pipe', 'ignore'] });
        let dumped = '';
        dump.stdout?.on('data', (b: Buffer) => { dumped += b.toString(); });
        await new Promise((r) => setTimeout(r, 1000));
        const pit = lab.exec(lab.scannerNs, ['python3', '-c', TARPIT, WEB, '4'], { timeoutMs: 20_000 });
        await new Promise((r) => setTimeout(r, 2500));
        const ss = await lab.exec(lab.scannerNs, ['ss', '-tin', 'dst', `${WEB}:99`]);
        const pitResult = await pit;
        dump.kill('SIGTERM');
        assert.match(pitResult.stdout, /^open \d+/, `tarpitted connection: ${pitResult.stdout}${pitResult.stderr}`);
        assert.match(ss.stdout, /ESTAB/, ss.stdout);
        const windows = [...dumped.matchAll(/Flags \[([^\]]*)\].* win (\d+)/g)].map((m) => ({ flags: m[1], win: Number(m[2]) }));
        assert.ok(windows[0]?.flags.includes('S'), `the SYN/ACK first: ${dumped}`);
        const held = windows.filter((w) => !w.flags.includes('S'));
        assert.ok(held.length >= 1, dumped);
        assert.ok(held.every((w) => w.win <= 5), `windows after the handshake: ${windows.map((w) => w.win).join(' ')}`);
        await d.waitForEvent((e) => e.kind === 'tarpit.open' && e.dstPort === 99, 5000);

        // Hostile: a script that never exits is killed at the time limit, the connection closed cleanly.
        const forever = await socat(lab, `TCP:${HOSTILE}:7000`, '', 20_000);
        assert.match(forever.stdout, /^I will never leave/);
        assert.ok(forever.ms < 12_000, `closed after ${forever.ms} ms`);
        const timeLimit = await d.waitForEvent((e) => e.kind === 'script.limit' && e.dstPort === 7000, 5000);
        assert.equal(timeLimit.limit, 'time');
        await d.waitForEvent((e) => e.kind === 'script.exit' && e.dstPort === 7000 && e.signal === 'SIGKILL', 5000);
        // ...and one that writes without end at the output limit.
        const flood = await socat(lab, `TCP:${HOSTILE}:7001`, '', 20_000);
        assert.ok(flood.stdout.length > 1000 && flood.stdout.length <= MAX_OUTPUT, `flood gave ${flood.stdout.length} bytes`);
        const outLimit = await d.waitForEvent((e) => e.kind === 'script.limit' && e.dstPort === 7001, 5000);
        assert.equal(outLimit.limit, 'output');

        // 200 connections at once to a slow script, an nmap scan of the web host meanwhile.
        const broker = brokerPid(d.pid);
        assert.ok(broker !== undefined, 'the script broker runs as a child of the daemon');
        let maxChildren = 0;
        let sampling = true;
        const sampler = (async () => {
          while (sampling) {
            maxChildren = Math.max(maxChildren, childCount(broker));
            await new Promise((r) => setTimeout(r, 20));
          }
        })();
        const burst = lab.exec(lab.scannerNs, ['python3', '-c', BURST, BUSY, '200'], { timeoutMs: 60_000 });
        const scan = lab.exec(lab.scannerNs, ['nmap', '-n', '-Pn', '-sS', '-T4', '--max-retries', '3', '-p', '22,23,79,80,81,99,8080', WEB], { timeoutMs: 60_000 });
        const [burstResult, scanResult] = await Promise.all([burst, scan]);
        sampling = false;
        await sampler;
        const [answered, refusedCount, stuck] = burstResult.stdout.trim().split(' ').map(Number) as [number, number, number];
        assert.equal(stuck, 0, `connections left hanging: ${burstResult.stdout}${burstResult.stderr}`);
        assert.equal(answered + refusedCount, 200);
        assert.ok(answered >= MAX_PER_TEMPLATE, `answered ${answered}`);
        assert.ok(maxChildren >= 1 && maxChildren <= MAX_PER_TEMPLATE, `the broker had ${maxChildren} scripts at once (bound ${MAX_PER_TEMPLATE})`);
        assert.ok(d.eventsOfKind('script.limit').some((e) => e.limit === 'processes' && e.dstPort === 7002), 'the process bound is reported');
        for (const port of [22, 80, 81, 99, 8080]) assert.match(scanResult.stdout, new RegExp(`^${port}/tcp +open`, 'm'), scanResult.stdout);
        for (const port of [23, 79]) assert.match(scanResult.stdout, new RegExp(`^${port}/tcp +closed`, 'm'), scanResult.stdout);
        const rss = rssBytes(d.pid);
        assert.ok(rss < 512 * 1024 * 1024, `daemon RSS ${rss}`);
        t.diagnostic(`burst: ${answered} answered, ${refusedCount} closed at the bound; at most ${maxChildren} scripts at once; daemon RSS ${Math.round(rss / 2 ** 20)} MiB`);
      } catch (err) {
        // What the daemon said about its actions, to read the failure by.
        const said = (daemon?.events ?? []).filter((e) => /^(script|proxy|tarpit|daemon)\./.test(String(e.kind))).slice(-40);
        t.diagnostic(JSON.stringify(said));
        t.diagnostic((daemon?.otherOutput ?? []).slice(-20).join('\n'));
        throw err;
      } finally {
        await daemon?.stop();
        backend.kill('SIGTERM');
        udpBackend.kill('SIGTERM');
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
