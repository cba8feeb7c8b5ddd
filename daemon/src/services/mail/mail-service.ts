/**
 * The FTP, SMTP, POP3 and IMAP emulators behind a port: one StreamService per (template, port)
 * that keeps per-host facts (name, seed, certificate) in a bounded map, and a LineSession per
 * connection that runs the protocol's state machine over bounded lines: greeting, command count,
 * idle timeout, the login fail delay (later pipelined lines wait), STARTTLS / STLS / AUTH TLS
 * (the clear-text buffer is dropped at the switch, RFC 3207 §5), implicit TLS, and for FTP the
 * PASV data connection (a port of the decoy opened for one connection, stack/passive-ports.ts).
 * Every credential is a `service.login`, every message a `service.message`, every command line a
 * `service.command`, the transcript one `service.session`.
 */
import { createSecureContext, type SecureContext } from 'node:tls';
import type { LineProtocol, LineServiceOptions } from '../../config/mail-ftp-options';
import type { ServiceIdentitySpec } from '../../config/types';
import type { ConnectionRef, EventSink } from '../../events/event';
import type { OsClass } from '../../personality/osdb/types';
import { hashString } from '../../personality/model/prng';
import { passivePorts } from '../../stack/passive-ports';
import { parseIp } from '../../wire/address';
import { distroFromOsClass, hostnameFor } from '../interactive/host-profile';
import { LoginJudge, jittered } from '../interactive/login-policy';
import { SessionRecorder } from '../interactive/session-recorder';
import type { StreamContext, StreamService, StreamSession } from '../service';
import { certificateProfileFor, issueHostCertificate, windowsHostname, type HostCertificate } from '../tls/cert';
import { tlsFront } from '../tls/tls-front';
import { FTP_PRODUCTS, FtpMachine } from './ftp';
import { IMAP_PRODUCTS, ImapMachine } from './imap';
import { LineReader, type ReadLine } from './line-reader';
import { POP3_PRODUCTS, Pop3Machine } from './pop3';
import type { HostFacts, LineMachine, ProtocolHooks, Step } from './protocol';
import { SMTP_PRODUCTS, SmtpMachine } from './smtp';

/** The products each emulator speaks as, by nmap's product name. */
export const LINE_PRODUCTS: Record<LineProtocol, Record<string, string>> = { ftp: FTP_PRODUCTS, smtp: SMTP_PRODUCTS, pop3: POP3_PRODUCTS, imap: IMAP_PRODUCTS };

const WINDOWS_STYLES = new Set(['msftp', 'msesmtp', 'exchange']);
/** PASV ports are drawn from here (vsftpd's and Pure-FTPd's usual passive range). */
const PASSIVE_LOW = 40000;
const PASSIVE_HIGH = 50000;
/** What each protocol's products say to a connection past `max_sessions` (then close). */
const BUSY: Record<LineProtocol, string> = {
  ftp: '421 There are too many connected users, please try later.\r\n',
  smtp: '421 4.3.2 Service not available, too many connections\r\n',
  pop3: '-ERR [SYS/TEMP] Maximum number of connections exceeded\r\n',
  imap: '* BYE Maximum number of connections exceeded\r\n',
};
/** Longest SMTP text line read in DATA (RFC 5321's 1000, with room for broken clients). */
const DATA_LINE_BYTES = 64 * 1024;

export interface LineServiceSettings {
  protocol: LineProtocol;
  identity: ServiceIdentitySpec;
  options: LineServiceOptions;
  events: EventSink;
  deploymentSeed: number;
  templateName: string;
  port: number;
  osClass?: OsClass;
  /** Ports the template opens (PASV never picks one). */
  openPorts?: ReadonlySet<number>;
  maxHosts?: number;
  /** Make no certificates (the load-time check reads only the greeting). */
  noCertificates?: boolean;
}

interface HostEntry {
  facts: Omit<HostFacts, 'clientAddress'>;
  cert?: Promise<SecureContext>;
  certificate?: HostCertificate;
}

export function lineProductStyle(protocol: LineProtocol, product: string): string | undefined {
  return LINE_PRODUCTS[protocol][product];
}

