import { existsSync } from 'node:fs';
import type { DecoydConfig, DynamicRule, PortRule, TemplateConfig } from './config/types';
import { chooseMac, loadMacPrefixes } from './config/mac';
import { ScanDetector } from './detect/detector';
import { DEFAULT_SERVICE_PROBES_FILE, ServiceProbeTable } from './detect/service-probes';
import type { EventSink } from './events/event';
import type { Link } from './link/link';
import type { PersonalitySource } from './personality/factory';
import type { HostPersonality } from './personality/host-personality';
import { hostSeed } from './personality/model/prng';
import { datagramServiceFor, streamServiceFor, type ServiceContext } from './services/builtin';
import { deploymentSeed } from './services/identity/deployment-seed';
import { IdentityDatagramService, IdentityStreamService } from './services/identity/identity-service';
import type { ClaimRangeRuntime } from './stack/address-manager';
import { DecoyHost, DecoyTable, PortState, type PortStateCode, TemplateRuntime } from './stack/decoy-table';
import { applyHoneydTuning } from './stack/honeyd-tuning';
import type { DhcpClientSpec } from './stack/dhcp/dhcp-client';
import { clientIdFor, dhcpProfile, familyForClass } from './stack/dhcp/profiles';
import { Engine } from './stack/engine';
import { compileTopology } from './stack/routing/tables';
import { PathResult, PathWalker, PathOutcome } from './stack/routing/path';
import type { RoutingSpec } from './stack/routing/virtual-routing';
import { ipToString, macToNumber, macToString, parseCidr, parseIp } from './wire/address';
import type { MacPrefixes } from './config/mac-prefixes';
import type { OsClass } from './personality/osdb/types';
import { findSubsystemNative } from './services/subsystem/native';
import { planSubsystems, SubsystemSupervisor } from './services/subsystem/supervisor';
import { DEFAULT_SUBSYSTEM_USER, passwdUser } from './services/subsystem/users';
import { dirname, resolve as resolvePath } from 'node:path';
import { readFileSync } from 'node:fs';
import { type CompiledRule, DynamicChooser, PassiveOs, RuleKind } from './stack/dynamic/dynamic-host';
import { labelsMatching } from './stack/dynamic/os-condition';
import { parseP0fDatabase, type P0fDatabase } from './stack/dynamic/p0f-signatures';
import { buildActionRuntime, type ActionsHandle } from './services/actions/assemble';

const ACTION_CODE: Record<PortRule['action'], PortStateCode> = { open: PortState.OPEN, reset: PortState.RESET, block: PortState.BLOCK };

/** `services` gives identity services their events and seed; without it they stay quiet (tests of the stack). */
export function compileTemplate(
  t: TemplateConfig,
  services?: Omit<ServiceContext, 'templateName' | 'port' | 'template' | 'osClass'> & { classOf?: (personality: string | undefined) => OsClass | undefined },
): TemplateRuntime {
  const rt = new TemplateRuntime(t.name, t.personality, ACTION_CODE[t.defaults.tcp], ACTION_CODE[t.defaults.udp], t.defaults.icmp === 'open', t.dropRateIn / 100);
  applyHoneydTuning(rt, t);
  // Honeyd default actions with a service behind them (a script on every port, `tarpit open`).
  const defaultCtx = services === undefined ? undefined : { ...services, templateName: t.name, port: 0, template: t, osClass: services.classOf?.(t.personality) };
  if (t.defaults.tcp === 'open' && t.defaultServices?.tcp !== undefined) rt.tcpDefaultService = streamServiceFor(t.defaultServices.tcp, defaultCtx);
  if (t.defaults.udp === 'open' && t.defaultServices?.udp !== undefined) rt.udpDefaultService = datagramServiceFor(t.defaultServices.udp, defaultCtx) ?? null;
  for (const rule of t.ports) {
    const table = rule.proto === 'tcp' ? rt.tcp : rt.udp;
    table[rule.port] = ACTION_CODE[rule.action];
    if (rule.proto === 'udp') rt.udpListed.add(rule.port);
    if (rule.action !== 'open') continue;
    const ctx = services === undefined ? undefined : { ...services, templateName: t.name, port: rule.port, template: t, osClass: services.classOf?.(t.personality) };
    if (rule.proto === 'tcp') rt.tcpServices.set(rule.port, streamServiceFor(rule.service, ctx));
    else {
      const svc = datagramServiceFor(rule.service, ctx);
      if (svc !== undefined) rt.udpServices.set(rule.port, svc);
    }
  }
  return rt;
}

