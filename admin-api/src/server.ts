/**
 * The operators' HTTP API (fastify, schema-first). Every route declares its input schema; the
 * OpenAPI document is generated from them. It reads only the StoreQuery interface and the
 * control/live/pcap/metrics interfaces in control.ts, never the engine.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import type { StoreQuery } from '../../daemon/src/store/query';
import type { AdminControl, LiveEvents, LiveFilter, MetricsSource, PcapSource } from './control';
import { DEFAULT_AUTH_LIMITS, FailedAuthLimiter, tokenMatches, type AuthLimits } from './auth';
import { docsPage } from './docs-page';

export interface AdminApiOptions {
  store: StoreQuery;
  /** Absent: every route except /health answers 401 (there is no way in without a token). */
  token?: string;
  control?: AdminControl;
  live?: LiveEvents;
  pcap?: PcapSource;
  metrics?: MetricsSource;
  authLimits?: AuthLimits;
  /** Streaming clients at most, and bytes buffered per client before events are dropped for it. */
  maxStreamClients?: number;
  maxStreamBufferBytes?: number;
  /** Failed-auth and other notices for the daemon's log. */
  log?: (message: string) => void;
  /** PEM certificate and key: serve HTTPS only. */
  tls?: { cert: Buffer; key: Buffer };
  now?: () => number;
}

const IPV4 = { type: 'string', pattern: '^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$', description: 'dotted IPv4 address' } as const;
const TIME = { type: 'string', pattern: '^([0-9]{1,16}|[0-9]{1,9}[smhd]|[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2})?)?)$', description: 'epoch milliseconds, ISO-8601, or an age such as 10m, 2h, 7d' } as const;
const KIND = { type: 'string', pattern: '^[a-z][a-z0-9.-]{0,63}$', description: 'event.action, e.g. tcp.packet' } as const;
const LIMIT = { type: 'integer', minimum: 1, maximum: 1000, default: 100 } as const;
const FILTERS = {
  src: IPV4, dst: IPV4, proto: { type: 'string', enum: ['tcp', 'udp', 'icmp', 'arp'] }, port: { type: 'integer', minimum: 0, maximum: 65535 }, kind: KIND,
} as const;
/** observer.name or observer.id of a sensor (a fleet API serves many; a sensor's own API only itself). */
const SENSOR = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$', description: 'sensor: observer.name or observer.id' } as const;
const ERROR = { type: 'object', properties: { error: { type: 'string' }, parameter: { type: 'string' }, message: { type: 'string' } } } as const;
const ANY_OBJECT = { type: 'object', additionalProperties: true } as const;

interface EventsQuery { sensor?: string; src?: string; dst?: string; proto?: string; port?: number; kind?: string; since?: string; until?: string; limit: number; cursor?: string }

class BadParameter extends Error {
  constructor(readonly parameter: string, message: string) { super(message); }
}

