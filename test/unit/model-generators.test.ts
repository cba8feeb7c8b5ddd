import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { OsDbPersonality } from '../../daemon/src/personality/model/os-personality';
import { IpIdCounter, IsnGenerator, TimestampClock, nmapSeqStats, tsClassFor } from '../../daemon/src/personality/model/generators';
import { SeededRandom } from '../../daemon/src/personality/model/prng';
import { crc32, forgeCrc32 } from '../../daemon/src/personality/model/crc32';
import { exprMatch } from '../../daemon/src/personality/osdb/expr';
import { classifyIpIds } from '../../daemon/src/personality/nmap-sim/ipid-class';
import { simulateNmapFingerprint } from '../../daemon/src/personality/nmap-sim';
import { CISCO_IOS_15, FREEBSD_12, LINUX_5_4, NMAP_OPTIONS, WINDOWS_10_1607, emptyReply, parseEntry, segment } from './model-fixtures';

const T0 = 1_700_000_000_000;
/** Nmap sends SEQ probes ≥ 100 ms apart; a little jitter on top. */
const GAPS_MS = [100.4, 101.8, 100.1, 100.9, 101.3];

function withSeq(text: string, seqLine: string): string {
  return text.replace(/^SEQ\(.*\)$/m, seqLine);
}

/** ISNs and TSvals of the six SYN/ACKs, plus send gaps (s), over `rounds` Nmap rounds. */
function seqBurst(p: OsDbPersonality, start: number): { isns: number[]; ts: number[]; ids: number[]; gaps: number[] } {
  const isns: number[] = [];
  const ts: number[] = [];
  const ids: number[] = [];
  let t = start;
  for (let i = 0; i < 6; i++) {
    if (i > 0) t += GAPS_MS[i - 1];
    const out = emptyReply();
    assert.equal(p.respondTcp(segment(NMAP_OPTIONS.seq[i], { timeMs: t }), 'open', out), true);
    isns.push(out.seq);
    ids.push(out.ipId);
    ts.push(tsValOf(out.options.subarray(0, out.optionsLength)));
  }
  return { isns, ts, ids, gaps: GAPS_MS.map((g) => g / 1000) };
}

/** TSval of the timestamp option, walking the options; -1 if there is none. */
function tsValOf(opts: Buffer): number {
  for (let p = 0; p < opts.length; ) {
    if (opts[p] === 0 || opts[p] === 1) {
      p++;
      continue;
    }
    if (opts[p] === 8) return opts.readUInt32BE(p + 2);
    p += opts[p + 1];
  }
  return -1;
}

const ISN_CASES: Array<[string, string]> = [
  ['linux', LINUX_5_4],
  ['windows', WINDOWS_10_1607],
  ['freebsd', FREEBSD_12],
  ['cisco', CISCO_IOS_15],
  ['bsd 64000-step', withSeq(LINUX_5_4, 'SEQ(SP=C-16%GCD=FA00|1F400|2EE00|3E800|4E200%ISR=97-A1%TI=I%CI=I%II=I%SS=S%TS=U)')],
  ['constant-ish HP switch', withSeq(LINUX_5_4, 'SEQ(SP=0%GCD=1-6|68|D0|138|1A0|208|270%ISR=4B-55%TI=I%II=I%SS=S%TS=U)')],
  ['constant ISN', withSeq(LINUX_5_4, 'SEQ(SP=0-5%GCD=0%ISR=0-5%TI=I%II=I%SS=S%TS=U)')],
  // A fast ISN clock with a small deviation (Mac OS X 10.4): only large units survive Nmap's jitter.
  ['fast clock, small SP', withSeq(LINUX_5_4, 'SEQ(SP=C-16%GCD=1|>1000000%ISR=F1-103%TI=I%II=I%SS=S%TS=1)')],
  // A slow clock with a small deviation (lwIP 1.4): whole-unit rounding noise must not move SP.
  ['slow clock, small SP', withSeq(LINUX_5_4, 'SEQ(SP=C-16%GCD=1-6%ISR=53-5D%TI=I%CI=I%II=RI%SS=O|S%TS=U)')],
  // GCD 9 (VMware ESXi 5.0): a burst whose multiples all shared a factor would read GCD 18, SP 8 lower.
  ['unit 9', withSeq(LINUX_5_4, 'SEQ(SP=9D-B3%GCD=9|12|1B|24|2D%ISR=F4-FE%TI=I%II=I%SS=S%TS=7)')],
];

