/**
 * Real scanners from distinct addresses against the running daemon: nmap (-sS, -sF, -sX, -O, -sU,
 * -sV, -sn -PE, -sn over ARP), masscan, zmap and hping3. Each source must show up in the log as a scan.detected
 * with the right scan type and tool. The extra scanner addresses live on the scanner's veth inside
 * the lab namespace only.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startDaemon, type DaemonHandle, type DaemonLogLine } from '../helpers/daemon';
import { needsRoot, withLab, type Lab } from '../helpers/lab';

const DECOYS = ['198.51.100.10', '198.51.100.11', '198.51.100.12', '198.51.100.13', '198.51.100.14', '198.51.100.15'];

const CONFIG = `
templates:
  linux:
    personality: "Linux 4.15 - 5.6"
    defaults: { tcp: reset, udp: reset, icmp: open }
    ports:
      - { proto: tcp, port: 21, action: open, service: { banner: "220 decoy FTP ready\\r\\n" } }
      - { proto: tcp, port: 22, action: open, service: { banner: "SSH-2.0-OpenSSH_8.9p1\\r\\n" } }
      - { proto: tcp, port: 80, action: open }
hosts:
${DECOYS.map((a) => `  - { address: ${a}, template: linux }`).join('\n')}
log: { level: warn }
detect:
  minTargets: 3
  updateSeconds: 2
`;

interface Expectation {
  src: string;
  scanType: string;
  tool: string | undefined;
}

function scanFrom(d: DaemonHandle, e: Expectation): (line: DaemonLogLine) => boolean {
  return (line) => line.kind === 'scan.detected' && line.srcIp === e.src && line.scanType === e.scanType;
}

/** Learns a decoy's MAC with one ordinary ping from `from` (masscan and zmap need it as their gateway MAC). */
async function decoyMac(lab: Lab, ip: string, from: string): Promise<string> {
  await lab.exec(lab.scannerNs, ['ping', '-c', '1', '-W', '2', '-I', from, ip]);
  const neigh = (await lab.exec(lab.scannerNs, ['ip', 'neigh', 'show', ip])).stdout;
  const m = /lladdr (\S+)/.exec(neigh);
  assert.ok(m, `no neighbour entry for ${ip}: ${neigh}`);
  return m[1] as string;
}

