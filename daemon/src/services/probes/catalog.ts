/**
 * One parsed nmap-service-probes per file path, shared by config validation, services and the CLI
 * (parsing takes ~40 ms; regexes compile lazily per rule).
 */

import { DEFAULT_SERVICE_PROBES_FILE, loadServiceProbes, type ServiceProbeFile } from './service-probes';

const loaded = new Map<string, ServiceProbeFile>();

export function serviceProbes(file = DEFAULT_SERVICE_PROBES_FILE): ServiceProbeFile {
  let f = loaded.get(file);
  if (f === undefined) {
    f = loadServiceProbes(file);
    loaded.set(file, f);
  }
  return f;
}
