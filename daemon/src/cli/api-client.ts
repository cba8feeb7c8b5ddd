/**
 * `decoyd events|sources|scans`: read the admin API (`--api URL`, default http://127.0.0.1:8080,
 * token from DECOYD_ADMIN_TOKEN) and print readable tables, or the JSON with --json.
 */
import { parseArgs } from 'node:util';

type Row = Record<string, unknown>;

function get(obj: unknown, path: string): unknown {
  let at = obj;
  for (const key of path.split('.')) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Row)[key];
  }
  return at;
}

function cell(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

export function table(rows: string[][], header: string[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

const iso = (ms: unknown): string => (typeof ms === 'number' ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');

function eventRow(doc: unknown): string[] {
  const src = get(doc, 'source.ip');
  const sport = get(doc, 'source.port');
  const dst = get(doc, 'destination.ip');
  const dport = get(doc, 'destination.port');
  const extra = get(doc, 'decoyd');
  return [
    String(get(doc, '@timestamp') ?? ''), cell(get(doc, 'event.action')), cell(get(doc, 'network.transport')),
    `${cell(src)}${sport === undefined ? '' : `:${cell(sport)}`}`, `${cell(dst)}${dport === undefined ? '' : `:${cell(dport)}`}`,
    cell(get(doc, 'message') ?? get(doc, 'event.reason') ?? (extra === undefined ? '' : JSON.stringify(extra))),
  ];
}

const EVENT_HEADER = ['time', 'kind', 'proto', 'source', 'destination', 'detail'];

async function request(api: string, path: string, token: string | undefined): Promise<Response> {
  const res = await fetch(new URL(path, api), { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  if (!res.ok) {
    const body = await res.text();
    throw new Error(`${res.status} from ${path}: ${body}`);
  }
  return res;
}

export async function apiCommand(command: 'events' | 'sources' | 'scans', argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      api: { type: 'string', default: 'http://127.0.0.1:8080' }, json: { type: 'boolean', default: false },
      since: { type: 'string' }, src: { type: 'string' }, kind: { type: 'string' }, follow: { type: 'boolean', short: 'f', default: false },
      limit: { type: 'string', default: '100' },
    },
  });
  const token = process.env.DECOYD_ADMIN_TOKEN;
  const api = values.api as string;
  const out = (s: string): boolean => process.stdout.write(s);
  const q = new URLSearchParams();
  if (command === 'events') {
    if (values.since !== undefined) q.set('since', values.since);
    if (values.src !== undefined) q.set('src', values.src);
    if (values.kind !== undefined) q.set('kind', values.kind);
  }
  if (values.follow && command === 'events') {
    const res = await request(api, `/api/v1/events/stream?${q}`, token);
    if (!values.json) out(table([], EVENT_HEADER));
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let at;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, at);
        buf = buf.slice(at + 2);
        const data = frame.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        if (data === '' || frame.startsWith('event: dropped')) continue;
        out(values.json ? `${data}\n` : `${eventRow(JSON.parse(data)).join('  ')}\n`);
      }
    }
    return;
  }
  q.set('limit', values.limit as string);
  const body = (await (await request(api, `/api/v1/${command}?${q}`, token)).json()) as Row;
  if (values.json) {
    out(`${JSON.stringify(body, null, 2)}\n`);
    return;
  }
  if (command === 'events') {
    out(table(((body.events as unknown[]) ?? []).map(eventRow), EVENT_HEADER));
  } else if (command === 'sources') {
    out(table(((body.sources as Row[]) ?? []).map((s) => [cell(s.ip), iso(s.firstSeen), iso(s.lastSeen), cell(s.events)]), ['source', 'first seen', 'last seen', 'events']));
  } else {
    out(table(((body.scans as Row[]) ?? []).map((s) => [cell(s.srcIp), cell(s.scanType), cell(s.tool ?? '?'), cell(s.targetCount), cell(s.portCount), cell(s.packets), iso(s.firstSeen), iso(s.lastSeen)]),
      ['source', 'type', 'tool', 'hosts', 'ports', 'packets', 'first seen', 'last seen']));
  }
}
