import { readFileSync } from 'node:fs';

/** Look a user up in /etc/passwd: uid and primary gid. */
export function lookupUser(name: string): { uid: number; gid: number } | null {
  let text: string;
  try {
    text = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 4) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  return null;
}

/**
 * Give up root for good once the capture handle is open: the process parsing hostile packets
 * then holds no privileges (the open pcap handle keeps working).
 */
export function dropPrivileges(user: string): void {
  const entry = lookupUser(user);
  if (entry === null) throw new Error(`no such user: ${user}`);
  if (process.setgroups) process.setgroups([entry.gid]);
  process.setgid?.(entry.gid);
  process.setuid?.(entry.uid);
  if (process.getuid?.() !== entry.uid || process.geteuid?.() !== entry.uid) throw new Error(`could not switch to user ${user}`);
}
