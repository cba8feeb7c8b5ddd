/**
 * How each emulated HTTP server writes its answers, taken from the products' sources:
 * - nginx: ngx_http_header_filter_module.c (Server, Date, Content-Type, Content-Length,
 *   Last-Modified, Location, Connection, then the header list: ETag, Accept-Ranges, …),
 *   ngx_http_special_response.c (error pages; `<body>` without bgcolor since 1.15.4), ETag
 *   `"<mtime hex>-<size hex>"`, status line always HTTP/1.1, 405 for OPTIONS/POST on static files.
 * - Apache httpd 2.4: http_filters.c basic_http_header (Date, Server first), the table order of
 *   the default handler (Last-Modified, ETag, Accept-Ranges, Content-Length, Vary, Keep-Alive,
 *   Connection, Content-Type), http_protocol.c ap_send_error_response / get_canned_error_string
 *   (HTML 2.0 pages with the ServerSignature `<address>`), ETag `"<size hex>-<mtime µs hex>"`.
 * - lighttpd 1.4: response.c http_response_write_header (headers in insertion order, then Date,
 *   then Server last; status line echoes HTTP/1.0), the XHTML error page of
 *   http_response_static_errdoc, 431 for oversized headers, decimal hash ETags.
 * - Microsoft IIS 10: static file handler order (Content-Type, Last-Modified, Accept-Ranges,
 *   ETag, Server, X-Powered-By, Date, Content-Length), the custom-error pages
 *   (`404 - File or directory not found.`) and HTTP.sys's own pages for requests it refuses
 *   before IIS sees them (Server: Microsoft-HTTPAPI/2.0).
 * - Boa 0.94 (routers, IP cameras): util.c/response.c (Date, Server, Accept-Ranges, Connection,
 *   Content-Length, Last-Modified, Content-Type; HTTP/1.0 status line; its terse HTML 3 pages).
 */

import type { ParseFailure } from './request-parser';

/** A response before the product writes it: what it says, not how. */
export interface HttpAnswer {
  status: number;
  contentType?: string;
  body: Buffer;
  /** ms since the epoch. */
  lastModified?: number;
  etag?: string;
  location?: string;
  allow?: string;
  authenticate?: string;
  /** Configured headers, in order; one the product writes itself replaces the product's value in place. */
  extra: readonly [string, string][];
}

/** The connection-level facts a product's header block depends on. */
export interface WireFacts {
  requestVersion: '0.9' | '1.0' | '1.1';
  /** The connection stays open after this response. */
  keepAlive: boolean;
  /** Seconds of keep-alive idle, requests still allowed (Apache's `Keep-Alive: timeout=5, max=99`). */
  keepAliveSeconds: number;
  requestsLeft: number;
  /** The client asked for keep-alive on HTTP/1.0. */
  clientKeepAlive10: boolean;
  /** HEAD: headers as for GET, no body. */
  head: boolean;
  now: number;
}

/** What an error page may mention. */
export interface ErrorContext {
  method: string;
  path: string;
  /** Host name (or address) and port as the product prints them in signatures. */
  host: string;
  port: number;
  /** Why a request was refused before it was understood (selects HTTP.sys/Apache notes). */
  failure?: ParseFailure;
  /** Redirects: the absolute URL the page points to. */
  location?: string;
}

export interface ProductLimits {
  maxRequestLine: number;
  maxHeaderBytes: number;
  maxHeaders: number;
  maxBodyBytes: number;
  headerTimeoutMs: number;
  bodyTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxRequestsPerConnection: number;
  maxBlankLines: number;
}

export interface HttpProduct {
  /** nmap's product names this style emulates (`p/…/` of the rules that print them). */
  readonly products: readonly string[];
  /**
   * The Server header value (and signature text) for a version; `info` is the identity's `info`
   * key where the product prints a comment (nginx `(Ubuntu)`, Apache's OS token).
   */
  serverToken(version: string | undefined, osFamily: string | undefined, info?: string): string;
  /** The whole response head, status line to the empty line. */
  head(answer: HttpAnswer, wire: WireFacts, server: string): string;
  /** The product's own error page for a status. */
  errorPage(status: number, ctx: ErrorContext, server: string): { status: number; contentType: string; body: string; authenticate?: string; allow?: string; closes: boolean; rawServer?: string };
  /** Status for a request the parser refused. */
  failureStatus(failure: ParseFailure): number;
  /** ETag for a file of `size` bytes modified at `mtimeMs`, seeded per host where the product hashes inodes. */
  etag(mtimeMs: number, size: number, seed: number): string;
  /** Methods served on static pages; others get `methodNotAllowed`. */
  readonly staticMethods: readonly string[];
  /** The answer to OPTIONS on a static page: a status with Allow, or the not-allowed error. */
  options(): { status: number; allow?: string; publicHeader?: string; contentType?: string } | 'not-allowed';
  readonly methodNotAllowed: number;
  /** A cleartext request on its TLS port gets a 400 page (nginx's 497, mod_ssl's note); else the connection is closed. */
  readonly answersPlainOnTls: boolean;
  /** What a header timeout (slowloris) gets: the product's 408 page, or a silent close. */
  readonly timeoutAnswer: 'close' | 408;
  readonly limits: ProductLimits;
  /** Index files looked up for a directory path, in order. */
  readonly indexFiles: readonly string[];
  defaultIndex(server: string): string;
}

