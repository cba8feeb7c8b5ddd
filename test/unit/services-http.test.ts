import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HttpOptions } from '../../daemon/src/config/http-options';
import type { DecoyEvent, DecoyEventKind, EventSink } from '../../daemon/src/events/event';
import { HttpStreamService } from '../../daemon/src/services/interactive/http/http-service';
import { PageStore, normalise } from '../../daemon/src/services/interactive/http/pages';
import { RequestParser, type ParserBounds } from '../../daemon/src/services/interactive/http/request-parser';
import { serviceProbes } from '../../daemon/src/services/probes/catalog';
import { firstMatch, matchChain, versionInfo } from '../../daemon/src/services/probes/matcher';
import type { StreamContext } from '../../daemon/src/services/service';
import { certificateProfileFor, issueHostCertificate, makeHostCertificate } from '../../daemon/src/services/tls/cert';
import { configOf, errorsOf } from './config-test-support';

const BOUNDS: ParserBounds = { maxRequestLine: 64, maxHeaderBytes: 256, maxHeaders: 4, maxBodyBytes: 100, keepBodyBytes: 8, maxBlankLines: 3 };

function parseAll(bytes: string | Buffer, bounds = BOUNDS, stepwise = false): ReturnType<RequestParser['next']>[] {
  const p = new RequestParser(bounds);
  const out: ReturnType<RequestParser['next']>[] = [];
  const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
  const chunks = stepwise ? [...buf].map((b) => Buffer.from([b])) : [buf];
  for (const c of chunks) {
    p.push(c);
    for (let r = p.next(); r.kind !== 'none'; r = p.next()) out.push(r);
  }
  return out;
}

test('parser: a request, pipelined requests, byte by byte, headers in order', () => {
  const two = 'GET /a HTTP/1.1\r\nHost: x\r\nUser-Agent: u\r\nX-B: 2\r\n\r\nHEAD /b?q=1 HTTP/1.0\n\n';
  for (const stepwise of [false, true]) {
    const rs = parseAll(two, BOUNDS, stepwise);
    assert.equal(rs.length, 2);
    const [a, b] = rs;
    assert.ok(a?.kind === 'request' && b?.kind === 'request');
    assert.deepEqual([a.request.method, a.request.target, a.request.version], ['GET', '/a', '1.1']);
    assert.deepEqual(a.request.headers, [['Host', 'x'], ['User-Agent', 'u'], ['X-B', '2']]);
    assert.deepEqual([b.request.method, b.request.target, b.request.version], ['HEAD', '/b?q=1', '1.0']);
  }
});

test('parser: Content-Length and chunked bodies, kept excerpt bounded, Expect: 100-continue', () => {
  const [r] = parseAll('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\nhello world!');
  assert.ok(r?.kind === 'request');
  assert.equal(r.request.bodyBytes, 12);
  assert.equal(r.request.body.toString(), 'hello wo');
  const [c] = parseAll('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n', BOUNDS, true);
  assert.ok(c?.kind === 'request');
  assert.equal(c.request.bodyBytes, 8);
  assert.equal(c.request.body.toString(), 'helloabc');
  const p = new RequestParser(BOUNDS);
  p.push(Buffer.from('PUT /f HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n'));
  assert.equal(p.next().kind, 'continue');
  assert.equal(p.next().kind, 'none');
  p.push(Buffer.from('abc'));
  const done = p.next();
  assert.ok(done.kind === 'request' && done.request.bodyBytes === 3);
});

