/**
 * The TCP socket layer against the scanner namespace's real Linux stack: 50 MB each way through
 * the echo service with loss, delay and reordering on both veth ends (tc netem), SYN/ACK
 * retransmissions captured on the wire, and hostile clients (garbage, floods, thousands of
 * connections, peers that never read) while another client is still served.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { needsRoot, withLab, type Lab } from '../helpers/lab';
import { startDaemon } from '../helpers/daemon';
import { startCapture } from '../helpers/capture';

const DECOY = '198.51.100.10';
const SIZE_MB = 50;
const HOSTILE_CLIENT_JS = resolve(__dirname, 'tcp-hostile-client.js');

function config(extraLimits = ''): string {
  return [
    'templates:',
    '  linux:',
    '    personality: "Linux 4.15 - 5.6"',
    '    defaults: { tcp: reset, udp: reset, icmp: open }',
    '    ports:',
    '      - { proto: tcp, port: 7, action: open, service: echo }',
    '      - { proto: tcp, port: 9, action: open }',
    '      - { proto: tcp, port: 22, action: open, service: { banner: "SSH-2.0-OpenSSH_8.9p1\\r\\n" } }',
    'hosts:',
    `  - { address: ${DECOY}, template: linux }`,
    `limits: { ${['connectionIdleSeconds: 120', extraLimits].filter((s) => s !== '').join(', ')} }`,
    'log: { level: warn }',
    '',
  ].join('\n');
}

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Random loss (and, with netem, delay and reordering) on both directions of the veth. Kernels
 * built without sch_netem get the loss from nftables' random number generator instead, on the
 * scanner end's netdev ingress and egress hooks (inside the lab's namespace only).
 */
async function injectLoss(lab: Lab, percent: number): Promise<string> {
  const spec = ['delay', '1ms', '1ms', 'loss', `${percent}%`];
  const first = await lab.exec(lab.scannerNs, ['tc', 'qdisc', 'add', 'dev', lab.scannerIf, 'root', 'netem', ...spec]);
  if (first.code === 0) {
    const other = await lab.exec(lab.honeyNs, ['tc', 'qdisc', 'add', 'dev', lab.honeyIf, 'root', 'netem', ...spec]);
    assert.equal(other.code, 0, `tc netem on ${lab.honeyIf}: ${other.stderr}`);
    return `tc netem ${spec.join(' ')} on both veth ends`;
  }
  assert.match(first.stderr, /unknown/i, `tc netem: ${first.stderr}`);
  const dev = lab.scannerIf;
  const rules = [
    'table netdev decoyd_loss {',
    `  chain in { type filter hook ingress device "${dev}" priority -100; ip protocol tcp numgen random mod 1000 < ${percent * 10} counter drop; }`,
    `  chain out { type filter hook egress device "${dev}" priority -100; ip protocol tcp numgen random mod 1000 < ${percent * 10} counter drop; }`,
    '}',
  ].join('\n');
  const r = await lab.exec(lab.scannerNs, ['nft', '-f', '-'], { input: rules });
  assert.equal(r.code, 0, `nft loss rules: ${r.stderr}`);
  return `no sch_netem in this kernel: ${percent}% random loss each way from nftables numgen on ${dev}`;
}

async function droppedByLossRules(lab: Lab): Promise<string> {
  const r = await lab.exec(lab.scannerNs, ['nft', 'list', 'table', 'netdev', 'decoyd_loss']);
  return r.code === 0 ? r.stdout.replace(/\s+/g, ' ') : '';
}

