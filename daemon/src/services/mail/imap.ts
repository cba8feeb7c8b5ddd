/**
 * The IMAP state machine (RFC 3501, 4959 SASL-IR, 2595 STARTTLS): Dovecot's imap-login,
 * Courier-IMAP and Exchange's IMAP4 service, their greetings, capabilities and tagged replies.
 * LOGIN (atoms, quoted strings, literals) and AUTHENTICATE PLAIN/LOGIN go through the login
 * hook; an accepted login gets an empty INBOX.
 */
import type { LineServiceOptions } from '../../config/mail-ftp-options';
import { decodeBase64Line, decodeSaslPlain, type ReadLine } from './line-reader';
import type { HostFacts, LineMachine, ProtocolHooks, Step } from './protocol';

export type ImapStyle = 'dovecot' | 'courier' | 'exchange';
export const IMAP_PRODUCTS: Record<string, ImapStyle> = { 'Dovecot imapd': 'dovecot', 'Courier Imapd': 'courier', 'Microsoft Exchange 2007-2010 imapd': 'exchange' };

interface ImapTexts {
  caps(starttls: boolean, authed: boolean): string;
  greeting(h: HostFacts, caps: string): string;
  capabilityDone: string;
  loginFail: string;
  loggedIn(caps: string): string;
  logout: string;
  logoutDone: string;
  unknown(cmd: string): string;
  untaggedBad: string;
  starttls: string;
  timeout: string;
  tooMany: string;
  done(cmd: string): string;
}

const DOVECOT_CAPS = 'IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+';
const secs = (): string => `(0.00${1 + Math.floor(Math.random() * 8)} + 0.000 secs)`;

const DOVECOT: ImapTexts = {
  caps: (st, authed) => (authed ? `${DOVECOT_CAPS.replace(' SASL-IR LOGIN-REFERRALS', ' SASL-IR LOGIN-REFERRALS')} SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY SPECIAL-USE` : `${DOVECOT_CAPS}${st ? ' STARTTLS' : ''} AUTH=PLAIN AUTH=LOGIN`),
  greeting: (h, caps) => `* OK [CAPABILITY ${caps}] Dovecot${h.distro.startsWith('ubuntu') ? ' (Ubuntu)' : ''} ready.\r\n`,
  capabilityDone: 'Pre-login capabilities listed, post-login capabilities have more.',
  loginFail: 'NO [AUTHENTICATIONFAILED] Authentication failed.',
  loggedIn: (caps) => `OK [CAPABILITY ${caps}] Logged in`,
  logout: '* BYE Logging out\r\n',
  logoutDone: `OK Logout completed`,
  unknown: (c) => `BAD Error in IMAP command ${c}: Unknown command ${secs()}.`,
  untaggedBad: '* BAD Error in IMAP command received by server.\r\n',
  starttls: 'OK Begin TLS negotiation now.',
  timeout: '* BYE Disconnected for inactivity.\r\n',
  tooMany: '* BYE Too many invalid IMAP commands.\r\n',
  done: (c) => `OK ${c[0]}${c.slice(1).toLowerCase()} completed ${secs()}.`,
};

const COURIER_CAPS = 'IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE ACL ACL2=UNION';
const COURIER: ImapTexts = {
  caps: (st) => `${COURIER_CAPS}${st ? ' STARTTLS' : ''}`,
  greeting: (_h, caps) => `* OK [CAPABILITY ${caps}] Courier-IMAP ready. Copyright 1998-2018 Double Precision, Inc.  See COPYING for distribution information.\r\n`,
  capabilityDone: 'OK CAPABILITY completed',
  loginFail: 'NO Login failed.',
  loggedIn: () => 'OK LOGIN Ok.',
  logout: '* BYE Courier-IMAP server shutting down\r\n',
  logoutDone: 'OK LOGOUT completed',
  unknown: () => 'BAD Error in IMAP command received by server.',
  untaggedBad: '* BAD Error in IMAP command received by server.\r\n',
  starttls: 'OK Begin SSL/TLS negotiation now.',
  timeout: '* BYE Courier-IMAP server shut down by request.\r\n',
  tooMany: '* BYE Too many errors.\r\n',
  done: (c) => `OK ${c} completed`,
};

