/**
 * The SMTP state machine (RFC 5321, 3207 STARTTLS, 4954 AUTH): Postfix, Exim, Sendmail and
 * Microsoft's SMTP service, each with its own greeting, EHLO extensions, reply codes and texts
 * (Postfix smtpd.c, Exim's smtp_in.c, Sendmail's srvrsmtp.c, IIS SMTP). AUTH PLAIN/LOGIN
 * credentials go through the login hook; a message after DATA is handed to the message hook
 * (logged, bounded) and answered as queued. Nothing is ever relayed or delivered anywhere.
 */
import type { LineServiceOptions } from '../../config/mail-ftp-options';
import { SeededRandom } from '../../personality/model/prng';
import { decodeBase64Line, decodeSaslPlain, splitCommand, type ReadLine } from './line-reader';
import { rfc5322Date, type HostFacts, type LineMachine, type ProtocolHooks, type Step } from './protocol';

export type SmtpStyle = 'postfix' | 'exim' | 'sendmail' | 'msesmtp';

export const SMTP_PRODUCTS: Record<string, SmtpStyle> = { 'Postfix smtpd': 'postfix', 'Exim smtpd': 'exim', Sendmail: 'sendmail', 'Microsoft ESMTP': 'msesmtp' };

interface SmtpTexts {
  greeting(h: HostFacts, now: Date): string;
  ehlo(h: HostFacts, helo: string, o: { tls: boolean; starttls: boolean; size: number }): string;
  helo(h: HostFacts, helo: string): string;
  mailOk(from: string): string;
  rcptOk(to: string): string;
  data: string;
  queued(id: string, h: HostFacts): string;
  quit(h: HostFacts): string;
  ok: string;
  unknown(verb: string): string;
  needHelo: string;
  needMail: string;
  needRcpt: string;
  nestedMail: string;
  startTls: string;
  authOk: string;
  authFail: string;
  tooLong: string;
  tooBig: string;
  tooManyRcpt: string;
  timeout(h: HostFacts): string;
  tooMany(h: HostFacts): string;
  syntax: string;
  queueId(r: SeededRandom): string;
}

const hex = (r: SeededRandom, n: number): string => Array.from({ length: n }, () => '0123456789ABCDEF'[r.int(0, 15)]).join('');
const b62 = (r: SeededRandom, n: number): string => Array.from({ length: n }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[r.int(0, 61)]).join('');

function ext(lines: string[], host: string, first = host): string {
  const all = [first, ...lines];
  return all.map((l, i) => `250${i === all.length - 1 ? ' ' : '-'}${l}\r\n`).join('');
}

const POSTFIX: SmtpTexts = {
  greeting: (h) => `220 ${h.hostname} ESMTP Postfix (${h.distro.startsWith('ubuntu') ? 'Ubuntu' : 'Debian/GNU'})\r\n`,
  ehlo: (h, _helo, o) => ext(['PIPELINING', `SIZE ${o.size}`, 'VRFY', 'ETRN', ...(o.starttls && !o.tls ? ['STARTTLS'] : []), 'AUTH PLAIN LOGIN', 'ENHANCEDSTATUSCODES', '8BITMIME', 'DSN', 'SMTPUTF8', 'CHUNKING'], h.hostname),
  helo: (h) => `250 ${h.hostname}\r\n`,
  mailOk: () => '250 2.1.0 Ok\r\n',
  rcptOk: () => '250 2.1.5 Ok\r\n',
  data: '354 End data with <CR><LF>.<CR><LF>\r\n',
  queued: (id) => `250 2.0.0 Ok: queued as ${id}\r\n`,
  quit: () => '221 2.0.0 Bye\r\n',
  ok: '250 2.0.0 Ok\r\n',
  unknown: () => '502 5.5.2 Error: command not recognized\r\n',
  needHelo: '503 5.5.1 Error: send HELO/EHLO first\r\n',
  needMail: '503 5.5.1 Error: need MAIL command\r\n',
  needRcpt: '554 5.5.1 Error: no valid recipients\r\n',
  nestedMail: '503 5.5.1 Error: nested MAIL command\r\n',
  startTls: '220 2.0.0 Ready to start TLS\r\n',
  authOk: '235 2.7.0 Authentication successful\r\n',
  authFail: '535 5.7.8 Error: authentication failed: authentication failure\r\n',
  tooLong: '500 5.5.0 Error: line too long\r\n',
  tooBig: '552 5.3.4 Error: message file too big\r\n',
  tooManyRcpt: '452 4.5.3 Error: too many recipients\r\n',
  timeout: (h) => `421 4.4.2 ${h.hostname} Error: timeout exceeded\r\n`,
  tooMany: (h) => `421 4.7.0 ${h.hostname} Error: too many errors\r\n`,
  syntax: '501 5.5.4 Syntax: MAIL FROM:<address>\r\n',
  queueId: (r) => hex(r, 10),
};

