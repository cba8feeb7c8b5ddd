/**
 * The FTP state machine (RFC 959, 2228 AUTH TLS, 2428 EPSV): vsftpd, ProFTPD, Pure-FTPd and
 * Microsoft's IIS FTP service, each with its own greeting and reply texts (from their sources:
 * vsftpd's ftpcodes/postlogin.c, ProFTPD's mod_core/mod_auth, Pure-FTPd's messages_en.h, IIS).
 * USER/PASS go through the login hook; the listing is fake and fixed per host. PORT/EPRT are
 * accepted only towards the client's own address (anything else is the FTP bounce attack and gets
 * the product's refusal); the data connection itself is the session's (line-session.ts).
 */
import type { LineServiceOptions } from '../../config/mail-ftp-options';
import { SeededRandom } from '../../personality/model/prng';
import { splitCommand, type ReadLine } from './line-reader';
import type { HostFacts, LineMachine, ProtocolHooks, Step } from './protocol';

export type FtpStyle = 'vsftpd' | 'proftpd' | 'pureftpd' | 'msftp';

export const FTP_PRODUCTS: Record<string, FtpStyle> = { vsftpd: 'vsftpd', ProFTPD: 'proftpd', 'Pure-FTPd': 'pureftpd', 'Microsoft ftpd': 'msftp' };

interface FtpTexts {
  greeting(h: HostFacts, now: Date): string;
  user(u: string): string;
  loggedIn(u: string): string;
  loginIncorrect: string;
  notLoggedIn: string;
  syst: string;
  pwd(dir: string): string;
  cwdOk(dir: string): string;
  cwdFail(dir: string): string;
  type(t: string): string;
  typeBad: string;
  pasv(tuple: string): string;
  epsv(port: number): string;
  portOk: string;
  portIllegal(asked: string, client: string): string;
  listStart: string;
  listDone(count: number): string;
  noData: string;
  dataFailed: string;
  retrStart(name: string, size: number): string;
  noFile: string;
  stor: string;
  unknown(verb: string): string;
  quit: string;
  noop: string;
  timeout: string;
  authTls: string;
  feat(tls: boolean): string;
  pbsz: string;
  prot(p: string): string;
  size(n: number): string;
  opts: string;
  tooMany: string;
}

const VSFTPD: FtpTexts = {
  greeting: (h) => `220 (vsFTPd ${h.version ?? '3.0.3'})\r\n`,
  user: () => '331 Please specify the password.\r\n',
  loggedIn: () => '230 Login successful.\r\n',
  loginIncorrect: '530 Login incorrect.\r\n',
  notLoggedIn: '530 Please login with USER and PASS.\r\n',
  syst: '215 UNIX Type: L8\r\n',
  pwd: (d) => `257 "${d}" is the current directory\r\n`,
  cwdOk: () => '250 Directory successfully changed.\r\n',
  cwdFail: () => '550 Failed to change directory.\r\n',
  type: (t) => (t === 'I' ? '200 Switching to Binary mode.\r\n' : '200 Switching to ASCII mode.\r\n'),
  typeBad: '500 Unrecognised TYPE command.\r\n',
  pasv: (t) => `227 Entering Passive Mode (${t}).\r\n`,
  epsv: (p) => `229 Entering Extended Passive Mode (|||${p}|)\r\n`,
  portOk: '200 PORT command successful. Consider using PASV.\r\n',
  portIllegal: () => '500 Illegal PORT command.\r\n',
  listStart: '150 Here comes the directory listing.\r\n',
  listDone: () => '226 Directory send OK.\r\n',
  noData: '425 Use PORT or PASV first.\r\n',
  dataFailed: '425 Failed to establish connection.\r\n',
  retrStart: (n, s) => `150 Opening BINARY mode data connection for ${n} (${s} bytes).\r\n`,
  noFile: '550 Failed to open file.\r\n',
  stor: '550 Permission denied.\r\n',
  unknown: () => '500 Unknown command.\r\n',
  quit: '221 Goodbye.\r\n',
  noop: '200 NOOP ok.\r\n',
  timeout: '421 Timeout.\r\n',
  authTls: '234 Proceed with negotiation.\r\n',
  feat: (tls) => `211-Features:\r\n${tls ? ' AUTH TLS\r\n' : ''} EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n${tls ? ' PBSZ\r\n PROT\r\n' : ''} REST STREAM\r\n SIZE\r\n TVFS\r\n UTF8\r\n211 End\r\n`,
  pbsz: '200 PBSZ set to 0.\r\n',
  prot: (p) => (p === 'P' ? '200 PROT now Private.\r\n' : '200 PROT now Clear.\r\n'),
  size: (n) => `213 ${n}\r\n`,
  opts: '200 Always in UTF8 mode.\r\n',
  tooMany: '500 OOPS: too many commands\r\n',
};

