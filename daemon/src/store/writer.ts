/**
 * The store's face on the daemon thread: a RecordSink whose `write` only appends to a bounded
 * queue. Every half flush interval (or when a batch is full) the queue is posted to the worker
 * thread, which commits it in one transaction at once: an event waits at most half the interval
 * to be posted and its batch has the other half to commit, so what a kill -9 can lose is the
 * last flush interval. A full queue drops the event and counts it; the count is
 * reported as a `daemon.error` event at most once per report interval. Nothing here waits on disk.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { DecoyEvent, DecoyEventKind } from '../events/event';
import type { EcsContext } from '../events/ecs';
import type { RecordSink } from '../events/fanout-sink';
import { COUNTED_KINDS } from '../events/packet-tally';
import type { RetentionPolicy } from './store-db';
import type { FromWorker, ToWorker, WorkerInit } from './worker';

export interface StoreOptions {
  /** Data directory; the database is `events.sqlite` in it. */
  path: string;
  /** Events older than this are committed (default 250 ms; the kill -9 loss window). Posted every half interval. */
  flushIntervalMs: number;
  retention: RetentionPolicy;
  /** Events queued or in flight to the worker at most; beyond, new events are dropped and counted. */
  queueLimit: number;
  /** Events per posted batch at most (default 10,000). */
  maxBatch?: number;
  retentionIntervalMs?: number;
  /** Scheduling niceness of the worker thread (default 10: below the frame path). */
  workerNice?: number;
  /** How often a drop count is reported (default 10 s). */
  reportIntervalMs?: number;
}

export const DEFAULT_STORE: Omit<StoreOptions, 'path'> = {
  flushIntervalMs: 250,
  retention: { maxAgeDays: 30, maxBytes: 4 * 1024 ** 3 },
  queueLimit: 200_000,
};

export interface StoreWriterStats {
  /** Events committed by the worker. */
  written: number;
  /** Events dropped because the queue was full. */
  dropped: number;
  /** Events the worker failed to write. */
  failed: number;
  /** Events queued or in flight. */
  queueDepth: number;
  /** Age in ms of the oldest batch posted but not yet committed (0 when none). */
  lagMs: number;
}

/** Half the flush interval (at least 5 ms): the other half is the worker's to commit in. */
export function postIntervalMs(flushIntervalMs: number): number {
  return Math.max(5, Math.floor(flushIntervalMs / 2));
}

export function databaseFile(dir: string): string {
  return join(dir, 'events.sqlite');
}

export class StoreWriter implements RecordSink {
  /** Per-packet kinds arrive folded per flush interval (events/packet-tally.ts), never one by one. */
  readonly countsPackets = true;
  /** Called at the start of every flush: the fan-out drains its packet counts into this writer. */
  beforeFlush: (() => void) | undefined;
  private pending: DecoyEvent[] = [];
  private pendingSeqs: number[] = [];
  private inFlight = 0;
  /** Post times of batches awaiting their ack, oldest first. */
  private readonly postedAt: number[] = [];
  private written = 0;
  private dropped = 0;
  private failed = 0;
  private reportedDrops = 0;
  private readonly flushTimer: NodeJS.Timeout;
  private readonly reportTimer: NodeJS.Timeout;
  private readonly maxBatch: number;
  private closed: Promise<void> | undefined;
  private readonly waiters = new Set<(m: FromWorker) => void>();

  private constructor(
    private readonly worker: Worker,
    private readonly opts: StoreOptions,
    private readonly report: (message: string) => void,
  ) {
    this.maxBatch = opts.maxBatch ?? 10_000;
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    worker.on('error', (err) => this.report(`store worker: ${err.message}`));
    this.flushTimer = setInterval(() => this.flush(), postIntervalMs(opts.flushIntervalMs));
    this.reportTimer = setInterval(() => this.reportDrops(), opts.reportIntervalMs ?? 10_000);
    this.flushTimer.unref();
    this.reportTimer.unref();
  }

