/**
 * Test harness for the packet engine: builds it through `assemble` (the daemon's own composition)
 * from a small configuration, with a fake `send` that copies every frame, a recording EventSink
 * that wants everything, and an injected clock.
 */
import { emptyTopology, type TopologyConfig } from '../../daemon/src/config/topology';
import { assemble, compileTemplate, splitTopology } from '../../daemon/src/daemon';
import { parseCidr, parseIp } from '../../daemon/src/wire/address';
import { DecoyHost, DecoyTable, type TemplateRuntime } from '../../daemon/src/stack/decoy-table';
import { Engine } from '../../daemon/src/stack/engine';
import { hostSeed } from '../../daemon/src/personality/model/prng';
import { LinuxLikePersonality } from '../../daemon/src/personality/linux-like-personality';
import type { HostPersonality } from '../../daemon/src/personality/host-personality';
import { type ClaimSettings, DEFAULT_CLAIM, DEFAULT_DETECT, DEFAULT_LIMITS, type DecoydConfig, type Limits, type TemplateConfig } from '../../daemon/src/config/types';
import type { DecoyEvent, EventSink } from '../../daemon/src/events/event';
import { BuiltinPersonalitySource } from '../../daemon/src/personality/factory';
import type { PacketObserver } from '../../daemon/src/detect/observation';
import { macText, parseFrame, type ParsedFrame } from '../helpers/frames';

export const T0 = 1_700_000_000_000;
export const CLIENT_MAC = '02:00:5e:00:00:99';
export const CLIENT_IP = '198.51.100.2';
export const DECOY_IP = '198.51.100.10';
export const DECOY2_IP = '198.51.100.11';
export const CLAIM_RANGE = '198.51.100.128/25';

/** Open echo on 7/tcp and 7/udp, a banner on 21, discard on 80, 139 filtered, the rest closed. */
export function linuxTemplate(name = 'linux', icmp: 'open' | 'block' = 'open'): TemplateConfig {
  return {
    name,
    dropRateIn: 0,
    defaults: { tcp: 'reset', udp: 'reset', icmp },
    ports: [
      { proto: 'tcp', port: 7, action: 'open', service: { kind: 'echo' } },
      { proto: 'tcp', port: 21, action: 'open', service: { kind: 'banner', banner: '220 ready\r\n' } },
      { proto: 'tcp', port: 80, action: 'open', service: { kind: 'none' } },
      { proto: 'tcp', port: 139, action: 'block' },
      { proto: 'udp', port: 7, action: 'open', service: { kind: 'echo' } },
      { proto: 'udp', port: 53, action: 'block' },
    ],
  };
}

export interface HarnessOptions {
  templates?: TemplateConfig[];
  hosts?: Array<{ address: string; template: string }>;
  claims?: Array<{ range: string; template: string }>;
  limits?: Partial<Limits>;
  claim?: Partial<ClaimSettings>;
  /** Bind static hosts at T0 (default true). */
  bind?: boolean;
  /**
   * Build through the daemon's `assemble` (MACs from nmap-mac-prefixes, wall clock inside TCP)
   * instead of the harness's own composition with the injected clock and fixed MACs.
   */
  viaAssemble?: boolean;
  /** Sees every packet to a decoy, as the scan detector does (harness composition only). */
  observer?: PacketObserver;
  /** Each host's personality (default: the built-in Linux-like one, booted a day before T0). */
  personality?: (seed: number, host: DecoyHost) => HostPersonality;
  /** A virtual topology; its delay queue is run by `advance` (no timers). */
  topology?: TopologyConfig;
  /** Randomness for droprate and the topology's links (default: always 0.5). */
  random?: () => number;
}

/** Fixed, recognisable decoy MACs: 02:00:5e:0a:<ip byte 3>:<ip byte 4>. */
export function decoyMacFor(ip: number): Buffer {
  return Buffer.from([0x02, 0x00, 0x5e, 0x0a, (ip >>> 8) & 0xff, ip & 0xff]);
}

interface Parts {
  engine: Engine;
  table: DecoyTable;
  staticHosts: DecoyHost[];
}

export class Harness {
  readonly parts: Parts;
  readonly sent: Buffer[] = [];
  readonly events: DecoyEvent[] = [];
  now = T0;
  ready = 0;

