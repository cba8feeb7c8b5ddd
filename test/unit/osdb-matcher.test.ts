import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseOsDb, loadOsDb } from '../../daemon/src/personality/osdb/parse';
import {
  compareFingerprint,
  explainMismatches,
  isPerfectMatchFor,
  matchFingerprint,
  nmapOsOutcome,
} from '../../daemon/src/personality/osdb/matcher';
import { parseObservedFingerprint } from '../../daemon/src/personality/nmap-sim';
import type { ObservedFingerprint, OsFingerprint, TestName } from '../../daemon/src/personality/osdb/types';

const db = loadOsDb(['/usr/share/nmap/nmap-os-db']);

/** A concrete value the expression accepts: its last alternative (immune to the 7.93 quirks). */
function pick(expr: string): string {
  const alts = expr.split('|');
  const last = alts[alts.length - 1];
  const hex = (n: number): string => n.toString(16).toUpperCase();
  if (last.startsWith('>')) return hex(parseInt(last.slice(1), 16) + 1);
  if (last.startsWith('<')) return hex(Math.max(0, parseInt(last.slice(1), 16) - 1));
  const dash = last.indexOf('-');
  if (dash > 0) return last.slice(0, dash);
  return last;
}

/** A subject built from an entry's own expressions, with T (not TG) as after a U1 reply. */
function subjectFor(fp: OsFingerprint): ObservedFingerprint {
  const obs: ObservedFingerprint = new Map();
  for (const [test, attrs] of fp.tests) {
    const line = new Map<string, string>();
    for (const [attr, expr] of attrs) {
      if (attr === 'TG' && attrs.has('T')) continue;
      line.set(attr, pick(expr));
    }
    obs.set(test, line);
  }
  return obs;
}

const LINUX_54 = parseObservedFingerprint(`
SEQ(SP=FC%GCD=1%ISR=10B%TI=Z%CI=I%II=I%TS=8)
OPS(O1=M508ST11NW6%O2=M508ST11NW6%O3=M508NNT11NW6%O4=M508ST11NW6%O5=M508ST11NW6%O6=M508ST11)
WIN(W1=68DF%W2=68DF%W3=68DF%W4=68DF%W5=68DF%W6=68DF)
ECN(R=Y%DF=Y%T=40%W=6903%O=M508NNSNW6%CC=Y%Q=)
T1(R=Y%DF=Y%T=40%S=O%A=S+%F=AS%RD=0%Q=)
T2(R=N)
T3(R=N)
T4(R=Y%DF=Y%T=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)
T5(R=Y%DF=Y%T=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)
T6(R=Y%DF=Y%T=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)
T7(R=Y%DF=Y%T=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)
U1(R=Y%DF=N%T=40%IPL=164%UN=0%RIPL=G%RID=G%RIPCK=G%RUCK=G%RUD=G)
IE(R=Y%DFI=N%T=40%CD=S)`);

test('every sampled entry matches a subject made of its own values at 1.0', () => {
  let checked = 0;
  for (let i = 0; i < db.fingerprints.length; i += 7) {
    const fp = db.fingerprints[i];
    const acc = compareFingerprint(db, fp, subjectFor(fp));
    assert.equal(acc, 1, `${fp.name} (line ${fp.line}): ${JSON.stringify(explainMismatches(db, fp, subjectFor(fp)))}`);
    checked++;
  }
  assert.ok(checked > 800);
});

test('Linux 5.4 reference subject: perfect, sole name, neighbours below', () => {
  const t0 = process.hrtime.bigint();
  const list = matchFingerprint(db, LINUX_54);
  const rounds = 20;
  for (let i = 0; i < rounds; i++) matchFingerprint(db, LINUX_54);
  console.log(`matchFingerprint: ${(Number(process.hrtime.bigint() - t0) / 1e6 / (rounds + 1)).toFixed(2)} ms per call`);
  assert.equal(list[0].fp.name, 'Linux 5.4');
  assert.equal(list[0].accuracy, 1);
  assert.ok(list[1].accuracy < 1 && list[1].accuracy > 0.9);
  for (let i = 1; i < list.length; i++) assert.ok(list[i - 1].accuracy >= list[i].accuracy);
  assert.equal(new Set(list.map((m) => m.fp.name)).size, list.length, 'one slot per name');
  assert.ok(list.length <= 36);
  assert.ok(list.every((m) => m.accuracy >= 0.85));
  assert.deepEqual(nmapOsOutcome(db, LINUX_54).perfectNames, ['Linux 5.4']);
  assert.equal(isPerfectMatchFor(db, LINUX_54, 'Linux 5.4'), true);
});

