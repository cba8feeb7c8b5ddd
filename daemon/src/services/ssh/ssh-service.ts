/**
 * The SSH emulator: the claimed version's identification and KEXINIT lists, OpenSSH's answers to
 * bad identification lines, every password, keyboard-interactive answer and public key captured as
 * `service.login`, then refused (PAM's delay, MaxAuthTries, `Too many authentication failures`)
 * or let into the fake shell, as configured.
 *
 * Order on the wire, as sshd: the identification goes out on connect; the client's line is judged
 * here (ident.ts); the client's first packet (its KEXINIT, in the clear) is read here too, so the
 * offer can keep every name of the claimed version that this client would not choose
 * (kexinit.ts); then ssh2 runs the rest over the same bytes, its own identification swallowed.
 */
import type { Connection, AuthContext, Session, ServerChannel } from 'ssh2';
import type { StreamContext, StreamService, StreamSession } from '../service';
import type { ConnectionRef, EventSink } from '../../events/event';
import type { ServiceIdentitySpec, SshOptions } from '../../config/types';
import type { OsClass } from '../../personality/osdb/types';
import { SessionRecorder } from '../interactive/session-recorder';
import { StreamDuplex } from '../interactive/stream-duplex';
import { FakeShell } from '../interactive/fake-shell';
import { hostProfile, lastLoginFrom, type HostProfile } from '../interactive/host-profile';
import { LoginJudge, jittered } from '../interactive/login-policy';
import { hashString } from '../../personality/model/prng';
import { identLine, sshPersonaFor, type SshPersona } from './versions';
import { judgeIdent, SSH_MAX_BANNER_LEN } from './ident';
import { hasshClient, kexinitPacket, offerFor, readFirstPacket, PACKET_MAX_SIZE, type KexLists } from './kexinit';
import { HostKeyStore, sha256Fingerprint, type HostKeySet } from './host-keys';
import { SSH2_AEAD, SSH2_SUPPORTED, disconnectWith, incomingConnection } from './ssh2-glue';

/** Hosts whose keys the daemon keeps (each host's keys are made on its first SSH connection). */
export const MAX_HOST_KEY_SETS = 4096;
/** Bytes read before ssh2 takes over: the identification plus a generous client KEXINIT. */
const MAX_PREFACE_BYTES = SSH_MAX_BANNER_LEN + 2 + 64 * 1024;

const sharedHostKeys = new HostKeyStore(MAX_HOST_KEY_SETS);

export interface SshServiceSettings {
  identity: ServiceIdentitySpec;
  options: SshOptions;
  events: EventSink;
  deploymentSeed: number;
  templateName: string;
  osClass?: OsClass;
  hostKeys?: HostKeyStore;
}

/** OpenSSH's key type words in `Failed publickey … ssh2: RSA SHA256:…`. */
function keyTypeName(algo: string): string {
  if (algo.startsWith('ssh-rsa') || algo.startsWith('rsa-sha2')) return 'RSA';
  if (algo.startsWith('ssh-ed25519')) return 'ED25519';
  if (algo.startsWith('sk-ssh-ed25519')) return 'ED25519-SK';
  if (algo.startsWith('sk-ecdsa')) return 'ECDSA-SK';
  if (algo.startsWith('ecdsa-sha2')) return 'ECDSA';
  if (algo.startsWith('ssh-dss')) return 'DSA';
  return algo;
}

export class SshStreamService implements StreamService {
  readonly name = 'ssh';
  readonly persona: SshPersona;
  private readonly judge: LoginJudge;
  private readonly hostKeys: HostKeyStore;
  private readonly profiles = new Map<string, HostProfile>();

  constructor(private readonly s: SshServiceSettings) {
    const p = sshPersonaFor(s.identity.product, s.identity.version);
    if (typeof p === 'string') throw new Error(p);
    this.persona = p;
    this.judge = new LoginJudge(s.options.auth);
    this.hostKeys = s.hostKeys ?? sharedHostKeys;
  }

  profileFor(address: string): HostProfile {
    let p = this.profiles.get(address);
    if (p === undefined) {
      p = hostProfile(this.persona.distro, hashString(`${address}\u0000${this.s.templateName}`, this.s.deploymentSeed), this.s.options.shell.hostname);
      this.profiles.set(address, p);
      if (this.profiles.size > MAX_HOST_KEY_SETS) this.profiles.delete(this.profiles.keys().next().value as string);
    }
    return p;
  }

