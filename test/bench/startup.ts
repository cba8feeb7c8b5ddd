/**
 * In-process benchmarks, no network and no namespace: start-up of a /16, and the engine's SYN path alone.
 *
 * Start-up: 65,536 static hosts (a /16) are generated as a DecoydConfig object. Their addresses come
 * from 198.18.0.0/16, the RFC 2544 network-benchmarking range; they exist only in memory, because
 * the link is a fake that counts frames and sends nothing. The real Daemon runs on that link with
 * RFC 5227 probing on, ticking on the real clock, so "ready" includes the configured probe wait.
 * Then one SYN (to a closed port) is handed to every host through the link's receive handler, which
 * creates every lazy personality; memory is measured before and after.
 *
 * Engine alone: SYNs to an open port of one decoy, each followed by the RST a scanner's kernel sends
 * for the SYN/ACK, handed straight to Engine.handleFrame: the per-packet cost without libpcap.
 *
 * Run: node --expose-gc dist/test/bench/startup.js [--json]   (pps.js runs it as a child process)
 */
import { emptyTopology } from '../../daemon/src/config/topology';
import { cpus } from 'node:os';
import { assemble, Daemon } from '../../daemon/src/daemon';
import { DEFAULT_MAC_PREFIXES_FILE, DEFAULT_OSDB_FILE } from '../../daemon/src/config/model';
import { DEFAULT_CLAIM, DEFAULT_DETECT, DEFAULT_LIMITS, type DecoydConfig, type HostBinding, type TemplateConfig } from '../../daemon/src/config/types';
import type { DecoyEvent, DecoyEventKind, EventSink } from '../../daemon/src/events/event';
import { FanoutSink, recordSinkOf, type RecordSink } from '../../daemon/src/events/fanout-sink';
import { COUNTED_KINDS } from '../../daemon/src/events/packet-tally';
import type { FrameHandler, Link } from '../../daemon/src/link/link';
import { openPersonalitySource } from '../../daemon/src/personality/source';
import { ipToString } from '../../daemon/src/wire/address';
import { ETH_HEADER_LEN, EtherType, writeEthernet } from '../../daemon/src/wire/ethernet';
import { IpProto, writeIpv4 } from '../../daemon/src/wire/ipv4';
import { TCP_MIN_HEADER, writeTcp } from '../../daemon/src/wire/tcp';

const HOST_COUNT = 65_536;
/** RFC 2544 benchmarking network; used only in memory here. */
const BENCH_NETWORK = (198 << 24 >>> 0) + (18 << 16);
/** The in-memory peer: 198.19.0.0, also RFC 2544, never a decoy. */
const PEER_IP = BENCH_NETWORK + HOST_COUNT;
const PEER_MAC = Buffer.from([0x02, 0, 0, 0, 0, 0x01]);
const OPEN_PORT = 22;
const CLOSED_PORT = 23;
const READY_TIMEOUT_MS = 30_000;
/** If assemble() of the /16 would take longer than this (projected from a sample), a smaller population is run instead. */
const ASSEMBLE_BUDGET_MS = 40_000;
const SAMPLE_HOSTS = 1024;
/** Creating every personality is bounded too: past this, the rest is extrapolated from the hosts touched. */
const TOUCH_BUDGET_MS = 10_000;
const ENGINE_PORTS = 50_000;
const ENGINE_PASSES = 4;
const MB = 1024 * 1024;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;

export interface StartupFigures {
  hosts: number;
  /** assemble() time per host measured on a sample, times 65,536. */
  projectedAssembleMs: number;
  assembleMs: number;
  /** Wall clock from assemble() to the ready callback (includes the configured probe wait). */
  readyMs: number;
  /** The RFC 5227 probe wait included in readyMs. */
  probeWaitMs: number;
  /** CPU (user+system) spent from assemble() to ready. */
  readyCpuMs: number;
  framesToReady: number;
  bytesToReady: number;
  /** After the second gratuitous announcement of every host. */
  framesAfterAnnounce: number;
  rssAfterStartMb: number;
  heapAfterStartMb: number;
  touchMs: number;
  /** Hosts that got their SYN before the touch budget ran out (normally all). */
  touched: number;
  touchReplies: number;
  rssAfterTouchMb: number;
  heapAfterTouchMb: number;
  gcExposed: boolean;
}

