/**
 * Test support for the personality model: four nmap-os-db 7.93 entries copied by hand, a tiny
 * single-entry parser (independent of the osdb/ parser), and builders for TCP segments and replies.
 */

import type { OsFingerprint, TestName } from '../../daemon/src/personality/osdb/types';
import { TcpFlag, type TcpReply, type TcpSegmentIn } from '../../daemon/src/personality/host-personality';

export const LINUX_5_4 = `Fingerprint Linux 5.4
Class Linux | Linux | 5.X | general purpose
CPE cpe:/o:linux:linux_kernel:5.4 auto
SEQ(SP=FA-104%GCD=1-6%ISR=10A-114%TI=Z%CI=I%II=I%TS=8)
OPS(O1=M508ST11NW6%O2=M508ST11NW6%O3=M508NNT11NW6%O4=M508ST11NW6%O5=M508ST11NW6%O6=M508ST11)
WIN(W1=68DF%W2=68DF%W3=68DF%W4=68DF%W5=68DF%W6=68DF)
ECN(R=Y%DF=Y%T=3B-45%TG=40%W=6903%O=M508NNSNW6%CC=Y%Q=)
T1(R=Y%DF=Y%T=3B-45%TG=40%S=O%A=S+%F=AS%RD=0%Q=)
T2(R=N)
T3(R=N)
T4(R=Y%DF=Y%T=3B-45%TG=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)
T5(R=Y%DF=Y%T=3B-45%TG=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)
T6(R=Y%DF=Y%T=3B-45%TG=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)
T7(R=Y%DF=Y%T=3B-45%TG=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)
U1(DF=N%T=3B-45%TG=40%IPL=164%UN=0%RIPL=G%RID=G%RIPCK=G%RUCK=G%RUD=G)
IE(DFI=N%T=3B-45%TG=40%CD=S)`;

export const WINDOWS_10_1607 = `Fingerprint Microsoft Windows 10 1607
Class Microsoft | Windows | 10 | general purpose
CPE cpe:/o:microsoft:windows_10:1607 auto
SEQ(SP=FE-108%GCD=1-6%ISR=102-10C%TI=I%CI=I%II=I%TS=A)
OPS(O1=MFFD7ST11%O2=MFFD7ST11%O3=MFFD7NNT11%O4=MFFD7ST11%O5=MFFD7ST11%O6=MFFD7ST11)
WIN(W1=2000%W2=2000%W3=2000%W4=2000%W5=2000%W6=2000)
ECN(R=Y%DF=Y%T=7B-85%TG=80%W=2000%O=MFFD7NNS%CC=N%Q=)
T1(R=Y%DF=Y%T=7B-85%TG=80%S=O%A=S+%F=AS%RD=0%Q=)
T2(R=Y%DF=Y%T=7B-85%TG=80%W=0%S=Z%A=S%F=AR%O=%RD=0%Q=)
T3(R=Y%DF=Y%T=7B-85%TG=80%W=0%S=Z%A=O%F=AR%O=%RD=0%Q=)
T4(R=Y%DF=Y%T=7B-85%TG=80%W=0%S=A%A=O%F=R%O=%RD=0%Q=)
T5(R=Y%DF=Y%T=7B-85%TG=80%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)
T6(R=Y%DF=Y%T=7B-85%TG=80%W=0%S=A%A=O%F=R%O=%RD=0%Q=)
T7(R=Y%DF=Y%T=7B-85%TG=80%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)
U1(DF=N%T=7B-85%TG=80%IPL=164%UN=0%RIPL=G%RID=G%RIPCK=Z%RUCK=G%RUD=G)
IE(DFI=N%T=7B-85%TG=80%CD=Z)`;

