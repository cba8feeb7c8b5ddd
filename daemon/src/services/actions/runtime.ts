/**
 * Everything Honeyd service actions share in one daemon (the script runner, the proxy's allow-list
 * and count, the tarpit's bounds), and the services built from a port's ServiceSpec.
 */
import type { ServiceSpec, TemplateConfig } from '../../config/types';
import type { EventSink } from '../../events/event';
import type { DatagramService, StreamService } from '../service';
import { ProxyDatagramService, ProxyStreamService, type ProxyRuntime } from './proxy-service';
import type { ScriptRunner } from './script-runner';
import { ScriptDatagramService, ScriptStreamService } from './script-service';
import { TarpitBounds, TarpitService } from './tarpit-service';

export interface ActionRuntime {
  events: EventSink;
  /** null: no broker (no template has a script, or it cannot run); script ports then close at once. */
  runner: ScriptRunner | null;
  proxy: ProxyRuntime;
  tarpit: TarpitBounds;
}

export interface ActionPort {
  templateName: string;
  template?: TemplateConfig;
}

/** Whether `spec` is one of Honeyd's actions this module runs. */
export function isAction(spec: ServiceSpec | undefined): spec is Extract<ServiceSpec, { kind: 'script' | 'proxy' | 'tarpit' }> {
  return spec?.kind === 'script' || spec?.kind === 'proxy' || spec?.kind === 'tarpit';
}

/** A closed-at-once stand-in when scripts cannot run (the broker is missing): the peer sees FIN. */
const NO_SCRIPTS: StreamService = { name: 'script', open: (ctx) => { ctx.end(); return { onData: () => {}, onEnd: () => {}, onClose: () => {} }; } };

export function actionStreamService(spec: Extract<ServiceSpec, { kind: 'script' | 'proxy' | 'tarpit' }>, rt: ActionRuntime, port: ActionPort, inner: (s: ServiceSpec) => StreamService): StreamService {
  switch (spec.kind) {
    case 'script':
      return rt.runner === null ? NO_SCRIPTS : new ScriptStreamService({ runner: rt.runner, command: spec.command, templateName: port.templateName, ...(port.template ? { template: port.template } : {}) });
    case 'proxy':
      return new ProxyStreamService(rt.proxy, spec.target, port.templateName);
    case 'tarpit': {
      const behind = spec.inner === undefined ? null : isAction(spec.inner) ? actionStreamService(spec.inner, rt, port, inner) : inner(spec.inner);
      return new TarpitService(rt.tarpit, rt.events, port.templateName, behind);
    }
  }
}

export function actionDatagramService(spec: Extract<ServiceSpec, { kind: 'script' | 'proxy' | 'tarpit' }>, rt: ActionRuntime, port: ActionPort): DatagramService | undefined {
  switch (spec.kind) {
    case 'script':
      return rt.runner === null ? undefined : new ScriptDatagramService({ runner: rt.runner, command: spec.command, templateName: port.templateName, ...(port.template ? { template: port.template } : {}) });
    case 'proxy':
      return new ProxyDatagramService(rt.proxy, spec.target, port.templateName);
    case 'tarpit':
      // Tarpit is a TCP matter; on UDP what is behind it runs as is.
      return spec.inner !== undefined && isAction(spec.inner) ? actionDatagramService(spec.inner, rt, port) : undefined;
  }
}
