/**
 * nmap's -oX output as plain objects: hosts → ports (state, reason, -sV service), OS matches
 * (accuracy, classes), MAC and vendor, distance and trace. Pure; shared by `decoyd audit` and the tests.
 */
import { childNamed, childrenNamed, parseXml, type XmlElement } from './xml-lite';

export interface NmapService {
  name: string;
  product?: string;
  version?: string;
  extraInfo?: string;
  /** `table` (guessed from the port number) or `probed` (-sV matched it). */
  method?: string;
  /** `ssl` when -sV found the service inside TLS. */
  tunnel?: string;
  hostname?: string;
  osType?: string;
}

export interface NmapPort {
  protocol: string;
  port: number;
  state: string;
  reason: string;
  reasonTtl?: number;
  service?: NmapService;
}

export interface NmapOsClass {
  type?: string;
  vendor?: string;
  osFamily?: string;
  osGen?: string;
  accuracy: number;
  cpe: string[];
}

export interface NmapOsMatch {
  name: string;
  accuracy: number;
  /** Line of the entry in nmap-os-db. */
  line?: number;
  classes: NmapOsClass[];
}

export interface NmapHost {
  address: string;
  mac?: string;
  vendor?: string;
  state: string;
  stateReason: string;
  ports: NmapPort[];
  /** Ports summarised by `<extraports>`: state → count. */
  extraPorts: Record<string, number>;
  osMatches: NmapOsMatch[];
  /** The submission fingerprint (`OS:SCAN(...)…`) when nmap printed one. */
  osFingerprint?: string;
  /** Hops, from `<distance>`. */
  distance?: number;
  /** `--traceroute` hops in order: probe TTL and the address that answered. */
  trace?: { ttl: number; address: string }[];
}

export interface NmapRun {
  args: string;
  hosts: NmapHost[];
  /** Hosts up / down per `<runstats>`. */
  hostsUp: number;
  hostsDown: number;
}

/** Parses nmap -oX output. Pure. */
export function parseNmapXml(xml: string): NmapRun {
  const root = parseXml(xml);
  if (root.name !== 'nmaprun') throw new Error(`expected <nmaprun>, found <${root.name}>`);
  const hostsElement = childNamed(root, 'runstats') ? childNamed(childNamed(root, 'runstats') as XmlElement, 'hosts') : undefined;
  return {
    args: root.attrs['args'] ?? '',
    hosts: childrenNamed(root, 'host').map(parseHost),
    hostsUp: numberAttr(hostsElement, 'up') ?? 0,
    hostsDown: numberAttr(hostsElement, 'down') ?? 0,
  };
}

function parseHost(host: XmlElement): NmapHost {
  const status = childNamed(host, 'status');
  const addresses = childrenNamed(host, 'address');
  const ipv4 = addresses.find((a) => a.attrs['addrtype'] === 'ipv4');
  const mac = addresses.find((a) => a.attrs['addrtype'] === 'mac');
  const portsElement = childNamed(host, 'ports');
  const os = childNamed(host, 'os');
  const extraPorts: Record<string, number> = {};
  for (const extra of portsElement ? childrenNamed(portsElement, 'extraports') : []) {
    const state = extra.attrs['state'] ?? 'unknown';
    extraPorts[state] = (extraPorts[state] ?? 0) + (numberAttr(extra, 'count') ?? 0);
  }
  const parsed: NmapHost = {
    address: ipv4?.attrs['addr'] ?? addresses[0]?.attrs['addr'] ?? '',
    state: status?.attrs['state'] ?? 'unknown',
    stateReason: status?.attrs['reason'] ?? '',
    ports: portsElement ? childrenNamed(portsElement, 'port').map(parsePort) : [],
    extraPorts,
    osMatches: os ? childrenNamed(os, 'osmatch').map(parseOsMatch) : [],
  };
  if (mac?.attrs['addr'] !== undefined) parsed.mac = mac.attrs['addr'];
  if (mac?.attrs['vendor'] !== undefined) parsed.vendor = mac.attrs['vendor'];
  const fingerprint = os ? childNamed(os, 'osfingerprint')?.attrs['fingerprint'] : undefined;
  if (fingerprint !== undefined) parsed.osFingerprint = fingerprint;
  const distance = numberAttr(childNamed(host, 'distance'), 'value');
  if (distance !== undefined) parsed.distance = distance;
  const trace = childNamed(host, 'trace');
  if (trace) {
    parsed.trace = childrenNamed(trace, 'hop').map((hop) => ({ ttl: numberAttr(hop, 'ttl') ?? -1, address: hop.attrs['ipaddr'] ?? '' }));
  }
  return parsed;
}

function parsePort(port: XmlElement): NmapPort {
  const state = childNamed(port, 'state');
  const service = childNamed(port, 'service');
  const parsed: NmapPort = {
    protocol: port.attrs['protocol'] ?? '',
    port: numberAttr(port, 'portid') ?? -1,
    state: state?.attrs['state'] ?? 'unknown',
    reason: state?.attrs['reason'] ?? '',
  };
  const ttl = numberAttr(state, 'reason_ttl');
  if (ttl !== undefined) parsed.reasonTtl = ttl;
  if (service) {
    parsed.service = { name: service.attrs['name'] ?? '' };
    const optional: Array<[keyof NmapService, string]> = [
      ['product', 'product'],
      ['version', 'version'],
      ['extraInfo', 'extrainfo'],
      ['method', 'method'],
      ['tunnel', 'tunnel'],
      ['hostname', 'hostname'],
      ['osType', 'ostype'],
    ];
    for (const [key, attr] of optional) {
      const value = service.attrs[attr];
      if (value !== undefined) parsed.service[key] = value;
    }
  }
  return parsed;
}

function parseOsMatch(match: XmlElement): NmapOsMatch {
  const parsed: NmapOsMatch = {
    name: match.attrs['name'] ?? '',
    accuracy: numberAttr(match, 'accuracy') ?? 0,
    classes: childrenNamed(match, 'osclass').map((c) => {
      const cls: NmapOsClass = { accuracy: numberAttr(c, 'accuracy') ?? 0, cpe: childrenNamed(c, 'cpe').map((e) => e.text.trim()) };
      if (c.attrs['type'] !== undefined) cls.type = c.attrs['type'];
      if (c.attrs['vendor'] !== undefined) cls.vendor = c.attrs['vendor'];
      if (c.attrs['osfamily'] !== undefined) cls.osFamily = c.attrs['osfamily'];
      if (c.attrs['osgen'] !== undefined) cls.osGen = c.attrs['osgen'];
      return cls;
    }),
  };
  const line = numberAttr(match, 'line');
  if (line !== undefined) parsed.line = line;
  return parsed;
}

function numberAttr(element: XmlElement | undefined, name: string): number | undefined {
  const raw = element?.attrs[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw);
  return Number.isFinite(value) ? value : undefined;
}

/** The host entry for `address`, or undefined. */
export function hostByAddress(run: NmapRun, address: string): NmapHost | undefined {
  return run.hosts.find((h) => h.address === address);
}

/** The port entry for protocol/port on a host, or undefined. */
export function portOf(host: NmapHost, protocol: string, port: number): NmapPort | undefined {
  return host.ports.find((p) => p.protocol === protocol && p.port === port);
}
