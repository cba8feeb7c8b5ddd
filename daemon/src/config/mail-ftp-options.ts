/**
 * Options of the FTP, SMTP, POP3 and IMAP emulators (services/mail/) and of the DNS and SNMP
 * responders (services/udp/). config/yaml-mail-ftp.ts reads them; every bound has a default here.
 */
import type { LoginPolicy } from './types';

export type LineProtocol = 'ftp' | 'smtp' | 'pop3' | 'imap';

export interface LineServiceOptions {
  auth: LoginPolicy;
  /** Host name the greeting and replies show; default drawn per host. */
  hostname?: string;
  /** Offer STARTTLS / STLS / AUTH TLS in clear (default true). Implicit TLS is the identity's `tls`. */
  starttls: boolean;
  /** Longest command line read (bytes); a longer one gets the product's "line too long" answer. */
  maxLineBytes: number;
  /** Commands per session; then the connection is closed. */
  maxCommands: number;
  /** Sessions of this port at once (all hosts of the template); past it the product's "too many connections". */
  maxSessions: number;
  /** Idle seconds before the product's timeout answer and close. */
  idleSeconds: number;
  /** Failed logins per session before the product closes the connection. */
  maxAuthFailures: number;
  /** Delay before a refused login is answered (±25 %). */
  failDelayMs: number;
  /** SMTP: largest message accepted (bytes); the SIZE extension announces it. */
  maxMessageBytes: number;
  /** SMTP: recipients per message. */
  maxRecipients: number;
  /** FTP: files the fake listing shows (name → content; RETR sends the content). */
  files: Record<string, string>;
  /** FTP: seconds a PASV port waits for its data connection. */
  passiveWaitSeconds: number;
}

export function lineServiceDefaults(protocol: LineProtocol): LineServiceOptions {
  return {
    auth: { mode: 'refuse' }, starttls: true,
    maxLineBytes: protocol === 'imap' ? 8192 : protocol === 'smtp' ? 2048 : 1024,
    maxCommands: 200, maxSessions: 256,
    idleSeconds: protocol === 'imap' ? 1800 : protocol === 'pop3' ? 600 : 300,
    maxAuthFailures: 3, failDelayMs: 1000,
    maxMessageBytes: 10_240_000, maxRecipients: 100,
    files: {}, passiveWaitSeconds: 30,
  };
}

export interface DnsOptions {
  /** Answers the server is authoritative for: name → IPv4 address (A records). */
  records: Record<string, string>;
  /** Queries answered per second per source before the rest are dropped (BIND's rate-limit). */
  maxAnswersPerSecond: number;
}

export interface SnmpOptions {
  /** Community accepted for reads; other communities get no answer, as net-snmp does. */
  community: string;
  sysContact?: string;
  sysLocation?: string;
  sysName?: string;
  /** sysDescr; default from the host's OS personality. */
  sysDescr?: string;
  maxAnswersPerSecond: number;
}