  open(ctx: StreamContext): StreamSession {
    return new SshSession(ctx, this, this.s, this.persona, this.judge, this.hostKeys);
  }
}

type Phase = 'ident' | 'kexinit' | 'waiting-keys' | 'ssh' | 'discard' | 'closed';

class SshSession implements StreamSession {
  private phase: Phase = 'ident';
  private preface: Buffer[] = [];
  private prefaceBytes = 0;
  private identLength = 0;
  private clientLists: KexLists | undefined;
  private readonly recorder: SessionRecorder;
  private readonly timers: NodeJS.Timeout[] = [];
  private kexWait: NodeJS.Timeout | undefined;
  private duplex: StreamDuplex | undefined;
  private client: Connection | undefined;
  private failures = 0;
  private hassh: string | undefined;
  private discarded = 0;
  private readonly ident: string;
  private readonly keys: Promise<HostKeySet>;

  constructor(
    private readonly ctx: StreamContext,
    private readonly service: SshStreamService,
    private readonly s: SshServiceSettings,
    private readonly persona: SshPersona,
    private readonly judge: LoginJudge,
    hostKeys: HostKeyStore,
  ) {
    const conn: ConnectionRef = { proto: 'tcp', srcIp: ctx.remote.address, srcPort: ctx.remote.port, dstIp: ctx.local.address, dstPort: ctx.local.port };
    this.recorder = new SessionRecorder(s.events, conn, 'ssh', persona.product);
    this.ident = identLine(persona);
    // Keys are made (or found) while the identification lines cross.
    this.keys = hostKeys.keysFor(ctx.local.address, persona.hostKeys, persona.rsaBits);
    this.keys.catch(() => {});
    ctx.write(this.ident);
    this.recorder.toClient(this.ident);
    // LoginGraceTime: sshd closes without a word.
    this.timer(s.options.loginGraceSeconds * 1000, () => { if (!this.authenticated) this.close(); });
  }

  private authenticated = false;
  private readPaused = false;
  /** Commands over every channel of this connection (shells and exec requests together). */
  private commands = 0;

  private countCommand(line: string): void {
    this.recorder.command(line);
    if (++this.commands > this.s.options.shell.maxCommands) this.timer(0, () => this.close());
  }

