/**
 * The Telnet emulator: the claimed telnetd's negotiation (negotiation.ts), a login dialogue as the
 * host's login program words it (util-linux/BusyBox `login`, IOS `User Access Verification`),
 * each user/password pair a `service.login`, then `Login incorrect` (after login's delay) or the
 * fake shell, as configured.
 */
import type { StreamContext, StreamService, StreamSession } from '../service';
import type { ConnectionRef, EventSink } from '../../events/event';
import type { ServiceIdentitySpec, TelnetOptions } from '../../config/types';
import type { OsClass } from '../../personality/osdb/types';
import { SessionRecorder } from '../interactive/session-recorder';
import { FakeShell } from '../interactive/fake-shell';
import { deviceHostnameFor, distroFromOsClass, hostProfile, lastLoginFrom, prettyName, type Distro, type HostProfile } from '../interactive/host-profile';
import { LoginJudge, jittered } from '../interactive/login-policy';
import { hashString } from '../../personality/model/prng';
import { FLAVOURS, TelnetReader, flavourOf, type TelnetFlavour } from './negotiation';

export interface TelnetServiceSettings {
  identity: ServiceIdentitySpec;
  options: TelnetOptions;
  events: EventSink;
  deploymentSeed: number;
  templateName: string;
  osClass?: OsClass;
  /** The distribution another emulator on the same template claims (its SSH build): the shell then agrees with it. */
  distro?: Distro;
  /** Host name another emulator on the template was given. */
  hostname?: string;
}

/** How long the Linux and IOS flavours wait for the client's negotiation answer before the login text. */
const NEGOTIATION_WAIT_MS = { linux: 10_000, busybox: 0, cisco: 1_000 } as const;
/** Hosts whose profile is kept. */
const MAX_PROFILES = 4096;

export class TelnetStreamService implements StreamService {
  readonly name = 'telnet';
  readonly flavour: TelnetFlavour;
  private readonly judge: LoginJudge;
  private readonly profiles = new Map<string, HostProfile>();

  constructor(readonly s: TelnetServiceSettings) {
    const f = flavourOf(s.identity.product);
    if (f === undefined) throw new Error(`the telnet emulator offers "Linux telnetd", "BusyBox telnetd", "Cisco router telnetd" and "Cisco IOS telnetd", not "${s.identity.product}"`);
    this.flavour = f;
    this.judge = new LoginJudge(s.options.auth);
  }

  profileFor(address: string): HostProfile {
    let p = this.profiles.get(address);
    if (p === undefined) {
      const guessed = this.flavour === 'linux' ? this.s.distro ?? distroFromOsClass(this.s.osClass) : 'embedded';
      const distro = guessed === 'embedded' && this.flavour === 'linux' ? 'debian12' : guessed;
      const seed = hashString(`${address}\u0000${this.s.templateName}`, this.s.deploymentSeed);
      const named = this.s.options.shell.hostname ?? this.s.identity.hostname ?? this.s.hostname;
      p = hostProfile(distro, seed, named ?? (this.flavour === 'cisco' ? deviceHostnameFor(seed) : undefined));
      this.profiles.set(address, p);
      if (this.profiles.size > MAX_PROFILES) this.profiles.delete(this.profiles.keys().next().value as string);
    }
    return p;
  }

  open(ctx: StreamContext): StreamSession {
    return new TelnetSession(ctx, this, this.judge);
  }
}

type Phase = 'negotiating' | 'user' | 'password' | 'checking' | 'shell' | 'closed';

class TelnetSession implements StreamSession {
  private phase: Phase = 'negotiating';
  private readonly reader: TelnetReader;
  private readonly recorder: SessionRecorder;
  private readonly host: HostProfile;
  private readonly timers: NodeJS.Timeout[] = [];
  private line = '';
  private user = '';
  private attempts = 0;
  private lastCr = false;
  private shell: FakeShell | undefined;
  private readonly o: TelnetOptions;

