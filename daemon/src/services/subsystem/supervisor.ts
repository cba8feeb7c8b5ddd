/**
 * Runs Honeyd subsystems (`add T subsystem "cmd" [shared] [restart]`): one program per bound host
 * of the template, or one for all of them with `shared`. Each runs contained (spawner.ts: empty
 * network namespace, the template's uid/gid, default nobody) with the LD_PRELOAD shim, which
 * publishes every TCP listener in the program's own directory. A directory watch turns those into
 * open ports of the program's hosts (DecoyHost.subsystemPorts), each relayed to the program
 * (relay-service.ts). None of this runs on the packet path: the engine only reads the port maps.
 *
 * `restart` as Honeyd (subsystem.c): a program that ran at least 5 s is started again at once;
 * one that died sooner waits `subsystemRestartDelayMs`, doubled per quick death up to
 * `subsystemMaxRestartDelayMs`. At most `maxSubsystemProcesses` programs run.
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, watch, type FSWatcher } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Limits, SubsystemSpec, TemplateConfig } from '../../config/types';
import type { EventSink, SubsystemEvent } from '../../events/event';
import type { DecoyHost } from '../../stack/decoy-table';
import type { StreamService } from '../service';
import { listenersForHost, parseListenerName, type SubsystemListener } from './listeners';
import type { SubsystemNative } from './native';
import { signalGroup, spawnContained, type ContainedProcess } from './spawner';
import { SubsystemRelayService } from './relay-service';

/** Honeyd's SUBSYSTEM_RESTART_INTERVAL: a program that lived this long is restarted at once. */
export const QUICK_DEATH_MS = 5000;
/** How long a stopping program gets after SIGTERM before SIGKILL. */
export const STOP_GRACE_MS = 2000;
const STDERR_TAIL_BYTES = 512;

/** One program to run: a subsystem of a template and the hosts it serves. */
export interface SubsystemPlan {
  template: TemplateConfig;
  spec: SubsystemSpec;
  hosts: DecoyHost[];
}

/** Every (template, subsystem) with its hosts: one plan per host, or one per template when shared. */
export function planSubsystems(templates: ReadonlyMap<string, TemplateConfig>, hosts: readonly DecoyHost[]): SubsystemPlan[] {
  const plans: SubsystemPlan[] = [];
  for (const t of templates.values()) {
    if (t.subsystems === undefined || t.subsystems.length === 0) continue;
    const own = hosts.filter((h) => h.template.name === t.name);
    if (own.length === 0) continue;
    for (const spec of t.subsystems) {
      if (spec.shared) plans.push({ template: t, spec, hosts: own });
      else for (const h of own) plans.push({ template: t, spec, hosts: [h] });
    }
  }
  return plans;
}

/** Honeyd substitutes `$ipsrc` (the honeypot's own address here) and `$date` in subsystem commands. */
export function expandSubsystemCommand(command: string, ownIp: string, now: Date): string {
  const date = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
  return command.split('$ipsrc').join(ownIp).split('$date').join(date);
}

/**
 * When a `restart` program that lived `livedMs` is started again, and the new count of quick
 * deaths in a row: at once after a run of at least QUICK_DEATH_MS (Honeyd), else after
 * `base` doubled per quick death, at most `max`.
 */
export function restartDelay(livedMs: number, quickDeaths: number, base: number, max: number): { delayMs: number; quickDeaths: number } {
  if (livedMs >= QUICK_DEATH_MS) return { delayMs: 0, quickDeaths: 0 };
  const n = quickDeaths + 1;
  return { delayMs: Math.min(max, base * 2 ** Math.min(n - 1, 30)), quickDeaths: n };
}

export interface SupervisorOptions {
  events: EventSink;
  limits: Pick<Limits, 'maxSubsystemProcesses' | 'subsystemRestartDelayMs' | 'subsystemMaxRestartDelayMs'>;
  native: SubsystemNative;
  /** uid/gid for templates without `set T uid`: Honeyd's default, nobody. */
  defaultUser: { uid: number; gid: number };
  /** Working directory of the programs (the configuration file's directory). */
  cwd: string;
}

interface ListenerEntry extends SubsystemListener {
  service: StreamService;
  /** Not opened: the template defines the port itself. */
  shadowed: boolean;
}