test('ISNs over Nmap bursts land in the entry SP/GCD/ISR ranges, round after round', () => {
  for (const [label, text] of ISN_CASES) {
    const seq = parseEntry(text).tests.get('SEQ') as Map<string, string>;
    for (const seed of [1, 2, 3, 4, 5]) {
      const p = new OsDbPersonality(parseEntry(text), { seed, startTimeMs: T0 });
      for (let round = 0; round < 4; round++) {
        const b = seqBurst(p, T0 + round * 2500);
        const got = nmapSeqStats(b.isns, b.gaps);
        const hex = (n: number): string => n.toString(16).toUpperCase();
        for (const [a, v] of [['GCD', got.gcd], ['ISR', got.isr], ['SP', got.sp]] as const) {
          assert.ok(exprMatch(hex(v), seq.get(a) as string), `${label} seed ${seed} round ${round}: ${a}=${hex(v)} vs ${seq.get(a)}`);
        }
      }
    }
  }
});

/** Microsoft Windows 7 Enterprise SP1 (nmap-os-db 7.93): resets Nmap's SEQ SYNs 5 and 6 (O5=, O6=). */
const WINDOWS_7_SP1 = `Fingerprint Microsoft Windows 7 Enterprise SP1
Class Microsoft | Windows | 7 | general purpose
SEQ(SP=FE-108%GCD=2|4|6|8|A%ISR=108-112%TI=I%CI=I%II=I%SS=O%TS=7)
OPS(O1=M5B4ST11%O2=M5B4ST11%O3=M5B4NNT11%O4=M5B4ST11%O5=%O6=)
WIN(W1=2000%W2=2000%W3=2000%W4=2000%W5=0%W6=0)
ECN(R=Y%DF=Y%T=7B-85%TG=80%W=0%O=%CC=N%Q=)
T1(R=Y%DF=Y%T=7B-85%TG=80%S=O%A=S+%F=AS%RD=0%Q=)
T2(R=N)
T3(R=N)
T4(R=Y%DF=Y%T=7B-85%TG=80%W=0%S=A%A=O%F=R%O=%RD=0%Q=)
T5(R=Y%DF=Y%T=7B-85%TG=80%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)
T6(R=Y%DF=Y%T=7B-85%TG=80%W=0%S=A%A=O%F=R%O=%RD=0%Q=)
T7(R=N)
U1(DF=N%T=7B-85%TG=80%IPL=164%UN=0%RIPL=G%RID=G%RIPCK=G%RUCK=G%RUD=G)
IE(DFI=N%T=7B-85%TG=80%CD=Z)`;

test('a host that resets two SEQ SYNs plans its ISN deviation over the three steps Nmap reads', () => {
  const fp = parseEntry(WINDOWS_7_SP1);
  const seq = fp.tests.get('SEQ') as Map<string, string>;
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const p = new OsDbPersonality(fp, { seed, startTimeMs: T0 });
    assert.equal(p.isn.target.steps, 3, 'four SYN/ACKs, three steps');
    const got = simulateNmapFingerprint(p, { seed }).get('SEQ') as Map<string, string>;
    for (const a of ['GCD', 'ISR', 'SP']) {
      assert.ok(exprMatch(got.get(a) as string, seq.get(a) as string), `seed ${seed}: ${a}=${got.get(a)} vs ${seq.get(a)}`);
    }
  }
});

test('ISN steps stay below 2^31 so MOD_DIFF keeps them', () => {
  const gen = new IsnGenerator({ isr: 0x10b, sp: 0xfc, gcd: 1 }, new SeededRandom(9));
  let prev = gen.next(T0);
  for (let i = 1; i < 50; i++) {
    const v = gen.next(T0 + i * 115);
    const d = (v - prev + 4294967296) % 4294967296;
    assert.ok(Math.min(d, 4294967296 - d) < 2 ** 31);
    prev = v;
  }
});

test('IP ID counters produce the classes Nmap reads', () => {
  const draw = (c: IpIdCounter, n: number, start = T0): number[] => Array.from({ length: n }, (_, i) => c.next(start + i * 100));
  for (let seed = 0; seed < 30; seed++) {
    const r = (): SeededRandom => new SeededRandom(seed);
    assert.equal(classifyIpIds(draw(new IpIdCounter('I', r()), 6)), 'incr');
    assert.equal(classifyIpIds(draw(new IpIdCounter('RI', r()), 6)), 'rpi');
    assert.equal(classifyIpIds(draw(new IpIdCounter('RD', r()), 3)), 'rd');
    assert.equal(classifyIpIds(draw(new IpIdCounter('BI', r()), 6)), 'broken-incr');
    assert.equal(classifyIpIds(draw(new IpIdCounter('Z', r()), 6)), 'zero');
    assert.deepEqual(draw(new IpIdCounter({ fixed: 0x1234 }, r()), 2), [0x1234, 0x1234]);
    // Many rounds later (counters continue, with traffic in between) the class still holds.
    const busy = new IpIdCounter('I', r());
    for (let round = 0; round < 300; round++) {
      draw(busy, 200, T0 + round * 60_000);
      assert.equal(classifyIpIds(draw(busy, 6, T0 + round * 60_000 + 30_000)), 'incr');
    }
  }
});

