/**
 * The client's identification line, judged the way the claimed server judges it, before ssh2
 * sees a byte (ssh2 throws its own errors, which no OpenSSH prints).
 *
 * - `openssh` (8.0 and later, kex.c `kex_exchange_identification`): bytes are read one by one; a
 *   NUL, or anything but `\n` after `\r`, or a line over SSH_MAX_BANNER_LEN (8192), or a first line
 *   not starting `SSH-` (servers accept no pre-banner lines) is answered `Invalid SSH
 *   identification string.\r\n`; so is a line `sscanf("SSH-%d.%d-%[^\n]")` cannot read. A major
 *   version other than 2 (or 1.99) gets `Protocol major versions differ.\r\n`. Each then closes.
 * - `openssh-legacy` (7.x, sshd.c `sshd_exchange_identification`): a 256-byte buffer; `\r`
 *   ends the C string; the line ends at `\n` or after 255 bytes; an unreadable line is answered
 *   `Protocol mismatch.\n`, a wrong major version `Protocol major versions differ.\n`.
 * - `dropbear`: one line, which must start `SSH-2.` or `SSH-1.99-`; otherwise it closes silently.
 * - OpenSSH closes silently for clients whose software matches `Probe-*` (compat.c SSH_BUG_PROBE).
 */
import type { IdentStyle } from './versions';

export const SSH_MAX_BANNER_LEN = 8192;

export type IdentVerdict =
  | { kind: 'more' }
  /** `length`: bytes of the line including its end; the rest is the binary protocol. */
  | { kind: 'ok'; line: string; length: number; software: string }
  /** Write `reply` (may be empty), then close. */
  | { kind: 'refuse'; reply: string; line: string; reason: string };

/** C `sscanf("SSH-%d.%d-%[^\n]")`: major, minor and the rest, or undefined when it reads fewer than 3 items. */
export function scanIdent(s: string): { major: number; minor: number; rest: string } | undefined {
  if (!s.startsWith('SSH-')) return undefined;
  let i = 4;
  const int = (): number | undefined => {
    while (i < s.length && ' \t\n\v\f\r'.includes(s[i] as string)) i++;
    let sign = 1;
    if (s[i] === '+' || s[i] === '-') { if (s[i] === '-') sign = -1; i++; }
    const start = i;
    while (i < s.length && s[i]! >= '0' && s[i]! <= '9') i++;
    return i === start ? undefined : sign * Number(s.slice(start, i));
  };
  const major = int();
  if (major === undefined || s[i] !== '.') return undefined;
  i++;
  const minor = int();
  if (minor === undefined || s[i] !== '-') return undefined;
  i++;
  const end = s.indexOf('\n', i);
  const rest = s.slice(i, end === -1 ? undefined : end);
  return rest.length === 0 ? undefined : { major, minor, rest };
}

function versionOk(major: number, minor: number): boolean {
  return major === 2 || (major === 1 && minor === 99);
}

export function judgeIdent(data: Buffer, style: IdentStyle): IdentVerdict {
  if (style === 'openssh-legacy') return judgeLegacy(data);
  if (style === 'dropbear') return judgeDropbear(data);
  let expectNl = false;
  let line = '';
  for (let p = 0; p < data.length; p++) {
    const c = data[p] as number;
    if (c === 0x0d) { expectNl = true; continue; }
    if (c === 0x0a) {
      if (!(line.length > 4 && line.startsWith('SSH-'))) return invalid(line, 'client sent invalid protocol identifier');
      const v = scanIdent(line);
      if (v === undefined) return invalid(line, 'bad remote protocol version identification');
      if (!versionOk(v.major, v.minor)) return { kind: 'refuse', reply: 'Protocol major versions differ.\r\n', line, reason: 'protocol major versions differ' };
      if (v.rest.startsWith('Probe-')) return { kind: 'refuse', reply: '', line, reason: 'probe' };
      return { kind: 'ok', line, length: p + 1, software: v.rest };
    }
    if (c === 0 || expectNl) return invalid(line, 'banner line contains invalid characters');
    line += String.fromCharCode(c);
    if (line.length > SSH_MAX_BANNER_LEN) return invalid(line.slice(0, 256), 'banner line too long');
  }
  return { kind: 'more' };
}

function invalid(line: string, reason: string): IdentVerdict {
  return { kind: 'refuse', reply: 'Invalid SSH identification string.\r\n', line, reason };
}

function judgeLegacy(data: Buffer): IdentVerdict {
  let raw = '';
  let length = -1;
  for (let i = 0; i < data.length && i < 255; i++) {
    raw += String.fromCharCode(data[i] as number);
    if (data[i] === 0x0a) { length = i + 1; break; }
  }
  if (length === -1) {
    if (data.length < 255) return { kind: 'more' };
    length = 255;
  }
  // `\r` and NUL end the C string the version is read from.
  const cstr = raw.replace(/\n$/, '').split(/[\r\0]/)[0] as string;
  const v = scanIdent(cstr);
  if (v === undefined) return { kind: 'refuse', reply: 'Protocol mismatch.\n', line: cstr, reason: 'bad protocol version identification' };
  if (v.rest.startsWith('Probe-')) return { kind: 'refuse', reply: '', line: cstr, reason: 'probe' };
  if (v.rest.includes('SSH_Version_Mapper')) return { kind: 'refuse', reply: '', line: cstr, reason: 'scanner' };
  if (!versionOk(v.major, v.minor)) return { kind: 'refuse', reply: 'Protocol major versions differ.\n', line: cstr, reason: 'protocol major versions differ' };
  return { kind: 'ok', line: cstr, length, software: v.rest };
}

function judgeDropbear(data: Buffer): IdentVerdict {
  const nl = data.indexOf(0x0a);
  if (nl === -1) {
    if (data.length < 255) return { kind: 'more' };
    return { kind: 'refuse', reply: '', line: data.subarray(0, 255).toString('latin1'), reason: 'ident line too long' };
  }
  const line = data.subarray(0, nl).toString('latin1').replace(/\r$/, '');
  if (!line.startsWith('SSH-2.') && !line.startsWith('SSH-1.99-')) return { kind: 'refuse', reply: '', line, reason: 'incompatible remote version' };
  const dash = line.indexOf('-', 4);
  return { kind: 'ok', line, length: nl + 1, software: dash === -1 ? '' : line.slice(dash + 1) };
}
