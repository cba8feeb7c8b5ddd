/**
 * The POP3 state machine (RFC 1939, 2449 CAPA, 2595 STLS, 5034 AUTH): Dovecot's pop3-login and
 * Exchange's POP3 service, their greetings and replies. USER/PASS, APOP and AUTH PLAIN/LOGIN go
 * through the login hook; an accepted login gets an empty mailbox.
 */
import type { LineServiceOptions } from '../../config/mail-ftp-options';
import { decodeBase64Line, decodeSaslPlain, splitCommand, type ReadLine } from './line-reader';
import type { HostFacts, LineMachine, ProtocolHooks, Step } from './protocol';

export type Pop3Style = 'dovecot' | 'exchange';
export const POP3_PRODUCTS: Record<string, Pop3Style> = { 'Dovecot pop3d': 'dovecot', 'Microsoft Exchange pop3d': 'exchange' };

interface Pop3Texts {
  greeting(h: HostFacts): string;
  capa(stls: boolean, authed: boolean): string;
  authFail: string;
  loggedIn: string;
  quit: string;
  unknown(verb: string): string;
  stls: string;
  timeout: string;
  tooLong: string;
  tooMany: string;
  noAuth: string;
}

const DOVECOT: Pop3Texts = {
  greeting: () => '+OK Dovecot ready.\r\n',
  capa: (stls, authed) => `+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\n${authed ? '' : `${stls ? 'STLS\r\n' : ''}USER\r\nSASL PLAIN LOGIN\r\n`}.\r\n`,
  authFail: '-ERR [AUTH] Authentication failed.\r\n',
  loggedIn: '+OK Logged in.\r\n',
  quit: '+OK Logging out.\r\n',
  unknown: () => '-ERR Unknown command.\r\n',
  stls: '+OK Begin TLS negotiation now.\r\n',
  timeout: '-ERR Disconnected for inactivity.\r\n',
  tooLong: '-ERR Input line too long.\r\n',
  tooMany: '-ERR Too many invalid commands.\r\n',
  noAuth: '-ERR Unknown command.\r\n',
};

const EXCHANGE: Pop3Texts = {
  greeting: (h) => (h.version !== undefined ? `+OK Microsoft Exchange POP3 server version ${h.version} ready\r\n` : '+OK The Microsoft Exchange POP3 service is ready.\r\n'),
  capa: (stls) => `+OK\r\nTOP\r\nUIDL\r\nSASL NTLM GSSAPI PLAIN\r\nUSER\r\n${stls ? 'STLS\r\n' : ''}.\r\n`,
  authFail: '-ERR Logon failure: unknown user name or bad password.\r\n',
  loggedIn: '+OK User successfully logged on.\r\n',
  quit: '+OK Microsoft Exchange Server POP3 server signing off.\r\n',
  unknown: () => '-ERR Protocol error. 14\r\n',
  stls: '+OK Begin TLS negotiation.\r\n',
  timeout: '-ERR Connection timed out.\r\n',
  tooLong: '-ERR Protocol error. 14\r\n',
  tooMany: '-ERR Too many errors. Connection is closed.\r\n',
  noAuth: '-ERR Command is not valid in this state.\r\n',
};

const TEXTS: Record<Pop3Style, Pop3Texts> = { dovecot: DOVECOT, exchange: EXCHANGE };

type Wait = { kind: 'none' } | { kind: 'plain' } | { kind: 'login-user' } | { kind: 'login-pass'; user: string };

export class Pop3Machine implements LineMachine {
  readonly protocol = 'pop3' as const;
  tls: boolean;
  private readonly t: Pop3Texts;
  private user: string | undefined;
  private authed = false;
  private failures = 0;
  private bad = 0;
  private wait: Wait = { kind: 'none' };

  constructor(readonly style: Pop3Style, private readonly h: HostFacts, private readonly o: LineServiceOptions, private readonly hooks: ProtocolHooks, implicitTls: boolean) {
    this.t = TEXTS[style];
    this.tls = implicitTls;
  }

  greeting(): string { return this.t.greeting(this.h); }
  timeoutReply(): string { return this.t.timeout; }
  tooManyCommandsReply(): string { return this.t.tooMany; }
  secured(): void { this.tls = true; this.user = undefined; }