export interface EngineFigures {
  syns: number;
  ms: number;
  cpuMs: number;
  synAcks: number;
  /** Whether the scan detector observed the packets. */
  detect: boolean;
  /** Whether a store-like sink counted the packets (FanoutSink's PacketTally, drained every pass). */
  store?: boolean;
}

/** A Link that sends nothing: it counts frames and keeps the receive handler for direct calls. */
class CountingLink implements Link {
  readonly name = 'bench-fake';
  frames = 0;
  bytes = 0;
  handler: FrameHandler = () => {};
  send(_frame: Buffer, length: number): void {
    this.frames++;
    this.bytes += length;
  }
  onFrame(handler: FrameHandler): void { this.handler = handler; }
  close(): void {}
}

/** Records what a daemon at log level `warn` would record (no per-packet events), and counts it. */
class WarnLevelSink implements EventSink {
  private static readonly WANTED = new Set<DecoyEventKind>(['arp.release', 'arp.conflict', 'daemon.refuse', 'daemon.error']);
  readonly counts = new Map<string, number>();
  wants(kind: DecoyEventKind): boolean { return WarnLevelSink.WANTED.has(kind); }
  emit(event: DecoyEvent): void {
    if (this.wants(event.kind)) this.counts.set(event.kind, (this.counts.get(event.kind) ?? 0) + 1);
  }
}

function benchConfig(hostCount: number, firstHost = BENCH_NETWORK): DecoydConfig {
  const template: TemplateConfig = {
    name: 't',
    dropRateIn: 0,
    defaults: { tcp: 'reset', udp: 'reset', icmp: 'open' },
    ports: [{ proto: 'tcp', port: OPEN_PORT, action: 'open' }],
  };
  const hosts: HostBinding[] = [];
  for (let i = 0; i < hostCount; i++) hosts.push({ address: ipToString(firstHost + i), template: 't', origin: `bench:${i}` });
  return {
    source: 'bench:startup',
    osDb: [DEFAULT_OSDB_FILE],
    macPrefixes: DEFAULT_MAC_PREFIXES_FILE,
    templates: new Map([['t', template]]),
    hosts,
    claims: [],
    dhcp: [],
    topology: emptyTopology(),
    limits: { ...DEFAULT_LIMITS },
    claim: { ...DEFAULT_CLAIM, probeBeforeBind: true },
    log: { level: 'warn' },
    detect: { ...DEFAULT_DETECT },
  };
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) { gc(); gc(); }
}

