/**
 * The resolved, validated configuration that the daemon runs from.
 * Both front ends (YAML and Honeyd syntax) produce exactly this shape.
 */

import type { TopologyConfig } from './topology';
import type { ShipSettings } from './ship-settings';
import type { HttpOptions } from './http-options';
import type { DnsOptions, LineProtocol, LineServiceOptions, SnmpOptions } from './mail-ftp-options';

export type Proto = 'tcp' | 'udp';

/** What a port does with traffic. Honeyd's `closed` is normalised to `reset`. */
export type PortAction = 'open' | 'reset' | 'block';

/**
 * ICMP handling for a template: `open` answers echo (as the personality says), `block` stays silent.
 * Honeyd 1.6d's `closed`/`reset` also drops ICMP (1.5c answered), so the Honeyd reader maps it to `block`.
 */
export type IcmpAction = 'open' | 'block';

/** The service behind an open port. */
export type ServiceSpec =
  | { kind: 'none' } // accept and discard (counts bytes)
  | { kind: 'banner'; banner: string; close?: boolean } // send banner on connect, then discard (or close, as close(2))
  | { kind: 'echo' } // echo every byte back
  | { kind: 'identity'; identity: ServiceIdentitySpec } // answer nmap's probes as this product (services/identity/)
  /** Honeyd script: the command line as written, `$ipsrc`/`$ipdst`/`$sport`/`$dport`/`$date` unexpanded. */
  | { kind: 'script'; command: string }
  /** Honeyd `proxy HOST:PORT`; either side may be a `$variable` (`$ipsrc:23`), expanded per connection. */
  | { kind: 'proxy'; target: string; at?: { file: string; line: number; col?: number } }
  /** Honeyd `internal "module"`: an in-process Python module (Honeyd needs Python support for it). */
  | { kind: 'internal'; module: string }
  /** Honeyd `tarpit`: window 5, 64-byte MSS, one byte per segment; `inner` is what runs behind it. */
  | { kind: 'tarpit'; inner?: ServiceSpec }
  // --- interactive emulators: ssh / telnet (services/ssh/, services/telnet/) ---
  | { kind: 'ssh'; identity: ServiceIdentitySpec; ssh: SshOptions }
  | { kind: 'telnet'; identity: ServiceIdentitySpec; telnet: TelnetOptions }
  // --- end ssh / telnet ---
  // --- http emulator (services/interactive/http/) ---
  | { kind: 'http'; identity: ServiceIdentitySpec; http: HttpOptions }
  // --- ftp / smtp / pop3 / imap emulators (services/mail/), dns / snmp responders (services/udp/) ---
  | { kind: 'line'; protocol: LineProtocol; identity: ServiceIdentitySpec; options: LineServiceOptions }
  | { kind: 'dns'; identity: ServiceIdentitySpec; dns: DnsOptions }
  | { kind: 'snmp'; identity: ServiceIdentitySpec; snmp: SnmpOptions };

/**
 * A product identity for `nmap -sV`: decoyd finds nmap-service-probes rules that print exactly
 * these values and answers nmap's probes with bytes those rules match.
 */
export interface ServiceIdentitySpec {
  /** nmap's service name as the rule has it (`ftp`, `http`, `ssh`); `https` or `ssl/NAME` means NAME inside TLS. */
  name?: string;
  product: string;
  version?: string;
  info?: string;
  hostname?: string;
  os?: string;
  devicetype?: string;
  /** Serve the identity inside TLS (implied by `https` and `ssl/…` names). */
  tls: boolean;
}

// --- ssh / telnet emulator options (config/yaml-ssh-telnet.ts reads them) ---
/** What a login attempt gets: always refused, accepted for listed pairs, or accepted after N refusals per source. */
export type LoginPolicy =
  | { mode: 'refuse' }
  | { mode: 'accept'; credentials: Array<{ user: string; password: string }> }
  | { mode: 'any-after'; attempts: number };

/** Bounds and text of the fake shell behind an accepted login. */
export interface ShellOptions {
  /** Host name the prompt and `uname` show; default drawn per host. */
  hostname?: string;
  /** Longest command line kept (bytes, default 4096). */
  maxLineBytes: number;
  /** Command lines per session (default 500). */
  maxCommands: number;
  /** Longest session after login (seconds, default 600). */
  sessionSeconds: number;
}

