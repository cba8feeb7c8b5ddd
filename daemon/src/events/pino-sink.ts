import pino, { type Logger } from 'pino';
import type { DecoyEvent, DecoyEventKind, EventSink } from './event';
import { toEcs, type EcsContext } from './ecs';
import type { RecordSink } from './fanout-sink';

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** The level each kind of event is logged at: per-packet decisions at info, trouble higher. */
const LEVEL_OF: Record<DecoyEventKind, Level> = {
  'arp.reply': 'info', 'arp.claim': 'info', 'arp.release': 'warn', 'arp.announce': 'info', 'arp.conflict': 'warn', 'arp.probe': 'debug',
  icmp: 'info', 'tcp.packet': 'info', 'udp.packet': 'info', 'tcp.open': 'info', 'tcp.close': 'info',
  drop: 'info', 'scan.detected': 'warn', route: 'info', 'service.identity': 'info', 'service.probe': 'info',
  'dhcp.lease': 'info', 'dhcp.renew': 'info', 'dhcp.release': 'info', 'dhcp.lost': 'warn',
  'service.request': 'info', 'service.login': 'warn', 'service.command': 'warn', 'service.message': 'warn', 'service.session': 'info',
  'script.start': 'info', 'script.exit': 'info', 'script.limit': 'warn',
  'subsystem.start': 'info', 'subsystem.listen': 'info', 'subsystem.unlisten': 'info', 'subsystem.exit': 'warn',
  'proxy.open': 'info', 'proxy.close': 'info', 'proxy.refused': 'warn', 'tarpit.open': 'info', 'tarpit.close': 'info',
  'daemon.start': 'info', 'daemon.stop': 'info', 'daemon.bind': 'info', 'daemon.refuse': 'warn', 'daemon.error': 'error',
};

/** Logs every event as one pino JSON line holding its ECS document (ecs.ts), plus pino's `level`. */
export class PinoEventSink implements EventSink, RecordSink {
  private standaloneSequence = 0;

  private readonly enabled = new Map<DecoyEventKind, boolean>();
  /** Lifecycle lines (start, stop, errors) are written whatever the level: operators and scripts wait for them. */
  private readonly lifecycle: Logger;

  constructor(readonly logger: Logger, private readonly ecs: EcsContext) {
    this.lifecycle = logger.child({}, { level: 'info' });
    for (const kind of Object.keys(LEVEL_OF) as DecoyEventKind[]) {
      this.enabled.set(kind, kind.startsWith('daemon.') || logger.isLevelEnabled(LEVEL_OF[kind]));
    }
  }

  wants(kind: DecoyEventKind): boolean {
    return this.enabled.get(kind) === true;
  }

  /** For use without a fan-out sink: numbers events itself. */
  emit(event: DecoyEvent): void {
    this.write(event, ++this.standaloneSequence);
  }

  write(event: DecoyEvent, sequence: number): void {
    if (this.enabled.get(event.kind) !== true) return;
    const target = event.kind.startsWith('daemon.') ? this.lifecycle : this.logger;
    target[LEVEL_OF[event.kind]](toEcs(event, sequence, this.ecs));
  }
}

/**
 * A logger writing JSON lines to stdout through an asynchronous, bounded buffer: when the reader
 * cannot keep up beyond `maxBufferBytes`, lines are dropped and counted rather than piling up in memory.
 */
export function createLogger(level: Level, maxBufferBytes = 16 << 20): { logger: Logger; flush: () => void; dropped: () => number } {
  let droppedLines = 0;
  const dest = pino.destination({ dest: 1, sync: false, maxLength: maxBufferBytes });
  dest.on('drop', () => { droppedLines++; });
  const logger = pino({ level, base: undefined, timestamp: false, formatters: { level: (label) => ({ level: label }) } }, dest);
  return { logger, flush: () => { try { dest.flushSync(); } catch { /* stdout closed */ } }, dropped: () => droppedLines };
}
