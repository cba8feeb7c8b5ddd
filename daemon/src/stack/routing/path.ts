/**
 * Walks a packet through the virtual routers (honeyd.c: honeyd_route_packet), filling one reused
 * result record: where the walk ended, the TTL left, and when the packet gets there.
 *
 * Inbound (from the LAN, entering at an entry router): at each router, unless the router is the
 * destination itself, TTL is decremented before the lookup; 0 means time exceeded from that
 * router. A `link` hit delivers to a host on that router's network, `unreach` answers net
 * unreachable, a `net` hit crosses the link to the gateway (loss, queue, latency). A route back to
 * the router just left is "no route".
 *
 * Outbound (a virtual host or router answering a LAN peer): the walk starts at the host's router
 * (found through the `link` networks) or at the sending router itself, whose own decrement is
 * skipped, and follows the routes (normally the default routes `add net` created) to an entry
 * router that has no route for the peer: there the packet leaves onto the LAN.
 */

import { LinkLoss } from './link-model';
import { RouteKind, type RoutingTables, type VirtualRouter } from './tables';

export const PathOutcome = {
  /** Inbound: the topology does not handle this destination (the entry has no route for it). */
  NOT_ROUTED: 0,
  /** Inbound: reached a host on `router`'s link, or `router` itself (`atRouter`). */
  DELIVER: 1,
  /** Inbound: the TTL ran out at `router`. */
  TIME_EXCEEDED: 2,
  /** Inbound: `router` has an unreach route for the destination. */
  NET_UNREACH: 3,
  /** Outbound: leaves onto the LAN through entry `router`. */
  EXIT: 4,
  LOST: 5,
  QUEUE_DROP: 6,
  NO_ROUTE: 7,
  /** Outbound: the TTL ran out on the way back. */
  TTL_EXPIRED: 8,
} as const;
export type PathOutcomeCode = (typeof PathOutcome)[keyof typeof PathOutcome];

export class PathResult {
  outcome: PathOutcomeCode = PathOutcome.NOT_ROUTED;
  /** The router where the walk ended (see PathOutcome). */
  router: VirtualRouter | null = null;
  /** DELIVER: the destination is the router itself. */
  atRouter = false;
  /** TTL left: on delivery or exit, the packet's new TTL; elsewhere the TTL that reached `router`. */
  ttl = 0;
  /** Routers that decremented the TTL. */
  hops = 0;
  /** When the packet reaches the end of the walk (ms; equals the start time without links). */
  arrivalMs = 0;
}

export class PathWalker {
  constructor(
    private readonly tables: RoutingTables,
    private readonly random: () => number,
  ) {}

  /**
   * An inbound packet for `dst` with `ttl`, entering at `entry` at `atMs`. With `applyLinks` false
   * the links are only looked at (no loss, queues or time): the pure route computation.
   */
  inbound(entry: VirtualRouter, dst: number, ttl: number, bytes: number, atMs: number, applyLinks: boolean, out: PathResult): void {
    let cur = entry;
    let prev: VirtualRouter | null = null;
    let t = atMs;
    let hops = 0;
    out.atRouter = false;
    for (let guard = 0; guard <= this.tables.routers.length; guard++) {
      out.router = cur;
      out.arrivalMs = t;
      out.hops = hops;
      out.ttl = ttl;
      if (cur.ip === dst) {
        out.atRouter = true;
        out.outcome = PathOutcome.DELIVER;
        return;
      }
      const route = cur.lookup(dst);
      if (route === undefined) {
        out.outcome = prev === null ? PathOutcome.NOT_ROUTED : PathOutcome.NO_ROUTE;
        return;
      }
      if (ttl <= 1) {
        out.outcome = PathOutcome.TIME_EXCEEDED;
        return;
      }
      ttl--;
      hops++;
      out.ttl = ttl;
      out.hops = hops;
      if (route.kind === RouteKind.LINK) {
        out.outcome = PathOutcome.DELIVER;
        return;
      }
      if (route.kind === RouteKind.UNREACH) {
        out.outcome = PathOutcome.NET_UNREACH;
        return;
      }
      const next = route.gateway as VirtualRouter;
      if (next === prev) {
        out.outcome = PathOutcome.NO_ROUTE;
        return;
      }
      if (applyLinks && route.link !== null) {
        const arrival = route.link.traverse(t, bytes, this.random);
        if (arrival < 0) {
          out.outcome = arrival === LinkLoss.LOST ? PathOutcome.LOST : PathOutcome.QUEUE_DROP;
          return;
        }
        t = arrival;
      }
      prev = cur;
      cur = next;
    }
    out.outcome = PathOutcome.NO_ROUTE; // a routing loop
  }

  /**
   * An outbound packet from virtual address `src` to LAN peer `dst`. NOT_ROUTED when `src` sits
   * behind no virtual router (a LAN decoy: its frames leave as they are).
   */
  outbound(src: number, dst: number, ttl: number, bytes: number, atMs: number, out: PathResult): void {
    let cur = this.tables.byIp.get(src);
    // The sending router's own decrement is skipped (Honeyd's `ttl++`).
    let skipDecrement = cur !== undefined;
    if (cur === undefined) cur = this.tables.routerOfLinked(src);
    out.atRouter = false;
    out.hops = 0;
    out.arrivalMs = atMs;
    out.ttl = ttl;
    out.router = cur ?? null;
    if (cur === undefined) {
      out.outcome = PathOutcome.NOT_ROUTED;
      return;
    }
    let prev: VirtualRouter | null = null;
    let t = atMs;
    let hops = 0;
    for (let guard = 0; guard <= this.tables.routers.length; guard++) {
      out.router = cur;
      if (!skipDecrement) {
        if (ttl <= 1) {
          out.outcome = PathOutcome.TTL_EXPIRED;
          return;
        }
        ttl--;
        hops++;
      }
      skipDecrement = false;
      out.ttl = ttl;
      out.hops = hops;
      out.arrivalMs = t;
      const route = cur.lookup(dst);
      if (route === undefined) {
        out.outcome = cur.isEntry ? PathOutcome.EXIT : PathOutcome.NO_ROUTE;
        return;
      }
      // Decoy-to-decoy traffic inside the topology is not carried.
      if (route.kind !== RouteKind.NET || route.gateway === prev) {
        out.outcome = PathOutcome.NO_ROUTE;
        return;
      }
      if (route.link !== null) {
        const arrival = route.link.traverse(t, bytes, this.random);
        if (arrival < 0) {
          out.outcome = arrival === LinkLoss.LOST ? PathOutcome.LOST : PathOutcome.QUEUE_DROP;
          return;
        }
        t = arrival;
      }
      prev = cur;
      cur = route.gateway as VirtualRouter;
    }
    out.outcome = PathOutcome.NO_ROUTE;
  }
}
