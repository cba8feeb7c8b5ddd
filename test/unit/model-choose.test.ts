import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseValues } from '../../daemon/src/personality/model/choose';
import { parseAlternatives } from '../../daemon/src/personality/model/expression';
import { hashString, hostSeed } from '../../daemon/src/personality/model/prng';
import { exprMatch } from '../../daemon/src/personality/osdb/expr';
import { CISCO_IOS_15, FREEBSD_12, LINUX_5_4, WINDOWS_10_1607, parseEntry } from './model-fixtures';

const ALL = [LINUX_5_4, WINDOWS_10_1607, FREEBSD_12, CISCO_IOS_15];

test('alternatives Nmap 7.93 could never match are not offered', () => {
  assert.deepEqual(parseAlternatives('A|C-E'), [{ kind: 'range', lo: 0xc, hi: 0xe }]);
  assert.deepEqual(parseAlternatives('I|RD'), [{ kind: 'literal', text: 'I' }, { kind: 'literal', text: 'RD' }]);
  assert.deepEqual(parseAlternatives('>0'), [{ kind: 'greater', than: 0 }]);
  assert.deepEqual(parseAlternatives(''), [{ kind: 'literal', text: '' }]);
});

test('every chosen value satisfies its expression, for many seeds', () => {
  for (const text of ALL) {
    const fp = parseEntry(text);
    for (let seed = 0; seed < 50; seed++) {
      const chosen = chooseValues(fp, seed);
      for (const [test, attrs] of fp.tests) {
        for (const [attr, expr] of attrs) {
          const v = chosen.get(test)?.get(attr);
          assert.notEqual(v, undefined, `${fp.name} ${test}.${attr}`);
          assert.ok(exprMatch(v as string, expr), `${fp.name} ${test}.${attr}=${v} vs ${expr}`);
        }
      }
    }
  }
});

test('choices are deterministic per seed and vary between hosts', () => {
  const fp = parseEntry(LINUX_5_4);
  const flat = (seed: number): string => JSON.stringify([...chooseValues(fp, seed)].map(([t, m]) => [t, [...m]]));
  assert.equal(flat(hostSeed('198.51.100.10', 'linux')), flat(hostSeed('198.51.100.10', 'linux')));
  const isr = new Set(Array.from({ length: 40 }, (_, s) => chooseValues(fp, s).get('SEQ')?.get('ISR')));
  assert.ok(isr.size > 1, 'ISR never varies');
  assert.notEqual(hostSeed('198.51.100.10', 'linux'), hostSeed('198.51.100.11', 'linux'));
  assert.notEqual(hashString('a'), hashString('b'));
});

test('T resolves to the TG initial TTL; ranges resolve to their middle half', () => {
  const linux = chooseValues(parseEntry(LINUX_5_4), 3);
  assert.equal(linux.get('T1')?.get('T'), '40');
  assert.equal(linux.get('T1')?.get('TG'), '40');
  assert.equal(chooseValues(parseEntry(CISCO_IOS_15), 3).get('IE')?.get('T'), 'FF');
  for (let s = 0; s < 40; s++) {
    const sp = parseInt(chooseValues(parseEntry(LINUX_5_4), s).get('SEQ')?.get('SP') as string, 16);
    assert.ok(sp >= 0xfa && sp <= 0x104);
  }
});

test('option strings with alternatives stay one coherent family', () => {
  const text = LINUX_5_4.replace(
    /^OPS\(.*\)$/m,
    'OPS(O1=M5B4NW1NNT11SLL|M5B4NW3NNT11SLL%O2=M5B4NW1NNT11SLL|M5B4NW3NNT11SLL%O3=M5B4NW1NNT11|M5B4NW3NNT11%O4=M5B4NW1NNT11SLL|M5B4NW3NNT11SLL%O5=M5B4NW1NNT11SLL|M5B4NW3NNT11SLL%O6=M5B4NNT11SLL)',
  );
  for (let seed = 0; seed < 30; seed++) {
    const ops = chooseValues(parseEntry(text), seed).get('OPS') as Map<string, string>;
    const shifts = new Set(['O1', 'O2', 'O3', 'O4', 'O5'].map((o) => /W(\d)/.exec(ops.get(o) as string)?.[1]));
    assert.equal(shifts.size, 1, `seed ${seed}: ${[...ops.values()].join(' ')}`);
  }
});

test('option alternatives agree with the timestamp class', () => {
  const text = LINUX_5_4.replace('TS=8', 'TS=21').replace(
    /^OPS\(.*\)$/m,
    'OPS(O1=M5B4NW5|M5B4NW6ST11%O2=M578NW5|M578NW6ST11%O3=M280NW5|M280NW6NNT11%O4=M5B4NW5|M5B4NW6ST11%O5=M218NW5|M218NW6ST11%O6=M109ST11)',
  );
  for (let seed = 0; seed < 30; seed++) {
    const ops = chooseValues(parseEntry(text), seed).get('OPS') as Map<string, string>;
    for (const v of ops.values()) assert.match(v, /T11/);
  }
});