class Instance {
  proc: ContainedProcess | null = null;
  pid: number | undefined;
  startedAt = 0;
  quickDeaths = 0;
  restartTimer: NodeJS.Timeout | null = null;
  watcher: FSWatcher | null = null;
  listeners = new Map<string, ListenerEntry>();
  /** Bumped at each start and exit, so a directory scan that finishes late is ignored. */
  generation = 0;
  readonly uid: number;
  readonly gid: number;
  /** The command as last started (`$date` is the date of that start). */
  command: string;
  readonly addresses: string[];
  readonly explicitTcp: Set<number>;

  constructor(readonly plan: SubsystemPlan, readonly dir: string, defaultUser: { uid: number; gid: number }) {
    this.uid = plan.template.uid ?? defaultUser.uid;
    this.gid = plan.template.gid ?? defaultUser.gid;
    this.addresses = plan.hosts.map((h) => h.ipText);
    this.command = expandSubsystemCommand(plan.spec.command, this.addresses[0] ?? '0.0.0.0', new Date());
    this.explicitTcp = new Set(plan.template.ports.filter((p) => p.proto === 'tcp').map((p) => p.port));
  }
}

export class SubsystemSupervisor {
  private readonly instances: Instance[] = [];
  private readonly byHost = new Map<DecoyHost, Instance[]>();
  private root: string | null = null;
  private stopping = false;
  private running = 0;
  private stoppedResolve: (() => void) | null = null;

  constructor(private readonly plans: readonly SubsystemPlan[], private readonly opts: SupervisorOptions) {}

  get planned(): number { return this.plans.length; }

  /** Creates the directories and starts every program (within `maxSubsystemProcesses`). */
  start(): void {
    if (this.plans.length === 0) return;
    const limit = this.opts.limits.maxSubsystemProcesses;
    if (this.plans.length > limit) {
      this.error(`${this.plans.length} subsystem programs are configured but limits.maxSubsystemProcesses is ${limit}: ${this.plans.length - limit} are not started`);
    }
    this.root = mkdtempSync(join(tmpdir(), 'decoyd-subsystems-'));
    // Programs run as other users: they may pass through the root to their own directory only.
    chmodSync(this.root, 0o711);
    this.plans.slice(0, limit).forEach((plan, i) => {
      const dir = join(this.root as string, String(i));
      const inst = new Instance(plan, dir, this.opts.defaultUser);
      mkdirSync(dir, { mode: 0o700 });
      chownSync(dir, inst.uid, inst.gid);
      this.instances.push(inst);
      for (const h of plan.hosts) {
        const list = this.byHost.get(h) ?? [];
        list.push(inst);
        this.byHost.set(h, list);
      }
      this.launch(inst);
    });
  }

  /** SIGTERM to every program, SIGKILL after STOP_GRACE_MS; resolves when all have exited. */
  stop(): Promise<void> {
    this.stopping = true;
    for (const inst of this.instances) {
      if (inst.restartTimer !== null) clearTimeout(inst.restartTimer);
      inst.restartTimer = null;
      if (inst.pid !== undefined) signalGroup(inst.pid, 'SIGTERM');
    }
    const done = new Promise<void>((resolve) => {
      if (this.running === 0) resolve();
      else this.stoppedResolve = resolve;
    });
    const kill = setTimeout(() => {
      for (const inst of this.instances) if (inst.pid !== undefined) signalGroup(inst.pid, 'SIGKILL');
    }, STOP_GRACE_MS);
    kill.unref();
    return done.then(() => {
      clearTimeout(kill);
      for (const inst of this.instances) inst.watcher?.close();
      if (this.root !== null) rmSync(this.root, { recursive: true, force: true });
      this.root = null;
    });
  }