/** `10m` → now − 10 min; digits → epoch ms; else ISO-8601. */
export function parseTime(text: string, parameter: string, now: number): number {
  if (/^[0-9]{1,16}$/.test(text)) return Number(text);
  const rel = /^([0-9]{1,9})([smhd])$/.exec(text);
  if (rel !== null) return now - Number(rel[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's' | 'm' | 'h' | 'd'];
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new BadParameter(parameter, `${parameter}: "${text}" is not a time`);
  return t;
}

export async function buildAdminApi(opts: AdminApiOptions): Promise<FastifyInstance> {
  const now = opts.now ?? Date.now;
  const log = opts.log ?? (() => undefined);
  const limiter = new FailedAuthLimiter(opts.authLimits ?? DEFAULT_AUTH_LIMITS);
  const maxClients = opts.maxStreamClients ?? 32;
  const maxBuffer = opts.maxStreamBufferBytes ?? 1 << 20;
  let streamClients = 0;
  /** Open event streams, ended when the API closes (a hijacked response would keep close() waiting). */
  const streams = new Set<import('node:http').ServerResponse>();

  const app = Fastify({
    ...(opts.tls === undefined ? {} : { https: { cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.2' as const } }),
    logger: false,
    forceCloseConnections: true,
    bodyLimit: 16 * 1024,
    // Unknown parameters are errors, not silently removed.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, useDefaults: true, allErrors: false } },
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'decoyd admin API', version: '1', description: 'Events, sources, scans and decoy hosts of one decoyd sensor.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  app.setErrorHandler((err: FastifyError, _req, reply) => {
    if (err.validation !== undefined && err.validation.length > 0) {
      const v = err.validation[0] as { instancePath: string; message?: string; params: Record<string, unknown> };
      const parameter = String(v.params.missingProperty ?? v.params.additionalProperty ?? (v.instancePath.replace(/^\//, '').replace(/\//g, '.') || err.validationContext || 'request'));
      const why = v.params.additionalProperty !== undefined ? 'is not a known parameter' : v.message ?? 'is invalid';
      return reply.code(400).send({ error: 'bad request', parameter, message: `${parameter} (${err.validationContext ?? 'request'}) ${why}` });
    }
    if (err instanceof BadParameter) return reply.code(400).send({ error: 'bad request', parameter: err.parameter, message: err.message });
    if (err.name === 'InvalidCursorError') return reply.code(400).send({ error: 'bad request', parameter: 'cursor', message: err.message });
    const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) log(`admin api: ${err.message}`);
    return reply.code(status).send({ error: status === 500 ? 'internal error' : err.message });
  });

  app.addHook('onRequest', async (req, reply) => {
    const config = req.routeOptions.config as { public?: boolean } | undefined;
    if (config?.public === true) return;
    const at = now();
    const ip = req.ip;
    if (limiter.blocked(ip, at)) {
      limiter.limited++;
      return reply.code(429).header('retry-after', '60').send({ error: 'too many failed authentications from this address' });
    }
    const header = req.headers.authorization;
    const given = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    if (opts.token !== undefined && given !== undefined && tokenMatches(given, opts.token)) return;
    if (limiter.fail(ip, at)) log(`admin api: failed authentication from ${ip} (${given === undefined ? 'no token' : 'wrong token'}); further failures in this minute are counted, not logged`);
    return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized' });
  });

  const eventsQuerySchema = {
    type: 'object', additionalProperties: false,
    properties: { ...FILTERS, sensor: SENSOR, since: TIME, until: TIME, limit: LIMIT, cursor: { type: 'string', pattern: '^[0-9]{1,17}([.][0-9]{1,10}[.][0-9]{1,18})?$', description: 'nextCursor of the previous page, as returned (the embedded store\'s is a row id, the fleet store\'s a time, boot and sequence)' } },
  } as const;

  app.get('/api/v1/health', { config: { public: true }, schema: { summary: 'Liveness (no auth)', security: [], response: { 200: { type: 'object', properties: { status: { type: 'string' }, time: { type: 'integer' } } } } } },
    async () => ({ status: 'ok', time: now() }));

  app.get('/api/v1/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
  app.get('/api/v1/docs', { config: { public: true }, schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(docsPage(app.swagger() as OpenApiDoc)));

  app.get<{ Querystring: EventsQuery }>('/api/v1/events', {
    // The documents are open objects, which the schema serializer walks key by key: JSON.stringify writes a page of 100 in
    // about 1 ms less (the schema still documents the route).
    serializerCompiler: () => (data) => JSON.stringify(data),
    schema: { summary: 'Events, newest first, with cursor paging', querystring: eventsQuerySchema, response: { 200: { type: 'object', properties: { events: { type: 'array', items: ANY_OBJECT }, nextCursor: { type: 'string' } } }, 400: ERROR } },
  }, async (req) => {
    const q = req.query;
    const at = now();
    return opts.store.events({
      src: q.src, dst: q.dst, proto: q.proto, port: q.port, kind: q.kind, limit: q.limit, cursor: q.cursor, sensor: q.sensor,
      since: q.since === undefined ? undefined : parseTime(q.since, 'since', at),
      until: q.until === undefined ? undefined : parseTime(q.until, 'until', at),
    });
  });

  app.get<{ Querystring: LiveFilter }>('/api/v1/events/stream', {
    schema: { summary: 'Live events as server-sent events (same filters)', querystring: { type: 'object', additionalProperties: false, properties: { ...FILTERS, sensor: SENSOR } }, produces: ['text/event-stream'] },
  }, async (req, reply) => {
    if (opts.live === undefined) return reply.code(404).send({ error: 'no live feed in this process' });
    if (streamClients >= maxClients) return reply.code(503).send({ error: `at most ${maxClients} streaming clients` });
    streamClients++;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(': decoyd event stream\n\n');
    let dropped = 0;
    const unsubscribe = opts.live.subscribe(req.query, (json) => {
      // A slow client loses events (counted and told), it never holds memory or the frame path.
      if (res.writableLength > maxBuffer) {
        dropped++;
        return;
      }
      if (dropped > 0) {
        res.write(`event: dropped\ndata: {"dropped":${dropped}}\n\n`);
        dropped = 0;
      }
      res.write(`data: ${json}\n\n`);
    });
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    ping.unref();
    streams.add(res);
    const done = (): void => {
      clearInterval(ping);
      unsubscribe();
      streams.delete(res);
      streamClients--;
    };
    res.once('close', done);
  });

  app.get<{ Querystring: { limit: number; since?: string; sensor?: string } }>('/api/v1/sources', {
    schema: { summary: 'Sources seen, most recent first', querystring: { type: 'object', additionalProperties: false, properties: { limit: LIMIT, since: TIME, sensor: SENSOR } }, response: { 200: { type: 'object', properties: { sources: { type: 'array', items: ANY_OBJECT } } }, 400: ERROR } },
  }, async (req) => ({ sources: await opts.store.sources({ limit: req.query.limit, sensor: req.query.sensor, since: req.query.since === undefined ? undefined : parseTime(req.query.since, 'since', now()) }) }));

  app.get<{ Params: { ip: string }; Querystring: { limit: number; sensor?: string } }>('/api/v1/sources/:ip', {
    schema: {
      summary: 'One source: first/last seen, hosts and ports touched, scans detected (with tool), credentials tried',
      params: { type: 'object', properties: { ip: IPV4 }, required: ['ip'] }, querystring: { type: 'object', additionalProperties: false, properties: { limit: LIMIT, sensor: SENSOR } },
      response: { 200: ANY_OBJECT, 400: ERROR, 404: ERROR },
    },
  }, async (req, reply) => {
    const detail = await opts.store.source(req.params.ip, { limit: req.query.limit, sensor: req.query.sensor });
    if (detail === undefined) return reply.code(404).send({ error: `no events from ${req.params.ip}` });
    return detail;
  });

  app.get<{ Querystring: { limit: number; src?: string; since?: string; sensor?: string } }>('/api/v1/scans', {
    schema: { summary: 'Detected scans (updates of one scan folded together), most recent first', querystring: { type: 'object', additionalProperties: false, properties: { limit: LIMIT, src: IPV4, since: TIME, sensor: SENSOR } }, response: { 200: { type: 'object', properties: { scans: { type: 'array', items: ANY_OBJECT } } }, 400: ERROR } },
  }, async (req) => ({ scans: await opts.store.scans({ limit: req.query.limit, src: req.query.src, sensor: req.query.sensor, since: req.query.since === undefined ? undefined : parseTime(req.query.since, 'since', now()) }) }));

  app.get('/api/v1/stats', { schema: { summary: 'Store and daemon counters', response: { 200: ANY_OBJECT } } }, async () => ({
    store: await opts.store.stats(),
    daemon: opts.control?.stats() ?? {},
    api: { failedAuthSources: limiter.size, rateLimited: limiter.limited, streamClients },
  }));

  const needControl = (reply: FastifyReply): AdminControl | undefined => {
    if (opts.control === undefined) void reply.code(404).send({ error: 'no daemon control in this process' });
    return opts.control;
  };

  app.get('/api/v1/hosts', { schema: { summary: 'Decoy hosts (static and claimed)', response: { 200: { type: 'object', properties: { hosts: { type: 'array', items: ANY_OBJECT } } } } } }, async (_req, reply) => {
    const c = needControl(reply);
    return c === undefined ? reply : { hosts: c.hosts() };
  });

  app.get<{ Params: { address: string } }>('/api/v1/hosts/:address', {
    schema: { summary: 'One decoy host', params: { type: 'object', properties: { address: IPV4 }, required: ['address'] }, response: { 200: ANY_OBJECT, 400: ERROR, 404: ERROR } },
  }, async (req, reply) => {
    const c = needControl(reply);
    if (c === undefined) return reply;
    const host = c.hosts().find((h) => h.address === req.params.address);
    return host === undefined ? reply.code(404).send({ error: `${req.params.address} is not a decoy host` }) : host;
  });

  app.post<{ Body: { address: string; template: string } }>('/api/v1/hosts', {
    schema: {
      summary: 'Bind a static host (it is ARP-probed first, as at start)',
      body: { type: 'object', additionalProperties: false, required: ['address', 'template'], properties: { address: IPV4, template: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_.-]{0,63}$' } } },
      response: { 202: ANY_OBJECT, 400: ERROR, 404: ERROR, 409: ERROR },
    },
  }, async (req, reply) => {
    const c = needControl(reply);
    if (c === undefined) return reply;
    const r = c.addHost(req.body.address, req.body.template);
    if (!r.ok) return reply.code(r.status).send({ error: r.error });
    return reply.code(202).send(r.host);
  });

  app.delete<{ Params: { address: string } }>('/api/v1/hosts/:address', {
    schema: { summary: 'Withdraw a static host', params: { type: 'object', properties: { address: IPV4 }, required: ['address'] }, response: { 204: { type: 'null' }, 400: ERROR, 404: ERROR } },
  }, async (req, reply) => {
    const c = needControl(reply);
    if (c === undefined) return reply;
    if (!c.removeHost(req.params.address)) return reply.code(404).send({ error: `${req.params.address} is not a static host` });
    return reply.code(204).send();
  });

  app.get('/api/v1/templates', { schema: { summary: 'Configured templates', response: { 200: { type: 'object', properties: { templates: { type: 'array', items: ANY_OBJECT } } } } } }, async (_req, reply) => {
    const c = needControl(reply);
    return c === undefined ? reply : { templates: c.templates() };
  });

  app.get<{ Querystring: { q: string; limit: number } }>('/api/v1/personalities', {
    schema: { summary: 'nmap-os-db fingerprints whose name or class matches q', querystring: { type: 'object', additionalProperties: false, required: ['q'], properties: { q: { type: 'string', minLength: 1, maxLength: 100 }, limit: LIMIT } }, response: { 200: { type: 'object', properties: { personalities: { type: 'array', items: ANY_OBJECT } } }, 400: ERROR } },
  }, async (req, reply) => {
    const c = needControl(reply);
    return c === undefined ? reply : { personalities: c.personalities(req.query.q, req.query.limit) };
  });

  app.get<{ Querystring: { src: string } }>('/api/v1/pcap', {
    schema: { summary: 'pcap of one source’s packets from the rotating capture files', querystring: { type: 'object', additionalProperties: false, required: ['src'], properties: { src: IPV4 } }, produces: ['application/vnd.tcpdump.pcap'] },
  }, async (req, reply) => {
    if (opts.pcap === undefined) return reply.code(404).send({ error: 'packet capture is not configured (capture: in the config)' });
    const file = await opts.pcap.extract(req.query.src);
    return reply.type('application/vnd.tcpdump.pcap').header('content-disposition', `attachment; filename="decoyd-${req.query.src}.pcap"`).send(file);
  });

  app.get('/metrics', { schema: { summary: 'Prometheus metrics', produces: ['text/plain'] } }, async (_req: FastifyRequest, reply: FastifyReply) => {
    if (opts.metrics === undefined) return reply.code(404).send({ error: 'no metrics in this process' });
    return reply.type(opts.metrics.contentType).send(await opts.metrics.render());
  });

  app.addHook('onClose', async () => {
    for (const res of streams) res.end();
  });

  await app.ready();
  return app;
}

export interface OpenApiDoc {
  info?: { title?: string; description?: string };
  paths?: Record<string, Record<string, { summary?: string; parameters?: { name: string; in: string; required?: boolean; schema?: { description?: string; type?: string } }[] }>>;
}
