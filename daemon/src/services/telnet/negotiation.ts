/**
 * Telnet option negotiation (RFC 854/855) as the claimed telnetd does it: the opening sequence
 * each product sends (the bytes nmap's rules expect), and its answers to the client's DO/DONT/
 * WILL/WONT. Pure: bytes in, bytes and events out.
 */

export const IAC = 255;
export const DONT = 254;
export const DO = 253;
export const WONT = 252;
export const WILL = 251;
export const SB = 250;
export const SE = 240;

export const OPT = { ECHO: 1, SGA: 3, STATUS: 5, TTYPE: 24, NAWS: 31, TSPEED: 32, LFLOW: 33, LINEMODE: 34, XDISPLOC: 35, NEW_ENVIRON: 39 } as const;

export type TelnetFlavour = 'linux' | 'busybox' | 'cisco';

export interface FlavourRules {
  /** Sent on connect, in one write. */
  opening: Buffer;
  /** Options this server will perform when asked (DO x → WILL x). */
  willDo: ReadonlySet<number>;
  /** Options it wants the client to perform (WILL x → DO x); others get DONT. */
  wantsClient: ReadonlySet<number>;
  /** Sent once the client has answered the opening (netkit/inetutils: echo and SGA after terminal type). */
  afterAnswer?: Buffer;
}

const b = (...bytes: number[]): Buffer => Buffer.from(bytes);

export const FLAVOURS: Record<TelnetFlavour, FlavourRules> = {
  // inetutils/netkit telnetd: telnetd.c getterminaltype() asks TTYPE, TSPEED, XDISPLOC, NEW-ENVIRON first; then WILL ECHO, WILL SGA, DO NAWS? (only after).
  linux: {
    opening: b(IAC, DO, OPT.TTYPE, IAC, DO, OPT.TSPEED, IAC, DO, OPT.XDISPLOC, IAC, DO, OPT.NEW_ENVIRON),
    willDo: new Set([OPT.ECHO, OPT.SGA, OPT.STATUS]),
    wantsClient: new Set([OPT.TTYPE, OPT.TSPEED, OPT.XDISPLOC, OPT.NEW_ENVIRON, OPT.NAWS, OPT.LFLOW, OPT.LINEMODE]),
    afterAnswer: b(IAC, WILL, OPT.ECHO, IAC, WILL, OPT.SGA, IAC, DO, OPT.NAWS),
  },
  // BusyBox telnetd.c make_new_session(): DO ECHO, DO NAWS, DO LFLOW, WILL ECHO, WILL SGA.
  busybox: {
    opening: b(IAC, DO, OPT.ECHO, IAC, DO, OPT.NAWS, IAC, DO, OPT.LFLOW, IAC, WILL, OPT.ECHO, IAC, WILL, OPT.SGA),
    willDo: new Set([OPT.ECHO, OPT.SGA]),
    wantsClient: new Set([OPT.NAWS, OPT.LFLOW, OPT.ECHO]),
  },
  // IOS vty: WILL ECHO, WILL SGA, DO TTYPE, DO NAWS.
  cisco: {
    opening: b(IAC, WILL, OPT.ECHO, IAC, WILL, OPT.SGA, IAC, DO, OPT.TTYPE, IAC, DO, OPT.NAWS),
    willDo: new Set([OPT.ECHO, OPT.SGA]),
    wantsClient: new Set([OPT.TTYPE, OPT.NAWS]),
  },
};

export interface TelnetInput {
  /** Data bytes with IAC sequences removed (IAC IAC → 255). */
  data: Buffer;
  /** What to send back for the options negotiated in this chunk. */
  reply: Buffer;
  /** Whether the chunk held any negotiation (the client answered). */
  negotiated: boolean;
  /** Terminal type the client reported (SB TTYPE IS …), if any. */
  terminal?: string;
}

/** Longest subnegotiation kept (a client can send an endless SB). */
const MAX_SB = 512;

/**
 * A stateful IAC reader: feed it chunks as they arrive (a sequence may be split across chunks).
 * Answers each request once per state change, as RFC 1143's "Q method" wants (no loops).
 */
