/**
 * An incremental HTTP/1.x request parser over Buffers with hard bounds. Bytes go in with `push`;
 * `next` returns one complete request, one failure (which the product answers with its own
 * error page), a 100-continue moment, or nothing yet. It never holds more than the head bound plus
 * one read, and of a body only the excerpt it was told to keep (the rest is counted).
 */

export interface ParserBounds {
  /** Longest request line, and longest single header field line (Apache LimitRequestFieldSize, nginx's 8k buffers). */
  maxRequestLine: number;
  maxHeaderBytes: number;
  maxHeaders: number;
  maxBodyBytes: number;
  /** Body bytes kept for the event excerpt; the rest is read and counted. */
  keepBodyBytes: number;
  /** Empty lines skipped before a request line (Apache: 10; nginx and others skip any number, bounded here). */
  maxBlankLines: number;
}

export interface HttpRequest {
  method: string;
  /** The request target as sent (latin1). */
  target: string;
  /** `1.0` or `1.1`; `0.9` for a bare `GET /` line. */
  version: '0.9' | '1.0' | '1.1';
  /** Header fields in the order sent, names as sent. */
  headers: [string, string][];
  /** The kept start of the body. */
  body: Buffer;
  /** The whole body's length. */
  bodyBytes: number;
  /** Bytes of the request line and headers. */
  headBytes: number;
}

/** Why a request could not be read; the product maps each to its own status and page. */
export type ParseFailure =
  | 'bad-request-line' // not METHOD SP TARGET SP HTTP/x.y
  | 'bad-version' // HTTP/2.0, RTSP/1.0, …
  | 'bad-header' // a line that is not a header field, or obsolete folding
  | 'request-line-too-long'
  | 'header-too-large' // one field or the head over the bound
  | 'too-many-headers'
  | 'missing-host' // HTTP/1.1 without Host
  | 'bad-length' // Content-Length not a number, both CL and chunked, several differing CLs
  | 'bad-chunk' // malformed chunked body
  | 'unsupported-transfer-coding'
  | 'body-too-large'
  | 'plain-http-on-tls'; // a cleartext request on a TLS port (not the parser's: the service finds it)

export type ParseResult =
  | { kind: 'none' }
  | { kind: 'request'; request: HttpRequest }
  | { kind: 'continue'; request: HttpRequest } // head read, `Expect: 100-continue`, body not yet sent
  | { kind: 'failure'; failure: ParseFailure; partial?: Pick<HttpRequest, 'method' | 'target' | 'version' | 'headers'> };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

type State =
  | { at: 'head' }
  | { at: 'body'; request: HttpRequest; left: number }
  | { at: 'chunk-size'; request: HttpRequest }
  | { at: 'chunk-data'; request: HttpRequest; left: number }
  | { at: 'chunk-data-end'; request: HttpRequest }
  | { at: 'trailer'; request: HttpRequest; bytes: number }
  | { at: 'failed' };

export class RequestParser {
  private pending: Buffer = Buffer.alloc(0);
  private state: State = { at: 'head' };
  private continueAnnounced = false;
  private blankLines = 0;

  constructor(private readonly bounds: ParserBounds) {}

  /** Bytes waiting to be parsed (bounded: the caller stops pushing while a response is pending). */
  get buffered(): number {
    return this.pending.length;
  }

  /** Whether a request has started (bytes beyond blank lines, or a body in progress). */
  get midRequest(): boolean {
    return this.state.at !== 'head' || this.pending.length > 0;
  }

  get inBody(): boolean {
    return this.state.at !== 'head' && this.state.at !== 'failed';
  }

  push(data: Buffer): void {
    if (this.state.at === 'failed' || data.length === 0) return;
    this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
  }

