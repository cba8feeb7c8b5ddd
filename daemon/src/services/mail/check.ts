/**
 * Load-time check of an FTP/SMTP/POP3/IMAP emulator: its greeting, read by nmap's NULL probe
 * rules in nmap's order, must make nmap print the configured product (and version, when one is
 * configured and the rule prints one).
 */
import type { ServiceSpec } from '../../config/types';
import { firstMatch, matchChain, versionInfo } from '../probes/matcher';
import type { ServiceProbeFile } from '../probes/service-probes';
import type { StreamContext } from '../service';
import { LineStreamService } from './mail-service';

type LineSpec = Extract<ServiceSpec, { kind: 'line' }>;

/** The greeting the emulator sends a host of the check, and what nmap prints for it. */
export function lineNmapNames(file: ServiceProbeFile, port: number, spec: LineSpec): { product?: string; version?: string; line?: number; greeting: string } {
  const svc = new LineStreamService({ protocol: spec.protocol, identity: { ...spec.identity, tls: false }, options: { ...spec.options, starttls: spec.options.starttls }, events: { wants: () => false, emit: () => {} }, deploymentSeed: 1, templateName: 'check', port, noCertificates: true });
  let greeting = '';
  const ctx: StreamContext = {
    local: { address: '192.0.2.1', port }, remote: { address: '192.0.2.2', port: 40000 },
    write: (d) => { greeting += typeof d === 'string' ? d : d.toString('latin1'); return true; },
    end: () => {}, reset: () => {},
  };
  svc.open(ctx).onClose();
  const probe = file.probes.find((p) => p.name === 'NULL' && p.proto === 'tcp');
  if (probe === undefined) return { greeting };
  const hit = firstMatch(matchChain(file, probe), greeting);
  if (hit === undefined) return { greeting };
  const info = versionInfo(hit);
  return { ...(info.p !== undefined ? { product: info.p } : {}), ...(info.v !== undefined ? { version: info.v } : {}), line: hit.rule.line, greeting };
}

export function lineIdentityProblem(file: ServiceProbeFile, port: number, spec: LineSpec): string | undefined {
  const got = lineNmapNames(file, port, spec);
  const want = spec.identity;
  if (got.product === want.product && (want.version === undefined || got.version === undefined || got.version === want.version)) return undefined;
  const printed = got.product === undefined ? 'no rule matches it' : `nmap would print "${got.product}"${got.version === undefined ? '' : ' ' + got.version} (rule at line ${got.line})`;
  return `the ${spec.protocol} emulator's greeting for "${want.product}"${want.version === undefined ? '' : ' ' + want.version} on tcp/${port} (${JSON.stringify(got.greeting.slice(0, 80))}): ${printed}`;
}