export class TelnetReader {
  private state: 'data' | 'iac' | 'cmd' | 'sb' | 'sb-iac' = 'data';
  private cmd = 0;
  private sb: number[] = [];
  /** Options we have agreed to (ours) and asked of the client (theirs). */
  private readonly ours = new Set<number>();
  private readonly theirs = new Set<number>();

  constructor(private readonly rules: FlavourRules) {
    // The opening says DO/WILL: remember them so the client's agreement gets no second answer.
    const o = rules.opening;
    for (let i = 0; i + 2 < o.length; i += 3) {
      if (o[i + 1] === WILL) this.ours.add(o[i + 2] as number);
      if (o[i + 1] === DO) this.theirs.add(o[i + 2] as number);
    }
    if (rules.afterAnswer) {
      const a = rules.afterAnswer;
      for (let i = 0; i + 2 < a.length; i += 3) {
        if (a[i + 1] === WILL) this.ours.add(a[i + 2] as number);
        if (a[i + 1] === DO) this.theirs.add(a[i + 2] as number);
      }
    }
  }

  read(chunk: Buffer): TelnetInput {
    const data: number[] = [];
    const reply: number[] = [];
    let negotiated = false;
    let terminal: string | undefined;
    for (const c of chunk) {
      switch (this.state) {
        case 'data':
          if (c === IAC) this.state = 'iac';
          else data.push(c);
          break;
        case 'iac':
          if (c === IAC) { data.push(IAC); this.state = 'data'; }
          else if (c === SB) { this.sb = []; this.state = 'sb'; }
          else if (c >= WILL && c <= DONT) { this.cmd = c; this.state = 'cmd'; }
          else this.state = 'data'; // NOP, GA, AYT, … carry nothing to answer here
          break;
        case 'cmd':
          negotiated = true;
          reply.push(...this.answer(this.cmd, c));
          this.state = 'data';
          break;
        case 'sb':
          if (c === IAC) this.state = 'sb-iac';
          else if (this.sb.length < MAX_SB) this.sb.push(c);
          break;
        case 'sb-iac':
          if (c === SE) {
            negotiated = true;
            if (this.sb[0] === OPT.TTYPE && this.sb[1] === 0) terminal = Buffer.from(this.sb.slice(2)).toString('latin1');
            this.state = 'data';
          } else {
            if (c === IAC && this.sb.length < MAX_SB) this.sb.push(IAC);
            this.state = 'sb';
          }
          break;
      }
    }
    return { data: Buffer.from(data), reply: Buffer.from(reply), negotiated, ...(terminal !== undefined ? { terminal } : {}) };
  }

  private answer(cmd: number, opt: number): number[] {
    if (cmd === DO) {
      if (this.ours.has(opt)) return [];
      if (this.rules.willDo.has(opt)) { this.ours.add(opt); return [IAC, WILL, opt]; }
      return [IAC, WONT, opt];
    }
    if (cmd === DONT) {
      if (!this.ours.has(opt)) return [];
      this.ours.delete(opt);
      return [IAC, WONT, opt];
    }
    if (cmd === WILL) {
      if (this.theirs.has(opt)) {
        // The client agreed to what we asked; a terminal type is then requested.
        return opt === OPT.TTYPE ? [IAC, SB, OPT.TTYPE, 1, IAC, SE] : [];
      }
      if (this.rules.wantsClient.has(opt)) { this.theirs.add(opt); return [IAC, DO, opt]; }
      return [IAC, DONT, opt];
    }
    // WONT
    if (!this.theirs.has(opt)) return [];
    this.theirs.delete(opt);
    return [IAC, DONT, opt];
  }
}

/** Which flavour a configured product is. */
export function flavourOf(product: string): TelnetFlavour | undefined {
  if (product === 'Linux telnetd') return 'linux';
  if (product === 'BusyBox telnetd') return 'busybox';
  if (product === 'Cisco router telnetd' || product === 'Cisco IOS telnetd') return 'cisco';
  return undefined;
}