test('parser: every bound and malformation is a failure, never a throw', () => {
  const failure = (text: string | Buffer): string | undefined => {
    const r = parseAll(text).find((x) => x.kind === 'failure');
    return r?.kind === 'failure' ? r.failure : undefined;
  };
  assert.equal(failure(`GET /${'a'.repeat(100)} HTTP/1.1\r\n`), 'request-line-too-long');
  assert.equal(failure(`GET / HTTP/1.1\r\nHost: x\r\nX: ${'b'.repeat(300)}\r\n\r\n`), 'header-too-large');
  assert.equal(failure('GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\n\r\n'), 'too-many-headers');
  assert.equal(failure('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n'), 'body-too-large');
  assert.equal(failure('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n'), 'body-too-large');
  assert.equal(failure('GET / HTTP/1.1\r\n\r\n'), 'missing-host');
  assert.equal(failure('OPTIONS / RTSP/1.0\r\n\r\n'), 'bad-version');
  assert.equal(failure('GET / HTTP/2.0\r\n\r\n'), 'bad-version');
  assert.equal(failure(Buffer.from([0x6c, 0, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0])), 'bad-request-line');
  assert.equal(failure('GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n'), 'bad-header');
  assert.equal(failure('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n'), 'bad-length');
  assert.equal(failure('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n'), 'unsupported-transfer-coding');
  assert.equal(failure('\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.0\r\n\r\n'), 'bad-request-line');
  assert.equal(parseAll('\r\n\r\n').length, 0, 'nmap GenericLines: blank lines are skipped, no answer yet');
  // 10,000 random byte strings: the parser answers or waits, never throws.
  let seed = 7;
  const rnd = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed >>> 16; };
  for (let i = 0; i < 10_000; i++) {
    const b = Buffer.alloc(rnd() % 300);
    for (let k = 0; k < b.length; k++) b[k] = rnd() & 0xff;
    parseAll(b);
  }
});

interface Wire { ctx: StreamContext; out: () => string; ended: () => boolean; events: DecoyEvent[] }

function collect(): { sink: EventSink; events: DecoyEvent[] } {
  const events: DecoyEvent[] = [];
  return { events, sink: { wants: (_k: DecoyEventKind) => true, emit: (e) => events.push(e) } };
}

function fakeContext(room = Infinity): Wire & { drainable: { room: number } } {
  let out = '';
  let ended = false;
  const drainable = { room };
  const ctx: StreamContext = {
    local: { address: '198.51.100.20', port: 80 },
    remote: { address: '198.51.100.1', port: 40000 },
    write: (d) => { const b = typeof d === 'string' ? Buffer.from(d, 'latin1') : d; out += b.toString('latin1'); drainable.room -= b.length; return drainable.room > 0; },
    end: () => { ended = true; },
    reset: () => { ended = true; },
    get writable() { return Math.max(0, drainable.room); },
  };
  return { ctx, out: () => out, ended: () => ended, events: [], drainable };
}

const page = (body: string): { status: number; headers: [string, string][]; body: string } => ({ status: 200, headers: [], body });

function options(extra: Partial<HttpOptions> = {}): HttpOptions {
  return { pages: {}, auth: [], headers: [], limits: {}, maxFiles: 100, maxPageBytes: 1 << 20, ...extra };
}

function service(product: string, version: string | undefined, http: HttpOptions, sink: EventSink): HttpStreamService {
  return new HttpStreamService({ identity: { product, ...(version ? { version } : {}), tls: false, name: 'http' }, http, port: 80, templateName: 't', deploymentSeed: 1, events: sink });
}

function exchange(svc: HttpStreamService, input: string): Wire {
  const w = fakeContext();
  const s = svc.open(w.ctx);
  s.onData(Buffer.from(input, 'latin1'));
  s.onClose();
  return w;
}

function headerNames(response: string): string[] {
  const head = response.slice(0, response.indexOf('\r\n\r\n'));
  return head.split('\r\n').slice(1).map((l) => l.slice(0, l.indexOf(':')));
}

const PRODUCTS: [string, string][] = [['nginx', '1.18.0'], ['Apache httpd', '2.4.57'], ['lighttpd', '1.4.69'], ['Microsoft IIS httpd', '10.0'], ['Boa HTTPd', '0.94.14rc21']];