  private launch(inst: Instance): void {
    inst.generation++;
    inst.command = expandSubsystemCommand(inst.plan.spec.command, inst.addresses[0] ?? '0.0.0.0', new Date());
    clearDir(inst.dir);
    const proc = spawnContained({
      native: this.opts.native, command: inst.command, uid: inst.uid, gid: inst.gid, cwd: this.opts.cwd,
      env: { DECOYD_SUBSYSTEM_DIR: inst.dir, DECOYD_SUBSYSTEM_ADDRS: inst.addresses.join(',') },
      stderrTailBytes: STDERR_TAIL_BYTES,
    });
    inst.proc = proc;
    inst.pid = proc.child.pid;
    inst.startedAt = Date.now();
    this.running++;
    let exited = false;
    const onExit = (code: number | null, signal: NodeJS.Signals | null, why?: string): void => {
      if (exited) return;
      exited = true;
      this.running--;
      this.exited(inst, code, signal, why ?? proc.stderrTail().trim().split('\n').pop());
    };
    proc.child.once('exit', (code, signal) => onExit(code, signal));
    proc.child.once('error', (err) => onExit(null, null, err.message));
    if (inst.watcher === null) {
      try {
        inst.watcher = watch(inst.dir, () => this.rescan(inst));
        inst.watcher.on('error', () => {});
      } catch (err) {
        this.error(`subsystem of ${inst.plan.template.name}: cannot watch ${inst.dir}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    this.emit(inst, { kind: 'subsystem.start', pid: inst.pid, uid: inst.uid, gid: inst.gid });
    this.rescan(inst);
  }

  private exited(inst: Instance, code: number | null, signal: NodeJS.Signals | null, why: string | undefined): void {
    inst.generation++;
    inst.proc = null;
    const pid = inst.pid;
    inst.pid = undefined;
    // The shell is gone: whatever it left in the program's process group goes with it.
    if (pid !== undefined) signalGroup(pid, 'SIGKILL');
    this.applyListeners(inst, new Map(), pid);
    clearDir(inst.dir);
    let restartInMs: number | undefined;
    if (!this.stopping && inst.plan.spec.restart) {
      const { subsystemRestartDelayMs: base, subsystemMaxRestartDelayMs: max } = this.opts.limits;
      const next = restartDelay(Date.now() - inst.startedAt, inst.quickDeaths, base, max);
      inst.quickDeaths = next.quickDeaths;
      restartInMs = next.delayMs;
      inst.restartTimer = setTimeout(() => {
        inst.restartTimer = null;
        if (!this.stopping) this.launch(inst);
      }, restartInMs);
    }
    this.emit(inst, {
      kind: 'subsystem.exit', pid, exitCode: code ?? undefined, signal: signal ?? undefined, restartInMs,
      reason: why === undefined || why === '' ? undefined : why.slice(0, 300),
    });
    if (this.running === 0 && this.stoppedResolve !== null) this.stoppedResolve();
  }

  /** Reads the program's directory (asynchronously: never on the packet path) and applies what it lists. */
  private rescan(inst: Instance): void {
    const generation = inst.generation;
    readdir(inst.dir).then((names) => {
      if (inst.generation !== generation || inst.proc === null) return;
      const found = new Map<string, ListenerEntry>();
      for (const name of names) {
        const l = parseListenerName(name);
        if (l === null) continue;
        const known = inst.listeners.get(name);
        found.set(name, known ?? { ...l, service: new SubsystemRelayService(join(inst.dir, name)), shadowed: inst.explicitTcp.has(l.port) });
      }
      this.applyListeners(inst, found, inst.pid);
    }, () => {});
  }

  private applyListeners(inst: Instance, now: Map<string, ListenerEntry>, pid: number | undefined): void {
    const before = inst.listeners;
    inst.listeners = now;
    for (const [name, l] of now) {
      if (before.has(name)) continue;
      this.emit(inst, {
        kind: 'subsystem.listen', pid, port: l.port, boundAddress: l.address,
        reason: l.shadowed ? `the template defines tcp/${l.port} itself: its rule answers` : undefined,
      });
    }
    for (const [name, l] of before) if (!now.has(name)) this.emit(inst, { kind: 'subsystem.unlisten', pid, port: l.port, boundAddress: l.address });
    for (const host of inst.plan.hosts) this.refreshHost(host);
  }

  /** A host's ports are the union of what all its programs listen on (first program first). */
  private refreshHost(host: DecoyHost): void {
    const ports = new Map<number, StreamService>();
    for (const inst of this.byHost.get(host) ?? []) {
      const open = [...inst.listeners.values()].filter((l) => !l.shadowed);
      for (const [port, l] of listenersForHost(open, host.ipText)) if (!ports.has(port)) ports.set(port, l.service);
    }
    host.subsystemPorts = ports.size === 0 ? null : ports;
  }

  private emit(inst: Instance, e: Omit<SubsystemEvent, 'time' | 'template' | 'command' | 'addresses'>): void {
    if (!this.opts.events.wants(e.kind)) return;
    this.opts.events.emit({ ...e, time: Date.now(), template: inst.plan.template.name, command: inst.command, addresses: inst.addresses } as SubsystemEvent);
  }

  private error(message: string): void {
    this.opts.events.emit({ kind: 'daemon.error', time: Date.now(), message });
  }
}

/** Removes what a previous run of the program left (its sockets). */
function clearDir(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) rmSync(join(dir, n), { force: true });
}
