// e2e: exclusive (the mean RTT must be within 10 % of the link model's)
/**
 * Virtual routing topologies with real clients: traceroute (UDP, ICMP, TCP), tcptraceroute and
 * nmap --traceroute see the configured routers hop by hop; ping sees the configured latency,
 * jitter and loss; nmap -O names a virtual router's personality; unreach routes and missing hosts
 * get the right ICMP unreachable from the right router. The scanner reaches the virtual networks
 * through the entry router (a route in the scanner namespace only).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startCapture } from '../helpers/capture';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../daemon/src/lab/run-command';
import { DEFAULT_MAIN_JS, startDaemon } from '../helpers/daemon';
import { parseFrame } from '../helpers/frames';
import { needsRoot, withLab, type Lab } from '../helpers/lab';
import { hostByAddress, portOf, runNmap } from '../helpers/nmap';

const ENTRY = '198.51.100.1';
const R2 = '203.0.113.1';
const R3 = '203.0.113.129';
const HOST = '203.0.113.140';
const FAR = '192.0.2.10';
const FAR_LATENCY_MS = 40;
const FAR_LOSS_PERCENT = 4;

/** Three routers (entry, R2, R3) in front of 203.0.113.128/26, and a slow lossy link to 192.0.2.0/24. */
const THREE_ROUTERS = `
templates:
  cisco:
    personality: "Cisco 1600 router (IOS 12.0)"
    defaults: { tcp: reset, udp: reset, icmp: open }
    ports: [ { proto: tcp, port: 23, action: open } ]
  juniper:
    personality: "Juniper M7i router"
    defaults: { tcp: reset, udp: reset, icmp: open }
    ports: [ { proto: tcp, port: 22, action: open } ]
  server:
    personality: "Microsoft Windows XP Professional SP1"
    defaults: { tcp: reset, udp: reset, icmp: open }
    ports: [ { proto: tcp, port: 80, action: open }, { proto: tcp, port: 7, action: open, service: echo } ]
hosts:
  - { address: ${ENTRY}, template: cisco }
  - { address: ${R2}, template: juniper }
  - { address: ${R3}, template: cisco }
  - { address: ${HOST}, template: server }
  - { address: ${FAR}, template: server }
topology:
  entries:
    - { router: ${ENTRY} }
  links:
    - { router: ${R2}, network: 203.0.113.0/26 }
    - { router: ${R3}, network: 203.0.113.128/26 }
    - { router: 192.0.2.1, network: 192.0.2.0/24 }
  routes:
    - { router: ${ENTRY}, network: 203.0.113.0/24, gateway: ${R2}, latency_ms: 2 }
    - { router: ${R2}, network: 203.0.113.128/25, gateway: ${R3}, latency_ms: 2 }
    - { router: ${ENTRY}, network: 192.0.2.0/24, gateway: 192.0.2.1, latency_ms: ${FAR_LATENCY_MS}, loss_percent: ${FAR_LOSS_PERCENT}, bandwidth: 10Mbps }
  unreach:
    - { router: ${R2}, network: 203.0.113.64/26 }
log: { level: info }
`;

/**
 * Honeyd 1.5c's own `config.sample` (corpus file 01), as Honeyd syntax. Its scripts and proxies
 * are plain open ports here (the topology is what this test is about; one proxy pointed at a
 * public address); everything else is the file as shipped, its addresses remapped by
 * `remapConfigSample` into documentation ranges.
 */
const HONEYD_CONFIG_SAMPLE = `route entry 10.0.0.1
route 10.0.0.1 link 10.2.0.0/24
route 10.0.0.1 add net 10.3.0.0/16 10.3.0.1 latency 8ms bandwidth 10Mbps
route 10.3.0.1 link 10.3.0.0/24
route 10.3.0.1 add net 10.3.1.0/24 10.3.1.1 latency 7ms loss 0.5
route 10.3.1.1 link 10.3.1.0/24

# Example of a simple host template and its binding
create template
set template personality "Microsoft Windows XP Professional SP1"
set template uptime 1728650
set template maxfds 35
add template tcp port 80 open
add template tcp port 22 open
add template tcp port 23 open
add template udp port 53 open
set template default tcp action reset

create default
set default default tcp action block
set default default udp action block
set default default icmp action block

create router
set router personality "Cisco 1601R router running IOS 12.1(5)"
set router default tcp action reset
add router tcp port 22 open
add router tcp port 23 open

bind 10.3.0.1 router
bind 10.3.1.1 router
bind 10.3.1.12 template
bind 10.3.1.11 template
bind 10.3.1.10 template
set 10.3.1.11 personality "Microsoft Windows NT 4.0 SP3"
set 10.3.1.10 personality "IBM AIX 4.2"
`;