test('nmap names each product and version from its answer to GetRequest (installed nmap-service-probes)', { skip: !fs.existsSync('/usr/share/nmap/nmap-service-probes') }, () => {
  const file = serviceProbes('/usr/share/nmap/nmap-service-probes');
  const probe = file.probes.find((p) => p.name === 'GetRequest' && p.proto === 'tcp');
  assert.ok(probe !== undefined);
  const withInfo = (product: string, version: string, info: string): HttpStreamService => new HttpStreamService({ identity: { product, version, info, tls: false, name: 'http' }, http: options(), port: 80, templateName: 't', deploymentSeed: 1, events: collect().sink });
  for (const [product, version, info] of [['nginx', '1.18.0', 'Ubuntu'], ['Apache httpd', '2.4.41', '(Ubuntu)']] as const) {
    const hit = firstMatch(matchChain(file, probe), exchange(withInfo(product, version, info), probe.payload).out());
    assert.ok(hit !== undefined);
    assert.deepEqual([versionInfo(hit).p, versionInfo(hit).v, versionInfo(hit).i], [product, version, info]);
  }
  for (const [product, version] of PRODUCTS) {
    for (const http of [options(), options({ pages: { '/': { status: 200, headers: [['X-Frame-Options', 'SAMEORIGIN']], body: '<html><body>Intranet</body></html>\n' } } })]) {
      const { sink } = collect();
      const w = exchange(service(product, version, http, sink), probe.payload);
      const hit = firstMatch(matchChain(file, probe), w.out());
      assert.ok(hit !== undefined, `${product}: no rule matches ${JSON.stringify(w.out().slice(0, 200))}`);
      const info = versionInfo(hit);
      assert.equal(info.p, product, `${product}: matched line ${hit.rule.line}`);
      assert.equal(info.v, version, `${product}: matched line ${hit.rule.line}`);
    }
  }
});

test('each product writes its own header order and formats', () => {
  const { sink } = collect();
  const get = 'GET / HTTP/1.1\r\nHost: h\r\n\r\n';
  const expected: Record<string, string[]> = {
    nginx: ['Server', 'Date', 'Content-Type', 'Content-Length', 'Last-Modified', 'Connection', 'ETag', 'Accept-Ranges'],
    'Apache httpd': ['Date', 'Server', 'Last-Modified', 'ETag', 'Accept-Ranges', 'Content-Length', 'Vary', 'Keep-Alive', 'Connection', 'Content-Type'],
    lighttpd: ['Content-Type', 'ETag', 'Last-Modified', 'Content-Length', 'Accept-Ranges', 'Date', 'Server'],
    'Microsoft IIS httpd': ['Content-Type', 'Last-Modified', 'Accept-Ranges', 'ETag', 'Server', 'X-Powered-By', 'Date', 'Content-Length'],
    'Boa HTTPd': ['Date', 'Server', 'Accept-Ranges', 'Connection', 'Keep-Alive', 'Content-Length', 'Last-Modified', 'Content-Type'],
  };
  for (const [product, version] of PRODUCTS) {
    const out = exchange(service(product, version, options(), sink), get).out();
    assert.deepEqual(headerNames(out), expected[product], product);
    assert.match(out, /\r\nDate: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\r\n/);
  }
  const nginx = exchange(service('nginx', '1.18.0', options(), sink), get).out();
  assert.match(nginx, /^HTTP\/1\.1 200 OK\r\nServer: nginx\/1\.18\.0\r\n/);
  assert.match(nginx, /\r\nETag: "[0-9a-f]+-[0-9a-f]+"\r\n/);
  assert.match(nginx, /\r\nConnection: keep-alive\r\n/);
  // The welcome page as that release ships it (docs/html/index.html: 612 bytes in 1.18, restyled in 1.21.2).
  assert.match(nginx, /\r\nContent-Length: 612\r\n[\s\S]*<h1>Welcome to nginx!<\/h1>/);
  assert.match(exchange(service('nginx', '1.22.1', options(), sink), get).out(), /\r\nContent-Length: 615\r\n[\s\S]*color-scheme: light dark/);
  const apache = exchange(service('Apache httpd', '2.4.57', options(), sink), get).out();
  assert.match(apache, /\r\nServer: Apache\/2\.4\.57 \(Debian\)\r\n/);
  assert.match(apache, /\r\nKeep-Alive: timeout=5, max=99\r\nConnection: Keep-Alive\r\n/);
  // lighttpd echoes HTTP/1.0 (nmap's lighttpd rules expect it).
  assert.match(exchange(service('lighttpd', '1.4.69', options(), sink), 'GET / HTTP/1.0\r\n\r\n').out(), /^HTTP\/1\.0 200 OK\r\n/);
  // Configured headers keep their order after the product's own; a product header is replaced in place.
  const custom = exchange(service('nginx', '1.18.0', options({ headers: [['X-B', '2'], ['X-A', '1'], ['Server', 'nginx']] }), sink), get).out();
  assert.deepEqual(headerNames(custom).slice(0, 1), ['Server']);
  assert.match(custom, /^HTTP\/1\.1 200 OK\r\nServer: nginx\r\n/);
  assert.deepEqual(headerNames(custom).slice(-2), ['X-B', 'X-A']);
});

