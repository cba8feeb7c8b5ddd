/**
 * Hostile TCP clients, run by tcp-socket-lab.test.ts inside the scanner namespace: garbage to
 * every service, byte floods, 2000 connections held open, and peers that write but never read.
 * Meanwhile a well-behaved client opens a fresh echo connection every second and must get its
 * bytes back within a deadline. Prints one JSON line of counts; exits 1 only on its own errors.
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';

const target = process.argv[2] ?? '198.51.100.10';
const HOLD = 2000;
const FLOODS = 8;
const NON_READERS = 20;
const RUN_MS = 15_000;
const PROBE_DEADLINE_MS = 5000;

const counts = { connectionsOpened: 0, connectionErrors: 0, floodBytes: 0, nonReaderBytes: 0, probeEchoOk: 0, probeFailures: 0 };
const sockets: Socket[] = [];

function open(port: number, onConnect: (s: Socket) => void): void {
  const s = connect({ host: target, port });
  sockets.push(s);
  s.on('connect', () => { counts.connectionsOpened++; onConnect(s); });
  s.on('error', () => { counts.connectionErrors++; });
}

let stopping = false;

// 2000 connections held open, each with a little garbage for the discard and banner services.
for (let i = 0; i < HOLD; i++) open(i % 2 === 0 ? 9 : 22, (s) => { s.write(randomBytes(64)); s.on('data', () => {}); });

// Byte floods into discard and echo (the echo one reads, so it is a flood both ways).
for (let i = 0; i < FLOODS; i++) {
  open(i % 2 === 0 ? 9 : 7, (s) => {
    const chunk = randomBytes(65536);
    s.on('data', () => {});
    const pump = (): void => {
      while (!stopping && s.write(chunk)) counts.floodBytes += chunk.length;
      if (!stopping) s.once('drain', pump);
    };
    pump();
  });
}

// Peers that send to echo and never read: decoyd's send buffer fills, then its window closes.
for (let i = 0; i < NON_READERS; i++) {
  open(7, (s) => {
    s.pause();
    const chunk = randomBytes(16384);
    const pump = (): void => {
      while (!stopping && s.write(chunk)) counts.nonReaderBytes += chunk.length;
      if (!stopping) s.once('drain', pump);
    };
    pump();
  });
}

// The well-behaved client.
function probe(): void {
  const payload = randomBytes(1000);
  let got = Buffer.alloc(0);
  let done = false;
  const s = connect({ host: target, port: 7 });
  const timer = setTimeout(() => { if (!done) { done = true; counts.probeFailures++; s.destroy(); } }, PROBE_DEADLINE_MS);
  s.on('connect', () => s.write(payload));
  s.on('data', (d: Buffer) => {
    got = Buffer.concat([got, d]);
    if (!done && got.length >= payload.length) {
      done = true;
      clearTimeout(timer);
      if (got.subarray(0, payload.length).equals(payload)) counts.probeEchoOk++;
      else counts.probeFailures++;
      s.destroy();
    }
  });
  s.on('error', () => { if (!done) { done = true; clearTimeout(timer); counts.probeFailures++; } });
}

const probes = setInterval(probe, 1000);
setTimeout(() => {
  stopping = true;
  clearInterval(probes);
  // Let the last probe finish, then tear everything down.
  setTimeout(() => {
    for (const s of sockets) s.destroy();
    process.stdout.write(`${JSON.stringify(counts)}\n`);
    process.exit(0);
  }, PROBE_DEADLINE_MS + 500);
}, RUN_MS);
