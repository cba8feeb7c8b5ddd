/**
 * The parts of ssh2 (1.17) that its public Server does not expose, in one place: a connection
 * object built per stream with this connection's host keys and KEXINIT offer (the public Server
 * fixes both at construction and validates names against its own SUPPORTED lists), the
 * algorithm tables, and a DISCONNECT with a description (ssh2's `disconnect` sends none).
 */
import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Connection, ParsedKey } from 'ssh2';
import { utils } from 'ssh2';

/* eslint-disable @typescript-eslint/no-require-imports */
interface KexInitLists { kex: string[]; serverHostKey: string[]; cs: { cipher: string[]; mac: string[]; compress: string[]; lang: string[] }; sc: { cipher: string[]; mac: string[]; compress: string[]; lang: string[] } }
type KexInitCtor = new (lists: KexInitLists) => object;
type IncomingClientCtor = new (socket: Duplex, hostKeys: Record<string, ParsedKey>, ident: Buffer, offer: object, debug: undefined, server: Pick<EventEmitter, 'emit'>, cfg: Record<string, unknown>) => Connection;

const kexModule = require('ssh2/lib/protocol/kex.js') as { KexInit: KexInitCtor };
const serverModule = require('ssh2/lib/server.js') as { IncomingClient: IncomingClientCtor };
const constants = require('ssh2/lib/protocol/constants.js') as {
  SUPPORTED_KEX: string[]; SUPPORTED_CIPHER: string[]; SUPPORTED_MAC: string[]; SUPPORTED_SERVER_HOST_KEY: string[]; SUPPORTED_COMPRESSION: string[];
};
const cryptoModule = require('ssh2/lib/protocol/crypto.js') as { CIPHER_INFO: Record<string, { authLen: number }> };

export const SSH2_SUPPORTED = {
  kex: new Set(constants.SUPPORTED_KEX),
  hostKey: new Set(constants.SUPPORTED_SERVER_HOST_KEY),
  cipher: new Set(constants.SUPPORTED_CIPHER),
  mac: new Set(constants.SUPPORTED_MAC),
  compression: new Set(constants.SUPPORTED_COMPRESSION),
};

export const SSH2_AEAD = new Set(constants.SUPPORTED_CIPHER.filter((c) => (cryptoModule.CIPHER_INFO[c]?.authLen ?? 0) > 0));

export interface ServerOffer { kex: string[]; hostKey: string[]; ciphers: string[]; macs: string[]; compression: string[] }

/** An ssh2 server-side connection over `socket`; `onConnection` is what Server's `connection` event would get. */
export function incomingConnection(socket: Duplex, hostKeys: Record<string, ParsedKey>, software: string, offer: ServerOffer,
  onConnection: (client: Connection, info: { header: { identRaw: string; versions: { protocol: string; software: string }; comments?: string } }) => void): Connection {
  const kexinit = new kexModule.KexInit({
    kex: offer.kex, serverHostKey: offer.hostKey,
    cs: { cipher: offer.ciphers, mac: offer.macs, compress: offer.compression, lang: [] },
    sc: { cipher: offer.ciphers, mac: offer.macs, compress: offer.compression, lang: [] },
  });
  const server = { emit: (event: string | symbol, ...args: unknown[]): boolean => {
    if (event === 'connection') onConnection(args[0] as Connection, args[1] as never);
    return true;
  } };
  // Keepalives are sshd's ClientAliveInterval 0: none.
  const client = new serverModule.IncomingClient(socket, hostKeys, Buffer.from(software, 'latin1'), kexinit, undefined, server, { keepaliveInterval: 0, keepaliveCountMax: 0 });
  // ssh2 turns strict KEX on whenever the client asks for it, even when the server did not offer
  // it (its own offer always does). A build without the Terrapin fix must stay in the old mode,
  // or sequence numbers part ways with the client's after NEWKEYS.
  if (!offer.kex.includes('kex-strict-s-v00@openssh.com')) {
    const proto = (client as unknown as { _protocol?: { _strictMode?: boolean } })._protocol;
    if (proto !== undefined) proto._strictMode = false;
  }
  return client;
}

interface ProtocolInternals {
  _packetRW: { write: { allocStartKEX: number; alloc(n: number, force: boolean): Buffer; finalize(p: Buffer, force: boolean): Buffer } };
  _cipher: { encrypt(p: Buffer): void };
}

/** SSH_MSG_DISCONNECT with OpenSSH's description text (`Too many authentication failures`). */
export function disconnectWith(client: Connection, reason: number, description: string): void {
  const proto = (client as unknown as { _protocol?: ProtocolInternals })._protocol;
  if (proto === undefined) return;
  try {
    const desc = Buffer.from(description, 'utf8');
    const len = 1 + 4 + 4 + desc.length + 4;
    let p = proto._packetRW.write.allocStartKEX;
    const packet = proto._packetRW.write.alloc(len, true);
    packet[p] = 1;
    packet.writeUInt32BE(reason, ++p);
    packet.writeUInt32BE(desc.length, p += 4);
    packet.set(desc, p += 4);
    packet.writeUInt32BE(0, p + desc.length);
    proto._cipher.encrypt(proto._packetRW.write.finalize(packet, true));
  } catch {
    // The connection is already gone: nothing to tell.
  }
}

export function parsePrivateKey(pem: string): ParsedKey {
  const k = utils.parseKey(pem);
  if (k instanceof Error) throw k;
  return Array.isArray(k) ? (k[0] as ParsedKey) : k;
}
