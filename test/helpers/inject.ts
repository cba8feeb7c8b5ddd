/**
 * Hand-built probes for what hping3 cannot craft (TCP options in any order): a short node script,
 * run inside a lab namespace, opens the interface with the `pcap` binding, injects the given
 * Ethernet frames at a fixed spacing and captures the frames that match a filter until a deadline.
 * Bounded: at most 64 frames, at most 20 s of capture.
 */
import { resolve } from 'node:path';
import type { Lab } from '../../daemon/src/lab/netns';

export interface InjectOptions {
  /** pcap filter for the replies to keep (no `inbound`: libpcap loses the first frame with it). */
  filter: string;
  /** Namespace and interface; default the scanner's. */
  ns?: string;
  ifName?: string;
  /** Spacing between injected frames (default 100 ms, Nmap's SEQ spacing). */
  gapMs?: number;
  /** Capture time after the last frame (default 500 ms). */
  waitMs?: number;
}

export interface CapturedFrame {
  /** Capture time, ms since the epoch. */
  timeMs: number;
  frame: Buffer;
}

const MAX_FRAMES = 64;
const MAX_CAPTURE_MS = 20_000;
const BINDING = resolve(__dirname, '../../../node_modules/pcap/build/Release/pcap_binding');

/** Runs in the namespace: reads {dev, filter, frames, gapMs, waitMs} from stdin, prints the captured frames as JSON. */
const SCRIPT = `
const binding = require(process.argv[1]);
let input = '';
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const job = JSON.parse(input);
  const session = new binding.PcapSession();
  const rx = Buffer.alloc(4096);
  const header = Buffer.alloc(16);
  const got = [];
  session.open_live(job.dev, job.filter, 1 << 20, 4096, '', () => {
    const caplen = Math.min(header.readUInt32LE(8), rx.length);
    got.push({ t: header.readUInt32LE(0) * 1000 + header.readUInt32LE(4) / 1000, hex: rx.subarray(0, caplen).toString('hex') });
  }, false, 0, () => {}, true);
  session.read_callback = () => { session.dispatch(rx, header); };
  session.start_polling();
  job.frames.forEach((hex, i) => setTimeout(() => session.inject(Buffer.from(hex, 'hex')), 50 + i * job.gapMs));
  setTimeout(() => {
    session.close();
    process.stdout.write(JSON.stringify(got));
    process.exit(0);
  }, 50 + job.frames.length * job.gapMs + job.waitMs);
});
`;

/** Injects `frames` in order and returns every frame matching `opts.filter` seen meanwhile. */
export async function injectAndCapture(lab: Lab, frames: readonly Buffer[], opts: InjectOptions): Promise<CapturedFrame[]> {
  if (frames.length > MAX_FRAMES) throw new Error(`at most ${MAX_FRAMES} frames per call`);
  const gapMs = Math.max(0, opts.gapMs ?? 100);
  const waitMs = Math.max(0, opts.waitMs ?? 500);
  const total = 50 + frames.length * gapMs + waitMs;
  if (total > MAX_CAPTURE_MS) throw new Error(`capture of ${total} ms exceeds ${MAX_CAPTURE_MS} ms`);
  const job = { dev: opts.ifName ?? lab.scannerIf, filter: opts.filter, frames: frames.map((f) => f.toString('hex')), gapMs, waitMs };
  const result = await lab.exec(opts.ns ?? lab.scannerNs, [process.execPath, '-e', SCRIPT, BINDING], {
    input: JSON.stringify(job),
    timeoutMs: total + 5000,
  });
  if (result.code !== 0) throw new Error(`inject script failed (${result.code}): ${result.stderr.trim()}`);
  const parsed = JSON.parse(result.stdout) as Array<{ t: number; hex: string }>;
  return parsed.map((p) => ({ timeMs: p.t, frame: Buffer.from(p.hex, 'hex') }));
}

/** The MAC address of an interface inside a namespace. */
export async function interfaceMac(lab: Lab, ns: string, ifName: string): Promise<string> {
  const r = await lab.exec(ns, ['cat', `/sys/class/net/${ifName}/address`], { timeoutMs: 3000 });
  const mac = r.stdout.trim().toLowerCase();
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac)) throw new Error(`no MAC for ${ifName} in ${ns}: ${r.stderr}`);
  return mac;
}
