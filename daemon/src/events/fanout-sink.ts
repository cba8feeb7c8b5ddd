/**
 * The single EventSink the engine sees. It numbers every event once (event.sequence, from which
 * event.id follows) and hands it to each sink that wants its kind: pino, the store, the detector,
 * the live API stream, later shippers. `wants` is the OR of the sinks', so the per-packet path
 * still builds nothing that no sink records.
 */
import type { DecoyEvent, DecoyEventKind, EventSink } from './event';

/** A consumer of numbered events. */
export interface RecordSink {
  wants(kind: DecoyEventKind): boolean;
  write(event: DecoyEvent, sequence: number): void;
}

/** Adapts a plain EventSink (one that needs no sequence number) to a RecordSink. */
export function recordSinkOf(sink: EventSink): RecordSink {
  return { wants: (kind) => sink.wants(kind), write: (event) => sink.emit(event) };
}

export class FanoutSink implements EventSink {
  private readonly sinks: RecordSink[] = [];
  /** See every event some sink wants, without making any more wanted (metrics). */
  private readonly observers: RecordSink[] = [];
  private sequence = 0;

  constructor(sinks: readonly RecordSink[] = []) {
    this.sinks.push(...sinks);
  }

  add(sink: RecordSink): void {
    this.sinks.push(sink);
  }

  observe(sink: RecordSink): void {
    this.observers.push(sink);
  }

  /** The last sequence number handed out. */
  get lastSequence(): number {
    return this.sequence;
  }

  wants(kind: DecoyEventKind): boolean {
    for (const sink of this.sinks) if (sink.wants(kind)) return true;
    return false;
  }

  emit(event: DecoyEvent): void {
    const sequence = ++this.sequence;
    for (const sink of this.sinks) {
      if (!sink.wants(event.kind)) continue;
      try {
        sink.write(event, sequence);
      } catch {
        // One failing consumer must not take the frame path or the other sinks down.
      }
    }
    for (const observer of this.observers) observer.write(event, sequence);
  }
}
