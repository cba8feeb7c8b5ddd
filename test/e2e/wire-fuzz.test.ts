/**
 * Malformed frames on the wire: thousands of mutated ARP/IPv4/TCP/UDP/ICMP frames injected from the
 * scanner namespace at the running daemon. It must stay up, keep answering correctly, and record drops.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { arping } from '../helpers/clients';
import { startDaemon } from '../helpers/daemon';
import { arpFrame, Flag, icmpFrame, icmpMessage, ipFrame, linuxSynOptions, tcpFrame, udpFrame } from '../helpers/frames';
import { needsRoot, withLab, type Lab } from '../helpers/lab';
import { hostByAddress, runNmap } from '../helpers/nmap';

const DECOY = '198.51.100.10';
const FRAMES = 6000;
const DECOY_NUM = 0xc633640a;
const BINDING = resolve(__dirname, '../../../node_modules/pcap/build/Release/pcap_binding');

const CONFIG = `
templates:
  web:
    personality: "Linux 4.15 - 5.6"
    defaults: { tcp: reset, udp: reset, icmp: open }
    ports:
      - { proto: tcp, port: 22, action: open, service: echo }
      - { proto: tcp, port: 80, action: open }
      - { proto: udp, port: 7, action: open, service: echo }
hosts:
  - { address: ${DECOY}, template: web }
log: { level: info }
`;

/** A small seeded PRNG (xorshift32), so a failing run can be replayed. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

/** Valid frames to the decoy, then mutated: truncation, bit flips, corrupted length/offset fields, option garbage. */
function mutatedFrames(decoyMac: string, scannerMac: string, scannerIp: string, seed: number, count: number): Buffer[] {
  const rand = prng(seed);
  const int = (n: number): number => Math.floor(rand() * n);
  const bases = [
    arpFrame({ op: 1, sha: scannerMac, spa: scannerIp, tpa: DECOY }),
    tcpFrame(decoyMac, scannerMac, scannerIp, DECOY, { srcPort: 40000, dstPort: 22, flags: Flag.SYN, seq: 1, options: linuxSynOptions(1) }),
    tcpFrame(decoyMac, scannerMac, scannerIp, DECOY, { srcPort: 40001, dstPort: 81, flags: Flag.FIN | Flag.PSH | Flag.URG, seq: 5 }),
    udpFrame(decoyMac, scannerMac, scannerIp, DECOY, 40002, 7, Buffer.from('fuzz me')),
    udpFrame(decoyMac, scannerMac, scannerIp, DECOY, 40003, 9999, Buffer.alloc(300, 0x43)),
    icmpFrame(decoyMac, scannerMac, scannerIp, DECOY, icmpMessage(8, 0, 0x12340001, Buffer.alloc(56, 7))),
    ipFrame(decoyMac, scannerMac, { src: scannerIp, dst: DECOY, proto: 1, mf: true, id: 77, payload: icmpMessage(8, 0, 0x1, Buffer.alloc(64, 1)) }),
  ];
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const f = Buffer.from(bases[int(bases.length)] as Buffer);
    switch (int(6)) {
      case 0: // truncate anywhere past the Ethernet header
        out.push(f.subarray(0, 14 + int(f.length - 14)));
        continue;
      case 1: // flip 1-8 random bits beyond the MAC addresses
        for (let k = 1 + int(8); k > 0; k--) f[12 + int(f.length - 12)] ^= 1 << int(8);
        break;
      case 2: // IP header length / total length / fragment fields
        f[14] = 0x40 | int(16);
        f.writeUInt16BE(int(65536), 16);
        if (rand() < 0.5) f.writeUInt16BE(int(65536), 20);
        break;
      case 3: // TCP data offset and option bytes
        if (f.length > 54) {
          f[46] = (int(16) << 4) | (f[46] as number & 0x0f);
          for (let k = 54; k < Math.min(f.length, 74); k++) if (rand() < 0.5) f[k] = int(256);
        }
        break;
      case 4: // garbage after a valid header
        for (let k = 34; k < f.length; k++) f[k] = int(256);
        break;
      default: // a random protocol number and TTL
        f[23] = int(256);
        f[22] = int(256);
        break;
    }
    // An ARP frame whose sender address became the decoy's claims that address: decoyd rightly
    // yields it to the "owner" (tested elsewhere), which this test is not about.
    if (f.length >= 42 && f.readUInt16BE(12) === 0x0806 && f.readUInt32BE(28) === DECOY_NUM) continue;
    out.push(f);
  }
  return out;
}

