/**
 * Honeyd `tarpit` (LaBrea-style): the handshake completes as the personality answers it (so a
 * scanner's fingerprint of the port is unchanged), then the connection is held with Honeyd's
 * 5-byte window, one byte per segment of anything sent, and the peer's FIN ignored. Behind
 * `tarpit open` nothing reads: once those bytes are in, the window is zero and the peer is left
 * probing it (persist mode) at intervals its own stack backs off. decoyd arms no timer for it;
 * the TCP engine's idle timeout (reset by each probe) and the bounds below are all it costs.
 * Bounds: connections held per source and in all; beyond them the connection is reset.
 */
import type { Limits } from '../../config/types';
import type { EventSink, ServiceActionEvent } from '../../events/event';
import type { StreamContext, StreamService, StreamSession } from '../service';

/** Honeyd's tarpit window (honeyd.c: tcp_send). */
export const TARPIT_WINDOW = 5;

export class TarpitBounds {
  private readonly perSource = new Map<string, number>();
  total = 0;
  constructor(readonly limits: Pick<Limits, 'maxTarpitConnections' | 'maxTarpitConnectionsPerSource'>) {}

  take(source: string): boolean {
    const n = this.perSource.get(source) ?? 0;
    if (n >= this.limits.maxTarpitConnectionsPerSource || this.total >= this.limits.maxTarpitConnections) return false;
    this.perSource.set(source, n + 1);
    this.total++;
    return true;
  }

  give(source: string): void {
    const n = (this.perSource.get(source) ?? 1) - 1;
    if (n <= 0) this.perSource.delete(source);
    else this.perSource.set(source, n);
    this.total = Math.max(0, this.total - 1);
  }
}

export class TarpitService implements StreamService {
  readonly name: string;
  constructor(private readonly bounds: TarpitBounds, private readonly events: EventSink, private readonly templateName: string, private readonly inner: StreamService | null) {
    this.name = inner === null ? 'tarpit' : `tarpit+${inner.name}`;
  }

  open(ctx: StreamContext): StreamSession {
    const source = ctx.remote.address;
    if (!this.bounds.take(source)) {
      ctx.reset();
      return { onData: () => {}, onEnd: () => {}, onClose: () => {} };
    }
    const base: Omit<ServiceActionEvent, 'kind' | 'time'> = { proto: 'tcp', srcIp: source, srcPort: ctx.remote.port, dstIp: ctx.local.address, dstPort: ctx.local.port, template: this.templateName };
    const started = Date.now();
    ctx.hold?.(TARPIT_WINDOW);
    this.events.emit({ ...base, kind: 'tarpit.open', time: started });
    let bytesIn = 0;
    let released = false;
    const innerSession = this.inner?.open(ctx) ?? null;
    // `tarpit open`: nobody reads, so the few bytes the window lets in stay queued and it closes.
    if (innerSession === null) ctx.pause?.();
    return {
      onData: (data) => { bytesIn += data.length; innerSession?.onData(data); },
      onEnd: () => innerSession?.onEnd(),
      onDrain: () => innerSession?.onDrain?.(),
      onClose: () => {
        innerSession?.onClose();
        if (released) return;
        released = true;
        this.bounds.give(source);
        // Behind `tarpit open` nothing reads, so the bytes held in the window are not counted.
        this.events.emit({ ...base, kind: 'tarpit.close', time: Date.now(), durationMs: Date.now() - started, ...(innerSession !== null ? { bytesIn } : {}) });
      },
    };
  }
}