/** Synthesises a static host's identity plans ahead of its first connection (keeps that work off the frame path). */
function warmIdentities(host: DecoyHost): void {
  for (const svc of host.template.tcpServices.values()) if (svc instanceof IdentityStreamService) svc.planFor(host.ipText);
  for (const svc of host.template.udpServices.values()) if (svc instanceof IdentityDatagramService) svc.planFor(host.ipText);
}

export interface DaemonParts {
  /** Makes a static host of a template (its MAC and lazy personality), for bindings added at run time. */
  createHost: (ip: number, template: TemplateRuntime) => DecoyHost;
  engine: Engine;
  table: DecoyTable;
  templates: Map<string, TemplateRuntime>;
  staticHosts: DecoyHost[];
  /** Decoys and routers behind the virtual routers (answered through the entry router's MAC). */
  virtualHosts: DecoyHost[];
  captureNetworks: string[];
  /** MACs of the DHCP clients, for the capture filter (their addresses are not known in advance). */
  dhcpClientMacs: string[];
  /** Real hosts in the topology (`bind IP to IF`), for the capture filter: their frames go to LAN peers. */
  realHostSources: string[];
  /** The scan detector (null when `detect.enabled` is false); `stats()` feeds /metrics. */
  detector: ScanDetector | null;
  /** Honeyd subsystem programs of the bound hosts (null when no template has one, or they cannot run). */
  subsystems: SubsystemSupervisor | null;
  /** Honeyd script/proxy/tarpit actions (null when no template has one); `prepare()` before dropping root. */
  actions: ActionsHandle | null;
}

/** The template a router or linked address without a binding of its own answers with. */
const ROUTER_FALLBACK_TEMPLATE = '(topology default)';

/**
 * Build the packet path for a configuration: compiled templates, decoy hosts with their MACs and
 * lazily created personalities, and the engine. Nothing here touches the network.
 */
