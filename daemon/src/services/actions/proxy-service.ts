/**
 * Honeyd `proxy HOST:PORT`: each connection is forwarded from the daemon's own network stack to
 * the target, bytes relayed both ways with back-pressure (Honeyd: command.c, a plain connect()
 * with a 10 s timeout). `$ipsrc $ipdst $sport $dport` in the target are expanded per connection,
 * and the expanded target is checked against the allow-list again before anything is sent.
 * UDP: each datagram goes out from a fresh socket; replies that come back within a few seconds are
 * relayed (at most a few).
 */
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { proxyAllowed, splitProxyTarget } from '../../config/proxy-allow';
import type { Limits, ProxyAllowEntry } from '../../config/types';
import type { EventSink, ServiceActionEvent } from '../../events/event';
import type { DatagramService, Endpoint, StreamContext, StreamService, StreamSession } from '../service';

/** How long a UDP proxy socket waits for replies. */
const UDP_REPLY_WAIT_MS = 5000;
const MAX_UDP_PROXY_REPLIES = 8;

export interface ProxyRuntime {
  events: EventSink;
  allow: readonly ProxyAllowEntry[] | undefined;
  limits: Pick<Limits, 'maxProxyConnections' | 'proxyConnectTimeoutMs'>;
  /** Proxied connections and UDP sockets open now, all proxy ports together. */
  open: number;
}

/** The target after expansion, or a reason it may not be used. */
export function resolveProxyTarget(target: string, remote: Endpoint, local: Endpoint, allow: readonly ProxyAllowEntry[] | undefined): { host: string; port: number } | string {
  const { host, port } = splitProxyTarget(target);
  const address = host === '$ipsrc' ? remote.address : host === '$ipdst' ? local.address : host;
  const portText = port === '$dport' ? String(local.port) : port === '$sport' ? String(remote.port) : port;
  const portNumber = Number(portText);
  if (!/^\d+$/.test(portText) || portNumber < 1 || portNumber > 65535) return `bad port ${portText}`;
  // A variable target passes only by its own entry; the address it expanded to must not need one.
  if (!proxyAllowed(allow, host.startsWith('$') ? host : address, portNumber)) return 'not in the proxy allow-list';
  return { host: address, port: portNumber };
}

function base(proto: 'tcp' | 'udp', remote: Endpoint, local: Endpoint, template: string): Omit<ServiceActionEvent, 'kind' | 'time'> {
  return { proto, srcIp: remote.address, srcPort: remote.port, dstIp: local.address, dstPort: local.port, template };
}

export class ProxyStreamService implements StreamService {
  readonly name = 'proxy';
  constructor(private readonly rt: ProxyRuntime, private readonly target: string, private readonly templateName: string) {}

