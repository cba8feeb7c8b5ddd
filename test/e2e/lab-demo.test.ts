/**
 * `decoyd lab` end to end: the demo builds its lab, runs the daemon on configs/demo.yaml, prints how
 * to scan, answers from the scanner namespace, and on stop removes every namespace it made.
 * Also exercises the test helpers (startDaemon, runNmap, hping3) against the running daemon.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { DEMO_LAB_NAME, runDemoLab } from '../../daemon/src/lab/demo';
import { runCommand } from '../../daemon/src/lab/run-command';
import { listNamespaces, needsRoot } from '../helpers/lab';
import { waitUntil } from '../helpers/wait';
import { parseArpingOutput } from '../helpers/clients';

function collect(stream: PassThrough): { text: () => string } {
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    text += chunk;
  });
  return { text: () => text };
}

test('decoyd lab: runs the demo, answers ARP for a demo decoy, and removes the lab on stop', needsRoot, async () => {
  const out = new PassThrough();
  const err = new PassThrough();
  const outText = collect(out).text;
  const errText = collect(err).text;
  let stop: () => void = () => undefined;
  const stopSignal = new Promise<void>((resolveStop) => {
    stop = resolveStop;
  });
  const finished = runDemoLab({ out, err, stopSignal, readyTimeoutMs: 30_000 });
  let code: number;
  try {
    await waitUntil('the demo lab to say it is ready', () => outText().includes('Press Ctrl-C'), 40_000, 50);
    const scannerNs = `${DEMO_LAB_NAME}-scan`;
    assert.match(outText(), new RegExp(`ip netns exec ${scannerNs} nmap -sS -O 198\\.51\\.100\\.1\\b`));
    assert.match(outText(), /"action":"daemon\.start"/, 'the daemon log is streamed');
    const namespaces = await listNamespaces();
    assert.ok(namespaces.includes(scannerNs) && namespaces.includes(`${DEMO_LAB_NAME}-honey`));
    const probe = await runCommand('ip', ['netns', 'exec', scannerNs, 'arping', '-c', '2', '-W', '0.2', '-w', '3', '-i', 'scan0', '198.51.100.10'], {
      timeoutMs: 6000,
    });
    const parsed = parseArpingOutput(probe.stdout);
    assert.ok(parsed.received >= 1, probe.stdout);
    await waitUntil('the streamed log to show the arp.reply', () => outText().includes('"action":"arp.reply"'), 5000, 50);
  } finally {
    stop();
    code = await finished;
  }
  assert.equal(code, 0, errText());
  assert.match(errText(), /removed/);
  const after = await listNamespaces();
  assert.ok(!after.some((ns) => ns.startsWith(`${DEMO_LAB_NAME}-`)), `left behind: ${after.join(' ')}`);
});