export function assemble(
  cfg: DecoydConfig,
  personalities: PersonalitySource,
  events: EventSink,
  send: (frame: Buffer, length: number) => void,
  onReady: () => void,
  options: { interfaceName?: string } = {},
): DaemonParts {
  const prefixes = loadMacPrefixes(cfg.macPrefixes);
  const templates = new Map<string, TemplateRuntime>();
  const actions = buildActionRuntime(cfg, events, options.interfaceName ?? cfg.interface);
  const services = {
    events, deploymentSeed: deploymentSeed(cfg.serviceSeed), serviceProbesFile: cfg.serviceProbes,
    classOf: (personality: string | undefined) => personalities.classOf(personality),
    ...(actions !== null ? { actions: actions.runtime } : {}),
  };
  for (const [name, t] of cfg.templates) templates.set(name, compileTemplate(t, services));
  const uptimeOf = (name: string): number | undefined => cfg.templates.get(name)?.uptime;
  const ethernetOf = (name: string): string | undefined => cfg.templates.get(name)?.ethernet;

  // One personality factory per template, shared by its hosts (a closure per host would cost ~100 bytes × a /16).
  const factories = new Map<TemplateRuntime, (host: DecoyHost) => HostPersonality>();
  const factoryFor = (template: TemplateRuntime): ((host: DecoyHost) => HostPersonality) => {
    let factory = factories.get(template);
    if (factory === undefined) {
      const uptime = uptimeOf(template.name);
      factory = (host) => personalities.create(template.personalityName, hostSeed(host.ipText, template.name), uptime);
      factories.set(template, factory);
    }
    return factory;
  };
  const passiveOs = passiveOsFor(cfg, events, actions?.runtime.runner != null);
  // Honeyd's scripts learn the peer's passive OS guess (HONEYD_REMOTE_OS).
  if (passiveOs !== null && actions?.runtime.runner != null) actions.runtime.runner.remoteOs = (address) => passiveOs.osText(parseIp(address));
  const createHost = (ip: number, template: TemplateRuntime, origin: 'static' | 'claimed' | 'dhcp', givenMac?: Buffer): DecoyHost => {
    const dynamic = cfg.templates.get(template.name);
    if (dynamic?.dynamic === true) return createDynamicHost(ip, template, dynamic, origin, givenMac);
    const mac = givenMac ?? chooseMac(ethernetOf(template.name), personalities.vendorOf(template.personalityName), ip, prefixes);
    return new DecoyHost(ip, mac, template, origin, factoryFor(template));
  };
  /**
   * A dynamic template's address: one host per rule template (same address and MAC) and the
   * address's own host, which answers ARP with that MAC and hands packets to the rules (stack/dynamic/).
   * The MAC is the one the first rule's template would give the address, unless the dynamic
   * template sets its own `ethernet`.
   */
  const createDynamicHost = (ip: number, template: TemplateRuntime, dyn: TemplateConfig, origin: 'static' | 'claimed' | 'dhcp', givenMac?: Buffer): DecoyHost => {
    const rules = dyn.rules ?? [];
    const runtimeOf = (name: string): TemplateRuntime => {
      const rt = templates.get(name);
      if (rt === undefined || cfg.templates.get(name)?.dynamic === true) throw new Error(`dynamic template ${dyn.name}: rule template ${name} is unknown or dynamic`);
      return rt;
    };
    if (rules.length === 0) throw new Error(`dynamic template ${dyn.name} has no rules`);
    const first = runtimeOf((rules[0] as (typeof rules)[number]).template);
    const mac = givenMac ?? chooseMac(dyn.ethernet ?? ethernetOf(first.name), personalities.vendorOf(first.personalityName), ip, prefixes);
    // One host per template: two rules naming the same template answer as the same host.
    const hostsByTemplate = new Map<string, DecoyHost>();
    const hostOf = (name: string): DecoyHost => {
      let h = hostsByTemplate.get(name);
      if (h === undefined) {
        const rt = runtimeOf(name);
        h = new DecoyHost(ip, mac, rt, origin, factoryFor(rt));
        hostsByTemplate.set(name, h);
      }
      return h;
    };
    const compiled = rules.map((r) => compileRule(r, hostOf(r.template), passiveOs?.db));
    const firstHost = hostOf(first.name);
    const host = new DecoyHost(ip, mac, template, origin, () => firstHost.personality);
    host.dynamic = new DynamicChooser(compiled, passiveOs);
    return host;
  };

  const table = new DecoyTable();
  const claimRanges: ClaimRangeRuntime[] = cfg.claims.map((c) => {
    const cidr = parseCidr(c.range);
    const template = templates.get(c.template);
    if (cidr === null || template === undefined) throw new Error(`${c.origin}: bad claim ${c.range} ${c.template}`);
    return { network: cidr.network, size: cidr.size, template };
  });
  const detector = cfg.detect.enabled ? new ScanDetector(cfg.detect, events, serviceProbesFor(cfg, events)) : null;
  const bound = cfg.hosts.map((h) => {
    const template = templates.get(h.template);
    if (template === undefined) throw new Error(`${h.origin}: unknown template ${h.template}`);
    return createHost(parseIp(h.address), template, 'static');
  });
  const dhcpClients = dhcpClientSpecs(cfg, personalities, prefixes, new Set(bound.map((h) => h.macKey)));
  const createLeasedHost = (ip: number, spec: DhcpClientSpec): DecoyHost => {
    const template = templates.get(spec.template);
    if (template === undefined) throw new Error(`unknown template ${spec.template}`);
    return createHost(ip, template, 'dhcp', spec.mac);
  };
  const { staticHosts, routing } = splitTopology(cfg, bound, templates, createHost);
  const engine = new Engine({
    limits: cfg.limits, claim: cfg.claim, claimRanges, table, events, send, createHost, onReady, dhcpClients, createLeasedHost, routing,
    observer: detector ?? undefined, passiveOs: passiveOs ?? undefined,
  });
  const virtualHosts = routing ? [...routing.hosts.values()] : [];
  return {
    createHost: (ip, template) => createHost(ip, template, 'static'),
    engine, table, templates, staticHosts, virtualHosts,
    captureNetworks: captureNetworksFor(cfg),
    dhcpClientMacs: dhcpClients.map((c) => macToString(c.mac)),
    realHostSources: (cfg.realHosts ?? []).map((r) => r.address),
    detector,
    subsystems: subsystemSupervisor(cfg, [...staticHosts, ...virtualHosts], events),
    actions,
  };
}