  open(ctx: StreamContext): StreamSession {
    const rt = this.rt;
    const b = base('tcp', ctx.remote, ctx.local, this.templateName);
    const resolved = resolveProxyTarget(this.target, ctx.remote, ctx.local, rt.allow);
    const refuse = (target: string, reason: string): StreamSession => {
      rt.events.emit({ ...b, kind: 'proxy.refused', time: Date.now(), target, reason });
      ctx.end();
      return { onData: () => {}, onEnd: () => {}, onClose: () => {} };
    };
    if (typeof resolved === 'string') return refuse(this.target, resolved);
    const targetText = `${resolved.host}:${resolved.port}`;
    if (rt.open >= rt.limits.maxProxyConnections) return refuse(targetText, `proxy bound reached (${rt.limits.maxProxyConnections} connections)`);
    rt.open++;
    const started = Date.now();
    let bytesIn = 0;
    let bytesOut = 0;
    let connected = false;
    let closed = false;
    let finished = false;
    let held: Buffer | null = null;
    let targetEnded = false;
    const early: Buffer[] = [];
    let peerEnded = false;
    const out: Socket = connect({ host: resolved.host, port: resolved.port });
    out.setTimeout(rt.limits.proxyConnectTimeoutMs, () => { if (!connected) out.destroy(new Error('connect timeout')); });
    const finish = (reason: string): void => {
      if (finished) return;
      finished = true;
      rt.open--;
      if (connected) rt.events.emit({ ...b, kind: 'proxy.close', time: Date.now(), target: targetText, durationMs: Date.now() - started, reason, bytesIn, bytesOut });
      else rt.events.emit({ ...b, kind: 'proxy.refused', time: Date.now(), target: targetText, reason });
    };
    const flush = (): boolean => {
      if (held === null) return true;
      const room = ctx.writable ?? held.length;
      if (room <= 0) return false;
      const n = Math.min(room, held.length);
      ctx.write(held.subarray(0, n));
      held = n === held.length ? null : held.subarray(n);
      return held === null;
    };
    ctx.pause?.();
    out.on('connect', () => {
      connected = true;
      out.setTimeout(0);
      rt.events.emit({ ...b, kind: 'proxy.open', time: Date.now(), target: targetText });
      for (const d of early) out.write(d);
      early.length = 0;
      if (peerEnded) out.end();
      ctx.resume?.();
    });
    out.on('data', (chunk: Buffer) => {
      bytesOut += chunk.length;
      held = held === null ? chunk : Buffer.concat([held, chunk]);
      if (!flush()) out.pause();
    });
    out.on('drain', () => ctx.resume?.());
    out.on('end', () => {
      targetEnded = true;
      if (held === null && !closed) ctx.end();
    });
    out.on('error', (err) => {
      const why = connected ? `target error: ${err.message}` : `could not connect: ${err.message}`;
      finish(why);
      if (!closed) { if (connected) ctx.end(); else ctx.reset(); }
    });
    out.on('close', () => { finish('closed'); if (!closed && held === null) ctx.end(); });
    return {
      onData: (data) => {
        bytesIn += data.length;
        if (!connected) { early.push(Buffer.from(data)); ctx.pause?.(); return; }
        if (!out.write(data)) ctx.pause?.();
      },
      onEnd: () => {
        peerEnded = true;
        if (connected) out.end();
      },
      onDrain: () => {
        if (!flush()) return;
        if (targetEnded) ctx.end();
        else out.resume();
      },
      onClose: () => {
        closed = true;
        held = null;
        out.destroy();
        finish('connection closed');
      },
    };
  }
}

export class ProxyDatagramService implements DatagramService {
  readonly name = 'proxy';
  constructor(private readonly rt: ProxyRuntime, private readonly target: string, private readonly templateName: string) {}

  onDatagram(data: Buffer, remote: Endpoint, local: Endpoint, reply: (data: Buffer) => void): void {
    const rt = this.rt;
    const b = base('udp', remote, local, this.templateName);
    const resolved = resolveProxyTarget(this.target, remote, local, rt.allow);
    if (typeof resolved === 'string' || rt.open >= rt.limits.maxProxyConnections) {
      const target = typeof resolved === 'string' ? this.target : `${resolved.host}:${resolved.port}`;
      rt.events.emit({ ...b, kind: 'proxy.refused', time: Date.now(), target, reason: typeof resolved === 'string' ? resolved : 'proxy bound reached' });
      return;
    }
    const targetText = `${resolved.host}:${resolved.port}`;
    rt.open++;
    const started = Date.now();
    let bytesOut = 0;
    let replies = 0;
    const sock = createSocket('udp4');
    let done = false;
    const close = (reason: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      rt.open--;
      sock.close();
      rt.events.emit({ ...b, kind: 'proxy.close', time: Date.now(), target: targetText, durationMs: Date.now() - started, reason, bytesIn: data.length, bytesOut });
    };
    const timer = setTimeout(() => close('reply wait over'), UDP_REPLY_WAIT_MS);
    timer.unref();
    sock.on('error', (err) => close(`error: ${err.message}`));
    sock.on('message', (msg, from) => {
      if (from.address !== resolved.host && resolved.host !== '0.0.0.0') return;
      replies++;
      bytesOut += msg.length;
      reply(msg);
      if (replies >= MAX_UDP_PROXY_REPLIES) close('reply bound reached');
    });
    rt.events.emit({ ...b, kind: 'proxy.open', time: Date.now(), target: targetText });
    sock.send(data, resolved.port, resolved.host);
  }
}