/** Nmap's SS: S if the first ICMP ID is below last TCP ID + 3 × average TCP step. */
function ss(tcp: number[], icmp: number[]): 'S' | 'O' {
  const avg = Math.floor((tcp[tcp.length - 1] - tcp[0]) / (tcp.length - 1));
  return icmp[0] < tcp[tcp.length - 1] + 3 * avg ? 'S' : 'O';
}

test('shared and separate IP ID counters give SS=S and SS=O', () => {
  const cases: Array<[string, 'S' | 'O']> = [
    ['SEQ(SP=FE-108%GCD=1-6%ISR=102-10C%TI=I%CI=I%II=I%SS=S%TS=A)', 'S'],
    ['SEQ(SP=FE-108%GCD=1-6%ISR=102-10C%TI=I%CI=I%II=I%SS=O%TS=A)', 'O'],
    ['SEQ(SP=FE-108%GCD=1-6%ISR=102-10C%TI=I%CI=I%II=RI%SS=S%TS=A)', 'S'],
    ['SEQ(SP=FE-108%GCD=1-6%ISR=102-10C%TI=RI%CI=RI%II=RI%SS=O%TS=A)', 'O'],
    ['SEQ(SP=FE-108%GCD=1-6%ISR=102-10C%TI=BI%CI=BI%II=BI%SS=O%TS=A)', 'O'],
  ];
  for (const [line, want] of cases) {
    for (let seed = 0; seed < 20; seed++) {
      const p = new OsDbPersonality(parseEntry(withSeq(WINDOWS_10_1607, line)), { seed, startTimeMs: T0 });
      for (let round = 0; round < 3; round++) {
        const start = T0 + round * 5000;
        const b = seqBurst(p, start);
        const icmp = [p.nextIpId('icmp', start + 600), p.nextIpId('icmp', start + 625)];
        assert.equal(ss(b.ids, icmp), want, `${line} seed ${seed}`);
      }
    }
  }
});

/** Nmap's TS class from six TSvals (digest §2.2). */
function tsClass(ts: number[], gaps: number[]): string {
  if (ts.some((v) => v < 0)) return 'U';
  if (ts.some((v) => v === 0)) return '0';
  let sum = 0;
  for (let i = 1; i < ts.length; i++) {
    const d = (ts[i] - ts[i - 1] + 4294967296) % 4294967296;
    sum += Math.min(d, 4294967296 - d) / gaps[i - 1];
  }
  const h = sum / (ts.length - 1);
  if (h <= 5.66) return '1';
  if (h > 70 && h <= 150) return '7';
  if (h > 150 && h <= 350) return '8';
  return Math.floor(Math.log2(h) + 0.5).toString(16).toUpperCase();
}

test('TCP timestamps tick at the entry TS rate', () => {
  const cases = ['U', '0', '1', '3', '4', '7', '8', '9', 'A', 'B', '21', '22'];
  for (const ts of cases) {
    const line = `SEQ(SP=FE-108%GCD=1-6%ISR=102-10C%TI=I%CI=I%II=I%SS=S%TS=${ts})`;
    const text = withSeq(ts === 'U' ? CISCO_IOS_15 : ts === '0' ? LINUX_5_4.replace(/T11/g, 'T01') : LINUX_5_4, line);
    for (let seed = 0; seed < 10; seed++) {
      const p = new OsDbPersonality(parseEntry(text), { seed, startTimeMs: T0 + seed * 37 });
      for (let round = 0; round < 3; round++) {
        const b = seqBurst(p, T0 + 1000 + round * 3000 + seed * 13);
        assert.equal(tsClass(b.ts, b.gaps), ts, `TS=${ts} seed ${seed} round ${round}`);
      }
    }
  }
});

test('the TS clock encodes the configured uptime', () => {
  const clock = new TimestampClock(tsClassFor('A'), T0 - 3600_000, new SeededRandom(1));
  assert.equal(clock.value(T0), 3600_000);
  const p = new OsDbPersonality(parseEntry(LINUX_5_4), { seed: 1, uptimeSeconds: 7200, startTimeMs: T0 });
  assert.equal(p.tsVal(T0), 7200 * 250);
  assert.equal(new OsDbPersonality(parseEntry(CISCO_IOS_15), { seed: 1 }).tsVal(T0), -1);
});

test('forged RST data has the requested CRC-32 (checked against zlib)', () => {
  const rng = new SeededRandom(77);
  for (let i = 0; i < 200; i++) {
    const target = rng.nextU32();
    const bytes = forgeCrc32(target);
    assert.equal(bytes.length, 4);
    assert.equal(zlibCrc32(bytes), target);
    assert.equal(crc32(bytes), target);
  }
});
