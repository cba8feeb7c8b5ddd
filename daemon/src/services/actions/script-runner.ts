/**
 * What every script run shares: the broker, the bounds (scripts per template and in all, wall
 * time, output, memory, fds) and the template's user. One runner per daemon.
 */
import type { Limits, TemplateConfig } from '../../config/types';
import type { EventSink, ServiceActionEvent } from '../../events/event';
import type { Endpoint } from '../service';
import type { ScriptBroker, ScriptRequest } from './broker';
import { expandCommand, scriptEnvironment, splitCommand } from './command';

/** Honeyd's default RLIMIT_NOFILE for scripts (`set T maxfds`). */
export const DEFAULT_MAXFDS = 30;
/** Refused-run events per template at most once per this many ms (a flood is one event with a count). */
const REFUSAL_REPORT_MS = 1000;

export type ActionLimits = Pick<Limits, 'maxScriptsPerTemplate' | 'maxScripts' | 'scriptTimeoutSeconds' | 'scriptMaxOutputBytes' | 'scriptMemoryBytes'>;

export interface ScriptRunnerOptions {
  broker: ScriptBroker;
  events: EventSink;
  limits: ActionLimits;
  /** uid/gid for templates without `set T uid`: Honeyd's default, nobody. */
  defaultUser: { uid: number; gid: number };
  /** Working directory of the scripts (the configuration file's directory, as Honeyd's cwd). */
  cwd: string;
  interfaceName?: string;
  /**
   * Addresses bound to a template with `bind IP T`: Honeyd 1.6d names such a host's template after
   * its address (HONEYD_TEMPLATE_NAME=IP); other hosts keep the template's own name.
   */
  boundAddresses?: ReadonlySet<string>;
}

export interface PreparedRun {
  request: ScriptRequest;
  /** The command as run (argv joined by spaces), for events. */
  commandLine: string;
}

export class ScriptRunner {
  private readonly perTemplate = new Map<string, number>();
  private total = 0;
  private readonly refusals = new Map<string, { since: number; count: number }>();

  /** The peer's passive OS guess by address (set by the daemon when it fingerprints SYNs). */
  remoteOs: ((address: string) => string | undefined) | null = null;

  constructor(readonly options: ScriptRunnerOptions) {}

  get broker(): ScriptBroker { return this.options.broker; }
  get events(): EventSink { return this.options.events; }
  get limits(): ActionLimits { return this.options.limits; }

  /** Scripts running now (for tests and metrics). */
  get running(): number { return this.total; }

  /** Takes a process slot for the template, or says no (the caller reports it through `refused`). */
  acquire(template: string): boolean {
    const n = this.perTemplate.get(template) ?? 0;
    if (n >= this.limits.maxScriptsPerTemplate || this.total >= this.limits.maxScripts) return false;
    this.perTemplate.set(template, n + 1);
    this.total++;
    return true;
  }

  release(template: string): void {
    const n = (this.perTemplate.get(template) ?? 1) - 1;
    if (n <= 0) this.perTemplate.delete(template);
    else this.perTemplate.set(template, n);
    this.total = Math.max(0, this.total - 1);
  }

  /** A run refused for the process bound: one `script.limit` per template and second, with the count. */
  refused(base: Omit<ServiceActionEvent, 'kind' | 'time'>, command: string, now = Date.now()): void {
    const key = base.template ?? '';
    const r = this.refusals.get(key);
    if (r !== undefined && now - r.since < REFUSAL_REPORT_MS) { r.count++; return; }
    const before = r?.count ?? 0;
    this.refusals.set(key, { since: now, count: 0 });
    const bound = `${this.limits.maxScriptsPerTemplate} per template, ${this.limits.maxScripts} in all`;
    this.events.emit({
      ...base, kind: 'script.limit', time: now, command, limit: 'processes',
      reason: `process bound reached (${bound}); not started${before > 0 ? `; ${before} more refused in the last second` : ''}`,
    });
  }

  /** argv, environment, user and rlimits of one run; null when the command expands to nothing. */
  prepare(template: TemplateConfig | undefined, templateName: string, command: string, remote: Endpoint, local: Endpoint): PreparedRun | null {
    const argv = splitCommand(expandCommand(command, remote, local, new Date()));
    if (argv.length === 0) return null;
    const remoteOs = this.remoteOs?.(remote.address);
    const env = scriptEnvironment({
      remote, local, templateName: this.options.boundAddresses?.has(local.address) === true ? local.address : templateName,
      ...(remoteOs !== undefined ? { remoteOs } : {}),
      ...(template?.personality !== undefined ? { personality: template.personality } : {}),
      ...(this.options.interfaceName !== undefined ? { interfaceName: this.options.interfaceName } : {}),
    });
    const uid = template?.uid ?? this.options.defaultUser.uid;
    const gid = template?.gid ?? this.options.defaultUser.gid;
    return {
      request: { argv, env, uid, gid, maxfds: template?.maxfds ?? DEFAULT_MAXFDS, memoryBytes: this.limits.scriptMemoryBytes, cwd: this.options.cwd },
      commandLine: argv.join(' '),
    };
  }
}

/** Best effort: the messages a script's runtime prints when RLIMIT_AS refuses it memory. */
export function looksOutOfMemory(stderrTail: string): boolean {
  return /MemoryError|Cannot allocate memory|out of memory|std::bad_alloc|memory exhausted/i.test(stderrTail);
}
