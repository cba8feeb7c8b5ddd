/**
 * The "fast scan right after start" that several e2e tests repeat: nmap -sS at 20,000 packets/s
 * with no retries over 250 decoys × 5 ports, with the scanner's wire captured so a test can tell
 * a missing answer from a late one.
 *
 * Why --min-rtt-timeout: with --max-retries 0, nmap marks a port filtered when its answer comes
 * after nmap's RTT timeout, which sub-millisecond answers shrink to 100 ms. On a loaded 2-core
 * machine the daemon (sharing the cores with nmap, tcpdump and other work) was seen answering all
 * 1250 probes but some up to 180 ms late, and nmap then missed 4-15 ports. The guarantee is that
 * every probe gets its answer (the capture counts them), and nmap is given a timeout that a
 * scheduling delay cannot beat.
 */
import type { Lab } from '../../daemon/src/lab/netns';
import { startCapture } from './capture';
import { runNmap } from './nmap';
import type { PcapRecord } from './pcap-file';

export const FAST_SCAN_TARGETS = '198.51.100.3-252';
export const FAST_SCAN_PROBES = 250 * 5;

export interface FastScanResult {
  /** Probes whose SYN/ACK or RST reached the scanner's interface. */
  answered: number;
  /** Longest time from a probe to its answer on the scanner's wire, ms. */
  worstMs: number;
  /** Ports nmap reported open and closed. */
  open: number;
  closed: number;
}

export async function fastScan(lab: Lab): Promise<FastScanResult> {
  const wire = await startCapture(lab, lab.scannerNs, lab.scannerIf, { filter: ['tcp', 'and', 'net', '198.51.100.0/24'] });
  const scan = await runNmap(lab, ['-sS', '-n', '-Pn', '--min-rate', '20000', '--max-retries', '0', '--min-rtt-timeout', '1000ms', '-p', '21,22,23,80,443', FAST_SCAN_TARGETS], { flushNeighbours: true });
  const { answered, worstMs } = countAnswers((await wire.stop()).records);
  let open = 0;
  let closed = 0;
  for (const h of scan.hosts) {
    for (const p of h.ports) {
      if (p.state === 'open') open++;
      if (p.state === 'closed') closed++;
    }
    closed += h.extraPorts.closed ?? 0;
  }
  return { answered, worstMs, open, closed };
}

/** Pairs each captured SYN with the first SYN/ACK or RST coming back from its destination port. */
function countAnswers(records: readonly PcapRecord[]): { answered: number; worstMs: number } {
  const sentAt = new Map<string, number>();
  let answered = 0;
  let worstMs = 0;
  for (const r of records) {
    const f = r.data;
    if (f.length < 54 || f.readUInt16BE(12) !== 0x0800 || f[23] !== 6) continue;
    const ihl = ((f[14] as number) & 0x0f) * 4;
    const src = f.readUInt32BE(26);
    const dst = f.readUInt32BE(30);
    const sport = f.readUInt16BE(14 + ihl);
    const dport = f.readUInt16BE(16 + ihl);
    const flags = f[14 + ihl + 13] as number;
    const at = r.tsSec * 1000 + r.tsFrac / 1000;
    if (flags === 0x02) sentAt.set(`${dst}:${dport}`, at);
    else if ((flags & 0x04) !== 0 || (flags & 0x12) === 0x12) {
      const t0 = sentAt.get(`${src}:${sport}`);
      if (t0 !== undefined) {
        answered++;
        worstMs = Math.max(worstMs, at - t0);
        sentAt.delete(`${src}:${sport}`);
      }
    }
  }
  return { answered, worstMs };
}
