/**
 * The admin API from inside the lab: real HTTP with curl in the honeynet namespace, where the
 * daemon's API listens on loopback. Shared by the e2e files that read the store over the API.
 */
import assert from 'node:assert/strict';
import type { Lab } from './lab';

export const ADMIN_TOKEN = 'e2e-admin-token-5f2c9a41d7';
export const ADMIN_API = 'http://127.0.0.1:8080';

export interface HttpResult { status: number; body: string }

/** One request (token null: no Authorization header). `extra` goes to curl before the URL (e.g. --cacert). */
export async function http(lab: Lab, path: string, token: string | null = ADMIN_TOKEN, opts: { base?: string; extra?: string[]; method?: string; body?: string } = {}): Promise<HttpResult> {
  const argv = ['curl', '-s', '-m', '10', '-o', '-', '-w', '\n%{http_code}', ...(opts.extra ?? []),
    ...(opts.method === undefined ? [] : ['-X', opts.method]),
    ...(opts.body === undefined ? [] : ['-H', 'content-type: application/json', '--data', opts.body]),
    ...(token === null ? [] : ['-H', `Authorization: Bearer ${token}`]), `${opts.base ?? ADMIN_API}${path}`];
  const r = await lab.exec(lab.honeyNs, argv, { timeoutMs: 15_000 });
  const at = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(at + 1)), body: r.stdout.slice(0, at) };
}

export async function json<T>(lab: Lab, path: string): Promise<T> {
  const r = await http(lab, path);
  assert.equal(r.status, 200, `${path}: ${r.status} ${r.body}`);
  return JSON.parse(r.body) as T;
}

/** An event as the API returns it: its ECS document. */
export type Doc = Record<string, Record<string, unknown>>;

/** Every event matching `query`, following the cursor. */
export async function allEvents(lab: Lab, query: string): Promise<Doc[]> {
  const out: Doc[] = [];
  let cursor: string | undefined;
  do {
    const page = await json<{ events: Doc[]; nextCursor?: string }>(lab, `/api/v1/events?${query}&limit=1000${cursor === undefined ? '' : `&cursor=${cursor}`}`);
    out.push(...page.events);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return out;
}

/** Packets a stored packet row stands for (the store folds alike packets of one interval: source.packets). */
export function packetsOf(e: Doc): number {
  const n = e.source?.packets;
  return typeof n === 'number' ? n : 1;
}

export function sumPackets(events: Doc[]): number {
  let n = 0;
  for (const e of events) n += packetsOf(e);
  return n;
}

/** The TCP flags of a stored tcp.packet (`S`, `F`, `FPU`, …). */
export function tcpFlags(e: Doc): unknown {
  return (e.decoyd?.tcp as Record<string, unknown> | undefined)?.flags;
}

/** Waits until the store has committed what the daemon emitted so far (its queue is empty). */
export async function storeSettled(lab: Lab): Promise<void> {
  for (let k = 0; k < 50; k++) {
    const s = await json<{ daemon: Record<string, number> }>(lab, '/api/v1/stats');
    if (s.daemon.storeQueueDepth === 0 && s.daemon.storeTallyBuckets === 0 && s.daemon.storeWritten === s.daemon.events) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('store did not settle');
}

/** Polls `fetch` until `ok` holds for its answer or `ms` pass; returns the last answer either way. */
export async function poll<T>(fetch: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fetch();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 500));
  }
}
