/**
 * Real scanners from distinct addresses against the running daemon, found over the real admin
 * API: nmap (-sS, -sF, -sX, -O, -sU, -sV, -sn -PE, -sn over ARP), masscan, zmap, hping3,
 * ordinary pings and SSH logins (one refused, one accepted with a command). For each source, `GET /api/v1/scans` and `/api/v1/sources/:ip` must name the
 * right scan type and tool, and `GET /api/v1/events?src=…` must hold the packets the scan sent
 * (counted, where the scanner's own count is known); `GET /api/v1/pcap?src=…` must return a file
 * `tcpdump -r` reads with that scan's packets. The extra scanner addresses live on the scanner's
 * veth inside the lab namespace only.
 *
 * Each step is a row of STEPS: what to run, which scans and which events (and credentials, for
 * login steps against an interactive emulator) the API must then show for its source.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ADMIN_API, ADMIN_TOKEN, allEvents, json, packetsOf, poll, storeSettled, sumPackets, tcpFlags, type Doc } from '../helpers/admin-http';
import { startDaemon } from '../helpers/daemon';
import { needsRoot, withLab, type Lab } from '../helpers/lab';

const DECOYS = ['198.51.100.10', '198.51.100.11', '198.51.100.12', '198.51.100.13', '198.51.100.14', '198.51.100.15'];

function config(dir: string): string {
  return `
templates:
  linux:
    personality: "Linux 4.15 - 5.6"
    defaults: { tcp: reset, udp: reset, icmp: open }
    ports:
      - { proto: tcp, port: 21, action: open, service: { banner: "220 decoy FTP ready\\r\\n" } }
      - { proto: tcp, port: 22, action: open, service: { emulate: ssh, product: OpenSSH, version: "8.9p1 Ubuntu 3ubuntu0.10", auth: { accept: ["admin:letmein"] } } }
      - { proto: tcp, port: 80, action: open }
      - { proto: tcp, port: 443, action: open, service: { name: "https", product: "nginx", version: "1.22.1" } }
hosts:
${DECOYS.map((a) => `  - { address: ${a}, template: linux }`).join('\n')}
service_seed: e2e-scan-detect
log: { level: warn }
detect:
  minTargets: 3
  updateSeconds: 2
store: { path: ${join(dir, 'store')}, flushIntervalMs: 200 }
capture: { dir: ${join(dir, 'capture')}, maxFileBytes: 8388608, maxFiles: 4 }
admin: { listen: "127.0.0.1:8080", token_file: ${join(dir, 'token')} }
`;
}

interface ScanExpectation {
  scanType: string;
  tool: string | undefined;
  /** Must appear among the detection's evidence lines. */
  evidence?: RegExp;
}

interface EventExpectation {
  /** Query string besides `src=`. */
  query: string;
  /** Undefined when the events are as they should be, else why not. */
  check: (events: Doc[]) => string | undefined;
}

interface Step {
  name: string;
  src: string;
  argv: string[][];
  scans: ScanExpectation[];
  events: EventExpectation[];
  /** Exit codes the step's commands may end with besides 0 and timeout(1)'s 124 (sshpass: 5 for a refused password). */
  codes?: number[];
  /** Credentials `/api/v1/sources/:ip` must list (login steps). */
  credentials?: { user: string; password?: string }[];
}

interface ScanRecord { scanId: string; srcIp: string; scanType: string; tool?: string; evidence: string[]; portCount: number; targetCount: number; packets: number; firstSeen: number; lastSeen: number; updates: number }

const dstOf = (e: Doc): unknown => e.destination?.ip;
const portOf = (e: Doc): unknown => e.destination?.port;
const distinct = (events: Doc[], f: (e: Doc) => unknown): Set<unknown> => new Set(events.map(f));
const need = (ok: boolean, why: string): string | undefined => (ok ? undefined : why);
const SSH_OPTS = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'PubkeyAuthentication=no', '-o', 'ConnectTimeout=20'];

/** Learns a decoy's MAC with one ordinary ping from `from` (masscan and zmap need it as their gateway MAC). */
async function decoyMac(lab: Lab, ip: string, from: string): Promise<string> {
  await lab.exec(lab.scannerNs, ['ping', '-c', '1', '-W', '2', '-I', from, ip]);
  const neigh = (await lab.exec(lab.scannerNs, ['ip', 'neigh', 'show', ip])).stdout;
  const m = /lladdr (\S+)/.exec(neigh);
  assert.ok(m, `no neighbour entry for ${ip}: ${neigh}`);
  return m[1] as string;
}