export class LineStreamService implements StreamService {
  readonly name: string;
  readonly style: string;
  readonly judge: LoginJudge;
  private readonly hosts = new Map<string, HostEntry>();
  /** Sessions open now (past `max_sessions` a connection gets BUSY). */
  sessions = 0;

  constructor(readonly s: LineServiceSettings) {
    const style = lineProductStyle(s.protocol, s.identity.product);
    if (style === undefined) throw new Error(`the ${s.protocol} emulator speaks as ${Object.keys(LINE_PRODUCTS[s.protocol]).map((p) => JSON.stringify(p)).join(', ')}, not "${s.identity.product}"`);
    this.style = style;
    this.name = s.identity.tls ? `${s.protocol === 'smtp' ? 'smtp' : s.protocol}s` : s.protocol;
    this.judge = new LoginJudge(s.options.auth);
  }

  /** The host's facts (name, seed, distribution), made once per address. */
  host(address: string): HostEntry {
    const hit = this.hosts.get(address);
    if (hit !== undefined) return hit;
    const { identity, osClass, options } = this.s;
    const seed = hashString(`${address}\u0000${this.s.templateName}\u0000${this.s.protocol}`, this.s.deploymentSeed);
    const windows = WINDOWS_STYLES.has(this.style) || osClass?.vendor === 'Microsoft';
    const hostname = options.hostname ?? identity.hostname ?? (windows ? windowsHostname(seed) : hostnameFor(seed));
    const facts: HostEntry['facts'] = {
      hostname, address, product: identity.product, ...(identity.version !== undefined ? { version: identity.version } : {}),
      distro: distroFromOsClass(osClass), windows, seed,
    };
    const entry: HostEntry = { facts };
    if ((identity.tls || options.starttls) && this.s.noCertificates !== true) {
      const profile = certificateProfileFor(windows ? 'Microsoft ' + identity.product : identity.product, osClass);
      entry.cert = issueHostCertificate({ hostname, address, seed, profile }).then((c) => {
        entry.certificate = c;
        return createSecureContext({ key: c.keyPem, cert: c.certPem });
      });
      entry.cert.catch(() => {});
    }
    if (this.hosts.size >= (this.s.maxHosts ?? 4096)) {
      const oldest = this.hosts.keys().next().value;
      if (oldest !== undefined) this.hosts.delete(oldest);
    }
    this.hosts.set(address, entry);
    return entry;
  }

  /** The host's certificate once made (tests, the CLI). */
  async certificateFor(address: string): Promise<HostCertificate | undefined> {
    const h = this.host(address);
    if (h.cert === undefined) return undefined;
    await h.cert;
    return h.certificate;
  }

  open(ctx: StreamContext): StreamSession {
    if (this.sessions >= this.s.options.maxSessions) {
      // Said in clear, as the products do before any TLS (their process limit is hit first).
      ctx.write(BUSY[this.s.protocol]);
      ctx.end();
      return { onData: () => {}, onEnd: () => {}, onClose: () => {} };
    }
    const host = this.host(ctx.local.address);
    if (this.s.identity.tls && host.cert !== undefined) {
      return tlsFront(ctx, host.cert, { onSecure: (secure) => new LineSession(secure, this, host, true) });
    }
    return new LineSession(ctx, this, host, false);
  }

  makeMachine(facts: HostFacts, hooks: ProtocolHooks, implicitTls: boolean): LineMachine {
    const o = this.s.options;
    switch (this.s.protocol) {
      case 'ftp': return new FtpMachine(this.style as never, facts, o, hooks, implicitTls);
      case 'smtp': return new SmtpMachine(this.style as never, facts, o, hooks, implicitTls);
      case 'pop3': return new Pop3Machine(this.style as never, facts, o, hooks, implicitTls);
      default: return new ImapMachine(this.style as never, facts, o, hooks, implicitTls);
    }
  }
}

/** The data side of one FTP transfer: waits for the PASV connection, sends, closes. */
interface DataLink {
  port: number;
  ctx?: StreamContext;
  pending?: { data: Buffer; done: string; failed: string };
  timer?: NodeJS.Timeout;
}

