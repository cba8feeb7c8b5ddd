/**
 * The PostgreSQL shipper's face on the daemon thread. It takes no events from the fan-out: the
 * store already holds them, and the shipper's thread (postgres-worker.ts) reads the store as its
 * outbox. Here we only start that thread, relay its reports into the daemon's log, and keep its
 * last status for /metrics.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { PostgresShipSettings } from '../config/ship-settings';
import type { EcsContext } from '../events/ecs';
import { emptyPgShipStatus, type PgShipStatus } from './postgres-status';
import type { FromPgWorker, PgWorkerInit, ToPgWorker } from './postgres-worker';
import type { ShipperStats } from './syslog-shipper';

export class PostgresShipper {
  private status: PgShipStatus = emptyPgShipStatus();
  private readonly worker: Worker;
  private readonly closedSignal: Promise<void>;

  /** `nice` 10 by default: below the frame path, as the store worker (the benchmark measures at 0). */
  constructor(readonly settings: PostgresShipSettings, dbFile: string, ecs: EcsContext, report: (message: string) => void, opts: { software?: string; nice?: number } = {}) {
    const init: PgWorkerInit = { dbFile, settings, observer: ecs.observer, software: opts.software ?? 'decoyd 0.1.0', statusIntervalMs: 500, nice: opts.nice ?? 10 };
    this.worker = new Worker(join(__dirname, 'postgres-worker.js'), { workerData: init });
    this.closedSignal = new Promise((resolve) => {
      this.worker.on('message', (m: FromPgWorker) => {
        if (m.t === 'status') this.status = m.status;
        else if (m.t === 'report') report(m.message);
        else if (m.t === 'closed') resolve();
      });
      this.worker.on('exit', () => resolve());
    });
    this.worker.on('error', (err) => report(`ship ${settings.name}: ${err.message}`));
    this.worker.unref();
  }

  stats(): ShipperStats {
    const s = this.status;
    return {
      name: this.settings.name, kind: 'postgres', sent: s.shipped, dropped: { retention: s.lostToRetention, refused: s.refused }, queued: s.backlog, connected: s.connected,
      backlog: s.backlog, errors: { ...s.errors }, ...(s.failing === undefined ? {} : { failing: s.failing }),
      ...(s.lastError === undefined ? {} : { lastError: s.lastError }),
    };
  }

  /** Lets the thread finish the batch in flight (at most `timeoutMs`), then ends it. */
  async close(timeoutMs = 3000): Promise<void> {
    this.worker.postMessage({ t: 'close' } satisfies ToPgWorker);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.closedSignal, new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); })]);
    clearTimeout(timer);
    await this.worker.terminate();
  }
}
