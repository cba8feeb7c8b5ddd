/**
 * A passive fingerprinter's view of the decoys: p0f 3 (Debian's, /etc/p0f/p0f.fp) watches the
 * scanner's link while the scanner's own kernel connects to open ports (SYN → SYN+ACK) and closed
 * ports (→ RST), and hping3 sends option-less SYNs. Wherever p0f names an OS for a decoy's SYN+ACK
 * to a real client's SYN, it must be the decoy's family; decoys of OS versions p0f's database covers
 * must be named; every SYN+ACK must carry the personality's initial TTL and DF.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { createLab, type Lab } from '../../daemon/src/lab/netns';
import { parseP0fLog, type P0fRecord } from '../../daemon/src/audit/p0f-watch';
import { OsDbPersonality } from '../../daemon/src/personality/model/os-personality';
import { hostSeed } from '../../daemon/src/personality/model/prng';
import { startDaemon, type DaemonHandle } from '../helpers/daemon';
import { isRoot } from '../helpers/lab';
import { waitUntil } from '../helpers/wait';
import {
  FAMILY_LINEUP,
  decoysYaml,
  entriesNamed,
  haveOsDb,
  installedOsDb,
  lineupPlacements,
  type DecoyPlacement,
  type FamilyDecoy,
} from './personality-support';

/**
 * Entries of OS versions p0f 3.09b's SYN+ACK signatures describe (its database dates from 2012–14:
 * Linux 2.6/3.x with windows of 4 or 10 × MSS, Windows XP/7, FreeBSD 8–9, OpenBSD 5, Mac OS X 10.x
 * with window scale 0). Each is the only entry of its name. p0f must name the family of each.
 */
const P0F_ERA: readonly FamilyDecoy[] = [
  { family: 'windows', name: 'Microsoft Windows XP SP 2', open: [135, 445] },
  { family: 'linux', name: 'Linux 3.4 - 3.10', open: [22, 80] },
  { family: 'linux', name: 'Linux 2.6.32 or 3.10', open: [22, 80] },
  { family: 'freebsd', name: 'FreeBSD 7.1-RELEASE - 9.0-CURRENT', open: [22, 80] },
  { family: 'freebsd', name: 'FreeBSD 9.1-RELEASE or 10.1-RELEASE', open: [22, 80] },
  { family: 'openbsd', name: 'OpenBSD 5.0 - 6.0', open: [22, 80] },
  { family: 'macos', name: 'Apple Mac OS X 10.4 (Tiger) (Darwin 8.0.0)', open: [22, 548] },
];
/** Names from the main line-up whose SYN+ACK p0f's database also covers. */
const MAIN_NAMED_BY_P0F: readonly string[] = [
  'Microsoft Windows 7 SP1 or Windows Server 2008 R2',
  'Microsoft Windows Server 2016 build 10586 - 14393',
  'Microsoft Windows Server 2012 Data Center',
  'Linux 2.6.13 - 2.6.32',
];
/** Families p0f.fp has SYN+ACK signatures for, and the p0f family a decoy family must be called. */
const P0F_FAMILY_OF: Partial<Record<FamilyDecoy['family'], string>> = {
  windows: 'windows',
  linux: 'linux',
  android: 'linux',
  freebsd: 'freebsd',
  openbsd: 'openbsd',
  macos: 'macos',
  ios: 'macos',
  solaris: 'solaris',
};
const CLOSED_PORT = 21;

const skip = !isRoot() ? 'needs root (network namespaces)' : !haveOsDb ? 'nmap-os-db is not installed' : false;

/** p0f's label (`Linux 3.x`, `Windows 7 or 8`, `Mac OS X 10.x`…) as a family, or undefined for `???`. */
function p0fFamily(label: string): string | undefined {
  if (label === '???' || label === '') return undefined;
  const table: Array<[RegExp, string]> = [
    [/^Linux/, 'linux'],
    [/^Windows/, 'windows'],
    [/^FreeBSD/, 'freebsd'],
    [/^OpenBSD/, 'openbsd'],
    [/^Mac OS X/, 'macos'],
    [/^Solaris/, 'solaris'],
  ];
  for (const [re, family] of table) if (re.test(label)) return family;
  return `other:${label}`;
}