function memory(): { rss: number; heap: number } {
  collect();
  const m = process.memoryUsage();
  return { rss: m.rss / MB, heap: m.heapUsed / MB };
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** A TCP segment from the in-memory peer to `dstIp` behind `dstMac`, checksums filled in. Returns the frame length. */
function writeSegment(buf: Buffer, off: number, dstMac: Buffer, dstIp: number, srcPort: number, dstPort: number, flags: number, seq: number): number {
  const frame = buf.subarray(off);
  writeEthernet(frame, dstMac, 0, PEER_MAC, EtherType.IPV4);
  const tcpOff = ETH_HEADER_LEN + 20;
  // A SYN offers MSS 1460, as hping3's does not but every real client does; the RST carries no options.
  const opts = flags === TCP_SYN ? Buffer.from([2, 4, 0x05, 0xb4]) : null;
  const optLen = opts === null ? 0 : opts.length;
  const segLen = writeTcp(frame, tcpOff, { srcPort, dstPort, seq, ack: 0, flags, reserved: 0, window: 1024, urgentPointer: 0 },
    opts, optLen, 0, PEER_IP, dstIp);
  writeIpv4(frame, ETH_HEADER_LEN, { tos: 0, totalLength: 20 + segLen, id: srcPort, df: false, ttl: 64, protocol: IpProto.TCP, src: PEER_IP, dst: dstIp });
  return ETH_HEADER_LEN + 20 + TCP_MIN_HEADER + optLen;
}

/** assemble() alone for a small population: its per-host cost decides whether the /16 fits the time budget. */
function sampleAssembleMsPerHost(): number {
  const cfg = benchConfig(SAMPLE_HOSTS);
  const personalities = openPersonalitySource(cfg, () => {});
  const t0 = performance.now();
  assemble(cfg, personalities, new WarnLevelSink(), () => {}, () => {});
  return (performance.now() - t0) / SAMPLE_HOSTS;
}

export async function runStartupBench(): Promise<StartupFigures> {
  const perHost = sampleAssembleMsPerHost();
  const projectedAssembleMs = perHost * HOST_COUNT;
  let hostCount = HOST_COUNT;
  while (hostCount > SAMPLE_HOSTS && perHost * hostCount > ASSEMBLE_BUDGET_MS / 5) hostCount /= 2;
  if (projectedAssembleMs <= ASSEMBLE_BUDGET_MS) hostCount = HOST_COUNT;

  const cfg = benchConfig(hostCount);
  const events = new WarnLevelSink();
  const personalities = openPersonalitySource(cfg, (msg) => process.stderr.write(`personality source: ${msg}\n`));
  const link = new CountingLink();

  let readyAt = -1;
  let framesAtReady = 0;
  let bytesAtReady = 0;
  let cpuAtReady = 0;
  collect();
  const t0 = performance.now();
  const cpu0 = cpuMs();
  const parts = assemble(cfg, personalities, events, (f, n) => link.send(f, n), () => {
    readyAt = performance.now();
    framesAtReady = link.frames;
    bytesAtReady = link.bytes;
    cpuAtReady = cpuMs();
  });
  const assembleMs = performance.now() - t0;
  const daemon = new Daemon(parts, link);
  try {
    daemon.start();
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (readyAt < 0 && Date.now() < deadline) await sleep(10);
    if (readyAt < 0) throw new Error(`not ready within ${READY_TIMEOUT_MS} ms (${link.frames} frames sent)`);
    if (parts.table.size !== hostCount) throw new Error(`ready with ${parts.table.size} of ${hostCount} hosts bound`);
    const afterStart = memory();

    // The second gratuitous ARP goes out announceInterval (2 s) after the first; wait for all of them.
    const expectedStartFrames = hostCount * 4; // 2 probes + 2 announcements each
    const announceDeadline = Date.now() + 5_000;
    while (link.frames < expectedStartFrames && Date.now() < announceDeadline) await sleep(50);
    const framesAfterAnnounce = link.frames;

    // One SYN to a closed port of every host: each creates its personality and answers with RST/ACK.
    const frame = Buffer.alloc(128);
    const before = link.frames;
    const touch0 = performance.now();
    let touched = 0;
    for (const host of parts.table.hosts()) {
      const len = writeSegment(frame, 0, host.mac, host.ip, 1024 + (touched % 60000), CLOSED_PORT, TCP_SYN, 0x01020304);
      link.handler(frame, len, Date.now());
      touched++;
      if ((touched & 255) === 0 && performance.now() - touch0 > TOUCH_BUDGET_MS) break;
    }
    const touchMs = performance.now() - touch0;
    const touchReplies = link.frames - before;
    if (touchReplies !== touched) throw new Error(`${touchReplies} replies to ${touched} SYNs`);
    const afterTouch = memory();

    return {
      hosts: hostCount,
      projectedAssembleMs,
      assembleMs,
      readyMs: readyAt - t0,
      probeWaitMs: cfg.claim.probeWaitMs,
      readyCpuMs: cpuAtReady - cpu0,
      framesToReady: framesAtReady,
      bytesToReady: bytesAtReady,
      framesAfterAnnounce,
      rssAfterStartMb: afterStart.rss,
      heapAfterStartMb: afterStart.heap,
      touchMs,
      touched,
      touchReplies,
      rssAfterTouchMb: afterTouch.rss,
      heapAfterTouchMb: afterTouch.heap,
      gcExposed: (globalThis as { gc?: unknown }).gc !== undefined,
    };
  } finally {
    daemon.stop();
  }
}

/**
 * SYN to the open port of one decoy, then the RST the scanner's kernel sends back for our SYN/ACK
 * (seq = SYN seq + 1), from 50,000 source ports in turn, several passes: the half-open connection
 * is made and torn down every time, as in the hping3 flood, with frames prebuilt so the loop
 * measures the engine only.
 */
/** Stands in for the store writer on the daemon thread: counts packets folded (FanoutSink's tally) and queues the rows. */
class QueueingStoreSink implements RecordSink {
  readonly countsPackets = true;
  readonly rows: DecoyEvent[] = [];
  wants(kind: DecoyEventKind): boolean { return !COUNTED_KINDS.has(kind); }
  write(event: DecoyEvent): void { if (this.rows.length < 100_000) this.rows.push(event); }
}

export function runEngineBench(detect = true, store = false): EngineFigures {
  const decoyIp = BENCH_NETWORK + 10;
  const cfg = benchConfig(1, decoyIp);
  cfg.claim = { ...cfg.claim, probeBeforeBind: false };
  cfg.detect = { ...cfg.detect, enabled: detect };
  const link = new CountingLink();
  const fan = store ? new FanoutSink([recordSinkOf(new WarnLevelSink()), new QueueingStoreSink()]) : undefined;
  const parts = assemble(cfg, openPersonalitySource(cfg, () => {}), fan ?? new WarnLevelSink(), (f, n) => link.send(f, n), () => {});
  const daemon = new Daemon(parts, link);
  daemon.start();
  try {
    const host = parts.staticHosts[0];
    if (host === undefined) throw new Error('no host');
    const FRAME = 64;
    const frames = Buffer.alloc(ENGINE_PORTS * 2 * FRAME);
    const lengths = new Uint16Array(ENGINE_PORTS * 2);
    for (let p = 0; p < ENGINE_PORTS; p++) {
      const seq = (0x10000000 + p * 7919) >>> 0;
      lengths[2 * p] = writeSegment(frames, 2 * p * FRAME, host.mac, host.ip, 1024 + p, OPEN_PORT, TCP_SYN, seq);
      lengths[2 * p + 1] = writeSegment(frames, (2 * p + 1) * FRAME, host.mac, host.ip, 1024 + p, OPEN_PORT, TCP_RST, (seq + 1) >>> 0);
    }
    const views = Array.from({ length: ENGINE_PORTS * 2 }, (_, k) => frames.subarray(k * FRAME, (k + 1) * FRAME));
    const pass = (): void => {
      const now = Date.now();
      for (let k = 0; k < views.length; k++) link.handler(views[k] as Buffer, lengths[k] as number, now);
      fan?.drainCounts(); // as the store's flush timer does, once per interval
    };
    pass(); // warm-up: JIT, personality creation
    const sentBefore = link.frames;
    const t0 = performance.now();
    const c0 = cpuMs();
    for (let n = 0; n < ENGINE_PASSES; n++) pass();
    const ms = performance.now() - t0;
    const synAcks = link.frames - sentBefore;
    if (parts.engine.tcp.connectionCount !== 0) throw new Error(`${parts.engine.tcp.connectionCount} connections left after the RSTs`);
    return { syns: ENGINE_PASSES * ENGINE_PORTS, ms, cpuMs: cpuMs() - c0, synAcks, detect, store };
  } finally {
    daemon.stop();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function formatStartup(f: StartupFigures): string {
  const n = (x: number, d = 0): string => x.toFixed(d);
  const lines = [`Startup: ${f.hosts} static hosts (in memory, 198.18.0.0/16, fake link), probe_before_bind on (probe wait ${f.probeWaitMs} ms), events as at log level warn`];
  if (f.hosts < HOST_COUNT) {
    lines.push(`  !! REDUCED from ${HOST_COUNT}: assemble() costs ${n(f.projectedAssembleMs / HOST_COUNT, 2)} ms per host, so the /16 would take ~${n(f.projectedAssembleMs / 1000)} s to assemble (over the bench budget)`);
  }
  lines.push(
    `  assemble()                       ${n(f.assembleMs)} ms`,
    `  assemble() -> ready callback     ${n(f.readyMs)} ms wall (of which ${f.probeWaitMs} ms is the RFC 5227 probe wait), ${n(f.readyCpuMs)} ms CPU   [target for the /16: < 2000 ms]`,
    `  frames sent until ready          ${f.framesToReady} (${n(f.bytesToReady / MB, 1)} MB); after the 2nd announcement ${f.framesAfterAnnounce}`,
    `  after start                      RSS ${n(f.rssAfterStartMb)} MB, heap used ${n(f.heapAfterStartMb)} MB   [target for the /16: RSS < 150 MB]`,
    `  one SYN to every host            ${n(f.touchMs)} ms for ${f.touched} hosts (${n(f.touched / (f.touchMs / 1000))} frames/s, personality creation included), ${f.touchReplies} replies`,
    `  after every personality exists   RSS ${n(f.rssAfterTouchMb)} MB, heap used ${n(f.heapAfterTouchMb)} MB`,
  );
  if (f.touched < f.hosts) {
    const perHostMb = (f.heapAfterTouchMb - f.heapAfterStartMb) / f.touched;
    lines.push(`  !! only ${f.touched} of ${f.hosts} touched within ${TOUCH_BUDGET_MS / 1000} s: all would take ~${n((f.touchMs / f.touched) * f.hosts / 1000)} s `
      + `and ~${n(perHostMb * f.hosts)} MB more heap (${n(perHostMb * 1024, 1)} KB per personality)`);
  }
  if (f.hosts < HOST_COUNT) {
    const perHostMb = (f.heapAfterTouchMb - f.heapAfterStartMb) / f.touched;
    lines.push(`  !! for the /16: personalities alone would add ~${n(perHostMb * HOST_COUNT)} MB heap (${n(perHostMb * 1024, 1)} KB each) and ~${n((f.touchMs / f.touched) * HOST_COUNT / 1000)} s of creation`);
  }
  if (!f.gcExposed) lines.push('  (run with --expose-gc for memory after a full collection)');
  return lines.join('\n');
}

export function formatEngine(f: EngineFigures): string {
  const perSyn = (f.cpuMs * 1000) / f.syns;
  return `Engine alone (in-process, no pcap, scan detector ${f.detect ? 'on' : 'off'}${f.store === true ? ', store counting packets' : ''}): SYN to an open port + the peer's RST, ${f.syns} times: `
    + `${Math.round(f.syns / (f.ms / 1000)).toLocaleString('en-US')} SYN/ACK/s, ${perSyn.toFixed(2)} µs CPU per SYN (2 frames in, 1 out), ${f.synAcks} SYN/ACKs`;
}

if (require.main === module) {
  (async () => {
    const engine = runEngineBench();
    const engineNoDetect = runEngineBench(false);
    const engineStore = runEngineBench(true, true);
    const startup = await runStartupBench();
    return { engine, engineNoDetect, engineStore, startup };
  })().then((figures) => {
    if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(figures)}\n`);
    else process.stdout.write(`${formatEngine(figures.engine)}\n${formatEngine(figures.engineNoDetect)}\n${formatEngine(figures.engineStore)}\n${formatStartup(figures.startup)}\n  (${cpus()[0]?.model ?? 'cpu?'}, node ${process.version})\n`);
    process.exit(0);
  }, (err: unknown) => {
    process.stderr.write(`in-process bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  });
}
