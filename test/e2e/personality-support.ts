/**
 * Shared by the personality e2e tests and the fidelity bench: the installed nmap-os-db, the decoy
 * line-up of many OS families, YAML for it, and reading back the fingerprint nmap printed so a miss
 * can be explained attribute by attribute against the configured entry.
 */
import { existsSync } from 'node:fs';
import { loadOsDb } from '../../daemon/src/personality/osdb/parse';
import { explainMismatches } from '../../daemon/src/personality/osdb/matcher';
import { parseObservedFingerprint } from '../../daemon/src/personality/nmap-sim/format';
import { TEST_NAMES, type ObservedFingerprint, type OsDb, type OsFingerprint } from '../../daemon/src/personality/osdb/types';

export const OS_DB_FILE = '/usr/share/nmap/nmap-os-db';
export const haveOsDb = existsSync(OS_DB_FILE);

let cachedDb: OsDb | undefined;
/** The installed nmap-os-db, parsed once per process. */
export function installedOsDb(): OsDb {
  cachedDb ??= loadOsDb([OS_DB_FILE]);
  return cachedDb;
}

/** All entries called `name`, in DB order. */
export function entriesNamed(db: OsDb, name: string): OsFingerprint[] {
  return db.fingerprints.filter((fp) => fp.name === name);
}

/** True when the entry carries every one of the 13 test lines. */
export function hasAllTests(fp: OsFingerprint): boolean {
  return TEST_NAMES.every((t) => fp.tests.has(t));
}

/** One decoy of the line-up: an OS family label (for p0f comparisons), the exact DB name and its open TCP ports. */
export interface FamilyDecoy {
  family: 'windows' | 'linux' | 'freebsd' | 'openbsd' | 'netbsd' | 'macos' | 'ios' | 'android' | 'cisco' | 'printer' | 'embedded' | 'solaris';
  name: string;
  open: readonly number[];
}

/**
 * Names chosen from nmap-os-db 7.93 ($Id 38353): each is the only entry with that name and has all
 * 13 test lines, so the host's seed cannot pick a different entry.
 */
export const FAMILY_LINEUP: readonly FamilyDecoy[] = [
  { family: 'windows', name: 'Microsoft Windows 10 1709 - 1909', open: [135, 445] },
  { family: 'windows', name: 'Microsoft Windows 7 SP1 or Windows Server 2008 R2', open: [135, 445] },
  { family: 'windows', name: 'Microsoft Windows Server 2016 build 10586 - 14393', open: [135, 445] },
  { family: 'windows', name: 'Microsoft Windows Server 2012 Data Center', open: [80, 445] },
  { family: 'windows', name: 'Microsoft Windows XP Professional SP2 - SP3', open: [135, 445] },
  { family: 'linux', name: 'Linux 2.6.13 - 2.6.32', open: [22, 80] },
  { family: 'linux', name: 'Linux 3.10 - 4.11', open: [22, 80] },
  { family: 'linux', name: 'Linux 4.6', open: [22, 443] },
  { family: 'linux', name: 'Linux 5.0 - 5.4', open: [22, 80] },
  { family: 'freebsd', name: 'FreeBSD 11.2-RELEASE', open: [22, 80] },
  { family: 'openbsd', name: 'OpenBSD 6.0 - 6.4', open: [22, 80] },
  { family: 'netbsd', name: 'NetBSD 6.1', open: [22, 80] },
  { family: 'macos', name: 'Apple macOS 10.13 (High Sierra) (Darwin 17.0.0)', open: [22, 445] },
  { family: 'ios', name: 'Apple iOS 10', open: [62078, 80] },
  { family: 'android', name: 'Android 6.0 - 7.1.2 (Linux 3.18 - 4.4.1)', open: [5555, 80] },
  { family: 'cisco', name: 'Cisco 1600 router (IOS 12.0)', open: [22, 23] },
  { family: 'printer', name: 'Canon imageRUNNER 2525 printer (VxWorks)', open: [80, 9100] },
  { family: 'embedded', name: 'Hirschmann RS20 switch (VxWorks)', open: [23, 80] },
  { family: 'solaris', name: 'Sun Solaris 11.3', open: [22, 111] },
  { family: 'solaris', name: 'Oracle Solaris 11 or OpenIndiana', open: [22, 111] },
];

/** A closed TCP port below every open port of the line-up, and one more: nmap's closed-port probes go there. */
export const CLOSED_PORTS: readonly number[] = [21, 25];

export interface DecoyPlacement {
  address: string;
  template: string;
  name: string;
  open: readonly number[];
}

/**
 * YAML for decoys, one template per decoy (TCP closed = reset, UDP closed = ICMP unreachable,
 * ICMP echo answered). Names are emitted as JSON strings, which YAML reads as double-quoted scalars.
 */
export function decoysYaml(decoys: readonly DecoyPlacement[], extra = 'log: { level: warn }'): string {
  const lines = ['templates:'];
  for (const d of decoys) {
    lines.push(`  ${d.template}:`);
    lines.push(`    personality: ${JSON.stringify(d.name)}`);
    lines.push('    defaults: { tcp: reset, udp: reset, icmp: open }');
    lines.push('    ports:');
    for (const p of d.open) lines.push(`      - { proto: tcp, port: ${p}, action: open }`);
  }
  lines.push('hosts:');
  for (const d of decoys) lines.push(`  - { address: ${d.address}, template: ${d.template} }`);
  lines.push(extra);
  return `${lines.join('\n')}\n`;
}

/** The line-up placed on 198.51.100.10, .11, … with templates t0, t1, … */
export function lineupPlacements(lineup: readonly FamilyDecoy[] = FAMILY_LINEUP, firstHost = 10): DecoyPlacement[] {
  return lineup.map((d, i) => ({ address: `198.51.100.${firstHost + i}`, template: `t${i}`, name: d.name, open: d.open }));
}

/**
 * Nmap's wrapped submission fingerprint (`OS:SCAN(...)OS:SEQ(...` in lines) as a subject
 * fingerprint: the `OS:` prefixes are dropped, the text rejoined and cut at each test's `)`.
 */
export function parseNmapSubmission(text: string): ObservedFingerprint {
  const flat = text
    .split('\n')
    .map((l) => l.trim().replace(/^OS:/, ''))
    .join('');
  const tests = flat.match(/[A-Z0-9]+\([^)]*\)/g) ?? [];
  return parseObservedFingerprint(tests.join('\n'));
}

/** `T.attr=value (want expr)` for every attribute of `fp` the subject misses. */
export function describeMisses(db: OsDb, fp: OsFingerprint, observed: ObservedFingerprint): string[] {
  return explainMismatches(db, fp, observed).map((m) => `${m.test}.${m.attr}=${m.observed} (want ${m.expected}, ${m.points} pts)`);
}