test('each product answers a missing page with its own 404 page', () => {
  const { sink } = collect();
  const req = 'GET /nope HTTP/1.1\r\nHost: www.example.org\r\n\r\n';
  const pages: Record<string, RegExp> = {
    nginx: /^HTTP\/1\.1 404 Not Found\r\n[\s\S]*\r\n\r\n<html>\r\n<head><title>404 Not Found<\/title><\/head>\r\n<body>\r\n<center><h1>404 Not Found<\/h1><\/center>\r\n<hr><center>nginx\/1\.18\.0<\/center>\r\n<\/body>\r\n<\/html>\r\n$/,
    'Apache httpd': /^HTTP\/1\.1 404 Not Found\r\n[\s\S]*Content-Type: text\/html; charset=iso-8859-1\r\n\r\n<!DOCTYPE HTML PUBLIC "-\/\/IETF\/\/DTD HTML 2\.0\/\/EN">\n<html><head>\n<title>404 Not Found<\/title>\n<\/head><body>\n<h1>Not Found<\/h1>\n<p>The requested URL was not found on this server\.<\/p>\n<hr>\n<address>Apache\/2\.4\.57 \(Debian\) Server at www\.example\.org Port 80<\/address>\n<\/body><\/html>\n$/,
    lighttpd: /\r\n\r\n<\?xml version="1\.0" encoding="iso-8859-1"\?>\n<!DOCTYPE html[\s\S]*<title>404 Not Found<\/title>[\s\S]*<h1>404 Not Found<\/h1>\n <\/body>\n<\/html>\n$/,
    'Microsoft IIS httpd': /<title>404 - File or directory not found\.<\/title>[\s\S]*<fieldset>\r\n  <h2>404 - File or directory not found\.<\/h2>/,
    'Boa HTTPd': /^HTTP\/1\.0 404 Not Found\r\n[\s\S]*\r\n\r\n<HTML><HEAD><TITLE>404 Not Found<\/TITLE><\/HEAD>\n<BODY><H1>404 Not Found<\/H1>\nThe requested URL \/nope was not found on this server\.\n<\/BODY><\/HTML>\n$/,
  };
  for (const [product, version] of PRODUCTS) {
    const out = exchange(service(product, version, options(), sink), req).out();
    assert.match(out, pages[product] as RegExp, product);
    const length = /\r\nContent-Length: (\d+)\r\n/.exec(out);
    if (length !== null) assert.equal(Number(length[1]), Buffer.byteLength(out.slice(out.indexOf('\r\n\r\n') + 4), 'latin1'), `${product} Content-Length`);
  }
});

