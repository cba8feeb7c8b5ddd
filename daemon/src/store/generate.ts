/**
 * Synthetic events for the store benchmark: `count` tcp.packet/udp.packet/icmp events from
 * `sources` scanners to 250 decoys, inserted through the real ingest path in batches. Traffic is
 * scan-shaped, as on the wire: each source in turn sends a run of probes (ports 1-1024 across
 * a few decoys), so the number of sources and ports per source is realistic.
 * Runs inside the store worker so building 10 million rows costs no message passing.
 */
import type { DecoyEvent } from '../events/event';
import { ipToString } from '../wire/address';
import type { StoreDb } from './store-db';

export function generateEvents(store: StoreDb, count: number, sources: number, batch: number): void {
  const start = Date.now() - count; // one event a millisecond, ending now
  let rng = 0x9e3779b9;
  const next = (): number => {
    rng ^= rng << 13; rng >>>= 0;
    rng ^= rng >>> 17;
    rng ^= rng << 5; rng >>>= 0;
    return rng;
  };
  const srcBase = (203 << 24 | 0 << 16 | 113 << 8) >>> 0;
  const dstBase = (198 << 24 | 51 << 16 | 100 << 8) >>> 0;
  let events: DecoyEvent[] = [];
  let seqs: number[] = [];
  for (let n = 0; n < count; n++) {
    const r = next();
    // Runs of 2,000 probes per source; the scanned decoy changes every 500.
    const run = Math.floor(n / 2000);
    const src = ipToString(((srcBase & 0xffff0000) | ((run * 7919) % sources)) >>> 0);
    const dst = ipToString((dstBase + 1 + ((run * 4 + Math.floor(n / 500)) % 250)) >>> 0);
    const time = start + n;
    const pick = (r >>> 24) & 15;
    const macs = { srcMac: '02:00:00:00:00:02', dstMac: '00:1b:21:00:00:01', srcIp: src, dstIp: dst };
    let e: DecoyEvent;
    if (pick === 0) e = { kind: 'icmp', time, ...macs, type: 8, code: 0, answer: 'echo-reply' };
    else if (pick === 1) e = { kind: 'udp.packet', time, ...macs, srcPort: 40000 + (r & 1023), dstPort: 1 + (n % 1024), length: 0, state: 'closed', answer: 'port-unreachable' };
    else e = { kind: 'tcp.packet', time, ...macs, srcPort: 40000 + (r & 1023), dstPort: 1 + (n % 1024), flags: 'S', state: 'closed', answer: 'rst-ack' };
    events.push(e);
    seqs.push(n + 1);
    if (events.length >= batch) {
      store.insert(events, seqs);
      events = [];
      seqs = [];
    }
  }
  store.insert(events, seqs);
}
