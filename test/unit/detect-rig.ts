/**
 * A packet engine with the scan detector as its observer, a recording sink and a controllable
 * clock: what the detector unit tests feed frames into.
 */
import assert from 'node:assert/strict';
import { DEFAULT_DETECT, type DetectConfig } from '../../daemon/src/config/types';
import { ScanDetector } from '../../daemon/src/detect/detector';
import { ServiceProbeTable } from '../../daemon/src/detect/service-probes';
import type { DecoyEvent, EventSink, ScanDetectedEvent } from '../../daemon/src/events/event';
import { Harness } from './stack-harness';

export const SCANNER_MAC = '02:00:5e:00:00:42';
export const DECOYS = Array.from({ length: 12 }, (_, i) => `198.51.100.${10 + i}`);
const PROBES = ServiceProbeTable.load();

/** Deterministic generator (xorshift32) so every run crafts the same frames. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

export class Rig {
  readonly events: DecoyEvent[] = [];
  readonly detector: ScanDetector;
  readonly h: Harness;

  constructor(cfg: Partial<DetectConfig> = {}) {
    const sink: EventSink = { wants: () => true, emit: (e) => { this.events.push(e); } };
    this.detector = new ScanDetector({ ...DEFAULT_DETECT, ...cfg }, sink, PROBES);
    this.h = new Harness({ observer: this.detector, hosts: DECOYS.map((address) => ({ address, template: 'linux' })) });
  }

  mac(ip: string): string { return this.h.macOf(ip); }

  feed(frame: Buffer): void { this.h.feed(frame); this.h.now += 2; }

  /** Runs the detector's timer `seconds` later (flows stay running unless idle). */
  tick(seconds = 1.5): void {
    this.h.now += seconds * 1000;
    this.detector.tick(this.h.now);
  }

  scans(): ScanDetectedEvent[] {
    return this.events.filter((e): e is ScanDetectedEvent => e.kind === 'scan.detected');
  }

  only(src: string): ScanDetectedEvent {
    const mine = this.scans().filter((e) => e.srcIp === src);
    assert.ok(mine.length > 0, `no scan.detected for ${src}; events: ${JSON.stringify(this.scans())}`);
    return mine[mine.length - 1] as ScanDetectedEvent;
  }
}

