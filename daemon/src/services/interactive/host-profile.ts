/**
 * The machine a fake shell pretends to be: distribution, kernel, host name, uptime and process
 * ids, drawn from the host's seed (deployment, address, template) so every answer about the host
 * is the same each time it is asked and differs from every other host. The distribution comes
 * from the service's claimed product (an Ubuntu OpenSSH build is an Ubuntu host), else from the
 * personality's OS class.
 */
import type { OsClass } from '../../personality/osdb/types';
import { SeededRandom } from '../../personality/model/prng';

export type Distro = 'centos7' | 'ubuntu1804' | 'debian10' | 'ubuntu2004' | 'ubuntu2204' | 'debian12' | 'ubuntu2404' | 'embedded';

export interface HostProfile {
  distro: Distro;
  hostname: string;
  kernel: string;
  /** `uname -a` line. */
  uname: string;
  machine: string;
  osRelease: string;
  /** `/etc/issue` text. */
  issue: string;
  /** What a login prints before the prompt (without the `Last login` line). */
  motd: string;
  bootTime: number;
  /** Seeds for per-host numbers (pids, sizes). */
  seed: number;
  /** The shell the prompt and errors come from. */
  shell: 'bash' | 'ash';
}

interface DistroFacts {
  pretty: string;
  osRelease: (r: SeededRandom) => string;
  kernel: (r: SeededRandom) => string;
  unameTail: (k: string, r: SeededRandom) => string;
  issue: string;
  motd: (kernel: string, r: SeededRandom) => string;
}

const UBUNTU_MOTD = (pretty: string) => (kernel: string, r: SeededRandom): string =>
  `Welcome to ${pretty} (GNU/Linux ${kernel} x86_64)\r\n\r\n * Documentation:  https://help.ubuntu.com\r\n * Management:     https://landscape.canonical.com\r\n * Support:        https://ubuntu.com/pro\r\n\r\n` +
  `${r.int(0, 40)} updates can be applied immediately.\r\nTo see these additional updates run: apt list --upgradable\r\n\r\n`;

const DEBIAN_MOTD = (kernel: string): string =>
  `Linux {host} ${kernel} #1 SMP PREEMPT_DYNAMIC Debian x86_64\r\n\r\nThe programs included with the Debian GNU/Linux system are free software;\r\nthe exact distribution terms for each program are described in the\r\nindividual files in /usr/share/doc/*/copyright.\r\n\r\nDebian GNU/Linux comes with ABSOLUTELY NO WARRANTY, to the extent\r\npermitted by applicable law.\r\n`;

function ubuntuRelease(version: string, codename: string, pretty: string): string {
  return `PRETTY_NAME="${pretty}"\nNAME="Ubuntu"\nVERSION_ID="${version}"\nVERSION="${pretty.replace('Ubuntu ', '')} (${codename[0]?.toUpperCase()}${codename.slice(1)})"\nVERSION_CODENAME=${codename}\nID=ubuntu\nID_LIKE=debian\nHOME_URL="https://www.ubuntu.com/"\nSUPPORT_URL="https://help.ubuntu.com/"\nBUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"\nPRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"\nUBUNTU_CODENAME=${codename}\n`;
}

function debianRelease(major: string, codename: string): string {
  return `PRETTY_NAME="Debian GNU/Linux ${major} (${codename})"\nNAME="Debian GNU/Linux"\nVERSION_ID="${major}"\nVERSION="${major} (${codename})"\nVERSION_CODENAME=${codename}\nID=debian\nHOME_URL="https://www.debian.org/"\nSUPPORT_URL="https://www.debian.org/support"\nBUG_REPORT_URL="https://bugs.debian.org/"\n`;
}

