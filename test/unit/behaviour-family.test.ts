/** Family choice from nmap-os-db Class lines, and the documented tables' invariants. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { behaviourOf, familyOf } from '../../daemon/src/personality/behaviour/family';
import { FAMILY_BEHAVIOURS } from '../../daemon/src/personality/behaviour/tables';
import type { FamilyId } from '../../daemon/src/personality/behaviour/types';
import { loadOsDb } from '../../daemon/src/personality/osdb/parse';
import { OsDbPersonality } from '../../daemon/src/personality/model/os-personality';
import type { OsClass } from '../../daemon/src/personality/osdb/types';

const cls = (vendor: string, family: string, generation: string, deviceType: string): OsClass => ({ vendor, family, generation, deviceType });

test('Class lines choose the family', () => {
  const cases: Array<[OsClass[], FamilyId]> = [
    [[cls('Linux', 'Linux', '5.X', 'general purpose')], 'linux'],
    [[cls('Google', 'Android', '10.X', 'phone')], 'linux'],
    [[cls('Microsoft', 'Windows', 'XP', 'general purpose')], 'windows-xp'],
    [[cls('Microsoft', 'Windows', '2003', 'general purpose')], 'windows-xp'],
    [[cls('Microsoft', 'Windows', '7', 'general purpose')], 'windows-vista'],
    [[cls('Microsoft', 'Windows', '2012', 'general purpose')], 'windows-vista'],
    [[cls('Microsoft', 'Windows', '10', 'general purpose')], 'windows-10'],
    [[cls('Microsoft', 'Windows', '2016', 'general purpose')], 'windows-10'],
    [[cls('FreeBSD', 'FreeBSD', '12.X', 'general purpose')], 'freebsd'],
    [[cls('Apple', 'macOS', '10.14.X', 'general purpose')], 'darwin'],
    [[cls('Apple', 'iOS', '12.X', 'phone')], 'darwin'],
    [[cls('OpenBSD', 'OpenBSD', '6.X', 'general purpose')], 'openbsd'],
    [[cls('NetBSD', 'NetBSD', '9.X', 'general purpose')], 'netbsd'],
    [[cls('Sun', 'Solaris', '10', 'general purpose')], 'solaris'],
    [[cls('Cisco', 'IOS', '15.X', 'router')], 'cisco-ios'],
    [[cls('HP', 'embedded', '', 'printer')], 'embedded'],
    [[cls('lwIP', 'lwIP', '', 'general purpose')], 'embedded'],
    // A Linux kernel anywhere wins over the device vendor's embedded class.
    [[cls('Netgear', 'embedded', '', 'WAP'), cls('Linux', 'Linux', '2.6.X', 'WAP')], 'linux'],
    // Nothing known: the documented default.
    [[cls('IBM', 'z/OS', '', 'general purpose')], 'linux'],
  ];
  for (const [classes, want] of cases) assert.equal(familyOf(classes), want, JSON.stringify(classes));
  assert.equal(familyOf([cls('Foo', 'Bar', '', 'general purpose')], ['cpe:/o:linux:linux_kernel:4']), 'linux');
});

test('the demo personalities get the families the README lists', { skip: existsSync('/usr/share/nmap/nmap-os-db') ? false : 'no nmap-os-db' }, () => {
  const want: Record<string, FamilyId> = {
    'Linux 4.15 - 5.6': 'linux',
    'Microsoft Windows 10 1507 - 1607': 'windows-10',
    'FreeBSD 12.1-RELEASE': 'freebsd',
    'Cisco 1921 router (IOS 15.1)': 'cisco-ios',
    'HP LaserJet 1300n, 1320nw, or 3550 printer': 'embedded',
    'Apple macOS 10.14 (Mojave) (Darwin 18.2.0 - 18.6.0)': 'darwin',
  };
  const db = loadOsDb(['/usr/share/nmap/nmap-os-db'], new Set(Object.keys(want)));
  for (const [name, family] of Object.entries(want)) {
    const fp = db.fingerprints.find((f) => f.name === name);
    assert.ok(fp, name);
    assert.equal(behaviourOf(fp.classes, fp.cpes).family, family, name);
    // The TCP layer's timing seam reads the family's table.
    const p = new OsDbPersonality(fp, { seed: 1 });
    assert.equal(p.behaviour.family, family, name);
    assert.deepEqual(p.tcpTiming, FAMILY_BEHAVIOURS[family].tcp.timing, name);
  }
});

test('tables: SYN/ACK schedules increase, Linux has five retries from 1 s, Windows two, FreeBSD three', () => {
  for (const [id, b] of Object.entries(FAMILY_BEHAVIOURS)) {
    assert.equal(b.family, id);
    const s = b.tcp.timing.synAckRetransmitMs;
    assert.ok(s.length > 0, id);
    for (let i = 1; i < s.length; i++) assert.ok((s[i] as number) > (s[i - 1] as number), `${id} schedule increases`);
    assert.ok(b.tcp.timing.minRtoMs <= b.tcp.timing.initialRtoMs && b.tcp.timing.initialRtoMs <= b.tcp.timing.maxRtoMs, id);
    assert.ok(b.ipv4.reassemblyTimeoutMs > 0, id);
    if (b.icmp.errorLimit !== null) assert.ok(b.icmp.errorLimit.burst >= 1 && b.icmp.errorLimit.intervalMs > 0, id);
  }
  assert.deepEqual(FAMILY_BEHAVIOURS.linux.tcp.timing.synAckRetransmitMs, [1000, 3000, 7000, 15000, 31000]);
  assert.equal(FAMILY_BEHAVIOURS['windows-xp'].tcp.timing.synAckRetransmitMs.length, 2);
  assert.equal(FAMILY_BEHAVIOURS['windows-10'].tcp.timing.synAckRetransmitMs.length, 2);
  assert.equal(FAMILY_BEHAVIOURS.freebsd.tcp.timing.synAckRetransmitMs.length, 3);
  // Families that must differ from Linux on the wire, ARP included (the lab test relies on it).
  for (const id of ['windows-xp', 'freebsd', 'cisco-ios'] as FamilyId[]) assert.notDeepEqual(FAMILY_BEHAVIOURS[id].arp, FAMILY_BEHAVIOURS.linux.arp, id);
});
