/**
 * p0f 3's TCP SYN signatures, read from its own database (`/etc/p0f/p0f.fp`, Debian package p0f)
 * at run time: the `[tcp:request]` section, each `label =` followed by its `sig =` lines.
 * Field meanings and checks follow p0f's fp_tcp.c (`tcp_register_sig`).
 *
 *   sig = ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass
 */

/** Quirk bits (p0f's QUIRK_* values; only their identity matters here). */
export const Quirk = {
  ECN: 1 << 0, DF: 1 << 1, NZ_ID: 1 << 2, ZERO_ID: 1 << 3, NZ_MBZ: 1 << 4, FLOW: 1 << 5,
  ZERO_SEQ: 1 << 6, NZ_ACK: 1 << 7, ZERO_ACK: 1 << 8, NZ_URG: 1 << 9, URG: 1 << 10, PUSH: 1 << 11,
  OPT_ZERO_TS1: 1 << 12, OPT_NZ_TS2: 1 << 13, OPT_EOL_NZ: 1 << 14, OPT_EXWS: 1 << 15, OPT_BAD: 1 << 16,
} as const;

const QUIRK_WORDS: Record<string, number> = {
  ecn: Quirk.ECN, df: Quirk.DF, 'id+': Quirk.NZ_ID, 'id-': Quirk.ZERO_ID, '0+': Quirk.NZ_MBZ, flow: Quirk.FLOW,
  'seq-': Quirk.ZERO_SEQ, 'ack+': Quirk.NZ_ACK, 'ack-': Quirk.ZERO_ACK, 'uptr+': Quirk.NZ_URG, 'urgf+': Quirk.URG, 'pushf+': Quirk.PUSH,
  'ts1-': Quirk.OPT_ZERO_TS1, 'ts2+': Quirk.OPT_NZ_TS2, 'opt+': Quirk.OPT_EOL_NZ, exws: Quirk.OPT_EXWS, bad: Quirk.OPT_BAD,
};

export const WinType = { NORMAL: 0, ANY: 1, MOD: 2, MSS: 3, MTU: 4 } as const;

/** TCP option kinds as p0f names them in `olayout`. */
const OPTION_WORDS: Record<string, number> = { nop: 1, mss: 2, ws: 3, sok: 4, sack: 5, ts: 8 };

export interface P0fLabel {
  /** `s` specific or `g` generic. */
  generic: boolean;
  /** `unix`, `win`, `other`, or `!` for userland tools (p0f: class_id -1). */
  osClass: string;
  /** OS or tool name, e.g. `Linux`, `Windows`, `Mac OS X`, `NMap`. */
  name: string;
  /** Version text, e.g. `3.11 and newer`, `7 or 8`; may be empty. */
  flavor: string;
  /** p0f's printed form: name, a space, flavor (`Windows 7 or 8`). */
  text: string;
}

export interface P0fTcpSignature {
  label: number;
  line: number;
  /** 4, 6, or -1 for `*`. */
  ipVersion: number;
  ttl: number;
  /** `ttl-`: the TTL is not to be trusted (tools that randomise it). */
  badTtl: boolean;
  ipOptionsLength: number;
  /** -1 = any. */
  mss: number;
  winType: number;
  win: number;
  /** -1 = any. */
  wscale: number;
  layout: Uint8Array;
  eolPad: number;
  quirks: number;
  /** -1 any, 0 no payload, 1 payload. */
  payloadClass: number;
}

export interface P0fDatabase {
  labels: P0fLabel[];
  /** `[tcp:request]` signatures in file order (p0f's match order within one option layout). */
  syn: P0fTcpSignature[];
}

export class P0fParseError extends Error {}

/** Parses p0f.fp text; throws P0fParseError naming the line on anything p0f itself would reject. */
export function parseP0fDatabase(text: string): P0fDatabase {
  const labels: P0fLabel[] = [];
  const syn: P0fTcpSignature[] = [];
  let inSyn = false;
  let label = -1;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    const no = i + 1;
    if (line === '' || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      inSyn = line === '[tcp:request]';
      label = -1;
      continue;
    }
    if (!inSyn) continue;
    const eq = line.indexOf('=');
    if (eq < 0) throw new P0fParseError(`line ${no}: expected "key = value"`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (key === 'label') {
      labels.push(parseLabel(value, no));
      label = labels.length - 1;
    } else if (key === 'sig') {
      if (label < 0) throw new P0fParseError(`line ${no}: sig before any label`);
      syn.push(parseSig(value, label, no));
    } else if (key !== 'sys') {
      throw new P0fParseError(`line ${no}: unknown key "${key}"`);
    }
  }
  return { labels, syn };
}