const EXCHANGE: ImapTexts = {
  caps: (st) => `IMAP4 IMAP4rev1 AUTH=NTLM AUTH=GSSAPI AUTH=PLAIN${st ? ' STARTTLS' : ''} UIDPLUS CHILDREN IDLE NAMESPACE LITERAL+`,
  greeting: () => '* OK The Microsoft Exchange IMAP4 service is ready.\r\n',
  capabilityDone: 'OK CAPABILITY completed.',
  loginFail: 'NO LOGIN failed.',
  loggedIn: () => 'OK LOGIN completed.',
  logout: '* BYE Microsoft Exchange Server IMAP4 server signing off.\r\n',
  logoutDone: 'OK LOGOUT completed.',
  unknown: () => 'BAD Command Error. 12',
  untaggedBad: '* BAD Command Error. 12\r\n',
  starttls: 'OK Begin TLS negotiation now.',
  timeout: '* BYE Connection is closed. 13\r\n',
  tooMany: '* BYE Connection is closed. 14\r\n',
  done: (c) => `OK ${c} completed.`,
};

const TEXTS: Record<ImapStyle, ImapTexts> = { dovecot: DOVECOT, courier: COURIER, exchange: EXCHANGE };

/**
 * IMAP arguments: atoms, quoted strings (with `\"` and `\\`), literals `{n}`/`{n+}` followed by
 * CRLF and n bytes. `needMore` when the text ends in a literal marker whose bytes have not come.
 */
export function imapArgs(text: string): { args: string[]; needMore?: { bytes: number; sync: boolean } } {
  const args: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ' ') { i++; continue; }
    if (c === '"') {
      let s = '';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        s += text[i];
        i++;
      }
      i++;
      args.push(s);
      continue;
    }
    const lit = /^\{(\d{1,9})(\+?)\}\r\n/.exec(text.slice(i));
    const litEnd = /^\{(\d{1,9})(\+?)\}$/.exec(text.slice(i));
    if (litEnd) return { args, needMore: { bytes: Number(litEnd[1]), sync: litEnd[2] !== '+' } };
    if (lit) {
      const n = Number(lit[1]);
      const start = i + lit[0].length;
      args.push(text.slice(start, start + n));
      i = start + n;
      continue;
    }
    let j = i;
    while (j < text.length && text[j] !== ' ') j++;
    args.push(text.slice(i, j));
    i = j;
  }
  return { args };
}

type Wait = { kind: 'none' } | { kind: 'literal'; text: string; bytes: number } | { kind: 'plain'; tag: string } | { kind: 'login-user'; tag: string } | { kind: 'login-pass'; tag: string; user: string } | { kind: 'idle'; tag: string };

export class ImapMachine implements LineMachine {
  readonly protocol = 'imap' as const;
  tls: boolean;
  private readonly t: ImapTexts;
  private authed = false;
  private selected = false;
  private failures = 0;
  private bad = 0;
  private wait: Wait = { kind: 'none' };
  private readonly uidValidity: number;

  constructor(readonly style: ImapStyle, private readonly h: HostFacts, private readonly o: LineServiceOptions, private readonly hooks: ProtocolHooks, implicitTls: boolean) {
    this.t = TEXTS[style];
    this.tls = implicitTls;
    this.uidValidity = 1_500_000_000 + (h.seed % 200_000_000);
  }

  private caps(): string { return this.t.caps(this.o.starttls && !this.tls, this.authed); }
  greeting(): string { return this.t.greeting(this.h, this.caps()); }
  timeoutReply(): string { return this.t.timeout; }
  tooManyCommandsReply(): string { return this.t.tooMany; }
  secured(): void { this.tls = true; }

