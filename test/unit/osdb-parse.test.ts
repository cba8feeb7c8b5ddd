import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOsDb, parseOsDb } from '../../daemon/src/personality/osdb/parse';

const DB_PATH = '/usr/share/nmap/nmap-os-db';

const POINTS = [
  'MatchPoints',
  'SEQ(SP=25%GCD=75%ISR=25%TI=100%CI=50%II=100%SS=80%TS=100)',
  'T1(R=100%DF=20%T=15%TG=15%S=20%A=20%F=30%RD=20%Q=20)',
  'IE(R=50%DFI=40%T=15%TG=15%CD=100)',
  '',
].join('\n');

test('parser: well-formed entries, comments, CRLF, names with #', () => {
  const text = [
    '# header comment',
    POINTS,
    '# comment before an entry',
    'Fingerprint Foo OS 1.0 # trailing comment',
    'Class Foo | FooOS | 1.X | general purpose',
    'CPE cpe:/o:foo:fooos:1 auto',
    'Class Foo | FooOS || router',
    '# a comment inside the entry',
    'SEQ(SP=0-5%TI=I|RD)',
    'T1(R=Y%DF=N%T=3B-45%TG=40%S=O%A=S+%F=AS%RD=0%Q=)',
    'IE()',
    '',
    'Fingerprint Bar\r',
    'Class Bar | BarOS | 2 | switch\r',
    'T1(R=N)\r',
    '',
  ].join('\n');
  const db = parseOsDb(text, 'mem');
  assert.deepEqual(db.errors, []);
  assert.equal(db.fingerprints.length, 2);
  const foo = db.fingerprints[0];
  assert.equal(foo.name, 'Foo OS 1.0');
  assert.equal(foo.line, 8);
  assert.deepEqual(foo.classes, [
    { vendor: 'Foo', family: 'FooOS', generation: '1.X', deviceType: 'general purpose' },
    { vendor: 'Foo', family: 'FooOS', generation: '', deviceType: 'router' },
  ]);
  assert.deepEqual(foo.cpes, ['cpe:/o:foo:fooos:1']);
  assert.equal(foo.tests.get('SEQ')?.get('TI'), 'I|RD');
  assert.equal(foo.tests.get('T1')?.get('Q'), '');
  assert.equal(foo.tests.get('IE')?.size, 0);
  assert.equal(db.fingerprints[1].name, 'Bar');
  assert.equal(db.fingerprints[1].tests.get('T1')?.get('R'), 'N');
  assert.equal(db.matchPoints.get('SEQ')?.get('GCD'), 75);
});

test('parser: malformed entries are reported with their line and skipped, never thrown', () => {
  const text = [
    POINTS, // lines 1-4, blank 5
    'Fingerprint Good 1', // 6
    'T1(R=Y)', // 7
    '', // 8
    'Fingerprint Bad test name', // 9
    'XYZ(A=1)', // 10
    '', // 11
    'Fingerprint Missing paren', // 12
    'T1(R=Y%DF=N', // 13
    '', // 14
    'Fingerprint Duplicate attribute', // 15
    'T1(R=Y%R=N)', // 16
    '', // 17
    'Fingerprint CPE first', // 18
    'CPE cpe:/o:x:y', // 19
    '', // 20
    'stray text outside any entry', // 21
    '', // 22
    'Fingerprint No equals', // 23
    'Class A | B | C | D', // 24
    'T1(R)', // 25
    '', // 26
    'Fingerprint Bad class', // 27
    'Class A | B', // 28
    '', // 29
    'Fingerprint Unpointed attribute', // 30
    'T1(R=Y%ZZ=1)', // 31
    '', // 32
    'Fingerprint Good 2', // 33
    'IE(DFI=N%CD=S)', // 34
  ].join('\n');
  const db = parseOsDb(text, 'bad.db');
  assert.deepEqual(db.fingerprints.map((f) => f.name), ['Good 1', 'Unpointed attribute', 'Good 2']);
  assert.deepEqual(
    db.errors.map((e) => [e.file, e.line]),
    [
      ['bad.db', 10],
      ['bad.db', 13],
      ['bad.db', 16],
      ['bad.db', 19],
      ['bad.db', 21],
      ['bad.db', 25],
      ['bad.db', 28],
    ],
  );
  for (const e of db.errors) assert.ok(e.message.length > 0);
});

test('parser: an attribute a subject carries but MatchPoints lacks skips the entry', () => {
  const text = [
    'MatchPoints',
    'T1(R=100%DF=20)',
    '',
    'Fingerprint Needs DF points only',
    'T1(R=Y%DF=N)',
    '',
    'Fingerprint Needs F points',
    'T1(R=Y%F=AS)',
    '',
  ].join('\n');
  const db = parseOsDb(text, 'm');
  assert.deepEqual(db.fingerprints.map((f) => f.name), ['Needs DF points only']);
  assert.equal(db.errors.length, 1);
  assert.equal(db.errors[0].line, 7);
  assert.match(db.errors[0].message, /T1\.F/);
});

test('loadOsDb: the whole 7.93 DB loads (5678 entries, no errors)', () => {
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  const db = loadOsDb([DB_PATH]);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const mb = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
  console.log(`loaded ${db.fingerprints.length} entries in ${ms.toFixed(1)} ms, heap +${mb.toFixed(1)} MB`);
  assert.equal(db.fingerprints.length, 5678);
  assert.deepEqual(db.errors, []);
  assert.equal(db.matchPoints.size, 13);
  assert.equal(db.matchPoints.get('U1')?.get('RUCK'), 100);
  const names = new Set(db.fingerprints.map((f) => f.name));
  assert.ok(names.has('Linux 5.4'));
  const linux = db.fingerprints.find((f) => f.line === 68158);
  assert.equal(linux?.name, 'Linux 5.4');
  assert.equal(linux?.tests.get('SEQ')?.get('ISR'), '10A-114');
  assert.deepEqual(linux?.cpes, ['cpe:/o:linux:linux_kernel:5.4']);
});

test('loadOsDb: merges files; MatchPoints from the first file that has them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'osdb-'));
  try {
    const a = join(dir, 'a.db');
    const b = join(dir, 'b.db');
    writeFileSync(a, 'Fingerprint Extra A\nT1(R=Y%DF=N)\n');
    writeFileSync(b, 'MatchPoints\nT1(R=7%DF=3)\n\nFingerprint Extra B\nT1(R=N)\n');
    const db = loadOsDb([a, DB_PATH, b, join(dir, 'missing.db')]);
    assert.equal(db.fingerprints.length, 5678 + 2);
    assert.equal(db.fingerprints[0].name, 'Extra A');
    assert.equal(db.fingerprints[db.fingerprints.length - 1].name, 'Extra B');
    assert.equal(db.matchPoints.get('T1')?.get('R'), 100, 'points of the stock DB (first file that has them)');
    assert.equal(db.errors.length, 1);
    assert.equal(db.errors[0].file, join(dir, 'missing.db'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
