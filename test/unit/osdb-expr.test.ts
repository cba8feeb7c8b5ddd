import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exprMatch, parseValue, strtol16 } from '../../daemon/src/personality/osdb/expr';

/** [value, expression, Nmap 7.93 result] */
const CASES: Array<[string, string, boolean]> = [
  // exact values, hex numbers and strings
  ['FAF0', 'FAF0', true],
  ['FAF1', 'FAF0', false],
  ['AS', 'AS', true],
  ['AR', 'AS', false],
  ['M5B4ST11NW7', 'M5B4ST11NW7', true],
  ['M5B4ST11NW7', 'M5B4ST11NW6', false],
  ['S+', 'S+', true],
  ['G', 'G', true],
  // ranges (inclusive, hex)
  ['3B', '3B-45', true],
  ['40', '3B-45', true],
  ['45', '3B-45', true],
  ['46', '3B-45', false],
  ['3A', '3B-45', false],
  ['10B', 'FA-104|10A-114', true],
  ['105', 'FA-104|10A-114', false],
  ['0', '0-5', true],
  ['', '0-5', true], // the empty value is numeric 0
  // > and <
  ['1', '>0', true],
  ['0', '>0', false],
  ['FF', '<100', true],
  ['100', '<100', false],
  ['5', '>x', false], // not a number: that alternative never matches
  ['Z', '<5', false], // a non-numeric value compares '<5' as a string
  // alternatives
  ['I', 'I|RD', true],
  ['RD', 'I|RD', true],
  ['RI', 'I|RD', false],
  ['1F400', 'FA00|1F400|2EE00', true],
  ['1F401', 'FA00|1F400|2EE00', false],
  ['1F400', 'FA00|1F300-1F500', true],
  // empty value and empty expression
  ['', '', true],
  ['R', '', false],
  ['', 'R', false],
  ['', 'M5B4|', true],
  // 7.93 quirk: a literal before a range never matches a numeric value
  ['A', 'A|C-E', false],
  ['D', 'A|C-E', true],
  ['A', 'C-E|A', true], // after the last '-' alternatives are plain strings again
  ['RD', 'I|1-5', false],
  ['I', 'I|1-5', true], // non-numeric values always compare as strings
  // 7.93 quirk: a non-last alternative matches as a prefix (strncmp with its own length)
  ['M5B4ST11', 'M5B4|M5B4NW7', true],
  ['S+', 'S|A', true],
  ['S+', 'A|S', false], // the last alternative must match exactly
  // 7.93 quirk: an empty non-last alternative matches anything
  ['U', '|U', true],
  ['R', '|U', true],
  ['RU', '|U', true],
  // strings vs numbers: literal comparison is textual
  ['0A', 'A', false],
  ['0A', 'A-C', true],
  ['faf0', 'FAF0', false],
  ['00000000', '0', false], // RD printed with 8 digits vs a literal 0
  ['S+', '1-5', false],
];

test('expr_match cases (Nmap 7.93 semantics)', () => {
  for (const [value, expr, want] of CASES) {
    assert.equal(exprMatch(value, expr), want, `${JSON.stringify(value)} vs ${JSON.stringify(expr)}`);
  }
});

test('strtol16 mirrors glibc strtol(…, 16) cast to unsigned int', () => {
  assert.deepEqual(strtol16('1F', 0), { value: 31, end: 2 });
  assert.deepEqual(strtol16('0x1F', 0), { value: 31, end: 4 });
  assert.deepEqual(strtol16('0x', 0), { value: 0, end: 1 });
  assert.deepEqual(strtol16('  -1', 0), { value: 0xffffffff, end: 4 });
  assert.deepEqual(strtol16('G', 0), { value: 0, end: 0 });
  assert.deepEqual(strtol16('', 0), { value: 0, end: 0 });
  assert.deepEqual(strtol16('123456789', 0), { value: 0x23456789, end: 9 });
  assert.deepEqual(strtol16('FFFFFFFFFFFFFFFFFFFF', 0), { value: 0xffffffff, end: 20 });
  assert.deepEqual(strtol16('a|5', 2), { value: 5, end: 3 });
});

test('parseValue: numeric only when the whole string is hex', () => {
  assert.deepEqual(parseValue(''), { text: '', numeric: true, num: 0 });
  assert.deepEqual(parseValue('A'), { text: 'A', numeric: true, num: 10 });
  assert.equal(parseValue('S+').numeric, false);
  assert.equal(parseValue('AS').numeric, false);
  assert.equal(parseValue('BI').numeric, false);
  assert.equal(parseValue('M5B4').numeric, false);
});