test('real scanners from distinct addresses are detected with the right scan type and tool', { skip: needsRoot.skip, timeout: 240_000 }, async (t) => {
  await withLab(t, {}, async (lab) => {
    const sources = ['198.51.100.3', '198.51.100.4', '198.51.100.5', '198.51.100.6', '198.51.100.7', '198.51.100.8', '198.51.100.9', '198.51.100.20', '198.51.100.21', '198.51.100.22', '198.51.100.23'];
    for (const src of sources) await lab.exec(lab.scannerNs, ['ip', 'addr', 'add', `${src}/24`, 'dev', lab.scannerIf]);
    const d = await startDaemon(lab, CONFIG);
    try {
      const ifName = lab.scannerIf;
      const nmap = (src: string, args: string[]): string[] => ['nmap', '-n', '-Pn', '-e', ifName, '-S', src, '--max-retries', '1', ...args];
      const macs = new Map<string, string>();
      for (const ip of ['198.51.100.12', '198.51.100.13', '198.51.100.14', '198.51.100.15']) macs.set(ip, await decoyMac(lab, ip, '198.51.100.23'));
      // Four ordinary pings from .23 are a ping sweep by this config's threshold (3 decoys), but iputils ping
      // carries no tool marks (56 data bytes, TTL 64): it must be reported without a tool.
      const pings = await d.waitForEvent((l) => l.kind === 'scan.detected' && l.srcIp === '198.51.100.23' && l.scanType === 'ping-sweep-icmp', 15_000);
      assert.equal(pings.tool, undefined, JSON.stringify(pings));

      const steps: Array<{ name: string; argv: string[][]; expect: Expectation[] }> = [
        { name: 'nmap -sS', argv: [nmap(lab.scannerIp, ['-sS', '-p', '1-200', DECOYS[0] as string])], expect: [{ src: lab.scannerIp, scanType: 'tcp-syn', tool: 'nmap' }] },
        { name: 'nmap -sF', argv: [nmap('198.51.100.3', ['-sF', '-p', '1-60', DECOYS[1] as string])], expect: [{ src: '198.51.100.3', scanType: 'tcp-fin', tool: 'nmap' }] },
        { name: 'nmap -sX', argv: [nmap('198.51.100.4', ['-sX', '-p', '1-60', DECOYS[1] as string])], expect: [{ src: '198.51.100.4', scanType: 'tcp-xmas', tool: 'nmap' }] },
        { name: 'nmap -O', argv: [nmap('198.51.100.5', ['-O', '-p', '21,22,80,1-40', DECOYS[0] as string])], expect: [{ src: '198.51.100.5', scanType: 'os-detection', tool: 'nmap' }] },
        { name: 'nmap -sU', argv: [nmap('198.51.100.6', ['-sU', '-p', '1-20', DECOYS[2] as string])], expect: [{ src: '198.51.100.6', scanType: 'udp', tool: 'nmap' }] },
        { name: 'nmap -sV', argv: [nmap('198.51.100.7', ['-sV', '-p', '21', DECOYS[3] as string])], expect: [{ src: '198.51.100.7', scanType: 'service-version', tool: 'nmap' }] },
        {
          name: 'masscan',
          argv: [['timeout', '6', 'masscan', '198.51.100.12', '-p', '1-40', '--rate', '400', '--wait', '1', '-e', ifName, '--adapter-ip', '198.51.100.8', '--router-mac', macs.get('198.51.100.12') as string]],
          expect: [{ src: '198.51.100.8', scanType: 'tcp-syn', tool: 'masscan' }],
        },
        {
          // zmap sends every frame to one gateway MAC, and a decoy takes only frames for its own MAC: one run per decoy.
          name: 'zmap',
          argv: ['198.51.100.13', '198.51.100.14', '198.51.100.15'].map((ip) => [
            'timeout', '10', 'zmap', '-p', '80', '-i', ifName, '--source-ip', '198.51.100.9', '-G', macs.get(ip) as string,
            '-b', '/dev/null', '-r', '100', '-c', '1', '-q', `${ip}/32`,
          ]),
          expect: [{ src: '198.51.100.9', scanType: 'tcp-syn', tool: 'zmap' }],
        },
        {
          name: 'hping3',
          argv: [['hping3', '-S', '-p', '++1', '-c', '15', '-i', 'u20000', '-a', '198.51.100.20', DECOYS[4] as string]],
          expect: [{ src: '198.51.100.20', scanType: 'tcp-syn', tool: 'hping3' }],
        },
        {
          name: 'nmap -sn -PE',
          argv: [['nmap', '-n', '-sn', '-PE', '--disable-arp-ping', '-e', ifName, '-S', '198.51.100.21', ...DECOYS]],
          expect: [{ src: '198.51.100.21', scanType: 'ping-sweep-icmp', tool: 'nmap' }],
        },
        {
          // On the LAN nmap discovers hosts by ARP (NmapOps implicitARPPing); ARP carries no tool marks.
          name: 'nmap -sn (ARP)',
          argv: [['nmap', '-n', '-sn', '-e', ifName, '-S', '198.51.100.22', ...DECOYS]],
          expect: [{ src: '198.51.100.22', scanType: 'arp-sweep', tool: undefined }],
        },
      ];

      for (const step of steps) {
        const started = Date.now();
        const output: string[] = [];
        for (const argv of step.argv) {
          const r = await lab.exec(lab.scannerNs, argv, { timeoutMs: 60_000 });
          output.push(`$ ${argv.join(' ')} -> ${String(r.code)}\n${r.stdout.slice(-600)}${r.stderr.slice(-600)}`);
          // timeout(1) ends masscan/zmap with 124 when they linger; anything else non-zero is a failure of the tool itself.
          assert.ok(r.code === 0 || r.code === 124, `${step.name}: ${argv.join(' ')} exited ${r.code}: ${r.stderr.slice(0, 400)}`);
        }
        for (const e of step.expect) {
          const line = await d.waitForEvent(scanFrom(d, e), 15_000).catch((err: unknown) => {
            const seen = d.eventsOfKind('scan.detected').filter((l) => l.srcIp === e.src).map((l) => JSON.stringify(l));
            throw new Error(`${step.name}: no ${e.scanType} from ${e.src}; its detections: ${seen.join('\n') || 'none'}\n${output.join('\n')}\n${String(err)}`);
          });
          t.diagnostic(`${step.name} (${((Date.now() - started) / 1000).toFixed(1)} s): ${e.src} ${line.scanType} tool=${String(line.tool)} ports=${String(line.portCount)} targets=${String(line.targetCount)} span=${(Number(line.lastSeen) - Number(line.firstSeen)) / 1000}s | ${(line.evidence as string[]).join('; ')}`);
          assert.equal(line.tool, e.tool, `${step.name}: tool for ${e.src}: ${JSON.stringify(line)}`);
        }
      }

      // Every detection names its source correctly: no scanner address shows up with another's tool.
      const detected = d.eventsOfKind('scan.detected');
      for (const line of detected) {
        assert.ok(typeof line.scanId === 'string' && Array.isArray(line.evidence) && (line.evidence as unknown[]).length > 0, JSON.stringify(line));
      }
      const toolsBySource = new Map<string, Set<string>>();
      for (const line of detected) {
        if (typeof line.tool !== 'string') continue;
        const set = toolsBySource.get(line.srcIp as string) ?? new Set<string>();
        set.add(line.tool);
        toolsBySource.set(line.srcIp as string, set);
      }
      for (const [src, tools] of toolsBySource) assert.equal(tools.size, 1, `${src} attributed to ${[...tools].join(', ')}`);
    } finally {
      await d.stop();
    }
  });
});