const EXIM: SmtpTexts = {
  greeting: (h, now) => `220 ${h.hostname} ESMTP Exim ${h.version ?? '4.96'} ${rfc5322Date(now)}\r\n`,
  ehlo: (h, helo, o) => ext([`SIZE ${o.size}`, '8BITMIME', 'PIPELINING', 'PIPE_CONNECT', 'AUTH PLAIN LOGIN', 'CHUNKING', ...(o.starttls && !o.tls ? ['STARTTLS'] : []), 'HELP'], h.hostname, `${h.hostname} Hello ${helo} [${h.clientAddress}]`),
  helo: (h, helo) => `250 ${h.hostname} Hello ${helo} [${h.clientAddress}]\r\n`,
  mailOk: () => '250 OK\r\n',
  rcptOk: () => '250 Accepted\r\n',
  data: '354 Enter message, ending with "." on a line by itself\r\n',
  queued: (id) => `250 OK id=${id}\r\n`,
  quit: (h) => `221 ${h.hostname} closing connection\r\n`,
  ok: '250 OK\r\n',
  unknown: () => '500 unrecognized command\r\n',
  needHelo: '503 HELO or EHLO required\r\n',
  needMail: '503 sender not yet given\r\n',
  needRcpt: '503 valid RCPT command must precede DATA\r\n',
  nestedMail: '503 sender already given\r\n',
  startTls: '220 TLS go ahead\r\n',
  authOk: '235 Authentication succeeded\r\n',
  authFail: '535 Incorrect authentication data\r\n',
  tooLong: '500 Line too long\r\n',
  tooBig: '552 Message size exceeds maximum permitted\r\n',
  tooManyRcpt: '452 too many recipients\r\n',
  timeout: (h) => `421 ${h.hostname}: SMTP command timeout - closing connection\r\n`,
  tooMany: (h) => `421 ${h.hostname}: too many nonmail commands\r\n`,
  syntax: '501 MAIL must have an address operand\r\n',
  queueId: (r) => `${b62(r, 6)}-${b62(r, 6)}-${b62(r, 2)}`,
};

const SENDMAIL: SmtpTexts = {
  greeting: (h, now) => { const v = h.version ?? '8.15.2'; return `220 ${h.hostname} ESMTP Sendmail ${v.includes('/') ? v : `${v}/${v}`}; ${rfc5322Date(now).replace(/, 0/, ', ')}\r\n`; },
  ehlo: (h, helo, o) => ext(['ENHANCEDSTATUSCODES', 'PIPELINING', 'EXPN', 'VERB', '8BITMIME', 'SIZE', 'DSN', 'ETRN', 'AUTH DIGEST-MD5 CRAM-MD5 LOGIN PLAIN', ...(o.starttls && !o.tls ? ['STARTTLS'] : []), 'DELIVERBY', 'HELP'], h.hostname, `${h.hostname} Hello ${helo} [${h.clientAddress}], pleased to meet you`),
  helo: (h, helo) => `250 ${h.hostname} Hello ${helo} [${h.clientAddress}], pleased to meet you\r\n`,
  mailOk: (f) => `250 2.1.0 ${f}... Sender ok\r\n`,
  rcptOk: (t) => `250 2.1.5 ${t}... Recipient ok\r\n`,
  data: '354 Enter mail, end with "." on a line by itself\r\n',
  queued: (id) => `250 2.0.0 ${id} Message accepted for delivery\r\n`,
  quit: (h) => `221 2.0.0 ${h.hostname} closing connection\r\n`,
  ok: '250 2.0.0 OK\r\n',
  unknown: (v) => `500 5.5.1 Command unrecognized: "${v}"\r\n`,
  needHelo: '503 5.0.0 Polite people say HELO first\r\n',
  needMail: '503 5.0.0 Need MAIL before RCPT\r\n',
  needRcpt: '503 5.0.0 Need RCPT (recipient)\r\n',
  nestedMail: '503 5.5.0 Sender already specified\r\n',
  startTls: '220 2.0.0 Ready to start TLS\r\n',
  authOk: '235 2.0.0 OK Authenticated\r\n',
  authFail: '535 5.7.0 authentication failed\r\n',
  tooLong: '500 5.5.0 Line too long\r\n',
  tooBig: '552 5.2.3 Message size exceeds fixed maximum message size\r\n',
  tooManyRcpt: '452 4.5.3 Too many recipients\r\n',
  timeout: (h) => `421 4.4.1 ${h.hostname} Lost input channel\r\n`,
  tooMany: (h) => `421 4.7.0 ${h.hostname} Too many errors\r\n`,
  syntax: '501 5.5.2 Syntax error in parameters scanning "from"\r\n',
  queueId: (r) => `${b62(r, 8)}0${String(r.int(10000, 99999))}`,
};

