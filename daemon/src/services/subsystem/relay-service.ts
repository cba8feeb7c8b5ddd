/**
 * The service behind a port a subsystem program listens on: each connection the decoy accepts is
 * carried to the program's Unix socket, after a 12-byte header (peer IPv4 and port, local IPv4 and
 * port, network order) that the shim's accept() reads to fake the addresses. Both directions keep
 * back-pressure: when the peer's send buffer is full the program's socket is paused, and when the
 * program reads slowly the decoy's receive window closes.
 */
import { connect, type Socket } from 'node:net';
import type { StreamContext, StreamService, StreamSession } from '../service';
import { parseIp } from '../../wire/address';

export const RELAY_HEADER_LENGTH = 12;

/** The header the shim expects first on every connection. */
export function relayHeader(peerIp: string, peerPort: number, localIp: string, localPort: number): Buffer {
  const h = Buffer.alloc(RELAY_HEADER_LENGTH);
  h.writeUInt32BE(parseIp(peerIp) >>> 0, 0);
  h.writeUInt16BE(peerPort, 4);
  h.writeUInt32BE(parseIp(localIp) >>> 0, 6);
  h.writeUInt16BE(localPort, 10);
  return h;
}

export class SubsystemRelayService implements StreamService {
  readonly name = 'subsystem';
  constructor(readonly socketPath: string) {}

  open(ctx: StreamContext): StreamSession {
    const unix: Socket = connect(this.socketPath);
    unix.write(relayHeader(ctx.remote.address, ctx.remote.port, ctx.local.address, ctx.local.port));
    // Program bytes the peer's send buffer could not take yet (at most one chunk: the socket is paused meanwhile).
    let held: Buffer | null = null;
    let programEnded = false;
    let closed = false;
    const flush = (): boolean => {
      if (held === null) return true;
      const room = ctx.writable ?? held.length;
      if (room <= 0) return false;
      if (room >= held.length) {
        ctx.write(held);
        held = null;
        return true;
      }
      ctx.write(held.subarray(0, room));
      held = held.subarray(room);
      return false;
    };
    unix.on('data', (chunk: Buffer) => {
      held = held === null ? chunk : Buffer.concat([held, chunk]);
      if (!flush()) unix.pause();
    });
    unix.on('drain', () => ctx.resume?.());
    unix.on('end', () => {
      programEnded = true;
      if (held === null) ctx.end();
    });
    unix.on('error', () => {
      // Refused (the program is gone or not listening yet) or broken: the peer sees a reset.
      if (!closed) ctx.reset();
    });
    return {
      onData: (data) => {
        if (!unix.write(data)) ctx.pause?.();
      },
      onDrain: () => {
        if (!flush()) return;
        if (programEnded) ctx.end();
        else unix.resume();
      },
      onEnd: () => unix.end(),
      onClose: () => {
        closed = true;
        held = null;
        unix.destroy();
      },
    };
  }
}
