/**
 * The Honeyd-syntax extension for service identities, kept apart from the grammar in honeyd.ts:
 *   add T tcp port 21 open service ftp product "ProFTPD" version "1.3.5"
 *   [info "…"] [hostname "…"] [os "…"] [devicetype "…"] [tls]
 */

import type { ServiceIdentitySpec, ServiceSpec } from './types';

/** A word or quoted string of the extension, as the parser hands it over. */
export interface IdentityToken {
  text: string;
  quoted: boolean;
}

const FIELDS = ['product', 'version', 'info', 'hostname', 'os', 'devicetype'] as const;

/** The identity after `open`, or a message; undefined when the tokens are not a `service …` form. */
export function honeydIdentity(extra: readonly IdentityToken[]): ServiceSpec | string | undefined {
  if (extra.length === 0 || extra[0].quoted || extra[0].text !== 'service') return undefined;
  const usage = 'expected: open service NAME product "PRODUCT" [version "V"] [info "…"] [hostname "…"] [os "…"] [devicetype "…"] [tls]';
  if (extra.length < 2) return usage;
  const name = extra[1].text;
  const fields: Partial<Record<(typeof FIELDS)[number], string>> = {};
  let tls = name === 'https' || name.startsWith('ssl/');
  for (let i = 2; i < extra.length; i++) {
    const key = extra[i].text;
    if (!extra[i].quoted && key === 'tls') { tls = true; continue; }
    const value = extra[i + 1];
    if (extra[i].quoted || !(FIELDS as readonly string[]).includes(key) || value === undefined || value.text === '') return usage;
    fields[key as (typeof FIELDS)[number]] = value.text;
    i++;
  }
  if (fields.product === undefined) return usage;
  const identity: ServiceIdentitySpec = { name, product: fields.product, tls };
  for (const key of FIELDS) if (key !== 'product' && fields[key] !== undefined) identity[key] = fields[key];
  return { kind: 'identity', identity };
}