/** Inject frames from the scanner namespace with the pcap binding: a bounded, paced loop in a child process. */
async function inject(lab: Lab, frames: Buffer[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'decoyd-fuzz-'));
  const file = join(dir, 'frames.json');
  writeFileSync(file, JSON.stringify(frames.map((f) => f.toString('base64'))));
  const script = `
const binding = require(${JSON.stringify(BINDING)});
const frames = JSON.parse(require('fs').readFileSync(${JSON.stringify(file)}, 'utf8')).map((b) => Buffer.from(b, 'base64'));
const s = new binding.PcapSession();
s.open_live(${JSON.stringify(lab.scannerIf)}, 'ether proto 0x9999', 1 << 20, 128, '', () => {}, false, 0, () => {}, false);
let i = 0;
const batch = () => {
  for (let n = 0; n < 200 && i < frames.length; n++, i++) { try { s.inject(frames[i]); } catch {} }
  if (i < frames.length) setTimeout(batch, 5); else { s.close(); process.exit(0); }
};
batch();
`;
  try {
    const r = await lab.exec(lab.scannerNs, [process.execPath, '-e', script], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('thousands of malformed frames on the wire never crash the daemon, which keeps answering', { skip: needsRoot.skip }, async (t) => {
  await withLab(t, {}, async (lab) => {
    const d = await startDaemon(lab, CONFIG);
    try {
      const announce = d.eventsOfKind('arp.announce')[0];
      assert.ok(announce);
      const scannerMac = (await lab.exec(lab.scannerNs, ['cat', `/sys/class/net/${lab.scannerIf}/address`])).stdout.trim();
      const seed = Number(process.env.WIRE_FUZZ_SEED ?? 20261123);
      await inject(lab, mutatedFrames(String(announce.mac), scannerMac, lab.scannerIp, seed, FRAMES));

      // Still alive, and still the same host: ARP, open/closed ports, echo.
      const before = await Promise.race([d.exited.then(() => 'exited'), new Promise((r) => setTimeout(() => r('running'), 500))]);
      assert.equal(before, 'running', `daemon exited during the fuzz (seed ${seed})`);
      const r = await arping(lab, DECOY, { count: 2 });
      assert.ok(r.replies.length > 0 && r.replies.every((x) => x.mac === announce.mac), r.stdout);
      const scan = await runNmap(lab, ['-sS', '-n', '-p', '22,23,80', DECOY], { flushNeighbours: true });
      const h = hostByAddress(scan, DECOY);
      assert.deepEqual(h?.ports.map((p) => `${p.port}=${p.state}`), ['22=open', '23=closed', '80=open']);
      // The malformed ones were dropped and recorded, not answered.
      assert.ok(d.eventsOfKind('drop').length > 100, `only ${d.eventsOfKind('drop').length} drop events`);
      const echo = await lab.exec(lab.scannerNs, ['timeout', '5', 'bash', '-c', `exec 3<>/dev/tcp/${DECOY}/22; printf 'still here\\n' >&3; IFS= read -r line <&3; printf '%s' "$line"`], { timeoutMs: 8000 });
      assert.equal(echo.stdout, 'still here');
    } finally {
      const exit = await d.stop();
      assert.equal(exit.code, 0, `daemon exit ${JSON.stringify(exit)}`);
    }
  });
});
