/**
 * One HTTP connection: reads requests with the bounded parser, answers each in the product's own
 * words (pages, error pages, 100-continue, OPTIONS, HEAD, Basic auth), keeps the connection alive
 * or closes it as the product would, and records every step through SessionRecorder.
 *
 * Pipelined requests are answered in order, one at a time: while an answer waits for room in the
 * send buffer, nothing more is parsed and the connection's receive window closes (`pause`), so a
 * flood of requests costs at most one answer and one head of buffering.
 */

import type { EventSink } from '../../../events/event';
import type { HttpAuthSpec } from '../../../config/http-options';
import type { StreamContext, StreamSession } from '../../service';
import { SessionRecorder, type SessionBounds } from '../session-recorder';
import type { PageStore, StoredPage } from './pages';
import { httpSysHead, type ErrorContext, type HttpAnswer, type HttpProduct, type ProductLimits, type WireFacts } from './products';
import { RequestParser, headerValue, type HttpRequest, type ParseFailure } from './request-parser';

/** Everything a connection needs, shared by all connections of one host and port. */
export interface HttpSite {
  product: HttpProduct;
  /** nmap's product name, as events carry it. */
  productName: string;
  /** The Server header value. */
  server: string;
  store: PageStore;
  auth: readonly HttpAuthSpec[];
  headers: readonly [string, string][];
  limits: ProductLimits;
  /** Host name the product prints in signatures (Apache's `Server at NAME Port N`). */
  hostname: string;
  /** The name was configured (`hostname:`): signatures print it whatever Host the client sent. */
  hostnameFixed: boolean;
  /** Per-host seed for product details that vary per machine (lighttpd's inode-hashed ETag). */
  seed: number;
  events: EventSink;
  bounds: SessionBounds;
}

export class HttpSession implements StreamSession {
  private readonly parser: RequestParser;
  private readonly recorder: SessionRecorder;
  private out: Buffer[] = [];
  private closing = false;
  private closed = false;
  private peerEnded = false;
  private served = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerKind: 'header' | 'body' | 'idle' | undefined;

  private readonly scheme: 'http' | 'https';

  /**
   * `plainOnTls`: the connection reached a TLS port in cleartext; its first request gets the
   * product's 400 for that, then the connection closes.
   */
  constructor(private readonly ctx: StreamContext, private readonly site: HttpSite, service: 'http' | 'https' = 'http', private readonly plainOnTls = false) {
    this.scheme = service;
    const l = site.limits;
    this.parser = new RequestParser({
      maxRequestLine: l.maxRequestLine, maxHeaderBytes: l.maxHeaderBytes, maxHeaders: l.maxHeaders, maxBodyBytes: l.maxBodyBytes,
      keepBodyBytes: site.bounds.bodyExcerptBytes, maxBlankLines: l.maxBlankLines,
    });
    this.recorder = new SessionRecorder(site.events, { proto: 'tcp', srcIp: ctx.remote.address, srcPort: ctx.remote.port, dstIp: ctx.local.address, dstPort: ctx.local.port }, service, site.productName, site.bounds);
    this.arm('header');
  }

  onData(data: Buffer): void {
    if (this.closed || this.closing) return;
    this.recorder.fromClient(data);
    this.parser.push(data);
    if (this.timerKind === 'idle') this.arm('header');
    else if (this.timerKind === 'body') this.arm('body');
    // Input beyond one head and one read while an answer is blocked: the client ignores flow control.
    if (this.parser.buffered > this.site.limits.maxHeaderBytes + 65536 && this.out.length > 0) {
      this.abort();
      return;
    }
    this.process();
  }

  onDrain(): void {
    if (this.closed) return;
    this.flush();
    if (this.out.length > 0) return;
    if (this.closing) { this.ctx.end(); return; }
    this.ctx.resume?.();
    this.process();
    this.endIfPeerDone();
  }