const FACTS: Record<Distro, DistroFacts> = {
  centos7: {
    pretty: 'CentOS Linux 7 (Core)',
    osRelease: () => 'NAME="CentOS Linux"\nVERSION="7 (Core)"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="7"\nPRETTY_NAME="CentOS Linux 7 (Core)"\nANSI_COLOR="0;31"\nCPE_NAME="cpe:/o:centos:centos:7"\nHOME_URL="https://www.centos.org/"\nBUG_REPORT_URL="https://bugs.centos.org/"\n\nCENTOS_MANTISBT_PROJECT="CentOS-7"\nCENTOS_MANTISBT_PROJECT_VERSION="7"\nREDHAT_SUPPORT_PRODUCT="centos"\nREDHAT_SUPPORT_PRODUCT_VERSION="7"\n\n',
    kernel: (r) => `3.10.0-${r.pick(['1160.102.1', '1160.108.1', '1160.114.2', '1160.118.1', '1160.119.1'])}.el7.x86_64`,
    unameTail: (k, r) => `#1 SMP ${r.pick(['Tue Nov 21 09:47:22 UTC 2023', 'Wed Jan 24 15:33:59 UTC 2024', 'Tue Apr 30 12:38:49 UTC 2024'])} x86_64 x86_64 x86_64 GNU/Linux`,
    issue: '\\S\nKernel \\r on an \\m\n\n',
    motd: () => '',
  },
  ubuntu1804: {
    pretty: 'Ubuntu 18.04.6 LTS',
    osRelease: () => ubuntuRelease('18.04', 'bionic', 'Ubuntu 18.04.6 LTS'),
    kernel: (r) => `4.15.0-${r.int(200, 213)}-generic`,
    unameTail: (k, r) => `#${r.int(210, 224)}-Ubuntu SMP ${r.pick(['Thu Jun 22 17:42:31 UTC 2023', 'Fri Aug 4 10:40:12 UTC 2023', 'Mon Feb 19 14:24:30 UTC 2024'])} x86_64 x86_64 x86_64 GNU/Linux`,
    issue: 'Ubuntu 18.04.6 LTS \\n \\l\n\n',
    motd: UBUNTU_MOTD('Ubuntu 18.04.6 LTS'),
  },
  debian10: {
    pretty: 'Debian GNU/Linux 10 (buster)',
    osRelease: () => debianRelease('10', 'buster'),
    kernel: () => '4.19.0-26-amd64',
    unameTail: (k, r) => `#1 SMP Debian 4.19.${r.int(289, 304)}-1 (${r.pick(['2023-09-29', '2024-01-02', '2024-03-21'])}) x86_64 GNU/Linux`,
    issue: 'Debian GNU/Linux 10 \\n \\l\n\n',
    motd: (k) => DEBIAN_MOTD(k).replace(' PREEMPT_DYNAMIC', ''),
  },
  ubuntu2004: {
    pretty: 'Ubuntu 20.04.6 LTS',
    osRelease: () => ubuntuRelease('20.04', 'focal', 'Ubuntu 20.04.6 LTS'),
    kernel: (r) => `5.4.0-${r.int(150, 204)}-generic`,
    unameTail: (k, r) => `#${r.int(170, 224)}-Ubuntu SMP ${r.pick(['Fri Feb 9 20:39:25 UTC 2024', 'Wed Apr 24 16:06:18 UTC 2024', 'Thu Oct 10 10:18:44 UTC 2024'])} x86_64 x86_64 x86_64 GNU/Linux`,
    issue: 'Ubuntu 20.04.6 LTS \\n \\l\n\n',
    motd: UBUNTU_MOTD('Ubuntu 20.04.6 LTS'),
  },
  ubuntu2204: {
    pretty: 'Ubuntu 22.04.4 LTS',
    osRelease: () => ubuntuRelease('22.04', 'jammy', 'Ubuntu 22.04.4 LTS'),
    kernel: (r) => `5.15.0-${r.int(88, 126)}-generic`,
    unameTail: (k, r) => `#${r.int(98, 136)}-Ubuntu SMP ${r.pick(['Mon Apr 15 10:48:27 UTC 2024', 'Fri May 24 14:52:19 UTC 2024', 'Tue Aug 13 13:04:27 UTC 2024'])} x86_64 x86_64 x86_64 GNU/Linux`,
    issue: 'Ubuntu 22.04.4 LTS \\n \\l\n\n',
    motd: UBUNTU_MOTD('Ubuntu 22.04.4 LTS'),
  },
  debian12: {
    pretty: 'Debian GNU/Linux 12 (bookworm)',
    osRelease: () => debianRelease('12', 'bookworm'),
    kernel: (r) => `6.1.0-${r.int(17, 28)}-amd64`,
    unameTail: (k, r) => `#1 SMP PREEMPT_DYNAMIC Debian 6.1.${r.int(76, 119)}-1 (${r.pick(['2024-02-01', '2024-06-25', '2024-11-22'])}) x86_64 GNU/Linux`,
    issue: 'Debian GNU/Linux 12 \\n \\l\n\n',
    motd: DEBIAN_MOTD,
  },
  ubuntu2404: {
    pretty: 'Ubuntu 24.04.1 LTS',
    osRelease: () => ubuntuRelease('24.04', 'noble', 'Ubuntu 24.04.1 LTS'),
    kernel: (r) => `6.8.0-${r.int(31, 52)}-generic`,
    unameTail: (k, r) => `#${r.int(31, 53)}-Ubuntu SMP PREEMPT_DYNAMIC ${r.pick(['Sat Sep 14 17:28:04 UTC 2024', 'Fri Nov 1 14:56:57 UTC 2024'])} x86_64 x86_64 x86_64 GNU/Linux`,
    issue: 'Ubuntu 24.04.1 LTS \\n \\l\n\n',
    motd: UBUNTU_MOTD('Ubuntu 24.04.1 LTS'),
  },
  embedded: {
    pretty: 'BusyBox',
    osRelease: () => 'NAME="Buildroot"\nVERSION=2021.02.4\nID=buildroot\nVERSION_ID=2021.02.4\nPRETTY_NAME="Buildroot 2021.02.4"\n',
    kernel: (r) => `${r.pick(['3.10.14', '4.4.198', '4.9.84'])}`,
    unameTail: (k, r) => `#1 ${r.pick(['PREEMPT', 'SMP PREEMPT'])} ${r.pick(['Thu Mar 4 11:02:18 CST 2021', 'Wed Jul 14 09:31:45 CST 2021'])} armv7l GNU/Linux`,
    issue: 'Welcome to Buildroot\n',
    motd: () => '\r\n\r\nBusyBox v1.33.1 (2021-07-14 09:31:45 CST) built-in shell (ash)\r\n\r\n',
  },
};

