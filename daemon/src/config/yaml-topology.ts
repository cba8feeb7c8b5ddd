/**
 * YAML front end for the virtual topology (`topology:`), the same shape the Honeyd `route`
 * directives map onto (topology.ts). Shape errors are reported here with line and column;
 * checks across the whole configuration are in topology-check.ts.
 */

import { checkIpv4, parseCidrStrict } from './model';
import { emptyTopology, type TopologyConfig, type TopologyRoute } from './topology';
import type { KeyPath } from './yaml-positions';
import type { YamlReader } from './yaml-reader';

const TOPOLOGY_KEYS = ['entries', 'links', 'routes', 'unreach'] as const;
const ROUTE_KEYS = ['router', 'network', 'gateway', 'latency_ms', 'jitter_ms', 'loss_percent', 'bandwidth', 'drop_between_ms'] as const;
/** One minute: far beyond any delay the queue holds by default (limits.maxDelayMs). */
const MAX_LATENCY_MS = 60_000;
const BANDWIDTH_UNITS: Record<string, number> = { '': 1, bps: 1, kbps: 1e3, mbps: 1e6, gbps: 1e9 };

export function readTopology(r: YamlReader, value: unknown): TopologyConfig {
  const topo = emptyTopology();
  if (value === null) return topo;
  const m = r.mapping(value, ['topology'], TOPOLOGY_KEYS);
  if (!m) return topo;
  const origin = (at: KeyPath): string => {
    const pos = r.located(at).pos;
    return `${pos.file}:${pos.line}:${pos.col ?? 1}`;
  };
  eachItem(r, m.entries, 'entries', ['router', 'network'], ['router'], (e, at) => {
    const router = address(r, e.router, [...at, 'router']);
    const network = e.network === undefined ? undefined : cidr(r, e.network, [...at, 'network']);
    if (router === undefined || (e.network !== undefined && network === undefined)) return;
    topo.entries.push(network === undefined ? { router, origin: origin(at) } : { router, network, origin: origin(at) });
  });
  eachItem(r, m.links, 'links', ['router', 'network'], ['router', 'network'], (e, at) => {
    const router = address(r, e.router, [...at, 'router']);
    const network = cidr(r, e.network, [...at, 'network']);
    if (router !== undefined && network !== undefined) topo.links.push({ router, network, origin: origin(at) });
  });
  eachItem(r, m.unreach, 'unreach', ['router', 'network'], ['router', 'network'], (e, at) => {
    const router = address(r, e.router, [...at, 'router']);
    const network = cidr(r, e.network, [...at, 'network']);
    if (router !== undefined && network !== undefined) topo.unreach.push({ router, network, origin: origin(at) });
  });
  eachItem(r, m.routes, 'routes', ROUTE_KEYS, ['router', 'network', 'gateway'], (e, at) => {
    const route = readRoute(r, e, at, origin(at));
    if (route) topo.routes.push(route);
  });
  return topo;
}

function readRoute(r: YamlReader, e: Record<string, unknown>, at: KeyPath, origin: string): TopologyRoute | undefined {
  const router = address(r, e.router, [...at, 'router']);
  const network = cidr(r, e.network, [...at, 'network']);
  const gateway = address(r, e.gateway, [...at, 'gateway']);
  if (router === undefined || network === undefined || gateway === undefined) return undefined;
  if (router === gateway) {
    r.error([...at, 'gateway'], `the gateway must be another router than ${router}`);
    return undefined;
  }
  const route: TopologyRoute = { router, network, gateway, origin };
  let ok = true;
  const num = (key: string, min: number, max: number): number | undefined => {
    if (e[key] === undefined) return undefined;
    const n = r.number(e[key], [...at, key], min, max);
    if (n === undefined) ok = false;
    return n;
  };
  const latency = num('latency_ms', 0, MAX_LATENCY_MS);
  const jitter = num('jitter_ms', 0, MAX_LATENCY_MS);
  const loss = num('loss_percent', 0, 100);
  if (latency !== undefined) route.latencyMs = latency;
  if (jitter !== undefined) route.jitterMs = jitter;
  if (loss !== undefined) route.lossPercent = loss;
  if (e.bandwidth !== undefined) {
    const bps = bandwidth(r, e.bandwidth, [...at, 'bandwidth']);
    if (bps === undefined) ok = false;
    else route.bandwidthBps = bps;
  }
  if (e.drop_between_ms !== undefined) {
    const dropAt: KeyPath = [...at, 'drop_between_ms'];
    const pair = r.list(e.drop_between_ms, dropAt);
    if (!pair || pair.length !== 2) {
      if (pair) r.error(dropAt, 'expected [low, high] queueing delays in milliseconds');
      ok = false;
    } else {
      const low = r.number(pair[0], [...dropAt, 0], 0, MAX_LATENCY_MS);
      const high = r.number(pair[1], [...dropAt, 1], 0, MAX_LATENCY_MS);
      if (low === undefined || high === undefined) ok = false;
      else if (low >= high) {
        r.error(dropAt, `the low delay (${low}) must be below the high one (${high})`);
        ok = false;
      } else if (route.bandwidthBps === undefined && e.bandwidth === undefined) {
        // Honeyd warns and ignores it: without bandwidth there is no queue whose delay could grow.
        r.error(dropAt, 'drop_between_ms needs a bandwidth: it acts on the delay of the bandwidth queue');
        ok = false;
      } else route.dropBetweenMs = { low, high };
    }
  }
  return ok ? route : undefined;
}

function eachItem(
  r: YamlReader, value: unknown, key: string, allowed: readonly string[], required: readonly string[],
  fn: (item: Record<string, unknown>, at: KeyPath) => void,
): void {
  if (value === undefined || value === null) return;
  const items = r.list(value, ['topology', key]);
  items?.forEach((item, i) => {
    const at: KeyPath = ['topology', key, i];
    const m = r.mapping(item, at, allowed, required);
    if (m && required.every((k) => m[k] !== undefined)) fn(m, at);
  });
}

function address(r: YamlReader, value: unknown, at: KeyPath): string | undefined {
  const text = r.string(value, at);
  if (text === undefined) return undefined;
  const bad = checkIpv4(text);
  if (bad) {
    r.error(at, bad);
    return undefined;
  }
  return text;
}

function cidr(r: YamlReader, value: unknown, at: KeyPath): string | undefined {
  const text = r.string(value, at);
  if (text === undefined) return undefined;
  const parsed = parseCidrStrict(text);
  if (typeof parsed === 'string') {
    r.error(at, parsed);
    return undefined;
  }
  return text;
}

/** Bits per second: a positive integer, or text such as `10Mbps`, `56Kbps`, `1.5Mbps`. */
function bandwidth(r: YamlReader, value: unknown, at: KeyPath): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  const m = typeof value === 'string' ? /^(\d+(?:\.\d+)?)\s*([KMG]?bps)?$/i.exec(value.trim()) : null;
  const unit = m ? BANDWIDTH_UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  const bps = m && unit !== undefined ? Math.round(Number(m[1]) * unit) : 0;
  if (bps < 1) {
    r.error(at, `expected bits per second as a positive integer or text like "10Mbps", got ${JSON.stringify(value)}`);
    return undefined;
  }
  return bps;
}