function steps(lab: Lab, macs: Map<string, string>): Step[] {
  const ifName = lab.scannerIf;
  const nmap = (src: string, args: string[]): string[] => ['nmap', '-n', '-Pn', '-e', ifName, '-S', src, '--max-retries', '1', ...args];
  const syns = (dst: string, ports: number): EventExpectation => ({
    query: `kind=tcp.packet&dst=${dst}`,
    check: (ev) => {
      const got = distinct(ev.filter((e) => tcpFlags(e) === 'S'), portOf).size;
      return need(got >= ports, `SYNs to ${got} distinct ports of ${dst}, expected ${ports}`);
    },
  });
  const flagged = (dst: string, flags: string, ports: number): EventExpectation => ({
    query: `kind=tcp.packet&dst=${dst}`,
    check: (ev) => {
      const got = distinct(ev.filter((e) => tcpFlags(e) === flags), portOf).size;
      return need(got === ports, `${flags} segments to ${got} distinct ports of ${dst}, expected ${ports}`);
    },
  });
  const echoRequests = (dsts: string[]): EventExpectation => ({
    query: 'kind=icmp',
    check: (ev) => {
      const got = distinct(ev.filter((e) => (e.decoyd?.icmp as Record<string, unknown> | undefined)?.type === 8 && e.decoyd?.answer === 'echo-reply'), dstOf);
      return need(dsts.every((d) => got.has(d)), `echo requests answered for ${[...got].join(',')}, expected ${dsts.join(',')}`);
    },
  });
  return [
    {
      // Four ordinary pings are a ping sweep by this config's threshold (3 decoys), but iputils ping carries no tool marks.
      name: 'ping (iputils)', src: '198.51.100.23', argv: [],
      scans: [{ scanType: 'ping-sweep-icmp', tool: undefined }],
      events: [echoRequests(DECOYS.slice(2))],
    },
    {
      name: 'nmap -sS', src: lab.scannerIp, argv: [nmap(lab.scannerIp, ['-sS', '-p', '1-200', DECOYS[0] as string])],
      scans: [{ scanType: 'tcp-syn', tool: 'nmap', evidence: /window 1024/ }],
      events: [syns(DECOYS[0] as string, 200), {
        query: `kind=tcp.packet&dst=${DECOYS[0]}`,
        check: (ev) => {
          const open = distinct(ev.filter((e) => tcpFlags(e) === 'S' && e.decoyd?.answer === 'syn-ack'), portOf);
          return need([21, 22, 80].every((p) => open.has(p)), `SYN/ACK answers on ports ${[...open].join(',')}`);
        },
      }],
    },
    { name: 'nmap -sF', src: '198.51.100.3', argv: [nmap('198.51.100.3', ['-sF', '-p', '1-60', DECOYS[1] as string])], scans: [{ scanType: 'tcp-fin', tool: 'nmap' }], events: [flagged(DECOYS[1] as string, 'F', 60)] },
    { name: 'nmap -sX', src: '198.51.100.4', argv: [nmap('198.51.100.4', ['-sX', '-p', '1-60', DECOYS[1] as string])], scans: [{ scanType: 'tcp-xmas', tool: 'nmap' }], events: [flagged(DECOYS[1] as string, 'FPU', 60)] },
    {
      name: 'nmap -O', src: '198.51.100.5', argv: [nmap('198.51.100.5', ['-O', '-p', '21,22,80,1-40', DECOYS[0] as string])],
      scans: [{ scanType: 'os-detection', tool: 'nmap', evidence: /Nmap OS detection probes/ }],
      events: [
        // T1-T7 and ECN: SYN, NULL, SYN/FIN/PSH/URG, ACK, FIN/PSH/URG, SYN with ECE/CWR.
        { query: `kind=tcp.packet&dst=${DECOYS[0]}`, check: (ev) => { const f = distinct(ev, tcpFlags); return need(['S', '.', 'SFPU', 'A', 'FPU'].every((x) => f.has(x)), `flag sets seen: ${[...f].join(' ')}`); } },
        { query: 'kind=icmp', check: (ev) => need(sumPackets(ev) >= 2, `${sumPackets(ev)} ICMP probes (IE sends 2)`) },
        { query: 'kind=udp.packet', check: (ev) => need(sumPackets(ev) >= 1, 'no U1 probe') },
      ],
    },
    {
      name: 'nmap -sU', src: '198.51.100.6', argv: [nmap('198.51.100.6', ['-sU', '-p', '1-20', DECOYS[2] as string])],
      scans: [{ scanType: 'udp', tool: 'nmap' }],
      events: [{ query: `kind=udp.packet&dst=${DECOYS[2]}`, check: (ev) => need(distinct(ev, portOf).size === 20, `datagrams to ${distinct(ev, portOf).size} of 20 ports`) }],
    },
    {
      // Port 443 is an HTTPS identity: inside TLS the probes are opaque on the wire, the service names them (service.probe).
      name: 'nmap -sV', src: '198.51.100.7', argv: [nmap('198.51.100.7', ['-sV', '-p', '21,443', DECOYS[3] as string])],
      scans: [{ scanType: 'service-version', tool: 'nmap', evidence: /recognised by the services that answered/ }],
      events: [
        { query: 'kind=service.probe&port=443', check: (ev) => need(ev.length >= 1 && ev.every((e) => e.service?.name === 'nginx'), `${ev.length} service.probe events on 443`) },
        { query: 'kind=tcp.open&port=21', check: (ev) => need(ev.length >= 1, 'no connection to the FTP banner') },
      ],
    },
    {
      name: 'masscan', src: '198.51.100.8',
      argv: [['timeout', '6', 'masscan', '198.51.100.12', '-p', '1-40', '--rate', '400', '--wait', '1', '-e', ifName, '--adapter-ip', '198.51.100.8', '--router-mac', macs.get('198.51.100.12') as string]],
      scans: [{ scanType: 'tcp-syn', tool: 'masscan', evidence: /masscan templ-pkt\.c/ }],
      events: [syns('198.51.100.12', 40)],
    },
    {
      // zmap sends every frame to one gateway MAC, and a decoy takes only frames for its own MAC: one run per decoy.
      name: 'zmap', src: '198.51.100.9',
      argv: ['198.51.100.13', '198.51.100.14', '198.51.100.15'].map((ip) => [
        'timeout', '10', 'zmap', '-p', '80', '-i', ifName, '--source-ip', '198.51.100.9', '-G', macs.get(ip) as string, '-b', '/dev/null', '-r', '100', '-c', '1', '-q', `${ip}/32`,
      ]),
      scans: [{ scanType: 'tcp-syn', tool: 'zmap', evidence: /54321/ }],
      events: [{ query: 'kind=tcp.packet&port=80', check: (ev) => need(distinct(ev.filter((e) => tcpFlags(e) === 'S'), dstOf).size === 3, `SYNs to ${[...distinct(ev, dstOf)].join(',')}`) }],
    },
    {
      name: 'hping3', src: '198.51.100.20', argv: [['hping3', '-S', '-p', '++1', '-c', '15', '-i', 'u20000', '-a', '198.51.100.20', DECOYS[4] as string]],
      scans: [{ scanType: 'tcp-syn', tool: 'hping3', evidence: /rises by 1/ }],
      // hping3 sent exactly 15: the store holds exactly 15 (however it folded them into rows).
      events: [{ query: `kind=tcp.packet&dst=${DECOYS[4]}`, check: (ev) => need(sumPackets(ev.filter((e) => tcpFlags(e) === 'S')) === 15, `${sumPackets(ev)} SYNs stored, hping3 sent 15`) }],
    },
    {
      name: 'nmap -sn -PE', src: '198.51.100.21', argv: [['nmap', '-n', '-sn', '-PE', '--disable-arp-ping', '-e', ifName, '-S', '198.51.100.21', ...DECOYS]],
      scans: [{ scanType: 'ping-sweep-icmp', tool: 'nmap' }], events: [echoRequests(DECOYS)],
    },
    {
      // A login attempt: OpenSSH's ssh (typed into by sshpass) tries a wrong password, then the accepted one and runs a command.
      name: 'ssh login', src: '198.51.100.24',
      argv: [
        ['sshpass', '-p', 'hunter2', 'ssh', ...SSH_OPTS, '-b', '198.51.100.24', `root@${DECOYS[5]}`, 'id'],
        ['sshpass', '-p', 'letmein', 'ssh', ...SSH_OPTS, '-b', '198.51.100.24', `admin@${DECOYS[5]}`, 'uname -a'],
      ],
      codes: [5], scans: [],
      events: [
        { query: 'kind=service.login', check: (ev) => { const r = ev.map((e) => `${String(e.user?.name)}:${String((e.decoyd?.auth as Record<string, unknown> | undefined)?.result)}`).sort().join(' '); return need(r === 'admin:accepted root:refused', `logins ${r}`); } },
        { query: 'kind=service.command', check: (ev) => need(ev.length === 1 && ev[0]?.process?.command_line === 'uname -a', `commands ${JSON.stringify(ev.map((e) => e.process))}`) },
      ],
      credentials: [{ user: 'root', password: 'hunter2' }, { user: 'admin', password: 'letmein' }],
    },
    {
      // On the LAN nmap discovers hosts by ARP (NmapOps implicitARPPing); ARP carries no tool marks.
      name: 'nmap -sn (ARP)', src: '198.51.100.22', argv: [['nmap', '-n', '-sn', '-e', ifName, '-S', '198.51.100.22', ...DECOYS]],
      scans: [{ scanType: 'arp-sweep', tool: undefined }],
      events: [{ query: 'kind=arp.reply', check: (ev) => need(DECOYS.every((d) => distinct(ev, dstOf).has(d)), `ARP replies for ${[...distinct(ev, dstOf)].join(',')}`) }],
    },
  ];
}