export const FREEBSD_12 = `Fingerprint FreeBSD 12.0-RELEASE
Class FreeBSD | FreeBSD | 12.X | general purpose
CPE cpe:/o:freebsd:freebsd:12.0 auto
SEQ(SP=FE-108%GCD=1-6%ISR=107-111%TI=Z%CI=Z%TS=22)
OPS(O1=M5B4NW6ST11%O2=M5B4NW6ST11%O3=M5B4NW6NNT11%O4=M5B4NW6ST11%O5=M5B4NW6ST11%O6=M5B4ST11)
WIN(W1=FFFF%W2=FFFF%W3=FFFF%W4=FFFF%W5=FFFF%W6=FFFF)
ECN(R=Y%DF=Y%T=3B-45%TG=40%W=FFFF%O=M5B4NW6SLL%CC=Y%Q=)
T1(R=Y%DF=Y%T=3B-45%TG=40%S=O%A=S+%F=AS%RD=0%Q=)
T2(R=N)
T3(R=N)
T4(R=Y%DF=Y%T=3B-45%TG=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)
T5(R=Y%DF=Y%T=3B-45%TG=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)
T6(R=Y%DF=Y%T=3B-45%TG=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)
T7(R=N)
U1(DF=N%T=3B-45%TG=40%IPL=164%UN=0%RIPL=G%RID=G%RIPCK=G%RUCK=G%RUD=G)
IE(DFI=S%T=3B-45%TG=40%CD=S)`;

export const CISCO_IOS_15 = `Fingerprint Cisco IOS 15
Class Cisco | IOS | 15.X | router
CPE cpe:/o:cisco:ios:15 auto
SEQ(SP=F4-FE%GCD=1-6%ISR=F5-FF%TI=RD%CI=RD%II=RI%TS=U)
OPS(O1=M5B4%O2=M578%O3=M280%O4=M218%O5=M218%O6=M109)
WIN(W1=1020%W2=1020%W3=1020%W4=1020%W5=1020%W6=1020)
ECN(R=Y%DF=N%T=FB-105%TG=FF%W=1020%O=M5B4%CC=N%Q=)
T1(R=Y%DF=N%T=FB-105%TG=FF%S=O%A=S+%F=AS%RD=0%Q=)
T2(R=N)
T3(R=N)
T4(R=Y%DF=N%T=FB-105%TG=FF%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)
T5(R=Y%DF=N%T=FB-105%TG=FF%W=0%S=A%A=S+%F=AR%O=%RD=0%Q=)
T6(R=Y%DF=N%T=FB-105%TG=FF%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)
T7(R=Y%DF=N%T=FB-105%TG=FF%W=0%S=A%A=S%F=AR%O=%RD=0%Q=)
U1(DF=N%T=FB-105%TG=FF%IPL=38%UN=0%RIPL=G%RID=G%RIPCK=G%RUCK=G%RUD=G)
IE(DFI=S%T=FB-105%TG=FF%CD=S)`;

/** Parse one entry's text into an OsFingerprint (test-only; no validation beyond the shape). */
export function parseEntry(text: string): OsFingerprint {
  const fp: OsFingerprint = { name: '', file: 'fixture', line: 1, classes: [], cpes: [], tests: new Map() };
  for (const line of text.split('\n')) {
    if (line.startsWith('Fingerprint ')) fp.name = line.slice(12);
    else if (line.startsWith('Class ')) {
      const [vendor, family, generation, deviceType] = line.slice(6).split('|').map((s) => s.trim());
      fp.classes.push({ vendor, family, generation, deviceType });
    } else if (line.startsWith('CPE ')) fp.cpes.push(line.slice(4).split(' ')[0]);
    else {
      const m = /^([A-Z0-9]+)\((.*)\)$/.exec(line);
      if (!m) continue;
      const attrs = new Map<string, string>();
      for (const kv of m[2].split('%')) {
        const eq = kv.indexOf('=');
        if (eq > 0) attrs.set(kv.slice(0, eq), kv.slice(eq + 1));
      }
      fp.tests.set(m[1] as TestName, attrs);
    }
  }
  return fp;
}

