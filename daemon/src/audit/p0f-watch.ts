/**
 * p0f 3 (Debian's, /etc/p0f/p0f.fp) watching the live audit's scanner link while the scanner's own
 * kernel connects to one open port of each host: what a passive fingerprinter on the path would
 * name each decoy's SYN+ACK. p0f reads its SYN+ACK signatures against a real client's SYN, so the
 * connects come from the kernel, not from nmap's crafted probes.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from '../lab/netns';

export interface P0fRecord {
  mod: string;
  client: string;
  server: string;
  /** p0f's label (`Linux 3.11 and newer`, `Windows 7 or 8`, `???`). */
  os: string;
  /** p0f's raw signature (`ver:ttl+dist:olen:mss:wsize,scale:olayout:quirks:pclass`). */
  rawSig: string;
}

/** p0f -o lines: `[date] mod=…|cli=IP/port|srv=IP/port|subj=…|os=…|…`. */
export function parseP0fLog(text: string): P0fRecord[] {
  const out: P0fRecord[] = [];
  for (const line of text.split('\n')) {
    const fields = new Map<string, string>();
    for (const part of line.replace(/^\[[^\]]*\]\s*/, '').split('|')) {
      const eq = part.indexOf('=');
      if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1));
    }
    const mod = fields.get('mod');
    if (mod !== undefined) out.push({ mod, client: fields.get('cli') ?? '', server: fields.get('srv') ?? '', os: fields.get('os') ?? '', rawSig: fields.get('raw_sig') ?? '' });
  }
  return out;
}

/** A p0f label as the audit's OS group (static-audit.ts osGroupOf), or undefined when p0f named nothing. */
export function p0fGroup(label: string): string | undefined {
  if (label === '' || label === '???') return undefined;
  const table: Array<[RegExp, string]> = [
    [/^Linux/, 'linux'], [/^Windows/, 'windows'], [/^(FreeBSD|OpenBSD|NetBSD)/, 'bsd'],
    [/^Mac OS X|^iOS/, 'darwin'], [/^Solaris/, 'solaris'],
  ];
  for (const [re, group] of table) if (re.test(label)) return group;
  return `other (${label})`;
}

const START_TIMEOUT_MS = 30_000;
const LOG_WAIT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;

/**
 * p0f's label for each target's SYN+ACK to a kernel connect (`address` → label, `???` when p0f had
 * no signature), or null when p0f is not installed or did not start.
 */
export async function p0fSynAckLabels(lab: Lab, targets: ReadonlyArray<{ address: string; port: number }>): Promise<Map<string, string> | null> {
  if (targets.length === 0) return new Map();
  const dir = mkdtempSync(join(tmpdir(), 'decoyd-audit-p0f-'));
  const logFile = join(dir, 'p0f.log');
  let p0f: ChildProcess;
  try {
    p0f = lab.spawn(lab.scannerNs, ['p0f', '-i', lab.scannerIf, '-o', logFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  const exited = new Promise<void>((resolve) => { p0f.once('exit', () => resolve()); p0f.once('error', () => resolve()); });
  let banner = '';
  p0f.stdout?.on('data', (c: Buffer) => { if (banner.length < 65_536) banner += c.toString(); });
  const until = async (done: () => boolean, ms: number): Promise<boolean> => {
    const end = Date.now() + ms;
    while (!done()) {
      if (Date.now() > end || p0f.exitCode !== null) return done();
      await new Promise((r) => setTimeout(r, 100));
    }
    return true;
  };
  try {
    // p0f reads its database, then says so once it captures.
    if (!(await until(() => banner.includes('Entered main event loop'), START_TIMEOUT_MS))) return null;
    await Promise.all(targets.map((t) => lab.exec(lab.scannerNs, ['timeout', '3', 'bash', '-c', `exec 3<>/dev/tcp/${t.address}/${t.port}; exec 3>&-`], { timeoutMs: 5000 })));
    const records = (): P0fRecord[] => (existsSync(logFile) ? parseP0fLog(readFileSync(logFile, 'utf8')) : []);
    const wanted = targets.map((t) => `${t.address}/${t.port}`);
    // p0f logs when it gets the CPU and drops what it has not read when stopped: wait for each.
    await until(() => { const seen = new Set(records().filter((r) => r.mod === 'syn+ack').map((r) => r.server)); return wanted.every((w) => seen.has(w)); }, LOG_WAIT_MS);
    const labels = new Map<string, string>();
    for (const r of records()) {
      if (r.mod !== 'syn+ack') continue;
      const address = r.server.split('/')[0] ?? '';
      if (!labels.has(address) || labels.get(address) === '???') labels.set(address, r.os);
    }
    return labels;
  } finally {
    if (p0f.exitCode === null && p0f.pid !== undefined) {
      try { process.kill(p0f.pid, 'SIGINT'); } catch { /* already gone */ }
    }
    const stopped = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), STOP_TIMEOUT_MS))]);
    if (!stopped && p0f.pid !== undefined) {
      try { process.kill(p0f.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
