/**
 * Captures what real scanners send to a decoy, for the detector's fixture tests:
 * `npm run fixtures:scans` (root) writes test/fixtures/scans/<name>.pcap, one file per tool run,
 * holding only the scanner's frames as the daemon's interface saw them.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createLab } from '../../daemon/src/lab/netns';
import { startDaemon } from '../helpers/daemon';

const OUT = resolve(__dirname, '../../../test/fixtures/scans');
const DECOY = '198.51.100.10';
const CONFIG = `
templates:
  linux:
    personality: "Linux 4.15 - 5.6"
    defaults: { tcp: reset, udp: reset, icmp: open }
    ports:
      - { proto: tcp, port: 22, action: open, service: { banner: "SSH-2.0-OpenSSH_8.9p1\\r\\n" } }
      - { proto: tcp, port: 80, action: open }
hosts:
  - { address: ${DECOY}, template: linux }
log: { level: warn }
detect: { enabled: false }
`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const lab = await createLab({ name: 'capscan' });
  try {
    const d = await startDaemon(lab, CONFIG);
    const src = '198.51.100.3';
    await lab.exec(lab.scannerNs, ['ip', 'addr', 'add', `${src}/24`, 'dev', lab.scannerIf]);
    await lab.exec(lab.scannerNs, ['ping', '-c', '1', '-W', '2', DECOY]);
    const mac = /lladdr (\S+)/.exec((await lab.exec(lab.scannerNs, ['ip', 'neigh', 'show', DECOY])).stdout)?.[1];
    if (mac === undefined) throw new Error('decoy MAC not learnt');
    const ifName = lab.scannerIf;
    const runs: Array<[string, string[]]> = [
      ['nmap-syn', ['nmap', '-n', '-Pn', '-e', ifName, '-S', src, '-sS', '-p', '1-30', '--max-retries', '0', DECOY]],
      ['nmap-fin', ['nmap', '-n', '-Pn', '-e', ifName, '-S', src, '-sF', '-p', '1-20', '--max-retries', '0', DECOY]],
      ['nmap-udp', ['nmap', '-n', '-Pn', '-e', ifName, '-S', src, '-sU', '-p', '1-15', '--max-retries', '0', DECOY]],
      ['nmap-os', ['nmap', '-n', '-Pn', '-e', ifName, '-S', src, '-O', '-p', '22,80,1', '--max-os-tries', '1', DECOY]],
      ['masscan', ['timeout', '5', 'masscan', DECOY, '-p', '1-30', '--rate', '300', '--wait', '1', '-e', ifName, '--adapter-ip', src, '--router-mac', mac]],
      ['zmap', ['timeout', '5', 'zmap', '-p', '80', '-i', ifName, '--source-ip', src, '-G', mac, '-b', '/dev/null', '-r', '50', '-c', '1', '-P', '5', '-q', `${DECOY}/32`]],
      ['hping3', ['hping3', '-S', '-p', '++1', '-c', '20', '-i', 'u10000', '-a', src, DECOY]],
    ];
    for (const [name, argv] of runs) {
      const file = join(OUT, `${name}.pcap`);
      const dump = lab.spawn(lab.honeyNs, ['tcpdump', '-i', lab.honeyIf, '-U', '--immediate-mode', '-s', '0', '-w', file, `src host ${src} and not arp`]);
      await sleep(800);
      const r = await lab.exec(lab.scannerNs, argv, { timeoutMs: 60_000 });
      await sleep(500);
      dump.kill('SIGINT');
      await new Promise((done) => dump.once('exit', done));
      process.stdout.write(`${name}: exit ${r.code} -> ${file}\n`);
    }
    await d.stop();
  } finally {
    await lab.destroy();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
