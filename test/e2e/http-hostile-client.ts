/**
 * Hostile HTTP clients, run by services-http.test.ts inside the scanner namespace against the
 * HTTP emulator: garbage bytes, a 1 MB header, 2,000 pipelined requests on one connection (and 300
 * inside TLS), and a
 * slowloris that sends a header byte every 300 ms. Prints one JSON line of what each got back;
 * exits 1 only on its own errors.
 */
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { randomBytes } from 'node:crypto';

const target = process.argv[2] ?? '198.51.100.20';
const port = Number(process.argv[3] ?? 80);
const slowPort = Number(process.argv[4] ?? 8080);
const tlsPort = Number(process.argv[5] ?? 443);

interface Outcome { firstLine: string; bytes: number; closedMs: number; responses: number }

/** Sends `write(socket)` and collects the answer until the server closes (or `limitMs`). */
function exchange(p: number, write: (send: (b: Buffer | string) => boolean, done: () => void) => void, limitMs = 30_000, tls = false): Promise<Outcome> {
  return new Promise((resolve) => {
    const started = Date.now();
    const s = tls ? tlsConnect({ host: target, port: p, rejectUnauthorized: false }) : connect({ host: target, port: p });
    let data = Buffer.alloc(0);
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      const text = data.toString('latin1');
      resolve({ firstLine: text.split('\r\n')[0] ?? '', bytes: data.length, closedMs: Date.now() - started, responses: (text.match(/HTTP\/1\.[01] \d\d\d /g) ?? []).length });
      s.destroy();
    };
    const timer = setTimeout(finish, limitMs);
    s.on('data', (d: Buffer) => { if (data.length < 4 * 1024 * 1024) data = Buffer.concat([data, d]); });
    s.on('end', finish);
    s.on('close', finish);
    s.on('error', finish);
    s.on(tls ? 'secureConnect' : 'connect', () => write((b) => (s.destroyed ? false : s.write(b)), () => s.end()));
  });
}

async function main(): Promise<void> {
  const report: Record<string, unknown> = {};
  // Garbage: 20 connections of random bytes each.
  const garbage = await Promise.all(Array.from({ length: 20 }, () => exchange(port, (send) => { send(randomBytes(4096)); })));
  report['garbageFirstLines'] = [...new Set(garbage.map((g) => g.firstLine))];
  report['garbageClosed'] = garbage.filter((g) => g.closedMs < 29_000).length;
  // A 1 MB header.
  const big = await exchange(port, (send) => {
    send('GET / HTTP/1.1\r\nHost: x\r\nX-Big: ');
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    for (let i = 0; i < 16; i++) send(chunk);
    send('\r\n\r\n');
  });
  report['bigHeader'] = big;
  // 2,000 pipelined requests in one go.
  const pipelined = await exchange(port, (send) => { send('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(2000)); }, 60_000);
  report['pipelined'] = pipelined;
  // 300 pipelined requests inside TLS (Apache: 100 per connection, its MaxKeepAliveRequests).
  report['tlsPipelined'] = await exchange(tlsPort, (send) => { send('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(300)); }, 60_000, true);
  // Slowloris: one header byte every 300 ms, never the empty line.
  const slow = await exchange(slowPort, (send) => {
    send('GET / HTTP/1.1\r\nHost: x\r\n');
    const tick = setInterval(() => { if (!send('X')) clearInterval(tick); }, 300);
    setTimeout(() => clearInterval(tick), 25_000);
  }, 30_000);
  report['slowloris'] = slow;
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