  constructor(private readonly ctx: StreamContext, private readonly service: TelnetStreamService, private readonly judge: LoginJudge) {
    const s = service.s;
    this.o = s.options;
    const conn: ConnectionRef = { proto: 'tcp', srcIp: ctx.remote.address, srcPort: ctx.remote.port, dstIp: ctx.local.address, dstPort: ctx.local.port };
    this.recorder = new SessionRecorder(s.events, conn, 'telnet', s.identity.product);
    const rules = FLAVOURS[service.flavour];
    this.reader = new TelnetReader(rules);
    this.host = service.profileFor(ctx.local.address);
    if (service.flavour === 'busybox' || s.identity.product === 'Cisco IOS telnetd') {
      this.send(Buffer.concat([rules.opening, Buffer.from(this.loginText(), 'latin1')]));
      this.phase = 'user';
    } else {
      this.send(rules.opening);
      this.timer(NEGOTIATION_WAIT_MS[service.flavour], () => this.startLogin());
    }
    this.timer(this.o.loginTimeoutSeconds * 1000, () => {
      if (this.phase === 'shell' || this.phase === 'closed') return;
      this.send(service.flavour === 'cisco' ? '\r\n% Username:  timeout expired!\r\n' : `\r\nLogin timed out after ${this.o.loginTimeoutSeconds} seconds.\r\n`);
      this.close();
    });
  }

  private timer(ms: number, fn: () => void): void {
    const t = setTimeout(fn, ms);
    t.unref?.();
    this.timers.push(t);
  }

  private send(data: Buffer | string): void {
    if (this.phase === 'closed') return;
    this.ctx.write(data);
    this.recorder.toClient(data);
  }

  /** The text before the first `login:`: issue and prompt, as the flavour's login program prints them. */
  private loginText(): string {
    const f = this.service.flavour;
    if (f === 'cisco') return '\r\n\r\nUser Access Verification\r\n\r\nUsername: ';
    if (f === 'busybox') return `${this.host.hostname} login: `;
    return `${prettyName(this.host.distro)}\r\n${this.host.hostname} login: `;
  }

  private userPrompt(): string {
    return this.service.flavour === 'cisco' ? 'Username: ' : `${this.host.hostname} login: `;
  }

  private startLogin(): void {
    if (this.phase !== 'negotiating') return;
    const after = FLAVOURS[this.service.flavour].afterAnswer;
    if (after) this.send(after);
    this.send(this.service.flavour === 'linux' ? `\r\n${this.loginText()}` : this.loginText());
    this.phase = 'user';
  }

  onData(chunk: Buffer): void {
    if (this.phase === 'closed') return;
    const input = this.reader.read(chunk);
    if (input.reply.length > 0) this.send(input.reply);
    if (input.data.length > 0) this.recorder.fromClient(input.data);
    if (this.phase === 'negotiating') {
      if (input.negotiated || input.data.length > 0) this.startLogin();
    }
    if (this.phase === 'shell') { this.toShell(input.data); return; }
    for (const c of input.data) {
      if (this.phase !== 'user' && this.phase !== 'password') break;
      if (c === 0x0a && this.lastCr) { this.lastCr = false; continue; }
      if (c === 0x00 && this.lastCr) { this.lastCr = false; continue; }
      this.lastCr = c === 0x0d;
      if (c === 0x0d || c === 0x0a) { this.lineDone(); continue; }
      if (c === 0x7f || c === 0x08) {
        if (this.line.length > 0) { this.line = this.line.slice(0, -1); if (this.phase === 'user') this.send('\b \b'); }
        continue;
      }
      if (c === 0x03 || c === 0x04) { this.close(); return; }
      if (c < 0x20) continue;
      if (this.line.length >= this.o.shell.maxLineBytes) continue;
      this.line += String.fromCharCode(c);
      if (this.phase === 'user') this.send(String.fromCharCode(c));
    }
  }