  private invalid(reply: string): Step {
    if (++this.bad >= 10) return { reply: this.t.tooMany, close: true };
    return { reply };
  }

  line(l: ReadLine): Step {
    if (this.wait.kind !== 'none') return this.saslLine(l.text);
    if (l.tooLong) return this.invalid(this.t.tooLong);
    const { verb, arg } = splitCommand(l.text.trim());
    const t = this.t;
    if (verb === 'QUIT') return { reply: t.quit, close: true };
    if (verb === 'CAPA') return { reply: t.capa(this.o.starttls && !this.tls, this.authed) };
    if (verb === 'NOOP' && this.authed) return { reply: '+OK\r\n' };
    if (this.authed) {
      switch (verb) {
        case 'STAT': return { reply: '+OK 0 0\r\n' };
        case 'LIST': return { reply: arg.trim() === '' ? '+OK 0 messages:\r\n.\r\n' : `-ERR There's no message ${arg.trim()}.\r\n` };
        case 'UIDL': return { reply: arg.trim() === '' ? '+OK\r\n.\r\n' : `-ERR There's no message ${arg.trim()}.\r\n` };
        case 'RETR': case 'TOP': case 'DELE': return { reply: `-ERR There's no message ${arg.trim().split(' ')[0] ?? ''}.\r\n` };
        case 'RSET': return { reply: '+OK\r\n' };
        default: return this.invalid(t.unknown(verb));
      }
    }
    switch (verb) {
      case 'USER':
        if (arg === '') return this.invalid('-ERR No username given.\r\n');
        this.user = arg;
        return { reply: '+OK\r\n' };
      case 'PASS':
        if (this.user === undefined) return this.invalid('-ERR No username given.\r\n');
        return this.judge('USER/PASS', this.user, arg);
      case 'APOP': {
        const [user = '', digest = ''] = arg.split(' ');
        return this.judge('APOP', user, digest);
      }
      case 'STLS':
        if (this.tls || !this.o.starttls) return this.invalid(this.tls ? '-ERR TLS is already active.\r\n' : t.unknown(verb));
        return { reply: t.stls, starttls: true };
      case 'AUTH': {
        const [mech = '', initial] = arg.trim().split(/\s+/);
        if (mech === '') return { reply: '+OK\r\nPLAIN\r\nLOGIN\r\n.\r\n' };
        if (mech.toUpperCase() === 'PLAIN') {
          if (initial === undefined || initial === '=') { this.wait = { kind: 'plain' }; return { reply: '+ \r\n' }; }
          return this.plain(initial);
        }
        if (mech.toUpperCase() === 'LOGIN') { this.wait = { kind: 'login-user' }; return { reply: '+ VXNlcm5hbWU6\r\n' }; }
        return this.invalid('-ERR Unsupported authentication mechanism.\r\n');
      }
      default: return this.invalid(t.noAuth);
    }
  }

  private saslLine(text: string): Step {
    const w = this.wait;
    this.wait = { kind: 'none' };
    if (text.trim() === '*') return { reply: '-ERR Authentication aborted by client.\r\n' };
    if (w.kind === 'plain') return this.plain(text);
    if (w.kind === 'login-user') {
      const user = decodeBase64Line(text);
      if (user === undefined) return { reply: '-ERR Invalid base64 data in continued response\r\n' };
      this.wait = { kind: 'login-pass', user };
      return { reply: '+ UGFzc3dvcmQ6\r\n' };
    }
    if (w.kind === 'login-pass') return this.judge('AUTH LOGIN', w.user, decodeBase64Line(text) ?? '');
    return { reply: this.t.authFail };
  }

  private plain(b64: string): Step {
    const c = decodeSaslPlain(b64);
    if (c === undefined) return { reply: '-ERR Invalid base64 data in initial response\r\n' };
    return this.judge('AUTH PLAIN', c.user, c.password);
  }

  private judge(method: string, user: string, password: string): Step {
    this.user = undefined;
    if (this.hooks.login(method, user, password)) { this.authed = true; return { reply: this.t.loggedIn }; }
    this.failures++;
    return { reply: this.t.authFail, delayed: true, close: this.failures >= this.o.maxAuthFailures };
  }
}
