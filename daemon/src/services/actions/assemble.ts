/**
 * Builds the action runtime for a configuration: the script broker only when some template runs
 * a script, the proxy's allow-list, the tarpit's bounds.
 */
import { dirname, resolve as resolvePath } from 'node:path';
import type { DecoydConfig, ServiceSpec } from '../../config/types';
import type { EventSink } from '../../events/event';
import { DEFAULT_SUBSYSTEM_USER, passwdUser } from '../subsystem/users';
import { findScriptBroker, ScriptBroker } from './broker';
import { isAction, type ActionRuntime } from './runtime';
import { ScriptRunner } from './script-runner';
import { TarpitBounds } from './tarpit-service';

export interface ActionsHandle {
  runtime: ActionRuntime;
  /** Starts the broker (needs root): before `--user` drops privileges. Idempotent. */
  prepare(): void;
  stop(): void;
}

function kinds(spec: ServiceSpec | undefined, out: Set<string>): void {
  if (!isAction(spec)) return;
  out.add(spec.kind);
  if (spec.kind === 'tarpit') kinds(spec.inner, out);
}

/** Which action kinds the configuration uses. */
export function actionKinds(cfg: Pick<DecoydConfig, 'templates'>): Set<string> {
  const out = new Set<string>();
  for (const t of cfg.templates.values()) {
    for (const p of t.ports) kinds(p.service, out);
    kinds(t.defaultServices?.tcp, out);
    kinds(t.defaultServices?.udp, out);
  }
  return out;
}

export function buildActionRuntime(cfg: DecoydConfig, events: EventSink, interfaceName: string | undefined): ActionsHandle | null {
  const used = actionKinds(cfg);
  if (used.size === 0) return null;
  let broker: ScriptBroker | null = null;
  let runner: ScriptRunner | null = null;
  if (used.has('script')) {
    let binary: string | undefined;
    try {
      binary = findScriptBroker();
    } catch (err) {
      events.emit({ kind: 'daemon.error', time: Date.now(), message: `scripts will not run: the script broker is not built (${err instanceof Error ? err.message : String(err)}; run npm run build with a C compiler)` });
    }
    if (binary !== undefined) {
      broker = new ScriptBroker(binary, (message) => events.emit({ kind: 'daemon.error', time: Date.now(), message: `scripts: ${message}` }));
      runner = new ScriptRunner({
        broker, events, limits: cfg.limits, defaultUser: passwdUser(DEFAULT_SUBSYSTEM_USER), cwd: dirname(resolvePath(cfg.source)),
        ...(interfaceName !== undefined ? { interfaceName } : {}),
        // Hosts on dynamic templates are Honeyd's NAME_n_T children, not named after their address.
        boundAddresses: new Set(cfg.hosts.filter((h) => cfg.templates.get(h.template)?.dynamic !== true).map((h) => h.address)),
      });
    }
  }
  const runtime: ActionRuntime = {
    events,
    runner,
    proxy: { events, allow: cfg.proxyAllow, limits: cfg.limits, open: 0 },
    tarpit: new TarpitBounds(cfg.limits),
  };
  return { runtime, prepare: () => broker?.prepare(), stop: () => broker?.stop() };
}
