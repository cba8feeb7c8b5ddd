/**
 * The store and the admin API end to end: real scans (nmap, ping, hping3) against the running
 * decoyd, then real HTTP (curl inside the honeynet namespace, where the API listens on loopback)
 * finds them as events, sources and stats. Auth, 400s, the failed-auth limit, refusal to listen
 * beyond loopback without a token, kill -9 durability, and the fast scan under API load.
 * Scan detection assertions (scan kind and tool per source) extend this file from branch `detect`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FAST_SCAN_PROBES, fastScan } from '../helpers/fast-scan';
import { DEFAULT_MAIN_JS, startDaemon, type DaemonHandle } from '../helpers/daemon';
import { needsRoot, withLab, type Lab } from '../helpers/lab';
import { runNmap } from '../helpers/nmap';

const TOKEN = 'e2e-admin-token-5f2c9a41d7';
const API = 'http://127.0.0.1:8080';
const SCANNER = '198.51.100.2';

interface Workdir { dir: string; store: string; tokenFile: string }

function workdir(): Workdir {
  const dir = mkdtempSync(join(tmpdir(), 'decoyd-api-e2e-'));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  return { dir, store: join(dir, 'store'), tokenFile };
}

function config(w: Workdir, hosts: string[], extra = 'capture: { dir: CAPTURE, maxFileBytes: 4194304, maxFiles: 4 }'): string {
  return `
templates:
  web:
    defaults: { tcp: reset, udp: reset, icmp: open }
    ports:
      - { proto: tcp, port: 22, action: open }
      - { proto: tcp, port: 80, action: open }
hosts:
${hosts.map((h) => `  - { address: ${h}, template: web }`).join('\n')}
log: { level: warn }
store: { path: ${w.store}, flushIntervalMs: 200 }
admin: { listen: "127.0.0.1:8080", token_file: ${w.tokenFile} }
${extra.replace('CAPTURE', join(w.dir, 'capture'))}
`;
}

interface HttpResult { status: number; body: string }

/** One real HTTP request with curl inside the honeynet namespace (token null: no Authorization header). */
async function http(lab: Lab, path: string, token: string | null = TOKEN): Promise<HttpResult> {
  const argv = ['curl', '-s', '-m', '10', '-o', '-', '-w', '\n%{http_code}', ...(token === null ? [] : ['-H', `Authorization: Bearer ${token}`]), `${API}${path}`];
  const r = await lab.exec(lab.honeyNs, argv, { timeoutMs: 15_000 });
  const at = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(at + 1)), body: r.stdout.slice(0, at) };
}

async function json<T>(lab: Lab, path: string): Promise<T> {
  const r = await http(lab, path);
  assert.equal(r.status, 200, `${path}: ${r.status} ${r.body}`);
  return JSON.parse(r.body) as T;
}

type Doc = Record<string, Record<string, unknown>>;

