/**
 * Hostile SSH clients for services-ssh-telnet.test.ts, run inside the scanner namespace.
 * - `node ssh-flood-client.js HOST PORT CONNECTIONS TRIES`: a credential flood. Opens CONNECTIONS
 *   ssh2 client sessions at once; each offers TRIES passwords (user `root`, passwords
 *   `flood-<conn>-<try>`). Prints one JSON line: how the connections ended and the passwords sent.
 * - `node ssh-flood-client.js garbage HOST PORT CONNECTIONS`: CONNECTIONS raw connections at once,
 *   each sending a bad identification line, a bad packet length after a good one, or random bytes,
 *   held 3 s. Prints how many got the server's identification and OpenSSH's refusal.
 */
import { Client } from 'ssh2';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';

if (process.argv[2] === 'garbage') garbage(process.argv[3] ?? '', Number(process.argv[4] ?? 22), Number(process.argv[5] ?? 1000));
else flood();

function garbage(host: string, port: number, n: number): void {
  const counts = { opened: 0, errors: 0, gotIdent: 0, gotInvalid: 0, closedByServer: 0 };
  let pending = n;
  const finish = (): void => { if (--pending === 0) { process.stdout.write(`${JSON.stringify(counts)}\n`); process.exit(0); } };
  for (let i = 0; i < n; i++) {
    const s = connect({ host, port });
    let got = '';
    let done = false;
    const end = (): void => { if (!done) { done = true; s.destroy(); finish(); } };
    s.on('connect', () => {
      counts.opened++;
      const kind = i % 3;
      s.write(kind === 0 ? 'SSH-1337-OpenSSH_9.0\r\n' : kind === 1 ? 'SSH-2.0-x\r\n\r\r\r\r\r\r\r\r' : randomBytes(64));
      setTimeout(end, 3000);
    });
    let sawIdent = false;
    let sawInvalid = false;
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (!sawIdent && /^SSH-2\.0-\S+.*\r\n/.test(got)) { sawIdent = true; counts.gotIdent++; }
      if (!sawInvalid && got.includes('\r\nInvalid SSH identification string.\r\n')) { sawInvalid = true; counts.gotInvalid++; }
    });
    s.on('end', () => { counts.closedByServer++; end(); });
    s.on('error', () => { counts.errors++; end(); });
  }
  setTimeout(() => { process.stdout.write(`${JSON.stringify({ ...counts, timedOut: true })}\n`); process.exit(0); }, 60_000).unref();
}

function flood(): void {
const [host = '', portText = '22', connText = '50', triesText = '6'] = process.argv.slice(2);
const port = Number(portText);
const connections = Number(connText);
const tries = Number(triesText);

let sent = 0;
let finished = 0;
const outcomes: Record<string, number> = {};

function one(index: number): Promise<void> {
  return new Promise((resolve) => {
    const c = new Client();
    let n = 0;
    const done = (why: string): void => {
      outcomes[why] = (outcomes[why] ?? 0) + 1;
      finished++;
      c.end();
      resolve();
    };
    c.on('ready', () => done('accepted'));
    c.on('error', (err: Error) => done(/All configured authentication methods failed/.test(err.message) ? 'refused' : `error: ${err.message.slice(0, 60)}`));
    c.on('close', () => { if (finished < connections) resolve(); });
    c.connect({
      host, port, username: 'root', readyTimeout: 120_000,
      authHandler: (_methods, _partial, next) => {
        if (n >= tries) return next(false as never);
        n++;
        sent++;
        next({ type: 'password', username: 'root', password: `flood-${index}-${n}` });
        return undefined;
      },
    });
  });
}

void Promise.all(Array.from({ length: connections }, (_, i) => one(i))).then(() => {
  process.stdout.write(`${JSON.stringify({ connections, finished, sent, outcomes })}\n`);
  process.exit(0);
});
setTimeout(() => { process.stdout.write(`${JSON.stringify({ connections, finished, sent, outcomes, timedOut: true })}\n`); process.exit(0); }, 170_000).unref();
}
