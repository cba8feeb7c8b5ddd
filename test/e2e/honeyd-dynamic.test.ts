/**
 * Honeyd dynamic templates with real clients: two sources of different OS see different templates
 * on the same address, as `add magic use win if source os = "Windows"` / `add magic otherwise use
 * linux` says. One source is the scanner's real Linux kernel; the other is a second real kernel in
 * its own namespace, tuned to send Windows 7's SYN (TTL 128, no timestamps, no window scaling,
 * window 8192 with MSS 1024). The real p0f, reading a capture of both, must call them Linux and
 * Windows, as decoyd's passive guess does. Also: a TCP connection keeps the template it started
 * with when the same source's next SYN (nmap's) makes it look like something else.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCommand } from '../../daemon/src/lab/run-command';
import { startCapture } from '../helpers/capture';
import { DEFAULT_MAIN_JS, startDaemon, type DaemonHandle } from '../helpers/daemon';
import { needsRoot, withLab, type Lab } from '../helpers/lab';
import { hostByAddress, parseNmapXml, portOf } from '../helpers/nmap';
import { splitLines } from '../../daemon/src/lab/run-command';

const DECOY = '198.51.100.10';
const WIN_SRC = '198.51.100.3';

const CONFIG = `# dynamic template lab test
create linux
set linux personality "Linux 4.15 - 5.6"
set linux default tcp action reset
add linux tcp port 8080 open banner "linux template\\n"

create win
set win personality "Microsoft Windows 7"
set win default tcp action reset
add win tcp port 8080 open banner "windows template\\n"
add win tcp port 445 open
add win tcp port 7 open echo

dynamic magic
add magic use win if source os = "Windows"
add magic otherwise use linux
bind ${DECOY} magic
`;

/** The banner socat reads from DECOY:port in namespace ns, or the error. */
async function banner(lab: Lab, ns: string, port: number): Promise<string> {
  const r = await lab.exec(ns, ['socat', '-T', '3', '-u', `TCP:${DECOY}:${port},connect-timeout=5`, '-'], { timeoutMs: 10_000 });
  return r.code === 0 ? r.stdout : `error: ${r.stderr.trim()}`;
}

/** `p0f -r` on a capture: for each source address, the os/app lines p0f printed for its SYNs. */
async function p0fVerdicts(file: string): Promise<Map<string, Set<string>>> {
  const r = await runCommand('p0f', ['-r', file], { timeoutMs: 30_000 });
  const out = new Map<string, Set<string>>();
  for (const block of r.stdout.split('.-[ ').slice(1)) {
    const head = /^(\d+\.\d+\.\d+\.\d+)\/\d+ -> \S+ \(syn\) \]-/.exec(block);
    if (head === null) continue;
    const verdict = /\| (os|app) += (.*)\n/.exec(block);
    const set = out.get(head[1] as string) ?? new Set<string>();
    set.add(verdict === null ? '???' : `${verdict[1]} = ${verdict[2]}`);
    out.set(head[1] as string, set);
  }
  return out;
}

