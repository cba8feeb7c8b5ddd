/**
 * Key-exchange lists: reading the client's first (clear-text) packet, HASSH of both sides, and
 * the server offer that keeps the claimed version's lists while never letting negotiation land on
 * an algorithm ssh2 cannot run.
 *
 * RFC 4253 §7.1: for each category the chosen algorithm is the first one on the *client's* list
 * that the server also lists. So a name the server cannot run is harmless exactly when the client
 * would not choose it: either the client does not list it, or it lists something the server
 * supports earlier. The offer drops such a name only when this client would choose it (and a MAC
 * list is never used when the chosen cipher is an AEAD one). A client that sends its KEXINIT at
 * once (OpenSSH, PuTTY, ssh-keyscan, nmap, zgrab) sees every name the version offers that it would
 * not pick, which for most scanners is the whole list.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface KexLists {
  kex: string[];
  hostKey: string[];
  cipherCs: string[];
  cipherSc: string[];
  macCs: string[];
  macSc: string[];
  compCs: string[];
  compSc: string[];
}

/** The largest clear-text packet accepted (OpenSSH PACKET_MAX_SIZE). */
export const PACKET_MAX_SIZE = 256 * 1024;

export type FirstPacket =
  | { kind: 'more' }
  | { kind: 'kexinit'; lists: KexLists; length: number }
  /** A well-framed packet that is not a readable KEXINIT: let ssh2 answer it. */
  | { kind: 'other'; length: number }
  /** packet_length out of range: OpenSSH discards silently (ssh_packet_start_discard) and drops. */
  | { kind: 'bad-length' };

const MSG_KEXINIT = 20;

export function readFirstPacket(data: Buffer): FirstPacket {
  if (data.length < 5) return { kind: 'more' };
  const len = data.readUInt32BE(0);
  if (len < 5 || len > PACKET_MAX_SIZE) return { kind: 'bad-length' };
  if (data.length < 4 + len) return { kind: 'more' };
  const pad = data[4] as number;
  if (pad >= len) return { kind: 'other', length: 4 + len };
  const payload = data.subarray(5, 4 + len - pad);
  if (payload[0] !== MSG_KEXINIT || payload.length < 17) return { kind: 'other', length: 4 + len };
  const lists: string[][] = [];
  let p = 17;
  for (let i = 0; i < 10; i++) {
    if (p + 4 > payload.length) return { kind: 'other', length: 4 + len };
    const n = payload.readUInt32BE(p);
    p += 4;
    if (p + n > payload.length) return { kind: 'other', length: 4 + len };
    const text = payload.subarray(p, p + n).toString('latin1');
    p += n;
    lists.push(text.length === 0 ? [] : text.split(','));
  }
  const [kex, hostKey, cipherCs, cipherSc, macCs, macSc, compCs, compSc] = lists as [string[], string[], string[], string[], string[], string[], string[], string[]];
  return { kind: 'kexinit', lists: { kex, hostKey, cipherCs, cipherSc, macCs, macSc, compCs, compSc }, length: 4 + len };
}

/** salesforce/hassh: md5 of `kex;enc;mac;cmp` (client to server for the client, server to client for the server). */
export function hasshClient(l: KexLists): string {
  return md5([l.kex, l.cipherCs, l.macCs, l.compCs].map((x) => x.join(',')).join(';'));
}

export function hasshServer(kex: readonly string[], ciphers: readonly string[], macs: readonly string[], comp: readonly string[]): string {
  return md5([kex, ciphers, macs, comp].map((x) => x.join(',')).join(';'));
}

function md5(s: string): string {
  return createHash('md5').update(s, 'latin1').digest('hex');
}

/** RFC 4253 §7.1: the first client algorithm the server lists. */
export function negotiate(client: readonly string[], server: readonly string[]): string | undefined {
  for (const c of client) if (server.includes(c)) return c;
  return undefined;
}

/**
 * `wanted` minus the names this client would choose although `supported` lacks them (repeated until
 * the choice is runnable or nothing is left in common).
 */