const MSESMTP: SmtpTexts = {
  greeting: (h, now) => `220 ${h.hostname} Microsoft ESMTP MAIL Service, Version: ${h.version ?? '10.0.17763.1697'} ready at  ${rfc5322Date(now)} \r\n`,
  ehlo: (h, _helo, o) => ext(['TURN', `SIZE ${Math.min(o.size, 2_097_152)}`, 'ETRN', 'PIPELINING', 'DSN', 'ENHANCEDSTATUSCODES', '8bitmime', 'BINARYMIME', 'CHUNKING', 'VRFY', ...(o.starttls && !o.tls ? ['STARTTLS'] : []), 'AUTH LOGIN', 'OK'], h.hostname, `${h.hostname} Hello [${h.clientAddress}]`),
  helo: (h) => `250 ${h.hostname} Hello [${h.clientAddress}]\r\n`,
  mailOk: (f) => `250 2.1.0 ${f.replace(/^<|>$/g, '')}....Sender OK\r\n`,
  rcptOk: (t) => `250 2.1.5 ${t.replace(/^<|>$/g, '')} \r\n`,
  data: '354 Start mail input; end with <CRLF>.<CRLF>\r\n',
  queued: (id, h) => `250 2.6.0 <${id}@${h.hostname}> Queued mail for delivery\r\n`,
  quit: (h) => `221 2.0.0 ${h.hostname} Service closing transmission channel\r\n`,
  ok: '250 2.0.0 OK\r\n',
  unknown: () => '500 5.3.3 Unrecognized command\r\n',
  needHelo: '503 5.5.2 Send hello first\r\n',
  needMail: '503 5.5.2 Need mail command.\r\n',
  needRcpt: '503 5.5.2 Need rcpt command.\r\n',
  nestedMail: '503 5.5.2 Sender already specified\r\n',
  startTls: '220 2.0.0 SMTP server ready\r\n',
  authOk: '235 2.7.0 Authentication successful.\r\n',
  authFail: '535 5.7.3 Authentication unsuccessful.\r\n',
  tooLong: '500 5.5.2 Line too long\r\n',
  tooBig: '552 5.3.4 Message size exceeds fixed maximum message size\r\n',
  tooManyRcpt: '452 4.5.3 Too many recipients\r\n',
  timeout: () => '421 4.4.2 Timeout\r\n',
  tooMany: () => '421 4.7.0 Too many errors on this connection, closing transmission channel\r\n',
  syntax: '501 5.5.4 Invalid Address\r\n',
  queueId: (r) => `${b62(r, 8)}${hex(r, 24)}`,
};

const TEXTS: Record<SmtpStyle, SmtpTexts> = { postfix: POSTFIX, exim: EXIM, sendmail: SENDMAIL, msesmtp: MSESMTP };

/** `<addr>` from `FROM:<addr> SIZE=…`; undefined when there is no path. */
export function smtpPath(arg: string, keyword: 'FROM' | 'TO'): string | undefined {
  const m = new RegExp(`^${keyword}:\\s*(<[^>]*>|[^\\s<>]+)`, 'i').exec(arg.trim());
  if (!m) return undefined;
  const p = m[1] as string;
  return p.startsWith('<') ? p : `<${p}>`;
}

/** The Subject header of a message (unfolded), if any, from its head. */
export function subjectOf(message: Buffer): string | undefined {
  const text = message.subarray(0, 64 * 1024).toString('latin1');
  const headEnd = text.search(/\r?\n\r?\n/);
  const head = headEnd < 0 ? text : text.slice(0, headEnd);
  const m = /^Subject:[ \t]*(.*(?:\r?\n[ \t].*)*)/im.exec(head);
  return m ? (m[1] as string).replace(/\r?\n[ \t]+/g, ' ').trim() : undefined;
}