test('two sources of different OS see different templates on one dynamic address (p0f-style guess of their SYNs)', needsRoot, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'decoyd-dynamic-test-'));
  const conf = join(dir, 'dynamic.conf');
  writeFileSync(conf, CONFIG);
  try {
    const check = await runCommand(process.execPath, [DEFAULT_MAIN_JS, 'check', conf], { timeoutMs: 30_000 });
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /source os = "Windows" -> magic_0_win\n +p0f labels \(\d+\): Windows XP, Windows 7 or 8/);
    assert.match(check.stdout, /otherwise -> magic_1_linux/);
    assert.doesNotMatch(check.stdout, /dynamic templates are parsed/);

    await withLab(t, { extraHosts: [{ name: 'win', address: `${WIN_SRC}/24` }] }, async (lab) => {
      const winNs = (lab.hosts[0] as (typeof lab.hosts)[number]).ns;
      // A real kernel that sends Windows 7's SYN (p0f: *:128:0:*:8192,0:mss,nop,nop,sok:df,id+:0).
      await lab.exec(winNs, ['sysctl', '-qw', 'net.ipv4.ip_default_ttl=128', 'net.ipv4.tcp_timestamps=0', 'net.ipv4.tcp_window_scaling=0']);
      const route = await lab.exec(winNs, ['ip', 'route', 'replace', '198.51.100.0/24', 'dev', 'lan0', 'window', '8192', 'advmss', '1024']);
      assert.equal(route.code, 0, route.stderr);

      const capFile = join(dir, 'syns.pcap');
      const capture = await startCapture(lab, lab.honeyNs, lab.honeyIf, { file: capFile, filter: ['tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn'] });
      let daemon: DaemonHandle | undefined;
      try {
        daemon = await startDaemon(lab, conf, { readyTimeoutMs: 20_000 });

        // Same address, different answers: the banner and the state of 445.
        assert.equal(await banner(lab, winNs, 8080), 'windows template\n');
        assert.equal(await banner(lab, lab.scannerNs, 8080), 'linux template\n');
        assert.equal(await banner(lab, winNs, 445), '', 'open for the Windows source (connects, says nothing)');
        assert.match(await banner(lab, lab.scannerNs, 445), /Connection refused/, 'closed for the Linux source');
        // Again, in the other order: the choice is per source, not first come.
        assert.equal(await banner(lab, lab.scannerNs, 8080), 'linux template\n');
        assert.equal(await banner(lab, winNs, 8080), 'windows template\n');

        // A connection keeps its template: an echo session from the Windows source stays open while
        // nmap's SYN from the same source makes it look like NMap (not Windows) to the next flows.
        const echo = lab.spawn(winNs, ['socat', '-T', '20', '-', `TCP:${DECOY}:7,connect-timeout=5`], { stdio: ['pipe', 'pipe', 'pipe'] });
        const lines: string[] = [];
        splitLines(echo.stdout, (l) => lines.push(l));
        const waitLine = async (text: string): Promise<void> => {
          const deadline = Date.now() + 5000;
          while (!lines.includes(text) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
          assert.ok(lines.includes(text), `echoed ${text} (got ${JSON.stringify(lines)})`);
        };
        echo.stdin?.write('before\n');
        await waitLine('before');
        const nmap = await lab.exec(winNs, ['nmap', '-n', '-Pn', '-sS', '-p', '7,445', DECOY, '-oX', '-'], { timeoutMs: 60_000 });
        const host = hostByAddress(parseNmapXml(nmap.stdout), DECOY);
        assert.ok(host, nmap.stderr);
        assert.equal(portOf(host, 'tcp', 7)?.state, 'closed', 'nmap SYNs are NMap to p0f: the otherwise rule (linux) answers');
        assert.equal(portOf(host, 'tcp', 445)?.state, 'closed');
        echo.stdin?.write('after\n');
        await waitLine('after');
        echo.stdin?.end();
        // The kernel's next SYN makes it Windows again.
        assert.equal(await banner(lab, winNs, 8080), 'windows template\n');
      } finally {
        await daemon?.stop();
        await capture.stop();
      }

      // The real p0f agrees with the guesses decoyd acted on.
      const verdicts = await p0fVerdicts(capFile);
      const win = [...(verdicts.get(WIN_SRC) ?? [])];
      const linux = [...(verdicts.get(lab.scannerIp) ?? [])];
      assert.ok(win.includes('os = Windows 7 or 8'), `p0f on ${WIN_SRC}: ${win.join('; ')}`);
      assert.ok(win.includes('app = NMap SYN scan'), `p0f on ${WIN_SRC}: ${win.join('; ')}`);
      assert.ok(linux.length > 0 && linux.every((v) => v.startsWith('os = Linux')), `p0f on the scanner: ${linux.join('; ')}`);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