  /** The peer half-closed: requests already received are still answered (as servers do), then FIN. */
  onEnd(): void {
    if (this.closed) return;
    this.peerEnded = true;
    this.endIfPeerDone();
  }

  private endIfPeerDone(): void {
    if (!this.peerEnded || this.closing || this.out.length > 0) return;
    this.closing = true;
    this.disarm();
    this.ctx.end();
  }

  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.disarm();
    this.out = [];
    this.recorder.close();
  }

  private process(): void {
    while (!this.closed && !this.closing && this.out.length === 0) {
      const r = this.parser.next();
      if (r.kind === 'none') break;
      if (r.kind === 'continue') {
        this.send('HTTP/1.1 100 Continue\r\n\r\n');
        this.arm('body');
        continue;
      }
      if (r.kind === 'failure') {
        this.refuse(r.failure, r.partial);
        break;
      }
      this.answer(r.request);
    }
    if (this.closed || this.closing) return;
    if (this.parser.inBody) { if (this.timerKind !== 'body') this.arm('body'); }
    else if (this.parser.midRequest) { if (this.timerKind !== 'header') this.arm('header'); }
    else if (this.served > 0 && this.timerKind !== 'idle') this.arm('idle');
  }

  private answer(req: HttpRequest): void {
    this.served++;
    const site = this.site;
    const connection = (headerValue(req.headers, 'connection') ?? '').toLowerCase();
    const clientKeepAlive10 = req.version === '1.0' && connection.includes('keep-alive');
    const keepAlive = req.version === '1.1' ? !connection.includes('close') : clientKeepAlive10;
    const lastAllowed = this.served >= site.limits.maxRequestsPerConnection;
    const reply = this.decide(req);
    const stays = keepAlive && !reply.closes && !lastAllowed && req.version !== '0.9';
    const userAgent = headerValue(req.headers, 'user-agent');
    this.recorder.request({
      method: req.method, path: req.target, status: reply.answer.status, headers: req.headers.map(([n, v]) => `${n}: ${v}`),
      ...(userAgent !== undefined ? { userAgent } : {}),
      ...(req.bodyBytes > 0 ? { body: req.body, bodyBytes: req.bodyBytes } : {}),
    });
    this.write(reply.answer, {
      requestVersion: req.version, keepAlive: stays, keepAliveSeconds: Math.round(site.limits.keepAliveTimeoutMs / 1000),
      requestsLeft: site.limits.maxRequestsPerConnection - this.served, clientKeepAlive10, head: req.method === 'HEAD', now: Date.now(),
    }, reply.rawServer);
    if (!stays) this.finish();
  }

  /** What the product answers to a well-formed request: auth, OPTIONS, redirects, pages, 404/405. */
  private decide(req: HttpRequest): Reply {
    const site = this.site;
    const product = site.product;
    const path = pathOnly(req.target);
    const host = headerValue(req.headers, 'host') ?? site.hostname;
    const errorCtx: ErrorContext = { method: req.method, path, host: site.hostnameFixed ? site.hostname : host.replace(/:\d+$/, ''), port: this.ctx.local.port };
    const error = (status: number, more: Partial<ErrorContext> = {}): Reply => {
      const page = product.errorPage(status, { ...errorCtx, ...more }, site.server);
      return {
        answer: {
          status: page.status, contentType: page.contentType, body: Buffer.from(page.body, 'latin1'), extra: site.headers,
          ...(page.allow ? { allow: page.allow } : {}), ...(more.location ? { location: more.location } : {}),
        },
        closes: page.closes,
        ...(page.rawServer !== undefined ? { rawServer: page.rawServer } : {}),
      };
    };
    if (this.plainOnTls) return { ...error(400, { failure: 'plain-http-on-tls' }), closes: true };
    const auth = site.auth.find((a) => path === a.path || path.startsWith(a.path.endsWith('/') ? a.path : `${a.path}/`));
    if (auth !== undefined && !this.checkAuth(req, auth)) {
      const r = error(401);
      return { ...r, answer: { ...r.answer, authenticate: `Basic realm="${auth.realm}"` } };
    }
    if (req.method === 'OPTIONS') {
      const o = product.options();
      if (o === 'not-allowed') return error(product.methodNotAllowed);
      return {
        answer: {
          status: o.status, body: Buffer.alloc(0), extra: o.publicHeader ? [['Public', o.publicHeader], ...site.headers] : site.headers,
          ...(o.allow ? { allow: o.allow } : {}), ...(o.contentType ? { contentType: o.contentType } : {}),
        },
        closes: false,
      };
    }
    const { page, redirect } = site.store.lookup(req.target);
    if (page === undefined && redirect !== undefined) return error(301, { location: `${this.scheme}://${host}${redirect}` });
    const found = page ?? (path === '/' ? this.defaultIndex() : undefined);
    if (found === undefined) return error(404);
    if (!this.methodAllowed(req, found.file)) return error(product.methodNotAllowed);
    return { answer: this.pageAnswer(found), closes: false };
  }

  /** The product's own start page, as installed: its mtime fixed per host (a stable ETag across restarts). */
  private defaultIndex(): StoredPage {
    const installed = INSTALL_EPOCH + (this.site.seed % (4 * 365)) * 86_400_000 + (this.site.seed % 86_400) * 1000;
    return { status: 200, headers: [], body: Buffer.from(this.site.product.defaultIndex(this.site.server), 'latin1'), contentType: 'text/html', mtimeMs: installed, file: true };
  }

  private methodAllowed(req: HttpRequest, file: boolean): boolean {
    if (req.method === 'GET' || req.method === 'HEAD') return true;
    return file ? this.site.product.staticMethods.includes(req.method) : req.method === 'POST';
  }

  private pageAnswer(page: StoredPage): HttpAnswer {
    const own = page.headers.filter(([n]) => n.toLowerCase() !== 'content-type');
    const type = page.headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1] ?? page.contentType;
    const etag = page.file ? this.site.product.etag(page.mtimeMs, page.body.length, this.site.seed) : '';
    return {
      status: page.status, contentType: type, body: page.body, extra: [...own, ...this.site.headers],
      ...(page.file ? { lastModified: page.mtimeMs } : {}),
      ...(etag !== '' ? { etag } : {}),
    };
  }

  private checkAuth(req: HttpRequest, auth: HttpAuthSpec): boolean {
    const header = headerValue(req.headers, 'authorization');
    if (header === undefined) return false;
    const sp = header.indexOf(' ');
    const scheme = (sp < 0 ? header : header.slice(0, sp)).toLowerCase();
    if (scheme !== 'basic') {
      this.recorder.login({ authMethod: scheme, result: 'refused' });
      return false;
    }
    const decoded = Buffer.from(header.slice(sp + 1).trim(), 'base64').toString('latin1');
    const colon = decoded.indexOf(':');
    const user = colon < 0 ? decoded : decoded.slice(0, colon);
    const password = colon < 0 ? '' : decoded.slice(colon + 1);
    const ok = Object.prototype.hasOwnProperty.call(auth.users, user) && auth.users[user] === password;
    this.recorder.login({ authMethod: 'basic', user, password, result: ok ? 'accepted' : 'refused' });
    return ok;
  }

  /** A request the parser refused: the product's error answer, then close. */
  private refuse(failure: ParseFailure, partial?: Pick<HttpRequest, 'method' | 'target' | 'version' | 'headers'>): void {
    const site = this.site;
    const status = site.product.failureStatus(failure);
    const page = site.product.errorPage(status, { method: partial?.method ?? 'GET', path: pathOnly(partial?.target ?? '/'), host: site.hostname, port: this.ctx.local.port, failure }, site.server);
    this.recorder.request({
      ...(partial ? { method: partial.method, path: partial.target, headers: partial.headers.map(([n, v]) => `${n}: ${v}`) } : {}),
      status: page.status,
    });
    const answer: HttpAnswer = { status: page.status, contentType: page.contentType, body: Buffer.from(page.body, 'latin1'), extra: site.headers };
    this.write(answer, { requestVersion: partial?.version ?? '1.1', keepAlive: false, keepAliveSeconds: 0, requestsLeft: 0, clientKeepAlive10: false, head: partial?.method === 'HEAD', now: Date.now() }, page.rawServer);
    this.finish();
  }

  private write(answer: HttpAnswer, wire: WireFacts, rawServer?: string): void {
    if (wire.requestVersion === '0.9') {
      this.send(answer.body);
      return;
    }
    const head = rawServer !== undefined
      ? httpSysHead(answer.status, answer.contentType ?? 'text/html', answer.body.length, wire.now)
      : this.site.product.head(answer, wire, this.site.server);
    const bodyless = wire.head || answer.status === 204 || answer.status === 304 || answer.status < 200;
    // One write per answer: nmap re-matches after every read, and a split could match a shorter rule.
    this.send(bodyless ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), answer.body]));
  }

  private send(data: Buffer | string): void {
    let buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    this.recorder.toClient(buf);
    if (this.out.length === 0) {
      const room = this.ctx.writable ?? buf.length;
      if (room >= buf.length) { this.ctx.write(buf); return; }
      if (room > 0) { this.ctx.write(buf.subarray(0, room)); buf = buf.subarray(room); }
    }
    this.out.push(buf);
    this.ctx.pause?.();
  }

  private flush(): void {
    while (this.out.length > 0) {
      const buf = this.out[0] as Buffer;
      const room = this.ctx.writable ?? buf.length;
      if (room <= 0) return;
      if (room >= buf.length) { this.ctx.write(buf); this.out.shift(); continue; }
      this.ctx.write(buf.subarray(0, room));
      this.out[0] = buf.subarray(room);
      return;
    }
  }

  /** Close after what is queued (FIN once the answer is out). */
  private finish(): void {
    this.closing = true;
    this.disarm();
    if (this.out.length === 0) this.ctx.end();
  }

  private abort(): void {
    this.closing = true;
    this.disarm();
    this.out = [];
    this.ctx.reset();
  }

  private arm(kind: 'header' | 'body' | 'idle'): void {
    this.disarm();
    const l = this.site.limits;
    const ms = kind === 'header' ? l.headerTimeoutMs : kind === 'body' ? l.bodyTimeoutMs : l.keepAliveTimeoutMs;
    this.timerKind = kind;
    this.timer = setTimeout(() => this.expire(kind), ms);
    this.timer.unref?.();
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerKind = undefined;
  }

  private expire(kind: 'header' | 'body' | 'idle'): void {
    this.timer = undefined;
    this.timerKind = undefined;
    if (this.closed || this.closing) return;
    // A request under way when time ran out: the products that answer (Apache) send their 408.
    if (kind !== 'idle' && this.parser.midRequest && this.site.product.timeoutAnswer === 408) {
      const page = this.site.product.errorPage(408, { method: 'GET', path: '/', host: this.site.hostname, port: this.ctx.local.port }, this.site.server);
      this.recorder.request({ status: 408 });
      this.write({ status: 408, contentType: page.contentType, body: Buffer.from(page.body, 'latin1'), extra: this.site.headers }, { requestVersion: '1.1', keepAlive: false, keepAliveSeconds: 0, requestsLeft: 0, clientKeepAlive10: false, head: false, now: Date.now() });
    }
    this.finish();
  }
}

/** 2021-01-01: default pages are dated from here plus up to four years, per host. */
const INSTALL_EPOCH = Date.UTC(2021, 0, 1);

interface Reply {
  answer: HttpAnswer;
  /** The product closes the connection after this answer. */
  closes: boolean;
  /** HTTP.sys answered, not IIS (its own head). */
  rawServer?: string;
}

function pathOnly(target: string): string {
  const q = target.search(/[?#]/);
  return q < 0 ? target : target.slice(0, q);
}
