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

  private readonly byName = new Map<string, number>();
  /** `METHOD path headerCount` of the probes that are one HTTP/RTSP-style request (GetRequest, HTTPOptions, …). */
  private readonly byRequest = new Map<string, number>();

  constructor(probes: readonly ServiceProbe[]) {
    for (const p of probes) {
      if (p.bytes.length === 0) continue; // the NULL probe sends nothing
      const index = this.probes.length;
      this.probes.push(p);
      (this.byFirstByte[p.bytes[0] as number] as ServiceProbe[]).push(p);
      if (!this.byName.has(p.name)) this.byName.set(p.name, index);
      const request = requestShape(p.bytes);
      if (request !== undefined && !this.byRequest.has(request)) this.byRequest.set(request, index);
    }
  }

  /** Index of the probe named `name` (as a service.probe event names it), or -1. */
  indexOf(name: string): number {
    return this.byName.get(name) ?? -1;
  }

  /**
   * Index of the probe an interactive service's request is (service.request: method, path and
   * how many header lines came with it), or -1. `GET / HTTP/1.0` with no headers is GetRequest.
   */
  matchRequest(method: string, path: string, headerCount: number): number {
    return this.byRequest.get(`${method} ${path} ${headerCount}`) ?? -1;
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

/** `METHOD path headerCount` when the probe is one request line `METHOD path PROTO/x.y` and header lines, ending in an empty line. */
function requestShape(bytes: Buffer): string | undefined {
  const text = bytes.toString('latin1');
  if (!text.endsWith('\r\n\r\n')) return undefined;
  const lines = text.slice(0, -4).split('\r\n');
  const m = /^([A-Z]{3,10}) (\S+) [A-Z]{2,8}\/[0-9]\.[0-9]$/.exec(lines[0] as string);
  if (m === null) return undefined;
  return `${m[1] as string} ${m[2] as string} ${lines.length - 1}`;
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