/** TTL and DF from a p0f raw signature `ver:ttl+dist:olen:mss:wsize,scale:olayout:quirks:pclass`. */
function sigTtlDf(rawSig: string): { ttl: number; df: boolean } {
  const parts = rawSig.split(':');
  const ttl = (parts[1] ?? '').split('+').reduce((sum, n) => sum + (Number(n) || 0), 0);
  return { ttl, df: (parts[6] ?? '').split(',').includes('df') };
}

describe('personality: p0f classifies the decoys SYN+ACKs as their OS family', { skip }, () => {
  let lab: Lab | undefined;
  let daemon: DaemonHandle | undefined;
  let records: P0fRecord[] = [];
  /** Decoys whose closed port refused the kernel's connect (an RST came back). */
  const refusedBy = new Set<string>();
  const lineup: FamilyDecoy[] = [...FAMILY_LINEUP, ...P0F_ERA];
  const placements: DecoyPlacement[] = lineupPlacements(lineup);
  const familyOf = new Map(placements.map((p, i) => [p.address, (lineup[i] as FamilyDecoy).family]));

  before(async () => {
    lab = await createLab({ name: 'dt-pers-p0f' });
    daemon = await startDaemon(lab, decoysYaml(placements));
    const logFile = join(mkdtempSync(join(tmpdir(), 'decoyd-p0f-')), 'p0f.log');
    const p0f: ChildProcess = lab.spawn(lab.scannerNs, ['p0f', '-i', lab.scannerIf, '-o', logFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let banner = '';
    p0f.stdout?.on('data', (chunk: Buffer) => {
      banner += chunk.toString();
    });
    const p0fExited = new Promise<void>((resolve) => p0f.once('exit', () => resolve()));
    // p0f prints "Entered main event loop" once it captures; wait for it (bounded; it reads its database first).
    await waitUntil('p0f to start', () => banner.includes('Entered main event loop'), 30_000).catch(() => undefined);
    assert.match(banner, /Entered main event loop/, `p0f did not start: ${banner}`);
    try {
      for (const p of placements) {
        const connect = (port: number) =>
          lab?.exec(lab.scannerNs, ['timeout', '3', 'bash', '-c', `exec 3<>/dev/tcp/${p.address}/${port}; exec 3>&-`], { timeoutMs: 5000 });
        await connect(p.open[0] as number);
        const refused = await connect(CLOSED_PORT);
        if (/Connection refused/.test(refused?.stderr ?? '')) refusedBy.add(p.address);
        await lab.exec(lab.scannerNs, ['hping3', '-n', '-q', '-c', '1', '-S', '-p', String(p.open[1]), p.address], { timeoutMs: 5000 });
      }
      // p0f logs from its capture when it gets the CPU, and drops what it has not read when stopped: wait for
      // the SYN+ACK of every decoy's open ports in its log (a missing one is reported by the tests below).
      const logged = (): P0fRecord[] => (existsSync(logFile) ? parseP0fLog(readFileSync(logFile, 'utf8')) : []);
      const wanted = placements.flatMap((p) => p.open.map((port) => `${p.address}/${port}`));
      await waitUntil('p0f to log a SYN+ACK from every open port', () => {
        const seen = new Set(logged().filter((r) => r.mod === 'syn+ack').map((r) => r.server));
        return wanted.every((w) => seen.has(w));
      }, 15_000, 200).catch(() => undefined);
    } finally {
      if (p0f.exitCode === null && p0f.pid !== undefined) process.kill(p0f.pid, 'SIGINT');
      const stopped = await Promise.race([p0fExited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
      if (!stopped && p0f.pid !== undefined) process.kill(p0f.pid, 'SIGKILL');
    }
    try {
      records = parseP0fLog(readFileSync(logFile, 'utf8'));
    } finally {
      rmSync(dirname(logFile), { recursive: true, force: true });
    }
  });

  after(async () => {
    await daemon?.stop();
    await lab?.destroy();
  });

  /** The SYN+ACK record for a decoy's port (the first one, if several). */
  const synAckOf = (p: DecoyPlacement, port: number): P0fRecord | undefined =>
    records.find((r) => r.mod === 'syn+ack' && r.server === `${p.address}/${port}`);

  test('p0f saw a SYN+ACK from every decoy, with the personality TTL and DF', () => {
    const db = installedOsDb();
    const problems: string[] = [];
    for (const p of placements) {
      const fp = entriesNamed(db, p.name)[0];
      assert.ok(fp, p.name);
      const model = new OsDbPersonality(fp, { seed: hostSeed(p.address, p.template) });
      for (const port of p.open) {
        const r = synAckOf(p, port);
        if (r === undefined) {
          problems.push(`${p.address}/${port} (${p.name}): no SYN+ACK seen by p0f`);
          continue;
        }
        const { ttl, df } = sigTtlDf(r.rawSig);
        if (ttl !== model.lines.T1.ttl || df !== model.lines.T1.df) {
          problems.push(`${p.address}/${port} (${p.name}): ttl ${ttl} df ${df}, personality ttl ${model.lines.T1.ttl} df ${model.lines.T1.df}`);
        }
      }
    }
    assert.deepEqual(problems, [], problems.join('\n'));
  });

  test('wherever p0f names an OS for the answer to a real client SYN, it is the decoy family', () => {
    const table: string[] = [];
    const wrong: string[] = [];
    for (const p of placements) {
      const family = familyOf.get(p.address) as FamilyDecoy['family'];
      const r = synAckOf(p, p.open[0] as number);
      const bare = synAckOf(p, p.open[1] as number);
      table.push(`${family.padEnd(8)} ${(r?.os ?? '-').padEnd(16)} ${(bare?.os ?? '-').padEnd(16)} ${p.name}`);
      const named = p0fFamily(r?.os ?? '???');
      const want = P0F_FAMILY_OF[family];
      if (named !== undefined && want !== undefined && named !== want) wrong.push(`${p.name}: p0f says ${r?.os} (${r?.rawSig})`);
    }
    console.log(`family   p0f(client SYN)  p0f(bare SYN)    decoy\n${table.join('\n')}`);
    assert.deepEqual(wrong, [], wrong.join('\n'));
  });

  test('decoys of OS versions p0f knows are named, by family', () => {
    const mustName = new Set([...P0F_ERA.map((d) => d.name), ...MAIN_NAMED_BY_P0F]);
    const problems: string[] = [];
    for (const p of placements) {
      if (!mustName.has(p.name)) continue;
      const r = synAckOf(p, p.open[0] as number);
      const want = P0F_FAMILY_OF[familyOf.get(p.address) as FamilyDecoy['family']];
      const named = p0fFamily(r?.os ?? '???');
      if (named !== want) problems.push(`${p.name}: p0f says ${r?.os ?? 'nothing'} (${r?.rawSig ?? 'no SYN+ACK'}), want ${want}`);
    }
    assert.deepEqual(problems, [], problems.join('\n'));
  });

  test('option-less SYNs: p0f calls the Windows decoys Windows', () => {
    const problems: string[] = [];
    for (const p of placements) {
      if (familyOf.get(p.address) !== 'windows') continue;
      const r = synAckOf(p, p.open[1] as number);
      if (p0fFamily(r?.os ?? '???') !== 'windows') problems.push(`${p.name}: p0f says ${r?.os ?? 'nothing'} (${r?.rawSig ?? 'no SYN+ACK'})`);
    }
    assert.deepEqual(problems, [], problems.join('\n'));
  });

  test('closed ports refuse with an RST (except stealthy iOS); p0f, which has no RST signatures, names nothing for them', () => {
    const db = installedOsDb();
    const silent = placements.filter((p) => entriesNamed(db, p.name)[0]?.tests.get('T5')?.get('R') === 'N').map((p) => p.address);
    const expected = placements.map((p) => p.address).filter((a) => !silent.includes(a));
    assert.deepEqual([...refusedBy].sort(), expected.sort());
    assert.ok(silent.every((a) => familyOf.get(a) === 'ios'), `silent closed ports: ${silent.join(', ')}`);
    const verdicts = records.filter((r) => r.server.endsWith(`/${CLOSED_PORT}`) && r.mod !== 'syn' && r.os !== '' && r.os !== '???');
    assert.deepEqual(verdicts, []);
  });
});