/**
 * The subsystems of the bound hosts (static and behind virtual routers; claimed and DHCP hosts run
 * none). Started by Daemon.start; without the native helpers each is reported and none runs.
 */
function subsystemSupervisor(cfg: DecoydConfig, hosts: DecoyHost[], events: EventSink): SubsystemSupervisor | null {
  const plans = planSubsystems(cfg.templates, hosts);
  if (plans.length === 0) return null;
  const native = findSubsystemNative();
  if (typeof native === 'string') {
    events.emit({ kind: 'daemon.error', time: Date.now(), message: `${plans.length} subsystem programs not started: ${native}` });
    return null;
  }
  return new SubsystemSupervisor(plans, {
    events, limits: cfg.limits, native, defaultUser: passwdUser(DEFAULT_SUBSYSTEM_USER), cwd: dirname(resolvePath(cfg.source)),
  });
}

/** The default place of p0f's signature database (Debian package p0f). */
export const DEFAULT_P0F_DATABASE = '/etc/p0f/p0f.fp';

/** Reads p0f.fp; the reason as a string when it cannot be used. */
export function readP0fDatabase(file = DEFAULT_P0F_DATABASE): P0fDatabase | string {
  try {
    return parseP0fDatabase(readFileSync(file, 'utf8'));
  } catch (err) {
    return `${file}: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** The passive OS guesser, when some dynamic rule asks for `source os`. */
/** p0f's SYN matcher, when a `source os` rule or a script (HONEYD_REMOTE_OS) needs it. */
function passiveOsFor(cfg: DecoydConfig, events: EventSink, scripts: boolean): PassiveOs | null {
  const needed = scripts || [...cfg.templates.values()].some((t) => t.dynamic === true && (t.rules ?? []).some((r) => r.condition.kind === 'os'));
  if (!needed) return null;
  const db = readP0fDatabase(cfg.p0fDatabase ?? DEFAULT_P0F_DATABASE);
  if (typeof db === 'string') {
    events.emit({ kind: 'daemon.error', time: Date.now(), message: `p0f signatures: ${db}; "source os" rules never hold` });
    return null;
  }
  return new PassiveOs(db, cfg.limits.maxPassiveOsSources);
}

const PROTO_NUMBER = { tcp: 6, udp: 17, icmp: 1 } as const;

/** One dynamic rule for the packet path: numbers and flags only. */
function compileRule(rule: DynamicRule, host: DecoyHost, db: P0fDatabase | undefined): CompiledRule {
  const r: CompiledRule = { kind: RuleKind.DEFAULT, network: 0, mask: 0, startSeconds: 0, endSeconds: 0, proto: 0, osLabels: null, host };
  const c = rule.condition;
  switch (c.kind) {
    case 'os':
      r.kind = RuleKind.OS;
      r.osLabels = db === undefined ? new Uint8Array(0) : labelsMatching(c.value, db.labels);
      break;
    case 'ip': {
      const cidr = parseCidr(c.value.includes('/') ? c.value : `${c.value}/32`);
      if (cidr === null) throw new Error(`${rule.origin}: bad source ip ${c.value}`);
      r.kind = RuleKind.IP;
      r.mask = cidr.size >= 2 ** 32 ? 0 : (~(cidr.size - 1)) >>> 0;
      r.network = (cidr.network & r.mask) >>> 0;
      break;
    }
    case 'time':
      r.kind = RuleKind.TIME;
      r.startSeconds = c.value.startSeconds;
      r.endSeconds = c.value.endSeconds;
      break;
    case 'proto':
      r.kind = RuleKind.PROTO;
      r.proto = PROTO_NUMBER[c.value];
      break;
    default:
      break;
  }
  return r;
}

/**
 * One DHCP client per `dhcp` binding: its MAC chosen like any host's (vendor fitting the OS, or the
 * binding's / template's `ethernet`), keyed by the binding's position and template instead of an
 * address, so it is the same across restarts; its fingerprint, client id and hostname from its OS.
 */
export function dhcpClientSpecs(cfg: DecoydConfig, personalities: PersonalitySource, prefixes: MacPrefixes, takenMacs: Set<number>): DhcpClientSpec[] {
  const specs: DhcpClientSpec[] = [];
  cfg.dhcp.forEach((binding, i) => {
    const template = cfg.templates.get(binding.template);
    if (template === undefined) throw new Error(`${binding.origin}: unknown template ${binding.template}`);
    const ethernet = binding.ethernet ?? template.ethernet;
    const vendor = personalities.vendorOf(template.personality);
    let key = fnv1a(`dhcp:${i}:${binding.template}`);
    let mac = chooseMac(ethernet, vendor, key, prefixes);
    // A vendor-derived MAC that happens to equal another host's is moved; an explicit one cannot be.
    for (let tries = 0; takenMacs.has(macToNumber(mac, 0)) && tries < 16; tries++) {
      key = (key + 0x9e3779b9) >>> 0;
      mac = chooseMac(ethernet, vendor, key, prefixes);
    }
    if (takenMacs.has(macToNumber(mac, 0))) throw new Error(`${binding.origin}: MAC ${macToString(mac)} is already used by another host`);
    takenMacs.add(macToNumber(mac, 0));
    const profile = dhcpProfile(familyForClass(personalities.classOf(template.personality)));
    specs.push({
      mac,
      template: binding.template,
      hostname: binding.hostname ?? profile.defaultHostname(mac, key),
      profile,
      clientId: clientIdFor(profile, mac),
    });
  });
  return specs;
}

/**
 * decoyd captures on one interface, so a DHCP client bound to another could never hear its
 * server: each such binding is a problem, named by its origin.
 */
export function dhcpInterfaceProblems(cfg: Pick<DecoydConfig, 'dhcp'>, ifName: string): string[] {
  return cfg.dhcp
    .filter((d) => d.interface !== undefined && d.interface !== ifName)
    .map((d) => `${d.origin}: dhcp ${d.template} runs on ${d.interface ?? ''}, but decoyd runs on ${ifName}`);
}

/** FNV-1a, 32 bits: a stable number from a binding's identity. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

/**
 * With a topology, bound hosts the routers reach are virtual (no ARP; reached through the entry
 * router), the rest stay on the LAN. Every router gets a decoy: its own binding, else the `default`
 * template (as Honeyd uses), else a plain one. Entry routers without a binding are bound on the LAN.
 */
export function splitTopology(
  cfg: DecoydConfig, bound: DecoyHost[], templates: Map<string, TemplateRuntime>,
  createHost: (ip: number, template: TemplateRuntime, origin: 'static' | 'claimed') => DecoyHost,
): { staticHosts: DecoyHost[]; routing: RoutingSpec | undefined } {
  const tables = compileTopology(cfg.topology);
  if (tables.empty) return { staticHosts: bound, routing: undefined };
  const walker = new PathWalker(tables, () => 1);
  const path = new PathResult();
  const isRouted = (ip: number): boolean => {
    const entry = tables.entryFor(ip);
    if (entry === undefined || entry.ip === ip) return false;
    walker.inbound(entry, ip, 255, 0, 0, false, path);
    return path.outcome === PathOutcome.DELIVER;
  };
  const defaultTemplate = templates.get('default');
  const fallback = defaultTemplate ?? new TemplateRuntime(ROUTER_FALLBACK_TEMPLATE, undefined, PortState.RESET, PortState.RESET, true, 0);
  const staticHosts: DecoyHost[] = [];
  const hosts = new Map<number, DecoyHost>();
  for (const host of bound) {
    if (isRouted(host.ip)) hosts.set(host.ip, host);
    else staticHosts.push(host);
  }
  const onLan = new Set(staticHosts.map((h) => h.ip));
  for (const router of tables.routers) {
    if (onLan.has(router.ip) || hosts.has(router.ip)) continue;
    if (isRouted(router.ip)) hosts.set(router.ip, createHost(router.ip, fallback, 'static'));
    else if (router.isEntry) staticHosts.push(createHost(router.ip, fallback, 'static'));
  }
  const realHosts = (cfg.realHosts ?? []).map((r) => parseIp(r.address));
  return { staticHosts, routing: { tables, hosts, defaultTemplate, realHosts } };
}

/**
 * `bind IP to IF`: the real host must be on decoyd's interface, in a \`link\` network of the
 * topology, and no decoy may hold its address. Each problem is named by its origin.
 */
export function realHostProblems(cfg: DecoydConfig, ifName: string): string[] {
  const real = cfg.realHosts ?? [];
  if (real.length === 0) return [];
  const tables = compileTopology(cfg.topology);
  const walker = new PathWalker(tables, () => 1);
  const path = new PathResult();
  const bound = new Set(cfg.hosts.map((h) => h.address));
  const problems: string[] = [];
  for (const r of real) {
    const ip = parseIp(r.address);
    const entry = tables.entryFor(ip);
    if (entry !== undefined) walker.inbound(entry, ip, 255, 0, 0, false, path);
    if (r.interface !== ifName) problems.push(`${r.origin}: the real host ${r.address} is on ${r.interface}, but decoyd runs on ${ifName}`);
    else if (entry === undefined || path.outcome !== PathOutcome.DELIVER || path.atRouter) problems.push(`${r.origin}: the real host ${r.address} lies in no \`link\` network of the virtual routers`);
    else if (bound.has(r.address)) problems.push(`${r.origin}: ${r.address} is bound to a template and to a real host`);
  }
  return problems;
}