type AuthWait = { kind: 'none' } | { kind: 'plain' } | { kind: 'login-user' } | { kind: 'login-pass'; user: string };

export class SmtpMachine implements LineMachine {
  readonly protocol = 'smtp' as const;
  tls: boolean;
  private readonly t: SmtpTexts;
  private readonly r: SeededRandom;
  private helo: string | undefined;
  private from: string | undefined;
  private rcpt: string[] = [];
  private auth: AuthWait = { kind: 'none' };
  private authed = false;
  private failures = 0;
  private errors = 0;
  /** DATA in progress: the message bytes kept (bounded) and the full size. */
  private body: Buffer[] | undefined;
  private bodyKept = 0;
  private bodyBytes = 0;

  constructor(readonly style: SmtpStyle, private readonly h: HostFacts, private readonly o: LineServiceOptions, private readonly hooks: ProtocolHooks, implicitTls: boolean,
    /** Message bytes kept for the event (the excerpt and the Subject search). */
    private readonly keepBytes = 64 * 1024) {
    this.t = TEXTS[style];
    this.tls = implicitTls;
    this.r = SeededRandom.derive(h.seed ^ Date.now(), 'smtp-queue');
  }

  get inData(): boolean { return this.body !== undefined; }
  greeting(): string { return this.t.greeting(this.h, this.hooks.now()); }
  timeoutReply(): string { return this.t.timeout(this.h); }
  tooManyCommandsReply(): string { return this.t.tooMany(this.h); }
  secured(): void { this.tls = true; this.helo = undefined; this.reset(); this.auth = { kind: 'none' }; }

  private reset(): void { this.from = undefined; this.rcpt = []; }

  private error(reply: string): Step {
    // Postfix's smtpd_hard_error_limit (20) and its kin: a client that only errs is dropped.
    if (++this.errors >= 20) return { reply: this.t.tooMany(this.h), close: true };
    return { reply };
  }

  line(l: ReadLine): Step {
    if (this.body !== undefined) return this.dataLine(l);
    if (this.auth.kind !== 'none') return this.authLine(l.text);
    if (l.tooLong) return this.error(this.t.tooLong);
    const { verb, arg } = splitCommand(l.text.trim());
    const t = this.t;
    switch (verb) {
      case 'EHLO': case 'HELO': {
        if (arg.trim() === '') return this.error(this.style === 'postfix' ? `501 Syntax: ${verb} hostname\r\n` : `501 5.0.0 ${verb} requires domain address\r\n`);
        this.helo = arg.trim().split(/\s+/)[0] as string;
        this.reset();
        return { reply: verb === 'EHLO' ? t.ehlo(this.h, this.helo, { tls: this.tls, starttls: this.o.starttls, size: this.o.maxMessageBytes }) : t.helo(this.h, this.helo) };
      }
      case 'STARTTLS':
        if (this.tls || !this.o.starttls) return this.error(this.style === 'postfix' ? '502 5.5.1 Error: command not implemented\r\n' : t.unknown(verb));
        return { reply: t.startTls, starttls: true };
      case 'AUTH': return this.authStart(arg);
      case 'MAIL': {
        if (this.helo === undefined && this.style !== 'exim') return this.error(t.needHelo);
        if (this.from !== undefined) return this.error(t.nestedMail);
        const from = smtpPath(arg, 'FROM');
        if (from === undefined) return this.error(t.syntax);
        this.from = from;
        return { reply: t.mailOk(from) };
      }
      case 'RCPT': {
        if (this.from === undefined) return this.error(t.needMail);
        const to = smtpPath(arg, 'TO');
        if (to === undefined || to === '<>') return this.error(this.style === 'postfix' ? '501 5.5.4 Syntax: RCPT TO:<address>\r\n' : t.syntax);
        if (this.rcpt.length >= this.o.maxRecipients) return { reply: t.tooManyRcpt };
        this.rcpt.push(to);
        return { reply: t.rcptOk(to) };
      }
      case 'DATA':
        if (this.from === undefined) return this.error(t.needMail);
        if (this.rcpt.length === 0) return this.error(t.needRcpt);
        this.body = [];
        this.bodyKept = 0;
        this.bodyBytes = 0;
        return { reply: t.data };
      case 'RSET': this.reset(); return { reply: t.ok };
      case 'NOOP': return { reply: t.ok };
      case 'VRFY': return { reply: this.style === 'postfix' ? `252 2.0.0 ${arg.trim()}\r\n` : `252 2.1.5 Cannot VRFY user\r\n` };
      case 'QUIT': return { reply: t.quit(this.h), close: true };
      case 'HELP': return { reply: this.style === 'postfix' ? t.unknown(verb) : '214 2.0.0 Commands supported: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT HELP VRFY\r\n' };
      default: return this.error(t.unknown(verb));
    }
  }