const PROFTPD: FtpTexts = {
  greeting: (h) => `220 ProFTPD ${h.version ?? '1.3.5'} Server (${h.distro.startsWith('ubuntu') ? 'Ubuntu' : h.distro === 'centos7' ? 'ProFTPD Default Installation' : 'Debian'}) [::ffff:${h.address}]\r\n`,
  user: (u) => `331 Password required for ${u}\r\n`,
  loggedIn: (u) => `230 User ${u} logged in\r\n`,
  loginIncorrect: '530 Login incorrect.\r\n',
  notLoggedIn: '530 Please login with USER and PASS\r\n',
  syst: '215 UNIX Type: L8\r\n',
  pwd: (d) => `257 "${d}" is the current directory\r\n`,
  cwdOk: () => '250 CWD command successful\r\n',
  cwdFail: (d) => `550 ${d}: No such file or directory\r\n`,
  type: (t) => `200 Type set to ${t}\r\n`,
  typeBad: '504 TYPE not implemented for this parameter\r\n',
  pasv: (t) => `227 Entering Passive Mode (${t}).\r\n`,
  epsv: (p) => `229 Entering Extended Passive Mode (|||${p}|)\r\n`,
  portOk: '200 PORT command successful\r\n',
  portIllegal: () => '500 Illegal PORT command\r\n',
  listStart: '150 Opening ASCII mode data connection for file list\r\n',
  listDone: () => '226 Transfer complete\r\n',
  noData: '425 Unable to build data connection: Connection refused\r\n',
  dataFailed: '425 Unable to build data connection: Connection timed out\r\n',
  retrStart: (n, s) => `150 Opening BINARY mode data connection for ${n} (${s} bytes)\r\n`,
  noFile: '550 No such file or directory\r\n',
  stor: '550 Permission denied\r\n',
  unknown: (v) => `500 ${v} not understood\r\n`,
  quit: '221 Goodbye.\r\n',
  noop: '200 NOOP command successful\r\n',
  timeout: '421 Idle timeout (600 seconds): closing control connection\r\n',
  authTls: '234 AUTH TLS successful\r\n',
  feat: (tls) => `211-Features:\r\n${tls ? ' AUTH TLS\r\n' : ''} EPRT\r\n EPSV\r\n MDTM\r\n MFF modify;UNIX.group;UNIX.mode;\r\n MFMT\r\n MLST modify*;perm*;size*;type*;unique*;UNIX.group*;UNIX.groupname*;UNIX.mode*;UNIX.owner*;UNIX.ownername*;\r\n${tls ? ' PBSZ\r\n PROT\r\n' : ''} REST STREAM\r\n SIZE\r\n TVFS\r\n UTF8\r\n211 End\r\n`,
  pbsz: '200 PBSZ 0 successful\r\n',
  prot: (p) => `200 Protection set to ${p === 'P' ? 'Private' : 'Clear'}\r\n`,
  size: (n) => `213 ${n}\r\n`,
  opts: '200 UTF8 set to on\r\n',
  tooMany: '421 Too many commands\r\n',
};

