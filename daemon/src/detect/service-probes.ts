/**
 * The TCP probe strings of Nmap's version detection, read at run time from the installed
 * `nmap-service-probes` (service_scan.cc sends each `Probe TCP <name> q|…|` string as the first
 * data on a fresh connection). A segment whose payload is exactly one of them is a version probe.
 */
import { readFileSync } from 'node:fs';
import type { PacketObservation } from './observation';
import { OBSERVED_PAYLOAD_BYTES } from './observation';

export const DEFAULT_SERVICE_PROBES_FILE = '/usr/share/nmap/nmap-service-probes';

export interface ServiceProbe {
  name: string;
  bytes: Buffer;
}

export class ServiceProbeTable {
  /** Probes by their first byte, so a payload is compared with a handful of candidates at most. */
  private readonly byFirstByte: ServiceProbe[][] = Array.from({ length: 256 }, () => []);
  readonly probes: ServiceProbe[] = [];

  constructor(probes: readonly ServiceProbe[]) {
    for (const p of probes) {
      if (p.bytes.length === 0) continue; // the NULL probe sends nothing
      this.probes.push(p);
      (this.byFirstByte[p.bytes[0] as number] as ServiceProbe[]).push(p);
    }
  }

  /** Index into `probes` of the probe `obs`'s payload is exactly, or -1. O(candidates × 64 bytes). */
  match(obs: PacketObservation): number {
    const len = obs.payloadLength;
    if (len === 0) return -1;
    const candidates = this.byFirstByte[obs.payload[0] as number] as ServiceProbe[];
    for (const p of candidates) {
      if (p.bytes.length !== len) continue;
      const n = len < OBSERVED_PAYLOAD_BYTES ? len : OBSERVED_PAYLOAD_BYTES;
      let same = true;
      for (let i = 0; i < n; i++) {
        if (p.bytes[i] !== obs.payload[i]) { same = false; break; }
      }
      if (same) return this.probes.indexOf(p);
    }
    return -1;
  }

  /**
   * Only the `Probe TCP` lines are decoded: the file is 2.5 MB of mostly match lines, and turning all
   * of it into strings would leave megabytes of garbage on the heap just as the first scans arrive.
   */
  static parse(data: Buffer): ServiceProbeTable {
    const probes: ServiceProbe[] = [];
    const marker = Buffer.from('Probe TCP ', 'latin1');
    for (let at = data.indexOf(marker); at >= 0; at = data.indexOf(marker, at + 1)) {
      if (at > 0 && data[at - 1] !== 0x0a) continue; // not at a line start
      let end = data.indexOf(0x0a, at);
      if (end < 0) end = data.length;
      const m = /^Probe TCP (\S+) q\|(.*)\|/.exec(data.toString('latin1', at, end));
      if (m !== null) probes.push({ name: m[1] as string, bytes: unescapeProbe(m[2] as string) });
    }
    return new ServiceProbeTable(probes);
  }

  /** Reads the file (throws when it cannot be read). */
  static load(file = DEFAULT_SERVICE_PROBES_FILE): ServiceProbeTable {
    return ServiceProbeTable.parse(readFileSync(file));
  }
}

const SIMPLE_ESCAPES: Record<string, number> = { '0': 0, a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, '|': 124 };

/** nmap-service-probes string escapes (service_scan.cc cstring_unescape): \0 \a \b \f \n \r \t \v \\ \| \xHH. */
export function unescapeProbe(text: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c !== '\\' || i + 1 >= text.length) { out.push(c.charCodeAt(0) & 0xff); continue; }
    const e = text[i + 1] as string;
    if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
      out.push(parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (SIMPLE_ESCAPES[e] !== undefined) {
      out.push(SIMPLE_ESCAPES[e] as number);
      i += 1;
    } else {
      out.push(e.charCodeAt(0) & 0xff);
      i += 1;
    }
  }
  return Buffer.from(out);
}
