/**
 * Honeyd's virtual routing tables (router.c), compiled from a TopologyConfig for per-packet lookups.
 *
 * Each router holds a longest-prefix table of NET → link (directly attached), unreach, or net via
 * a gateway router. `add net NET GW` on X also gives GW a default route (0/0) back via X with the
 * same link attributes, unless NET is itself 0/0 or GW already has a default. Link attributes
 * belong to the directed (router, next hop) pair; each keeps the first value any route over that
 * pair gave it. Routers are created on first mention.
 */

import type { TopologyConfig, TopologyRoute } from '../../config/topology';
import { parseIp } from '../../wire/address';
import { LinkModel } from './link-model';

export const RouteKind = { LINK: 0, NET: 1, UNREACH: 2 } as const;
export type RouteKindCode = (typeof RouteKind)[keyof typeof RouteKind];

/** Honeyd adds 3 ms to every `add net` hop that has no latency of its own. */
export const DEFAULT_HOP_LATENCY_MS = 3;

export interface RouteEntry {
  network: number;
  prefix: number;
  kind: RouteKindCode;
  /** NET routes: the next router and the link towards it. */
  gateway: VirtualRouter | null;
  link: LinkModel | null;
}

export class VirtualRouter {
  /** Routes, longest prefix first. */
  readonly routes: RouteEntry[] = [];
  isEntry = false;

  constructor(readonly index: number, readonly ip: number) {}

  /** The most specific route for `dst`, or undefined. */
  lookup(dst: number): RouteEntry | undefined {
    const routes = this.routes;
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i] as RouteEntry;
      if (inNet(dst, r.network, r.prefix)) return r;
    }
    return undefined;
  }
}

interface EntryPoint {
  router: VirtualRouter;
  network: number;
  prefix: number;
}

interface LinkedNet {
  router: VirtualRouter;
  network: number;
  prefix: number;
}

export class RoutingTables {
  readonly routers: VirtualRouter[] = [];
  readonly byIp = new Map<number, VirtualRouter>();
  /** Entry points, most specific network first. */
  readonly entries: EntryPoint[] = [];
  /** The reverse map: which router a linked address sits behind, most specific first. */
  readonly linked: LinkedNet[] = [];
  readonly links: LinkModel[] = [];

  get empty(): boolean { return this.entries.length === 0; }

  router(ip: number): VirtualRouter {
    let r = this.byIp.get(ip);
    if (r === undefined) {
      r = new VirtualRouter(this.routers.length, ip);
      this.routers.push(r);
      this.byIp.set(ip, r);
    }
    return r;
  }

  /** The entry whose network holds `dst`; else the catch-all entry (or the only one). */
  entryFor(dst: number): VirtualRouter | undefined {
    const entries = this.entries;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as EntryPoint;
      if (inNet(dst, e.network, e.prefix)) return e.router;
    }
    return undefined;
  }

  /** The router whose `link` network holds `ip` (a virtual host's own router). */
  routerOfLinked(ip: number): VirtualRouter | undefined {
    const linked = this.linked;
    for (let i = 0; i < linked.length; i++) {
      const l = linked[i] as LinkedNet;
      if (inNet(ip, l.network, l.prefix)) return l.router;
    }
    return undefined;
  }
}

export function inNet(ip: number, network: number, prefix: number): boolean {
  if (prefix === 0) return true;
  const shift = 32 - prefix;
  return (ip >>> shift) === (network >>> shift);
}

function parseNet(text: string): { network: number; prefix: number } | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(text);
  if (!m) return undefined;
  const ip = parseIp(m[1] as string);
  const prefix = Number(m[2]);
  if (ip < 0 || prefix > 32) return undefined;
  // Honeyd masks host bits (with a warning); so do we.
  const network = prefix === 0 ? 0 : ((ip >>> (32 - prefix)) << (32 - prefix)) >>> 0;
  return { network, prefix };
}

