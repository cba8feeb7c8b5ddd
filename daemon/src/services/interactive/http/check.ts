/**
 * Load-time check of an `emulate: http` port: the answer nmap's GetRequest gets (the configured
 * `/`, or the product's default index) must make nmap print exactly the configured product and
 * version, judged by the installed nmap-service-probes rules in nmap's match order.
 */

import type { HttpOptions } from '../../../config/http-options';
import type { ServiceIdentitySpec } from '../../../config/types';
import { firstMatch, matchChain, versionInfo } from '../../probes/matcher';
import type { ServiceProbeFile } from '../../probes/service-probes';
import type { StreamContext } from '../../service';
import { HttpStreamService } from './http-service';

/** What nmap would print for the GetRequest answer of this service on `port`. */
export function httpNmapNames(file: ServiceProbeFile, port: number, identity: ServiceIdentitySpec, http: HttpOptions): { product?: string; version?: string; line?: number; response: string } {
  const probe = file.probes.find((p) => p.name === 'GetRequest' && p.proto === 'tcp');
  const svc = new HttpStreamService({ identity: { ...identity, tls: false }, http: { ...http, pagesDir: undefined }, port, templateName: 'check', deploymentSeed: 1, events: { wants: () => false, emit: () => {} } });
  let response = '';
  const ctx: StreamContext = {
    local: { address: '192.0.2.1', port }, remote: { address: '192.0.2.2', port: 40000 },
    write: (d) => { response += typeof d === 'string' ? d : d.toString('latin1'); return true; },
    end: () => {}, reset: () => {},
  };
  const session = svc.open(ctx);
  session.onData(Buffer.from(probe?.payload ?? 'GET / HTTP/1.0\r\n\r\n', 'latin1'));
  session.onClose();
  if (probe === undefined) return { response };
  const hit = firstMatch(matchChain(file, probe), response);
  if (hit === undefined) return { response };
  const info = versionInfo(hit);
  return { ...(info.p !== undefined ? { product: info.p } : {}), ...(info.v !== undefined ? { version: info.v } : {}), line: hit.rule.line, response };
}

/** A config error when nmap would not print the configured product and version, else undefined. */
export function httpIdentityProblem(file: ServiceProbeFile, port: number, identity: ServiceIdentitySpec, http: HttpOptions): string | undefined {
  const got = httpNmapNames(file, port, identity, http);
  if (got.product === identity.product && got.version === identity.version) return undefined;
  const printed = got.product === undefined ? 'no rule matches it' : `nmap would print "${got.product}"${got.version === undefined ? '' : ' ' + got.version} (rule at line ${got.line})`;
  return `the HTTP emulator's answer to nmap's GetRequest for "${identity.product}"${identity.version === undefined ? '' : ' ' + identity.version} on tcp/${port}: ${printed}; check the version form and the "/" page's status and headers`;
}
