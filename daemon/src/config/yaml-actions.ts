/**
 * YAML forms of Honeyd's service actions (README "Honeyd service actions"):
 *   service: { script: "sh scripts/web.sh $ipsrc $dport" }
 *   service: { proxy: "192.0.2.10:80" }            (or "$ipsrc:23")
 *   service: tarpit | { tarpit: true } | { tarpit: { script: "…" } } | { tarpit: { proxy: "…" } }
 * template keys `maxfds: N` and `default_service: { tcp: SERVICE, udp: SERVICE }`, and the
 * top-level `proxy_allow: [ "192.0.2.10:80", "198.51.100.0/24:*", "$ipsrc:23" ]`.
 */
import { parseProxyAllow } from './proxy-allow';
import type { ProxyAllowEntry, ServiceSpec } from './types';
import type { KeyPath } from './yaml-positions';
import type { YamlReader } from './yaml-reader';

const PROXY_TARGET = /^(\$ipsrc|\$ipdst|\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5}|\$dport|\$sport)$/;

/** Whether `value` is one of the action forms (so readService hands it here). */
export function isActionValue(value: unknown): boolean {
  if (value === 'tarpit') return true;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  return 'script' in value || 'proxy' in value || 'tarpit' in value;
}

export function readActionService(r: YamlReader, at: KeyPath, value: unknown): ServiceSpec | undefined {
  if (value === 'tarpit') return { kind: 'tarpit' };
  const m = r.mapping(value, at, ['script', 'proxy', 'tarpit']);
  if (!m) return undefined;
  const keys = Object.keys(m);
  if (keys.length !== 1) {
    r.error(at, 'expected exactly one of script, proxy, tarpit');
    return undefined;
  }
  if (m.script !== undefined) {
    const command = r.string(m.script, [...at, 'script']);
    if (command === undefined) return undefined;
    if (command.trim() === '') { r.error([...at, 'script'], 'expected a command'); return undefined; }
    return { kind: 'script', command };
  }
  if (m.proxy !== undefined) {
    const target = r.string(m.proxy, [...at, 'proxy']);
    if (target === undefined) return undefined;
    const t = PROXY_TARGET.exec(target);
    if (t === null || (/^\d+$/.test(t[2] as string) && (Number(t[2]) < 1 || Number(t[2]) > 65535))) {
      r.error([...at, 'proxy'], `expected ADDRESS:PORT, $ipsrc:PORT or ADDRESS:$dport, got "${target}"`);
      return undefined;
    }
    const pos = r.located([...at, 'proxy']).pos;
    return { kind: 'proxy', target, at: pos };
  }
  if (m.tarpit === true) return { kind: 'tarpit' };
  if (m.tarpit === false) { r.error([...at, 'tarpit'], 'tarpit: false means nothing; leave the service out'); return undefined; }
  const inner = readActionService(r, [...at, 'tarpit'], m.tarpit);
  if (inner === undefined) return undefined;
  if (inner.kind === 'tarpit') { r.error([...at, 'tarpit'], 'a tarpit inside a tarpit'); return undefined; }
  return { kind: 'tarpit', inner };
}

export function readProxyAllow(r: YamlReader, value: unknown): ProxyAllowEntry[] {
  const out: ProxyAllowEntry[] = [];
  r.list(value, ['proxy_allow'])?.forEach((entry, i) => {
    const at: KeyPath = ['proxy_allow', i];
    const text = typeof entry === 'number' ? String(entry) : r.string(entry, at);
    if (text === undefined) return;
    const pos = r.located(at).pos;
    const parsed = parseProxyAllow(text, `${pos.file}:${pos.line}`);
    if (typeof parsed === 'string') r.error(at, parsed);
    else out.push(parsed);
  });
  return out;
}
