/**
 * A login shell that answers what intruders type first (uname, id, whoami, pwd, ls, cat of the
 * release files, ps, w, free, df, hostname, echo, cd, exit) with answers that fit the host profile
 * and stay the same when asked twice. Everything else is `command not found` as the host's shell
 * words it. No command runs anything; nothing touches the real machine.
 *
 * Input is handled as a terminal would see it: line editing of backspace, ^C, ^D and ^U, one
 * command line at a time, bounded in length; `;`, `&&` and `||` split a line into commands.
 */
import type { HostProfile } from './host-profile';
import { SeededRandom } from '../../personality/model/prng';

export interface ShellBounds {
  /** Longest command line kept; the rest of the line is dropped (and the terminal bell rings). */
  maxLineBytes: number;
  /** Command lines per session; then the shell exits. */
  maxCommands: number;
}

export const DEFAULT_SHELL_BOUNDS: ShellBounds = { maxLineBytes: 4096, maxCommands: 500 };

export interface ShellOutput {
  /** Text to send (with `\r\n` line ends when on a terminal). */
  text: string;
  /** The session ends after this output. */
  exit: boolean;
}

const HOME = (user: string): string => (user === 'root' ? '/root' : `/home/${user}`);

export class FakeShell {
  private cwd: string;
  private line = '';
  private commands = 0;
  private exited = false;

  constructor(
    private readonly host: HostProfile,
    private readonly user: string,
    private readonly tty: boolean,
    private readonly bounds: ShellBounds = DEFAULT_SHELL_BOUNDS,
    private readonly onCommand: (line: string) => void = () => {},
  ) {
    this.cwd = HOME(user);
  }

  get done(): boolean { return this.exited; }

  /** What a login prints: MOTD, last login, the first prompt. */
  banner(lastLoginFrom: string, now = Date.now()): string {
    if (!this.tty) return '';
    const r = SeededRandom.derive(this.host.seed, 'last-login');
    const last = new Date(now - r.int(3600, 6 * 86400) * 1000);
    const lastLine = `Last login: ${ctimeOf(last)} from ${lastLoginFrom}\r\n`;
    return `${this.host.motd}${this.host.shell === 'ash' ? '' : lastLine}${this.prompt()}`;
  }

  prompt(): string {
    const sigil = this.user === 'root' ? '#' : '$';
    const home = HOME(this.user);
    const short = this.cwd === home ? '~' : this.cwd.startsWith(`${home}/`) ? `~${this.cwd.slice(home.length)}` : this.cwd;
    if (this.host.shell === 'ash') return `${short} ${sigil} `;
    if (this.host.distro === 'centos7') return `[${this.user}@${this.host.hostname} ${short === '~' ? '~' : (this.cwd.split('/').pop() || '/')}]${sigil} `;
    return `${this.user}@${this.host.hostname}:${short}${sigil} `;
  }

  /**
   * Keystrokes (on a terminal: echoed, edited, a prompt after each line) or, without one, plain
   * lines of input as a shell reading a pipe sees them (no echo, no prompt).
   */
  input(data: Buffer): ShellOutput {
    let out = '';
    const tty = this.tty;
    for (const b of data) {
      if (this.exited) break;
      if (b === 0x0d || b === 0x0a) {
        if (b === 0x0a && this.lastWasCr) { this.lastWasCr = false; continue; }
        this.lastWasCr = b === 0x0d;
        if (tty) out += '\r\n';
        const line = this.line;
        this.line = '';
        out += this.runLine(line);
        if (!this.exited && tty) out += this.prompt();
        continue;
      }
      this.lastWasCr = false;
      if (tty && b === 0x03) { this.line = ''; out += `^C\r\n${this.prompt()}`; continue; }
      if (tty && b === 0x04) {
        if (this.line === '') { out += 'logout\r\n'; this.exited = true; }
        continue;
      }
      if (tty && b === 0x15) { out += '\b \b'.repeat(this.line.length); this.line = ''; continue; }
      if (tty && (b === 0x7f || b === 0x08)) {
        if (this.line.length > 0) { this.line = this.line.slice(0, -1); out += '\b \b'; }
        continue;
      }
      if (b === 0x1b || b < 0x20) continue;
      if (this.line.length >= this.bounds.maxLineBytes) { if (tty) out += '\x07'; continue; }
      const ch = String.fromCharCode(b);
      this.line += ch;
      if (tty) out += ch;
    }
    return { text: out, exit: this.exited };
  }

