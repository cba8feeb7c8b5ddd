/**
 * Load-time check of a configured identity: can decoyd emulate it on that port? Returns a
 * message for the config error (with a "did you mean" hint for an unknown product), or undefined.
 */

import type { ServiceIdentitySpec } from '../../config/types';
import type { ServiceProbeFile } from '../probes/service-probes';
import { findCandidates, literalProducts, serviceNameOf, synthesize } from './synthesize';

/** The seed the check uses; hosts use their own, falling back to a plan that passed here. */
const CHECK_SEED = 1;

export function identityProblem(file: ServiceProbeFile, proto: 'tcp' | 'udp', port: number, spec: ServiceIdentitySpec): string | undefined {
  const what = `${spec.tls ? 'ssl/' : ''}${serviceNameOf(spec) ?? '(any service)'} "${spec.product}"${spec.version === undefined ? '' : ' ' + spec.version}`;
  const candidates = findCandidates(file, proto, port, spec);
  if (candidates.length > 0 && synthesize(file, candidates, spec, port, CHECK_SEED) !== undefined) return undefined;
  const products = literalProducts(file);
  const known = [...products.keys()];
  if (!known.includes(spec.product)) {
    const lower = spec.product.toLowerCase();
    const close = known.filter((k) => k.toLowerCase() === lower).concat(known.filter((k) => k.toLowerCase().includes(lower) && k.toLowerCase() !== lower)).slice(0, 3);
    const hint = close.length > 0 ? ` (did you mean ${close.map((c) => JSON.stringify(c)).join(', ')}?)` : ' (see `decoyd services search TEXT`)';
    if (candidates.length === 0) return `unknown product "${spec.product}" for ${proto}/${port}: no ${file.file} rule prints it${hint}`;
  }
  const rules = (products.get(spec.product) ?? []).filter((r) => r.probe.proto === proto);
  const services = [...new Set(rules.map((r) => r.service))].slice(0, 5);
  const forms = [...new Set(rules.map((r) => r.info.v).filter((v): v is string => v !== undefined))].slice(0, 4);
  const detail = rules.length === 0
    ? `no ${proto.toUpperCase()} rule prints "${spec.product}" literally`
    : `${rules.length} ${proto.toUpperCase()} rules print "${spec.product}" (services ${services.join(', ')}${forms.length > 0 ? `; version forms ${forms.map((f) => `v/${f}/`).join(' ')}` : '; none prints a version'})`;
  return `cannot emulate ${what} on ${proto}/${port}: no rule nmap would try on this port prints exactly these values and wins nmap's match order; ${detail}`;
}
