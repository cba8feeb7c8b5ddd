/**
 * Honeyd's `annotate` and `set T droprate syn` with real clients, from a Honeyd file. Two hosts
 * share a personality; one template copied it before `annotate "…" no finscan` and `fragment
 * drop`, the other after (Honeyd copies the personality at `set personality`, so only the second
 * sees the annotation). nmap -sF, ping with fragmented echo requests, and hping3 SYNs against a
 * 40 % SYN drop rate show each working.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCommand } from '../../daemon/src/lab/run-command';
import { DEFAULT_MAIN_JS, startDaemon } from '../helpers/daemon';
import { needsRoot, withLab } from '../helpers/lab';
import { hostByAddress, portOf, runNmap } from '../helpers/nmap';

const PLAIN = '198.51.100.10';
const TUNED = '198.51.100.11';
const SYN_DROP_PERCENT = 40;
const SYNS = 200;

const CONFIG = `create plain
set plain personality "Linux 4.15 - 5.6"
set plain default tcp action reset
add plain tcp port 80 open

annotate "Linux 4.15 - 5.6" no finscan
annotate "Linux 4.15 - 5.6" fragment drop

create tuned
set tuned personality "Linux 4.15 - 5.6"
set tuned default tcp action reset
add tuned tcp port 80 open
set tuned droprate syn ${SYN_DROP_PERCENT}

bind ${PLAIN} plain
bind ${TUNED} tuned
`;

/** hping3's "N packets transmitted, M packets received". */
function hpingCounts(out: string): [number, number] {
  const m = /(\d+) packets transmitted, (\d+) packets received/.exec(out);
  return m ? [Number(m[1]), Number(m[2])] : [-1, -1];
}

test('annotate no finscan / fragment drop and droprate syn, seen by nmap -sF, ping and hping3', needsRoot, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'decoyd-tuning-test-'));
  const conf = join(dir, 'tuning.conf');
  writeFileSync(conf, CONFIG);
  try {
    const check = await runCommand(process.execPath, [DEFAULT_MAIN_JS, 'check', conf], { timeoutMs: 30_000 });
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /annotate comes after "set … personality" for "plain"/);
    assert.doesNotMatch(check.stdout + check.stderr, /parsed but not run/);

    await withLab(t, {}, async (lab) => {
      const d = await startDaemon(lab, conf);
      try {
        // FIN scan: the unannotated Linux stays silent on its open port (open|filtered); "no finscan" resets (closed).
        const fin = await runNmap(lab, ['-sF', '-n', '-Pn', '-p', '80,81', '--max-retries', '1', PLAIN, TUNED], { timeoutMs: 60_000 });
        const state = (ip: string, port: number): string | undefined => {
          const host = hostByAddress(fin, ip);
          return host === undefined ? 'no host' : portOf(host, 'tcp', port)?.state;
        };
        const seen = [state(PLAIN, 80), state(PLAIN, 81), state(TUNED, 80), state(TUNED, 81)];
        assert.deepEqual(seen, ['open|filtered', 'closed', 'closed', 'closed'], `${fin.xml}\n${d.events.filter((e) => e['dstIp'] === TUNED).map((e) => JSON.stringify(e)).join('\n')}`);

        // Echo requests of 3000 bytes leave the scanner's kernel in three fragments: "fragment drop" answers none.
        const big = async (ip: string): Promise<string> => (await lab.exec(lab.scannerNs, ['ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', '-s', '3000', ip], { timeoutMs: 20_000 })).stdout;
        assert.match(await big(PLAIN), /3 packets transmitted, 3 received/);
        assert.match(await big(TUNED), /3 packets transmitted, 0 received/);
        assert.ok(d.events.some((e) => e.kind === 'drop' && e['reason'] === 'annotate-fragment-drop'), 'the fragments were dropped by the annotation');
        // Unfragmented pings still answer.
        assert.match((await lab.exec(lab.scannerNs, ['ping', '-n', '-c', '2', '-i', '0.2', '-W', '2', TUNED], { timeoutMs: 20_000 })).stdout, /2 received/);

        // droprate syn: each hping3 SYN comes from a new source port, so each is a new connection request.
        const hping = async (ip: string): Promise<[number, number]> => {
          const r = await lab.exec(lab.scannerNs, ['hping3', '-S', '-p', '80', '-c', String(SYNS), '-i', 'u5000', ip], { timeoutMs: 60_000 });
          return hpingCounts(r.stdout + r.stderr);
        };
        // What decoyd answered and dropped is read from its log (exact); hping3's own count can miss a
        // late reply on a loaded machine, so it only has to agree in direction.
        const synAcks = (ip: string): number => d.events.filter((e) => e.kind === 'tcp.packet' && e['dstIp'] === ip && e['flags'] === 'S' && e['answer'] === 'syn-ack').length;
        const [sentPlain, gotPlain] = await hping(PLAIN);
        assert.equal(sentPlain, SYNS);
        await d.waitForEvent(() => synAcks(PLAIN) >= SYNS, 10_000).catch(() => undefined);
        assert.equal(synAcks(PLAIN), SYNS, 'no SYN is dropped without droprate syn');
        assert.ok(gotPlain > 0 && gotPlain <= SYNS, `hping3 got ${gotPlain} replies from ${PLAIN}`);
        const [sent, got] = await hping(TUNED);
        assert.equal(sent, SYNS);
        const droppedBySyn = (): number => d.events.filter((e) => e.kind === 'drop' && e['reason'] === 'droprate-syn' && e['dstIp'] === TUNED).length;
        await d.waitForEvent(() => synAcks(TUNED) + droppedBySyn() >= SYNS, 10_000).catch(() => undefined);
        const answered = synAcks(TUNED);
        const dropped = droppedBySyn();
        // Binomial(200, 0.4) dropped: mean 80, sigma 6.9; three sigma each way.
        const mean = SYNS * SYN_DROP_PERCENT / 100;
        const sigma = Math.sqrt(SYNS * (SYN_DROP_PERCENT / 100) * (1 - SYN_DROP_PERCENT / 100));
        t.diagnostic(`droprate syn ${SYN_DROP_PERCENT} %: ${answered}/${sent} SYNs answered (hping3 saw ${got}), ${dropped} dropped by the template (expected ${mean} ± ${(3 * sigma).toFixed(1)})`);
        assert.equal(answered + dropped, SYNS, 'every SYN is either answered or dropped by droprate syn');
        assert.ok(got <= answered && got >= answered / 2, `hping3 saw ${got} SYN/ACKs, decoyd sent ${answered}`);
        assert.ok(Math.abs(dropped - mean) <= 3 * sigma, `${dropped} dropped, expected ${mean} ± ${(3 * sigma).toFixed(1)}`);
      } finally {
        await d.stop();
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