  /**
   * Timers call into ssh2 (accept, reject, disconnect), whose objects throw once the connection is
   * torn down under them: such a throw closes this session, never the daemon.
   */
  private timer(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => this.guard(fn), ms);
    t.unref?.();
    this.timers.push(t);
    return t;
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch {
      this.close();
    }
  }

  onData(data: Buffer): void {
    switch (this.phase) {
      case 'ssh': this.duplex?.deliver(data); return;
      case 'closed': return;
      case 'discard':
        this.discarded += data.length;
        if (this.discarded >= PACKET_MAX_SIZE) this.close();
        return;
      case 'waiting-keys':
        // Host keys are still being made: hold what arrives, and stop reading past the bound.
        this.preface.push(data);
        this.prefaceBytes += data.length;
        if (this.prefaceBytes > MAX_PREFACE_BYTES && !this.readPaused) { this.readPaused = true; this.ctx.pause?.(); }
        return;
      default: break;
    }
    this.preface.push(data);
    this.prefaceBytes += data.length;
    const all = Buffer.concat(this.preface);
    this.preface = [all];
    if (this.phase === 'ident') {
      const v = judgeIdent(all, this.persona.identStyle);
      if (v.kind === 'more') return;
      this.recorder.fromClient(all.subarray(0, v.kind === 'ok' ? v.length : Math.min(all.length, 512)));
      if (v.kind === 'refuse') {
        this.recorder.setClientVersion(v.line);
        if (v.reply !== '') { this.ctx.write(v.reply); this.recorder.toClient(v.reply); }
        this.close();
        return;
      }
      this.recorder.setClientVersion(v.line);
      this.identLength = v.length;
      this.phase = 'kexinit';
      // When the wait ends, let I/O that is already in (a stalled event loop runs timers first) reach onData before giving up.
      this.kexWait = this.timer(this.s.options.kexinitWaitMs, () => { setImmediate(() => this.guard(() => this.startSsh())); });
    }
    if (this.phase === 'kexinit') {
      const rest = all.subarray(this.identLength);
      const first = readFirstPacket(rest);
      if (first.kind === 'more' && this.prefaceBytes < MAX_PREFACE_BYTES) return;
      if (first.kind === 'bad-length') {
        // sshd has sent its KEXINIT by now; then ssh_packet_start_discard: silence while up to
        // PACKET_MAX_SIZE is read, then it drops the connection.
        const p = this.persona;
        const kexinit = kexinitPacket(offerFor({ kex: p.kex, hostKey: p.hostKeyAlgorithms, ciphers: p.ciphers, macs: p.macs, compression: p.compression }, undefined, SSH2_SUPPORTED, SSH2_AEAD));
        this.ctx.write(kexinit);
        this.recorder.toClient(kexinit);
        this.phase = 'discard';
        this.discarded = rest.length;
        this.preface = [];
        return;
      }
      if (first.kind === 'kexinit') {
        this.clientLists = first.lists;
        this.hassh = hasshClient(first.lists);
      }
      this.startSsh();
    }
  }

  private startSsh(): void {
    if (this.phase !== 'kexinit') return;
    if (this.kexWait !== undefined) clearTimeout(this.kexWait);
    this.phase = 'waiting-keys';
    this.keys.then((keys) => {
      if (this.phase !== 'waiting-keys') return;
      this.runSsh(keys.byAlgorithm);
    }, () => this.close());
  }

  private runSsh(hostKeys: Parameters<typeof incomingConnection>[1]): void {
    const p = this.persona;
    const offer = offerFor({ kex: p.kex, hostKey: p.hostKeyAlgorithms, ciphers: p.ciphers, macs: p.macs, compression: p.compression }, this.clientLists, SSH2_SUPPORTED, SSH2_AEAD);
    const duplex = new StreamDuplex(this.ctx);
    this.duplex = duplex;
    duplex.swallowPrefix(Buffer.from(this.ident, 'latin1'));
    const buffered = Buffer.concat(this.preface);
    this.preface = [];
    this.phase = 'ssh';
    duplex.deliver(buffered);
    if (this.readPaused) { this.readPaused = false; this.ctx.resume?.(); }
    const client = incomingConnection(duplex, hostKeys, this.ident.slice(8, -2), offer, (c) => this.wire(c));
    this.client = client;
    client.on('error', () => {});
    client.on('close', () => this.close());
    client.on('end', () => this.close());
  }

  private wire(client: Connection): void {
    const methods = (this.s.options.methods ?? this.persona.authMethods) as Array<'publickey' | 'password' | 'keyboard-interactive'>;
    client.on('authentication', (ctx: AuthContext) => this.guard(() => this.onAuth(client, ctx, methods)));
    client.on('ready', () => {
      this.authenticated = true;
      this.timer(this.s.options.shell.sessionSeconds * 1000, () => this.close());
      client.on('session', (accept) => this.guard(() => this.onSession(accept(), this.user)));
    });
    client.on('tcpip', (_accept, reject, info) => {
      this.recorder.request({ method: 'direct-tcpip', path: `${info.destIP}:${info.destPort}` });
      reject();
    });
    client.on('request', (_accept, reject) => { reject?.(); });
  }

  private user = '';

  private refuse(client: Connection, ctx: AuthContext, methods: string[], delayMs: number): void {
    if (ctx.method !== 'none') this.failures++;
    const finish = (): void => {
      if (this.phase !== 'ssh') return;
      if (this.failures >= this.s.options.maxAuthTries) {
        // auth2.c auth_maxtries_exceeded(): DISCONNECT instead of the last USERAUTH_FAILURE.
        disconnectWith(client, 2, 'Too many authentication failures');
        this.timer(50, () => this.close());
        return;
      }
      ctx.reject(methods as never);
    };
    if (delayMs > 0) this.timer(delayMs, finish);
    else finish();
  }

  private onAuth(client: Connection, ctx: AuthContext, methods: string[]): void {
    this.user = ctx.username;
    const remote = this.ctx.remote.address;
    const base = { user: ctx.username, ...(this.hassh !== undefined ? { hassh: this.hassh } : {}) };
    switch (ctx.method) {
      case 'password': {
        if (!methods.includes('password')) { this.refuse(client, ctx, methods, 0); return; }
        const ok = this.judge.judge(remote, ctx.username, ctx.password);
        this.recorder.login({ ...base, authMethod: 'password', password: ctx.password, result: ok ? 'accepted' : 'refused' });
        if (ok) this.timer(jittered(80), () => { if (this.phase === 'ssh') ctx.accept(); });
        else this.refuse(client, ctx, methods, jittered(this.s.options.failDelayMs));
        return;
      }
      case 'keyboard-interactive': {
        if (!methods.includes('keyboard-interactive')) { this.refuse(client, ctx, methods, 0); return; }
        ctx.prompt([{ prompt: 'Password: ', echo: false }], (answers) => this.guard(() => {
          const password = answers[0] ?? '';
          const ok = this.judge.judge(remote, ctx.username, password);
          this.recorder.login({ ...base, authMethod: 'keyboard-interactive', password, result: ok ? 'accepted' : 'refused' });
          if (ok) ctx.accept();
          else this.refuse(client, ctx, methods, jittered(this.s.options.failDelayMs));
        }));
        return;
      }
      case 'publickey': {
        // A key is asked about first (no signature); it is refused at once, so no signature ever follows.
        this.recorder.login({ ...base, authMethod: 'publickey', keyType: keyTypeName(ctx.key.algo), keyFingerprint: sha256Fingerprint(ctx.key.data), result: 'refused' });
        this.refuse(client, ctx, methods, 0);
        return;
      }
      default:
        this.refuse(client, ctx, methods, 0);
    }
  }

  private onSession(session: Session, user: string): void {
    const host = this.service.profileFor(this.ctx.local.address);
    let pty = false;
    session.on('pty', (accept) => { pty = true; accept?.(); });
    session.on('env', (accept) => { accept?.(); });
    session.on('window-change', (accept) => { accept?.(); });
    session.on('signal', (accept) => { accept?.(); });
    session.on('subsystem', (_accept, reject) => { reject?.(); });
    session.on('sftp', (_accept, reject) => { reject?.(); });
    session.on('x11', (_accept, reject) => { reject?.(); });
    session.on('auth-agent', (_accept, reject) => { reject?.(); });
    session.on('exec', (accept, _reject, info) => this.guard(() => {
      const ch = accept();
      if (ch === undefined) return;
      this.recorder.fromClient(info.command);
      const shell = new FakeShell(host, user, false, this.shellBounds(), (line) => this.countCommand(line));
      const out = shell.runLine(info.command);
      this.recorder.toClient(out);
      ch.write(out);
      ch.exit(out.includes('command not found') ? 127 : 0);
      ch.end();
    }));
    session.on('shell', (accept) => this.guard(() => {
      const ch = accept();
      if (ch === undefined) return;
      this.shell(ch, host, user, pty);
    }));
  }

  private shellBounds(): { maxLineBytes: number; maxCommands: number } {
    return { maxLineBytes: this.s.options.shell.maxLineBytes, maxCommands: this.s.options.shell.maxCommands };
  }

  private shell(ch: ServerChannel, host: HostProfile, user: string, pty: boolean): void {
    // Without a pty (`ssh -T`) there is no terminal: no echo, plain newlines.
    const shell = new FakeShell(host, user, pty, this.shellBounds(), (line) => this.countCommand(line));
    const banner = shell.banner(lastLoginFrom(host));
    ch.write(banner);
    this.recorder.toClient(banner);
    ch.on('data', (data: Buffer) => this.guard(() => {
      this.recorder.fromClient(data);
      const out = shell.input(data);
      const text = out.text;
      if (text !== '') { ch.write(text); this.recorder.toClient(text); }
      if (out.exit) { ch.exit(0); ch.end(); }
    }));
    ch.on('error', () => {});
  }

  onEnd(): void {
    if (this.phase === 'ssh') this.duplex?.deliverEnd();
    else this.close();
  }

  onDrain(): void {
    this.duplex?.drained();
  }

  onClose(): void {
    this.teardown();
  }

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
    this.preface = [];
    this.duplex?.connectionGone();
    this.recorder.close();
  }
}