export interface SshOptions {
  auth: LoginPolicy;
  /** sshd's MaxAuthTries (default 6): the connection is dropped with "Too many authentication failures". */
  maxAuthTries: number;
  /** sshd's LoginGraceTime (seconds, default 120): unauthenticated connections are closed after it. */
  loginGraceSeconds: number;
  /** Delay before a refused password is answered (PAM's fail delay; default 2000 ms, ±25 %). */
  failDelayMs: number;
  /** How long to wait for the client's KEXINIT before sending the lists ssh2 can run (default 300 ms). */
  kexinitWaitMs: number;
  /** Methods a `none` request is refused with; default the claimed build's (`publickey,password` on Debian/Ubuntu). */
  methods?: string[];
  shell: ShellOptions;
}

export interface TelnetOptions {
  auth: LoginPolicy;
  /** Login attempts per connection before it is closed (login(1): 3 for inetutils; BusyBox 3; IOS 3). */
  maxAttempts: number;
  /** Seconds to finish a login (login(1)'s 60 s). */
  loginTimeoutSeconds: number;
  /** Delay before `Login incorrect` (default 3000 ms for login(1), ±25 %). */
  failDelayMs: number;
  shell: ShellOptions;
}
// --- end ssh / telnet options ---

/** Honeyd `add T subsystem "command" [shared] [restart]`. */
export interface SubsystemSpec {
  command: string;
  /** One process for every host cloned from the template, instead of one per host. */
  shared: boolean;
  /** Start it again when it exits. */
  restart: boolean;
  origin: string;
}

/** When a dynamic template's rule applies (Honeyd `add T use T2 if CONDITION`). */
export type DynamicCondition =
  /** The source's passive OS guess matches this (p0f / pf.os) name. */
  | { kind: 'os'; value: string }
  /** The source address equals this address or lies in this CIDR. */
  | { kind: 'ip'; value: string }
  /** Local time of day, seconds since midnight, inclusive, no wrap past midnight (as Honeyd). */
  | { kind: 'time'; value: { startSeconds: number; endSeconds: number } }
  /** The packet's protocol. */
  | { kind: 'proto'; value: 'tcp' | 'udp' | 'icmp' }
  /** Honeyd `otherwise`: always matches. */
  | { kind: 'default' };

export interface DynamicRule {
  /** The template used when the condition holds. */
  template: string;
  condition: DynamicCondition;
  origin: string;
}

/** Honeyd `annotate "PERSONALITY" [no] finscan | fragment drop|old|new`. */
export interface PersonalityAnnotation {
  /** false: a FIN probe to a listening port goes through the state machine (RST, Windows-like). */
  finscan?: boolean;
  /** Fragment policy: drop all, or reassemble preferring old / new data on overlap. */
  fragment?: 'drop' | 'old' | 'new';
}

export interface PortRule {
  proto: Proto;
  port: number;
  action: PortAction;
  service?: ServiceSpec;
}

export interface TemplateConfig {
  name: string;
  /** Exact nmap-os-db `Fingerprint` name; undefined means the built-in default personality. */
  personality?: string;
  /** A MAC (`00:11:22:33:44:55`) or a vendor name from nmap-mac-prefixes (`Dell`). */
  ethernet?: string;
  /** Seconds the emulated host has been up at daemon start (drives TCP timestamps). */
  uptime?: number;
  /** Percentage (0-100) of inbound packets silently dropped, as Honeyd's `set T droprate in N`. */
  dropRateIn: number;
  defaults: { tcp: PortAction; udp: PortAction; icmp: IcmpAction };
  /** What runs behind ports that take an `open` default (Honeyd `default tcp action "script"`, `tarpit open`). */
  defaultServices?: { tcp?: ServiceSpec; udp?: ServiceSpec };
  ports: PortRule[];
  /** Honeyd `set T personality random`: a personality is picked when the data files are read. */
  personalityRandom?: boolean;
  /** Honeyd `annotate` data for this template's personality, as it was at `set T personality`. */
  annotation?: PersonalityAnnotation;
  /** Percentage (0-100) of new inbound SYNs dropped (Honeyd `set T droprate syn N`). */
  dropRateSyn?: number;
  /** User and group the template's scripts and subsystems run as (Honeyd `set T uid N [gid M]`). */
  uid?: number;
  gid?: number;
  /** RLIMIT_NOFILE for the template's scripts (Honeyd `set T maxfds N`, default 30). */
  maxfds?: number;
  /** Rewrite the source / destination address of what this template sends (Honeyd `set T spoof`). */
  spoof?: { from?: string; to?: string };
  subsystems?: SubsystemSpec[];
  /** A dynamic template has no behaviour of its own: per packet, the first matching rule's template answers. */
  dynamic?: boolean;
  rules?: DynamicRule[];
}