function parseLabel(value: string, no: number): P0fLabel {
  const m = /^([sg]):([^:]+):([^:]*):(.*)$/.exec(value);
  if (m === null) throw new P0fParseError(`line ${no}: malformed label "${value}"`);
  const name = m[3] as string;
  const flavor = (m[4] as string).trim();
  return { generic: m[1] === 'g', osClass: m[2] as string, name, flavor, text: flavor === '' ? name : `${name} ${flavor}` };
}

function parseSig(value: string, label: number, no: number): P0fTcpSignature {
  const bad = (what: string): never => { throw new P0fParseError(`line ${no}: ${what} in "${value}"`); };
  const f = value.split(':');
  if (f.length !== 8) bad('expected 8 fields');
  const [ver, ittl, olen, mss, win, layout, quirks, pclass] = f as [string, string, string, string, string, string, string, string];
  const ipVersion = ver === '4' ? 4 : ver === '6' ? 6 : ver === '*' ? -1 : bad('bad IP version');
  const t = /^(\d+)(-|\+(\d+))?$/.exec(ittl) ?? bad('bad initial TTL');
  const ttl = Number(t[1]) + (t[3] !== undefined ? Number(t[3]) : 0);
  if (ttl < 1 || ttl > 255) bad('bogus initial TTL');
  if (!/^\d+$/.test(olen) || Number(olen) > 255) bad('bad IP option length');
  const mssValue = mss === '*' ? -1 : /^\d+$/.test(mss) && Number(mss) <= 65535 ? Number(mss) : bad('bad MSS');
  const w = /^(\*|%\d+|mss\*\d+|mtu\*\d+|\d+),(\*|\d+)$/.exec(win) ?? bad('bad window');
  const ws = w[1] as string;
  let winType: number = WinType.NORMAL;
  let winValue = 0;
  if (ws === '*') winType = WinType.ANY;
  else if (ws.startsWith('%')) { winType = WinType.MOD; winValue = Number(ws.slice(1)); }
  else if (ws.startsWith('mss*')) { winType = WinType.MSS; winValue = Number(ws.slice(4)); }
  else if (ws.startsWith('mtu*')) { winType = WinType.MTU; winValue = Number(ws.slice(4)); }
  else winValue = Number(ws);
  const wscale = w[2] === '*' ? -1 : Number(w[2]);
  const kinds: number[] = [];
  let eolPad = 0;
  if (layout !== '') {
    const parts = layout.split(',');
    parts.forEach((p, idx) => {
      const eol = /^eol\+(\d+)$/.exec(p);
      const unknown = /^\?(\d+)$/.exec(p);
      if (eol !== null) {
        if (idx !== parts.length - 1) bad('EOL must be the last option');
        kinds.push(0);
        eolPad = Number(eol[1]);
      } else if (unknown !== null) kinds.push(Number(unknown[1]) & 0xff);
      else if (OPTION_WORDS[p] !== undefined) kinds.push(OPTION_WORDS[p] as number);
      else bad(`unknown TCP option "${p}"`);
    });
  }
  let q = 0;
  if (quirks !== '') {
    for (const word of quirks.split(',')) {
      const bit = QUIRK_WORDS[word];
      if (bit === undefined) bad(`unknown quirk "${word}"`);
      q |= bit as number;
    }
  }
  const payloadClass = pclass === '*' ? -1 : pclass === '0' ? 0 : pclass === '+' ? 1 : bad('bad payload class');
  return {
    label, line: no, ipVersion, ttl, badTtl: t[2] === '-', ipOptionsLength: Number(olen), mss: mssValue, winType, win: winValue, wscale,
    layout: Uint8Array.from(kinds), eolPad, quirks: q, payloadClass,
  };
}
