/** The StoreQuery when no store is configured: the API still answers, with nothing recorded. */
import type { EventPage, ScanRecord, SourceDetail, SourceSummary, StoreQuery, StoreStats } from './query';

export class NoStore implements StoreQuery {
  async events(): Promise<EventPage> { return { events: [] }; }
  async sources(): Promise<SourceSummary[]> { return []; }
  async source(): Promise<SourceDetail | undefined> { return undefined; }
  async scans(): Promise<ScanRecord[]> { return []; }
  async stats(): Promise<StoreStats> { return { events: 0, sources: 0, scans: 0, bytes: 0 }; }
}
