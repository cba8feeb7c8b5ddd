/**
 * The store's worker thread: owns the only writing SQLite connection. The daemon thread posts
 * batches of events; each batch is one transaction, acknowledged when committed. Retention runs
 * here too, between batches.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { DecoyEvent } from '../events/event';
import type { Observer } from '../events/ecs';
import { StoreDb, type RetentionPolicy } from './store-db';
import { generateEvents } from './generate';
import { lowerThreadPriority } from './thread-priority';

export interface WorkerInit {
  file: string;
  boot: { idPrefix: string; observer: Observer; started: number };
  retention: RetentionPolicy;
  retentionIntervalMs: number;
  /** Nice value for this thread (default 10). */
  nice: number;
}

export type ToWorker =
  | { t: 'batch'; events: DecoyEvent[]; seqs: number[] }
  | { t: 'generate'; count: number; sources: number; batch: number }
  | { t: 'retention' }
  | { t: 'close' };

export type FromWorker =
  | { t: 'ready'; boot: number }
  | { t: 'ack'; n: number }
  | { t: 'error'; message: string; n: number }
  | { t: 'generated'; count: number; ms: number }
  | { t: 'retention'; deleted: number }
  | { t: 'closed' };

function main(): void {
  const port = parentPort;
  if (port === null) throw new Error('store worker started outside a worker thread');
  const init = workerData as WorkerInit;
  lowerThreadPriority(init.nice);
  const post = (m: FromWorker): void => port.postMessage(m);
  const store = new StoreDb(init.file, init.boot);
  const retention = (): number => {
    try {
      return store.applyRetention(init.retention).deleted;
    } catch (err) {
      post({ t: 'error', message: `retention: ${err instanceof Error ? err.message : String(err)}`, n: 0 });
      return 0;
    }
  };
  const timer = init.retentionIntervalMs > 0 ? setInterval(retention, init.retentionIntervalMs) : null;
  port.on('message', (m: ToWorker) => {
    switch (m.t) {
      case 'batch':
        try {
          store.insert(m.events, m.seqs);
          post({ t: 'ack', n: m.events.length });
        } catch (err) {
          post({ t: 'error', message: err instanceof Error ? err.message : String(err), n: m.events.length });
        }
        break;
      case 'generate': {
        const started = Date.now();
        generateEvents(store, m.count, m.sources, m.batch);
        post({ t: 'generated', count: m.count, ms: Date.now() - started });
        break;
      }
      case 'retention':
        post({ t: 'retention', deleted: retention() });
        break;
      case 'close':
        if (timer !== null) clearInterval(timer);
        store.close();
        post({ t: 'closed' });
        port.close();
        break;
    }
  });
  post({ t: 'ready', boot: store.boot });
}

main();
