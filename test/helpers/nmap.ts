/**
 * Runs nmap in a lab's scanner namespace with XML output on stdout and turns the XML into plain
 * objects: hosts → ports (state, reason), OS matches (accuracy, classes), MAC and vendor.
 */
import type { Lab } from '../../daemon/src/lab/netns';
import { parseNmapXml, type NmapRun } from '../../daemon/src/lab/nmap-xml';

export * from '../../daemon/src/lab/nmap-xml';

export interface NmapResult extends NmapRun {
  exitCode: number | null;
  stderr: string;
  xml: string;
}

export interface RunNmapOptions {
  timeoutMs?: number;
  /** Flush the scanner's neighbour cache first (needed when decoy MACs changed between runs). */
  flushNeighbours?: boolean;
}

/**
 * Runs `nmap <args> -oX -` in the scanner namespace. `args` holds options and targets.
 * Rejects when nmap fails or times out (default 120 s) or prints no XML.
 */
export async function runNmap(lab: Lab, args: readonly string[], opts: RunNmapOptions = {}): Promise<NmapResult> {
  if (opts.flushNeighbours === true) await lab.exec(lab.scannerNs, ['ip', 'neigh', 'flush', 'dev', lab.scannerIf], { timeoutMs: 5000 });
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const result = await lab.exec(lab.scannerNs, ['nmap', ...args, '-oX', '-'], { timeoutMs });
  if (result.timedOut) throw new Error(`nmap ${args.join(' ')} timed out after ${timeoutMs} ms`);
  if (result.code !== 0 || !result.stdout.includes('<nmaprun')) {
    throw new Error(`nmap ${args.join(' ')} failed (exit ${result.code}): ${result.stderr.trim()}`);
  }
  return { ...parseNmapXml(result.stdout), exitCode: result.code, stderr: result.stderr, xml: result.stdout };
}

