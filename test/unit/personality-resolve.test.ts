import { test } from 'node:test';
import assert from 'node:assert/strict';
import { indexOsDbText } from '../../daemon/src/config/osdb-names';
import { randomPersonality, resolvePersonality } from '../../daemon/src/config/personality-resolve';
import { loadedOf } from './config-test-support';

/** A few entries in nmap-os-db's layout: only Fingerprint and Class lines matter here. */
const DB = indexOsDbText(
  [
    ['Linux 2.4.7', 'Linux | Linux | 2.4.X | general purpose'],
    ['Linux 2.4.18 - 2.4.35 (likely embedded)', 'Linux | Linux | 2.4.X | general purpose'],
    ['Linux 2.6.18', 'Linux | Linux | 2.6.X | general purpose'],
    ['Linux 4.15 - 5.6', 'Linux | Linux | 4.X | general purpose', 'Linux | Linux | 5.X | general purpose'],
    ['Microsoft Windows 10', 'Microsoft | Windows | 10 | general purpose'],
    ['Microsoft Windows 10 1507 - 1607', 'Microsoft | Windows | 10 | general purpose'],
    ['Microsoft Windows XP SP2 or SP3', 'Microsoft | Windows | XP | general purpose'],
    ['Microsoft Windows 2000 SP4 or Windows XP', 'Microsoft | Windows | 2000 | general purpose', 'Microsoft | Windows | XP | general purpose'],
    ['Microsoft Windows NT 4.0 SP3', 'Microsoft | Windows | NT | general purpose'],
    ['Cisco 2620 router (IOS 12.1 - 12.3)', 'Cisco | IOS | 12.X | router'],
    ['Cisco Catalyst switch (IOS 15.0)', 'Cisco | IOS | 15.X | switch'],
    ['Cisco 1841 router (IOS 15.1)', 'Cisco | IOS | 15.X | router'],
    ['Apple iOS 12.1', 'Apple | iOS | 12.X | phone'],
    ['OpenBSD 4.0', 'OpenBSD | OpenBSD | 4.X | general purpose'],
    ['OpenBSD 6.0 - 6.4', 'OpenBSD | OpenBSD | 6.X | general purpose'],
    ['Siemens Simatic 300 programmable logic controller', 'Siemens | embedded || specialized'],
    ['Areca ARC-1212 RAID controller or Siemens HiPath 3500 PBX', 'Areca | embedded || storage-misc', 'Siemens | embedded || PBX'],
  ]
    .map(([name, ...classes]) => `Fingerprint ${name}\n${classes.map((c) => `Class ${c}`).join('\n')}\nSEQ(SP=1)\n`)
    .join('\n'),
  'fixture.nmap-os-db',
);
const FALLBACK = 'Linux 4.15 - 5.6';
const chosen = (name: string): string | undefined => resolvePersonality(name, DB, FALLBACK)?.chosen;

test('exact_names_stay_and_case_slips_are_taken', () => {
  assert.equal(resolvePersonality('Linux 2.6.18', DB, FALLBACK), undefined);
  assert.deepEqual(resolvePersonality('linux 2.6.18', DB, FALLBACK), { wanted: 'linux 2.6.18', chosen: 'Linux 2.6.18', reason: 'the same name in other letter case' });
});

test('first_generation_names_go_to_the_same_family_generation_and_nearest_version', () => {
  assert.equal(chosen('Linux 2.4.7 (X86)'), 'Linux 2.4.7');
  assert.equal(chosen('Linux 2.4.20'), 'Linux 2.4.18 - 2.4.35 (likely embedded)');
  assert.equal(chosen('Linux 2.6.x'), 'Linux 2.6.18');
  assert.equal(chosen('Linux 2.2.14'), 'Linux 2.4.7'); // no 2.2.X: the nearest version of the family
  assert.equal(chosen('Cisco 1601R router running IOS 12.1(5)'), 'Cisco 2620 router (IOS 12.1 - 12.3)');
  assert.equal(chosen('Cisco IOS 15.0(1)'), 'Cisco Catalyst switch (IOS 15.0)');
  assert.match(resolvePersonality('Cisco 1601R router running IOS 12.1(5)', DB, FALLBACK)?.reason ?? '', /vendor Cisco, family IOS, generation 12\.X, version in range, type router/);
});

test('loose_names_find_their_family_and_generation_words', () => {
  assert.equal(chosen('Windows 10'), 'Microsoft Windows 10');
  assert.equal(chosen('Windows XP'), 'Microsoft Windows XP SP2 or SP3');
  assert.equal(chosen('Windows NT4 / Win95 / Win98'), 'Microsoft Windows NT 4.0 SP3');
  assert.equal(chosen('Win2k'), 'Microsoft Windows 2000 SP4 or Windows XP');
  // No version in the name: the newest of the family.
  assert.equal(chosen('OpenBSD'), 'OpenBSD 6.0 - 6.4');
});

test('cisco_ios_is_not_apple_ios_and_non_ios_is_not_ios', () => {
  assert.match(chosen('Cisco IOS 12.1') ?? '', /^Cisco 2620/);
  assert.equal(chosen('Apple iOS 12'), 'Apple iOS 12.1');
  // "Non-IOS" names no family: Cisco's router with the most words in common.
  assert.match(chosen('Cisco 762 Non-IOS Software release 4.1(2) or 766 ISDN router') ?? '', /^Cisco .*router/);
});

test('vendor_without_family_goes_by_words_not_model_numbers', () => {
  // 1200 is nearer to ARC-1212 than to 300, but model numbers do not count without a family.
  assert.equal(chosen('Siemens Simatic 1200 programmable logic controller'), 'Siemens Simatic 300 programmable logic controller');
});

test('names_that_name_nothing_known_get_the_fallback', () => {
  assert.deepEqual(resolvePersonality('Unknown', DB, FALLBACK), {
    wanted: 'Unknown',
    chosen: FALLBACK,
    reason: "no vendor or OS family in the name that nmap-os-db knows; decoyd's default personality",
  });
});

test('random_personality_is_repeatable_per_template', () => {
  const a = randomPersonality('web', DB);
  assert.ok(a !== undefined && DB.has(a));
  assert.equal(randomPersonality('web', DB), a);
});

test('honeyd_files_get_the_mapping_with_a_warning_naming_the_entry', () => {
  // Against the installed nmap-os-db, as decoyd check runs.
  const loaded = loadedOf('x.conf', `create a\nset a personality "Linux 2.4.7 (X86)"\ncreate b\nset b personality random\nbind 198.51.100.1 a\n`, {});
  const a = loaded.config.templates.get('a')?.personality;
  assert.ok(a !== undefined && a !== 'Linux 2.4.7 (X86)' && /^Linux 2\.4/.test(a), a);
  assert.ok(loaded.warningLines.includes(`x.conf:2:19: personality "Linux 2.4.7 (X86)" is not in nmap-os-db: using "${a}" (${loaded.personalityMappings[0].reason})`), loaded.warningLines.join('\n'));
  assert.deepEqual(loaded.personalityMappings[0].templates, ['a']);
  assert.ok(loaded.config.templates.get('b')?.personality !== undefined);
  assert.ok(loaded.warningLines.some((w) => /^x\.conf:4:19: personality random: template "b" uses "/.test(w)));
});
