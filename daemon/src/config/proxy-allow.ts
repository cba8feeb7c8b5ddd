/**
 * The egress allow-list of Honeyd `proxy` actions (`proxy_allow:` in YAML, `option decoyd
 * proxy_allow ENTRY` in Honeyd files): decoyd connects nowhere that is not listed. Checked at load
 * for every proxy target (an error naming the action's file:line) and again per connection after
 * `$variable` expansion. A `$ipsrc` target (Honeyd's reflect-the-attacker form) passes only with an
 * explicit `$ipsrc:PORT` entry; an address range never covers it.
 */
import { parseIp } from '../wire/address';
import type { ProxyAllowEntry } from './types';

const ENTRY = /^(\$ipsrc|\$ipdst|\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2}))?:(\*|\d{1,5})(?:-(\d{1,5}))?$/;

/** `ADDRESS[/PREFIX]:PORT|LOW-HIGH|*` or `$ipsrc:…` / `$ipdst:…`; a sentence when it is not one. */
export function parseProxyAllow(text: string, origin: string): ProxyAllowEntry | string {
  const m = ENTRY.exec(text.trim());
  const form = 'expected ADDRESS[/PREFIX]:PORT (PORT may be LOW-HIGH or *), or $ipsrc:PORT';
  if (m === null) return `bad proxy_allow entry "${text}": ${form}`;
  const [, hostText, prefixText, portText, highText] = m as unknown as [string, string, string | undefined, string, string | undefined];
  let portLow = 1;
  let portHigh = 65535;
  if (portText !== '*') {
    portLow = Number(portText);
    portHigh = highText === undefined ? portLow : Number(highText);
    if (portLow < 1 || portHigh > 65535 || portLow > portHigh) return `bad proxy_allow entry "${text}": ports must be 1-65535, low before high`;
  } else if (highText !== undefined) return `bad proxy_allow entry "${text}": ${form}`;
  if (hostText === '$ipsrc' || hostText === '$ipdst') {
    if (prefixText !== undefined) return `bad proxy_allow entry "${text}": ${hostText} takes no prefix`;
    return { host: { kind: 'var', name: hostText }, portLow, portHigh, text, origin };
  }
  const ip = parseIp(hostText);
  if (ip < 0) return `bad proxy_allow entry "${text}": "${hostText}" is not an IPv4 address`;
  const prefix = prefixText === undefined ? 32 : Number(prefixText);
  if (prefix > 32) return `bad proxy_allow entry "${text}": prefix must be 0-32`;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { host: { kind: 'cidr', network: (ip & mask) >>> 0, mask }, portLow, portHigh, text, origin };
}

/** A proxy target split: host is an address or a Honeyd variable, port a number or a variable. */
export interface ProxyTargetParts {
  host: string;
  port: string;
}

export function splitProxyTarget(target: string): ProxyTargetParts {
  const i = target.lastIndexOf(':');
  return { host: target.slice(0, i), port: target.slice(i + 1) };
}

function portCovered(e: ProxyAllowEntry, port: number | undefined): boolean {
  // A port known only per connection ($sport) needs an entry for every port.
  if (port === undefined) return e.portLow === 1 && e.portHigh === 65535;
  return port >= e.portLow && port <= e.portHigh;
}

/**
 * Whether `host` (an address, or `$ipsrc`/`$ipdst`) and `port` (undefined: not known before the
 * connection) may be connected to.
 */
export function proxyAllowed(allow: readonly ProxyAllowEntry[] | undefined, host: string, port: number | undefined): boolean {
  if (allow === undefined) return false;
  const isVar = host === '$ipsrc' || host === '$ipdst';
  const ip = isVar ? -1 : parseIp(host);
  for (const e of allow) {
    if (!portCovered(e, port)) continue;
    if (e.host.kind === 'var') {
      if (isVar && e.host.name === host) return true;
    } else if (ip >= 0 && ((ip & e.host.mask) >>> 0) === e.host.network) return true;
  }
  return false;
}

/**
 * What is wrong with a proxy target at load time, or undefined. `rulePort` is the port of the rule
 * (`$dport` is known there); undefined for a default action.
 */
export function proxyTargetProblem(target: string, rulePort: number | undefined, allow: readonly ProxyAllowEntry[] | undefined): string | undefined {
  const { host, port } = splitProxyTarget(target);
  if (host !== '$ipsrc' && host !== '$ipdst' && parseIp(host) < 0) {
    return `proxy target "${target}": decoyd resolves no host names and knows no variable "${host}"; write an address, $ipsrc or $ipdst`;
  }
  let portNumber: number | undefined;
  if (/^\d+$/.test(port)) portNumber = Number(port);
  else if (port === '$dport') portNumber = rulePort;
  else if (port !== '$sport') return `proxy target "${target}": the port must be a number, $dport or $sport`;
  if (proxyAllowed(allow, host, portNumber)) return undefined;
  const hint = host === '$ipsrc'
    ? 'connecting back to the attacker needs an explicit "$ipsrc:PORT" entry'
    : 'add it to proxy_allow (YAML) or "option decoyd proxy_allow ADDRESS:PORT" (Honeyd syntax) if it is meant';
  return `proxy target "${target}" is not in the proxy allow-list: ${hint}`;
}