  private authStart(arg: string): Step {
    const t = this.t;
    if (this.helo === undefined) return this.error(this.style === 'postfix' ? '503 5.5.1 Error: send HELO/EHLO first\r\n' : t.needHelo);
    if (this.authed) return this.error(this.style === 'postfix' ? '503 5.5.1 Error: already authenticated\r\n' : '503 5.5.0 Already Authenticated\r\n');
    const [mech = '', initial] = arg.trim().split(/\s+/);
    const m = mech.toUpperCase();
    if (m === 'PLAIN' && this.style !== 'msesmtp') {
      if (initial === undefined) { this.auth = { kind: 'plain' }; return { reply: '334 \r\n' }; }
      return this.finishPlain(initial);
    }
    if (m === 'LOGIN') {
      if (initial !== undefined) {
        const user = decodeBase64Line(initial);
        if (user === undefined) return this.authFailed();
        this.auth = { kind: 'login-pass', user };
        return { reply: '334 UGFzc3dvcmQ6\r\n' };
      }
      this.auth = { kind: 'login-user' };
      return { reply: '334 VXNlcm5hbWU6\r\n' };
    }
    return this.error(this.style === 'postfix' ? '535 5.7.8 Error: authentication failed: Invalid authentication mechanism\r\n' : '504 5.7.4 Unrecognized authentication type\r\n');
  }

  private authLine(text: string): Step {
    const wait = this.auth;
    this.auth = { kind: 'none' };
    if (text.trim() === '*') return { reply: this.style === 'postfix' ? '501 5.7.0 Authentication aborted\r\n' : '501 Authentication cancelled\r\n' };
    if (wait.kind === 'plain') return this.finishPlain(text);
    if (wait.kind === 'login-user') {
      const user = decodeBase64Line(text);
      if (user === undefined) return this.authFailed();
      this.auth = { kind: 'login-pass', user };
      return { reply: '334 UGFzc3dvcmQ6\r\n' };
    }
    if (wait.kind === 'login-pass') {
      const password = decodeBase64Line(text) ?? '';
      return this.judge('AUTH LOGIN', wait.user, password);
    }
    return this.authFailed();
  }

  private finishPlain(b64: string): Step {
    const cred = decodeSaslPlain(b64);
    if (cred === undefined) return this.authFailed(this.style === 'postfix' ? '501 5.5.2 Error: invalid authentication data\r\n' : undefined);
    return this.judge('AUTH PLAIN', cred.user, cred.password);
  }

  private judge(method: string, user: string, password: string): Step {
    if (this.hooks.login(method, user, password)) { this.authed = true; return { reply: this.t.authOk }; }
    return this.authFailed();
  }

  private authFailed(reply?: string): Step {
    this.failures++;
    return { reply: reply ?? this.t.authFail, delayed: true, close: this.failures >= this.o.maxAuthFailures * 3 };
  }

  private dataLine(l: ReadLine): Step {
    const body = this.body as Buffer[];
    if (!l.tooLong && l.text === '.') {
      this.body = undefined;
      const message = Buffer.concat(body);
      const from = this.from ?? '<>';
      const rcpt = this.rcpt;
      this.reset();
      if (this.bodyBytes > this.o.maxMessageBytes) return { reply: this.t.tooBig };
      const subject = subjectOf(message);
      this.hooks.message({ mailFrom: from, rcptTo: rcpt, ...(subject !== undefined ? { subject } : {}), body: message, bodyBytes: this.bodyBytes });
      return { reply: this.t.queued(this.t.queueId(this.r), this.h) };
    }
    // Dot-unstuffing (RFC 5321 4.5.2); the excerpt keeps what the bound allows.
    const text = l.text.startsWith('.') ? l.text.slice(1) : l.text;
    const n = l.length + 2 - (l.text.startsWith('.') ? 1 : 0);
    this.bodyBytes += n;
    if (this.bodyKept < this.keepBytes) {
      const piece = Buffer.from(`${text}\r\n`, 'latin1').subarray(0, this.keepBytes - this.bodyKept);
      body.push(piece);
      this.bodyKept += piece.length;
    }
    return { reply: '' };
  }
}