class LineSession implements StreamSession {
  private readonly reader: LineReader;
  private readonly recorder: SessionRecorder;
  private readonly machine: LineMachine;
  private readonly queue: ReadLine[] = [];
  private busy = false;
  private closed = false;
  private commands = 0;
  private idle: NodeJS.Timeout | undefined;
  private delay: NodeJS.Timeout | undefined;
  /** After STARTTLS: the TLS layer the raw bytes go to. */
  private tls: StreamSession | undefined;
  /** Where replies go (the raw connection, or the TLS layer's cleartext side). */
  private out: StreamContext;
  private data: DataLink | undefined;
  private readonly localIp: number;

  constructor(private readonly raw: StreamContext, private readonly svc: LineStreamService, private readonly host: HostEntry, implicitTls: boolean) {
    this.out = raw;
    svc.sessions++;
    const s = svc.s;
    this.localIp = parseIp(raw.local.address);
    const conn: ConnectionRef = { proto: 'tcp', srcIp: raw.remote.address, srcPort: raw.remote.port, dstIp: raw.local.address, dstPort: raw.local.port };
    this.recorder = new SessionRecorder(s.events, conn, svc.name, s.identity.product);
    this.reader = new LineReader(s.options.maxLineBytes);
    const facts: HostFacts = { ...host.facts, clientAddress: raw.remote.address };
    const hooks: ProtocolHooks = {
      login: (method, user, password) => {
        const ok = svc.judge.judge(raw.remote.address, user, password);
        this.recorder.login({ authMethod: method, user, password, result: ok ? 'accepted' : 'refused' });
        return ok;
      },
      message: (m) => this.recorder.message(m),
      now: () => new Date(),
      openPassive: () => this.openPassive(),
      dropData: () => this.dropData(),
    };
    this.machine = svc.makeMachine(facts, hooks, implicitTls);
    this.send(this.machine.greeting());
    this.touch();
  }

  private send(text: string): void {
    if (this.closed || text === '') return;
    this.out.write(Buffer.from(text, 'latin1'));
    this.recorder.toClient(text);
  }

  private touch(): void {
    if (this.idle !== undefined) clearTimeout(this.idle);
    this.idle = setTimeout(() => { this.send(this.machine.timeoutReply()); this.close(); }, this.svc.s.options.idleSeconds * 1000);
    this.idle.unref?.();
  }

  onData(data: Buffer): void {
    if (this.closed) return;
    if (this.tls !== undefined) { this.tls.onData(data); return; }
    this.cleartext(data);
  }

  /** Protocol bytes (after TLS, if any). */
  private cleartext(data: Buffer): void {
    if (this.closed) return;
    this.touch();
    this.recorder.fromClient(data);
    this.reader.maxBytes = this.machine.inData ? DATA_LINE_BYTES : this.svc.s.options.maxLineBytes;
    for (const l of this.reader.push(data)) this.queue.push(l);
    this.drain();
    // Lines wait only while a refusal is delayed: a client that pipelines through it is bounded too.
    // (A client that never sends LF cannot hold more than one line: the reader's bound.)
    if (this.queue.length > this.svc.s.options.maxCommands) { this.send(this.machine.tooManyCommandsReply()); this.close(); }
  }

  private drain(): void {
    while (!this.busy && !this.closed && this.queue.length > 0) {
      const l = this.queue.shift() as ReadLine;
      if (!this.machine.inData) {
        if (++this.commands > this.svc.s.options.maxCommands) { this.send(this.machine.tooManyCommandsReply()); this.close(); return; }
        this.recorder.command(l.text);
      }
      const step = this.machine.line(l);
      this.reader.maxBytes = this.machine.inData ? DATA_LINE_BYTES : this.svc.s.options.maxLineBytes;
      if (step.delayed) {
        this.busy = true;
        this.delay = setTimeout(() => { this.delay = undefined; this.busy = false; this.apply(step); this.drain(); }, jittered(this.svc.s.options.failDelayMs));
        this.delay.unref?.();
        return;
      }
      this.apply(step);
    }
  }

