/**
 * A credential flood for services-ssh-telnet.test.ts, run inside the scanner namespace:
 * `node ssh-flood-client.js HOST PORT CONNECTIONS TRIES`. Opens CONNECTIONS ssh2 client sessions
 * at once; each offers TRIES passwords (user `root`, passwords `flood-<conn>-<try>`). Prints one
 * JSON line: how many connections ended, by how, and how many passwords were sent.
 */
import { Client } from 'ssh2';

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