async function scansOf(lab: Lab, src: string): Promise<ScanRecord[]> {
  return (await json<{ scans: ScanRecord[] }>(lab, `/api/v1/scans?src=${src}`)).scans;
}

test('real scanners from distinct addresses: the API finds each as the right events, scan type and tool; the pcap endpoint has the packets', { skip: needsRoot.skip, timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'decoyd-scan-detect-'));
  writeFileSync(join(dir, 'token'), `${ADMIN_TOKEN}\n`);
  try {
    await withLab(t, {}, async (lab) => {
      const sources = ['198.51.100.3', '198.51.100.4', '198.51.100.5', '198.51.100.6', '198.51.100.7', '198.51.100.8', '198.51.100.9', '198.51.100.20', '198.51.100.21', '198.51.100.22', '198.51.100.23', '198.51.100.24'];
      for (const src of sources) await lab.exec(lab.scannerNs, ['ip', 'addr', 'add', `${src}/24`, 'dev', lab.scannerIf]);
      const d = await startDaemon(lab, config(dir));
      try {
        const macs = new Map<string, string>();
        for (const ip of ['198.51.100.12', '198.51.100.13', '198.51.100.14', '198.51.100.15']) macs.set(ip, await decoyMac(lab, ip, '198.51.100.23'));

        for (const step of steps(lab, macs)) {
          const started = Date.now();
          const output: string[] = [];
          for (const argv of step.argv) {
            const r = await lab.exec(lab.scannerNs, argv, { timeoutMs: 60_000 });
            output.push(`$ ${argv.join(' ')} -> ${String(r.code)}\n${r.stdout.slice(-600)}${r.stderr.slice(-600)}`);
            // timeout(1) ends masscan/zmap with 124 when they linger; anything else non-zero is a failure of the tool itself.
            assert.ok(r.code === 0 || r.code === 124 || step.codes?.includes(r.code ?? -1) === true, `${step.name}: ${argv.join(' ')} exited ${r.code}: ${r.stderr.slice(0, 400)}`);
          }
          for (const e of step.scans) {
            const scans = await poll(() => scansOf(lab, step.src), (list) => list.some((s) => s.scanType === e.scanType), 20_000);
            const scan = scans.find((s) => s.scanType === e.scanType);
            assert.ok(scan, `${step.name}: GET /api/v1/scans?src=${step.src} has no ${e.scanType}: ${JSON.stringify(scans)}\n${output.join('\n')}`);
            t.diagnostic(`${step.name} (${((Date.now() - started) / 1000).toFixed(1)} s): ${step.src} ${scan.scanType} tool=${String(scan.tool)} ports=${scan.portCount} targets=${scan.targetCount} | ${scan.evidence.join('; ')}`);
            assert.equal(scan.tool, e.tool, `${step.name}: tool for ${step.src}: ${JSON.stringify(scan)}`);
            if (e.evidence !== undefined) assert.ok(scan.evidence.some((x) => e.evidence?.test(x)), `${step.name}: evidence ${e.evidence}: ${scan.evidence.join('; ')}`);
          }
          for (const e of step.events) {
            let why: string | undefined;
            await poll(async () => { why = e.check(await allEvents(lab, `src=${step.src}&${e.query}`)); return why; }, (w) => w === undefined, 5_000);
            assert.equal(why, undefined, `${step.name}: GET /api/v1/events?src=${step.src}&${e.query}: ${String(why)}`);
          }
          if (step.credentials !== undefined) {
            const source = await json<{ credentials: { user: string; password?: string }[] }>(lab, `/api/v1/sources/${step.src}`);
            t.diagnostic(`${step.name}: ${step.src} credentials ${source.credentials.map((c) => `${c.user}:${String(c.password)}`).join(', ')}`);
            for (const c of step.credentials) {
              assert.ok(source.credentials.some((x) => x.user === c.user && (c.password === undefined || x.password === c.password)), `${step.name}: credentials of ${step.src}: ${JSON.stringify(source.credentials)}`);
            }
          }
        }
        await storeSettled(lab);

        // Per source: /api/v1/sources/:ip names its scans with their tools, and no source carries another's tool.
        const all = (await json<{ scans: ScanRecord[] }>(lab, '/api/v1/scans?limit=1000')).scans;
        const toolsBySource = new Map<string, Set<string>>();
        for (const s of all) {
          assert.ok(s.scanId !== '' && s.evidence.length > 0 && s.lastSeen >= s.firstSeen && s.packets > 0, JSON.stringify(s));
          if (s.tool !== undefined) toolsBySource.set(s.srcIp, (toolsBySource.get(s.srcIp) ?? new Set()).add(s.tool));
        }
        for (const [src, tools] of toolsBySource) assert.equal(tools.size, 1, `${src} attributed to ${[...tools].join(', ')}`);
        for (const step of steps(lab, macs)) {
          const source = await json<{ ip: string; scans: ScanRecord[]; hostCount: number; firstSeen: number; lastSeen: number }>(lab, `/api/v1/sources/${step.src}`);
          for (const e of step.scans) assert.ok(source.scans.some((s) => s.scanType === e.scanType && s.tool === e.tool), `/api/v1/sources/${step.src}: ${JSON.stringify(source.scans.map((s) => [s.scanType, s.tool]))}`);
          assert.ok(source.hostCount >= 1 && source.lastSeen >= source.firstSeen);
        }

        // The pcap endpoint: hping3's 15 SYNs and the nmap -sS scan's SYNs, in files tcpdump reads.
        const pcapLines = async (src: string): Promise<string[]> => {
          const file = join(dir, `${src}.pcap`);
          const dl = await lab.exec(lab.honeyNs, ['curl', '-s', '-o', file, '-w', '%{http_code}', '-H', `Authorization: Bearer ${ADMIN_TOKEN}`, `${ADMIN_API}/api/v1/pcap?src=${src}`], { timeoutMs: 15_000 });
          assert.equal(dl.stdout, '200');
          const read = await lab.exec(lab.honeyNs, ['tcpdump', '-nn', '-r', file], { timeoutMs: 15_000 });
          assert.equal(read.code, 0, read.stderr);
          const lines = read.stdout.trim().split('\n');
          // ARP replies to the source name only the decoy (tcpdump prints no target for a reply).
          const others = lines.filter((l) => !/ ARP, Reply /.test(l) && !new RegExp(`\\b${src.replace(/\./g, '\\.')}\\b`).test(l));
          assert.equal(others.length, 0, `only ${src} in its pcap: ${others.slice(0, 3).join(' | ')}`);
          return lines;
        };
        const hping = await pcapLines('198.51.100.20');
        assert.equal(hping.filter((l) => / IP 198\.51\.100\.20\.\d+ > 198\.51\.100\.14\.\d+: Flags \[S\],/.test(l)).length, 15, 'hping3 sent 15 SYNs');
        const nmapS = await pcapLines(lab.scannerIp);
        const synPorts = new Set(nmapS.map((l) => new RegExp(` IP ${lab.scannerIp.replace(/\./g, '\\.')}\\.\\d+ > 198\\.51\\.100\\.10\\.(\\d+): Flags \\[S\\],`).exec(l)?.[1]).filter((p) => p !== undefined));
        assert.ok(synPorts.size >= 200, `SYNs to ${synPorts.size} distinct ports in the pcap`);
        assert.ok(nmapS.some((l) => / IP 198\.51\.100\.10\.22 > \S+: Flags \[S\.\]/.test(l)), 'the SYN/ACKs decoyd sent are in the capture too');
        // The packet counts folded into store rows add up to what the capture holds for that source and decoy.
        const stored = await allEvents(lab, `src=198.51.100.20&kind=tcp.packet`);
        assert.equal(sumPackets(stored), hping.filter((l) => / IP 198\.51\.100\.20\./.test(l)).length, `store rows ${stored.map(packetsOf).join('+')} vs. the capture`);
      } finally {
        await d.stop();
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