/**
 * Nmap's service probe strings, from the same file the service identities use (`service_probes`);
 * without it the detector runs but cannot recognise version probing.
 */
function serviceProbesFor(cfg: DecoydConfig, events: EventSink): ServiceProbeTable {
  try {
    return ServiceProbeTable.load(cfg.serviceProbes ?? DEFAULT_SERVICE_PROBES_FILE);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    events.emit({ kind: 'daemon.error', time: Date.now(), message: `service_probes: ${why}; version probing will not be recognised` });
    return new ServiceProbeTable([]);
  }
}

/** A static host of the named template, or undefined when there is no such template. */
export function compileHost(parts: DaemonParts, ip: number, templateName: string): DecoyHost | undefined {
  const template = parts.templates.get(templateName);
  return template === undefined ? undefined : parts.createHost(ip, template);
}

/** /24s holding static hosts plus every claim range: what the capture filter lets through. */
export function captureNetworksFor(cfg: DecoydConfig): string[] {
  const nets = new Set<string>();
  for (const h of cfg.hosts) {
    const ip = parseIp(h.address);
    nets.add(`${ipToString((ip & ~0xff) >>> 0)}/24`);
  }
  for (const c of cfg.claims) nets.add(c.range);
  // Everything the virtual routers handle arrives addressed to its own IP.
  const topo = cfg.topology;
  for (const net of [...topo.links, ...topo.routes, ...topo.unreach]) nets.add(net.network);
  for (const r of [...topo.entries, ...topo.links, ...topo.routes, ...topo.unreach]) nets.add(`${r.router}/32`);
  for (const r of topo.routes) nets.add(`${r.gateway}/32`);
  return [...nets];
}