  next(): ParseResult {
    for (;;) {
      const s = this.state;
      switch (s.at) {
        case 'failed':
          return { kind: 'none' };
        case 'head': {
          const r = this.readHead();
          if (r === undefined) return { kind: 'none' };
          if (r.kind !== 'request') return r;
          const request = r.request;
          const framing = bodyFraming(request.headers);
          if (framing === 'bad-length' || framing === 'unsupported-transfer-coding') return this.fail(framing, request);
          if (request.version === '1.1' && !request.headers.some(([n]) => n.toLowerCase() === 'host')) return this.fail('missing-host', request);
          if (framing === 'chunked') this.state = { at: 'chunk-size', request };
          else if (framing > 0) {
            if (framing > this.bounds.maxBodyBytes) return this.fail('body-too-large', request);
            this.state = { at: 'body', request, left: framing };
          } else return { kind: 'request', request };
          if (expectsContinue(request) && this.pending.length === 0 && !this.continueAnnounced) {
            this.continueAnnounced = true;
            return { kind: 'continue', request };
          }
          continue;
        }
        case 'body': {
          if (this.pending.length === 0) return this.maybeContinue(s.request);
          const take = Math.min(s.left, this.pending.length);
          this.keep(s.request, this.pending.subarray(0, take));
          this.pending = this.pending.subarray(take);
          s.left -= take;
          if (s.left > 0) return { kind: 'none' };
          return this.done(s.request);
        }
        case 'chunk-size': {
          const eol = this.pending.indexOf(0x0a);
          if (eol < 0) {
            if (this.pending.length > 1024) return this.fail('bad-chunk', s.request);
            return this.maybeContinue(s.request);
          }
          const line = this.pending.subarray(0, eol).toString('latin1').replace(/\r$/, '');
          this.pending = this.pending.subarray(eol + 1);
          const m = /^([0-9A-Fa-f]{1,8})(?:[ \t]*;.*)?$/.exec(line);
          if (m === null) return this.fail('bad-chunk', s.request);
          const size = parseInt(m[1] as string, 16);
          if (size === 0) { this.state = { at: 'trailer', request: s.request, bytes: 0 }; continue; }
          if (s.request.bodyBytes + size > this.bounds.maxBodyBytes) return this.fail('body-too-large', s.request);
          this.state = { at: 'chunk-data', request: s.request, left: size };
          continue;
        }
        case 'chunk-data': {
          if (this.pending.length === 0) return { kind: 'none' };
          const take = Math.min(s.left, this.pending.length);
          this.keep(s.request, this.pending.subarray(0, take));
          this.pending = this.pending.subarray(take);
          s.left -= take;
          if (s.left > 0) return { kind: 'none' };
          this.state = { at: 'chunk-data-end', request: s.request };
          continue;
        }
        case 'chunk-data-end': {
          if (this.pending.length < 1) return { kind: 'none' };
          if (this.pending[0] === 0x0a) { this.pending = this.pending.subarray(1); this.state = { at: 'chunk-size', request: s.request }; continue; }
          if (this.pending.length < 2) return { kind: 'none' };
          if (this.pending[0] !== 0x0d || this.pending[1] !== 0x0a) return this.fail('bad-chunk', s.request);
          this.pending = this.pending.subarray(2);
          this.state = { at: 'chunk-size', request: s.request };
          continue;
        }
        case 'trailer': {
          const eol = this.pending.indexOf(0x0a);
          if (eol < 0) {
            if (s.bytes + this.pending.length > this.bounds.maxHeaderBytes) return this.fail('header-too-large', s.request);
            return { kind: 'none' };
          }
          const empty = eol === 0 || (eol === 1 && this.pending[0] === 0x0d);
          s.bytes += eol + 1;
          this.pending = this.pending.subarray(eol + 1);
          if (empty) return this.done(s.request);
          if (s.bytes > this.bounds.maxHeaderBytes) return this.fail('header-too-large', s.request);
          continue;
        }
      }
    }
  }

  private maybeContinue(request: HttpRequest): ParseResult {
    if (expectsContinue(request) && !this.continueAnnounced && request.bodyBytes === 0) {
      this.continueAnnounced = true;
      return { kind: 'continue', request };
    }
    return { kind: 'none' };
  }

  private done(request: HttpRequest): ParseResult {
    this.state = { at: 'head' };
    this.continueAnnounced = false;
    return { kind: 'request', request };
  }

  private keep(request: HttpRequest, bytes: Buffer): void {
    const room = this.bounds.keepBodyBytes - request.body.length;
    if (room > 0) request.body = Buffer.concat([request.body, bytes.subarray(0, room)]);
    request.bodyBytes += bytes.length;
  }

  private fail(failure: ParseFailure, partial?: Pick<HttpRequest, 'method' | 'target' | 'version' | 'headers'>): ParseResult {
    this.state = { at: 'failed' };
    this.pending = Buffer.alloc(0);
    return partial === undefined ? { kind: 'failure', failure } : { kind: 'failure', failure, partial };
  }