test('bounds get the product\'s own error answers, then close', () => {
  const { sink } = collect();
  const big = `GET / HTTP/1.1\r\nHost: x\r\nCookie: ${'c'.repeat(40_000)}\r\n\r\n`;
  const nginx = exchange(service('nginx', '1.18.0', options(), sink), big);
  assert.match(nginx.out(), /^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*<title>400 Request Header Or Cookie Too Large<\/title>/);
  assert.ok(nginx.ended());
  assert.match(exchange(service('lighttpd', '1.4.69', options(), sink), big).out(), /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
  assert.match(exchange(service('Microsoft IIS httpd', '10.0', options(), sink), big).out(), /^HTTP\/1\.1 400 Bad Request\r\nContent-Type: text\/html; charset=us-ascii\r\nServer: Microsoft-HTTPAPI\/2\.0\r\n[\s\S]*<h2>Bad Request - Request Too Long<\/h2>/);
  assert.match(exchange(service('Apache httpd', '2.4.57', options(), sink), big).out(), /Size of a request header field exceeds server limit\./);
  const longLine = `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`;
  assert.match(exchange(service('nginx', '1.18.0', options(), sink), longLine).out(), /^HTTP\/1\.1 414 Request-URI Too Large\r\n/);
  assert.match(exchange(service('Apache httpd', '2.4.57', options(), sink), longLine).out(), /^HTTP\/1\.1 414 Request-URI Too Long\r\n/);
  const body = `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\n`;
  assert.match(exchange(service('nginx', '1.18.0', options(), sink), body).out(), /^HTTP\/1\.1 413 Request Entity Too Large\r\n/);
  assert.match(exchange(service('nginx', '1.18.0', options({ limits: { maxBodyBytes: 10 } }), sink), 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n').out(), / 413 /);
  assert.match(exchange(service('nginx', '1.18.0', options(), sink), 'OPTIONS / RTSP/1.0\r\n\r\n').out(), /^HTTP\/1\.1 400 Bad Request\r\nServer: nginx\/1\.18\.0\r\n/);
});

test('keep-alive, pipelining under a full send buffer, HEAD, OPTIONS and 100-continue', () => {
  const { sink, events } = collect();
  const svc = service('nginx', '1.18.0', options({ pages: { '/a': page('A page\n') } }), sink);
  const w = fakeContext(300);
  const s = svc.open(w.ctx);
  const n = 50;
  s.onData(Buffer.from('GET /a HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(n)));
  let rounds = 0;
  while ((w.out().match(/HTTP\/1\.1 200 OK/g) ?? []).length < n && rounds++ < 1000) { w.drainable.room = 300; s.onDrain?.(); }
  assert.equal((w.out().match(/HTTP\/1\.1 200 OK/g) ?? []).length, n);
  assert.equal(w.ended(), false, 'HTTP/1.1 stays open');
  assert.equal(events.filter((e) => e.kind === 'service.request').length, n);
  s.onClose();
  const head = exchange(svc, 'HEAD /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.match(head.out(), /Content-Length: 7\r\n[\s\S]*\r\n\r\n$/);
  assert.ok(head.ended());
  assert.match(exchange(svc, 'OPTIONS / HTTP/1.0\r\n\r\n').out(), /^HTTP\/1\.1 405 Not Allowed\r\n/);
  assert.match(exchange(service('Apache httpd', '2.4.57', options(), sink), 'OPTIONS / HTTP/1.0\r\n\r\n').out(), /^HTTP\/1\.1 200 OK\r\nDate: [^\r]+\r\nServer: Apache\/2\.4\.57 \(Debian\)\r\nAllow: GET,POST,OPTIONS,HEAD\r\nContent-Length: 0\r\n/);
  assert.match(exchange(service('Microsoft IIS httpd', '10.0', options(), sink), 'OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n').out(), /^HTTP\/1\.1 200 OK\r\nAllow: OPTIONS, TRACE, GET, HEAD, POST\r\nServer: Microsoft-IIS\/10\.0\r\nPublic: OPTIONS, TRACE, GET, HEAD, POST\r\nX-Powered-By: ASP\.NET\r\nDate: [^\r]+\r\nContent-Length: 0\r\n\r\n$/);
  const cont = fakeContext();
  const cs = service('Apache httpd', '2.4.57', options({ pages: { '/up': page('ok') } }), sink).open(cont.ctx);
  cs.onData(Buffer.from('POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n'));
  assert.equal(cont.out(), 'HTTP/1.1 100 Continue\r\n\r\n');
  cs.onData(Buffer.from('data'));
  assert.match(cont.out(), /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
  cs.onClose();
});

test('Basic auth: each credential is a service.login event; refused ones get the product\'s 401', () => {
  const { sink, events } = collect();
  const svc = service('Apache httpd', '2.4.57', options({ pages: { '/admin/': page('secret') }, auth: [{ path: '/admin', realm: 'Admin area', users: { root: 'toor' } }] }), sink);
  const bad = exchange(svc, `GET /admin/ HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${Buffer.from('admin:hunter2').toString('base64')}\r\n\r\n`);
  assert.match(bad.out(), /^HTTP\/1\.1 401 Unauthorized\r\n[\s\S]*WWW-Authenticate: Basic realm="Admin area"\r\n[\s\S]*<h1>Unauthorized<\/h1>/);
  const good = exchange(svc, `GET /admin/ HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${Buffer.from('root:toor').toString('base64')}\r\n\r\n`);
  assert.match(good.out(), /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nsecret$/);
  const logins = events.filter((e) => e.kind === 'service.login');
  assert.deepEqual(logins.map((e) => e.kind === 'service.login' && [e.authMethod, e.user, e.password, e.result]), [['basic', 'admin', 'hunter2', 'refused'], ['basic', 'root', 'toor', 'accepted']]);
  const req = events.find((e) => e.kind === 'service.request');
  assert.ok(req?.kind === 'service.request');
  assert.equal(req.status, 401);
  assert.equal(req.path, '/admin/');
  assert.deepEqual(req.headers?.slice(0, 1), ['Host: x']);
  assert.ok(events.some((e) => e.kind === 'service.session' && (e.transcript ?? '').includes('401 Unauthorized')));
});

test('slowloris: a head not complete within the header timeout is closed (Apache sends its 408)', async () => {
  const { sink } = collect();
  for (const [product, answer] of [['nginx', ''], ['Apache httpd', 'HTTP/1.1 408 Request Timeout']] as const) {
    const w = fakeContext();
    const s = service(product, undefined, options({ limits: { headerTimeoutMs: 150 } }), sink).open(w.ctx);
    s.onData(Buffer.from('GET / HTTP/1.1\r\nX-a: 1\r\n'));
    await new Promise((r) => setTimeout(r, 60));
    s.onData(Buffer.from('X-b: 2\r\n'));
    await new Promise((r) => setTimeout(r, 250));
    assert.ok(w.ended(), `${product} closed`);
    assert.equal(w.out().slice(0, answer.length), answer);
    s.onClose();
  }
});

test('pages: a directory served read-only, index files, types, no traversal', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'decoyd-http-'));
  try {
    fs.mkdirSync(path.join(dir, 'docs'));
    fs.writeFileSync(path.join(dir, 'index.html'), '<h1>root</h1>');
    fs.writeFileSync(path.join(dir, 'docs', 'index.html'), '<h1>docs</h1>');
    fs.writeFileSync(path.join(dir, 'style.css'), 'b{}');
    fs.writeFileSync(path.join(dir, 'big.bin'), Buffer.alloc(5000));
    const store = new PageStore({ dir, pages: { '/inline': { status: 418, headers: [], body: 'tea' } }, indexFiles: ['index.html'], maxFiles: 10, maxBytes: 4096 });
    assert.equal(store.lookup('/').page?.body.toString(), '<h1>root</h1>');
    assert.equal(store.lookup('/docs/').page?.body.toString(), '<h1>docs</h1>');
    assert.equal(store.lookup('/docs').redirect, '/docs/');
    assert.equal(store.lookup('/style.css?v=1').page?.contentType, 'text/css');
    assert.equal(store.lookup('/inline').page?.status, 418);
    assert.equal(store.lookup('/big.bin').page, undefined, 'over the byte bound: not loaded');
    assert.equal(store.skipped.files, 1);
    for (const evil of ['/../etc/passwd', '/%2e%2e/etc/passwd', '/docs/..%2f..%2fetc', '/a\\..\\b', '/%00', '/%zz']) assert.equal(store.lookup(evil).page, undefined, evil);
    assert.equal(normalise('/a/./b//c/'), '/a/b/c/');
    // Through the service: a directory without its slash is the product's 301 to the slash form.
    const { sink } = collect();
    const moved = exchange(service('Apache httpd', '2.4.57', options({ pagesDir: dir }), sink), 'GET /docs HTTP/1.1\r\nHost: www.example.org\r\n\r\n').out();
    assert.match(moved, /^HTTP\/1\.1 301 Moved Permanently\r\nDate: [^\r]+\r\nServer: Apache\/2\.4\.57 \(Debian\)\r\nLocation: http:\/\/www\.example\.org\/docs\/\r\n/);
    assert.match(moved, /<p>The document has moved <a href="http:\/\/www\.example\.org\/docs\/">here<\/a>\.<\/p>\n<hr>\n<address>Apache\/2\.4\.57 \(Debian\) Server at www\.example\.org Port 80<\/address>/);
    const css = exchange(service('nginx', '1.18.0', options({ pagesDir: dir }), sink), 'GET /style.css HTTP/1.0\r\n\r\n').out();
    assert.match(css, /\r\nContent-Type: text\/css\r\nContent-Length: 3\r\nLast-Modified: [^\r]+\r\nConnection: close\r\nETag: "[0-9a-f]+-3"\r\nAccept-Ranges: bytes\r\n\r\nb\{\}$/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('certificates fit the host and product: snakeoil, Windows and vendor styles, SAN, stable serial', async () => {
  const T = Date.UTC(2026, 5, 1);
  const snake = await issueHostCertificate({ hostname: 'www3.example.org', address: '198.51.100.20', seed: 42, profile: certificateProfileFor('nginx'), now: T });
  const x = new X509Certificate(snake.certPem);
  assert.equal(x.subject, 'CN=www3.example.org');
  assert.equal(x.issuer, 'CN=www3.example.org');
  assert.equal(x.subjectAltName, 'DNS:www3.example.org, IP Address:198.51.100.20');
  assert.equal(x.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  assert.ok(x.verify(x.publicKey), 'self-signed');
  assert.equal((new Date(x.validTo).getTime() - new Date(x.validFrom).getTime()) / 86_400_000, 3650);
  const again = await issueHostCertificate({ hostname: 'www3.example.org', address: '198.51.100.20', seed: 42, profile: certificateProfileFor('nginx'), now: T });
  assert.equal(new X509Certificate(again.certPem).serialNumber, x.serialNumber, 'serial from the host seed');
  assert.equal(new X509Certificate(again.certPem).validFrom, x.validFrom, 'dates from the host seed');
  const later = await issueHostCertificate({ hostname: 'www3.example.org', seed: 42, now: T + 3 * 86_400_000 });
  assert.equal(new X509Certificate(later.certPem).validFrom, x.validFrom, 'the same dates days later');
  assert.ok(new Date(x.validFrom).getTime() <= T - 20 * 86_400_000 && new Date(x.validTo).getTime() > T, 'in use: issued at least 20 days ago, not expired');
  const other = await issueHostCertificate({ hostname: 'www3.example.org', seed: 43 });
  assert.notEqual(new X509Certificate(other.certPem).serialNumber, x.serialNumber);
  const win = new X509Certificate((await issueHostCertificate({ hostname: 'win-ab12cd34ef5.corp.local', seed: 1, profile: certificateProfileFor('Microsoft IIS httpd') })).certPem);
  assert.equal(win.subject, 'CN=WIN-AB12CD34EF5');
  assert.equal(win.issuer, win.subject);
  assert.deepEqual(win.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  const dev = new X509Certificate((await issueHostCertificate({ hostname: 'cam1', address: '192.0.2.7', seed: 1, profile: certificateProfileFor('Boa HTTPd', { vendor: 'D-Link', deviceType: 'webcam' }) })).certPem);
  assert.equal(dev.subject, 'CN=192.0.2.7');
  assert.equal(dev.issuer, 'C=TW\nO=D-Link Corporation\nCN=D-Link Device CA');
  assert.equal(new X509Certificate(makeHostCertificate('mail1', 5).certPem).subject, 'CN=mail1');
});

test('YAML: emulate: http with pages, headers, auth and limits; unknown products and bad keys are errors', () => {
  const yaml = [
    'templates:',
    '  web:',
    '    ports:',
    '      - proto: tcp',
    '        port: 80',
    '        action: open',
    '        service:',
    '          emulate: http',
    '          product: nginx',
    '          version: "1.18.0"',
    '          headers: { X-Frame-Options: SAMEORIGIN, X-Content-Type-Options: nosniff }',
    '          pages:',
    '            "/": { status: 200, body: "<h1>hi</h1>", headers: { Cache-Control: no-cache } }',
    '            "/robots.txt": "User-agent: *\\n"',
    '          auth: [{ path: /admin, realm: "Restricted", users: { admin: secret } }]',
    '          limits: { headerTimeoutMs: 5000, maxBodyBytes: 4096 }',
    'hosts:',
    '  - { address: 198.51.100.20, template: web }',
    '',
  ].join('\n');
  const cfg = configOf('x.yaml', yaml);
  const svc = cfg.templates.get('web')?.ports[0]?.service;
  assert.ok(svc?.kind === 'http');
  assert.equal(svc.identity.product, 'nginx');
  assert.equal(svc.identity.name, 'http');
  assert.deepEqual(svc.http.headers, [['X-Frame-Options', 'SAMEORIGIN'], ['X-Content-Type-Options', 'nosniff']]);
  assert.deepEqual(Object.keys(svc.http.pages), ['/', '/robots.txt']);
  assert.deepEqual(svc.http.auth, [{ path: '/admin', realm: 'Restricted', users: { admin: 'secret' } }]);
  assert.deepEqual(svc.http.limits, { headerTimeoutMs: 5000, maxBodyBytes: 4096 });
  const bad = errorsOf('x.yaml', yaml.replace('product: nginx', 'product: Nginx').replace('headerTimeoutMs: 5000', 'headerTimeoutMs: 5'));
  assert.ok(bad.lines.some((l) => /no style for "Nginx"/.test(l)), bad.lines.join('\n'));
  const bad2 = errorsOf('x.yaml', yaml.replace('headerTimeoutMs: 5000', 'headerTimeoutMs: 5'));
  assert.ok(bad2.lines.some((l) => /headerTimeoutMs/.test(l)), bad2.lines.join('\n'));
});

test('a cleartext request on a TLS port gets nginx\'s 497 page and Apache\'s mod_ssl note; others ignore it', () => {
  const { sink } = collect();
  const tlsService = (product: string, version: string): HttpStreamService => new HttpStreamService({ identity: { product, version, tls: true, name: 'https' }, http: options(), port: 443, templateName: 't', deploymentSeed: 1, events: sink });
  const nginx = exchange(tlsService('nginx', '1.18.0'), 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.match(nginx.out(), /^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*<head><title>400 The plain HTTP request was sent to HTTPS port<\/title><\/head>/);
  assert.ok(nginx.ended());
  assert.match(exchange(tlsService('Apache httpd', '2.4.57'), 'GET / HTTP/1.0\r\n\r\n').out(), /Reason: You're speaking plain HTTP to an SSL-enabled server port\.<br \/>\n Instead use the HTTPS scheme to access this URL, please\.<br \/>\n<\/p>\n<hr>\n<address>Apache\/2\.4\.57 \(Debian\) Server at 198\.51\.100\.20 Port 80<\/address>/);
  assert.equal(exchange(tlsService('lighttpd', '1.4.69'), 'GET / HTTP/1.0\r\n\r\n').out(), '');
});
