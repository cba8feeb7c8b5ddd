/**
 * What every interactive emulator records about one session, in one place: the connection it
 * belongs to, the steps (`service.request`, `service.login`, `service.command`, `service.message`)
 * and, when the session ends, one `service.session` event with a bounded transcript.
 *
 * Emulators call `fromClient`/`toClient` with the bytes as they pass and the step methods as they
 * understand them; the recorder owns the bounds, so no emulator can let a hostile client grow it.
 */
import type { ConnectionRef, EventSink, ServiceSessionEvent } from '../../events/event';

export interface SessionBounds {
  /** Transcript bytes kept per session (both directions); the rest is counted in transcriptDropped. */
  transcriptBytes: number;
  /** Bytes of a request or mail body kept in an event's `body`. */
  bodyExcerptBytes: number;
  /** Longest single field (path, user, password, command, header line) kept in an event. */
  fieldBytes: number;
  /** Headers kept per request event. */
  maxHeaders: number;
}

export const DEFAULT_SESSION_BOUNDS: SessionBounds = { transcriptBytes: 16 * 1024, bodyExcerptBytes: 1024, fieldBytes: 512, maxHeaders: 64 };

/** Printable ASCII kept as it is, everything else as `\xNN` (and `\n`, `\r`, `\t`), cut at `max` input bytes. */
export function excerpt(data: Buffer | string, max: number): string {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const n = Math.min(buf.length, max);
  let out = '';
  for (let k = 0; k < n; k++) {
    const b = buf[k] as number;
    if (b === 0x0a) out += '\\n';
    else if (b === 0x0d) out += '\\r';
    else if (b === 0x09) out += '\\t';
    else if (b === 0x5c) out += '\\\\';
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

type StepFields = Omit<ServiceSessionEvent, 'kind' | 'time' | keyof ConnectionRef | 'service' | 'product'>;

export class SessionRecorder {
  private readonly started = Date.now();
  private transcript = '';
  private transcriptKept = 0;
  private transcriptDropped = 0;
  private bytesIn = 0;
  private bytesOut = 0;
  private clientVersion: string | undefined;
  private closed = false;

  constructor(
    private readonly events: EventSink,
    private readonly conn: ConnectionRef,
    /** Protocol name as events carry it (`http`, `ssh`, `smtp`, …). */
    private service: string,
    private readonly product: string | undefined,
    readonly bounds: SessionBounds = DEFAULT_SESSION_BOUNDS,
  ) {}

  /** Renames the protocol (e.g. `smtp` after STARTTLS is still `smtp`, but `http` inside TLS is `https`). */
  setService(name: string): void {
    this.service = name;
  }

  setClientVersion(v: string): void {
    this.clientVersion = this.field(v);
  }

  fromClient(data: Buffer | string): void {
    this.bytesIn += this.append('> ', data);
  }

  toClient(data: Buffer | string): void {
    this.bytesOut += this.append('< ', data);
  }

  /** Cuts a client-supplied value to the field bound, escaped. */
  field(value: string | Buffer): string {
    return excerpt(value, this.bounds.fieldBytes);
  }

  /** `body` may be the raw bytes (a Buffer is excerpted byte for byte). */
  request(f: Pick<StepFields, 'method' | 'path' | 'status' | 'headers' | 'userAgent' | 'bodyBytes'> & { body?: Buffer | string }): void {
    const { body, ...rest } = f;
    this.step('service.request', {
      ...rest,
      ...(f.method !== undefined ? { method: this.field(f.method) } : {}),
      ...(f.path !== undefined ? { path: this.field(f.path) } : {}),
      ...(f.userAgent !== undefined ? { userAgent: this.field(f.userAgent) } : {}),
      ...(f.headers !== undefined ? { headers: f.headers.slice(0, this.bounds.maxHeaders).map((h) => this.field(h)) } : {}),
      ...(body !== undefined ? { body: excerpt(body, this.bounds.bodyExcerptBytes) } : {}),
    });
  }

  login(f: Pick<StepFields, 'authMethod' | 'user' | 'password' | 'keyType' | 'keyFingerprint' | 'result' | 'hassh'> & { authMethod: string; result: 'accepted' | 'refused' }): void {
    this.step('service.login', {
      ...f,
      ...(f.user !== undefined ? { user: this.field(f.user) } : {}),
      ...(f.password !== undefined ? { password: this.field(f.password) } : {}),
      ...(this.clientVersion !== undefined ? { clientVersion: this.clientVersion } : {}),
    });
  }

  command(line: string | Buffer): void {
    this.step('service.command', { command: this.field(line) });
  }

  message(f: { mailFrom?: string; rcptTo?: string[]; subject?: string; body: Buffer | string; bodyBytes: number }): void {
    this.step('service.message', {
      ...(f.mailFrom !== undefined ? { mailFrom: this.field(f.mailFrom) } : {}),
      ...(f.rcptTo !== undefined ? { rcptTo: f.rcptTo.slice(0, this.bounds.maxHeaders).map((r) => this.field(r)) } : {}),
      ...(f.subject !== undefined ? { subject: this.field(f.subject) } : {}),
      body: excerpt(f.body, this.bounds.bodyExcerptBytes),
      bodyBytes: f.bodyBytes,
    });
  }

  /** Writes the `service.session` event once; later calls do nothing. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.events.wants('service.session')) return;
    this.events.emit({
      kind: 'service.session', time: Date.now(), ...this.conn, service: this.service,
      ...(this.product !== undefined ? { product: this.product } : {}),
      transcript: this.transcript, transcriptDropped: this.transcriptDropped, durationMs: Date.now() - this.started,
      bytesIn: this.bytesIn, bytesOut: this.bytesOut,
      ...(this.clientVersion !== undefined ? { clientVersion: this.clientVersion } : {}),
    });
  }

  get totals(): { bytesIn: number; bytesOut: number } {
    return { bytesIn: this.bytesIn, bytesOut: this.bytesOut };
  }

  private step(kind: ServiceSessionEvent['kind'], fields: StepFields): void {
    if (!this.events.wants(kind)) return;
    this.events.emit({ kind, time: Date.now(), ...this.conn, service: this.service, ...(this.product !== undefined ? { product: this.product } : {}), ...fields });
  }

  /** Adds what the bound leaves room for to the transcript; returns the byte length of `data`. */
  private append(direction: string, data: Buffer | string): number {
    const len = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    const room = this.bounds.transcriptBytes - this.transcriptKept;
    if (room <= 0) {
      this.transcriptDropped += len;
      return len;
    }
    const kept = Math.min(room, len);
    this.transcript += `${direction}${excerpt(data, kept)}\n`;
    this.transcriptKept += kept;
    this.transcriptDropped += len - kept;
    return len;
  }
}