  private lineDone(): void {
    const text = this.line;
    this.line = '';
    this.send('\r\n');
    if (this.phase === 'user') {
      if (text === '' && this.service.flavour !== 'cisco') { this.send(this.userPrompt()); return; }
      this.user = text;
      this.phase = 'password';
      this.send('Password: ');
      return;
    }
    // Password line: judged after login's delay.
    this.phase = 'checking';
    this.attempts++;
    const ok = this.judge.judge(this.ctx.remote.address, this.user, text);
    this.recorder.login({ authMethod: 'password', user: this.user, password: text, result: ok ? 'accepted' : 'refused' });
    if (ok) { this.timer(jittered(200), () => this.startShell()); return; }
    this.timer(jittered(this.o.failDelayMs), () => {
      if (this.phase !== 'checking') return;
      const cisco = this.service.flavour === 'cisco';
      this.send(cisco ? '% Authentication failed\r\n\r\n' : '\r\nLogin incorrect\r\n');
      if (this.attempts >= this.o.maxAttempts) {
        if (cisco) this.send('% Bad passwords\r\n\r\n');
        this.close();
        return;
      }
      this.phase = 'user';
      this.send(this.userPrompt());
    });
  }

  private startShell(): void {
    if (this.phase !== 'checking') return;
    this.phase = 'shell';
    if (this.service.flavour === 'cisco') {
      this.send(`\r\n${this.host.hostname}>`);
      this.timer(this.o.shell.sessionSeconds * 1000, () => this.close());
      return;
    }
    const bounds = { maxLineBytes: this.o.shell.maxLineBytes, maxCommands: this.o.shell.maxCommands };
    this.shell = new FakeShell(this.host, this.user, true, bounds, (line) => this.recorder.command(line));
    this.send(this.shell.banner(lastLoginFrom(this.host)));
    this.timer(this.o.shell.sessionSeconds * 1000, () => this.close());
  }

  private iosLine = '';
  private iosCommands = 0;

  private toShell(data: Buffer): void {
    if (this.shell !== undefined) {
      const out = this.shell.input(data);
      if (out.text !== '') this.send(out.text);
      if (out.exit) this.close();
      return;
    }
    // IOS user EXEC: a few words; everything is logged.
    for (const c of data) {
      if (c === 0x0a && this.lastCr) { this.lastCr = false; continue; }
      if (c === 0x00) continue;
      this.lastCr = c === 0x0d;
      if (c === 0x0d || c === 0x0a) {
        const cmd = this.iosLine.trim();
        this.iosLine = '';
        this.send('\r\n');
        if (cmd !== '') {
          this.recorder.command(cmd);
          if (++this.iosCommands > this.o.shell.maxCommands || cmd === 'exit' || cmd === 'logout' || cmd === 'quit') { this.close(); return; }
          this.send(iosAnswer(cmd, this.host.hostname));
        }
        this.send(`${this.host.hostname}>`);
        continue;
      }
      if (c < 0x20 || this.iosLine.length >= this.o.shell.maxLineBytes) continue;
      this.iosLine += String.fromCharCode(c);
      this.send(String.fromCharCode(c));
    }
  }

  onEnd(): void { this.close(); }
  onClose(): void { this.teardown(); }

  private close(): void {
    if (this.phase === 'closed') return;
    this.teardown();
    this.ctx.end();
  }

  private teardown(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    for (const t of this.timers) clearTimeout(t);
    this.timers.length = 0;
    this.recorder.close();
  }
}

function iosAnswer(cmd: string, hostname: string): string {
  if (/^sh(o(w)?)? ver/i.test(cmd)) return `Cisco IOS Software, C1900 Software (C1900-UNIVERSALK9-M), Version 15.1(4)M4, RELEASE SOFTWARE (fc1)\r\nTechnical Support: http://www.cisco.com/techsupport\r\n\r\nROM: System Bootstrap, Version 15.0(1r)M15, RELEASE SOFTWARE (fc1)\r\n\r\n${hostname} uptime is 21 weeks, 3 days, 7 hours, 12 minutes\r\n\r\n`;
  if (/^en(a(b(le?)?)?)?$/i.test(cmd)) return '% Error in authentication.\r\n\r\n';
  if (!cmd.includes(' ')) return `Translating "${cmd}"\r\n% Unknown command or computer name, or unable to find computer address\r\n`;
  return `              ^\r\n% Invalid input detected at '^' marker.\r\n\r\n`;
}
