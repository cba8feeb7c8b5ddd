/**
 * One TCP test line (T1–T7, ECN) compiled from chosen values into the fields of a reply:
 * whether to answer, flags, how seq/ack relate to the probe, window, options, DF, TTL, RST data
 * and quirks (digest §5.8–§5.9).
 */

import { TcpFlag } from '../host-personality';
import { forgeCrc32 } from './crc32';
import { OptionToken, parseOptionString } from './tcp-options';

export type SeqRule = 'Z' | 'A' | 'A+' | 'O';
export type AckRule = 'Z' | 'S' | 'S+' | 'O';

export interface TcpLineModel {
  /** Test name the line came from, or `default` when the entry lacked it. */
  source: string;
  reply: boolean;
  flags: number;
  seq: SeqRule;
  ack: AckRule;
  window: number;
  /** Options to send (literal layout of the line), empty for none. */
  options: OptionToken[];
  df: boolean;
  ttl: number;
  /** RST payload whose CRC-32 is the line's RD, or null. */
  rstData: Buffer | null;
  /** Q=R: set a reserved bit; Q=U: non-zero urgent pointer with URG clear. */
  quirkReserved: boolean;
  quirkUrgent: boolean;
}

const FLAG_LETTERS: Record<string, number> = {
  E: TcpFlag.ECE,
  U: TcpFlag.URG,
  A: TcpFlag.ACK,
  P: TcpFlag.PSH,
  R: TcpFlag.RST,
  S: TcpFlag.SYN,
  F: TcpFlag.FIN,
};

export function parseFlagLetters(text: string): number {
  let flags = 0;
  for (const c of text) flags |= FLAG_LETTERS[c] ?? 0;
  return flags;
}

export function flagLetters(flags: number): string {
  let s = '';
  for (const c of 'EUAPRSF') if (flags & FLAG_LETTERS[c]) s += c;
  return s;
}

export interface LineDefaults {
  flags: string;
  seq: SeqRule;
  ack: AckRule;
  df: boolean;
  ttl: number;
  reply: boolean;
}

/** Compile a line from its chosen values; attributes it lacks come from `defaults`. */
export function compileTcpLine(source: string, values: Map<string, string> | undefined, defaults: LineDefaults): TcpLineModel {
  const get = (a: string): string | undefined => values?.get(a);
  const r = get('R');
  const reply = values === undefined ? defaults.reply : r !== 'N';
  const t = get('T');
  const tg = get('TG');
  const ttl = t !== undefined ? parseInt(t, 16) : tg !== undefined ? Math.min(255, parseInt(tg, 16)) : defaults.ttl;
  const seq = get('S');
  const ack = get('A');
  const rd = get('RD');
  const rdValue = rd !== undefined && /^[0-9A-F]+$/i.test(rd) ? parseInt(rd, 16) : 0;
  const flags = parseFlagLetters(get('F') ?? defaults.flags);
  const q = get('Q') ?? '';
  const opts = get('O');
  return {
    source: values === undefined ? 'default' : source,
    reply,
    flags,
    seq: seq === 'Z' || seq === 'A' || seq === 'A+' || seq === 'O' ? seq : defaults.seq,
    ack: ack === 'Z' || ack === 'S' || ack === 'S+' || ack === 'O' ? ack : defaults.ack,
    window: get('W') !== undefined ? parseInt(get('W') as string, 16) || 0 : 0,
    options: (opts !== undefined ? parseOptionString(opts) : null) ?? [],
    df: (get('DF') ?? (defaults.df ? 'Y' : 'N')) === 'Y',
    ttl: Number.isFinite(ttl) && ttl > 0 ? ttl : defaults.ttl,
    rstData: rdValue !== 0 && flags & TcpFlag.RST ? forgeCrc32(rdValue) : null,
    quirkReserved: q.includes('R'),
    quirkUrgent: q.includes('U'),
  };
}
