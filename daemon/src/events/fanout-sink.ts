/**
 * The single EventSink the engine sees. It numbers every event once (event.sequence, from which
 * event.id follows) and hands it to each sink that wants its kind: pino, the store, the detector,
 * the live API stream, later shippers. `wants` is the OR of the sinks', so the per-packet path
 * still builds nothing that no sink records.
 */
import type { DecoyEvent, DecoyEventKind, EventSink } from './event';
import { COUNTED_KINDS, DEFAULT_TALLY_BUCKETS, PacketTally, type PacketCounts } from './packet-tally';

/** A consumer of numbered events. */
export interface RecordSink {
  wants(kind: DecoyEventKind): boolean;
  write(event: DecoyEvent, sequence: number): void;
  /**
   * True: this sink takes the per-packet kinds (COUNTED_KINDS) as per-interval counts from the
   * fan-out's PacketTally, never one by one (its `wants` is false for them).
   */
  readonly countsPackets?: boolean;
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
  private tally: PacketTally | undefined;
  private readonly counting: RecordSink[] = [];

  constructor(sinks: readonly RecordSink[] = [], private readonly tallyBuckets = DEFAULT_TALLY_BUCKETS) {
    for (const sink of sinks) this.add(sink);
  }

  add(sink: RecordSink): void {
    this.sinks.push(sink);
    if (sink.countsPackets === true) {
      this.counting.push(sink);
      this.tally ??= new PacketTally((event) => this.emitCounted(event), this.tallyBuckets);
    }
  }

  /** The packet counter the frame path feeds while some sink counts packets. */
  get packetCounts(): PacketCounts | undefined {
    return this.tally;
  }

  /** Folded packets so far, and rows they became (for stats). */
  get tallyStats(): { packets: number; rows: number; buckets: number } | undefined {
    const t = this.tally;
    return t === undefined ? undefined : { packets: t.packets, rows: t.rows, buckets: t.size };
  }

  /** Hands the interval's packet counts to the counting sinks (the store calls it before each flush). */
  drainCounts(): void {
    this.tally?.drain();
  }

  private emitCounted(event: DecoyEvent): void {
    const sequence = ++this.sequence;
    for (const sink of this.counting) {
      try {
        sink.write(event, sequence);
      } catch {
        // as in emit
      }
    }
    for (const observer of this.observers) observer.write(event, sequence);
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
    // With a tally, observers (metrics) count packet kinds from its rows, so nothing counts twice.
    if (this.tally !== undefined && COUNTED_KINDS.has(event.kind)) return;
    for (const observer of this.observers) observer.write(event, sequence);
  }
}
