import pino, { type Logger } from 'pino';
import type { DecoyEvent, DecoyEventKind, EventSink } from './event';

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** The level each kind of event is logged at: per-packet decisions at info, trouble higher. */
const LEVEL_OF: Record<DecoyEventKind, Level> = {
  'arp.reply': 'info', 'arp.claim': 'info', 'arp.release': 'warn', 'arp.announce': 'info', 'arp.conflict': 'warn', 'arp.probe': 'debug',
  icmp: 'info', 'tcp.packet': 'info', 'udp.packet': 'info', 'tcp.open': 'info', 'tcp.close': 'info',
  drop: 'info', 'scan.detected': 'warn', route: 'info', 'service.identity': 'info', 'service.probe': 'info',
  'dhcp.lease': 'info', 'dhcp.renew': 'info', 'dhcp.release': 'info', 'dhcp.lost': 'warn',
  'daemon.start': 'info', 'daemon.stop': 'info', 'daemon.bind': 'info', 'daemon.refuse': 'warn', 'daemon.error': 'error',
};

/** Logs every event as one pino JSON line. Events go through `emit` unchanged (their `kind` is the message key). */
export class PinoEventSink implements EventSink {
  private readonly enabled = new Map<DecoyEventKind, boolean>();
  /** Lifecycle lines (start, stop, errors) are written whatever the level: operators and scripts wait for them. */
  private readonly lifecycle: Logger;

  constructor(readonly logger: Logger) {
    this.lifecycle = logger.child({}, { level: 'info' });
    for (const kind of Object.keys(LEVEL_OF) as DecoyEventKind[]) {
      this.enabled.set(kind, kind.startsWith('daemon.') || logger.isLevelEnabled(LEVEL_OF[kind]));
    }
  }

  wants(kind: DecoyEventKind): boolean {
    return this.enabled.get(kind) === true;
  }

  emit(event: DecoyEvent): void {
    if (this.enabled.get(event.kind) !== true) return;
    const target = event.kind.startsWith('daemon.') ? this.lifecycle : this.logger;
    target[LEVEL_OF[event.kind]](event);
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