/**
 * The entry 10.0.0.1 becomes 198.51.100.1 (on the lab LAN), its link 10.2.0.0/24 becomes
 * 192.0.2.0/24, and 10.3.x.y becomes 203.0.113.(128x+y): 10.3.0.0/16 → 203.0.113.0/24,
 * 10.3.0.0/24 → 203.0.113.0/25, 10.3.1.0/24 → 203.0.113.128/25.
 */
function remapConfigSample(text: string): string {
  const nets: Record<string, string> = { '10.2.0.0/24': '192.0.2.0/24', '10.3.0.0/16': '203.0.113.0/24', '10.3.0.0/24': '203.0.113.0/25', '10.3.1.0/24': '203.0.113.128/25' };
  return text
    .replace(/\b10\.\d+\.\d+\.\d+\/\d+/g, (net) => nets[net] ?? `unmapped-${net}`)
    .replace(/\b10\.0\.0\.1\b/g, '198.51.100.1')
    .replace(/\b10\.2\.0\.(\d+)\b/g, (_, y: string) => `192.0.2.${y}`)
    .replace(/\b10\.3\.([01])\.(\d+)\b/g, (_, x: string, y: string) => `203.0.113.${128 * Number(x) + Number(y)}`);
}

async function routeViaEntry(lab: Lab, nets: string[]): Promise<void> {
  for (const net of nets) {
    const r = await lab.exec(lab.scannerNs, ['ip', 'route', 'add', net, 'via', ENTRY], { timeoutMs: 5000 });
    assert.equal(r.code, 0, `ip route add ${net}: ${r.stderr}`);
  }
}

/** Hop number → addresses that answered, from traceroute/tcptraceroute -n output. */
function parseTraceroute(stdout: string): Map<number, string[]> {
  const hops = new Map<number, string[]>();
  for (const line of stdout.split('\n')) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const addresses = [...(m[2] as string).matchAll(/(\d+\.\d+\.\d+\.\d+)/g)].map((a) => a[1] as string);
    hops.set(Number(m[1]), addresses);
  }
  return hops;
}

function assertHops(tool: string, hops: Map<number, string[]>, expected: string[], stdout: string): void {
  expected.forEach((address, i) => {
    const seen = hops.get(i + 1) ?? [];
    assert.ok(seen.length > 0 && seen.every((a) => a === address), `${tool}: hop ${i + 1} should be ${address}, got ${seen.join(' ') || 'nothing'}\n${stdout}`);
  });
  const last = Math.max(...hops.keys());
  assert.equal(last, expected.length, `${tool}: ${last} hops, expected ${expected.length}\n${stdout}`);
}

