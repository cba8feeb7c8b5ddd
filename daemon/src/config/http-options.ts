/**
 * What the HTTP emulator (services/interactive/http/) runs from: pages, Basic-auth realms, extra
 * headers and bounds. Parsed from YAML by yaml-http.ts; every bound has a default per product
 * (the product's own limits and timeouts) that the config can lower or raise within a range.
 */

/** One configured page: status, headers in the order given, and a body (text or a file read at start). */
export interface HttpPageSpec {
  status: number;
  /** Sent after the product's own headers, in this order; a name the product sends itself replaces its value in place. */
  headers: [string, string][];
  body: string;
  /** Content-Type when `headers` sets none (default from the path's extension, else text/html). */
  contentType?: string;
}

/** A path prefix behind HTTP Basic auth: every credential tried is a `service.login` event. */
export interface HttpAuthSpec {
  /** Path prefix (`/admin` covers `/admin` and `/admin/…`). */
  path: string;
  realm: string;
  /** `user: password` pairs that are let in; absent or empty = every attempt is refused. */
  users: Record<string, string>;
}

/** Bounds of one HTTP connection; undefined keys take the product's defaults (http/products.ts). */
export interface HttpLimitsSpec {
  /** Longest request line, bytes (longer: the product's 414), and longest single header field (longer: its 400/431). */
  maxRequestLine?: number;
  /** Request head (line + headers) bytes (more: the product's 400/431). */
  maxHeaderBytes?: number;
  /** Header fields per request (more: the product's 400/431). */
  maxHeaders?: number;
  /** Request body bytes (more: the product's 413, then close). */
  maxBodyBytes?: number;
  /** Milliseconds to receive a whole request head (slowloris: then the product's timeout answer and close). */
  headerTimeoutMs?: number;
  /** Milliseconds between body bytes. */
  bodyTimeoutMs?: number;
  /** Milliseconds an idle keep-alive connection is kept. */
  keepAliveTimeoutMs?: number;
  /** Requests served on one connection before it is closed. */
  maxRequestsPerConnection?: number;
}

export interface HttpOptions {
  /** Directory served read-only (loaded at start, bounded); absent = only inline pages and the product's default index. */
  pagesDir?: string;
  /** Inline pages by exact path; they win over the directory. */
  pages: Record<string, HttpPageSpec>;
  auth: HttpAuthSpec[];
  /** Added to every response (after the product's own headers), in order. */
  headers: [string, string][];
  limits: HttpLimitsSpec;
  /** Files and bytes loaded from `pagesDir` at most (the rest is skipped, with one daemon.error). */
  maxFiles: number;
  maxPageBytes: number;
}

export const DEFAULT_HTTP_MAX_FILES = 1000;
export const DEFAULT_HTTP_MAX_PAGE_BYTES = 16 * 1024 * 1024;

/** Accepted ranges of the `limits:` keys (lower bounds keep the emulator usable, upper bounds keep memory bounded). */
export const HTTP_LIMIT_RANGES: Record<keyof HttpLimitsSpec, [number, number]> = {
  maxRequestLine: [256, 1024 * 1024],
  maxHeaderBytes: [1024, 1024 * 1024],
  maxHeaders: [8, 10_000],
  maxBodyBytes: [0, 64 * 1024 * 1024],
  headerTimeoutMs: [100, 600_000],
  bodyTimeoutMs: [100, 600_000],
  keepAliveTimeoutMs: [100, 600_000],
  maxRequestsPerConnection: [1, 100_000],
};
