/**
 * `service: { emulate: ssh | telnet, product, version, …identity keys, …emulator keys }` in YAML.
 * The identity keys are read by the caller's identity reader; the emulator keys here:
 *
 *   auth: refuse | { accept: ["user:password", …] } | { any_after: N }    (default refuse)
 *   hostname: "web-02"                 # prompt and uname; default drawn per host
 *   max_line_bytes: 4096, max_commands: 500, session_seconds: 600         # fake shell bounds
 *   ssh:    max_auth_tries: 6, login_grace_seconds: 120, fail_delay_ms: 2000, kexinit_wait_ms: 300,
 *           methods: [publickey, password, keyboard-interactive]
 *   telnet: max_attempts: 3, login_timeout_seconds: 60, fail_delay_ms: 3000
 */
import type { LoginPolicy, ServiceSpec, ShellOptions, SshOptions, TelnetOptions } from './types';
import type { KeyPath } from './yaml-positions';
import { isMapping, type YamlMapping, type YamlReader } from './yaml-reader';
import { sshPersonaFor } from '../services/ssh/versions';
import { flavourOf } from '../services/telnet/negotiation';

const SHELL_KEYS = ['hostname', 'max_line_bytes', 'max_commands', 'session_seconds'] as const;
const SSH_KEYS = ['auth', 'max_auth_tries', 'login_grace_seconds', 'fail_delay_ms', 'kexinit_wait_ms', 'methods', ...SHELL_KEYS] as const;
const TELNET_KEYS = ['auth', 'max_attempts', 'login_timeout_seconds', 'fail_delay_ms', ...SHELL_KEYS] as const;
const SSH_METHODS = ['publickey', 'password', 'keyboard-interactive', 'gssapi-keyex', 'gssapi-with-mic', 'hostbased'];

/** sshd's defaults (MaxAuthTries 6, LoginGraceTime 120) and PAM's 2 s fail delay; every login refused. */
export function sshDefaults(): SshOptions {
  return { auth: { mode: 'refuse' }, maxAuthTries: 6, loginGraceSeconds: 120, failDelayMs: 2000, kexinitWaitMs: 300, shell: shellDefaults() };
}

/** login(1)'s 3 tries, 60 s and 3 s delay; every login refused. */
export function telnetDefaults(): TelnetOptions {
  return { auth: { mode: 'refuse' }, maxAttempts: 3, loginTimeoutSeconds: 60, failDelayMs: 3000, shell: shellDefaults() };
}

function shellDefaults(): ShellOptions {
  return { maxLineBytes: 4096, maxCommands: 500, sessionSeconds: 600 };
}

type IdentityReader = (r: YamlReader, at: KeyPath, value: YamlMapping) => ServiceSpec | undefined;

export function readSshTelnet(r: YamlReader, at: KeyPath, value: YamlMapping, readIdentity: IdentityReader): ServiceSpec | undefined {
  const kind = value.emulate as 'ssh' | 'telnet';
  const own: readonly string[] = kind === 'ssh' ? SSH_KEYS : TELNET_KEYS;
  const identityPart: YamlMapping = {};
  const mine: YamlMapping = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'emulate') continue;
    if (own.includes(k)) mine[k] = v;
    else identityPart[k] = v;
  }
  if (identityPart.name === undefined) identityPart.name = kind;
  const id = readIdentity(r, at, identityPart);
  if (id === undefined || id.kind !== 'identity') return undefined;
  const identity = id.identity;
  const int = (key: string, min: number, max: number, dflt: number): number => (mine[key] === undefined ? dflt : r.integer(mine[key], [...at, key], min, max) ?? dflt);
  const sd = shellDefaults();
  const shell: ShellOptions = {
    maxLineBytes: int('max_line_bytes', 16, 65536, sd.maxLineBytes),
    maxCommands: int('max_commands', 1, 100_000, sd.maxCommands),
    sessionSeconds: int('session_seconds', 1, 86_400, sd.sessionSeconds),
  };
  if (mine.hostname !== undefined) {
    const h = r.string(mine.hostname, [...at, 'hostname']);
    if (h !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(h)) r.error([...at, 'hostname'], 'expected a host name (letters, digits, ".", "_", "-")');
    else if (h !== undefined) shell.hostname = h;
  }
  const auth = readLoginPolicy(r, [...at, 'auth'], mine.auth);
  if (auth === undefined) return undefined;
  if (kind === 'ssh') {
    const persona = sshPersonaFor(identity.product, identity.version);
    if (typeof persona === 'string') { r.error(at, persona); return undefined; }
    const dflt = sshDefaults();
    const ssh: SshOptions = {
      auth,
      maxAuthTries: int('max_auth_tries', 1, 100, dflt.maxAuthTries),
      loginGraceSeconds: int('login_grace_seconds', 1, 3600, dflt.loginGraceSeconds),
      failDelayMs: int('fail_delay_ms', 0, 30_000, dflt.failDelayMs),
      kexinitWaitMs: int('kexinit_wait_ms', 0, 10_000, dflt.kexinitWaitMs),
      shell,
    };
    if (mine.methods !== undefined) {
      const list = r.list(mine.methods, [...at, 'methods']);
      const methods: string[] = [];
      list?.forEach((m, i) => {
        const s = r.string(m, [...at, 'methods', i]);
        if (s !== undefined && !SSH_METHODS.includes(s)) r.error([...at, 'methods', i], `expected one of ${SSH_METHODS.join(', ')}`);
        else if (s !== undefined) methods.push(s);
      });
      ssh.methods = methods;
    }
    return { kind: 'ssh', identity, ssh };
  }
  if (flavourOf(identity.product) === undefined) {
    r.error(at, `the telnet emulator offers "Linux telnetd", "BusyBox telnetd", "Cisco router telnetd" and "Cisco IOS telnetd", not "${identity.product}"`);
    return undefined;
  }
  const td = telnetDefaults();
  const telnet: TelnetOptions = {
    auth,
    maxAttempts: int('max_attempts', 1, 100, td.maxAttempts),
    loginTimeoutSeconds: int('login_timeout_seconds', 1, 3600, td.loginTimeoutSeconds),
    failDelayMs: int('fail_delay_ms', 0, 30_000, td.failDelayMs),
    shell,
  };
  return { kind: 'telnet', identity, telnet };
}

export function readLoginPolicy(r: YamlReader, at: KeyPath, value: unknown): LoginPolicy | undefined {
  if (value === undefined || value === 'refuse') return { mode: 'refuse' };
  if (!isMapping(value)) {
    r.error(at, 'expected "refuse", { accept: ["user:password", …] } or { any_after: N }');
    return undefined;
  }
  const m = r.mapping(value, at, ['accept', 'any_after']);
  if (!m) return undefined;
  if ((m.accept === undefined) === (m.any_after === undefined)) {
    r.error(at, 'expected exactly one of accept, any_after');
    return undefined;
  }
  if (m.any_after !== undefined) {
    const n = r.integer(m.any_after, [...at, 'any_after'], 0, 1000);
    return n === undefined ? undefined : { mode: 'any-after', attempts: n };
  }
  const list = r.list(m.accept, [...at, 'accept']);
  if (!list) return undefined;
  const credentials: Array<{ user: string; password: string }> = [];
  list.forEach((item, i) => {
    const s = r.string(item, [...at, 'accept', i]);
    if (s === undefined) return;
    const colon = s.indexOf(':');
    if (colon <= 0) { r.error([...at, 'accept', i], 'expected "user:password"'); return; }
    credentials.push({ user: s.slice(0, colon), password: s.slice(colon + 1) });
  });
  return { mode: 'accept', credentials };
}
