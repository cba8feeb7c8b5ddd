import type { OverlapPolicy } from '../personality/behaviour/types';
import type { HostPersonality } from '../personality/host-personality';
import type { DatagramService, StreamService } from '../services/service';
import { ipToString, macToNumber, macToString } from '../wire/address';
import { passivePorts } from './passive-ports';

/** Port actions packed into a byte per port. */
export const PortState = { RESET: 0, OPEN: 1, BLOCK: 2 } as const;
export type PortStateCode = (typeof PortState)[keyof typeof PortState];

/**
 * Honeyd `annotate "P" [no] finscan`: what a FIN probe (FIN without SYN or ACK) to a listening port
 * gets. MODEL leaves it to the personality; DROP is RFC 793 silence; RESET answers as a closed port.
 */
export const FinScan = { MODEL: 0, DROP: 1, RESET: 2 } as const;
export type FinScanCode = (typeof FinScan)[keyof typeof FinScan];

/** Honeyd `annotate "P" fragment drop|old|new`: drop every fragment, or reassemble with that overlap rule. */
export type FragmentPolicy = 'drop-all' | OverlapPolicy;

/** A template compiled for per-packet lookups: one byte per port and protocol. */
export class TemplateRuntime {
  readonly tcp = new Uint8Array(65536);
  readonly udp = new Uint8Array(65536);
  readonly tcpServices = new Map<number, StreamService>();
  readonly udpServices = new Map<number, DatagramService>();
  /** Probability (0-1) of silently dropping a new SYN to an open port (Honeyd `set T droprate syn`). */
  synDropRate = 0;
  finScan: FinScanCode = FinScan.MODEL;
  /** null: the personality's own reassembly policy. */
  fragments: FragmentPolicy | null = null;
  /** What runs behind ports opened by the default action (Honeyd `set T default tcp action "cmd"` / `tarpit open`). */
  tcpDefaultService: StreamService | null = null;
  udpDefaultService: DatagramService | null = null;
  /** UDP ports the template lists itself (they never take the default service). */
  readonly udpListed = new Set<number>();

  constructor(
    readonly name: string,
    readonly personalityName: string | undefined,
    tcpDefault: PortStateCode,
    udpDefault: PortStateCode,
    readonly icmpOpen: boolean,
    /** Probability (0-1) of silently dropping an inbound packet. */
    readonly dropRate: number,
  ) {
    this.tcp.fill(tcpDefault);
    this.udp.fill(udpDefault);
  }
}

/** Picks, per packet of a new flow, the host that answers for a dynamic template's address (stack/dynamic/). */
export interface HostChooser {
  choose(src: number, proto: number, nowMs: number): DecoyHost;
}

/** `dhcp`: the address was leased by the host's DHCP client (stack/dhcp/). */
export type HostOrigin = 'static' | 'claimed' | 'dhcp';

/** One emulated host. Its personality is created on first use so that a /16 of idle decoys stays cheap. */
export class DecoyHost {
  readonly mac: Buffer;
  readonly macKey: number;
  private personalityInstance: HostPersonality | null = null;
  // Texts are made on first use (logging): a /16 of idle decoys should not hold 131,072 strings.
  private ipTextCache: string | null = null;
  private macTextCache: string | null = null;
  /**
   * TCP ports a Honeyd subsystem program of this host listens on (services/subsystem/), each with
   * the service that relays to it; null when none. Replaced whole, off the packet path, when the
   * program's listeners change. They open ports the template leaves to its default action.
   */
  subsystemPorts: ReadonlyMap<number, StreamService> | null = null;
  /**
   * Set on the address's own host when its template is dynamic: the rules' hosts (same address
   * and MAC) answer instead, chosen per new flow. This host itself only answers ARP.
   */
  dynamic: HostChooser | null = null;

  constructor(
    readonly ip: number,
    mac: Buffer,
    readonly template: TemplateRuntime,
    readonly origin: HostOrigin,
    private readonly personalityFactory: (host: DecoyHost) => HostPersonality,
  ) {
    // A private copy from Node's shared pool: a Buffer.alloc(6) per host costs its own ArrayBuffer.
    this.mac = Buffer.from(mac);
    this.macKey = macToNumber(mac, 0);
  }

  get ipText(): string {
    if (this.ipTextCache === null) this.ipTextCache = ipToString(this.ip);
    return this.ipTextCache;
  }

  get macText(): string {
    if (this.macTextCache === null) this.macTextCache = macToString(this.mac);
    return this.macTextCache;
  }

  get personality(): HostPersonality {
    if (this.personalityInstance === null) this.personalityInstance = this.personalityFactory(this);
    return this.personalityInstance;
  }
}

/** The TCP port state of `port` on `host`: its template's, or open where a subsystem listens. */
export function tcpPortState(host: DecoyHost, port: number): PortStateCode {
  const sub = host.subsystemPorts;
  if (sub !== null && sub.has(port)) return PortState.OPEN;
  const code = host.template.tcp[port] as PortStateCode;
  // An FTP emulator's PASV port, open for one connection.
  if (code !== PortState.OPEN && passivePorts.size > 0 && passivePorts.has(host.ip, port)) return PortState.OPEN;
  return code;
}

/** The service behind an open TCP port of `host` (a subsystem's relay first). */
export function tcpServiceOf(host: DecoyHost, port: number): StreamService | undefined {
  return host.subsystemPorts?.get(port) ?? host.template.tcpServices.get(port) ?? (passivePorts.size > 0 ? passivePorts.get(host.ip, port) : undefined) ?? host.template.tcpDefaultService ?? undefined;
}

/** The service behind an open UDP port: the port's own, else the default action's. */
export function udpServiceOf(template: TemplateRuntime, port: number): DatagramService | undefined {
  return template.udpServices.get(port) ?? (template.udpListed.has(port) ? undefined : template.udpDefaultService ?? undefined);
}

/** Active decoys by IP, and the set of MACs decoyd uses (to recognise its own frames). */
export class DecoyTable {
  private readonly byIp = new Map<number, DecoyHost>();
  private readonly macUse = new Map<number, number>();

  get size(): number { return this.byIp.size; }

  get(ip: number): DecoyHost | undefined { return this.byIp.get(ip); }

  has(ip: number): boolean { return this.byIp.has(ip); }

  add(host: DecoyHost): void {
    this.byIp.set(host.ip, host);
  }

  /**
   * Mark a host's MAC as ours from the moment it may transmit (probing included), so that
   * our own frames echoed by the capture are never mistaken for another owner.
   */
  registerMac(host: { readonly macKey: number }): void {
    this.macUse.set(host.macKey, (this.macUse.get(host.macKey) ?? 0) + 1);
  }

  unregisterMac(host: { readonly macKey: number }): void {
    const n = (this.macUse.get(host.macKey) ?? 1) - 1;
    if (n <= 0) this.macUse.delete(host.macKey);
    else this.macUse.set(host.macKey, n);
  }

  remove(ip: number): DecoyHost | undefined {
    const host = this.byIp.get(ip);
    if (host === undefined) return undefined;
    this.byIp.delete(ip);
    return host;
  }

  isOurMac(macKey: number): boolean { return this.macUse.has(macKey); }

  hosts(): IterableIterator<DecoyHost> { return this.byIp.values(); }
}
