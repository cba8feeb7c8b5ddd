/**
 * What the FTP, SMTP, POP3 and IMAP state machines (ftp.ts, smtp.ts, pop3.ts, imap.ts) share:
 * the host they speak for, the hooks they record through, and the step each command line yields.
 * The machines are pure (no sockets, no timers): the session (line-session.ts) runs them.
 */
import type { LineServiceOptions } from '../../config/mail-ftp-options';
import type { Distro } from '../interactive/host-profile';
import type { ReadLine } from './line-reader';

export interface HostFacts {
  hostname: string;
  address: string;
  /** The configured nmap product name (`vsftpd`, `Postfix smtpd`, …) and version. */
  product: string;
  version?: string;
  distro: Distro;
  windows: boolean;
  seed: number;
  /** The client's address (FTP PORT is allowed only towards it; SMTP's Received line). */
  clientAddress: string;
}

export interface MailMessage {
  mailFrom: string;
  rcptTo: string[];
  subject?: string;
  body: Buffer;
  bodyBytes: number;
}

export interface ProtocolHooks {
  /** Judges a credential by the login policy and records it; true when let in. */
  login(method: string, user: string, password: string): boolean;
  /** An accepted message (SMTP): logged, never relayed. */
  message(m: MailMessage): void;
  now(): Date;
  /** FTP PASV: a port of this host waiting for one data connection; undefined when none is free. */
  openPassive?(): number | undefined;
  /** FTP: forget any data connection set up (a new PASV/PORT, or ABOR). */
  dropData?(): void;
}

/** What the session does after one command line. */
export interface Step {
  reply: string;
  /** Answer only after the login fail delay. */
  delayed?: boolean;
  /** Close after the reply. */
  close?: boolean;
  /** Start TLS right after the reply. */
  starttls?: boolean;
  /** FTP: send these bytes over the data connection, then the `done` reply (`failed` when none came). */
  transfer?: { data: Buffer; done: string; failed: string; active?: { address: string; port: number } };
}

export interface LineMachine {
  readonly protocol: 'ftp' | 'smtp' | 'pop3' | 'imap';
  greeting(): string;
  line(l: ReadLine): Step;
  /** What the product says when the client idles out (may be '' for a silent close). */
  timeoutReply(): string;
  /** The answer to the command past `max_commands`, before closing. */
  tooManyCommandsReply(): string;
  /** TLS came up after `starttls`: state returns to just after the greeting, as RFC 3207 says. */
  secured(): void;
  /** Whether TLS is on (implicit or STARTTLS). */
  tls: boolean;
  /** SMTP in DATA: lines are message text, not commands (not counted, longer allowed). */
  readonly inData?: boolean;
}

export type MachineFactory = (host: HostFacts, options: LineServiceOptions, hooks: ProtocolHooks, implicitTls: boolean) => LineMachine;

/** `Wed, 02 Dec 2026 18:00:00 +0000` (RFC 5322 date, UTC). */
export function rfc5322Date(d: Date): string {
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()] as string;
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()] as string;
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${day}, ${p(d.getUTCDate())} ${mon} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