export function interfaceExists(name: string): boolean {
  return /^[A-Za-z0-9_.:@-]{1,15}$/.test(name) && existsSync(`/sys/class/net/${name}`);
}

const TICK_MS = 100;
const WARM_BATCH = 64;

/** Runs the engine on a link until stopped. */
export class Daemon {
  private timer: NodeJS.Timeout | null = null;

  /** `tap` sees every captured frame after the engine (packet capture to files). */
  constructor(readonly parts: DaemonParts, private readonly link: Link, private readonly tap?: (frame: Buffer, length: number, timeMs: number) => void) {}

  start(now = Date.now()): void {
    const engine = this.parts.engine;
    const detector = this.parts.detector;
    let lastTick = now;
    const tick = (at: number): void => {
      lastTick = at;
      engine.tick(at);
      // Classification and reports run here, off the per-packet path (at most once a second).
      detector?.tick(at);
    };
    // Under sustained traffic the capture callback can hold the event loop for seconds, so timers
    // (retransmission, announcements, timeouts) also run from the frame path when they are overdue.
    const tap = this.tap;
    this.link.onFrame((frame, length, timeMs) => {
      engine.handleFrame(frame, length, timeMs);
      if (tap !== undefined) tap(frame, length, timeMs);
      if (timeMs - lastTick >= TICK_MS) tick(Date.now());
    });
    this.timer = setInterval(() => tick(Date.now()), TICK_MS);
    engine.addresses.bindStatic(this.parts.staticHosts, now);
    engine.dhcp?.start(now);
    this.parts.subsystems?.start();
    this.parts.actions?.prepare();
  }