  /** Opens (creating if needed) the store under `opts.path` and resolves once the worker has it open. */
  static open(opts: StoreOptions, ecs: EcsContext, report: (message: string) => void, startedAt = Date.now()): Promise<StoreWriter> {
    mkdirSync(opts.path, { recursive: true });
    const init: WorkerInit = {
      file: databaseFile(opts.path),
      boot: { idPrefix: ecs.idPrefix, observer: ecs.observer, started: startedAt },
      retention: opts.retention,
      retentionIntervalMs: opts.retentionIntervalMs ?? 10_000,
      nice: opts.workerNice ?? 10,
    };
    const worker = new Worker(join(__dirname, 'worker.js'), { workerData: init });
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      worker.once('error', onError);
      worker.once('message', (m: FromWorker) => {
        worker.off('error', onError);
        if (m.t === 'ready') resolve(new StoreWriter(worker, opts, report));
        else reject(new Error(`store worker: unexpected ${m.t}`));
      });
    });
  }

  wants(kind: DecoyEventKind): boolean {
    return this.closed === undefined && !COUNTED_KINDS.has(kind);
  }

  write(event: DecoyEvent, sequence: number): void {
    if (this.pending.length + this.inFlight >= this.opts.queueLimit) {
      this.dropped++;
      return;
    }
    this.pending.push(event);
    this.pendingSeqs.push(sequence);
    if (this.pending.length >= this.maxBatch) this.post();
  }

  /** Posts what is queued to the worker (cheap: no disk here). */
  flush(): void {
    this.beforeFlush?.();
    this.post();
  }

  private post(): void {
    if (this.pending.length === 0) return;
    const msg: ToWorker = { t: 'batch', events: this.pending, seqs: this.pendingSeqs };
    this.inFlight += this.pending.length;
    this.postedAt.push(Date.now());
    this.pending = [];
    this.pendingSeqs = [];
    this.worker.postMessage(msg);
  }

  stats(now = Date.now()): StoreWriterStats {
    const oldest = this.postedAt[0];
    return {
      written: this.written, dropped: this.dropped, failed: this.failed,
      queueDepth: this.pending.length + this.inFlight, lagMs: oldest === undefined ? 0 : now - oldest,
    };
  }

  /** For the benchmark: has the worker insert `count` synthetic events; resolves with the time it took. */
  generate(count: number, sources: number, batch = 10_000): Promise<number> {
    this.worker.postMessage({ t: 'generate', count, sources, batch } satisfies ToWorker);
    return this.next('generated').then((m) => (m.t === 'generated' ? m.ms : 0));
  }

  /** Runs retention now; resolves with the number of events deleted. */
  retentionNow(): Promise<number> {
    this.worker.postMessage({ t: 'retention' } satisfies ToWorker);
    return this.next('retention').then((m) => (m.t === 'retention' ? m.deleted : 0));
  }

  /** Resolves once everything queued so far is committed. */
  async drain(): Promise<void> {
    this.flush();
    while (this.inFlight > 0) await this.next('ack');
  }

  /** Commits what is queued, then closes the database. */
  close(): Promise<void> {
    if (this.closed !== undefined) return this.closed;
    clearInterval(this.flushTimer);
    clearInterval(this.reportTimer);
    this.flush();
    this.reportDrops();
    this.closed = (async () => {
      this.worker.postMessage({ t: 'close' } satisfies ToWorker);
      await this.next('closed');
      await this.worker.terminate();
    })();
    return this.closed;
  }

  private next(t: FromWorker['t']): Promise<FromWorker> {
    return new Promise((resolve) => {
      const waiter = (m: FromWorker): void => {
        if (m.t !== t && !(t === 'ack' && m.t === 'error')) return;
        this.waiters.delete(waiter);
        resolve(m);
      };
      this.waiters.add(waiter);
    });
  }

  private onMessage(m: FromWorker): void {
    if (m.t === 'ack' || m.t === 'error') {
      this.inFlight -= m.n;
      if (m.n > 0) this.postedAt.shift();
      if (m.t === 'ack') this.written += m.n;
      else {
        this.failed += m.n;
        this.report(`store: ${m.message}${m.n > 0 ? ` (${m.n} events lost)` : ''}`);
      }
    }
    for (const waiter of [...this.waiters]) waiter(m);
  }

  private reportDrops(): void {
    if (this.dropped === this.reportedDrops) return;
    this.report(`store: ${this.dropped - this.reportedDrops} events dropped (queue full at ${this.opts.queueLimit}; ${this.dropped} since start)`);
    this.reportedDrops = this.dropped;
  }
}