  private apply(step: Step): void {
    this.send(step.reply);
    if (step.close) { this.close(); return; }
    if (step.starttls) this.startTls();
    if (step.transfer) this.transfer(step.transfer);
  }

  private startTls(): void {
    const cert = this.host.cert;
    if (cert === undefined) return;
    // Lines pipelined after STARTTLS in clear are dropped (the STARTTLS injection attack).
    this.queue.length = 0;
    this.reader.push(Buffer.from('\n'));
    this.tls = tlsFront(this.raw, cert, {
      onSecure: (inner) => {
        this.out = inner;
        this.machine.secured();
        return { onData: (d) => this.cleartext(d), onEnd: () => this.close(), onClose: () => this.teardown() };
      },
    });
  }

  // ---- FTP data connections ----

  private openPassive(): number | undefined {
    this.dropData();
    const open = this.svc.s.openPorts;
    const link: DataLink = { port: 0 };
    const self = this;
    const dataService: StreamService = {
      name: 'ftp-data',
      open(ctx: StreamContext): StreamSession {
        passivePorts.close(self.localIp, link.port);
        // Only the control connection's client may use the port (vsftpd's pasv_promiscuous=NO).
        if (self.closed || self.data !== link || ctx.remote.address !== self.raw.remote.address) { ctx.reset(); return { onData: () => {}, onEnd: () => {}, onClose: () => {} }; }
        const ready = (c: StreamContext): StreamSession => {
          link.ctx = c;
          self.flushData(link);
          return { onData: () => {}, onEnd: () => c.end(), onClose: () => { if (self.data === link) self.dataGone(link); } };
        };
        const machine = self.machine;
        if (machine instanceof FtpMachine && machine.dataProtected && self.host.cert !== undefined) return tlsFront(ctx, self.host.cert, { onSecure: (inner) => ready(inner) });
        return ready(ctx);
      },
    };
    const port = passivePorts.open(this.localIp, dataService, PASSIVE_LOW, PASSIVE_HIGH, (p) => p === this.raw.local.port || (open?.has(p) ?? false));
    if (port === undefined) return undefined;
    link.port = port;
    this.data = link;
    link.timer = setTimeout(() => { passivePorts.close(this.localIp, port); if (this.data === link) this.dataGone(link); }, this.svc.s.options.passiveWaitSeconds * 1000);
    link.timer.unref?.();
    return port;
  }

  private transfer(t: NonNullable<Step['transfer']>): void {
    // Active mode would need decoyd to open a connection out; it never does (no PORT data path).
    if (t.active !== undefined || this.data === undefined) { this.send(t.failed); return; }
    this.data.pending = t;
    this.flushData(this.data);
  }

  private flushData(link: DataLink): void {
    if (link.ctx === undefined || link.pending === undefined) return;
    const { data, done } = link.pending;
    link.pending = undefined;
    link.ctx.write(data);
    link.ctx.end();
    if (this.data === link) { this.data = undefined; if (link.timer) clearTimeout(link.timer); }
    this.send(done);
  }

  private dataGone(link: DataLink): void {
    if (link.timer) clearTimeout(link.timer);
    passivePorts.close(this.localIp, link.port);
    this.data = undefined;
    if (link.pending !== undefined) this.send(link.pending.failed);
  }

  private dropData(): void {
    const link = this.data;
    if (link === undefined) return;
    if (link.timer) clearTimeout(link.timer);
    passivePorts.close(this.localIp, link.port);
    link.ctx?.end();
    this.data = undefined;
  }

  onEnd(): void {
    if (this.tls !== undefined) { this.tls.onEnd(); return; }
    this.close();
  }

  onDrain(): void { this.tls?.onDrain?.(); }

  onClose(): void {
    this.tls?.onClose();
    this.teardown();
  }

  private close(): void {
    if (this.closed) return;
    const out = this.out;
    this.teardown();
    out.end();
  }

  private teardown(): void {
    if (this.closed) return;
    this.closed = true;
    this.svc.sessions--;
    if (this.idle) clearTimeout(this.idle);
    if (this.delay) clearTimeout(this.delay);
    this.dropData();
    this.queue.length = 0;
    this.recorder.close();
  }
}
