/**
 * Load-time checks of Honeyd service actions: every `proxy` target must be in the egress
 * allow-list (config/proxy-allow.ts). The error names the file and line of the action.
 */
import type { IssueList } from './errors';
import type { ParsedConfig } from './model';
import { proxyTargetProblem } from './proxy-allow';
import type { ServiceSpec } from './types';

function proxyOf(spec: ServiceSpec | undefined): Extract<ServiceSpec, { kind: 'proxy' }> | undefined {
  if (spec === undefined) return undefined;
  if (spec.kind === 'proxy') return spec;
  if (spec.kind === 'tarpit') return proxyOf(spec.inner);
  return undefined;
}

export function checkProxyTargets(parsed: ParsedConfig, issues: IssueList): void {
  const { config, origins } = parsed;
  // Bound copies of a template repeat its rules: one error per action.
  const said = new Set<string>();
  const check = (templateName: string, spec: ServiceSpec | undefined, rulePort: number | undefined, key: string): void => {
    const proxy = proxyOf(spec);
    if (proxy === undefined) return;
    const problem = proxyTargetProblem(proxy.target, rulePort, config.proxyAllow);
    if (problem === undefined) return;
    const at = origins.services.get(`${templateName}\u0000${key}`) ?? origins.templates.get(templateName);
    const pos = proxy.at ?? at?.pos ?? { file: config.source, line: 1 };
    const id = `${pos.file}:${pos.line}:${problem}`;
    if (said.has(id)) return;
    said.add(id);
    issues.add(pos, problem, proxy.at === undefined ? at?.keyPath : undefined);
  };
  for (const t of config.templates.values()) {
    for (const rule of t.ports) check(t.name, rule.service, rule.port, `${rule.proto}/${rule.port}`);
    check(t.name, t.defaultServices?.tcp, undefined, 'default/tcp');
    check(t.name, t.defaultServices?.udp, undefined, 'default/udp');
  }
}
