/**
 * A PostgreSQL shipper's batch-building thread. It reads outbox rows from the store and turns
 * them into a batch statement (fleet/pg-batch.ts), so that the shipper's thread can hand the next
 * batch to a connection the moment that connection is free. Built on the shipper's own thread,
 * each batch (about 10 ms to read 5,000 rows and 14 ms to build them) kept a finished connection
 * idle; built ahead on that thread, the batches kept alive doubled its garbage collection.
 * It only reads the store (the shipper's thread keeps the watermark) and never talks to PostgreSQL:
 * boots it has no key for are handed back, and the shipper registers them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { Observer } from '../events/ecs';
import { buildInsertBatch, type BatchForm, type BuiltBatch, type OutboxRow, type RegisteredBoot } from '../fleet/pg-batch';
import { lowerThreadPriority } from '../store/thread-priority';

export interface BuilderInit {
  dbFile: string;
  observer: Observer;
  software: string;
  nice: number;
}

/** A store boot the builder has no PostgreSQL key for: what registering it needs. */
export interface UnknownBoot {
  boot: number;
  prefix: string;
  observer: Observer;
}

export type ToBuilder =
  | {
      t: 'build'; id: number; after: number; limit: number; form: BatchForm;
      /** Boot keys registered since the last request (store boot, key in PostgreSQL). */
      boots: [number, RegisteredBoot][];
    }
  /** The shipper reconnected: every boot is registered again. */
  | { t: 'forget' };

export type FromBuilder =
  | { t: 'empty'; id: number }
  | { t: 'boots'; id: number; need: UnknownBoot[] }
  | { t: 'built'; id: number; firstId: number; rows: number; batch: BuiltBatch }
  | { t: 'failed'; id: number; message: string };

type OutboxTuple = [number, number, number, number, string, string | null, number | null, number | null, number | null, number | null, string];

class BatchBuilder {
  private readonly db: Database.Database;
  private readonly selectRows: Database.Statement;
  private readonly maxId: Database.Statement;
  private readonly bootRow: Database.Statement;
  private readonly boots = new Map<number, RegisteredBoot>();

  constructor(private readonly init: BuilderInit) {
    this.db = new Database(init.dbFile, { fileMustExist: true, readonly: true, timeout: 5000 });
    // Rows as arrays: better-sqlite3's named-row objects cost twice as much to make as these literals.
    this.selectRows = this.db.prepare('SELECT id, boot, seq, ts, kind, proto, src, dst, sport, dport, fields FROM events WHERE id > ? ORDER BY id LIMIT ?').raw();
    this.maxId = this.db.prepare('SELECT max(id) AS hi FROM events');
    this.bootRow = this.db.prepare('SELECT id_prefix, observer FROM boots WHERE id = ?');
  }

  handle(m: ToBuilder): FromBuilder | undefined {
    if (m.t === 'forget') {
      this.boots.clear();
      return undefined;
    }
    for (const [boot, reg] of m.boots) this.boots.set(boot, reg);
    const rows = (this.selectRows.all(m.after, m.limit) as OutboxTuple[]).map((x): OutboxRow => ({
      id: x[0], boot: x[1], seq: x[2], ts: x[3], kind: x[4], proto: x[5], src: x[6], dst: x[7], sport: x[8], dport: x[9], fields: x[10],
    }));
    const first = rows[0];
    if (first === undefined) return { t: 'empty', id: m.id };
    const need = this.unknownBoots(rows);
    if (need.length > 0) return { t: 'boots', id: m.id, need };
    const hi = (this.maxId.get() as { hi: number | null }).hi ?? 0;
    const o = this.init.observer;
    const last = (rows[rows.length - 1] as OutboxRow).id;
    const batch = buildInsertBatch(rows, (boot) => this.boots.get(boot) as RegisteredBoot,
      { id: o.id, name: o.name, hostname: o.hostname, backlog: Math.max(0, hi - last), software: this.init.software }, m.form);
    return { t: 'built', id: m.id, firstId: first.id, rows: rows.length, batch };
  }

  private unknownBoots(rows: readonly OutboxRow[]): UnknownBoot[] {
    const need: UnknownBoot[] = [];
    let last = -1;
    for (const row of rows) {
      if (row.boot === last || this.boots.has(row.boot) || need.some((b) => b.boot === row.boot)) { last = row.boot; continue; }
      last = row.boot;
      const local = this.bootRow.get(row.boot) as { id_prefix: string; observer: string } | undefined;
      need.push(local === undefined
        ? { boot: row.boot, prefix: `${this.init.observer.id}-boot${row.boot}`, observer: this.init.observer }
        : { boot: row.boot, prefix: local.id_prefix, observer: JSON.parse(local.observer) as Observer });
    }
    return need;
  }
}

function main(): void {
  const port = parentPort;
  if (port === null) throw new Error('batch builder started outside a worker thread');
  const init = workerData as BuilderInit;
  lowerThreadPriority(init.nice);
  const builder = new BatchBuilder(init);
  port.on('message', (m: ToBuilder) => {
    let reply: FromBuilder | undefined;
    try {
      reply = builder.handle(m);
    } catch (err) {
      reply = m.t === 'build' ? { t: 'failed', id: m.id, message: err instanceof Error ? err.message : String(err) } : undefined;
    }
    if (reply !== undefined) port.postMessage(reply);
  });
}

main();
