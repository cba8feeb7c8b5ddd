/**
 * RFC 5424 syslog messages carrying one ECS document each, and the two TCP framings of RFC 6587
 * (octet counting, which RFC 5425 requires over TLS, and LF-terminated "non-transparent" framing).
 *
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [origin …][meta sequenceId="N"] {"@timestamp":…}
 *
 * The MSG is the ECS document as one line of JSON (no BOM: collectors that look for JSON, e.g.
 * rsyslog's mmjsonparse or Vector's parse_json, see it from the first byte).
 */
import type { EcsDocument } from '../events/ecs';
import type { TcpFraming } from '../config/ship-settings';

/** Severity per ECS event: alerts (detected scans) at warning, errors at error, credentials and commands at notice, the rest informational. */
export function severityOf(doc: EcsDocument): number {
  const action = doc.event.action;
  if (doc.event.kind === 'alert') return 4;
  if (action === 'daemon.error') return 3;
  if (action === 'service.login' || action === 'service.command' || action === 'service.message' || action === 'arp.conflict' || action === 'script.limit' || action === 'proxy.refused') return 5;
  return 6;
}

export interface SyslogHeader {
  facility: number;
  /** Printable US-ASCII, at most 255 (RFC 5424 HOSTNAME). */
  hostname: string;
  /** At most 48 (APP-NAME). */
  appName: string;
  /** At most 128 (PROCID). */
  procId: string;
  /** The software version for the `origin` structured element. */
  version: string;
}

/** RFC 5424 header fields are PRINTUSASCII without spaces; an empty one is the NILVALUE `-`. */
function headerField(value: string, max: number): string {
  let out = '';
  for (let k = 0; k < value.length && out.length < max; k++) {
    const c = value.charCodeAt(k);
    out += c >= 33 && c <= 126 ? value[k] : '_';
  }
  return out.length === 0 ? '-' : out;
}

/** PARAM-VALUE escaping (RFC 5424 §6.3.3): `"`, `\` and `]` are escaped with a backslash. */
function paramValue(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** One syslog message (no framing) for an ECS document. */
export function formatSyslog(doc: EcsDocument, header: SyslogHeader): Buffer {
  const pri = header.facility * 8 + severityOf(doc);
  const msgId = headerField(doc.event.action, 32);
  // meta sequenceId is 1..2147483647 (RFC 5424 §7.3.1); event.sequence restarts per process, the id stays unique.
  const sequenceId = ((doc.event.sequence - 1) % 2147483647) + 1;
  const sd = `[origin software="decoyd" swVersion="${paramValue(header.version)}"][meta sequenceId="${sequenceId}"]`;
  const line = `<${pri}>1 ${doc['@timestamp']} ${headerField(header.hostname, 255)} ${headerField(header.appName, 48)} ${headerField(header.procId, 128)} ${msgId} ${sd} ${JSON.stringify(doc)}`;
  return Buffer.from(line, 'utf8');
}


/** The bytes to write on a stream for one message (RFC 6587 §3.4.1 or §3.4.2). */
export function frame(message: Buffer, framing: TcpFraming): Buffer {
  if (framing === 'lf') return Buffer.concat([message, LF]);
  return Buffer.concat([Buffer.from(`${message.length} `, 'ascii'), message]);
}

const LF = Buffer.from('\n');

/** Reads octet-counted frames back (the tests' receiver side, and a check of `frame`). */
export function parseOctetCounted(data: Buffer): { messages: Buffer[]; rest: Buffer } {
  const messages: Buffer[] = [];
  let at = 0;
  for (;;) {
    const space = data.indexOf(0x20, at);
    if (space < 0 || space - at > 10) break;
    const len = Number(data.subarray(at, space).toString('ascii'));
    if (!Number.isInteger(len) || len <= 0 || space + 1 + len > data.length) break;
    messages.push(data.subarray(space + 1, space + 1 + len));
    at = space + 1 + len;
  }
  return { messages, rest: data.subarray(at) };
}