/** The distribution when the product does not say: the OS class's generation picks a plausible one. */
export function distroFromOsClass(os: OsClass | undefined): Distro {
  if (os === undefined) return 'ubuntu2204';
  if (os.deviceType !== 'general purpose' && os.family === 'Linux') return 'embedded';
  if (os.family !== 'Linux') return os.deviceType === 'general purpose' ? 'ubuntu2204' : 'embedded';
  if (os.generation.startsWith('2.6') || os.generation.startsWith('3.')) return 'centos7';
  if (os.generation.startsWith('4.')) return 'debian10';
  if (os.generation.startsWith('6.')) return 'debian12';
  return 'ubuntu2204';
}

const NAME_WORDS = ['web', 'app', 'db', 'srv', 'node', 'prod', 'backup', 'git', 'mail', 'build', 'api', 'vpn'];

/** A host name that looks like an operator picked it: `web-02`, `db03`. */
export function hostnameFor(seed: number): string {
  const r = SeededRandom.derive(seed, 'hostname');
  const word = r.pick(NAME_WORDS);
  const n = r.int(1, 24);
  return r.int(0, 1) === 0 ? `${word}-${String(n).padStart(2, '0')}` : `${word}${String(n).padStart(2, '0')}`;
}

const ROUTER_WORDS = ['rtr', 'gw', 'core', 'edge', 'sw', 'br'];

/** A network device's name: `core-rtr02`, `edge-gw1`, `br-sw03`. */
export function deviceHostnameFor(seed: number): string {
  const r = SeededRandom.derive(seed, 'device-hostname');
  const a = r.pick(ROUTER_WORDS);
  let b = r.pick(ROUTER_WORDS);
  if (b === a) b = 'rtr';
  return `${a}-${b}${String(r.int(1, 12)).padStart(2, '0')}`;
}

export function hostProfile(distro: Distro, seed: number, hostname: string | undefined, now = Date.now()): HostProfile {
  const f = FACTS[distro];
  const r = SeededRandom.derive(seed, `host-profile:${distro}`);
  const name = hostname ?? hostnameFor(seed);
  const kernel = f.kernel(r);
  const machine = distro === 'embedded' ? 'armv7l' : 'x86_64';
  const uname = `Linux ${name} ${kernel} ${f.unameTail(kernel, r)}`;
  const bootTime = now - r.int(3, 180) * 86_400_000 - r.int(0, 86_399) * 1000;
  return {
    distro, hostname: name, kernel, uname, machine, osRelease: f.osRelease(r), issue: f.issue,
    motd: f.motd(kernel, r).replace('{host}', name), bootTime, seed, shell: distro === 'embedded' ? 'ash' : 'bash',
  };
}

export function prettyName(distro: Distro): string {
  return FACTS[distro].pretty;
}

/** Where the host's previous login came from (the `Last login` line): a private address fixed per host. */
export function lastLoginFrom(h: HostProfile): string {
  return `10.${(h.seed >>> 16) & 0xff}.${(h.seed >>> 8) & 0xff}.${Math.max(2, h.seed & 0xfe)}`;
}