/** Honeyd `bind IP to IF`: a real machine integrated into the virtual topology. */
export interface RealHostBinding {
  address: string;
  interface: string;
  origin: string;
}

export interface HostBinding {
  /** Dotted IPv4 address. */
  address: string;
  template: string;
  /** Where the binding came from, for messages: `file:line`. */
  origin: string;
}

export interface ClaimRange {
  /** CIDR, e.g. 198.51.100.128/25. */
  range: string;
  template: string;
  origin: string;
}

/**
 * A decoy that takes its address from the LAN's DHCP server (Honeyd `dhcp T on IF [ethernet "…"]`).
 * Its MAC, client identifier, hostname and parameter request list fit the template's OS.
 */
export interface DhcpBinding {
  template: string;
  /** The interface to run the client on; absent means the daemon's own interface. */
  interface?: string;
  /** A MAC or vendor name; overrides the template's `ethernet` (Honeyd's `ethernet "…"` clause). */
  ethernet?: string;
  /** Hostname sent in option 12; absent means one chosen to fit the OS (e.g. `DESKTOP-…` for Windows). */
  hostname?: string;
  origin: string;
}

/** Every table in the daemon has an explicit bound, set here. */
export interface Limits {
  /** Established + half-open TCP connections across all decoys. */
  maxConnections: number;
  /** TCP connections from one source address. */
  maxConnectionsPerSource: number;
  /** IPv4 datagrams being reassembled at once. */
  maxReassemblies: number;
  /** Milliseconds a partial datagram is kept (Linux: 30 s). */
  reassemblyTimeoutMs: number;
  /** Bytes one reassembly may hold. */
  maxReassemblyBytes: number;
  /** Addresses under watch by the dynamic claimer. */
  maxClaimCandidates: number;
  /** Idle seconds before an established connection is dropped. */
  connectionIdleSeconds: number;
  /** Bytes buffered towards a service per connection before the window closes. */
  maxReceiveBuffer: number;
  /** Bytes a service may queue towards the peer per connection (unacknowledged included) before `write` refuses. */
  maxSendBuffer: number;
  /** Out-of-order segments held per connection while a hole is filled. */
  maxOutOfOrderSegments: number;
  /** Bytes of TCP buffers (send, receive, out-of-order) all connections together may hold. */
  maxTcpBufferBytes: number;
  /** Peers each decoy keeps an ICMP error rate-limit bucket for (oldest forgotten first). */
  maxIcmpLimitPeers: number;
  /** Frames held at once by the virtual topology's delay queue (latency, bandwidth); beyond it they drop. */
  maxDelayedFrames: number;
  /** Longest delay the topology's delay queue can hold, milliseconds (its timer wheel's span). */
  maxDelayMs: number;
  /** Hosts made on demand from the `default` template for unbound addresses in virtual networks. */
  maxTopologyHosts: number;
  /** SSH host keys and certificate keys kept on disk under the store's `keys/` (beyond it, new keys last one run). */
  maxStoredKeys: number;
  /** Neighbour-cache entries (decoy, peer) across all decoys, for the families that re-probe peers. */
  maxNeighbours: number;
  // ---- Honeyd subsystems (services/subsystem/) ----
  /** Subsystem processes running at once (a non-shared subsystem runs one per bound host). */
  maxSubsystemProcesses: number;
  /** Delay before restarting a `restart` subsystem that died within 5 s of its start; doubles per quick death. */
  subsystemRestartDelayMs: number;
  /** Longest such delay. */
  subsystemMaxRestartDelayMs: number;
  // ---- Honeyd service actions (services/actions/) ----
  /** Scripts running at once for one template (Honeyd has no bound); more connections are closed, datagrams dropped. */
  maxScriptsPerTemplate: number;
  /** Scripts running at once, all templates together. */
  maxScripts: number;
  /** Wall-clock seconds a script may run before it is killed. */
  scriptTimeoutSeconds: number;
  /** Bytes a script may write to its connection (or datagrams) before it is killed. */
  scriptMaxOutputBytes: number;
  /** RLIMIT_AS of a script, bytes. */
  scriptMemoryBytes: number;
  /** Proxied connections at once. */
  maxProxyConnections: number;
  /** How long a proxy waits for its target to accept (Honeyd: 10 s). */
  proxyConnectTimeoutMs: number;
  /** Tarpitted connections held at once, all sources together; more are reset. */
  maxTarpitConnections: number;
  /** Tarpitted connections held at once from one source address. */
  maxTarpitConnectionsPerSource: number;
  // ---- dynamic templates (stack/dynamic/) ----
  /** Sources whose passive OS guess (p0f signature of their SYN) is remembered; least recently seen forgotten first. */
  maxPassiveOsSources: number;
}