test('a changed value costs exactly its points', () => {
  const entry = db.fingerprints.find((f) => f.line === 68158) as OsFingerprint;
  // Points of every attribute present in both the entry and the subject.
  let possible = 0;
  for (const [test, attrs] of entry.tests) {
    const subj = LINUX_54.get(test);
    for (const attr of attrs.keys()) {
      if (subj?.has(attr)) possible += db.matchPoints.get(test)?.get(attr) ?? 0;
    }
  }
  assert.equal(compareFingerprint(db, entry, LINUX_54), 1);
  const changed: ObservedFingerprint = new Map([...LINUX_54].map(([t, a]) => [t, new Map(a)]));
  changed.get('SEQ')?.set('TI', 'RD'); // 100 points
  changed.get('WIN')?.set('W1', 'FFFF'); // 15 points
  assert.equal(compareFingerprint(db, entry, changed), (possible - 115) / possible);
  assert.deepEqual(
    explainMismatches(db, entry, changed).map((m) => `${m.test}.${m.attr}`),
    ['SEQ.TI', 'WIN.W1'],
  );
  assert.equal(isPerfectMatchFor(db, changed, 'Linux 5.4'), false);
  // Removing attributes or whole lines is neutral.
  const fewer: ObservedFingerprint = new Map([...LINUX_54].filter(([t]) => t !== 'U1' && t !== 'IE'));
  fewer.get('SEQ')?.delete('SP');
  assert.equal(compareFingerprint(db, entry, fewer), 1);
});

test('nothing comparable gives accuracy 0 and the outcome "none"', () => {
  const empty: ObservedFingerprint = new Map();
  assert.equal(compareFingerprint(db, db.fingerprints[0], empty), 0);
  assert.equal(nmapOsOutcome(db, empty).kind, 'none');
});

/** A small DB whose entries differ only in SEQ.TI, to exercise the list rules. */
function smallDb(entries: Array<[string, string]>): ReturnType<typeof parseOsDb> {
  const text = ['MatchPoints', 'SEQ(TI=100%II=100)', ''];
  for (const [name, seq] of entries) text.push(`Fingerprint ${name}`, `SEQ(${seq})`, '');
  return parseOsDb(text.join('\n'), 'small');
}

const subj = (ti: string, ii: string): ObservedFingerprint =>
  new Map<TestName, Map<string, string>>([['SEQ', new Map([['TI', ti], ['II', ii]])]]);

test('list: best per name, sorted, threshold 0.85, ties in DB order', () => {
  const small = smallDb([
    ['A', 'TI=Z%II=Z'], // 0.5 for (Z, I)
    ['B', 'TI=Z%II=I'], // 1.0
    ['A', 'TI=Z%II=I'], // 1.0 replaces the first A
    ['C', 'TI=Z%II=I'], // 1.0
    ['D', 'TI=RD'], // 0
  ]);
  const list = matchFingerprint(small, subj('Z', 'I'));
  assert.deepEqual(list.map((m) => [m.fp.name, m.accuracy]), [['B', 1], ['A', 1], ['C', 1]]);
  const out = nmapOsOutcome(small, subj('Z', 'I'));
  assert.equal(out.kind, 'details');
  assert.deepEqual(out.perfectNames, ['B', 'A', 'C']);
  // D lacks II, so only its TI is compared: a perfect match on its own.
  assert.deepEqual(nmapOsOutcome(small, subj('RD', 'RD')).perfectNames, ['D']);
  assert.equal(nmapOsOutcome(small, subj('Z', 'RI'), { threshold: 0.5 }).kind, 'no-exact');
  const none = nmapOsOutcome(small, subj('I', 'RI'));
  assert.equal(none.kind, 'none');
  assert.equal(matchFingerprint(small, subj('Z', 'RI'), { threshold: 0.5 }).length, 3);
});

test('list: more than 8 perfect names print "too many"; 37 overflow', () => {
  const nine = smallDb(Array.from({ length: 9 }, (_, i): [string, string] => [`N${i}`, 'TI=Z']));
  const o9 = nmapOsOutcome(nine, subj('Z', 'I'));
  assert.equal(o9.kind, 'too-many');
  assert.equal(isPerfectMatchFor(nine, subj('Z', 'I'), 'N0'), false);
  const eight = smallDb(Array.from({ length: 8 }, (_, i): [string, string] => [`N${i}`, 'TI=Z']));
  assert.equal(nmapOsOutcome(eight, subj('Z', 'I')).kind, 'details');
  assert.equal(isPerfectMatchFor(eight, subj('Z', 'I'), 'N7'), true);
  const many = smallDb(Array.from({ length: 40 }, (_, i): [string, string] => [`N${i}`, 'TI=Z']));
  const o40 = nmapOsOutcome(many, subj('Z', 'I'));
  assert.equal(o40.kind, 'too-many');
  assert.equal(o40.perfectCount, 37);
  assert.equal(o40.matches.length, 36);
});
