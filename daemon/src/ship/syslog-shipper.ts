/**
 * Ships events to a syslog collector (RFC 5424 over UDP, TCP, or TCP+TLS per RFC 5425), each
 * message holding the event's ECS document as JSON.
 *
 * Off the frame path: `write` only queues the event (a bounded array of references); formatting
 * and socket writes happen in small slices on later turns of the event loop. A full queue, a
 * message over the size bound, or a transport error drops the event and counts it by reason; the
 * drops show in /metrics and, on each change of the transport's state, as one daemon.error event.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { DecoyEvent, DecoyEventKind } from '../events/event';
import { toEcs, type EcsContext } from '../events/ecs';
import type { RecordSink } from '../events/fanout-sink';
import type { SyslogShipSettings } from '../config/ship-settings';
import { formatSyslog, frame, type SyslogHeader } from './syslog-format';

export type SyslogDropReason = 'queue-full' | 'oversize' | 'transport';

export interface ShipperStats {
  name: string;
  kind: 'syslog' | 'postgres';
  sent: number;
  /** By reason: syslog's queue-full, oversize, transport; postgres's retention (deleted from the store unshipped). */
  dropped: Partial<Record<string, number>>;
  queued: number;
  connected: boolean;
  lastError?: string;
  /** Outbox shippers (postgres): events in the store not yet committed on the other side. */
  backlog?: number;
  /** Failed attempts by reason (postgres: auth, unreachable, schema, permission, timeout, other). */
  errors?: Record<string, number>;
  /** The failure now in effect, if any. */
  failing?: string;
}

/** Events formatted and written per slice, so the frame path gets the thread back quickly. */
const SLICE = 256;

export class SyslogShipper implements RecordSink {
  private readonly queue: Array<{ event: DecoyEvent; sequence: number }> = [];
  private head = 0;
  private readonly kinds: ReadonlySet<DecoyEventKind> | undefined;
  private readonly header: SyslogHeader;
  private stream: Socket | undefined;
  private udp: UdpSocket | undefined;
  private connected = false;
  private connecting = false;
  private closed = false;
  private backoffMs = 500;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private lastError: string | undefined;
  private sent = 0;
  private readonly dropped: Record<SyslogDropReason, number> = { 'queue-full': 0, oversize: 0, transport: 0 };
  private readonly tlsFiles: { ca?: Buffer; cert?: Buffer; key?: Buffer };

  constructor(
    readonly settings: SyslogShipSettings,
    private readonly ecs: EcsContext,
    private readonly report: (message: string) => void,
    version = '0.1.0',
  ) {
    this.kinds = settings.kinds === undefined ? undefined : new Set(settings.kinds);
    this.header = { facility: settings.facility, hostname: ecs.observer.hostname, appName: settings.appName, procId: String(process.pid), version };
    // Read the files once, at start: a missing CA is a configuration error the operator sees now.
    const t = settings.tls;
    this.tlsFiles = {
      ...(t?.caFile !== undefined ? { ca: readFileSync(t.caFile) } : {}),
      ...(t?.certFile !== undefined ? { cert: readFileSync(t.certFile) } : {}),
      ...(t?.keyFile !== undefined ? { key: readFileSync(t.keyFile) } : {}),
    };
    this.open();
  }

  wants(kind: DecoyEventKind): boolean {
    return !this.closed && (this.kinds === undefined || this.kinds.has(kind));
  }

  write(event: DecoyEvent, sequence: number): void {
    if (this.closed) return;
    if (this.queue.length - this.head >= this.settings.queueEvents) {
      this.dropped['queue-full']++;
      return;
    }
    this.queue.push({ event, sequence });
    this.schedule();
  }