  private lastWasCr = false;

  /** One command line (from a terminal or an exec request); output without the next prompt. */
  runLine(raw: string): string {
    const line = raw.slice(0, this.bounds.maxLineBytes).trim();
    if (line === '') return '';
    this.commands++;
    this.onCommand(line);
    if (this.commands > this.bounds.maxCommands) {
      this.exited = true;
      return this.nl('logout\n');
    }
    let out = '';
    let ok = true;
    // `a; b`, `a && b`, `a || b`, left to right, as a shell would (no quoting across separators).
    const parts = line.split(/(;|&&|\|\|)/);
    for (let i = 0; i < parts.length; i += 2) {
      const op = i === 0 ? ';' : parts[i - 1];
      const cmd = (parts[i] ?? '').trim();
      if (cmd === '') continue;
      if (op === '&&' && !ok) continue;
      if (op === '||' && ok) continue;
      const r = this.runOne(cmd);
      out += r.text;
      ok = r.ok;
      if (this.exited) break;
    }
    return this.nl(out);
  }

  private nl(s: string): string {
    return this.tty ? s.replace(/\r?\n/g, '\r\n') : s;
  }

  private notFound(cmd: string): { text: string; ok: boolean } {
    return { text: this.host.shell === 'ash' ? `-sh: ${cmd}: not found\n` : `-bash: ${cmd}: command not found\n`, ok: false };
  }

