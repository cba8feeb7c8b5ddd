/**
 * Services that wear an nmap-service-probes identity. Per host (the connection's local address)
 * a plan is synthesised once and cached: which probe to answer and the exact bytes. Banner-first
 * identities (NULL probe) write on connect; request-first ones stay open and quiet until nmap's
 * probe arrives (never closing, so nmap never prints `tcpwrapped`), then answer it in one write.
 */

import { randomBytes } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { ServiceIdentitySpec } from '../../config/types';
import type { EventSink } from '../../events/event';
import { SeededRandom, hashString } from '../../personality/model/prng';
import type { ServiceProbeFile } from '../probes/service-probes';
import type { DatagramService, Endpoint, StreamContext, StreamService, StreamSession } from '../service';
import { certificateProfileFor, issueHostCertificate } from '../tls/cert';
import { tlsFront } from '../tls/tls-front';
import { findCandidates, httpDate, seededHostname, synthesize, type Candidate, type IdentityPlan } from './synthesize';

export interface IdentityServiceOptions {
  file: ServiceProbeFile;
  spec: ServiceIdentitySpec;
  port: number;
  templateName: string;
  /** Per-deployment seed: mixed into every host's seed so two installations differ. */
  deploymentSeed: number;
  events: EventSink;
  /** The host OS as nmap-os-db classes it: TLS certificates fit it (a vendor issuer on devices). */
  osClass?: { vendor: string; deviceType: string };
  /** Hosts whose plan (and TLS context) is kept; the oldest is forgotten first. */
  maxHosts?: number;
}

/** Bytes kept from a client while waiting for a whole probe. */
const MAX_PENDING = 4096;

interface HostPlan {
  plan: IdentityPlan;
  /** TLS identities: the host's certificate, made on first use (RSA off the event loop). */
  secure?: Promise<SecureContext>;
}

/** Plans per host for one (template, port) identity. */
class PlanCache {
  private readonly hosts = new Map<string, HostPlan>();
  private candidates: Candidate[] | undefined;
  private fallback: IdentityPlan | undefined;
  private readonly maxHosts: number;
  private failed = false;

  constructor(readonly opts: IdentityServiceOptions, readonly proto: 'tcp' | 'udp') {
    this.maxHosts = opts.maxHosts ?? 4096;
  }

  hostSeed(address: string): number {
    return hashString(`${address}\u0000${this.opts.templateName}\u0000${this.proto}/${this.opts.port}`, this.opts.deploymentSeed);
  }

  /** Never throws: a plan that cannot be made leaves the port open and quiet (logged once). */
  get(address: string): HostPlan | undefined {
    try {
      return this.make(address);
    } catch (err) {
      if (!this.failed && this.opts.events.wants('daemon.error')) {
        this.opts.events.emit({ kind: 'daemon.error', time: Date.now(), message: `identity ${this.opts.spec.product} on ${this.proto}/${this.opts.port}: ${err instanceof Error ? err.message : String(err)}` });
      }
      this.failed = true;
      return undefined;
    }
  }

  private make(address: string): HostPlan | undefined {
    const hit = this.hosts.get(address);
    if (hit !== undefined) return hit;
    this.candidates ??= findCandidates(this.opts.file, this.proto, this.opts.port, this.opts.spec);
    const seed = this.hostSeed(address);
    let plan = synthesize(this.opts.file, this.candidates, this.opts.spec, this.opts.port, seed);
    if (plan === undefined) {
      this.fallback ??= synthesize(this.opts.file, this.candidates, this.opts.spec, this.opts.port, this.opts.deploymentSeed);
      plan = this.fallback;
    }
    if (plan === undefined) return undefined;
    const entry: HostPlan = { plan };
    if (plan.tls) {
      const cn = this.opts.spec.hostname ?? seededHostname(SeededRandom.derive(seed, 'hostname'));
      const profile = certificateProfileFor(this.opts.spec.product, this.opts.osClass);
      entry.secure = issueHostCertificate({ hostname: cn, address, seed, profile }).then((cert) => createSecureContext({ key: cert.keyPem, cert: cert.certPem }));
      entry.secure.catch(() => {});
    }
    if (this.hosts.size >= this.maxHosts) {
      const oldest = this.hosts.keys().next().value;
      if (oldest !== undefined) this.hosts.delete(oldest);
    }
    this.hosts.set(address, entry);
    return entry;
  }
}

function serviceLabel(plan: IdentityPlan): string {
  return `${plan.tls ? 'ssl/' : ''}${plan.rule.service}`;
}

function looksLikeHttpRequest(text: string): boolean {
  return /^[A-Z]{3,10} \S+ HTTP\/\d\.\d\r?\n/.test(text) && /\r?\n\r?\n/.test(text);
}

/**
 * Whether `text` is another nmap probe of the same protocol: those get silence, so that a reply
 * meant for one probe is never matched against another probe's rules (HTTPOptions, FourOhFour…).
 */
function isOtherProbe(text: string, plan: IdentityPlan): boolean {
  return plan.otherPayloads.some((p) => text.startsWith(p));
}