export function pruneFor(wanted: readonly string[], client: readonly string[] | undefined, supported: ReadonlySet<string>): string[] {
  if (client === undefined) return wanted.filter((a) => supported.has(a));
  let list = [...wanted];
  for (;;) {
    const pick = negotiate(client, list);
    if (pick === undefined || supported.has(pick)) return list;
    list = list.filter((a) => a !== pick);
  }
}

export interface OfferLists {
  kex: string[];
  hostKey: string[];
  ciphers: string[];
  macs: string[];
  compression: string[];
}

/** Names that only signal something; they are never a negotiated algorithm. */
const SIGNALS = new Set(['ext-info-s', 'ext-info-c', 'kex-strict-s-v00@openssh.com', 'kex-strict-c-v00@openssh.com', 'kexguess2@matt.ucc.asn.au']);

/**
 * The offer for one client: `client` undefined (no KEXINIT seen in time) gives the lists with
 * every name ssh2 cannot run removed.
 */
export function offerFor(wanted: OfferLists, client: KexLists | undefined, supported: { kex: ReadonlySet<string>; hostKey: ReadonlySet<string>; cipher: ReadonlySet<string>; mac: ReadonlySet<string>; compression: ReadonlySet<string> }, aead: ReadonlySet<string>): OfferLists {
  const kexRunnable = new Set([...supported.kex].filter((k) => !SIGNALS.has(k)));
  // Signals stay (they change nothing a client can choose): prune only real algorithms.
  const kex = pruneFor(wanted.kex, client?.kex, new Set([...kexRunnable, ...[...SIGNALS].filter((s) => !(client?.kex ?? []).includes(s))]));
  const hostKey = pruneFor(wanted.hostKey, client?.hostKey, supported.hostKey);
  // Both directions share one list (sshd offers the same one twice): prune for both.
  let ciphers = pruneFor(wanted.ciphers, client?.cipherCs, supported.cipher);
  ciphers = pruneFor(ciphers, client?.cipherSc, supported.cipher);
  const csCipher = client ? negotiate(client.cipherCs, ciphers) : undefined;
  const scCipher = client ? negotiate(client.cipherSc, ciphers) : undefined;
  let macs = [...wanted.macs];
  if (client === undefined) macs = macs.filter((m) => supported.mac.has(m));
  else {
    if (csCipher === undefined || !aead.has(csCipher)) macs = pruneFor(macs, client.macCs, supported.mac);
    if (scCipher === undefined || !aead.has(scCipher)) macs = pruneFor(macs, client.macSc, supported.mac);
  }
  let compression = pruneFor(wanted.compression, client?.compCs, supported.compression);
  compression = pruneFor(compression, client?.compSc, supported.compression);
  return { kex, hostKey, ciphers, macs, compression };
}

/**
 * A clear-text SSH_MSG_KEXINIT packet of this offer (random cookie, random padding as OpenSSH's
 * `none` cipher pads), for when sshd would have sent its KEXINIT but ssh2 never runs (a client
 * whose first packet has a bad length: OpenSSH has sent its KEXINIT by then and goes silent).
 */
export function kexinitPacket(o: OfferLists): Buffer {
  const lists = [o.kex, o.hostKey, o.ciphers, o.ciphers, o.macs, o.macs, o.compression, o.compression, [], []];
  const parts: Buffer[] = [Buffer.from([MSG_KEXINIT]), randomBytes(16)];
  for (const l of lists) {
    const text = Buffer.from(l.join(','), 'latin1');
    const n = Buffer.alloc(4);
    n.writeUInt32BE(text.length);
    parts.push(n, text);
  }
  parts.push(Buffer.alloc(5)); // first_kex_packet_follows, reserved
  const payload = Buffer.concat(parts);
  let pad = 8 - ((payload.length + 5) % 8);
  if (pad < 4) pad += 8;
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length + pad + 1);
  head[4] = pad;
  return Buffer.concat([head, payload, randomBytes(pad)]);
}