  private invalid(tag: string, reply: string): Step {
    if (++this.bad >= 20) return { reply: `${tag} ${reply}\r\n${this.t.tooMany}`, close: true };
    return { reply: `${tag} ${reply}\r\n` };
  }

  line(l: ReadLine): Step {
    const w = this.wait;
    if (w.kind === 'literal') {
      this.wait = { kind: 'none' };
      // A command of chained literals is bounded like one line (Dovecot: "Too long argument").
      if (w.text.length + l.text.length > 4 * this.o.maxLineBytes) return { reply: '* BYE Too long argument.\r\n', close: true };
      return this.command(`${w.text}\r\n${l.text}`);
    }
    if (w.kind !== 'none') { this.wait = { kind: 'none' }; return this.continuation(w, l.text); }
    if (l.tooLong) return { reply: this.style === 'dovecot' ? '* BYE Too long argument.\r\n' : this.t.untaggedBad, close: this.style === 'dovecot' };
    return this.command(l.text);
  }

  private command(text: string): Step {
    const sp = text.indexOf(' ');
    const tag = sp < 0 ? text : text.slice(0, sp);
    if (sp < 0 || tag === '' || !/^[\x21-\x7e]+$/.test(tag) || /[*%(){"\\]/.test(tag)) {
      if (++this.bad >= 20) return { reply: this.t.tooMany, close: true };
      return { reply: this.t.untaggedBad };
    }
    const parsed = imapArgs(text.slice(sp + 1));
    if (parsed.needMore !== undefined) {
      if (parsed.needMore.bytes > this.o.maxLineBytes) return this.invalid(tag, 'BAD Literal too large');
      this.wait = { kind: 'literal', text, bytes: parsed.needMore.bytes };
      return { reply: parsed.needMore.sync ? '+ OK\r\n' : '' };
    }
    const [cmdRaw = '', ...args] = parsed.args;
    const cmd = cmdRaw.toUpperCase();
    const t = this.t;
    const ok = (text2: string): string => `${tag} ${text2}\r\n`;
    switch (cmd) {
      case 'CAPABILITY': return { reply: `* CAPABILITY ${this.caps()}\r\n${ok(this.authed ? t.done('Capability') : t.capabilityDone)}` };
      case 'NOOP': return { reply: ok(t.done('NOOP')) };
      case 'LOGOUT': return { reply: `${t.logout}${ok(this.style === 'dovecot' ? `${t.logoutDone} ${secs()}.` : t.logoutDone)}`, close: true };
      case 'ID': return { reply: `* ID ${this.style === 'dovecot' ? '("name" "Dovecot")' : 'NIL'}\r\n${ok(t.done('ID'))}` };
      default: break;
    }
    if (!this.authed) {
      switch (cmd) {
        case 'STARTTLS':
          if (this.tls || !this.o.starttls) return this.invalid(tag, this.tls ? 'BAD TLS is already active.' : t.unknown(cmd));
          return { reply: ok(t.starttls), starttls: true };
        case 'LOGIN': {
          if (args.length !== 2) return this.invalid(tag, 'BAD Error in IMAP command LOGIN: Invalid arguments.');
          return this.judge(tag, 'LOGIN', args[0] as string, args[1] as string);
        }
        case 'AUTHENTICATE': {
          const mech = (args[0] ?? '').toUpperCase();
          if (mech === 'PLAIN') {
            if (args[1] !== undefined) return this.plain(tag, args[1]);
            this.wait = { kind: 'plain', tag };
            return { reply: '+ \r\n' };
          }
          if (mech === 'LOGIN') { this.wait = { kind: 'login-user', tag }; return { reply: '+ VXNlcm5hbWU6\r\n' }; }
          return this.invalid(tag, 'NO Unsupported authentication mechanism.');
        }
        default: return this.invalid(tag, t.unknown(cmd));
      }
    }
    switch (cmd) {
      case 'SELECT': case 'EXAMINE': {
        if ((args[0] ?? '').toUpperCase() !== 'INBOX') return { reply: ok('NO Mailbox doesn\'t exist: ' + (args[0] ?? '')) };
        this.selected = true;
        return { reply: `* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted.\r\n* 0 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY ${this.uidValidity}] UIDs valid\r\n* OK [UIDNEXT 1] Predicted next UID\r\n${ok(`OK [${cmd === 'SELECT' ? 'READ-WRITE' : 'READ-ONLY'}] ${this.style === 'dovecot' ? `Select completed ${secs()}.` : `${cmd} completed`}`)}` };
      }
      case 'LIST': case 'LSUB': return { reply: `* ${cmd} (\\HasNoChildren) "." INBOX\r\n${ok(t.done(cmd === 'LIST' ? 'List' : 'Lsub'))}` };
      case 'STATUS': return { reply: `* STATUS INBOX (MESSAGES 0 RECENT 0 UIDNEXT 1 UIDVALIDITY ${this.uidValidity} UNSEEN 0)\r\n${ok(t.done('Status'))}` };
      case 'NAMESPACE': return { reply: `* NAMESPACE (("" ".")) NIL NIL\r\n${ok(t.done('Namespace'))}` };
      case 'ENABLE': return { reply: `* ENABLED\r\n${ok(t.done('Enable'))}` };
      case 'IDLE': this.wait = { kind: 'idle', tag }; return { reply: '+ idling\r\n' };
      case 'FETCH': case 'SEARCH': case 'STORE': case 'COPY': case 'UID': case 'EXPUNGE': case 'CLOSE': case 'CHECK': case 'UNSELECT':
        if (!this.selected) return this.invalid(tag, 'BAD No mailbox selected.');
        if (cmd === 'CLOSE' || cmd === 'UNSELECT') this.selected = false;
        return { reply: `${cmd === 'SEARCH' || (cmd === 'UID' && (args[0] ?? '').toUpperCase() === 'SEARCH') ? '* SEARCH\r\n' : ''}${ok(t.done(cmd === 'UID' ? (args[0] ?? 'UID') : cmd))}` };
      case 'CREATE': case 'DELETE': case 'RENAME': case 'SUBSCRIBE': case 'UNSUBSCRIBE': case 'APPEND':
        return { reply: ok('NO [NOPERM] Permission denied') };
      default: return this.invalid(tag, t.unknown(cmd));
    }
  }

  private continuation(w: Exclude<Wait, { kind: 'none' } | { kind: 'literal' }>, text: string): Step {
    if (w.kind === 'idle') return { reply: text.trim().toUpperCase() === 'DONE' ? `${w.tag} ${this.t.done('Idle')}\r\n` : `${w.tag} BAD Expected DONE.\r\n` };
    if (text.trim() === '*') return { reply: `${w.tag} BAD Authentication aborted by client.\r\n` };
    if (w.kind === 'plain') return this.plain(w.tag, text);
    if (w.kind === 'login-user') {
      const user = decodeBase64Line(text);
      if (user === undefined) return { reply: `${w.tag} BAD Invalid base64 data in continued response\r\n` };
      this.wait = { kind: 'login-pass', tag: w.tag, user };
      return { reply: '+ UGFzc3dvcmQ6\r\n' };
    }
    return this.judge(w.tag, 'AUTHENTICATE LOGIN', w.user, decodeBase64Line(text) ?? '');
  }

  private plain(tag: string, b64: string): Step {
    const c = decodeSaslPlain(b64);
    if (c === undefined) return { reply: `${tag} BAD Invalid base64 data in initial response\r\n` };
    return this.judge(tag, 'AUTHENTICATE PLAIN', c.user, c.password);
  }

  private judge(tag: string, method: string, user: string, password: string): Step {
    if (this.hooks.login(method, user, password)) {
      this.authed = true;
      return { reply: `${tag} ${this.t.loggedIn(this.caps())}\r\n` };
    }
    this.failures++;
    return { reply: `${tag} ${this.t.loginFail}\r\n`, delayed: true, close: this.failures >= this.o.maxAuthFailures };
  }
}