async function trace(lab: Lab, tool: string, argv: string[], expected: string[]): Promise<string> {
  const r = await lab.exec(lab.scannerNs, argv, { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `${tool} failed: ${r.stderr}\n${r.stdout}`);
  assertHops(tool, parseTraceroute(r.stdout), expected, r.stdout);
  return r.stdout;
}

interface PingStats { transmitted: number; received: number; avg: number; mdev: number; ttls: number[] }

/** The two-sided tail mass outside ±3σ of a normal distribution (what "within three standard deviations" means). */
const THREE_SIGMA_TWO_SIDED = 0.0027;

/**
 * The counts k of Binomial(n, p) a test accepts at level alpha: those with P(X ≤ k) > alpha/2 and
 * P(X ≥ k) > alpha/2, from the exact distribution. The normal approximation (mean ± 3σ) is not
 * symmetric in its errors for a skewed binomial with a small mean: at n = 200, p = 7.8 % it
 * rejects a correct model 0.24 % of the time, six times more often above than below.
 */
function binomialAcceptance(n: number, p: number, alpha: number): [number, number] {
  const pmf: number[] = [];
  let logC = 0;
  for (let k = 0; k <= n; k++) {
    if (k > 0) logC += Math.log(n - k + 1) - Math.log(k);
    pmf.push(Math.exp(logC + k * Math.log(p) + (n - k) * Math.log1p(-p)));
  }
  let low = 0;
  for (let cdf = 0; low <= n; low++) {
    cdf += pmf[low] as number;
    if (cdf > alpha / 2) break;
  }
  let high = n;
  for (let tail = 0; high >= 0; high--) {
    tail += pmf[high] as number;
    if (tail > alpha / 2) break;
  }
  return [low, high];
}

async function ping(lab: Lab, args: string[], target: string, timeoutMs = 30_000): Promise<{ stats: PingStats; stdout: string; replies: { seq: number; timeMs: number }[] }> {
  const started = Date.now();
  const r = await lab.exec(lab.scannerNs, ['ping', '-n', ...args, target], { timeoutMs });
  r.stdout += `\n[exit ${r.code}, ${Date.now() - started} ms, stderr: ${r.stderr.trim()}]`;
  const counts = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  const rtt = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(r.stdout);
  const ttls = [...r.stdout.matchAll(/ttl=(\d+)/g)].map((m) => Number(m[1]));
  const replies = [...r.stdout.matchAll(/icmp_seq=(\d+) ttl=\d+ time=([\d.]+) ms/g)].map((m) => ({ seq: Number(m[1]), timeMs: Number(m[2]) }));
  return {
    stdout: r.stdout,
    replies,
    stats: {
      transmitted: counts ? Number(counts[1]) : 0,
      received: counts ? Number(counts[2]) : 0,
      avg: rtt ? Number(rtt[2]) : NaN,
      mdev: rtt ? Number(rtt[4]) : NaN,
      ttls,
    },
  };
}

test('three virtual routers: traceroute, tcptraceroute, nmap --traceroute, ping, nmap -O, unreachables', { skip: needsRoot.skip }, async (t) => {
  await withLab(t, {}, async (lab) => {
    const d = await startDaemon(lab, THREE_ROUTERS);
    try {
      await routeViaEntry(lab, ['203.0.113.0/24', '192.0.2.0/24']);
      const path = [ENTRY, R2, R3, HOST];
      // One probe at a time (-N 1) and three per hop: every hop answers, none is rate limited.
      t.diagnostic(await trace(lab, 'traceroute (UDP)', ['traceroute', '-n', '-N', '1', '-q', '3', '-w', '2', HOST], path));
      // The time exceeded replies' TTLs, on the scanner's wire: each router's own initial TTL (255
      // for both IOS and JunOS) less the routers between it and the scanner.
      const cap = await startCapture(lab, lab.scannerNs, lab.scannerIf, { filter: ['icmp[0]', '=', '11'] });
      await trace(lab, 'traceroute -I', ['traceroute', '-I', '-n', '-N', '1', '-q', '3', '-w', '2', HOST], path);
      const replies = (await cap.stop()).records.map((r) => parseFrame(r.data));
      const ttls = new Map<string, Set<number>>();
      for (const f of replies) if (f.ip) ttls.set(f.ip.src, (ttls.get(f.ip.src) ?? new Set()).add(f.ip.ttl));
      assert.deepEqual([ENTRY, R2, R3].map((a) => [a, [...(ttls.get(a) ?? [])]]), [[ENTRY, [255]], [R2, [254]], [R3, [253]]], 'time exceeded TTLs');
      await trace(lab, 'traceroute -T', ['traceroute', '-T', '-p', '80', '-n', '-N', '1', '-q', '3', '-w', '2', HOST], path);
      t.diagnostic(await trace(lab, 'tcptraceroute', ['tcptraceroute', '-n', '-q', '3', '-w', '2', HOST, '80'], path));

      const nm = await runNmap(lab, ['-sS', '-n', '-Pn', '-p', '80', '--traceroute', HOST], { timeoutMs: 60_000 });
      const h = hostByAddress(nm, HOST);
      assert.ok(h?.trace, `nmap printed no trace:\n${nm.xml}`);
      assert.deepEqual(h.trace.map((hop) => [hop.ttl, hop.address]), path.map((a, i) => [i + 1, a]), 'nmap --traceroute hops');
      // The host answers with its own TTL (Windows: 128) less the three routers on the way back.
      const port = portOf(h, 'tcp', 80);
      assert.equal(port?.state, 'open');
      assert.equal(port?.reasonTtl, 128 - 3, 'SYN/ACK TTL after three virtual routers');

      // A real TCP connection through the three routers carries data both ways (echo service).
      const message = 'hello-through-three-virtual-routers';
      const echo = await lab.exec(lab.scannerNs, ['bash', '-c', `exec 3<>/dev/tcp/${HOST}/7 && printf '%s' '${message}' >&3 && timeout 5 head -c ${message.length} <&3`], { timeoutMs: 15_000 });
      assert.equal(echo.stdout, message, `echo through the topology: ${echo.stderr}`);

      // Latency, jitter and loss over the entry → 192.0.2.1 link (both directions), over the first
      // 200 of 300 echo requests. ping waits only two RTTs after its last request, so on a loaded
      // machine the replies to the last few requests can come too late and count as lost, loss the
      // link never made: the 100 requests after the counted ones give the 200th reply a second more.
      const COUNTED = 200;
      const p = await ping(lab, ['-c', String(COUNTED + 100), '-i', '0.01', '-W', '1'], FAR);
      const counted = p.replies.filter((r) => r.seq <= COUNTED);
      const received = new Set(counted.map((r) => r.seq)).size;
      const lost = COUNTED - received;
      const meanRtt = counted.reduce((sum, r) => sum + r.timeMs, 0) / Math.max(1, counted.length);
      const expectedRtt = 2 * FAR_LATENCY_MS;
      const lossEach = FAR_LOSS_PERCENT / 100;
      // A request is lost on the way in or, having arrived, its reply on the way out: one draw each.
      const pLost = 1 - (1 - lossEach) ** 2;
      // What the topology itself dropped (drop events, all 300 requests), to tell its loss from any other.
      const modelLost = d.events.filter((e) => e.kind === 'drop' && e['reason'] === 'route-loss' && (e['srcIp'] === FAR || e['dstIp'] === FAR)).length;
      const [low, high] = binomialAcceptance(COUNTED, pLost, THREE_SIGMA_TWO_SIDED);
      t.diagnostic(`ping ${FAR}: ${received}/${COUNTED} counted requests answered (all: ${p.stats.received}/${p.stats.transmitted}, ${modelLost} dropped by the link model), mean ${meanRtt.toFixed(1)} ms (configured ${expectedRtt}), mdev ${p.stats.mdev} ms; loss expected ${(COUNTED * pLost).toFixed(1)}, accepted ${low}-${high}`);
      assert.equal(p.stats.transmitted, COUNTED + 100, p.stdout);
      assert.ok(Math.abs(meanRtt - expectedRtt) <= expectedRtt * 0.1, `mean RTT ${meanRtt} ms, configured ${expectedRtt} ms\n${p.stdout}`);
      assert.ok(p.stats.mdev > 0, `no jitter: mdev ${p.stats.mdev}`);
      assert.ok(lost >= low && lost <= high, `${lost} of the first ${COUNTED} lost (${modelLost} of all ${p.stats.transmitted} by the link model), expected ${(COUNTED * pLost).toFixed(1)}: outside the exact binomial three-sigma range ${low}-${high}`);

      // Echo replies from a host behind two routers: TTL 128 less 2.
      const near = await ping(lab, ['-c', '2', '-i', '0.2', '-W', '2'], HOST);
      assert.equal(near.stats.received, 2, near.stdout);
      assert.ok(near.stats.ttls.every((ttl) => ttl === 128 - 3), `echo reply TTLs ${near.stats.ttls.join(',')}`);

      const routeEvents = (): string => d.events.filter((e) => !(e.kind === 'icmp' && e['dstIp'] === FAR) && e.kind !== 'tcp.packet' && e.kind !== 'udp.packet').slice(-25).map((e) => JSON.stringify(e)).join('\n');
      // R2 has an unreach route for 203.0.113.64/26; R3's network has no host at .150 and no default template.
      const netUnreach = await ping(lab, ['-c', '1', '-W', '2'], '203.0.113.70');
      assert.match(netUnreach.stdout, new RegExp(`From ${R2.replace(/\./g, '\\.')} icmp_seq=1 Destination Net Unreachable`), `${netUnreach.stdout}\n${routeEvents()}`);
      const hostUnreach = await ping(lab, ['-c', '1', '-W', '2'], '203.0.113.150');
      assert.match(hostUnreach.stdout, new RegExp(`From ${R3.replace(/\./g, '\\.')} icmp_seq=1 Destination Host Unreachable`), `${hostUnreach.stdout}\n${routeEvents()}`);
      // TTL 1 and 2 end at the entry router and R2.
      const ttl2 = await ping(lab, ['-c', '1', '-W', '2', '-t', '2'], HOST);
      assert.match(ttl2.stdout, new RegExp(`From ${R2.replace(/\./g, '\\.')} icmp_seq=1 Time to live exceeded`), `${ttl2.stdout}\n${routeEvents()}`);

      // A virtual router answers nmap -O as its personality.
      const os = await runNmap(lab, ['-O', '-n', '-Pn', '-p', '22,80', '--max-os-tries', '2', R2], { timeoutMs: 120_000 });
      const router = hostByAddress(os, R2);
      assert.ok(router && router.osMatches.length > 0, `no OS match for ${R2}:\n${os.xml}`);
      t.diagnostic(`nmap -O ${R2}: ${router.osMatches[0]?.name} (${router.osMatches[0]?.accuracy} %), distance ${router.distance}`);
      assert.equal(router.osMatches[0]?.name, 'Juniper M7i router');
      assert.equal(router.distance, 2, 'R2 is two hops away');
    } finally {
      await d.stop();
    }
  });
});

test("Honeyd's config.sample (Honeyd syntax, addresses remapped): traceroute and nmap --traceroute", { skip: needsRoot.skip }, async (t) => {
  await withLab(t, {}, async (lab) => {
    const dir = mkdtempSync(join(tmpdir(), 'decoyd-config-sample-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const conf = join(dir, 'config.sample');
    writeFileSync(conf, remapConfigSample(HONEYD_CONFIG_SAMPLE));
    // Read as Honeyd syntax (first statement), the first-generation Cisco name mapped, the topology listed.
    const check = await runCommand(process.execPath, [DEFAULT_MAIN_JS, 'check', conf], { timeoutMs: 30_000 });
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /^topology \(1 entries, 3 links, 2 routes, 0 unreach\)$/m);
    assert.match(check.stdout, /"Cisco 1601R router running IOS 12\.1\(5\)" -> "Cisco /);
    const d = await startDaemon(lab, conf);
    try {
      await routeViaEntry(lab, ['203.0.113.0/24', '192.0.2.0/24']);
      // 10.3.1.12 behind 10.0.0.1 → 10.3.0.1 → 10.3.1.1.
      const path = ['198.51.100.1', '203.0.113.1', '203.0.113.129', '203.0.113.140'];
      await trace(lab, 'traceroute (UDP)', ['traceroute', '-n', '-N', '1', '-q', '3', '-w', '2', '203.0.113.140'], path);
      await trace(lab, 'traceroute -I', ['traceroute', '-I', '-n', '-N', '1', '-q', '3', '-w', '2', '203.0.113.140'], path);
      await trace(lab, 'tcptraceroute', ['tcptraceroute', '-n', '-q', '3', '-w', '2', '203.0.113.140', '80'], path);
      const nm = await runNmap(lab, ['-sS', '-n', '-Pn', '-p', '80', '--traceroute', '203.0.113.138'], { timeoutMs: 60_000 });
      const h = hostByAddress(nm, '203.0.113.138');
      assert.ok(h?.trace, `nmap printed no trace:\n${nm.xml}`);
      assert.deepEqual(h.trace.map((hop) => hop.address), ['198.51.100.1', '203.0.113.1', '203.0.113.129', '203.0.113.138']);
      // The entry's own link (10.2.0.0/24 in the sample) is two hops away; its addresses have no
      // binding and answer as the `default` template (everything blocked): only the entry answers.
      const r = await lab.exec(lab.scannerNs, ['traceroute', '-n', '-N', '1', '-q', '1', '-w', '1', '-m', '3', '192.0.2.10'], { timeoutMs: 30_000 });
      const hops = parseTraceroute(r.stdout);
      assert.deepEqual(hops.get(1), ['198.51.100.1'], r.stdout);
      assert.deepEqual(hops.get(2), [], `the default template blocks everything:\n${r.stdout}`);
      t.diagnostic(r.stdout.trim());
    } finally {
      await d.stop();
    }
  });
});