const PUREFTPD: FtpTexts = {
  greeting: (h, now) => `220---------- Welcome to Pure-FTPd [privsep] [TLS] ----------\r\n220-You are user number ${1 + (h.seed % 3)} of 50 allowed.\r\n220-Local time is now ${String(now.getUTCHours()).padStart(2, '0')}:${String(now.getUTCMinutes()).padStart(2, '0')}. Server port: 21.\r\n220-This is a private system - No anonymous login\r\n220 You will be disconnected after 15 minutes of inactivity.\r\n`,
  user: (u) => `331 User ${u} OK. Password required\r\n`,
  loggedIn: () => '230 OK. Current directory is /\r\n',
  loginIncorrect: '530 Login authentication failed\r\n',
  notLoggedIn: "530 You aren't logged in\r\n",
  syst: '215 UNIX Type: L8\r\n',
  pwd: (d) => `257 "${d}" is your current location\r\n`,
  cwdOk: (d) => `250 OK. Current directory is ${d}\r\n`,
  cwdFail: (d) => `550 Can't change directory to ${d}: No such file or directory\r\n`,
  type: (t) => (t === 'I' ? '200 TYPE is now 8-bit binary\r\n' : '200 TYPE is now ASCII\r\n'),
  typeBad: '504 Unknown TYPE\r\n',
  pasv: (t) => `227 Entering Passive Mode (${t})\r\n`,
  epsv: (p) => `229 Extended Passive mode OK (|||${p}|)\r\n`,
  portOk: '200 PORT command successful\r\n',
  portIllegal: (asked, client) => `500 I won't open a connection to ${asked} (only to ${client})\r\n`,
  listStart: '150 Accepted data connection\r\n',
  listDone: (n) => `226-Options: -l \r\n226 ${n} matches total\r\n`,
  noData: "425 No data connection\r\n",
  dataFailed: "425 Could not open data connection to port 0: Connection refused\r\n",
  retrStart: (_n, s) => `150-Accepted data connection\r\n150 ${Math.max(1, Math.round(s / 1024))}.0 kbytes to download\r\n`,
  noFile: "550 Can't open file: No such file or directory\r\n",
  stor: '553 Can\'t open that file: Permission denied\r\n',
  unknown: () => '500 Unknown command\r\n',
  quit: '221-Goodbye. You uploaded 0 and downloaded 0 kbytes.\r\n221 Logout.\r\n',
  noop: '200 Zzz...\r\n',
  timeout: '421 Timeout - try typing a little faster next time\r\n',
  authTls: '234 AUTH TLS OK.\r\n',
  feat: () => '211-Extensions supported:\r\n EPRT\r\n IDLE\r\n MDTM\r\n SIZE\r\n MFMT\r\n REST STREAM\r\n MLST type*;size*;sizd*;modify*;UNIX.mode*;UNIX.uid*;UNIX.gid*;unique*;\r\n MLSD\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n UTF8\r\n ESTA\r\n PASV\r\n EPSV\r\n SPSV\r\n ESTP\r\n211 End.\r\n',
  pbsz: '200 PBSZ=0\r\n',
  prot: (p) => (p === 'P' ? '200 Data protection level set to "private"\r\n' : '200 Data protection level set to "clear"\r\n'),
  size: (n) => `213 ${n}\r\n`,
  opts: '200 OK, UTF-8 enabled\r\n',
  tooMany: '421 Too many commands\r\n',
};

const MSFTP: FtpTexts = {
  greeting: () => '220 Microsoft FTP Service\r\n',
  user: () => '331 Password required\r\n',
  loggedIn: () => '230 User logged in.\r\n',
  loginIncorrect: '530 User cannot log in.\r\n',
  notLoggedIn: '530 Please login with USER and PASS.\r\n',
  syst: '215 Windows_NT\r\n',
  pwd: (d) => `257 "${d}" is current directory.\r\n`,
  cwdOk: () => '250 CWD command successful.\r\n',
  cwdFail: () => '550 The system cannot find the file specified. \r\n',
  type: (t) => `200 Type set to ${t}.\r\n`,
  typeBad: '501 Invalid TYPE argument.\r\n',
  pasv: (t) => `227 Entering Passive Mode (${t}).\r\n`,
  epsv: (p) => `229 Entering Extended Passive Mode (|||${p}|)\r\n`,
  portOk: '200 PORT command successful.\r\n',
  portIllegal: () => '501 Server cannot accept argument.\r\n',
  listStart: '125 Data connection already open; Transfer starting.\r\n',
  listDone: () => '226 Transfer complete.\r\n',
  noData: '425 Cannot open data connection.\r\n',
  dataFailed: '425 Cannot open data connection.\r\n',
  retrStart: () => '125 Data connection already open; Transfer starting.\r\n',
  noFile: '550 The system cannot find the file specified. \r\n',
  stor: '550 Access is denied. \r\n',
  unknown: () => '500 Command not understood.\r\n',
  quit: '221 Goodbye.\r\n',
  noop: '200 NOOP command successful.\r\n',
  timeout: '421 Timeout (120 seconds): closing control connection.\r\n',
  authTls: '234 AUTH command ok. Expecting TLS Negotiation.\r\n',
  feat: (tls) => `211-Extended features supported:\r\n LANG EN*\r\n UTF8\r\n${tls ? ' AUTH TLS;TLS-C;SSL;TLS-P;\r\n PBSZ\r\n PROT C;P;\r\n CCC\r\n' : ''} HOST\r\n SIZE\r\n MDTM\r\n REST STREAM\r\n211 END\r\n`,
  pbsz: '200 PBSZ command successful.\r\n',
  prot: () => '200 PROT command successful.\r\n',
  size: (n) => `213 ${n}\r\n`,
  opts: '200 OPTS UTF8 command successful - UTF8 encoding now ON.\r\n',
  tooMany: '421 Too many commands.\r\n',
};