  /** `a | head -n N | grep X | wc -l`: the first command's output through the filters a shell user pipes into. */
  private runOne(cmd: string): { text: string; ok: boolean } {
    const stages = cmd.split('|').map((x) => x.trim());
    let r = this.runCommand(stages[0] ?? '');
    for (const stage of stages.slice(1)) {
      const [name, ...args] = stage.split(/\s+/);
      const lines = r.text.split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      const count = (): number => { const n = args.find((a) => /^-?\d+$/.test(a.replace(/^-n/, ''))); return n === undefined ? 10 : Math.abs(Number(n.replace(/^-n/, ''))); };
      if (name === 'head') r = { text: lines.slice(0, count()).map((l) => `${l}\n`).join(''), ok: r.ok };
      else if (name === 'tail') r = { text: lines.slice(-count()).map((l) => `${l}\n`).join(''), ok: r.ok };
      else if (name === 'grep') {
        const pat = (args.find((a) => !a.startsWith('-')) ?? '').replace(/^["']|["']$/g, '');
        const ci = args.includes('-i');
        const hit = lines.filter((l) => (ci ? l.toLowerCase().includes(pat.toLowerCase()) : l.includes(pat)));
        r = { text: hit.map((l) => `${l}\n`).join(''), ok: hit.length > 0 };
      } else if (name === 'wc') r = { text: `${args.includes('-l') ? lines.length : r.text.length}\n`, ok: true };
      else if (name === 'sort' || name === 'cat' || name === 'less' || name === 'more') r = { text: name === 'sort' ? lines.sort().map((l) => `${l}\n`).join('') : r.text, ok: r.ok };
      else return this.notFound(name ?? '');
    }
    return r;
  }

  private runCommand(cmd: string): { text: string; ok: boolean } {
    const first = cmd.trim();
    const words = first.split(/\s+/).map((w) => w.replace(/^["']|["']$/g, ''));
    const name = words[0] ?? '';
    const args = words.slice(1);
    const h = this.host;
    switch (name) {
      case 'exit': case 'logout':
        this.exited = true;
        return { text: name === 'logout' || this.tty ? 'logout\n' : '', ok: true };
      case 'uname': return { text: `${this.uname(args)}\n`, ok: true };
      case 'whoami': return { text: `${this.user}\n`, ok: true };
      case 'id': return { text: `${this.idLine()}\n`, ok: true };
      case 'pwd': return { text: `${this.cwd}\n`, ok: true };
      case 'hostname': return { text: `${h.hostname}\n`, ok: true };
      case 'cd': {
        const to = args[0] === undefined || args[0] === '~' ? HOME(this.user) : args[0].startsWith('/') ? args[0] : `${this.cwd === '/' ? '' : this.cwd}/${args[0]}`;
        const norm = normalise(to);
        if (!KNOWN_DIRS.has(norm) && norm !== HOME(this.user)) return { text: `-${h.shell === 'ash' ? 'sh' : 'bash'}: cd: ${args[0]}: No such file or directory\n`, ok: false };
        this.cwd = norm;
        return { text: '', ok: true };
      }
      case 'echo': return { text: `${args.join(' ').replace(/\$USER/g, this.user).replace(/\$HOME/g, HOME(this.user)).replace(/\$SHELL/g, h.shell === 'ash' ? '/bin/sh' : '/bin/bash')}\n`, ok: true };
      case 'ls': return { text: this.ls(args), ok: true };
      case 'cat': return this.cat(args);
      case 'ps': return { text: this.ps(args), ok: true };
      case 'w': case 'uptime': return { text: this.uptime(name === 'w'), ok: true };
      case 'free': return { text: this.free(), ok: true };
      case 'df': return { text: this.df(), ok: true };
      case 'nproc': return { text: `${SeededRandom.derive(h.seed, 'cpus').pick([1, 2, 2, 4, 4, 8])}\n`, ok: true };
      case 'history': case 'export': case 'unset': case 'true': case 'clear': return { text: '', ok: true };
      case 'false': return { text: '', ok: false };
      case 'sudo': return { text: this.user === 'root' ? '' : `[sudo] password for ${this.user}: \nSorry, try again.\n`, ok: false };
      case 'wget': case 'curl': case 'tftp': case 'ftpget':
        // Nothing is fetched: the network is unreachable from here, as it would be on a closed host.
        return { text: name === 'curl' ? `curl: (6) Could not resolve host: ${hostOf(args)}\n` : `${name}: unable to resolve host address '${hostOf(args)}'\n`, ok: false };
      default: return this.notFound(name);
    }
  }

  private uname(args: string[]): string {
    const h = this.host;
    const flags = args.join('').replace(/-/g, '');
    if (flags.includes('a')) return h.uname;
    const parts: string[] = [];
    if (flags === '' || flags.includes('s')) parts.push('Linux');
    if (flags.includes('n')) parts.push(h.hostname);
    if (flags.includes('r')) parts.push(h.kernel);
    if (flags.includes('v')) parts.push(h.uname.split(' ').slice(3, -(h.distro === 'embedded' ? 2 : 4)).join(' '));
    if (flags.includes('m')) parts.push(h.machine);
    if (flags.includes('o')) parts.push('GNU/Linux');
    return parts.join(' ');
  }

  private idLine(): string {
    if (this.user === 'root') return 'uid=0(root) gid=0(root) groups=0(root)';
    const uid = this.host.distro === 'centos7' ? 1000 : 1000;
    const extra = this.host.distro.startsWith('ubuntu') ? `,4(adm),24(cdrom),27(sudo),30(dip),46(plugdev)` : this.host.distro === 'centos7' ? ',10(wheel)' : ',24(cdrom),27(sudo)';
    return `uid=${uid}(${this.user}) gid=${uid}(${this.user}) groups=${uid}(${this.user})${extra}`;
  }

  private ls(args: string[]): string {
    const long = args.some((a) => a.startsWith('-') && a.includes('l'));
    const all = args.some((a) => a.startsWith('-') && a.includes('a'));
    const target = args.find((a) => !a.startsWith('-'));
    const dir = target === undefined ? this.cwd : normalise(target.startsWith('/') ? target : `${this.cwd}/${target}`);
    const home = dir === HOME(this.user);
    let names = home ? (this.user === 'root' ? [] : []) : (DIR_LISTING[dir] ?? null);
    if (names === null) return `ls: cannot access '${target ?? dir}': No such file or directory\n`;
    const hidden = home ? ['.bash_history', '.bashrc', '.profile', ...(this.user === 'root' ? [] : ['.bash_logout']), '.ssh'] : [];
    if (all) names = ['.', '..', ...hidden, ...names];
    if (!long) return names.length === 0 ? '' : `${names.join('  ')}\n`;
    const r = SeededRandom.derive(this.host.seed, `ls:${dir}`);
    const owner = home ? this.user : 'root';
    const date = new Date(this.host.bootTime - r.int(1, 400) * 86400_000);
    const lines = names.map((n) => {
      const isDir = n === '.' || n === '..' || n === '.ssh' || !n.includes('.') && dir === '/';
      return `${isDir ? 'drwxr-xr-x' : '-rw-r--r--'} ${isDir ? 2 : 1} ${owner} ${owner} ${String(isDir ? 4096 : r.int(100, 4000)).padStart(5)} ${lsDate(date)} ${n}`;
    });
    return `total ${names.length * 4}\n${lines.join('\n')}${lines.length > 0 ? '\n' : ''}`;
  }

  private cat(args: string[]): { text: string; ok: boolean } {
    let out = '';
    let ok = true;
    for (const a of args.filter((x) => !x.startsWith('-'))) {
      const p = normalise(a.startsWith('/') ? a : `${this.cwd}/${a}`);
      const text = this.file(p);
      if (text === undefined) { out += `cat: ${a}: No such file or directory\n`; ok = false; } else out += text;
    }
    return { text: out, ok };
  }

  private file(p: string): string | undefined {
    const h = this.host;
    switch (p) {
      case '/etc/os-release': case '/usr/lib/os-release': return h.osRelease;
      case '/etc/issue': return h.issue;
      case '/etc/hostname': return `${h.hostname}\n`;
      case '/proc/version': return `Linux version ${h.kernel} (${h.distro.startsWith('ubuntu') ? 'buildd@lcy02-amd64-080' : h.distro === 'centos7' ? 'mockbuild@kbuilder.bsys.centos.org' : 'debian-kernel@lists.debian.org'}) ${h.uname.split(' ').slice(3, -3).join(' ')}\n`;
      case '/etc/passwd': return passwd(h, this.user);
      case '/etc/shells': return '# /etc/shells: valid login shells\n/bin/sh\n/bin/bash\n/usr/bin/bash\n/bin/rbash\n/usr/bin/sh\n';
      case '/proc/cpuinfo': return cpuinfo(h);
      case '/proc/uptime': { const s = (Date.now() - h.bootTime) / 1000; return `${s.toFixed(2)} ${(s * 1.7).toFixed(2)}\n`; }
      case '/etc/redhat-release': case '/etc/centos-release': return h.distro === 'centos7' ? 'CentOS Linux release 7.9.2009 (Core)\n' : undefined;
      case '/etc/debian_version': return h.distro === 'debian12' ? '12.8\n' : h.distro === 'debian10' ? '10.13\n' : h.distro.startsWith('ubuntu') ? `${{ ubuntu1804: 'buster/sid', ubuntu2004: 'bullseye/sid', ubuntu2204: 'bookworm/sid', ubuntu2404: 'trixie/sid' }[h.distro as 'ubuntu2204']}\n` : undefined;
      default: return undefined;
    }
  }

  private ps(args: string[]): string {
    const r = SeededRandom.derive(this.host.seed, 'pids');
    const sshd = r.int(600, 1400);
    const me = r.int(20_000, 60_000);
    const wide = args.some((a) => a.includes('a') || a.includes('e'));
    if (!wide) return `    PID TTY          TIME CMD\n${String(me).padStart(7)} pts/0    00:00:00 bash\n${String(me + r.int(5, 40)).padStart(7)} pts/0    00:00:00 ps\n`;
    const rows: Array<[string, number, string]> = [
      ['root', 1, this.host.distro === 'embedded' ? 'init' : '/sbin/init'],
      ['root', 2, '[kthreadd]'],
      ['root', r.int(300, 500), '/lib/systemd/systemd-journald'],
      ['root', r.int(500, 700), '/lib/systemd/systemd-udevd'],
      ['root', r.int(700, 900), '/usr/sbin/cron -f'],
      ['root', r.int(900, 1100), '/usr/sbin/rsyslogd -n -iNONE'],
      ['root', sshd, 'sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups'],
      ['root', me - r.int(10, 60), `sshd: ${this.user}@pts/0`],
      [this.user, me, '-bash'],
      [this.user, me + r.int(5, 40), 'ps aux'],
    ];
    return `USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n${rows.map(([u, pid, c]) =>
      `${u.padEnd(8)} ${String(pid).padStart(7)}  0.0  0.${r.int(0, 9)} ${String(r.int(2000, 170000)).padStart(6)} ${String(r.int(900, 12000)).padStart(5)} ${c.startsWith('[') || pid < me - 100 ? '?       ' : 'pts/0   '} ${c.startsWith('[') ? 'S   ' : 'Ss  '} ${pid === me || pid > me ? hhmm(new Date()) : hhmm(new Date(this.host.bootTime))}   0:00 ${c}`).join('\n')}\n`;
  }

  private uptime(w: boolean): string {
    const now = new Date();
    const up = Math.floor((now.getTime() - this.host.bootTime) / 1000);
    const days = Math.floor(up / 86400);
    const hm = `${Math.floor((up % 86400) / 3600)}:${String(Math.floor((up % 3600) / 60)).padStart(2, '0')}`;
    const r = SeededRandom.derive(this.host.seed, 'load');
    const load = [r.int(0, 40), r.int(0, 30), r.int(0, 25)].map((x) => (x / 100).toFixed(2)).join(', ');
    const line = ` ${hhmm(now)}:${String(now.getSeconds()).padStart(2, '0')} up ${days} days, ${hm},  1 user,  load average: ${load}\n`;
    if (!w) return line;
    return `${line}USER     TTY      FROM             LOGIN@   IDLE   JCPU   PCPU WHAT\n${this.user.padEnd(8)} pts/0    -                ${hhmm(now)}    0.00s  0.01s  0.00s w\n`;
  }

  private free(): string {
    const r = SeededRandom.derive(this.host.seed, 'mem');
    const total = r.pick([1, 2, 4, 8, 16]) * 1024 * 1024 - r.int(40_000, 200_000);
    const used = Math.floor(total * (0.1 + r.nextFloat() * 0.4));
    const cache = Math.floor(total * 0.3);
    const free = total - used - cache;
    const cols = (n: number[]): string => n.map((x) => String(x).padStart(12)).join('');
    return `               total        used        free      shared  buff/cache   available\nMem:  ${cols([total, used, free, r.int(1000, 20000), cache, total - used])}\nSwap: ${cols([0, 0, 0])}\n`;
  }

  private df(): string {
    const r = SeededRandom.derive(this.host.seed, 'disk');
    const size = r.pick([20, 40, 80, 160]) * 1024 * 1024;
    const used = Math.floor(size * (0.15 + r.nextFloat() * 0.5));
    const dev = this.host.distro === 'centos7' ? '/dev/mapper/centos-root' : '/dev/sda1';
    return `Filesystem     1K-blocks    Used Available Use% Mounted on\n${dev.padEnd(14)} ${String(size).padStart(9)} ${String(used).padStart(8)} ${String(size - used).padStart(9)} ${String(Math.round((used / size) * 100)).padStart(3)}% /\ntmpfs             ${String(r.int(200000, 800000)).padStart(7)}       0 ${String(r.int(200000, 800000)).padStart(9)}   0% /dev/shm\n`;
  }
}

const KNOWN_DIRS = new Set(['/', '/root', '/home', '/tmp', '/etc', '/var', '/var/log', '/usr', '/usr/bin', '/bin', '/opt', '/proc', '/dev', '/var/tmp', '/sys']);
const DIR_LISTING: Record<string, string[]> = {
  '/': ['bin', 'boot', 'dev', 'etc', 'home', 'lib', 'lib64', 'media', 'mnt', 'opt', 'proc', 'root', 'run', 'sbin', 'srv', 'sys', 'tmp', 'usr', 'var'],
  '/tmp': [], '/var/tmp': [], '/opt': [], '/home': [],
  '/etc': ['hostname', 'hosts', 'issue', 'os-release', 'passwd', 'group', 'shadow', 'ssh', 'crontab', 'fstab', 'resolv.conf'],
  '/var': ['backups', 'cache', 'lib', 'local', 'lock', 'log', 'mail', 'opt', 'run', 'spool', 'tmp'],
  '/var/log': ['auth.log', 'syslog', 'kern.log', 'dpkg.log', 'wtmp', 'btmp', 'lastlog'],
};

function normalise(p: string): string {
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return `/${out.join('/')}`;
}

function hostOf(args: string[]): string {
  const url = args.find((a) => !a.startsWith('-')) ?? '';
  return url.replace(/^[a-z]+:\/\//, '').split(/[/:]/)[0] ?? url;
}

function passwd(h: HostProfile, user: string): string {
  const base = 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nbin:x:2:2:bin:/bin:/usr/sbin/nologin\nsys:x:3:3:sys:/dev:/usr/sbin/nologin\nsync:x:4:65534:sync:/bin:/bin/sync\nman:x:6:12:man:/var/cache/man:/usr/sbin/nologin\nmail:x:8:8:mail:/var/mail:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n';
  const sshd = h.distro === 'centos7' ? 'sshd:x:74:74:Privilege-separated SSH:/var/empty/sshd:/sbin/nologin\n' : 'sshd:x:110:65534::/run/sshd:/usr/sbin/nologin\n';
  return `${base}${sshd}${user === 'root' ? '' : `${user}:x:1000:1000:${user}:/home/${user}:/bin/bash\n`}`;
}

function cpuinfo(h: HostProfile): string {
  const r = SeededRandom.derive(h.seed, 'cpus');
  const n = r.pick([1, 2, 2, 4, 4, 8]);
  const model = r.pick(['Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz', 'Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz', 'AMD EPYC 7543 32-Core Processor']);
  let out = '';
  for (let i = 0; i < n; i++) out += `processor\t: ${i}\nvendor_id\t: ${model.startsWith('AMD') ? 'AuthenticAMD' : 'GenuineIntel'}\nmodel name\t: ${model}\ncpu cores\t: ${n}\n\n`;
  return out;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `Tue Dec  1 09:12:33 2026`, as sshd's `Last login` prints it. */
export function ctimeOf(d: Date): string {
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ${d.toISOString().slice(11, 19)} ${d.getUTCFullYear()}`;
}

function hhmm(d: Date): string {
  return d.toISOString().slice(11, 16);
}

function lsDate(d: Date): string {
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ${d.toISOString().slice(11, 16)}`;
}