  /**
   * Build static hosts' personalities (and identity plans) in small batches while the start-up probes are out, so the
   * first scan does not pay for them packet by packet. Resolves when all are built or `budgetMs`
   * has passed (the rest are built on first use, as claimed hosts always are), with how many were built.
   */
  warmUp(budgetMs: number): Promise<number> {
    const hosts = this.parts.staticHosts;
    const deadline = Date.now() + budgetMs;
    let next = 0;
    return new Promise((resolve) => {
      const batch = (): void => {
        const end = Math.min(hosts.length, next + WARM_BATCH);
        while (next < end && Date.now() < deadline) {
          const host = hosts[next++] as DecoyHost;
          void host.personality;
          warmIdentities(host);
        }
        if (next >= hosts.length) for (const h of this.parts.virtualHosts) void h.personality;
        if (next >= hosts.length || Date.now() >= deadline) resolve(next);
        else setImmediate(batch);
      };
      setImmediate(batch);
    });
  }

  /** Resolves once everything `stop` started has finished (subsystem programs have exited). */
  stopped: Promise<void> = Promise.resolve();

  stop(): void {
    if (this.parts.subsystems !== null) this.stopped = this.parts.subsystems.stop();
    this.parts.actions?.stop();
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    const now = Date.now();
    this.parts.detector?.flush(now);
    this.parts.engine.tcp.closeAll();
    // DHCPRELEASE goes out while the link is still open.
    this.parts.engine.dhcp?.stop(now);
    this.parts.engine.addresses.releaseAll(now);
    this.parts.engine.routing?.stop();
    this.link.close();
  }
}