const TEXTS: Record<FtpStyle, FtpTexts> = { vsftpd: VSFTPD, proftpd: PROFTPD, pureftpd: PUREFTPD, msftp: MSFTP };

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

interface Entry { name: string; dir: boolean; size: number; mtime: Date; content?: Buffer }

/** The host's fake tree: the configured files, else a few a public FTP area has; sizes and dates from the host seed. */
export function ftpEntries(h: HostFacts, files: Record<string, string>): Entry[] {
  const r = SeededRandom.derive(h.seed, 'ftp-tree');
  const when = (): Date => new Date(Date.UTC(2019 + r.int(0, 5), r.int(0, 11), r.int(1, 28), r.int(0, 23), r.int(0, 59)));
  const out: Entry[] = [{ name: 'pub', dir: true, size: 4096, mtime: when() }];
  const given = Object.entries(files);
  const list = given.length > 0 ? given : [['README', `Welcome to ${h.hostname}.\nThis server is for authorised users only.\n`], ['backup', '']] as [string, string][];
  for (const [name, content] of list) {
    if (content === '' && given.length === 0) { out.push({ name, dir: true, size: 4096, mtime: when() }); continue; }
    const buf = Buffer.from(content, 'utf8');
    out.push({ name, dir: false, size: buf.length, mtime: when(), content: buf });
  }
  return out;
}