function addRoute(r: VirtualRouter, entry: RouteEntry): void {
  // One route per network and prefix: the first wins, as Honeyd's table refuses duplicates.
  if (r.routes.some((e) => e.network === entry.network && e.prefix === entry.prefix)) return;
  r.routes.push(entry);
  r.routes.sort((a, b) => b.prefix - a.prefix);
}

/**
 * Compiles a validated topology. Entries that do not parse are skipped (validation reports them);
 * compiling never throws.
 */
export function compileTopology(cfg: TopologyConfig): RoutingTables {
  const t = new RoutingTables();
  const pairLinks = new Map<string, { link: LinkModel; latencySet: boolean; jitterSet: boolean }>();
  const linkFor = (from: VirtualRouter, to: VirtualRouter, attrs: TopologyRoute): LinkModel => {
    const key = `${from.index}>${to.index}`;
    let slot = pairLinks.get(key);
    if (slot === undefined) {
      slot = { link: new LinkModel(), latencySet: false, jitterSet: false };
      pairLinks.set(key, slot);
      t.links.push(slot.link);
    }
    const l = slot.link;
    // Each attribute keeps the first value a route over this pair gave it (router.c).
    if (!slot.latencySet && attrs.latencyMs !== undefined) { l.latencyMs = attrs.latencyMs; slot.latencySet = true; }
    if (!slot.jitterSet && attrs.jitterMs !== undefined) { l.jitterMs = attrs.jitterMs; slot.jitterSet = true; }
    if (l.loss === 0 && attrs.lossPercent !== undefined) l.loss = attrs.lossPercent / 100;
    if (l.bandwidthBps === 0 && attrs.bandwidthBps !== undefined) l.bandwidthBps = attrs.bandwidthBps;
    if (l.dropHighMs === 0 && attrs.dropBetweenMs !== undefined) {
      l.dropLowMs = attrs.dropBetweenMs.low;
      l.dropHighMs = attrs.dropBetweenMs.high;
    }
    return l;
  };

  for (const e of cfg.entries) {
    const ip = parseIp(e.router);
    const net = e.network === undefined ? { network: 0, prefix: 0 } : parseNet(e.network);
    if (ip < 0 || net === undefined) continue;
    const router = t.router(ip);
    router.isEntry = true;
    t.entries.push({ router, ...net });
  }
  t.entries.sort((a, b) => b.prefix - a.prefix);

  for (const l of cfg.links) {
    const ip = parseIp(l.router);
    const net = parseNet(l.network);
    if (ip < 0 || net === undefined) continue;
    const router = t.router(ip);
    addRoute(router, { ...net, kind: RouteKind.LINK, gateway: null, link: null });
    t.linked.push({ router, ...net });
  }
  t.linked.sort((a, b) => b.prefix - a.prefix);

  for (const u of cfg.unreach) {
    const ip = parseIp(u.router);
    const net = parseNet(u.network);
    if (ip < 0 || net === undefined) continue;
    addRoute(t.router(ip), { ...net, kind: RouteKind.UNREACH, gateway: null, link: null });
  }

  for (const r of cfg.routes) {
    const ip = parseIp(r.router);
    const gw = parseIp(r.gateway);
    const net = parseNet(r.network);
    if (ip < 0 || gw < 0 || ip === gw || net === undefined) continue;
    const from = t.router(ip);
    const to = t.router(gw);
    addRoute(from, { ...net, kind: RouteKind.NET, gateway: to, link: linkFor(from, to, r) });
    const hasDefault = to.routes.some((e) => e.prefix === 0);
    if (net.prefix !== 0 && !hasDefault) addRoute(to, { network: 0, prefix: 0, kind: RouteKind.NET, gateway: from, link: linkFor(to, from, r) });
  }

  for (const slot of pairLinks.values()) {
    if (!slot.latencySet) slot.link.latencyMs = DEFAULT_HOP_LATENCY_MS;
    if (!slot.jitterSet) slot.link.jitterMs = slot.link.latencyMs / 10;
  }
  return t;
}