/** Nmap's probe option bytes (osscan2.cc prbOpts): SEQ 1–6, ECN, T2–T6, T7. */
export const NMAP_OPTIONS = {
  seq: [
    '03030a01020405b4080affffffff000000000402',
    '020405780303000402080affffffff0000000000',
    '080affffffff0000000001010303050102040280',
    '0402080affffffff000000000303 0a00',
    '020402180402080affffffff000000000303 0a00',
    '020401090402080affffffff00000000',
  ].map(hexBytes),
  ecn: hexBytes('03030a01020405b404020101'),
  t: hexBytes('03030a0102040109080affffffff000000000402'),
  t7: hexBytes('03030f0102040109080affffffff000000000402'),
};

function hexBytes(s: string): Buffer {
  return Buffer.from(s.replace(/ /g, ''), 'hex');
}

/** A TCP segment as the stack would describe it, options read from `opts`. */
export function segment(opts: Buffer, fields: Partial<TcpSegmentIn> = {}): TcpSegmentIn {
  const seg: TcpSegmentIn = {
    srcPort: 40000,
    dstPort: 22,
    flags: TcpFlag.SYN,
    reserved: 0,
    seq: 0x11223344,
    ack: 0x55667788,
    window: 1024,
    urgentPointer: 0,
    payloadLength: 0,
    mss: -1,
    wscale: -1,
    sackPermitted: false,
    hasTimestamp: false,
    tsVal: 0,
    tsEcr: 0,
    ipTtl: 50,
    ipDf: false,
    ipId: 1234,
    timeMs: 1_700_000_000_000,
  };
  let p = 0;
  while (p < opts.length) {
    const kind = opts[p];
    if (kind === 0) break;
    if (kind === 1) {
      p++;
      continue;
    }
    const len = opts[p + 1];
    if (kind === 2) seg.mss = opts.readUInt16BE(p + 2);
    if (kind === 3) seg.wscale = opts[p + 2];
    if (kind === 4) seg.sackPermitted = true;
    if (kind === 8) {
      seg.hasTimestamp = true;
      seg.tsVal = opts.readUInt32BE(p + 2);
      seg.tsEcr = opts.readUInt32BE(p + 6);
    }
    p += len;
  }
  return { ...seg, ...fields };
}

export function emptyReply(): TcpReply {
  return {
    flags: 0, reserved: 0, seq: 0, ack: 0, window: 0, urgentPointer: 0,
    options: Buffer.alloc(0), optionsLength: 0, payload: null, ttl: 0, df: false, ipId: 0,
  };
}

/** The reply's options as Nmap writes them (digest §2.3), read independently of the model's encoder. */
export function optionString(r: TcpReply): string {
  const b = r.options.subarray(0, r.optionsLength);
  let s = '';
  let p = 0;
  while (p < b.length) {
    const k = b[p];
    if (k === 0) { s += 'L'; p++; continue; }
    if (k === 1) { s += 'N'; p++; continue; }
    const len = b[p + 1];
    if (k === 2) s += 'M' + b.readUInt16BE(p + 2).toString(16).toUpperCase();
    else if (k === 3) s += 'W' + b[p + 2].toString(16).toUpperCase();
    else if (k === 4) s += 'S';
    else if (k === 8) s += 'T' + (b.readUInt32BE(p + 2) ? '1' : '0') + (b.readUInt32BE(p + 6) ? '1' : '0');
    else s += '?';
    p += len;
  }
  return s;
}

/** Nmap's F attribute letters. */
export function flagString(flags: number): string {
  const order: Array<[string, number]> = [['E', TcpFlag.ECE], ['U', TcpFlag.URG], ['A', TcpFlag.ACK], ['P', TcpFlag.PSH], ['R', TcpFlag.RST], ['S', TcpFlag.SYN], ['F', TcpFlag.FIN]];
  return order.filter(([, bit]) => flags & bit).map(([c]) => c).join('');
}