/** Every event matching `query`, following the cursor. */
async function allEvents(lab: Lab, query: string): Promise<Doc[]> {
  const out: Doc[] = [];
  let cursor: string | undefined;
  do {
    const page = await json<{ events: Doc[]; nextCursor?: string }>(lab, `/api/v1/events?${query}&limit=1000${cursor === undefined ? '' : `&cursor=${cursor}`}`);
    out.push(...page.events);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return out;
}

/** Waits until the store has committed what the daemon emitted so far (its queue is empty). */
async function storeSettled(lab: Lab): Promise<void> {
  for (let k = 0; k < 50; k++) {
    const s = await json<{ daemon: Record<string, number> }>(lab, '/api/v1/stats');
    if (s.daemon.storeQueueDepth === 0 && s.daemon.storeWritten === s.daemon.events) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('store did not settle');
}

describe('admin API and store: real scans found over real HTTP', { skip: needsRoot.skip }, () => {
  test('scans become events, sources and stats; auth, 400s and the failed-auth limit', async (t) => {
    const w = workdir();
    try {
      await withLab(t, {}, async (lab) => {
        const d = await startDaemon(lab, config(w, ['198.51.100.10', '198.51.100.11']));
        try {
          const scan = await runNmap(lab, ['-sS', '-n', '-Pn', '-p', '20-30,80', '198.51.100.10,11'], { flushNeighbours: true });
          const scanSyns = scan.hosts.length * 12;
          assert.equal(scan.hosts.length, 2);
          await lab.exec(lab.scannerNs, ['ping', '-c', '3', '-i', '0.2', '198.51.100.10'], { timeoutMs: 10_000 });
          await storeSettled(lab);

          // Health without a token; everything else: none → 401, wrong → 401, right → 200.
          const health = await http(lab, '/api/v1/health', null);
          assert.equal(health.status, 200);
          assert.equal(JSON.parse(health.body).status, 'ok');
          assert.equal((await http(lab, `/api/v1/events?src=${SCANNER}`, null)).status, 401);
          assert.equal((await http(lab, `/api/v1/events?src=${SCANNER}`, 'wrong-token-0000000000')).status, 401);

          const syns = await allEvents(lab, `src=${SCANNER}&kind=tcp.packet`);
          for (const host of ['198.51.100.10', '198.51.100.11']) {
            const ports = new Set(syns.filter((e) => e.destination?.ip === host && e.decoyd?.tcp !== undefined && (e.decoyd.tcp as Record<string, unknown>).flags === 'S').map((e) => e.destination?.port));
            for (const p of [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 80]) assert.ok(ports.has(p), `no SYN event for ${host}:${p}`);
          }
          const open = syns.find((e) => e.destination?.port === 22 && e.decoyd?.answer === 'syn-ack');
          assert.ok(open, 'the SYN to the open port is stored with its answer');
          assert.equal(open.network?.transport, 'tcp');
          assert.equal(open.observer?.product, 'decoyd');
          const pings = await allEvents(lab, `src=${SCANNER}&proto=icmp&dst=198.51.100.10`);
          assert.equal(pings.filter((e) => e.decoyd?.answer === 'echo-reply').length, 3);
          const port22 = await allEvents(lab, `src=${SCANNER}&port=22`);
          assert.ok(port22.length >= 2 && port22.every((e) => e.destination?.port === 22));

          const source = await json<{ hostCount: number; portCount: number; hosts: { ip: string }[]; events: number }>(lab, `/api/v1/sources/${SCANNER}`);
          assert.equal(source.hostCount, 2);
          assert.ok(source.portCount >= 12);
          // The detector's scan.detected records, folded per scan and served per source.
          const scans = await json<{ scans: { srcIp: string; scanType: string; tool?: string; updates: number }[] }>(lab, `/api/v1/scans?src=${SCANNER}`);
          assert.ok(scans.scans.some((s) => s.scanType === 'tcp-syn'), JSON.stringify(scans));
          const withScans = await json<{ scans: { scanType: string }[] }>(lab, `/api/v1/sources/${SCANNER}`);
          assert.ok(withScans.scans.some((s) => s.scanType === 'tcp-syn'));
          const sources = await json<{ sources: { ip: string }[] }>(lab, '/api/v1/sources');
          assert.ok(sources.sources.some((s) => s.ip === SCANNER));
          // The scan's packets from the rotating capture, as a file tcpdump reads.
          const pcapFile = join(w.dir, 'scanner.pcap');
          const dl = await lab.exec(lab.honeyNs, ['curl', '-s', '-o', pcapFile, '-w', '%{http_code}', '-H', `Authorization: Bearer ${TOKEN}`, `${API}/api/v1/pcap?src=${SCANNER}`], { timeoutMs: 15_000 });
          assert.equal(dl.stdout, '200');
          const read = await lab.exec(lab.honeyNs, ['tcpdump', '-nn', '-r', pcapFile, 'tcp'], { timeoutMs: 15_000 });
          assert.equal(read.code, 0, read.stderr);
          const lines = read.stdout.trim().split('\n');
          const synLines = lines.filter((l) => l.includes(`IP ${SCANNER}.`) && / > 198\.51\.100\.1[01]\.\d+: Flags \[S\],/.test(l));
          assert.ok(synLines.length >= scanSyns, `tcpdump read ${synLines.length} scan SYNs, the scan sent ${scanSyns}`);
          assert.ok(lines.some((l) => /IP 198\.51\.100\.10\.22 > 198\.51\.100\.2\.\d+: Flags \[S\.\]/.test(l)), 'the SYN/ACKs decoyd sent are in the capture too');
          assert.ok(lines.every((l) => l.includes(SCANNER)), 'only that source');

          const metrics = await http(lab, '/metrics');
          assert.equal(metrics.status, 200);
          assert.match(metrics.body, /decoyd_store_events_written_total \d+/);
          assert.match(metrics.body, /decoyd_packets_in_total\{proto="tcp",decision="syn-ack"\} \d+/);

          // Bad parameters: 400 naming the parameter.
          for (const [q, parameter] of [['limit=0', 'limit'], ['src=1.2.3', 'src'], ['port=99999', 'port'], ['bogus=1', 'bogus']]) {
            const r = await http(lab, `/api/v1/events?${q}`);
            assert.equal(r.status, 400, q);
            assert.equal(JSON.parse(r.body).parameter, parameter, r.body);
          }

          // 1,000 wrong-token requests (one curl, keep-alive): the rest of this address's budget of 10 failures a minute gets 401 (two were spent above), all after it 429.
          const flood = await lab.exec(lab.honeyNs, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}\n', '-H', 'Authorization: Bearer wrong', `${API}/api/v1/stats?n=[1-1000]`], { timeoutMs: 120_000 });
          const codes = flood.stdout.trim().split('\n');
          assert.equal(codes.length, 1000);
          assert.ok(codes.slice(0, 8).every((c) => c === '401'), codes.slice(0, 12).join(','));
          assert.ok(codes.slice(8).every((c) => c === '429'), 'failures past the budget are rate-limited');
          assert.ok(d.events.filter((e) => e.kind === 'daemon.error' && /failed authentication/.test(String(e.message))).length === 1, 'logged once, not 1000 times');
          // The daemon still answers scans.
          const again = await runNmap(lab, ['-sS', '-n', '-Pn', '-p', '22,80,81', '198.51.100.10']);
          assert.deepEqual(again.hosts[0]?.ports.map((p) => p.state), ['open', 'open', 'closed']);
        } finally {
          await d.stop();
        }
      });
    } finally {
      rmSync(w.dir, { recursive: true, force: true });
    }
  });

  test('beyond loopback without a token the daemon refuses to start', async (t) => {
    const w = workdir();
    try {
      await withLab(t, {}, async (lab) => {
        const cfgFile = join(w.dir, 'open.yaml');
        writeFileSync(cfgFile, config(w, ['198.51.100.10']).replace(/admin: .*\n/, 'admin: { listen: "0.0.0.0:8080" }\n'));
        const r = await lab.exec(lab.honeyNs, [process.execPath, DEFAULT_MAIN_JS, 'run', '--config', cfgFile, '--interface', lab.honeyIf], { timeoutMs: 20_000 });
        assert.equal(r.code, 2);
        assert.match(r.stderr, /refusing to serve the admin API on 0\.0\.0\.0:8080 without a token/);
      });
    } finally {
      rmSync(w.dir, { recursive: true, force: true });
    }
  });

  test('kill -9 during a scan: after a restart every event older than the flush interval is there', async (t) => {
    const w = workdir();
    try {
      await withLab(t, {}, async (lab) => {
        const cfg = config(w, ['198.51.100.10']);
        let d: DaemonHandle = await startDaemon(lab, cfg);
        // Phase 1: 2000 SYNs to port 80, counted by the scanner itself (its kernel's RSTs to the SYN/ACKs are not counted).
        const h = await lab.exec(lab.scannerNs, ['hping3', '-S', '-p', '80', '-i', 'u200', '-c', '2000', '198.51.100.10'], { timeoutMs: 60_000 });
        const sent = /(\d+) packets transmitted/.exec(h.stdout + h.stderr);
        assert.ok(sent, h.stdout + h.stderr);
        assert.equal(Number(sent[1]), 2000);
        // Five flush intervals: phase 1 is older than the flush interval by a wide margin.
        await new Promise((r) => setTimeout(r, 1000));
        // Phase 2: a scan in progress (port 81) when the daemon is killed.
        const phase2 = lab.spawn(lab.scannerNs, ['hping3', '-S', '-p', '81', '-i', 'u500', '-c', '4000', '198.51.100.10'], { stdio: 'ignore' });
        await new Promise((r) => setTimeout(r, 700));
        process.kill(d.pid, 'SIGKILL');
        await d.exited;
        await new Promise<void>((resolve) => { if (phase2.exitCode !== null) resolve(); else phase2.once('exit', () => resolve()); });

        d = await startDaemon(lab, cfg);
        try {
          const p80 = await allEvents(lab, `src=${SCANNER}&port=80&kind=tcp.packet`);
          const syns = p80.filter((e) => (e.decoyd?.tcp as Record<string, unknown> | undefined)?.flags === 'S');
          assert.equal(syns.length, 2000, 'every phase-1 SYN (the scanner sent 2000) survived kill -9');
          const p81 = await allEvents(lab, `src=${SCANNER}&port=81&kind=tcp.packet`);
          assert.ok(p81.length > 0, 'what was flushed of the killed phase is readable too');
          const ids = new Set([...p80, ...p81].map((e) => e.event?.id));
          assert.equal(ids.size, p80.length + p81.length, 'event ids are unique');
        } finally {
          await d.stop();
        }
      });
    } finally {
      rmSync(w.dir, { recursive: true, force: true });
    }
  });

  test('with clients hammering /api/v1/events and the SSE stream, the fast scan right after start finds every port (10 runs)', async (t) => {
    const w = workdir();
    try {
      await withLab(t, {}, async (lab) => {
        const hosts = Array.from({ length: 250 }, (_, i) => `198.51.100.${i + 3}`);
        const cfg = config(w, hosts);
        for (let run = 0; run < 10; run++) {
          const d = await startDaemon(lab, cfg);
          // One keep-alive client per route, each request answered before the next (curl URL globbing: a valid, distinct query every time).
          const hammer = lab.spawn(lab.honeyNs, ['curl', '-s', '-o', '/dev/null', '-H', `Authorization: Bearer ${TOKEN}`, `${API}/api/v1/events?src=${SCANNER}&limit=100&since=[1-1000000]`], { stdio: 'ignore' });
          const hammer2 = lab.spawn(lab.honeyNs, ['curl', '-s', '-o', '/dev/null', '-H', `Authorization: Bearer ${TOKEN}`, `${API}/api/v1/sources/${SCANNER}?limit=[1-1000]`, `${API}/api/v1/sources?limit=[1-1000]`, `${API}/api/v1/events?limit=[1-1000]`], { stdio: 'ignore' });
          const stream = lab.spawn(lab.honeyNs, ['curl', '-sN', '-H', `Authorization: Bearer ${TOKEN}`, `${API}/api/v1/events/stream`], { stdio: 'ignore' });
          try {
            // As in foundation.test.ts: every probe answered on the wire, and nmap sees it (helpers/fast-scan.ts).
            const { answered, worstMs, open, closed } = await fastScan(lab);
            t.diagnostic(`run ${run}: on the scanner's wire ${answered} of ${FAST_SCAN_PROBES} probes answered, slowest answer ${worstMs.toFixed(1)} ms`);
            assert.equal(answered, FAST_SCAN_PROBES, `run ${run}: probes answered on the wire: ${answered} of ${FAST_SCAN_PROBES} (slowest ${worstMs.toFixed(1)} ms)`);
            // The stop line says how long the daemon thread was held up at most: the cause when ports go missing.
            await d.stop();
            const why = String(d.eventsOfKind('daemon.stop')[0]?.message);
            assert.equal(open, 500, `run ${run}: open ports found: ${open} of 500 (${why})`);
            assert.equal(closed, 750, `run ${run}: closed ports found: ${closed} of 750`);
          } finally {
            for (const child of [hammer, hammer2, stream]) if (child.pid !== undefined) try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
            await d.stop();
          }
        }
      });
    } finally {
      rmSync(w.dir, { recursive: true, force: true });
    }
  });
});
