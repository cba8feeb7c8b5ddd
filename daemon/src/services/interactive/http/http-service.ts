/**
 * The HTTP emulator behind a port: one page store per (template, port), one site per host
 * (its Server header, name, seed and, for HTTPS, its certificate), and an HttpSession per
 * connection, in clear or inside TLS. Request-first like the real products: silent on connect, so
 * nmap's NULL probe reads nothing and its GetRequest gets the configured `/`.
 */

import { createSecureContext, type SecureContext } from 'node:tls';
import type { HttpOptions } from '../../../config/http-options';
import type { ServiceIdentitySpec } from '../../../config/types';
import type { EventSink } from '../../../events/event';
import type { OsClass } from '../../../personality/osdb/types';
import { SeededRandom, hashString } from '../../../personality/model/prng';
import { seededHostname } from '../../identity/synthesize';
import type { StreamContext, StreamService, StreamSession } from '../../service';
import { certificateProfileFor, issueHostCertificate, windowsHostname, type HostCertificate } from '../../tls/cert';
import { tlsFront } from '../../tls/tls-front';
import { DEFAULT_SESSION_BOUNDS, type SessionBounds } from '../session-recorder';
import { PageStore } from './pages';
import { httpProduct, type HttpProduct, type ProductLimits } from './products';
import { HttpSession, type HttpSite } from './session';

export interface HttpServiceOptions {
  identity: ServiceIdentitySpec;
  http: HttpOptions;
  port: number;
  templateName: string;
  deploymentSeed: number;
  events: EventSink;
  osClass?: OsClass;
  /** Hosts whose site (and certificate) is kept; the oldest is forgotten first. */
  maxHosts?: number;
  bounds?: SessionBounds;
}

interface HostSite {
  site: HttpSite;
  cert?: Promise<SecureContext>;
  certificate?: HostCertificate;
}

export class HttpStreamService implements StreamService {
  readonly name: string;
  readonly product: HttpProduct;
  private readonly store: PageStore;
  private readonly limits: ProductLimits;
  private readonly hosts = new Map<string, HostSite>();
  private readonly maxHosts: number;

  constructor(private readonly opts: HttpServiceOptions) {
    const product = httpProduct(opts.identity.product);
    if (product === undefined) throw new Error(`the HTTP emulator has no style for product "${opts.identity.product}"`);
    this.product = product;
    this.name = opts.identity.tls ? 'https' : 'http';
    this.maxHosts = opts.maxHosts ?? 4096;
    const l = opts.http.limits;
    this.limits = { ...product.limits };
    for (const key of Object.keys(l) as (keyof typeof l)[]) {
      const v = l[key];
      if (v !== undefined) this.limits[key] = v;
    }
    this.store = new PageStore({
      ...(opts.http.pagesDir !== undefined ? { dir: opts.http.pagesDir } : {}),
      pages: opts.http.pages, indexFiles: product.indexFiles, maxFiles: opts.http.maxFiles, maxBytes: opts.http.maxPageBytes,
    });
    if (this.store.skipped.reason !== undefined && opts.events.wants('daemon.error')) {
      opts.events.emit({ kind: 'daemon.error', time: Date.now(), message: `http pages on tcp/${opts.port} (template ${opts.templateName}): ${this.store.skipped.reason}; ${this.store.skipped.files} files left out` });
    }
  }

  /** The site a host serves (for tests and the CLI). */
  siteFor(address: string): HttpSite {
    return this.host(address).site;
  }

  /** The host's certificate once made (HTTPS only). */
  async certificateFor(address: string): Promise<HostCertificate | undefined> {
    const h = this.host(address);
    if (h.cert === undefined) return undefined;
    await h.cert;
    return h.certificate;
  }

  open(ctx: StreamContext): StreamSession {
    const host = this.host(ctx.local.address);
    if (!this.opts.identity.tls || host.cert === undefined) return new HttpSession(ctx, host.site, 'http');
    const site = host.site;
    return tlsFront(ctx, host.cert, {
      onSecure: (inner) => new HttpSession(inner, site, 'https'),
      // Cleartext HTTP on the TLS port: nginx and Apache answer it with their own 400; the others ignore it.
      onCleartext: (first) => (this.product.answersPlainOnTls && /^[A-Z]{3,10} /.test(first.subarray(0, 11).toString('latin1'))
        ? new HttpSession(ctx, site, 'http', true) : undefined),
    });
  }

  private host(address: string): HostSite {
    const hit = this.hosts.get(address);
    if (hit !== undefined) return hit;
    const { identity, osClass } = this.opts;
    const seed = hashString(`${address}\u0000${this.opts.templateName}\u0000tcp/${this.opts.port}\u0000http`, this.opts.deploymentSeed);
    const windows = this.product.products[0] === 'Microsoft IIS httpd' || osClass?.vendor === 'Microsoft';
    const hostname = identity.hostname ?? (windows ? windowsHostname(seed) : seededHostname(SeededRandom.derive(seed, 'hostname')));
    const server = this.product.serverToken(identity.version, osClass?.family, identity.info);
    const site: HttpSite = {
      product: this.product, productName: identity.product, server, store: this.store, auth: this.opts.http.auth, headers: this.opts.http.headers,
      limits: this.limits, hostname: identity.hostname ?? address, hostnameFixed: identity.hostname !== undefined, seed, events: this.opts.events, bounds: this.opts.bounds ?? DEFAULT_SESSION_BOUNDS,
    };
    const entry: HostSite = { site };
    if (identity.tls) {
      const profile = certificateProfileFor(identity.product, osClass);
      entry.cert = issueHostCertificate({ hostname, address, seed, profile }).then((c) => {
        entry.certificate = c;
        return createSecureContext({ key: c.keyPem, cert: c.certPem });
      });
      entry.cert.catch(() => {});
    }
    if (this.hosts.size >= this.maxHosts) {
      const oldest = this.hosts.keys().next().value;
      if (oldest !== undefined) this.hosts.delete(oldest);
    }
    this.hosts.set(address, entry);
    return entry;
  }
}
