/**
 * Honeyd subsystems with a real client: a small ordinary server program of our own (it binds
 * 0.0.0.0:PORT with the plain socket API), started by decoyd as `add T subsystem "…"`, answers TCP
 * connections to the decoys' addresses from socat in the scanner namespace. Checked: it sees the
 * decoy's address and the scanner's as its socket addresses; one program per host, or one for all
 * hosts with `shared`; the template's uid (default nobody); its own empty network namespace; ports
 * it does not listen on stay closed; `restart` brings it back after it is killed, and one that dies
 * at once waits 10 s; and it is gone once the daemon stops.
 */
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { runCommand } from '../../daemon/src/lab/run-command';
import { DEFAULT_MAIN_JS, startDaemon, type DaemonHandle, type DaemonLogLine } from '../helpers/daemon';
import { needsRoot, withLab, type Lab } from '../helpers/lab';

const SOLO_A = '198.51.100.10';
const SOLO_B = '198.51.100.11';
const PAIR_A = '198.51.100.20';
const PAIR_B = '198.51.100.21';
const FLAKY = '198.51.100.30';
const SERVER = resolve(__dirname, '../../../test/fixtures/subsystem/hello-server.py');

function config(dir: string): string {
  return `# subsystem lab test
create solo
set solo personality "Linux 4.15 - 5.6"
set solo default tcp action reset
set solo uid 4242 gid 4243
add solo tcp port 22 open
add solo subsystem "/usr/bin/python3 ${dir}/hello-server.py 8080" restart
bind ${SOLO_A} solo
bind ${SOLO_B} solo

create pair
set pair personality "Linux 4.15 - 5.6"
set pair default tcp action reset
add pair subsystem "/usr/bin/python3 ${dir}/hello-server.py 9090" shared
bind ${PAIR_A} pair
bind ${PAIR_B} pair

create flaky
set flaky default tcp action reset
add flaky subsystem "echo flaky gives up >&2; exit 3" restart
bind ${FLAKY} flaky
`;
}

interface Greeting { local: string; remote: string; accepted: string; pid: number; uid: number; reply: string }

/** One conversation with socat from the scanner: the greeting line and the answer to "ping". */
async function talk(lab: Lab, ip: string, port: number): Promise<Greeting | string> {
  const r = await lab.exec(lab.scannerNs, ['socat', '-T', '5', '-', `TCP:${ip}:${port},connect-timeout=5`], { input: 'ping\n', timeoutMs: 10_000 });
  const m = /^hello from (\S+) to (\S+) \(accept said (\S+)\) pid (\d+) uid (\d+)\n(.*)$/s.exec(r.stdout);
  if (m === null) return `exit ${r.code}: ${r.stdout}${r.stderr}`;
  return { local: m[1] as string, remote: m[2] as string, accepted: m[3] as string, pid: Number(m[4]), uid: Number(m[5]), reply: m[6] as string };
}

function greeting(g: Greeting | string): Greeting {
  if (typeof g === 'string') assert.fail(`no greeting: ${g}`);
  return g;
}