  stats(): ShipperStats {
    return {
      name: this.settings.name, kind: 'syslog', sent: this.sent, dropped: { ...this.dropped }, queued: this.queue.length - this.head, connected: this.connected,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  /** Sends what is queued (for up to `timeoutMs`), then closes the transport. */
  async close(timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length - this.head > 0 && this.connected && Date.now() < deadline) {
      this.drain();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    const stream = this.stream;
    if (stream !== undefined) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => { stream.destroy(); resolve(); }, Math.max(0, deadline - Date.now()) + 100);
        stream.end(() => { clearTimeout(timer); resolve(); });
      });
    }
    this.udp?.close();
  }

  private schedule(): void {
    if (this.scheduled || !this.connected) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    let budget = SLICE;
    while (budget-- > 0 && this.head < this.queue.length && this.connected) {
      const stream = this.stream;
      if (stream !== undefined && stream.writableLength >= this.settings.socketBufferBytes) return; // 'drain' resumes
      const item = this.queue[this.head] as { event: DecoyEvent; sequence: number };
      this.queue[this.head++] = undefined as never;
      const message = formatSyslog(toEcs(item.event, item.sequence, this.ecs), this.header);
      if (message.length > this.settings.maxMessageBytes) {
        this.dropped.oversize++;
        continue;
      }
      if (stream !== undefined) {
        stream.write(frame(message, this.settings.transport === 'tls' ? 'octet-counting' : this.settings.framing));
        this.sent++;
      } else if (this.udp !== undefined) {
        this.udp.send(message, (err) => {
          if (err) {
            this.dropped.transport++;
            this.sent--;
          }
        });
        this.sent++;
      }
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.head < this.queue.length) this.schedule();
  }

  private open(): void {
    if (this.closed || this.connecting) return;
    const s = this.settings;
    if (s.transport === 'udp') {
      const sock = createSocket('udp4');
      this.udp = sock;
      sock.on('error', (err) => this.failed(err.message));
      sock.connect(s.port, s.host, () => this.up());
      return;
    }
    this.connecting = true;
    const stream = s.transport === 'tls'
      ? tlsConnect({
        host: s.host, port: s.port, ...this.tlsFiles, servername: s.tls?.serverName ?? (isIp(s.host) ? undefined : s.host),
        rejectUnauthorized: s.tls?.verify !== false,
      })
      : netConnect({ host: s.host, port: s.port });
    stream.setNoDelay(true);
    stream.setKeepAlive(true, 30_000);
    this.stream = stream;
    stream.once(s.transport === 'tls' ? 'secureConnect' : 'connect', () => {
      this.connecting = false;
      this.up();
    });
    stream.on('drain', () => this.schedule());
    // A collector sends nothing on a syslog connection; read and discard whatever it might.
    stream.on('data', () => undefined);
    stream.on('error', (err) => this.failed(err.message));
    stream.on('close', () => {
      if (this.stream !== stream) return;
      this.connecting = false;
      this.stream = undefined;
      if (this.connected) this.failed('connection closed by the collector');
      this.retry();
    });
  }

  private up(): void {
    const recovered = this.lastError !== undefined;
    this.connected = true;
    this.backoffMs = 500;
    if (recovered) this.report(`ship ${this.settings.name}: connected to ${this.settings.host}:${this.settings.port} again (${this.dropped.transport + this.dropped['queue-full']} events dropped so far)`);
    this.lastError = undefined;
    this.schedule();
  }

  private failed(message: string): void {
    const first = this.lastError === undefined;
    this.lastError = message;
    this.connected = false;
    if (first && !this.closed) this.report(`ship ${this.settings.name}: ${this.settings.transport}://${this.settings.host}:${this.settings.port}: ${message}; queueing up to ${this.settings.queueEvents} events and retrying`);
    if (this.udp !== undefined) this.retry();
  }

  private retry(): void {
    if (this.closed || this.reconnectTimer !== undefined) return;
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.settings.reconnectMaxMs);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.udp !== undefined) {
        const old = this.udp;
        this.udp = undefined;
        old.close();
      }
      this.open();
    }, wait);
    this.reconnectTimer.unref();
  }
}

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}