/** The plan's bytes with what a real server varies per reply filled in: the HTTP Date, salts and challenges. */
export function freshResponse(plan: IdentityPlan): string {
  let bytes = plan.response;
  if (plan.dateAt !== undefined) bytes = bytes.slice(0, plan.dateAt) + httpDate(Date.now()) + bytes.slice(plan.dateAt + 29);
  for (const { at, len } of plan.nonces ?? []) {
    const random = randomBytes(len);
    let fill = '';
    for (const b of random) fill += String.fromCharCode(0x21 + (b % 94));
    bytes = bytes.slice(0, at) + fill + bytes.slice(at + len);
  }
  return bytes;
}

/** One connection speaking the plan (in clear, or inside TLS). */
class ProbeSession implements StreamSession {
  private pending = '';
  private answered = false;

  constructor(private readonly ctx: StreamContext, private readonly plan: IdentityPlan, private readonly events: EventSink, private readonly tls?: string) {
    this.emit('service.identity');
    if (plan.probe.name === 'NULL') this.answer();
  }

  private emit(kind: 'service.identity' | 'service.probe', bytes?: number): void {
    if (!this.events.wants(kind)) return;
    const { plan, ctx } = this;
    this.events.emit({
      kind, time: Date.now(), proto: 'tcp', srcIp: ctx.remote.address, srcPort: ctx.remote.port, dstIp: ctx.local.address, dstPort: ctx.local.port,
      service: serviceLabel(plan), product: plan.printed.p ?? plan.spec.product, version: plan.printed.v, probe: plan.probe.name, ruleLine: plan.rule.line,
      bytes, tls: this.tls,
    });
  }

  private answer(): void {
    this.answered = true;
    const bytes = freshResponse(this.plan);
    // One write: nmap re-matches after every read, and a prefix could match a more generic rule.
    this.ctx.write(bytes);
    this.emit('service.probe', bytes.length);
    if (bytes.startsWith('HTTP/')) this.ctx.end();
  }

  onData(data: Buffer): void {
    if (this.answered && this.plan.probe.name === 'NULL') return;
    if (this.pending.length + data.length > MAX_PENDING) { this.pending = ''; return; }
    this.pending += data.toString('latin1');
    const payload = this.plan.probe.payload;
    if (payload !== '' && this.pending.startsWith(payload)) {
      this.pending = '';
      this.answer();
    } else if (payload.startsWith(this.pending)) {
      // a prefix of the probe: wait for the rest
    } else if (payload.startsWith('GET ') && looksLikeHttpRequest(this.pending) && !isOtherProbe(this.pending, this.plan)) {
      this.pending = '';
      this.answer();
    } else if (/\r?\n\r?\n/.test(this.pending)) {
      // A complete request or block of lines that is not the identity's probe: read and ignore it.
      this.pending = '';
    }
  }

  onEnd(): void { this.ctx.end(); }
  onClose(): void { this.pending = ''; }
}

/** Quietly holds a connection for which no plan exists (never closes early: no `tcpwrapped`). */
const QUIET: StreamSession = { onData: () => {}, onEnd: () => {}, onClose: () => {} };

export class IdentityStreamService implements StreamService {
  readonly name: string;
  private readonly plans: PlanCache;

  constructor(private readonly opts: IdentityServiceOptions) {
    this.name = `${opts.spec.tls ? 'ssl/' : ''}${opts.spec.name ?? 'identity'}`;
    this.plans = new PlanCache(opts, 'tcp');
  }

  /** The plan a host would serve (for the CLI and tests). */
  planFor(address: string): IdentityPlan | undefined {
    return this.plans.get(address)?.plan;
  }

  open(ctx: StreamContext): StreamSession {
    const entry = this.plans.get(ctx.local.address);
    if (entry === undefined) return { ...QUIET, onEnd: () => ctx.end() };
    const { plan, secure } = entry;
    if (!plan.tls || secure === undefined) return new ProbeSession(ctx, plan, this.opts.events);
    // Wait for a TLS hello; anything else on a TLS port is read and ignored, as a TLS server does.
    return tlsFront(ctx, secure, { onSecure: (inner, protocol) => new ProbeSession(inner, plan, this.opts.events, protocol) });
  }
}

export class IdentityDatagramService implements DatagramService {
  readonly name: string;
  private readonly plans: PlanCache;

  constructor(private readonly opts: IdentityServiceOptions) {
    this.name = opts.spec.name ?? 'identity';
    this.plans = new PlanCache(opts, 'udp');
  }

  planFor(address: string): IdentityPlan | undefined {
    return this.plans.get(address)?.plan;
  }

  onDatagram(data: Buffer, remote: Endpoint, local: Endpoint, reply: (data: Buffer) => void): void {
    const plan = this.plans.get(local.address)?.plan;
    if (plan === undefined) return;
    const events = this.opts.events;
    const base = {
      time: Date.now(), proto: 'udp' as const, srcIp: remote.address, srcPort: remote.port, dstIp: local.address, dstPort: local.port,
      service: plan.rule.service, product: plan.printed.p ?? plan.spec.product, version: plan.printed.v, probe: plan.probe.name, ruleLine: plan.rule.line,
    };
    if (events.wants('service.identity')) events.emit({ kind: 'service.identity', ...base });
    // Only nmap's own probe gets the identity's answer; other datagrams are read and ignored.
    if (!data.toString('latin1').startsWith(plan.probe.payload) || plan.probe.payload === '') return;
    const bytes = Buffer.from(plan.response, 'latin1');
    reply(bytes);
    if (events.wants('service.probe')) events.emit({ kind: 'service.probe', ...base, bytes: bytes.length });
  }
}
