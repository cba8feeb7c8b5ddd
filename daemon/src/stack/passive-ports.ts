/**
 * TCP ports a decoy opens for a moment, for one inbound connection: an FTP emulator's PASV/EPSV
 * data port. The engine asks here only when the template leaves the port closed, and only while
 * something is registered (a Map size check otherwise). Bounded; each entry is single use (taken
 * when its connection is established) and its owner closes it when the wait is over.
 */
import type { StreamService } from '../services/service';

/** Ports open at once across all decoys. */
export const MAX_PASSIVE_PORTS = 1024;

export class PassivePorts {
  private readonly byKey = new Map<number, StreamService>();

  constructor(private readonly max = MAX_PASSIVE_PORTS) {}

  get size(): number { return this.byKey.size; }

  has(ip: number, port: number): boolean {
    return this.byKey.has(ip * 65536 + port);
  }

  get(ip: number, port: number): StreamService | undefined {
    return this.byKey.get(ip * 65536 + port);
  }

  /**
   * Opens a free port of `ip` in [low, high] for `service`; `taken(port)` says which ports the host
   * already uses. Undefined when the table is full or no port was found in a few tries.
   */
  open(ip: number, service: StreamService, low: number, high: number, taken: (port: number) => boolean): number | undefined {
    if (this.byKey.size >= this.max) return undefined;
    for (let tries = 0; tries < 16; tries++) {
      const port = low + Math.floor(Math.random() * (high - low + 1));
      const key = ip * 65536 + port;
      if (this.byKey.has(key) || taken(port)) continue;
      this.byKey.set(key, service);
      return port;
    }
    return undefined;
  }

  close(ip: number, port: number): void {
    this.byKey.delete(ip * 65536 + port);
  }
}

/** The daemon's one table (the engine and the FTP emulator share it). */
export const passivePorts = new PassivePorts();