  private readHead(): ParseResult | undefined {
    // Blank lines before a request line are skipped (RFC 9112 §2.2), up to a bound.
    while (this.pending.length > 0 && (this.pending[0] === 0x0a || (this.pending[0] === 0x0d && this.pending[1] === 0x0a))) {
      this.pending = this.pending.subarray(this.pending[0] === 0x0a ? 1 : 2);
      if (++this.blankLines > this.bounds.maxBlankLines) return this.fail('bad-request-line');
    }
    if (this.pending.length === 0) return undefined;
    const firstEol = this.pending.indexOf(0x0a);
    if (firstEol < 0 ? this.pending.length > this.bounds.maxRequestLine : firstEol > this.bounds.maxRequestLine) return this.fail('request-line-too-long');
    if (firstEol < 0) return this.earlyLineCheck();
    const line = this.pending.subarray(0, firstEol).toString('latin1').replace(/\r$/, '');
    const rl = parseRequestLine(line);
    if (typeof rl === 'string') return this.fail(rl);
    if (rl.version === '0.9') {
      this.pending = this.pending.subarray(firstEol + 1);
      this.blankLines = 0;
      return { kind: 'request', request: { ...rl, headers: [], body: Buffer.alloc(0), bodyBytes: 0, headBytes: firstEol + 1 } };
    }
    // Find the end of the head: an empty line.
    let at = firstEol + 1;
    const headers: [string, string][] = [];
    for (;;) {
      if (at > this.bounds.maxHeaderBytes) return this.fail('header-too-large', { ...rl, headers });
      const eol = this.pending.indexOf(0x0a, at);
      if (eol < 0) {
        if (this.pending.length > this.bounds.maxHeaderBytes || this.pending.length - at > this.bounds.maxRequestLine) return this.fail('header-too-large', { ...rl, headers });
        return undefined;
      }
      const raw = this.pending.subarray(at, eol).toString('latin1').replace(/\r$/, '');
      at = eol + 1;
      if (raw === '') break;
      if (at > this.bounds.maxHeaderBytes || raw.length > this.bounds.maxRequestLine) return this.fail('header-too-large', { ...rl, headers });
      if (raw[0] === ' ' || raw[0] === '\t') return this.fail('bad-header', { ...rl, headers });
      const colon = raw.indexOf(':');
      const name = colon > 0 ? raw.slice(0, colon) : '';
      if (!TOKEN.test(name)) return this.fail('bad-header', { ...rl, headers });
      if (headers.length >= this.bounds.maxHeaders) return this.fail('too-many-headers', { ...rl, headers });
      headers.push([name, raw.slice(colon + 1).trim()]);
    }
    this.pending = this.pending.subarray(at);
    this.blankLines = 0;
    return { kind: 'request', request: { ...rl, headers, body: Buffer.alloc(0), bodyBytes: 0, headBytes: at } };
  }

  /** A request line still being received: fail early when its start already cannot be HTTP. */
  private earlyLineCheck(): ParseResult | undefined {
    const text = this.pending.subarray(0, Math.min(this.pending.length, 32)).toString('latin1');
    const sp = text.indexOf(' ');
    const method = sp < 0 ? text : text.slice(0, sp);
    if (method.length > 0 && !TOKEN.test(method.replace(/\r$/, ''))) return this.fail('bad-request-line');
    if (sp < 0 && method.length >= 32) return this.fail('bad-request-line');
    return undefined;
  }
}

function parseRequestLine(line: string): Pick<HttpRequest, 'method' | 'target' | 'version'> | ParseFailure {
  const parts = line.split(' ');
  const method = parts[0] ?? '';
  if (!TOKEN.test(method)) return 'bad-request-line';
  if (parts.length === 2 && method === 'GET' && parts[1] !== '' && parts[1]?.startsWith('/')) return { method, target: parts[1] as string, version: '0.9' };
  if (parts.length !== 3 || parts[1] === '') return 'bad-request-line';
  const target = parts[1] as string;
  if (/[\x00-\x20\x7f]/.test(target)) return 'bad-request-line';
  const v = /^HTTP\/(\d)\.(\d)$/.exec(parts[2] as string);
  if (v === null) return /^[A-Z]+\/\d\.\d$/.test(parts[2] as string) ? 'bad-version' : 'bad-request-line';
  if (v[1] !== '1') return 'bad-version';
  return { method, target, version: v[2] === '0' ? '1.0' : '1.1' };
}

/** The body length from the headers, `chunked`, or a failure (RFC 9112 §6.3). */
function bodyFraming(headers: readonly [string, string][]): number | 'chunked' | 'bad-length' | 'unsupported-transfer-coding' {
  let length: number | undefined;
  let chunked = false;
  for (const [name, value] of headers) {
    const n = name.toLowerCase();
    if (n === 'transfer-encoding') {
      const codings = value.toLowerCase().split(',').map((c) => c.trim()).filter((c) => c !== '');
      if (codings[codings.length - 1] !== 'chunked' || codings.some((c) => c !== 'chunked' && c !== 'identity')) return 'unsupported-transfer-coding';
      chunked = true;
    } else if (n === 'content-length') {
      if (!/^\d{1,15}$/.test(value)) return 'bad-length';
      const v = Number(value);
      if (length !== undefined && length !== v) return 'bad-length';
      length = v;
    }
  }
  if (chunked && length !== undefined) return 'bad-length';
  return chunked ? 'chunked' : (length ?? 0);
}

function expectsContinue(request: HttpRequest): boolean {
  return request.version === '1.1' && request.headers.some(([n, v]) => n.toLowerCase() === 'expect' && v.toLowerCase() === '100-continue');
}

/** The first value of a header, case-insensitively. */
export function headerValue(headers: readonly [string, string][], name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [n, v] of headers) if (n.toLowerCase() === lower) return v;
  return undefined;
}
