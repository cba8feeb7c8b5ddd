/**
 * Prometheus metrics (prom-client). Totals the engine keeps anyway are read at scrape time;
 * per-protocol decisions and drop reasons are counted from the events some sink already builds
 * (an observer of the fan-out sink), so metrics never make the frame path build more.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { MetricsSource } from '../../admin-api/src/control';
import type { DecoyEvent, DecoyEventKind } from './events/event';
import type { RecordSink } from './events/fanout-sink';
import type { ShipperStats } from './ship/syslog-shipper';
import type { DetectorStats } from './detect/detector';

export interface MetricsInputs {
  loopDelayMaxMs: () => number;
  frames: () => { in: number; own: number; dropped: number; notForUs: number; out: number };
  connections: () => { open: number; opened: number; evicted: number; statelessSynAcks: number };
  hosts: () => number;
  events: () => number;
  logDropped: () => number;
  capture?: () => { frames: number; dropped: number };
  store?: () => { written: number; dropped: number; failed: number; queueDepth: number; lagMs: number };
  /** One entry per configured shipper (`ship:`). */
  shippers?: () => ShipperStats[];
  /** The scan detector's table sizes and counters (`detect.enabled`). */
  detector?: () => DetectorStats;
}

export class DaemonMetrics implements MetricsSource, RecordSink {
  readonly registry = new Registry();
  readonly contentType: string;
  private readonly packets: Counter<'proto' | 'decision'>;
  private readonly drops: Counter<'reason'>;