test(`${SIZE_MB} MB through echo both ways with 1% random loss each way on the veth: bytes arrive intact`, { ...needsRoot, timeout: 240_000 }, async (t) => {
  await withLab(t, {}, async (lab) => {
    const dir = mkdtempSync(join(tmpdir(), 'decoyd-socat-'));
    try {
      const input = join(dir, 'in.bin');
      const output = join(dir, 'out.bin');
      const gen = await lab.exec(lab.scannerNs, ['sh', '-c', `head -c ${SIZE_MB * 1024 * 1024} /dev/urandom > ${input}`], { timeoutMs: 30_000 });
      assert.equal(gen.code, 0, gen.stderr);
      const daemon = await startDaemon(lab, config());
      try {
        // Loss both ways (with netem also delay with jitter, which reorders), applied once the daemon is up.
        t.diagnostic(await injectLoss(lab, 1));
        // socat sends the file and writes what comes back; after its EOF it half-closes and waits
        // (-t) for the echo to finish, which ends with the echo service's own FIN.
        const run = await lab.exec(lab.scannerNs, ['socat', '-t', '90', '-T', '60', `OPEN:${input},rdonly!!CREATE:${output}`, `TCP:${DECOY}:7`], { timeoutMs: 200_000 });
        assert.equal(run.code, 0, `socat: ${run.stderr}`);
        assert.equal(statSync(output).size, SIZE_MB * 1024 * 1024, 'every byte came back');
        assert.equal(await sha256(output), await sha256(input), 'and intact');
        t.diagnostic(`loss rules after the run: ${await droppedByLossRules(lab)}`);
      } finally {
        await daemon.stop();
      }
      assert.equal(daemon.eventsOfKind('daemon.error').length, 0, JSON.stringify(daemon.eventsOfKind('daemon.error')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('a retransmitted SYN/ACK on the wire is byte-identical to the first apart from TSval, IP ID and checksums', { ...needsRoot, timeout: 60_000 }, async (t) => {
  await withLab(t, {}, async (lab) => {
    const daemon = await startDaemon(lab, config());
    try {
      // The scanner's kernel offers ECN and never sees our SYN/ACKs (dropped at its input hook),
      // so it retransmits its SYN and decoyd's own timer retransmits the SYN/ACK.
      const ecn = await lab.exec(lab.scannerNs, ['sysctl', '-qw', 'net.ipv4.tcp_ecn=1']);
      assert.equal(ecn.code, 0, ecn.stderr);
      const rules = 'table inet synackdrop {\n  chain in { type filter hook input priority 0; tcp flags & (syn | ack) == syn | ack drop; }\n}\n';
      const nft = await lab.exec(lab.scannerNs, ['nft', '-f', '-'], { input: rules });
      assert.equal(nft.code, 0, `nft: ${nft.stderr}`);
      const capture = await startCapture(lab, lab.scannerNs, lab.scannerIf, { filter: ['tcp', 'and', 'src', 'host', DECOY] });
      await lab.exec(lab.scannerNs, ['socat', '-u', `TCP:${DECOY}:22,connect-timeout=3.6`, '/dev/null'], { timeoutMs: 10_000 });
      await new Promise((r) => setTimeout(r, 300));
      const seen = await capture.stop();
      const synAcks = seen.records.map((r) => r.data).filter((f) => ((f[14 + 20 + 13] as number) & 0x12) === 0x12);
      assert.ok(synAcks.length >= 3, `SYN/ACKs seen: ${synAcks.length}`);
      const first = synAcks[0] as Buffer;
      assert.equal((first[14 + 20 + 13] as number) & 0x40, 0x40, 'the ECN-setup SYN got ECE');
      for (const f of synAcks.slice(1)) assert.equal(mask(f).toString('hex'), mask(first).toString('hex'));
    } finally {
      await daemon.stop();
    }
  });
});

/** Zero what the OS itself changes between retransmissions: IP ID, checksums and the TSval. */
function mask(frame: Buffer): Buffer {
  const c = Buffer.from(frame.subarray(0, 14 + ((frame.readUInt16BE(16)))));
  c.fill(0, 18, 20);
  c.fill(0, 24, 26);
  c.fill(0, 50, 52);
  const hl = (c[46] as number) >> 4;
  for (let i = 54; i < 34 + hl * 4;) {
    const k = c[i] as number;
    if (k === 0) break;
    if (k === 1) { i++; continue; }
    if (k === 8) c.fill(0, i + 2, i + 6);
    i += Math.max(2, c[i + 1] as number);
  }
  return c;
}

test('hostile clients (garbage, byte floods, 2000 connections, peers that never read) leave the daemon up, bounded and answering', { ...needsRoot, timeout: 180_000 }, async (t) => {
  await withLab(t, {}, async (lab) => {
    const daemon = await startDaemon(lab, config('maxSendBuffer: 65536, maxReceiveBuffer: 65536, maxTcpBufferBytes: 8388608'));
    try {
      const rssBefore = rssKb(daemon.pid);
      // 2000+ sockets need more descriptors than the usual soft limit of 1024.
      const run = await lab.exec(lab.scannerNs, ['sh', '-c', `ulimit -n 16384 && exec "${process.execPath}" "${HOSTILE_CLIENT_JS}" ${DECOY}`], { timeoutMs: 150_000 });
      assert.equal(run.code, 0, `hostile client: ${run.stdout}\n${run.stderr}`);
      const report = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, number>;
      t.diagnostic(`client report ${JSON.stringify(report)}; daemon RSS ${rssBefore} kB before, ${rssKb(daemon.pid)} kB after`);
      assert.ok((report['connectionsOpened'] ?? 0) >= 2000, 'thousands of connections were accepted');
      assert.ok((report['probeEchoOk'] ?? 0) >= 5, 'a well-behaved client was served throughout');
      assert.equal(report['probeFailures'], 0);
      // The never-reading peers hold at most the buffer budget (8 MiB) plus what a process carries anyway.
      const rss = rssKb(daemon.pid);
      assert.ok(rss - rssBefore < 120 * 1024, `RSS grew by ${rss - rssBefore} kB`);
      assert.equal(daemon.eventsOfKind('daemon.error').length, 0);
    } finally {
      const exit = await daemon.stop();
      assert.equal(exit.signal, null, 'the daemon was still running and stopped cleanly');
    }
  });
});

function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+)/.exec(status);
  return m ? Number(m[1]) : 0;
}
