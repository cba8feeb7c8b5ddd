/**
 * Checks on the virtual topology that need the whole configuration, for both front ends: an
 * entry router exists when anything is routed, entry networks do not overlap (Honeyd: "Defining
 * entry point failed"), no claim range reaches into a routed network (claiming answers ARP on the
 * LAN; addresses behind routers are reached through the entry router), and every hop's delay fits
 * the delay queue (limits.maxDelayMs).
 */

import type { IssueList, SourcePos } from './errors';
import { cidrsOverlap, parseCidrStrict, type Cidr } from './model';
import type { DecoydConfig } from './types';

/** `file:line[:col]` (TopologyEntry.origin and friends) back to a position. */
export function positionOf(origin: string, fallbackFile: string): SourcePos {
  const m = /^(.*?):(\d+)(?::(\d+))?$/.exec(origin);
  if (!m) return { file: fallbackFile, line: 1 };
  const pos: SourcePos = { file: m[1] as string, line: Number(m[2]) };
  if (m[3] !== undefined) pos.col = Number(m[3]);
  return pos;
}

export function checkTopology(config: DecoydConfig, issues: IssueList): void {
  const topo = config.topology;
  const at = (origin: string): SourcePos => positionOf(origin, config.source);
  const routed = [...topo.links, ...topo.routes, ...topo.unreach];
  if (topo.entries.length === 0) {
    const first = routed[0];
    if (first) issues.add(at(first.origin), 'the topology has routes but no entry router (topology.entries / route entry IP)');
    return;
  }

  const entryNets: { cidr: Cidr; text: string; origin: string }[] = [];
  const seenRouters = new Map<string, string>();
  for (const e of topo.entries) {
    const firstAt = seenRouters.get(e.router);
    if (firstAt !== undefined) {
      issues.add(at(e.origin), `router ${e.router} is already an entry (at ${firstAt})`);
      continue;
    }
    seenRouters.set(e.router, e.origin);
    const text = e.network ?? '0.0.0.0/0';
    const cidr = parseCidrStrict(text);
    if (typeof cidr === 'string') continue;
    const clash = entryNets.find((n) => cidrsOverlap(n.cidr, cidr));
    if (clash) issues.add(at(e.origin), `entry network ${text} of ${e.router} overlaps ${clash.text} (at ${clash.origin}); entry networks may not overlap`);
    else entryNets.push({ cidr, text, origin: e.origin });
  }

  const routedNets = routed
    .filter((r) => !r.network.endsWith('/0'))
    .map((r) => ({ text: r.network, cidr: parseCidrStrict(r.network) }))
    .filter((r): r is { text: string; cidr: Cidr } => typeof r.cidr !== 'string');
  for (const claim of config.claims) {
    const cidr = parseCidrStrict(claim.range);
    if (typeof cidr === 'string') continue;
    const clash = routedNets.find((n) => cidrsOverlap(n.cidr, cidr));
    if (clash) issues.add(at(claim.origin), `claim range ${claim.range} reaches into the virtual network ${clash.text}; claiming answers ARP on the LAN, while addresses behind the routers are reached through the entry router`);
  }

  for (const r of topo.routes) {
    const latency = r.latencyMs ?? 3;
    const worst = latency + (r.jitterMs ?? latency / 10);
    if (worst > config.limits.maxDelayMs) {
      issues.add(at(r.origin), `latency ${latency} ms (+ jitter) on ${r.router} → ${r.gateway} exceeds limits.maxDelayMs (${config.limits.maxDelayMs}); raise the limit or lower the latency`);
    }
  }
}
