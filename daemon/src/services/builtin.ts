import type { DatagramService, Endpoint, StreamContext, StreamService, StreamSession } from './service';
import type { ServiceSpec, TemplateConfig } from '../config/types';
import type { OsClass } from '../personality/osdb/types';
import type { EventSink } from '../events/event';
import { IdentityDatagramService, IdentityStreamService } from './identity/identity-service';
import { serviceProbes } from './probes/catalog';
import { DEFAULT_SERVICE_PROBES_FILE } from './probes/service-probes';
import { SshStreamService } from './ssh/ssh-service';
import { TelnetStreamService } from './telnet/telnet-service';
import { sshPersonaFor } from './ssh/versions';
import { HttpStreamService } from './interactive/http/http-service';
import { LineStreamService } from './mail/mail-service';
import { DnsDatagramService } from './udp/dns';
import { SnmpDatagramService } from './udp/snmp';
import { actionDatagramService, actionStreamService, isAction, type ActionRuntime } from './actions/runtime';

/** What a service behind a port may need besides its spec: who it is, where it logs. */
export interface ServiceContext {
  templateName: string;
  port: number;
  events: EventSink;
  /** Mixed into per-host fillers so two installations never share a banner. */
  deploymentSeed: number;
  serviceProbesFile?: string;
  /** The template the port belongs to (uid/gid, limits, personality name). Absent in stack-only tests. */
  template?: TemplateConfig;
  /** The host OS as nmap-os-db classes it (first Class line): emulators fit prompts, errors and headers to it. */
  osClass?: OsClass;
  /** Honeyd's script, proxy and tarpit actions (services/actions/); absent: they run nothing. */
  actions?: ActionRuntime;
}

/** Where services built without a context (stack-only tests) log: nowhere. */
const NO_EVENTS: EventSink = { wants: () => false, emit: () => {} };

/** Sends a banner as soon as the connection opens, then reads and discards. */
export class BannerService implements StreamService {
  readonly name = 'banner';
  /** `closeAfter`: close right after the banner, as a daytime/qotd server or a "too many users" refusal does. */
  constructor(private readonly banner: string, private readonly closeAfter = false) {}
  open(ctx: StreamContext): StreamSession {
    ctx.write(this.banner);
    if (this.closeAfter) {
      if (ctx.close !== undefined) ctx.close();
      else ctx.end();
    }
    return { onData: () => {}, onEnd: () => ctx.end(), onClose: () => {} };
  }
}

/**
 * RFC 862 echo: every byte comes back. When the peer reads slower than it sends, the send buffer
 * fills: echo then stops reading (the window closes towards the peer) until the buffer drains.
 */
export class EchoService implements StreamService {
  readonly name = 'echo';
  open(ctx: StreamContext): StreamSession {
    // Bytes received but not yet taken by the send buffer: at most what arrived while pausing.
    let held: Buffer[] = [];
    let ended = false;
    const push = (data: Buffer): void => {
      const room = ctx.writable ?? data.length;
      if (held.length === 0 && room >= data.length) {
        ctx.write(data);
      } else {
        if (held.length === 0 && room > 0) {
          ctx.write(data.subarray(0, room));
          data = data.subarray(room);
        }
        held.push(data);
        ctx.pause?.();
      }
    };
    return {
      onData: push,
      onDrain: () => {
        const waiting = held;
        held = [];
        for (let i = 0; i < waiting.length; i++) {
          if (held.length > 0) { held.push(...waiting.slice(i)); break; }
          push(waiting[i] as Buffer);
        }
        if (held.length === 0) {
          if (ended) ctx.end();
          else ctx.resume?.();
        }
      },
      onEnd: () => {
        ended = true;
        if (held.length === 0) ctx.end();
      },
      onClose: () => { held = []; },
    };
  }
}

/** Accepts and discards (RFC 863), closing when the peer does. */
export class DiscardService implements StreamService {
  readonly name = 'discard';
  open(ctx: StreamContext): StreamSession {
    return { onData: () => {}, onEnd: () => ctx.end(), onClose: () => {} };
  }
}

export class UdpEchoService implements DatagramService {
  readonly name = 'echo';
  onDatagram(data: Buffer, _remote: Endpoint, _local: Endpoint, reply: (data: Buffer) => void): void {
    reply(data);
  }
}

export class UdpBannerService implements DatagramService {
  readonly name = 'banner';
  private readonly bytes: Buffer;
  constructor(banner: string) { this.bytes = Buffer.from(banner, 'latin1'); }
  onDatagram(_data: Buffer, _remote: Endpoint, _local: Endpoint, reply: (data: Buffer) => void): void {
    reply(this.bytes);
  }
}

