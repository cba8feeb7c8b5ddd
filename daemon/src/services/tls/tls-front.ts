/**
 * The front of a TLS port: waits for the client's TLS (or SSLv2-framed) hello, holds it (bounded)
 * until the host's certificate is ready (RSA keys are made off the event loop), then runs a
 * TlsSession with the inner session on top. Anything else that arrives first is handed to
 * `onCleartext` (a product's "plain HTTP to an HTTPS port" answer) or read and ignored, as a TLS
 * server does. Used by every TLS-wrapped service (identities, HTTPS, SMTPS, IMAPS, POP3S).
 */

import type { SecureContext } from 'node:tls';
import type { StreamContext, StreamSession } from '../service';
import { TlsSession, looksLikeTls } from './tls-session';

/** Bytes of a hello held while the certificate is being made. */
export const MAX_HELLO_WAIT = 16 * 1024;

export interface TlsFrontHooks {
  /** The handshake finished: the session that speaks the protocol inside. */
  onSecure(inner: StreamContext, protocol: string): StreamSession;
  /** First bytes that are not a TLS hello: a session to answer them, or undefined to ignore them. */
  onCleartext?(first: Buffer): StreamSession | undefined;
}

export function tlsFront(ctx: StreamContext, secure: SecureContext | Promise<SecureContext>, hooks: TlsFrontHooks): StreamSession {
  let tls: TlsSession | undefined;
  let plain: StreamSession | undefined;
  let waiting: Buffer[] | undefined;
  let waitingBytes = 0;
  let ended = false;
  let closed = false;
  const start = (context: SecureContext): TlsSession | undefined => {
    if (closed) return undefined;
    const session = new TlsSession(ctx, context, { onSecure: (inner, protocol) => hooks.onSecure(inner, protocol) });
    tls = session;
    for (const d of waiting ?? []) session.onData(d);
    waiting = undefined;
    if (ended) session.onEnd();
    return session;
  };
  return {
    onData: (data) => {
      if (tls !== undefined) { tls.onData(data); return; }
      if (plain !== undefined) { plain.onData(data); return; }
      if (waiting === undefined) {
        if (!looksLikeTls(data)) {
          plain = hooks.onCleartext?.(data);
          plain?.onData(data);
          return;
        }
        waiting = [];
        if (!(secure instanceof Promise)) {
          start(secure)?.onData(data);
          return;
        }
        secure.then(start, () => { if (!closed) ctx.end(); });
      }
      waitingBytes += data.length;
      if (waitingBytes > MAX_HELLO_WAIT) { ctx.reset(); return; }
      waiting.push(data);
    },
    onEnd: () => {
      ended = true;
      if (tls !== undefined) tls.onEnd();
      else if (plain !== undefined) plain.onEnd();
      else if (waiting === undefined) ctx.end();
    },
    onDrain: () => { tls?.onDrain(); plain?.onDrain?.(); },
    onClose: () => { closed = true; waiting = undefined; tls?.onClose(); plain?.onClose(); },
  };
}
