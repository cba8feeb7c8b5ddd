/**
 * What the DNS and SNMP responders share: settings, a per-source answer budget (bounded table,
 * reset every second, as BIND's rate-limit and a busy agent behave), and the event for one query.
 */
import type { ServiceIdentitySpec } from '../../config/types';
import type { EventSink, ServiceSessionEvent } from '../../events/event';
import type { OsClass } from '../../personality/osdb/types';
import type { DatagramService, Endpoint } from '../service';
import { excerpt } from '../interactive/session-recorder';

export interface ResponderSettings {
  identity: ServiceIdentitySpec;
  events: EventSink;
  deploymentSeed: number;
  templateName: string;
  osClass?: OsClass;
  /** Answers nmap's own probe (the identity engine's reply); tried first. */
  probeAnswer?: DatagramService;
}

/** Sources whose answer count is kept. */
const MAX_SOURCES = 4096;

export class AnswerBudget {
  private second = 0;
  private readonly counts = new Map<string, number>();
  constructor(private readonly perSecond: number) {}

  take(source: string, now = Date.now()): boolean {
    const s = Math.floor(now / 1000);
    if (s !== this.second) { this.second = s; this.counts.clear(); }
    const n = this.counts.get(source) ?? 0;
    if (n >= this.perSecond) return false;
    if (n === 0 && this.counts.size >= MAX_SOURCES) return false;
    this.counts.set(source, n + 1);
    return true;
  }
}

/** Runs nmap's probe through the identity service; true when it answered. */
export function answeredByIdentity(probe: DatagramService | undefined, data: Buffer, remote: Endpoint, local: Endpoint, reply: (d: Buffer) => void): boolean {
  if (probe === undefined) return false;
  let answered = false;
  probe.onDatagram(data, remote, local, (d) => { answered = true; reply(d); });
  return answered;
}

export function emitStep(events: EventSink, kind: 'service.request' | 'service.login', remote: Endpoint, local: Endpoint, service: string, product: string, fields: Partial<ServiceSessionEvent>): void {
  if (!events.wants(kind)) return;
  const clean: Partial<ServiceSessionEvent> = {};
  for (const [k, v] of Object.entries(fields)) (clean as Record<string, unknown>)[k] = typeof v === 'string' ? excerpt(v, 512) : v;
  events.emit({ ...clean, kind, time: Date.now(), proto: 'udp', srcIp: remote.address, srcPort: remote.port, dstIp: local.address, dstPort: local.port, service, product } as ServiceSessionEvent);
}