/** One line of the listing as the product's LIST prints it (ls -l style, or IIS's DOS style). */
export function listingLine(style: FtpStyle, e: Entry, now: Date): string {
  const d = e.mtime;
  if (style === 'msftp') {
    const p = (n: number): string => String(n).padStart(2, '0');
    const h = d.getUTCHours() % 12 === 0 ? 12 : d.getUTCHours() % 12;
    const stamp = `${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}-${p(d.getUTCFullYear() % 100)}  ${p(h)}:${p(d.getUTCMinutes())}${d.getUTCHours() < 12 ? 'AM' : 'PM'}`;
    return `${stamp} ${e.dir ? '      <DIR>         ' : String(e.size).padStart(20)} ${e.name}\r\n`;
  }
  const recent = now.getTime() - d.getTime() < 180 * 86_400_000;
  const date = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ${recent ? `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}` : ` ${d.getUTCFullYear()}`}`;
  const mode = e.dir ? 'drwxr-xr-x' : '-rw-r--r--';
  if (style === 'vsftpd') return `${mode}    ${e.dir ? 2 : 1} 0        0        ${String(e.size).padStart(8)} ${date} ${e.name}\r\n`;
  if (style === 'pureftpd') return `${mode}    ${e.dir ? 2 : 1} 1000       1000       ${String(e.size).padStart(10)} ${date} ${e.name}\r\n`;
  return `${mode}   ${e.dir ? 2 : 1} ftp      ftp      ${String(e.size).padStart(8)} ${date} ${e.name}\r\n`;
}

/** The address and port of a PORT argument `h1,h2,h3,h4,p1,p2`; undefined when malformed. */
export function parsePortArg(arg: string): { address: string; port: number } | undefined {
  const m = /^\s*(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})\s*$/.exec(arg);
  if (!m) return undefined;
  const n = m.slice(1).map(Number);
  if (n.some((x) => x > 255)) return undefined;
  const port = (n[4] as number) * 256 + (n[5] as number);
  if (port === 0) return undefined;
  return { address: n.slice(0, 4).join('.'), port };
}

/** EPRT `|1|addr|port|`; undefined when malformed or not IPv4. */
export function parseEprtArg(arg: string): { address: string; port: number } | undefined {
  const m = /^\s*\|1\|(\d{1,3}(?:\.\d{1,3}){3})\|(\d{1,5})\|\s*$/.exec(arg);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535 || (m[1] as string).split('.').some((x) => Number(x) > 255)) return undefined;
  return { address: m[1] as string, port };
}

type DataMode = { kind: 'none' } | { kind: 'passive'; port: number } | { kind: 'active'; address: string; port: number };

export class FtpMachine implements LineMachine {
  readonly protocol = 'ftp' as const;
  tls: boolean;
  private readonly t: FtpTexts;
  private user: string | undefined;
  private loggedIn = false;
  private failures = 0;
  private cwd = '/';
  private data: DataMode = { kind: 'none' };
  private readonly entries: Entry[];
  /** PROT P: data connections run inside TLS too. */
  dataProtected = false;

  constructor(readonly style: FtpStyle, private readonly h: HostFacts, private readonly o: LineServiceOptions, private readonly hooks: ProtocolHooks, implicitTls: boolean) {
    this.t = TEXTS[style];
    this.tls = implicitTls;
    this.entries = ftpEntries(h, o.files);
  }

  greeting(): string { return this.t.greeting(this.h, this.hooks.now()); }
  timeoutReply(): string { return this.t.timeout; }
  tooManyCommandsReply(): string { return this.t.tooMany; }
  secured(): void { this.tls = true; this.user = undefined; this.loggedIn = false; }

  line(l: ReadLine): Step {
    if (l.tooLong) return { reply: this.t.unknown(l.text.slice(0, 16)) };
    const { verb, arg } = splitCommand(l.text.trim());
    const t = this.t;
    switch (verb) {
      case 'USER':
        if (this.loggedIn && this.style === 'vsftpd') return { reply: '530 Can\'t change from guest user.\r\n' };
        this.user = arg;
        this.loggedIn = false;
        return { reply: t.user(arg) };
      case 'PASS': {
        if (this.loggedIn) return { reply: this.style === 'vsftpd' ? '230 Already logged in.\r\n' : '503 You are already logged in\r\n' };
        if (this.user === undefined) return { reply: this.style === 'vsftpd' ? '503 Login with USER first.\r\n' : '503 Login with USER first\r\n' };
        const ok = this.hooks.login('USER/PASS', this.user, arg);
        if (ok) { this.loggedIn = true; return { reply: t.loggedIn(this.user), delayed: false }; }
        this.failures++;
        this.user = undefined;
        return { reply: t.loginIncorrect, delayed: true, close: this.failures >= this.o.maxAuthFailures };
      }
      case 'QUIT': return { reply: t.quit, close: true };
      case 'NOOP': return { reply: t.noop };
      case 'FEAT': return { reply: t.feat(this.o.starttls || this.tls) };
      case 'SYST': return this.loggedIn || this.style !== 'vsftpd' ? { reply: t.syst } : { reply: t.notLoggedIn };
      case 'OPTS': return { reply: t.opts };
      case 'AUTH': {
        const mech = arg.trim().toUpperCase();
        if (this.tls) return { reply: this.style === 'vsftpd' ? '530 Please login with USER and PASS.\r\n' : '503 Security mechanism already negotiated\r\n' };
        if (!this.o.starttls || (mech !== 'TLS' && mech !== 'SSL' && mech !== 'TLS-C')) return { reply: this.style === 'vsftpd' ? '530 Please login with USER and PASS.\r\n' : '504 AUTH not supported\r\n' };
        return { reply: t.authTls, starttls: true };
      }
      case 'PBSZ': return { reply: t.pbsz };
      case 'PROT': {
        const level = arg.trim().toUpperCase();
        if (level !== 'P' && level !== 'C') return { reply: '536 Protection level not supported\r\n' };
        if (level === 'P' && !this.tls) return { reply: '503 PROT needs a secure control connection\r\n' };
        this.dataProtected = level === 'P';
        return { reply: t.prot(level) };
      }
      default: break;
    }
    if (!this.loggedIn) return { reply: verb === '' ? t.unknown(verb) : t.notLoggedIn };
    switch (verb) {
      case 'PWD': case 'XPWD': return { reply: t.pwd(this.cwd) };
      case 'CWD': case 'XCWD': case 'CDUP': {
        const target = verb === 'CDUP' || arg === '..' ? '/' : arg.startsWith('/') ? arg : `${this.cwd === '/' ? '' : this.cwd}/${arg}`;
        const clean = target.replace(/\/+$/, '') || '/';
        const dir = clean === '/' || this.entries.some((e) => e.dir && `/${e.name}` === clean);
        if (!dir) return { reply: t.cwdFail(arg) };
        this.cwd = clean;
        return { reply: t.cwdOk(clean) };
      }
      case 'TYPE': {
        const ty = arg.trim().toUpperCase().split(' ')[0] ?? '';
        if (ty === 'I' || ty === 'L') return { reply: t.type('I') };
        if (ty === 'A') return { reply: t.type('A') };
        return { reply: t.typeBad };
      }
      case 'PASV': case 'EPSV': {
        this.hooks.dropData?.();
        const port = this.hooks.openPassive?.();
        if (port === undefined) { this.data = { kind: 'none' }; return { reply: '425 Cannot open passive connection.\r\n' }; }
        this.data = { kind: 'passive', port };
        if (verb === 'EPSV') return { reply: t.epsv(port) };
        return { reply: t.pasv(`${this.h.address.replace(/\./g, ',')},${port >> 8},${port & 0xff}`) };
      }
      case 'PORT': case 'EPRT': {
        this.hooks.dropData?.();
        const target = verb === 'PORT' ? parsePortArg(arg) : parseEprtArg(arg);
        if (target === undefined) return { reply: this.style === 'vsftpd' ? '500 Illegal PORT command.\r\n' : '501 Illegal PORT command\r\n' };
        // Towards anyone but the client itself this is the FTP bounce attack: refused, as every product does.
        if (target.address !== this.h.clientAddress || target.port < 1024) return { reply: t.portIllegal(target.address, this.h.clientAddress) };
        this.data = { kind: 'active', ...target };
        return { reply: verb === 'EPRT' && this.style === 'vsftpd' ? '200 EPRT command successful. Consider using EPSV.\r\n' : t.portOk };
      }
      case 'LIST': case 'NLST': case 'MLSD': {
        if (this.data.kind === 'none') return { reply: t.noData };
        const now = this.hooks.now();
        const shown = this.cwd === '/' ? this.entries : [];
        const body = verb === 'NLST' ? shown.map((e) => `${e.name}\r\n`).join('') : shown.map((e) => listingLine(this.style, e, now)).join('');
        const active = this.activeTarget;
        this.data = { kind: 'none' };
        return { reply: t.listStart, transfer: { data: Buffer.from(body, 'latin1'), done: t.listDone(shown.length), failed: t.dataFailed, ...(active ? { active } : {}) } };
      }
      case 'RETR': {
        const name = arg.replace(/^\/+/, '');
        const e = this.cwd === '/' ? this.entries.find((x) => !x.dir && x.name === name) : undefined;
        if (e === undefined || e.content === undefined) return { reply: t.noFile };
        if (this.data.kind === 'none') return { reply: t.noData };
        const active = this.activeTarget;
        this.data = { kind: 'none' };
        return { reply: t.retrStart(name, e.size), transfer: { ...(active ? { active } : {}), data: e.content, done: this.style === 'vsftpd' ? '226 Transfer complete.\r\n' : t.listDone(1).startsWith('226-') ? '226-File successfully transferred\r\n226 0.000 seconds (measured here), 1.00 Mbytes per second\r\n' : t.listDone(1), failed: t.dataFailed } };
      }
      case 'SIZE': {
        const e = this.entries.find((x) => !x.dir && x.name === arg.replace(/^\/+/, ''));
        return { reply: e === undefined ? (this.style === 'vsftpd' ? '550 Could not get file size.\r\n' : t.noFile) : t.size(e.size) };
      }
      case 'STOR': case 'STOU': case 'APPE': case 'DELE': case 'MKD': case 'RMD': case 'RNFR': case 'SITE':
        return { reply: t.stor };
      case 'REST': return { reply: `350 Restart position accepted (${Number.parseInt(arg, 10) || 0}).\r\n` };
      case 'ABOR': this.hooks.dropData?.(); this.data = { kind: 'none' }; return { reply: this.style === 'vsftpd' ? '225 No transfer to ABOR.\r\n' : '226 Abort successful\r\n' };
      default: return { reply: t.unknown(verb) };
    }
  }

  /** Where an active-mode transfer connects to (the client only), or undefined in passive mode. */
  get activeTarget(): { address: string; port: number } | undefined {
    return this.data.kind === 'active' ? { address: this.data.address, port: this.data.port } : undefined;
  }
}