export function streamServiceFor(spec: ServiceSpec | undefined, ctx?: ServiceContext): StreamService {
  if (spec === undefined || spec.kind === 'none') return new DiscardService();
  if (spec.kind === 'echo') return new EchoService();
  if (spec.kind === 'identity') {
    if (ctx === undefined) return new DiscardService();
    const file = serviceProbes(ctx.serviceProbesFile ?? DEFAULT_SERVICE_PROBES_FILE);
    return new IdentityStreamService({ file, spec: spec.identity, port: ctx.port, templateName: ctx.templateName, deploymentSeed: ctx.deploymentSeed, events: ctx.events, ...(ctx.osClass ? { osClass: ctx.osClass } : {}) });
  }
  if (spec.kind === 'banner') return new BannerService(spec.banner, spec.close === true);
  // ssh / telnet emulators
  if (spec.kind === 'ssh') return ctx === undefined ? new DiscardService() : new SshStreamService({ identity: spec.identity, options: spec.ssh, events: ctx.events, deploymentSeed: ctx.deploymentSeed, templateName: ctx.templateName, ...(ctx.osClass ? { osClass: ctx.osClass } : {}) });
  if (spec.kind === 'telnet') {
    if (ctx === undefined) return new DiscardService();
    // The host's SSH build, if it has one, says which distribution it is.
    const ssh = ctx.template?.ports.map((p) => p.service).find((s): s is Extract<ServiceSpec, { kind: 'ssh' }> => s?.kind === 'ssh');
    const persona = ssh === undefined ? undefined : sshPersonaFor(ssh.identity.product, ssh.identity.version);
    return new TelnetStreamService({ identity: spec.identity, options: spec.telnet, events: ctx.events, deploymentSeed: ctx.deploymentSeed, templateName: ctx.templateName,
      ...(ctx.osClass ? { osClass: ctx.osClass } : {}), ...(typeof persona === 'object' ? { distro: persona.distro } : {}), ...(ssh?.ssh.shell.hostname !== undefined ? { hostname: ssh.ssh.shell.hostname } : {}) });
  }
  if (spec.kind === 'http') return new HttpStreamService({ identity: spec.identity, http: spec.http, port: ctx?.port ?? 80, templateName: ctx?.templateName ?? '', deploymentSeed: ctx?.deploymentSeed ?? 0, events: ctx?.events ?? NO_EVENTS, ...(ctx?.osClass ? { osClass: ctx.osClass } : {}) });
  if (spec.kind === 'line') {
    const openPorts = new Set((ctx?.template?.ports ?? []).filter((p) => p.proto === 'tcp' && p.action === 'open').map((p) => p.port));
    return new LineStreamService({ protocol: spec.protocol, identity: spec.identity, options: spec.options, events: ctx?.events ?? NO_EVENTS, deploymentSeed: ctx?.deploymentSeed ?? 0,
      templateName: ctx?.templateName ?? '', port: ctx?.port ?? 0, openPorts, ...(ctx?.osClass ? { osClass: ctx.osClass } : {}) });
  }
  // Honeyd scripts, proxies and tarpits (services/actions/); Python modules are not run (config/runtime-support.ts warns).
  if (isAction(spec) && ctx?.actions !== undefined) return actionStreamService(spec, ctx.actions, { templateName: ctx.templateName, ...(ctx.template ? { template: ctx.template } : {}) }, (inner) => streamServiceFor(inner, ctx));
  return new DiscardService();
}

export function datagramServiceFor(spec: ServiceSpec | undefined, ctx?: ServiceContext): DatagramService | undefined {
  if (spec === undefined || spec.kind === 'none') return undefined;
  if (spec.kind === 'echo') return new UdpEchoService();
  if (spec.kind === 'identity') {
    if (ctx === undefined) return undefined;
    const file = serviceProbes(ctx.serviceProbesFile ?? DEFAULT_SERVICE_PROBES_FILE);
    return new IdentityDatagramService({ file, spec: spec.identity, port: ctx.port, templateName: ctx.templateName, deploymentSeed: ctx.deploymentSeed, events: ctx.events });
  }
  if (spec.kind === 'banner') return new UdpBannerService(spec.banner);
  if (spec.kind === 'dns' || spec.kind === 'snmp') {
    // nmap's own probe (DNSVersionBindReq, SNMPv3GetRequest) still gets the identity's answer.
    let identity: IdentityDatagramService | undefined;
    try {
      if (ctx !== undefined) identity = new IdentityDatagramService({ file: serviceProbes(ctx.serviceProbesFile ?? DEFAULT_SERVICE_PROBES_FILE), spec: spec.identity, port: ctx.port, templateName: ctx.templateName, deploymentSeed: ctx.deploymentSeed, events: ctx.events });
    } catch { identity = undefined; } // no rule prints this product for nmap's probe: the responder alone answers
    const common = { identity: spec.identity, events: ctx?.events ?? NO_EVENTS, deploymentSeed: ctx?.deploymentSeed ?? 0, templateName: ctx?.templateName ?? '', ...(ctx?.osClass ? { osClass: ctx.osClass } : {}), ...(identity ? { probeAnswer: identity } : {}) };
    return spec.kind === 'dns' ? new DnsDatagramService({ ...common, dns: spec.dns }) : new SnmpDatagramService({ ...common, snmp: spec.snmp });
  }
  if (isAction(spec) && ctx?.actions !== undefined) return actionDatagramService(spec, ctx.actions, { templateName: ctx.templateName, ...(ctx.template ? { template: ctx.template } : {}) });
  return undefined;
}