export interface ClaimSettings {
  /** Unanswered ARP requests for an address before it is claimed (arpd: 3). */
  tries: number;
  /** Window in which those tries must fall, in milliseconds. */
  windowMs: number;
  /** Probe (RFC 5227) a statically bound address before answering for it. */
  probeBeforeBind: boolean;
  /** How long to wait for an answer to the probes, in milliseconds. */
  probeWaitMs: number;
}

export interface DecoydConfig {
  /** The file the configuration came from. */
  source: string;
  interface?: string;
  /** nmap-os-db files, loaded in order (later files add entries). */
  osDb: string[];
  /** nmap-mac-prefixes file. */
  macPrefixes: string;
  templates: Map<string, TemplateConfig>;
  hosts: HostBinding[];
  claims: ClaimRange[];
  /** Decoys whose addresses come from DHCP; one client each. */
  dhcp: DhcpBinding[];
  /** Real machines in the virtual topology (Honeyd `bind IP to IF`); absent means none. */
  realHosts?: RealHostBinding[];
  limits: Limits;
  claim: ClaimSettings;
  log: { level: 'trace' | 'debug' | 'info' | 'warn' | 'error' };
  /** Scan detection and tool attribution (daemon/src/detect/). */
  detect: DetectConfig;
  /** Virtual routers and the networks behind them; empty when every host sits on the LAN. */
  topology: TopologyConfig;
  /** nmap-service-probes file that service identities are built from (default /usr/share/nmap/nmap-service-probes). */
  serviceProbes?: string;
  /** p0f's signature database for dynamic templates' `source os` rules (default /etc/p0f/p0f.fp). */
  p0fDatabase?: string;
  /** Pins the per-deployment seed of identity fillers; default derived from the machine. */
  serviceSeed?: string;
  /** The event store (`store:`); absent = no store. */
  store?: StoreSettings;
  /** Rotating pcap files of every frame received and sent (`capture:`); absent = off. */
  capture?: { dir: string; maxFileBytes: number; maxFiles: number; bufferBytes: number };
  /** The admin HTTP API (`admin:`); absent = no API unless --admin is given. */
  admin?: AdminSettings;
  /** This sensor's name and id in every event's observer.* (default: the host name). */
  sensor?: { name?: string; id?: string };
  /** Shippers to collectors beyond the embedded store (`ship:`); absent = none. */
  ship?: ShipSettings[];
  /** Where Honeyd `proxy` actions may connect (`proxy_allow:`, `option decoyd proxy_allow …`); absent = nowhere. */
  proxyAllow?: ProxyAllowEntry[];
}

/**
 * One egress allow-list entry: `ADDRESS[/PREFIX]:PORT`, `…:LOW-HIGH`, `…:*`, or `$ipsrc:PORT` /
 * `$ipdst:PORT` for Honeyd's per-connection targets (refused unless listed so).
 */
export interface ProxyAllowEntry {
  /** `cidr` (network and mask as unsigned 32-bit numbers), or a Honeyd variable. */
  host: { kind: 'cidr'; network: number; mask: number } | { kind: 'var'; name: '$ipsrc' | '$ipdst' };
  portLow: number;
  portHigh: number;
  text: string;
  origin: string;
}

/**
 * Scan detector thresholds and bounds. A flow is one source's packets of one scan style; it is
 * reported once a threshold is met within `windowSeconds` of its first packet, and ends after
 * `idleSeconds` without packets.
 */