  constructor(o: HarnessOptions = {}) {
    const templates = o.templates ?? [linuxTemplate()];
    const cfg: DecoydConfig = {
      source: 'stack-harness',
      osDb: [],
      macPrefixes: '/usr/share/nmap/nmap-mac-prefixes',
      templates: new Map(templates.map((t) => [t.name, t])),
      hosts: (o.hosts ?? [{ address: DECOY_IP, template: templates[0].name }]).map((h, i) => ({ ...h, origin: `test:${i + 1}` })),
      claims: (o.claims ?? []).map((c, i) => ({ ...c, origin: `claim:${i + 1}` })),
      limits: { ...DEFAULT_LIMITS, ...o.limits },
      claim: { ...DEFAULT_CLAIM, probeBeforeBind: false, ...o.claim },
      log: { level: 'info' },
      dhcp: [],
      detect: { ...DEFAULT_DETECT },
      topology: o.topology ?? emptyTopology(),
    };
    const sink: EventSink = { wants: () => true, emit: (e) => { this.events.push(e); } };
    const send = (frame: Buffer, length: number): void => { this.sent.push(Buffer.from(frame.subarray(0, length))); };
    const onReady = (): void => { this.ready++; };
    if (o.viaAssemble === true) {
      this.parts = assemble(cfg, new BuiltinPersonalitySource(), sink, send, onReady);
    } else {
      const compiled = new Map<string, TemplateRuntime>();
      for (const t of templates) compiled.set(t.name, compileTemplate(t));
      const createHost = (ip: number, template: TemplateRuntime, origin: 'static' | 'claimed'): DecoyHost =>
        new DecoyHost(ip, decoyMacFor(ip), template, origin, (host) => {
          const seed = hostSeed(host.ipText, template.name);
          return o.personality !== undefined ? o.personality(seed, host) : new LinuxLikePersonality(seed, 86400, T0);
        });
      const table = new DecoyTable();
      const claimRanges = cfg.claims.map((c) => {
        const cidr = parseCidr(c.range);
        const template = compiled.get(c.template);
        if (cidr === null || template === undefined) throw new Error(`bad claim ${c.range}`);
        return { network: cidr.network, size: cidr.size, template };
      });
      const bound = cfg.hosts.map((h) => {
        const template = compiled.get(h.template);
        if (template === undefined) throw new Error(`unknown template ${h.template}`);
        return createHost(parseIp(h.address), template, 'static');
      });
      const { staticHosts, routing } = splitTopology(cfg, bound, compiled, createHost);
      const engine = new Engine({
        limits: cfg.limits, claim: cfg.claim, claimRanges, table, events: sink, send, createHost, onReady,
        now: () => this.now, random: o.random ?? (() => 0.5), routing, routingTimer: null, observer: o.observer,
      });
      this.parts = { engine, table, staticHosts };
    }
    if (o.bind !== false) this.parts.engine.addresses.bindStatic(this.parts.staticHosts, this.now);
  }

  get engine(): Engine { return this.parts.engine; }

  /** MAC of an active decoy, as text. */
  macOf(ip: string): string {
    const host = [...this.parts.table.hosts()].find((h) => h.ipText === ip);
    if (host === undefined) throw new Error(`${ip} is not active`);
    return macText(host.mac);
  }

  /** MAC a static host will use (active or not). */
  staticMacOf(ip: string): string {
    const host = this.parts.staticHosts.find((h) => h.ipText === ip);
    if (host === undefined) throw new Error(`${ip} is not a static host`);
    return macText(host.mac);
  }

  feed(frame: Buffer): void {
    this.parts.engine.handleFrame(frame, frame.length, this.now);
  }

  /** Advance the clock in steps of `stepMs`, ticking the engine each step. */
  advance(ms: number, stepMs = 100): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now = Math.min(end, this.now + stepMs);
      this.parts.engine.tick(this.now);
    }
  }

  /** Frames sent since the last call, parsed. */
  take(): ParsedFrame[] {
    const out = this.sent.splice(0).map(parseFrame);
    return out;
  }

  eventsOf(kind: DecoyEvent['kind']): DecoyEvent[] {
    return this.events.filter((e) => e.kind === kind);
  }
}
