/**
 * The per-deployment seed mixed into every identity's fillers. Configured (`service_seed`) when an
 * operator wants it pinned; otherwise derived from this machine (machine-id, host name), so the
 * same install keeps its banners across restarts and two installs differ.
 */

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { hashString } from '../../personality/model/prng';

export function deploymentSeed(configured?: string): number {
  if (configured !== undefined) return hashString(configured, 0x5eed);
  let machine = '';
  for (const file of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      machine = readFileSync(file, 'utf8').trim();
      if (machine !== '') break;
    } catch {
      // not present on this system: try the next source
    }
  }
  return hashString(`${machine}\u0000${hostname()}`, 0x5eed);
}