export interface DetectConfig {
  enabled: boolean;
  /** Sources tracked at once; the least recently seen is forgotten first. */
  maxSources: number;
  /** Flows (source × scan style) tracked at once, all sources together. */
  maxFlows: number;
  /** Distinct targets counted exactly per flow (beyond it the count is a lower bound). */
  maxTargetsPerFlow: number;
  /** Half-open and established handshakes remembered (connect scans, and ACKs that belong to a connection). */
  maxHandshakes: number;
  /** Seconds from a flow's first packet within which a threshold must be met. */
  windowSeconds: number;
  /** Seconds without packets after which a flow (campaign) ends and is reported a last time. */
  idleSeconds: number;
  /** Least seconds between two reports of a growing campaign. */
  updateSeconds: number;
  /** Distinct destination ports that make a port scan (TCP, UDP). */
  minPorts: number;
  /** Distinct decoys that make a sweep (TCP, UDP, ICMP and ARP). */
  minTargets: number;
  /** Distinct IP protocols that make a protocol scan. */
  minProtocols: number;
  /** Distinct Nmap OS probe shapes (of 16) that make OS detection. */
  minOsProbes: number;
  /** Distinct Nmap service probe strings that make version probing. */
  minServiceProbes: number;
  /** Targets and ports listed in an event (the counts are exact). */
  sampleSize: number;
}

export const DEFAULT_DETECT: DetectConfig = {
  enabled: true,
  maxSources: 4096,
  maxFlows: 1024,
  maxTargetsPerFlow: 1024,
  maxHandshakes: 8192,
  windowSeconds: 60,
  idleSeconds: 30,
  updateSeconds: 10,
  minPorts: 10,
  minTargets: 5,
  minProtocols: 5,
  minOsProbes: 3,
  minServiceProbes: 2,
  sampleSize: 16,
};

export type DetectNumberKey = Exclude<keyof DetectConfig, 'enabled'>;

/** Lower and upper bounds of each numeric `detect:` key (a flow table must hold one source's 12 styles). */
export const DETECT_RANGES: Record<DetectNumberKey, [number, number]> = {
  maxSources: [1, 10_000_000],
  maxFlows: [12, 1_000_000],
  maxTargetsPerFlow: [1, 1_000_000],
  maxHandshakes: [16, 16_777_216],
  windowSeconds: [1, 86_400],
  idleSeconds: [1, 86_400],
  updateSeconds: [1, 86_400],
  minPorts: [1, 65_536],
  minTargets: [1, 1_000_000],
  minProtocols: [1, 256],
  minOsProbes: [1, 16],
  minServiceProbes: [1, 256],
  sampleSize: [1, 1024],
};

export interface StoreSettings {
  /** Data directory (the database is events.sqlite in it). */
  path: string;
  flushIntervalMs: number;
  retention: { maxAgeDays: number; maxBytes: number };
  queueLimit: number;
}

export interface AdminSettings {
  /** HOST:PORT, default 127.0.0.1:8080. */
  listen: string;
  /** File holding the bearer token (else DECOYD_ADMIN_TOKEN). */
  tokenFile?: string;
  /** PEM certificate (chain) and private key: when set, the API serves HTTPS only. */
  tls?: { certFile: string; keyFile: string };
}

export const DEFAULT_STORE_SETTINGS: Omit<StoreSettings, 'path'> = {
  flushIntervalMs: 250,
  retention: { maxAgeDays: 30, maxBytes: 4 * 1024 ** 3 },
  queueLimit: 200_000,
};

export const DEFAULT_LIMITS: Limits = {
  maxConnections: 65536,
  maxConnectionsPerSource: 4096,
  maxReassemblies: 1024,
  reassemblyTimeoutMs: 30000,
  maxReassemblyBytes: 65535,
  maxClaimCandidates: 4096,
  connectionIdleSeconds: 300,
  maxReceiveBuffer: 65536,
  maxSendBuffer: 65536,
  maxOutOfOrderSegments: 64,
  maxTcpBufferBytes: 64 * 1024 * 1024,
  maxIcmpLimitPeers: 256,
  maxDelayedFrames: 2048,
  maxDelayMs: 2000,
  maxTopologyHosts: 4096,
  maxStoredKeys: 10_000,
  maxNeighbours: 4096,
  maxSubsystemProcesses: 64,
  subsystemRestartDelayMs: 10_000,
  subsystemMaxRestartDelayMs: 300_000,
  maxPassiveOsSources: 4096,
  maxScriptsPerTemplate: 16,
  maxScripts: 64,
  scriptTimeoutSeconds: 60,
  scriptMaxOutputBytes: 1024 * 1024,
  scriptMemoryBytes: 256 * 1024 * 1024,
  maxProxyConnections: 1024,
  proxyConnectTimeoutMs: 10_000,
  maxTarpitConnections: 4096,
  maxTarpitConnectionsPerSource: 16,
};

export const DEFAULT_CLAIM: ClaimSettings = {
  tries: 3,
  windowMs: 2500,
  probeBeforeBind: true,
  probeWaitMs: 600,
};
