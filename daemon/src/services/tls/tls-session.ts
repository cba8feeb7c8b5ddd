/**
 * Serves an inner StreamSession inside a real TLS handshake (node:tls over the connection's byte
 * stream): the connection's StreamContext becomes a Duplex, a server-side TLSSocket runs on it,
 * and the inner session sees cleartext through a StreamContext of its own.
 */

import { Duplex } from 'node:stream';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { StreamContext, StreamSession } from '../service';

export interface TlsSessionHooks {
  /** The handshake finished; open the inner session on `inner`. */
  onSecure(inner: StreamContext, protocol: string): StreamSession;
}

/** Whether `data` starts like a TLS record (handshake) or an SSLv2-framed hello. */
export function looksLikeTls(data: Buffer): boolean {
  if (data.length === 0) return false;
  if (data[0] === 0x16 && (data.length < 2 || data[1] === 0x03)) return true;
  return (data[0] & 0x80) !== 0 && data.length >= 3 && data[2] === 0x01;
}

export class TlsSession implements StreamSession {
  private readonly duplex: Duplex;
  private readonly socket: TLSSocket;
  private inner: StreamSession | undefined;
  private closed = false;
  /** Ciphertext the connection's send buffer had no room for, and the write callback it holds back. */
  private held: { data: Buffer; cb: (err?: Error | null) => void } | undefined;

  constructor(private readonly ctx: StreamContext, secureContext: SecureContext, hooks: TlsSessionHooks) {
    this.duplex = new Duplex({
      read: () => {},
      // Only what the send buffer takes now; the rest waits for onDrain (the callback with it), so
      // TLS records are never cut and the TLS socket's own buffer applies back-pressure upwards.
      write: (chunk: Buffer, _enc, cb) => { this.pushOut(chunk, cb); },
      final: (cb) => { ctx.end(); cb(); },
    });
    this.socket = new TLSSocket(this.duplex, { isServer: true, secureContext });
    this.socket.on('secure', () => {
      if (this.closed) return;
      const sock = this.socket;
      const innerCtx: StreamContext = {
        local: ctx.local,
        remote: ctx.remote,
        write: (data) => (this.closed ? false : sock.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data)),
        end: () => { sock.end(); },
        reset: () => { ctx.reset(); },
        get writable(): number { return Math.max(0, sock.writableHighWaterMark - sock.writableLength); },
        // Stop cleartext deliveries too (records already decrypted wait in the TLS socket).
        pause: () => { sock.pause(); ctx.pause?.(); },
        resume: () => { sock.resume(); ctx.resume?.(); },
      };
      sock.on('drain', () => { if (!this.closed) this.inner?.onDrain?.(); });
      this.inner = hooks.onSecure(innerCtx, sock.getProtocol() ?? 'unknown');
    });
    this.socket.on('data', (data: Buffer) => { this.inner?.onData(data); });
    this.socket.on('end', () => { this.inner?.onEnd(); });
    // A failed handshake (e.g. nmap's SSLv3 hello): OpenSSL has queued its alert; close after it.
    this.socket.on('error', () => { if (!this.closed) ctx.end(); });
  }

  onData(data: Buffer): void {
    if (!this.closed) this.duplex.push(data);
  }

  onEnd(): void {
    if (!this.closed) this.duplex.push(null);
  }

  onDrain(): void {
    const held = this.held;
    if (held === undefined || this.closed) return;
    this.held = undefined;
    this.pushOut(held.data, held.cb);
  }

  private pushOut(chunk: Buffer, cb: (err?: Error | null) => void): void {
    if (this.closed) { cb(); return; }
    const room = this.ctx.writable ?? chunk.length;
    if (room >= chunk.length) { this.ctx.write(chunk); cb(); return; }
    if (room > 0) this.ctx.write(chunk.subarray(0, room));
    this.held = { data: chunk.subarray(Math.max(0, room)), cb };
  }

  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.held = undefined;
    this.inner?.onClose();
    this.socket.destroy();
    this.duplex.destroy();
  }
}