  constructor(inputs: MetricsInputs) {
    const r = this.registry;
    this.contentType = r.contentType;
    const mirror = (name: string, help: string, read: () => number): void => {
      new Counter({ name, help, registers: [r], collect() { this.reset(); this.inc(read()); } });
    };
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({ name, help, registers: [r], collect() { this.set(read()); } });
    };
    mirror('decoyd_frames_in_total', 'Frames captured', () => inputs.frames().in);
    mirror('decoyd_frames_for_decoys_total', 'Frames addressed to a decoy', () => inputs.frames().own);
    mirror('decoyd_frames_dropped_total', 'Frames dropped (malformed or by policy)', () => inputs.frames().dropped);
    mirror('decoyd_frames_out_total', 'Frames sent', () => inputs.frames().out);
    gauge('decoyd_tcp_connections', 'TCP connections in the table', () => inputs.connections().open);
    mirror('decoyd_tcp_connections_opened_total', 'TCP handshakes completed', () => inputs.connections().opened);
    mirror('decoyd_tcp_connections_evicted_total', 'TCP connections evicted at the table bound', () => inputs.connections().evicted);
    mirror('decoyd_tcp_stateless_synacks_total', 'SYN/ACKs sent without state past a bound', () => inputs.connections().statelessSynAcks);
    gauge('decoyd_event_loop_delay_max_seconds', 'Longest the daemon thread (and so the frame path) was held up since start', () => inputs.loopDelayMaxMs() / 1000);
    gauge('decoyd_hosts', 'Decoy hosts live', inputs.hosts);
    mirror('decoyd_events_total', 'Events emitted to at least one sink', inputs.events);
    mirror('decoyd_log_lines_dropped_total', 'Log lines dropped because stdout could not keep up', inputs.logDropped);
    if (inputs.capture !== undefined) {
      const capture = inputs.capture;
      mirror('decoyd_capture_frames_total', 'Frames written to the pcap capture', () => capture().frames);
      mirror('decoyd_capture_frames_dropped_total', 'Frames the pcap capture dropped (disk behind)', () => capture().dropped);
    }
    if (inputs.store !== undefined) {
      const store = inputs.store;
      mirror('decoyd_store_events_written_total', 'Events committed to the store', () => store().written);
      mirror('decoyd_store_events_dropped_total', 'Events dropped because the store queue was full', () => store().dropped);
      mirror('decoyd_store_events_failed_total', 'Events the store failed to write', () => store().failed);
      gauge('decoyd_store_queue_depth', 'Events queued or in flight to the store worker', () => store().queueDepth);
      gauge('decoyd_store_lag_seconds', 'Age of the oldest uncommitted batch', () => store().lagMs / 1000);
    }
    if (inputs.detector !== undefined) {
      const detector = inputs.detector;
      gauge('decoyd_detector_sources', 'Sources the scan detector tracks now', () => detector().sources);
      gauge('decoyd_detector_flows', 'Flows (source x scan style) the scan detector tracks now', () => detector().flows);
      gauge('decoyd_detector_campaigns', 'Reported scans still running', () => detector().campaigns);
      gauge('decoyd_detector_handshake_slots', 'Handshake table slots in use', () => detector().handshakes);
      mirror('decoyd_detector_packets_total', 'Packets the scan detector observed', () => detector().observed);
      mirror('decoyd_detector_reports_total', 'scan.detected events (first reports and updates)', () => detector().reports);
      mirror('decoyd_detector_sources_evicted_total', 'Sources forgotten because a detector table was full', () => detector().evictedSources);
      mirror('decoyd_detector_packets_unrecorded_total', 'Packets no flow could be made for', () => detector().unrecorded);
    }
    if (inputs.shippers !== undefined) {
      const shippers = inputs.shippers;
      new Counter({
        name: 'decoyd_ship_events_sent_total', help: 'Events a shipper handed to its collector', labelNames: ['shipper', 'kind'], registers: [r],
        collect() { this.reset(); for (const s of shippers()) this.inc({ shipper: s.name, kind: s.kind }, s.sent); },
      });
      new Counter({
        name: 'decoyd_ship_events_dropped_total', help: 'Events a shipper dropped, by reason (queue-full, oversize, transport; PostgreSQL: retention, refused)', labelNames: ['shipper', 'reason'], registers: [r],
        collect() { this.reset(); for (const s of shippers()) for (const [reason, n] of Object.entries(s.dropped)) this.inc({ shipper: s.name, reason }, n ?? 0); },
      });
      new Gauge({
        name: 'decoyd_ship_queue_events', help: 'Events waiting in a shipper\'s queue', labelNames: ['shipper'], registers: [r],
        collect() { this.reset(); for (const s of shippers()) this.set({ shipper: s.name }, s.queued); },
      });
      new Gauge({
        name: 'decoyd_ship_connected', help: '1 while a shipper\'s transport is up', labelNames: ['shipper'], registers: [r],
        collect() { this.reset(); for (const s of shippers()) this.set({ shipper: s.name }, s.connected ? 1 : 0); },
      });
      // Outbox shippers (postgres): the backlog left in the store, failures by reason, and the one in effect.
      new Gauge({
        name: 'decoyd_ship_backlog_events', help: 'Events kept in the store that the shipper has not yet had committed', labelNames: ['shipper'], registers: [r],
        collect() { this.reset(); for (const s of shippers()) if (s.backlog !== undefined) this.set({ shipper: s.name }, s.backlog); },
      });
      new Counter({
        name: 'decoyd_ship_errors_total', help: 'Failed shipping attempts by reason (auth, unreachable, schema, permission, timeout, other)', labelNames: ['shipper', 'reason'], registers: [r],
        collect() { this.reset(); for (const s of shippers()) for (const [reason, n] of Object.entries(s.errors ?? {})) this.inc({ shipper: s.name, reason }, n); },
      });
      new Gauge({
        name: 'decoyd_ship_failing', help: '1 for the reason a shipper is failing now (absent while it works)', labelNames: ['shipper', 'reason'], registers: [r],
        collect() { this.reset(); for (const s of shippers()) if (s.failing !== undefined) this.set({ shipper: s.name, reason: s.failing }, 1); },
      });
    }
    this.packets = new Counter({ name: 'decoyd_packets_in_total', help: 'Packets to decoys by protocol and answer (counted from events being recorded)', labelNames: ['proto', 'decision'], registers: [r] });
    this.drops = new Counter({ name: 'decoyd_drops_total', help: 'Drops by reason (counted from drop events being recorded)', labelNames: ['reason'], registers: [r] });
  }

  wants(_kind: DecoyEventKind): boolean {
    return false;
  }

  write(event: DecoyEvent): void {
    switch (event.kind) {
      case 'tcp.packet': this.packets.inc({ proto: 'tcp', decision: event.answer }, event.packets ?? 1); break;
      case 'udp.packet': this.packets.inc({ proto: 'udp', decision: event.answer }, event.packets ?? 1); break;
      case 'icmp': this.packets.inc({ proto: 'icmp', decision: event.answer }, event.packets ?? 1); break;
      case 'drop': this.drops.inc({ reason: event.reason }, event.packets ?? 1); break;
      default: break;
    }
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
