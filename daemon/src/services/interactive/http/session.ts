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
  private served = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerKind: 'header' | 'body' | 'idle' | undefined;

  constructor(private readonly ctx: StreamContext, private readonly site: HttpSite, service = 'http') {
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
  }

  onEnd(): void {
    if (this.closed) return;
    this.closing = true;
    if (this.out.length === 0) this.ctx.end();
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
    const product = site.product;
    const connection = (headerValue(req.headers, 'connection') ?? '').toLowerCase();
    const clientKeepAlive10 = req.version === '1.0' && connection.includes('keep-alive');
    const keepAlive = req.version === '1.1' ? !connection.includes('close') : clientKeepAlive10;
    const lastAllowed = this.served >= site.limits.maxRequestsPerConnection;
    const path = req.target;
    const errorCtx: ErrorContext = { method: req.method, path: pathOnly(path), host: site.hostname, port: this.ctx.local.port };

    let answer: HttpAnswer;
    let closes = false;
    let rawServer: string | undefined;
    const fromError = (status: number, failure?: ParseFailure): void => {
      const page = product.errorPage(status, { ...errorCtx, ...(failure ? { failure } : {}) }, site.server);
      answer = { status: page.status, contentType: page.contentType, body: Buffer.from(page.body, 'latin1'), extra: site.headers, ...(page.allow ? { allow: page.allow } : {}) };
      closes = page.closes;
      rawServer = page.rawServer;
    };

    const auth = site.auth.find((a) => pathOnly(path) === a.path || pathOnly(path).startsWith(a.path.endsWith('/') ? a.path : `${a.path}/`));
    let authorized = true;
    if (auth !== undefined) {
      authorized = this.checkAuth(req, auth);
    }
    const { page, redirect } = site.store.lookup(path);
    if (!authorized) {
      fromError(401);
      answer = { ...answer!, authenticate: `Basic realm="${auth?.realm ?? ''}"` };
    } else if (req.method === 'OPTIONS') {
      const o = product.options();
      if (o === 'not-allowed') fromError(product.methodNotAllowed);
      else answer = { status: o.status, body: Buffer.alloc(0), extra: o.publicHeader ? [['Public', o.publicHeader], ...site.headers] : site.headers, ...(o.allow ? { allow: o.allow } : {}), ...(product.products[0] === 'Apache httpd' ? { contentType: 'text/html' } : {}) };
    } else if (page === undefined && redirect !== undefined) {
      fromError(301);
      answer = { ...answer!, location: `http://${headerValue(req.headers, 'host') ?? site.hostname}${redirect}` };
    } else if (page === undefined && pathOnly(path) === '/' ) {
      answer = this.pageAnswer(req, { status: 200, headers: [], body: Buffer.from(product.defaultIndex(site.server), 'latin1'), contentType: 'text/html', mtimeMs: STARTED - 86_400_000 * (30 + (site.seed % 300)), file: true });
      if (!this.methodAllowed(req, true)) fromError(product.methodNotAllowed);
    } else if (page === undefined) {
      fromError(404);
    } else if (!this.methodAllowed(req, page.file)) {
      fromError(product.methodNotAllowed);
    } else {
      answer = this.pageAnswer(req, page);
    }
    const final = answer!;
    const stays = keepAlive && !closes && !lastAllowed && req.version !== '0.9';
    this.recorder.request({
      method: req.method, path, status: final.status, headers: req.headers.map(([n, v]) => `${n}: ${v}`),
      ...(headerValue(req.headers, 'user-agent') !== undefined ? { userAgent: headerValue(req.headers, 'user-agent') as string } : {}),
      ...(req.bodyBytes > 0 ? { body: req.body, bodyBytes: req.bodyBytes } : {}),
    });
    this.write(final, { requestVersion: req.version, keepAlive: stays, keepAliveSeconds: Math.round(site.limits.keepAliveTimeoutMs / 1000), requestsLeft: site.limits.maxRequestsPerConnection - this.served, clientKeepAlive10, head: req.method === 'HEAD', now: Date.now() }, rawServer);
    if (!stays) this.finish();
  }

  private methodAllowed(req: HttpRequest, file: boolean): boolean {
    if (req.method === 'GET' || req.method === 'HEAD') return true;
    return file ? this.site.product.staticMethods.includes(req.method) : req.method === 'POST';
  }

  private pageAnswer(req: HttpRequest, page: StoredPage): HttpAnswer {
    const own = page.headers.filter(([n]) => n.toLowerCase() !== 'content-type');
    const type = page.headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1] ?? page.contentType;
    const etag = page.file ? this.site.product.etag(page.mtimeMs, page.body.length, this.site.seed) : '';
    void req;
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

const STARTED = Date.now();

function pathOnly(target: string): string {
  const q = target.search(/[?#]/);
  return q < 0 ? target : target.slice(0, q);
}