const CRLF = '\r\n';

export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** RFC 9110 reason phrases, with each product's own overrides below. */
const REASONS: Record<number, string> = {
  100: 'Continue', 200: 'OK', 204: 'No Content', 206: 'Partial Content', 301: 'Moved Permanently', 302: 'Found', 304: 'Not Modified',
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout',
  411: 'Length Required', 413: 'Request Entity Too Large', 414: 'Request-URI Too Long', 417: 'Expectation Failed',
  431: 'Request Header Fields Too Large', 500: 'Internal Server Error', 501: 'Not Implemented', 503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};

function reason(status: number, overrides: Record<number, string> = {}): string {
  return overrides[status] ?? REASONS[status] ?? 'Unknown';
}

/**
 * Product headers in the product's order, with configured extras merged: a name the product writes
 * (or has a slot for, value undefined) takes that place; other names go last, in their order.
 */
function merge(own: [string, string | undefined][], extra: readonly [string, string][]): string {
  const lines: [string, string | undefined][] = own.map(([n, v]) => [n, v]);
  for (const [name, value] of extra) {
    const at = lines.findIndex(([n]) => n.toLowerCase() === name.toLowerCase());
    if (at >= 0) lines[at] = [lines[at]?.[0] ?? name, value];
    else lines.push([name, value]);
  }
  return lines.filter(([, v]) => v !== undefined).map(([n, v]) => `${n}: ${v}${CRLF}`).join('');
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

// ---------------------------------------------------------------------------------------------
// nginx

const NGINX_REASONS: Record<number, string> = { 302: 'Moved Temporarily', 405: 'Not Allowed', 408: 'Request Time-out', 414: 'Request-URI Too Large', 503: 'Service Temporarily Unavailable' };
/** Page titles differ from status lines in a few places (ngx_http_error_40x_page). */
const NGINX_TITLES: Record<number, string> = { 401: '401 Authorization Required' };

/** `a.b.c` compared numerically with `x.y.z` (missing parts are 0). */
function versionAtLeast(version: string, min: string): boolean {
  const a = version.split('.').map((n) => parseInt(n, 10) || 0);
  const b = min.split('.').map((n) => parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

/** nginx's docs/html/index.html as each release line ships it (1.21.2 restyled it, 1.29.6 rewrote the text). */
function nginxWelcome(server: string): string {
  const version = /^nginx\/([\d.]+)/.exec(server)?.[1] ?? '1.24.0';
  const head = ['<!DOCTYPE html>', '<html>', '<head>', '<title>Welcome to nginx!</title>', '<style>'];
  const style = versionAtLeast(version, '1.21.2')
    ? ['html { color-scheme: light dark; }', 'body { width: 35em; margin: 0 auto;', 'font-family: Tahoma, Verdana, Arial, sans-serif; }']
    : ['    body {', '        width: 35em;', '        margin: 0 auto;', '        font-family: Tahoma, Verdana, Arial, sans-serif;', '    }'];
  const text = versionAtLeast(version, '1.29.6')
    ? ["</style>", "</head>", "<body>", "<h1>Welcome to nginx!</h1>", "<p>If you see this page, nginx is successfully installed and working.", "Further configuration is required for the web server, reverse proxy, ", "API gateway, load balancer, content cache, or other features.</p>", "", "<p>For online documentation and support please refer to", "<a href=\"https://nginx.org/\">nginx.org</a>.<br/>", "To engage with the community please visit", "<a href=\"https://community.nginx.org/\">community.nginx.org</a>.<br/>", "For enterprise grade support, professional services, additional ", "security features and capabilities please refer to", "<a href=\"https://f5.com/nginx\">f5.com/nginx</a>.</p>", "", "<p><em>Thank you for using nginx.</em></p>", "</body>", "</html>"]
    : ['</style>', '</head>', '<body>', '<h1>Welcome to nginx!</h1>',
      '<p>If you see this page, the nginx web server is successfully installed and', 'working. Further configuration is required.</p>', '',
      '<p>For online documentation and support please refer to', '<a href="http://nginx.org/">nginx.org</a>.<br/>',
      'Commercial support is available at', '<a href="http://nginx.com/">nginx.com</a>.</p>', '', '<p><em>Thank you for using nginx.</em></p>', '</body>', '</html>'];
  return [...head, ...style, ...text, ''].join('\n');
}

const nginx: HttpProduct = {
  products: ['nginx'],
  serverToken: (version, _os, info) => (version === undefined ? 'nginx' : `nginx/${version}${info === undefined ? '' : ` (${info.replace(/^\((.*)\)$/, '$1')})`}`),
  head(a, w, server) {
    const length = a.body.length;
    return `HTTP/1.1 ${a.status} ${reason(a.status, NGINX_REASONS)}${CRLF}` + merge([
      ['Server', server],
      ['Date', httpDate(w.now)],
      ['Content-Type', a.contentType],
      ['Content-Length', String(length)],
      ['Last-Modified', a.lastModified === undefined ? undefined : httpDate(a.lastModified)],
      ['Location', a.location],
      ['Connection', w.keepAlive ? 'keep-alive' : 'close'],
      ['WWW-Authenticate', a.authenticate],
      ['Allow', a.allow],
      ['ETag', a.etag],
      ['Accept-Ranges', a.etag === undefined ? undefined : 'bytes'],
    ], a.extra) + CRLF;
  },
  errorPage(status, ctx, server) {
    let shown = status;
    let title = NGINX_TITLES[status] ?? `${status} ${reason(status, NGINX_REASONS)}`;
    let h1 = `<center><h1>${title}</h1></center>`;
    if (ctx.failure === 'header-too-large' || ctx.failure === 'too-many-headers' || ctx.failure === 'plain-http-on-tls') {
      const note = ctx.failure === 'plain-http-on-tls' ? 'The plain HTTP request was sent to HTTPS port' : 'Request Header Or Cookie Too Large';
      shown = 400;
      title = `400 ${note}`;
      h1 = `<center><h1>400 Bad Request</h1></center>${CRLF}<center>${note}</center>`;
    }
    const body = `<html>${CRLF}<head><title>${title}</title></head>${CRLF}<body>${CRLF}${h1}${CRLF}<hr><center>${server}</center>${CRLF}</body>${CRLF}</html>${CRLF}`;
    return { status: shown, contentType: 'text/html', body, closes: status === 400 || status === 413 || status === 414 || status === 408 || status >= 500 };
  },
  failureStatus: (f) => (f === 'request-line-too-long' ? 414 : f === 'body-too-large' ? 413 : f === 'unsupported-transfer-coding' ? 501 : 400),
  etag: (mtime, size) => `"${Math.floor(mtime / 1000).toString(16)}-${size.toString(16)}"`,
  staticMethods: ['GET', 'HEAD'],
  options: () => 'not-allowed',
  methodNotAllowed: 405,
  answersPlainOnTls: true,
  timeoutAnswer: 'close',
  // client_header_timeout 60s, large_client_header_buffers 4 8k, client_max_body_size 1m, keepalive_timeout 75s, keepalive_requests 1000.
  limits: { maxRequestLine: 8192, maxHeaderBytes: 32768, maxHeaders: 1000, maxBodyBytes: 1024 * 1024, headerTimeoutMs: 60_000, bodyTimeoutMs: 60_000, keepAliveTimeoutMs: 75_000, maxRequestsPerConnection: 1000, maxBlankLines: 1000 },
  indexFiles: ['index.html', 'index.htm'],
  defaultIndex: (server) => nginxWelcome(server),
};

// ---------------------------------------------------------------------------------------------
// Apache httpd

const APACHE_REASONS: Record<number, string> = { 408: 'Request Timeout', 413: 'Request Entity Too Large', 414: 'Request-URI Too Long' };

function apacheCanned(status: number, ctx: ErrorContext): string {
  const method = escapeHtml(ctx.method);
  switch (status) {
    case 400: {
      const note = ctx.failure === 'header-too-large' ? 'Size of a request header field exceeds server limit.'
        : ctx.failure === 'too-many-headers' ? "The number of request header fields exceeds this server's limit."
          : ctx.failure === 'plain-http-on-tls' ? "Reason: You're speaking plain HTTP to an SSL-enabled server port.<br />\n Instead use the HTTPS scheme to access this URL, please.<br />\n" : '';
      return `<p>Your browser sent a request that this server could not understand.<br />\n${note}</p>\n`;
    }
    case 301:
    case 302: return `<p>The document has moved <a href="${escapeHtml(ctx.location ?? '')}">here</a>.</p>\n`;
    case 401: return '<p>This server could not verify that you\nare authorized to access the document\nrequested.  Either you supplied the wrong\ncredentials (e.g., bad password), or your\nbrowser doesn\'t understand how to supply\nthe credentials required.</p>\n';
    case 403: return '<p>You don\'t have permission to access this resource.</p>\n';
    case 404: return '<p>The requested URL was not found on this server.</p>\n';
    case 405: return `<p>The requested method ${method} is not allowed for this URL.</p>\n`;
    case 408: return '<p>Server timeout waiting for the HTTP request from the client.</p>\n';
    case 411: return `<p>A request of the requested method ${method} requires a valid Content-length.<br />\n</p>\n`;
    case 413: return `The requested resource does not allow request data with ${method} requests, or the amount of data provided in\nthe request exceeds the capacity limit.\n`;
    case 414: return '<p>The requested URL\'s length exceeds the capacity\nlimit for this server.<br />\n</p>\n';
    case 431: return '<p>The server refused this request because\nthe request header fields are too large.</p>\n';
    case 501: return `<p>${method} not supported for current URL.<br />\n</p>\n`;
    default: return '<p>The server encountered an internal error or\nmisconfiguration and was unable to complete\nyour request.</p>\n';
  }
}

const apache: HttpProduct = {
  products: ['Apache httpd'],
  serverToken(version, os, info) {
    if (version === undefined) return 'Apache';
    // ServerTokens OS (the default): the platform the build names; Debian's packages say Debian.
    const suffix = info?.replace(/^\((.*)\)$/, '$1') ?? (os === 'Windows' ? 'Win64' : os === 'Linux' || os === undefined ? 'Debian' : os === 'FreeBSD' ? 'FreeBSD' : 'Unix');
    return `Apache/${version} (${suffix})`;
  },
  head(a, w, server) {
    const keepAliveLines: [string, string | undefined][] = w.keepAlive
      ? [['Keep-Alive', `timeout=${w.keepAliveSeconds}, max=${w.requestsLeft}`], ['Connection', 'Keep-Alive']]
      : [['Connection', 'close']];
    return `HTTP/1.1 ${a.status} ${reason(a.status, APACHE_REASONS)}${CRLF}` + merge([
      ['Date', httpDate(w.now)],
      ['Server', server],
      ['Location', a.location],
      ['WWW-Authenticate', a.authenticate],
      ['Allow', a.allow],
      ['Last-Modified', a.lastModified === undefined ? undefined : httpDate(a.lastModified)],
      ['ETag', a.etag],
      ['Accept-Ranges', a.etag === undefined ? undefined : 'bytes'],
      ['Content-Length', String(a.body.length)],
      ['Vary', a.etag === undefined ? undefined : 'Accept-Encoding'],
      ...keepAliveLines,
      ['Content-Type', a.contentType],
    ], a.extra) + CRLF;
  },
  errorPage(status, ctx, server) {
    const title = `${status} ${reason(status, APACHE_REASONS)}`;
    const body = '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n'
      + `<title>${title}</title>\n</head><body>\n<h1>${reason(status, APACHE_REASONS)}</h1>\n`
      + apacheCanned(status, ctx)
      + `<hr>\n<address>${server} Server at ${escapeHtml(ctx.host)} Port ${ctx.port}</address>\n</body></html>\n`;
    return { status, contentType: 'text/html; charset=iso-8859-1', body, closes: status === 400 || status === 408 || status === 413 || status === 414 || status === 431 || status >= 500, ...(status === 405 ? { allow: 'GET,POST,OPTIONS,HEAD' } : {}) };
  },
  failureStatus: (f) => (f === 'request-line-too-long' ? 414 : f === 'body-too-large' ? 413 : f === 'unsupported-transfer-coding' ? 501 : 400),
  etag: (mtime, size) => `"${size.toString(16)}-${(mtime * 1000).toString(16)}"`,
  staticMethods: ['GET', 'HEAD', 'POST'],
  options: () => ({ status: 200, allow: 'GET,POST,OPTIONS,HEAD', contentType: 'text/html' }),
  methodNotAllowed: 405,
  answersPlainOnTls: true,
  timeoutAnswer: 408,
  // LimitRequestLine 8190, LimitRequestFieldSize 8190, LimitRequestFields 100, mod_reqtimeout header=20-40, KeepAliveTimeout 5, MaxKeepAliveRequests 100.
  limits: { maxRequestLine: 8190, maxHeaderBytes: 100 * 8192, maxHeaders: 100, maxBodyBytes: 1024 * 1024, headerTimeoutMs: 20_000, bodyTimeoutMs: 20_000, keepAliveTimeoutMs: 5_000, maxRequestsPerConnection: 100, maxBlankLines: 10 },
  indexFiles: ['index.html', 'index.htm'],
  defaultIndex: () => '<html><body><h1>It works!</h1></body></html>\n',
};

// ---------------------------------------------------------------------------------------------
// lighttpd

const LIGHTTPD_REASONS: Record<number, string> = { 413: 'Payload Too Large', 414: 'URI Too Long' };

const lighttpd: HttpProduct = {
  products: ['lighttpd'],
  serverToken: (version) => (version === undefined ? 'lighttpd' : `lighttpd/${version}`),
  head(a, w, server) {
    const version = w.requestVersion === '1.1' ? '1.1' : '1.0';
    const connection = !w.keepAlive ? 'close' : w.requestVersion === '1.0' ? 'keep-alive' : undefined;
    return `HTTP/${version} ${a.status} ${reason(a.status, LIGHTTPD_REASONS)}${CRLF}` + merge([
      ['Content-Type', a.contentType],
      ['WWW-Authenticate', a.authenticate],
      ['Allow', a.allow],
      ['Location', a.location],
      ['ETag', a.etag],
      ['Last-Modified', a.lastModified === undefined ? undefined : httpDate(a.lastModified)],
      ['Content-Length', String(a.body.length)],
      ['Accept-Ranges', a.etag === undefined ? undefined : 'bytes'],
      ['Connection', connection],
      ['Date', httpDate(w.now)],
      ['Server', server],
    ], a.extra) + CRLF;
  },
  errorPage(status, _ctx, _server) {
    const line = `${status} ${reason(status, LIGHTTPD_REASONS)}`;
    const body = '<?xml version="1.0" encoding="iso-8859-1"?>\n'
      + '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n'
      + '         "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
      + '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">\n'
      + ` <head>\n  <title>${line}</title>\n </head>\n <body>\n  <h1>${line}</h1>\n </body>\n</html>\n`;
    return { status, contentType: 'text/html', body, closes: status === 400 || status === 408 || status === 413 || status === 414 || status === 431 || status >= 500, ...(status === 405 ? { allow: 'OPTIONS, GET, HEAD, POST' } : {}) };
  },
  failureStatus: (f) => (f === 'request-line-too-long' ? 414 : f === 'header-too-large' || f === 'too-many-headers' ? 431 : f === 'body-too-large' ? 413 : f === 'bad-version' ? 505 : f === 'unsupported-transfer-coding' ? 501 : 400),
  etag: (mtime, size, seed) => `"${(Math.imul(Math.floor(mtime / 1000) ^ seed, 2654435761) ^ size) >>> 0}"`,
  staticMethods: ['GET', 'HEAD', 'POST'],
  options: () => ({ status: 200, allow: 'OPTIONS, GET, HEAD, POST' }),
  methodNotAllowed: 405,
  answersPlainOnTls: false,
  timeoutAnswer: 'close',
  // server.max-request-field-size 8192, max-read-idle 60, max-keep-alive-idle 5, max-keep-alive-requests 1000.
  limits: { maxRequestLine: 8192, maxHeaderBytes: 8192, maxHeaders: 256, maxBodyBytes: 1024 * 1024, headerTimeoutMs: 60_000, bodyTimeoutMs: 60_000, keepAliveTimeoutMs: 5_000, maxRequestsPerConnection: 1000, maxBlankLines: 1000 },
  indexFiles: ['index.html', 'index.htm', 'index.lighttpd.html'],
  defaultIndex: () => '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>Placeholder page</title>\n</head>\n<body>\n<h1>Placeholder page</h1>\n<p>The owner of this web site has not put up any web pages yet.\nPlease come back later.</p>\n<p><small><em>You should replace this page with your own web pages as soon as possible.</em></small></p>\n</body>\n</html>\n',
};

// ---------------------------------------------------------------------------------------------
// Microsoft IIS (with HTTP.sys in front)

const IIS_STYLE = 'body{margin:0;font-size:.7em;font-family:Verdana, Arial, Helvetica, sans-serif;background:#EEEEEE;}\n'
  + 'fieldset{padding:0 15px 10px 15px;} \nh1{font-size:2.4em;margin:0;color:#FFF;}\nh2{font-size:1.7em;margin:0;color:#CC0000;} \n'
  + 'h3{font-size:1.2em;margin:10px 0 0 0;color:#000000;} \n#header{width:96%;margin:0 0 0 0;padding:6px 2% 6px 2%;font-family:"trebuchet MS", Verdana, sans-serif;color:#FFF;\n'
  + 'background-color:#555555;}\n#content{margin:0 0 0 2%;position:relative;}\n.content-container{background:#FFF;width:96%;margin-top:8px;padding:10px;position:relative;}\n';

const IIS_PAGES: Record<number, [string, string]> = {
  401: ['401 - Unauthorized: Access is denied due to invalid credentials.', 'You do not have permission to view this directory or page using the credentials that you supplied.'],
  403: ['403 - Forbidden: Access is denied.', 'You do not have permission to view this directory or page using the credentials that you supplied.'],
  404: ['404 - File or directory not found.', 'The resource you are looking for might have been removed, had its name changed, or is temporarily unavailable.'],
  405: ['405 - HTTP verb used to access this page is not allowed.', 'The page you are looking for cannot be displayed because an invalid method (HTTP verb) was used to attempt access.'],
  413: ['413 - Request Entity Too Large.', 'The page was not displayed because the request entity is too large.'],
  500: ['500 - Internal server error.', 'There is a problem with the resource you are looking for, and it cannot be displayed.'],
};

/** HTTP.sys refusals: (status, heading, explanation). */
function httpSysPage(failure: ParseFailure | undefined, status: number): [number, string, string, string] {
  switch (failure) {
    case 'request-line-too-long': return [414, 'Request URL Too Long', 'Request URL Too Long', 'HTTP Error 414. The request URL is too long.'];
    case 'header-too-large':
    case 'too-many-headers': return [400, 'Bad Request', 'Bad Request - Request Too Long', 'HTTP Error 400. The size of the request headers is too long.'];
    case 'bad-header': return [400, 'Bad Request', 'Bad Request - Invalid Header', 'HTTP Error 400. The request has an invalid header name.'];
    case 'missing-host': return [400, 'Bad Request', 'Bad Request - Invalid Hostname', 'HTTP Error 400. The request hostname is invalid.'];
    case 'bad-version': return [505, 'HTTP Version Not Supported', 'HTTP Version Not Supported', 'HTTP Error 505. The request HTTP version is not supported.'];
    case 'bad-request-line': return [400, 'Bad Request', 'Bad Request - Invalid Verb', 'HTTP Error 400. The request verb is invalid.'];
    case 'unsupported-transfer-coding': return [501, 'Not Implemented', 'Not Implemented', 'HTTP Error 501. The request transfer encoding type is not supported.'];
    case 'bad-length':
    case 'bad-chunk':
    case 'body-too-large':
    default: return [status === 408 ? 408 : 400, status === 408 ? 'Request Timeout' : 'Bad Request', status === 408 ? 'Request Timeout' : 'Bad Request', status === 408 ? 'HTTP Error 408. The request timed out.' : 'HTTP Error 400. The request is badly formed.'];
  }
}

const iis: HttpProduct = {
  products: ['Microsoft IIS httpd'],
  serverToken: (version) => (version === undefined ? 'Microsoft-IIS' : `Microsoft-IIS/${version}`),
  head(a, w, server) {
    const connection = !w.keepAlive ? 'close' : w.clientKeepAlive10 ? 'Keep-Alive' : undefined;
    return `HTTP/1.1 ${a.status} ${reason(a.status)}${CRLF}` + merge([
      ['Allow', a.allow],
      ['Content-Type', a.contentType],
      ['Location', a.location],
      ['Last-Modified', a.lastModified === undefined ? undefined : httpDate(a.lastModified)],
      ['Accept-Ranges', a.etag === undefined ? undefined : 'bytes'],
      ['ETag', a.etag],
      ['Server', server],
      ['Public', undefined],
      ['WWW-Authenticate', a.authenticate],
      ['X-Powered-By', 'ASP.NET'],
      ['Date', httpDate(w.now)],
      ['Connection', connection],
      ['Content-Length', String(a.body.length)],
    ], a.extra) + CRLF;
  },
  errorPage(status, ctx, _server) {
    if (ctx.failure !== undefined || status === 400 || status === 408 || status === 414 || status === 431 || status === 505) {
      const [shown, title, h2, text] = httpSysPage(ctx.failure, status);
      const body = '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n'
        + `<HTML><HEAD><TITLE>${title}</TITLE>\r\n<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n`
        + `<BODY><h2>${h2}</h2>\r\n<hr><p>${text}</p>\r\n</BODY></HTML>\r\n`;
      return { status: shown, contentType: 'text/html; charset=us-ascii', body, closes: true, rawServer: 'Microsoft-HTTPAPI/2.0' };
    }
    if (status === 301 || status === 302) {
      const body = `<head><title>Document Moved</title></head>\n<body><h1>Object Moved</h1>This document may be found <a HREF="${escapeHtml(ctx.location ?? '')}">here</a></body>`;
      return { status, contentType: 'text/html; charset=UTF-8', body, closes: false };
    }
    const [h2, h3] = IIS_PAGES[status] ?? IIS_PAGES[500] as [string, string];
    const title = status === 401 ? '401 - Unauthorized: Access is denied due to invalid credentials.' : h2;
    const body = '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\r\n'
      + '<html xmlns="http://www.w3.org/1999/xhtml">\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"/>\r\n'
      + `<title>${title}</title>\r\n<style type="text/css">\r\n<!--\r\n${IIS_STYLE.replace(/\n/g, '\r\n')}-->\r\n</style>\r\n</head>\r\n<body>\r\n`
      + '<div id="header"><h1>Server Error</h1></div>\r\n<div id="content">\r\n <div class="content-container"><fieldset>\r\n'
      + `  <h2>${h2}</h2>\r\n  <h3>${h3}</h3>\r\n </fieldset></div>\r\n</div>\r\n</body>\r\n</html>\r\n`;
    return { status, contentType: 'text/html', body, closes: status === 413 || status >= 500, ...(status === 405 ? { allow: 'GET, HEAD, OPTIONS, TRACE' } : {}) };
  },
  failureStatus: (f) => httpSysPage(f, 400)[0],
  // IIS: the FILETIME of the last write in hex, then the change number.
  etag: (mtime) => `"${(BigInt(Math.floor(mtime)) * 10000n + 116444736000000000n).toString(16)}:0"`,
  staticMethods: ['GET', 'HEAD'],
  options: () => ({ status: 200, allow: 'OPTIONS, TRACE, GET, HEAD, POST', publicHeader: 'OPTIONS, TRACE, GET, HEAD, POST' }),
  methodNotAllowed: 405,
  answersPlainOnTls: false,
  timeoutAnswer: 'close',
  // HTTP.sys MaxRequestBytes 16384, MaxFieldLength 16384, HeaderWait 120 s, IIS connectionTimeout 120 s, maxAllowedContentLength 30000000.
  limits: { maxRequestLine: 16384, maxHeaderBytes: 16384, maxHeaders: 1000, maxBodyBytes: 30_000_000, headerTimeoutMs: 120_000, bodyTimeoutMs: 120_000, keepAliveTimeoutMs: 120_000, maxRequestsPerConnection: 10_000, maxBlankLines: 1000 },
  indexFiles: ['Default.htm', 'Default.asp', 'index.htm', 'index.html', 'iisstart.htm'],
  defaultIndex: () => '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\r\n'
    + '<html xmlns="http://www.w3.org/1999/xhtml">\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1" />\r\n'
    + '<title>IIS Windows Server</title>\r\n<style type="text/css">\r\n<!--\r\nbody {\r\n\tcolor:#000000;\r\n\tbackground-color:#0072C6;\r\n\tmargin:0;\r\n}\r\n\r\n'
    + '#container {\r\n\tmargin-left:auto;\r\n\tmargin-right:auto;\r\n\ttext-align:center;\r\n\t}\r\n\r\na img {\r\n\tborder:none;\r\n}\r\n\r\n-->\r\n</style>\r\n</head>\r\n'
    + '<body>\r\n<div id="container">\r\n<a href="http://go.microsoft.com/fwlink/?linkid=66138&amp;clcid=0x409"><img src="iisstart.png" alt="IIS" width="960" height="600" /></a>\r\n</div>\r\n</body>\r\n</html>',
};

// ---------------------------------------------------------------------------------------------
// Boa (embedded: routers, IP cameras)

const BOA_TEXT: Record<number, (ctx: ErrorContext) => string> = {
  301: (c) => `The document has moved <A HREF="${escapeHtml(c.location ?? '')}">here</A>.\n`,
  400: () => 'Your client has issued a malformed or illegal request.\n',
  401: (c) => `Your client does not have permission to get URL ${escapeHtml(c.path)} from this server.\n`,
  403: (c) => `Your client does not have permission to get URL ${escapeHtml(c.path)} from this server.\n`,
  404: (c) => `The requested URL ${escapeHtml(c.path)} was not found on this server.\n`,
  408: () => 'No request appeared within a reasonable time period.\n',
  500: () => 'The server encountered an internal error and could not complete your request.\n',
  501: (c) => `${escapeHtml(c.method)} to non-script is not supported in Boa.\n`,
};

const boa: HttpProduct = {
  products: ['Boa HTTPd', 'Boa'],
  serverToken: (version) => (version === undefined ? 'Boa' : `Boa/${version}`),
  head(a, w, server) {
    const keep: [string, string | undefined][] = w.keepAlive
      ? [['Connection', 'Keep-Alive'], ['Keep-Alive', `timeout=${w.keepAliveSeconds}, max=${w.requestsLeft}`]]
      : [['Connection', 'close']];
    const hasBody = a.status === 200;
    return `HTTP/1.0 ${a.status} ${reason(a.status, { 501: 'Not Implemented' })}${CRLF}` + merge([
      ['Date', httpDate(w.now)],
      ['Server', server],
      ['Accept-Ranges', hasBody ? 'bytes' : undefined],
      ...keep,
      ['WWW-Authenticate', a.authenticate],
      ['Location', a.location],
      ['Content-Length', hasBody ? String(a.body.length) : undefined],
      ['Last-Modified', a.lastModified === undefined ? undefined : httpDate(a.lastModified)],
      ['Content-Type', a.contentType],
    ], a.extra) + CRLF;
  },
  errorPage(status, ctx) {
    const title = status === 501 ? '501 Method Not Implemented' : `${status} ${reason(status)}`;
    const text = (BOA_TEXT[status] ?? BOA_TEXT[500] as (c: ErrorContext) => string)(ctx);
    const body = `<HTML><HEAD><TITLE>${title}</TITLE></HEAD>\n<BODY><H1>${title}</H1>\n${text}</BODY></HTML>\n`;
    return { status, contentType: 'text/html', body, closes: true };
  },
  failureStatus: () => 400,
  etag: () => '',
  staticMethods: ['GET', 'HEAD'],
  options: () => 'not-allowed',
  methodNotAllowed: 501,
  answersPlainOnTls: false,
  timeoutAnswer: 'close',
  // boa.conf defaults: KeepAliveMax 1000, KeepAliveTimeout 10, REQUEST_TIMEOUT 60, 8 KB client buffer.
  limits: { maxRequestLine: 4096, maxHeaderBytes: 8192, maxHeaders: 100, maxBodyBytes: 1024 * 1024, headerTimeoutMs: 60_000, bodyTimeoutMs: 60_000, keepAliveTimeoutMs: 10_000, maxRequestsPerConnection: 1000, maxBlankLines: 10 },
  indexFiles: ['index.html', 'index.htm'],
  defaultIndex: () => '<HTML><HEAD><TITLE>Login</TITLE>\n<META HTTP-EQUIV="Pragma" CONTENT="no-cache">\n<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=iso-8859-1">\n</HEAD>\n<BODY>\n<FORM METHOD="POST" ACTION="/goform/login">\n<P>User Name: <INPUT TYPE="text" NAME="username" SIZE="16"></P>\n<P>Password: <INPUT TYPE="password" NAME="password" SIZE="16"></P>\n<P><INPUT TYPE="submit" VALUE="Login"></P>\n</FORM>\n</BODY></HTML>\n',
};

/** HTTP.sys's own head (requests it refuses before IIS sees them). */
export function httpSysHead(status: number, contentType: string, length: number, now: number): string {
  return `HTTP/1.1 ${status} ${reason(status)}${CRLF}Content-Type: ${contentType}${CRLF}Server: Microsoft-HTTPAPI/2.0${CRLF}Date: ${httpDate(now)}${CRLF}Connection: close${CRLF}Content-Length: ${length}${CRLF}${CRLF}`;
}

export function reasonPhrase(status: number): string {
  return reason(status);
}

const PRODUCTS: readonly HttpProduct[] = [nginx, apache, lighttpd, iis, boa];

/** The style for an nmap product name, or undefined when the emulator has none. */
export function httpProduct(product: string): HttpProduct | undefined {
  return PRODUCTS.find((p) => p.products.includes(product));
}

export function httpProductNames(): string[] {
  return PRODUCTS.flatMap((p) => [...p.products]);
}
