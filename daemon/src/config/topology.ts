/**
 * Virtual routing topology (Honeyd's `route` directives), as both front ends produce it.
 * The Honeyd front end maps `route entry`, `route IP link NET`, `route IP add net NET GW …` and
 * `route IP unreach NET` onto this shape; the YAML front end offers it under `topology:`.
 * The stack (stack/routing/) consumes it. Addresses are dotted IPv4 text, networks CIDR text.
 */

export interface TopologyEntry {
  /** The virtual router that traffic from the real LAN enters through (Honeyd `route entry IP`). */
  router: string;
  /** Optional `network NET`: only destinations inside it are routed through this entry. */
  network?: string;
  origin: string;
}

export interface TopologyLink {
  /** `route ROUTER link NET`: NET is directly attached to ROUTER. */
  router: string;
  network: string;
  origin: string;
}

export interface TopologyRoute {
  /** `route ROUTER add net NET GW [latency N ms] [loss P] [bandwidth B] [drop between A - B]`. */
  router: string;
  network: string;
  gateway: string;
  /** One-way latency added by this hop, milliseconds. */
  latencyMs?: number;
  /**
   * decoyd extension: the delay varies uniformly by up to ± this many milliseconds per packet
   * (absent: a tenth of the latency), so no fixed delay shows in timing analysis.
   */
  jitterMs?: number;
  /** Loss in percent (0-100). */
  lossPercent?: number;
  /** Bandwidth in bits per second. */
  bandwidthBps?: number;
  /** RED-style drop between queue delays A and B milliseconds (Honeyd `drop between A - B`). */
  dropBetweenMs?: { low: number; high: number };
  origin: string;
}

export interface TopologyUnreach {
  /** `route ROUTER unreach NET`: ROUTER answers net unreachable for NET. */
  router: string;
  network: string;
  origin: string;
}

export interface TopologyConfig {
  entries: TopologyEntry[];
  links: TopologyLink[];
  routes: TopologyRoute[];
  unreach: TopologyUnreach[];
}

export function emptyTopology(): TopologyConfig {
  return { entries: [], links: [], routes: [], unreach: [] };
}
