/**
 * A throw-away network lab built from Linux network namespaces, for the demo and the e2e tests.
 *
 * Shape (see shared lab notes):
 *  - scanner namespace: one veth end with a documentation address (default 198.51.100.2/24);
 *  - honeynet namespace: one veth end, up, with NO IPv4 address; decoyd captures and injects there.
 *    IPv6 off, ip_forward=0, arp_ignore=8 and an nftables netdev ingress `drop`, so the namespace's
 *    own kernel never answers anything; packet taps still see every frame.
 *  - without extra hosts the two ends are one veth pair; with extra hosts ("real" kernel-stack
 *    hosts on the same LAN) every namespace gets a veth into a bridge in a `switch` namespace, so
 *    scanner, honeynet and hosts share one L2 segment.
 * Every veth is created directly inside its namespaces; the root namespace is never touched.
 * Offloads are off on every veth end so captured frames carry finished checksums and MTU-sized frames.
 */
import { spawn as spawnChild, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { runChecked, runCommand, type CommandResult } from './run-command';

export type { CommandResult } from './run-command';

export interface ExtraHostSpec {
  /** Short name, used in the namespace name: letters, digits, `_`, `-`. */
  name: string;
  /** IPv4 address, optionally with prefix length (default /24), inside the documentation ranges. */
  address: string;
}

export interface CreateLabOptions {
  /** Name prefix. With `unique` (default) the pid and a counter are appended. */
  name: string;
  /** Scanner address with prefix length; default 198.51.100.2/24. */
  scannerAddress?: string;
  extraHosts?: ExtraHostSpec[];
  /** Append pid + counter to the name (default true). The demo uses a fixed name. */
  unique?: boolean;
}

export interface LabHost {
  name: string;
  ns: string;
  ifName: string;
  /** Address with prefix length, e.g. 198.51.100.50/24. */
  address: string;
  /** The address alone, e.g. 198.51.100.50. */
  ip: string;
}

export interface LabExecOptions {
  timeoutMs?: number;
  input?: string;
}

export interface LabSpawnOptions {
  stdio?: StdioOptions;
}

export interface Lab {
  /** Base name all namespace names start with. */
  readonly name: string;
  readonly scannerNs: string;
  readonly honeyNs: string;
  /** The bridge namespace, present only when there are extra hosts. */
  readonly switchNs: string | undefined;
  readonly scannerIf: string;
  readonly honeyIf: string;
  /** Scanner address with prefix length. */
  readonly scannerAddress: string;
  /** Scanner address alone. */
  readonly scannerIp: string;
  readonly hosts: readonly LabHost[];
  /** Every namespace of the lab, in creation order. */
  readonly namespaces: readonly string[];
  /** Runs argv inside namespace `ns`; resolves with the result (does not reject on non-zero exit). */
  exec(ns: string, argv: readonly string[], opts?: LabExecOptions): Promise<CommandResult>;
  /** Starts argv inside namespace `ns`; the lab ends it on destroy() if it is still running. */
  spawn(ns: string, argv: readonly string[], opts?: LabSpawnOptions): ChildProcess;
  /** Ends processes started by spawn() and deletes every namespace. Safe to call twice. */
  destroy(): Promise<void>;
}

export const DEFAULT_SCANNER_ADDRESS = '198.51.100.2/24';
export const SCANNER_IF = 'scan0';
export const HONEY_IF = 'honey0';
const HOST_IF = 'lan0';
const BRIDGE_IF = 'br0';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** Longest base name; namespace names are files in /run/netns, keep them readable. */
const MAX_BASE_LEN = 48;
const IP_TIMEOUT_MS = 5_000;
const CHILD_STOP_GRACE_MS = 1_000;
const OPER_UP_TIMEOUT_MS = 3_000;

let labCounter = 0;
const liveLabs = new Set<LabState>();
let exitHooksInstalled = false;

interface LabState {
  namespaces: string[];
  children: Set<ChildProcess>;
  destroyed: boolean;
}

/** Builds a lab; on any failure everything created so far is deleted before the error is rethrown. */
export async function createLab(opts: CreateLabOptions): Promise<Lab> {
  if (!NAME_RE.test(opts.name)) throw new Error(`lab name ${JSON.stringify(opts.name)}: use letters, digits, '_', '-', '.'`);
  const base = opts.unique === false ? opts.name : `${opts.name}-${process.pid}-${labCounter++}`;
  if (base.length > MAX_BASE_LEN) throw new Error(`lab name ${base} is longer than ${MAX_BASE_LEN} characters`);

  const scannerAddress = withPrefix(opts.scannerAddress ?? DEFAULT_SCANNER_ADDRESS);
  const extraHosts = opts.extraHosts ?? [];
  const hostNames = new Set<string>();
  const hosts: LabHost[] = extraHosts.map((spec, index) => {
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$/.test(spec.name)) throw new Error(`extra host name ${JSON.stringify(spec.name)} is not a short identifier`);
    if (['scan', 'honey', 'switch'].includes(spec.name) || hostNames.has(spec.name)) throw new Error(`extra host name ${spec.name} is reserved or repeated`);
    hostNames.add(spec.name);
    const address = withPrefix(spec.address);
    return { name: spec.name, ns: `${base}-${spec.name}`, ifName: HOST_IF, address, ip: address.split('/')[0] as string };
  });
  const allIps = [scannerAddress, ...hosts.map((h) => h.address)].map((a) => a.split('/')[0]);
  if (new Set(allIps).size !== allIps.length) throw new Error(`lab addresses repeat: ${allIps.join(', ')}`);

  const scannerNs = `${base}-scan`;
  const honeyNs = `${base}-honey`;
  const switchNs = hosts.length > 0 ? `${base}-switch` : undefined;
  const namespaces = [scannerNs, honeyNs, ...(switchNs ? [switchNs] : []), ...hosts.map((h) => h.ns)];

  const state: LabState = { namespaces: [], children: new Set(), destroyed: false };
  installExitHooks();
  liveLabs.add(state);

  const lab: Lab = {
    name: base,
    scannerNs,
    honeyNs,
    switchNs,
    scannerIf: SCANNER_IF,
    honeyIf: HONEY_IF,
    scannerAddress,
    scannerIp: scannerAddress.split('/')[0] as string,
    hosts,
    namespaces,
    exec: (ns, argv, execOpts = {}) => {
      assertOwnNamespace(namespaces, ns);
      return runCommand('ip', ['netns', 'exec', ns, ...argv], { timeoutMs: execOpts.timeoutMs ?? 30_000, input: execOpts.input });
    },
    spawn: (ns, argv, spawnOpts = {}) => {
      assertOwnNamespace(namespaces, ns);
      if (state.destroyed) throw new Error(`lab ${base} is destroyed`);
      const child = spawnChild('ip', ['netns', 'exec', ns, ...argv], { stdio: spawnOpts.stdio ?? ['ignore', 'pipe', 'pipe'] });
      state.children.add(child);
      child.once('exit', () => state.children.delete(child));
      child.once('error', () => state.children.delete(child));
      return child;
    },
    destroy: () => destroyState(state),
  };

  try {
    for (const ns of namespaces) {
      await runChecked('ip', ['netns', 'add', ns], { timeoutMs: IP_TIMEOUT_MS });
      state.namespaces.push(ns);
    }
    // IPv6 off before any link exists, so no interface ever gets a link-local address or sends NDP/MLD.
    await Promise.all(namespaces.map((ns) => sysctl(ns, ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'])));
    await buildLinks(lab, hosts);
    await guardHoneynet(lab);
    await Promise.all([
      configureEnd(scannerNs, SCANNER_IF, scannerAddress),
      ...hosts.map((h) => configureEnd(h.ns, HOST_IF, h.address)),
    ]);
    // Traffic sent before the kernel marks a veth operationally up is dropped; wait for it (bounded).
    await Promise.all([
      waitOperUp(scannerNs, SCANNER_IF),
      waitOperUp(honeyNs, HONEY_IF),
      ...hosts.map((h) => waitOperUp(h.ns, HOST_IF)),
    ]);
  } catch (err) {
    await destroyState(state);
    throw err;
  }
  return lab;
}

/**
 * Deletes the namespaces a lab with exactly this base name (created with `unique: false`) would have,
 * e.g. a demo lab left over from a killed run. Returns the names deleted.
 */
export async function destroyLabNamed(base: string, extraHostNames: readonly string[] = []): Promise<string[]> {
  if (!NAME_RE.test(base)) throw new Error(`lab name ${JSON.stringify(base)} is not valid`);
  const listed = await runChecked('ip', ['netns', 'list'], { timeoutMs: IP_TIMEOUT_MS });
  const existing = new Set(listed.stdout.split('\n').map((line) => line.split(' ')[0] ?? ''));
  const wanted = ['scan', 'honey', 'switch', ...extraHostNames].map((suffix) => `${base}-${suffix}`);
  const stale = wanted.filter((ns) => existing.has(ns));
  for (const ns of stale) await runChecked('ip', ['netns', 'del', ns], { timeoutMs: IP_TIMEOUT_MS });
  return stale;
}

function withPrefix(address: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(address);
  if (!m) throw new Error(`${address} is not an IPv4 address`);
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) throw new Error(`${address} is not an IPv4 address`);
  const prefix = m[5] === undefined ? 24 : Number(m[5]);
  if (prefix < 1 || prefix > 30) throw new Error(`${address}: prefix length must be 1..30`);
  const net = octets.slice(0, 3).join('.');
  // The lab only ever uses documentation ranges (RFC 5737), so it cannot collide with a real network.
  if (net !== '198.51.100' && net !== '203.0.113') throw new Error(`${address} is outside 198.51.100.0/24 and 203.0.113.0/24`);
  if (prefix < 24) throw new Error(`${address}: prefix must stay inside the documentation /24`);
  return `${octets.join('.')}/${prefix}`;
}

function assertOwnNamespace(namespaces: readonly string[], ns: string): void {
  if (!namespaces.includes(ns)) throw new Error(`namespace ${ns} does not belong to this lab`);
}

async function sysctl(ns: string, settings: string[]): Promise<void> {
  await runChecked('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', ...settings], { timeoutMs: IP_TIMEOUT_MS });
}

async function ipBatch(ns: string, lines: string[]): Promise<void> {
  await runChecked('ip', ['-n', ns, '-batch', '-'], { timeoutMs: IP_TIMEOUT_MS, input: `${lines.join('\n')}\n` });
}

async function offloadsOff(ns: string, ifName: string): Promise<void> {
  await runChecked('ip', ['netns', 'exec', ns, 'ethtool', '-K', ifName, 'tx', 'off', 'rx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off'], {
    timeoutMs: IP_TIMEOUT_MS,
  });
}

async function buildLinks(lab: Lab, hosts: readonly LabHost[]): Promise<void> {
  const switchNs = lab.switchNs;
  if (switchNs === undefined) {
    await runChecked('ip', ['link', 'add', SCANNER_IF, 'netns', lab.scannerNs, 'type', 'veth', 'peer', 'name', HONEY_IF, 'netns', lab.honeyNs], {
      timeoutMs: IP_TIMEOUT_MS,
    });
    await Promise.all([offloadsOff(lab.scannerNs, SCANNER_IF), offloadsOff(lab.honeyNs, HONEY_IF)]);
    return;
  }
  // Star topology: every end has a peer port on one bridge in the switch namespace.
  const ends: Array<{ ns: string; ifName: string; port: string }> = [
    { ns: lab.scannerNs, ifName: SCANNER_IF, port: 'p-scan' },
    { ns: lab.honeyNs, ifName: HONEY_IF, port: 'p-honey' },
    ...hosts.map((h, i) => ({ ns: h.ns, ifName: HOST_IF, port: `p-h${i}` })),
  ];
  await ipBatch(switchNs, [`link add ${BRIDGE_IF} type bridge stp_state 0 forward_delay 0 mcast_snooping 0`, 'link set lo up']);
  for (const end of ends) {
    await runChecked('ip', ['link', 'add', end.ifName, 'netns', end.ns, 'type', 'veth', 'peer', 'name', end.port, 'netns', switchNs], {
      timeoutMs: IP_TIMEOUT_MS,
    });
  }
  await Promise.all(ends.flatMap((end) => [offloadsOff(end.ns, end.ifName), offloadsOff(switchNs, end.port)]));
  await ipBatch(switchNs, [...ends.map((end) => `link set ${end.port} master ${BRIDGE_IF} up`), `link set ${BRIDGE_IF} up`]);
}

async function guardHoneynet(lab: Lab): Promise<void> {
  const ns = lab.honeyNs;
  const ifName = lab.honeyIf;
  await sysctl(ns, [
    `net.ipv6.conf.${ifName}.disable_ipv6=1`,
    'net.ipv4.ip_forward=0',
    'net.ipv4.conf.all.arp_ignore=8',
    `net.ipv4.conf.${ifName}.arp_ignore=8`,
  ]);
  const ruleset = [
    'table netdev guard {',
    '  chain in {',
    `    type filter hook ingress device "${ifName}" priority 0; policy accept;`,
    '    drop',
    '  }',
    '}',
    '',
  ].join('\n');
  await runChecked('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { timeoutMs: IP_TIMEOUT_MS, input: ruleset });
  await ipBatch(ns, ['link set lo up', `link set ${ifName} up`]);
}

async function configureEnd(ns: string, ifName: string, address: string): Promise<void> {
  await ipBatch(ns, ['link set lo up', `addr add ${address} dev ${ifName}`, `link set ${ifName} up`]);
}

async function waitOperUp(ns: string, ifName: string): Promise<void> {
  const deadline = Date.now() + OPER_UP_TIMEOUT_MS;
  for (let attempt = 0; attempt < 200 && Date.now() < deadline; attempt++) {
    const shown = await runChecked('ip', ['-n', ns, '-o', 'link', 'show', 'dev', ifName], { timeoutMs: IP_TIMEOUT_MS });
    if (/ state UP /.test(shown.stdout)) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${ifName} in ${ns} did not come up within ${OPER_UP_TIMEOUT_MS} ms`);
}

async function destroyState(state: LabState): Promise<void> {
  state.destroyed = true;
  const children = [...state.children];
  for (const child of children) signalChild(child, 'SIGTERM');
  const deadline = Date.now() + CHILD_STOP_GRACE_MS;
  while (children.some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  for (const child of children) if (child.exitCode === null && child.signalCode === null) signalChild(child, 'SIGKILL');
  // Delete in reverse order; a namespace already gone is fine.
  for (const ns of [...state.namespaces].reverse()) {
    const result = await runCommand('ip', ['netns', 'del', ns], { timeoutMs: IP_TIMEOUT_MS });
    if (result.code !== 0 && !/No such file/.test(result.stderr)) {
      throw new Error(`ip netns del ${ns}: ${result.stderr.trim()}`);
    }
    state.namespaces = state.namespaces.filter((n) => n !== ns);
  }
  liveLabs.delete(state);
}

function signalChild(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, signal);
  } catch {
    // already gone
  }
}

/** Synchronous last-resort cleanup for process exit: children by pid, then namespaces. */
function destroyAllSync(): void {
  for (const state of liveLabs) {
    state.destroyed = true;
    for (const child of state.children) signalChild(child, 'SIGKILL');
    for (const ns of [...state.namespaces].reverse()) spawnSync('ip', ['netns', 'del', ns], { timeout: IP_TIMEOUT_MS, stdio: 'ignore' });
    state.namespaces = [];
  }
  liveLabs.clear();
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', destroyAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      // When someone else handles the signal (the demo does), they stop gracefully and call destroy();
      // the exit hook stays the backstop. Alone, clean up and die of the same signal as before.
      if (process.listenerCount(signal) > 1) return;
      destroyAllSync();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}
