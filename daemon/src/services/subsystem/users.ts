import { readFileSync } from 'node:fs';

/** Honeyd runs scripts and subsystems as `nobody` unless the template says otherwise. */
export const DEFAULT_SUBSYSTEM_USER = 'nobody';

/** uid and primary gid of a user from /etc/passwd; Debian's nobody (65534/65534) when it is not listed. */
export function passwdUser(name: string, passwd = '/etc/passwd'): { uid: number; gid: number } {
  try {
    for (const line of readFileSync(passwd, 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === name && f.length >= 4) return { uid: Number(f[2]), gid: Number(f[3]) };
    }
  } catch {
    // fall through
  }
  return { uid: 65534, gid: 65534 };
}
