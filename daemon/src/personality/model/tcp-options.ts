/**
 * TCP option layouts written as Nmap's option strings (`M5B4NW7SLLT11`, digest §2.3), and their
 * encoding into wire bytes. A layout is parsed once; encoding writes into caller-owned scratch.
 */

export type OptionToken =
  | { kind: 'M'; mss: number }
  | { kind: 'W'; shift: number }
  | { kind: 'S' }
  | { kind: 'T'; valNonZero: boolean; ecrNonZero: boolean }
  | { kind: 'N' }
  | { kind: 'L' };

export type OptionKind = OptionToken['kind'];

/** Bit per negotiable option kind, for sets of offered/sent options. */
export const OptBit = { M: 1, W: 2, S: 4, T: 8 } as const;

export const TOKEN_BYTES: Record<OptionKind, number> = { M: 4, W: 3, S: 2, T: 10, N: 1, L: 1 };

/** Parse an option string; null if it is not a layout we can emit. */
export function parseOptionString(text: string): OptionToken[] | null {
  const tokens: OptionToken[] = [];
  let i = 0;
  const readHex = (): number | null => {
    const start = i;
    while (i < text.length && /[0-9A-F]/.test(text[i])) i++;
    if (i === start) return null;
    return parseInt(text.slice(start, i), 16);
  };
  while (i < text.length) {
    const c = text[i++];
    switch (c) {
      case 'M': {
        const v = readHex();
        if (v === null || v > 0xffff) return null;
        tokens.push({ kind: 'M', mss: v });
        break;
      }
      case 'W': {
        const v = readHex();
        if (v === null || v > 0xff) return null;
        tokens.push({ kind: 'W', shift: v });
        break;
      }
      case 'T': {
        const a = text[i];
        const b = text[i + 1];
        if ((a !== '0' && a !== '1') || (b !== '0' && b !== '1')) return null;
        i += 2;
        tokens.push({ kind: 'T', valNonZero: a === '1', ecrNonZero: b === '1' });
        break;
      }
      case 'S':
        tokens.push({ kind: 'S' });
        break;
      case 'N':
        tokens.push({ kind: 'N' });
        break;
      case 'L':
        tokens.push({ kind: 'L' });
        break;
      default:
        return null;
    }
  }
  if (layoutBytes(tokens) > 40) return null;
  return tokens;
}

export function formatOptionString(tokens: readonly OptionToken[]): string {
  let s = '';
  for (const t of tokens) {
    switch (t.kind) {
      case 'M':
        s += 'M' + t.mss.toString(16).toUpperCase();
        break;
      case 'W':
        s += 'W' + t.shift.toString(16).toUpperCase();
        break;
      case 'T':
        s += 'T' + (t.valNonZero ? '1' : '0') + (t.ecrNonZero ? '1' : '0');
        break;
      default:
        s += t.kind;
    }
  }
  return s;
}

export function layoutBytes(tokens: readonly OptionToken[]): number {
  let n = 0;
  for (const t of tokens) n += TOKEN_BYTES[t.kind];
  return n;
}

/** Set of negotiable kinds (OptBit) present in a layout. */
export function layoutKinds(tokens: readonly OptionToken[]): number {
  let mask = 0;
  for (const t of tokens) {
    if (t.kind === 'M' || t.kind === 'W' || t.kind === 'S' || t.kind === 'T') mask |= OptBit[t.kind];
  }
  return mask;
}

export function layoutMss(tokens: readonly OptionToken[]): number {
  for (const t of tokens) if (t.kind === 'M') return t.mss;
  return -1;
}

export function layoutShift(tokens: readonly OptionToken[]): number {
  for (const t of tokens) if (t.kind === 'W') return t.shift;
  return -1;
}

export function layoutHasTimestamp(tokens: readonly OptionToken[]): boolean {
  for (const t of tokens) if (t.kind === 'T') return true;
  return false;
}

/**
 * Write `tokens` into `buf` at 0 and return the byte count. `mss` replaces the layout's MSS value
 * when ≥ 0; `tsVal` fills T1x (a non-zero value is forced), `peerTsVal` fills Tx1.
 */
export function writeOptions(
  tokens: readonly OptionToken[],
  buf: Buffer,
  mss: number,
  tsVal: number,
  peerTsVal: number,
): number {
  let o = 0;
  for (const t of tokens) {
    switch (t.kind) {
      case 'M':
        buf[o] = 2;
        buf[o + 1] = 4;
        buf.writeUInt16BE((mss >= 0 ? mss : t.mss) & 0xffff, o + 2);
        o += 4;
        break;
      case 'W':
        buf[o] = 3;
        buf[o + 1] = 3;
        buf[o + 2] = t.shift;
        o += 3;
        break;
      case 'S':
        buf[o] = 4;
        buf[o + 1] = 2;
        o += 2;
        break;
      case 'T': {
        buf[o] = 8;
        buf[o + 1] = 10;
        const val = t.valNonZero ? (tsVal >>> 0 === 0 ? 1 : tsVal >>> 0) : 0;
        buf.writeUInt32BE(val, o + 2);
        buf.writeUInt32BE(t.ecrNonZero ? peerTsVal >>> 0 : 0, o + 6);
        o += 10;
        break;
      }
      case 'N':
        buf[o++] = 1;
        break;
      case 'L':
        buf[o++] = 0;
        break;
    }
  }
  return o;
}
