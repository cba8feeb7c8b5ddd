/**
 * What the PostgreSQL shipper's thread reports to the daemon thread for /metrics, and its state
 * before the first report.
 */
import { PG_FAILURES, type PgFailure } from './postgres-errors';

export interface PgShipStatus {
  /** Events PostgreSQL committed from this sensor (replays it already had are not counted). */
  shipped: number;
  /** Rows offered again that PostgreSQL already held (after a lost acknowledgement or a kill). */
  duplicatesSkipped: number;
  /** Events in the store past the watermark. */
  backlog: number;
  /** Events retention deleted from the store before they could be shipped. */
  lostToRetention: number;
  /** Events PostgreSQL refused as data (SQLSTATE class 22 or 23), one by one, and that were skipped. */
  refused: number;
  batches: number;
  connected: boolean;
  errors: Record<PgFailure, number>;
  /** The failure now in effect (absent while shipping works). */
  failing?: PgFailure;
  lastError?: string;
}

/** Nothing shipped, not connected, no errors: the status until the thread sends its first one. */
export function emptyPgShipStatus(): PgShipStatus {
  return {
    shipped: 0, duplicatesSkipped: 0, backlog: 0, lostToRetention: 0, refused: 0, batches: 0, connected: false,
    errors: Object.fromEntries(PG_FAILURES.map((f) => [f, 0])) as Record<PgFailure, number>,
  };
}