const isListen = (template: string, port: number, after = 0) => (e: DaemonLogLine): boolean =>
  e.kind === 'subsystem.listen' && e.template === template && e.port === port && (e.time ?? 0) >= after;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a subsystem program of our own answers TCP connections to the decoys, restarts, and stops with the daemon', needsRoot, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'decoyd-subsys-test-'));
  chmodSync(dir, 0o755);
  copyFileSync(SERVER, join(dir, 'hello-server.py'));
  chmodSync(join(dir, 'hello-server.py'), 0o755);
  const conf = join(dir, 'subsystems.conf');
  writeFileSync(conf, config(dir));
  try {
    // `decoyd check` says how each subsystem runs, and no longer that it is not run.
    const check = await runCommand(process.execPath, [DEFAULT_MAIN_JS, 'check', conf], { timeoutMs: 30_000 });
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /subsystem +"\/usr\/bin\/python3 .*hello-server\.py 8080" restart/);
    assert.match(check.stdout, /one program per host, run by \/bin\/sh -c as uid 4242 gid 4243 in an empty network/);
    assert.match(check.stdout, /one program for every host of the template, run by \/bin\/sh -c as nobody/);
    assert.doesNotMatch(check.stdout, /subsystems are parsed but not run/);

    await withLab(t, {}, async (lab) => {
      let daemon: DaemonHandle | undefined;
      const pids: number[] = [];
      try {
        daemon = await startDaemon(lab, conf, { readyTimeoutMs: 20_000 });
        const d = daemon;
        await Promise.all([
          d.waitForEvent((e) => isListen('solo', 8080)(e) && (e.addresses as string[])[0] === SOLO_A, 15_000),
          d.waitForEvent((e) => isListen('solo', 8080)(e) && (e.addresses as string[])[0] === SOLO_B, 15_000),
          d.waitForEvent(isListen('pair', 9090), 15_000),
        ]);
        // A program that dies at once is restarted after 10 s (Honeyd's delay), doubling after that.
        const flaky = await d.waitForEvent((e) => e.kind === 'subsystem.exit' && e.template === 'flaky', 15_000);
        assert.equal(flaky.exitCode, 3);
        assert.equal(flaky.restartInMs, 10_000);
        assert.equal(flaky.reason, 'flaky gives up', 'the last line of its stderr');
        const starts = d.eventsOfKind('subsystem.start').filter((e) => e.template !== 'flaky');
        assert.equal(starts.length, 3, 'one program per solo host and one shared by the pair');
        assert.deepEqual(starts.filter((e) => e.template === 'pair').map((e) => e.addresses), [[PAIR_A, PAIR_B]]);

        // Each solo host has its own program; it sees the decoy's address and the scanner's.
        const a = greeting(await talk(lab, SOLO_A, 8080));
        assert.equal(a.local, `${SOLO_A}:8080`);
        assert.match(a.remote, new RegExp(`^${lab.scannerIp.replace(/\./g, '\\.')}:\\d+$`));
        assert.equal(a.accepted, a.remote, 'accept() and getpeername() agree');
        assert.equal(a.uid, 4242, 'the template uid');
        assert.equal(a.reply, 'you said: ping\n', 'the program reads what the client sends');
        const b = greeting(await talk(lab, SOLO_B, 8080));
        assert.equal(b.local, `${SOLO_B}:8080`);
        assert.notEqual(b.pid, a.pid, 'one program per host');

        // The shared program answers for both hosts of its template, as nobody.
        const p1 = greeting(await talk(lab, PAIR_A, 9090));
        const p2 = greeting(await talk(lab, PAIR_B, 9090));
        assert.equal(p1.local, `${PAIR_A}:9090`);
        assert.equal(p2.local, `${PAIR_B}:9090`);
        assert.equal(p1.pid, p2.pid, 'shared: one program');
        assert.equal(p1.uid, 65534, 'default user nobody');
        pids.push(a.pid, b.pid, p1.pid);

        // Ports a program does not listen on follow the template (reset), on every host.
        for (const [ip, port] of [[PAIR_A, 8080], [SOLO_A, 9090]] as const) {
          const r = await talk(lab, ip, port);
          assert.equal(typeof r, 'string');
          assert.match(r as string, /Connection refused/, `${ip}:${port} is closed`);
        }

        // Contained: the program's network namespace is neither the daemon's nor the host's.
        const ownNs = readlinkSync(`/proc/${a.pid}/ns/net`);
        assert.notEqual(ownNs, readlinkSync(`/proc/${d.pid}/ns/net`));
        assert.notEqual(ownNs, readlinkSync('/proc/self/ns/net'));

        // restart: killed after it ran 5 s, it is started again at once (Honeyd's rule) and answers.
        const started = starts.find((e) => (e.addresses as string[])[0] === SOLO_A);
        const ranMs = Date.now() - (started?.time ?? 0);
        if (ranMs < 5500) await new Promise((r) => setTimeout(r, 5500 - ranMs));
        const killedAt = Date.now();
        process.kill(a.pid, 'SIGKILL');
        const exit = await d.waitForEvent((e) => e.kind === 'subsystem.exit' && e.template === 'solo' && (e.time ?? 0) >= killedAt, 10_000);
        assert.equal(exit.restartInMs, 0, 'lived more than 5 s: restarted at once');
        await d.waitForEvent((e) => isListen('solo', 8080, killedAt)(e) && (e.addresses as string[])[0] === SOLO_A, 15_000);
        const again = greeting(await talk(lab, SOLO_A, 8080));
        assert.notEqual(again.pid, a.pid, 'a new program');
        assert.equal(again.local, `${SOLO_A}:8080`);
        pids.push(again.pid);
        // The other host's program was not touched.
        assert.equal(greeting(await talk(lab, SOLO_B, 8080)).pid, b.pid);

        // Stopping the daemon stops every program.
        const exited = await d.stop();
        assert.equal(exited.code, 0, `daemon exit: ${JSON.stringify(exited)}`);
        const deadline = Date.now() + 3000;
        while (pids.slice(1).some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        for (const pid of pids.slice(1)) assert.equal(alive(pid), false, `program ${pid} is gone`);
        daemon = undefined;
      } finally {
        await daemon?.stop();
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
