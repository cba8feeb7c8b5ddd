import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConnectionShape,
  DatagramShape,
  HostPersonality,
  IcmpEchoIn,
  IcmpEchoReply,
  IpIdKind,
  TcpFlag,
  TcpReply,
  TcpSegmentIn,
  UdpUnreachableReply,
} from '../../daemon/src/personality/host-personality';
import { simulateNmapFingerprint, simulateNmapRound, formatFingerprint, parseObservedFingerprint } from '../../daemon/src/personality/nmap-sim';
import { crc32 } from '../../daemon/src/personality/nmap-sim/checksum';
import { nmapOptionString } from '../../daemon/src/personality/nmap-sim/tcp-options';
import { loadOsDb } from '../../daemon/src/personality/osdb/parse';
import { FAMILY_BEHAVIOURS } from '../../daemon/src/personality/behaviour/tables';
import { isPerfectMatchFor, nmapOsOutcome } from '../../daemon/src/personality/osdb/matcher';

/**
 * A fixed, hand-written model of the first `Linux 5.4` entry of the 7.93 DB (line 68158):
 * TI=Z, CI=I, II=I, 250 Hz timestamps (TS=8), MSS 0x508, wscale 6, T2/T3 silent.
 */
class Linux54Model implements HostPersonality {
  readonly name = 'Linux 5.4';
  readonly vendor = 'Linux';
  readonly icmpErrorLimit = null;
  readonly behaviour = FAMILY_BEHAVIOURS.linux;
  /** Knobs the tests turn to check how the simulator reads replies. */
  answerUdp = true;
  rstPayload: Buffer | null = null;
  synAckIpId: number | null = null;
  private isn = 0x1234567;
  private lastIsnTime = -1;
  private step = 0;
  private closedId = 1000;
  private icmpId = 5000;
  private readonly tsBase = 123456;
  private readonly t0 = 1_700_000_000_000;
  private readonly opt = Buffer.alloc(40);

  tsVal(timeMs: number): number {
    return (this.tsBase + Math.floor(((timeMs - this.t0) * 250) / 1000)) >>> 0;
  }

  nextIpId(kind: IpIdKind): number {
    if (kind === 'tcp-open') return this.synAckIpId ?? 0;
    if (kind === 'tcp-closed') return (this.closedId = (this.closedId + 1) & 0xffff);
    return (this.icmpId = (this.icmpId + 1) & 0xffff);
  }

  /** ISN rate pattern around 2^(0x10B/8) per second with a spread giving SP ≈ 0xFC. */
  private nextIsn(timeMs: number): number {
    if (this.lastIsnTime >= 0) {
      const z = [1.265, -1.265, 0.632, -0.632, 0][this.step++ % 5];
      const rate = 2 ** (0x10b / 8) + 2 ** (0xfc / 8) * z;
      this.isn = (this.isn + Math.round((rate * (timeMs - this.lastIsnTime)) / 1000)) >>> 0;
    }
    this.lastIsnTime = timeMs;
    return this.isn;
  }

  private synAckOptions(seg: TcpSegmentIn, out: TcpReply): void {
    let n = 0;
    const o = this.opt;
    o[n++] = 2;
    o[n++] = 4;
    o.writeUInt16BE(0x508, n);
    n += 2;
    if (seg.sackPermitted && seg.hasTimestamp) {
      o[n++] = 4;
      o[n++] = 2;
    } else if (seg.hasTimestamp || seg.sackPermitted) {
      o[n++] = 1;
      o[n++] = 1;
      if (seg.sackPermitted) {
        o[n++] = 4;
        o[n++] = 2;
      }
    }
    if (seg.hasTimestamp) {
      o[n++] = 8;
      o[n++] = 10;
      o.writeUInt32BE(this.tsVal(seg.timeMs), n);
      o.writeUInt32BE(seg.tsVal, n + 4);
      n += 8;
    }
    if (seg.wscale >= 0) {
      o[n++] = 1;
      o[n++] = 3;
      o[n++] = 3;
      o[n++] = 6;
    }
    out.options = o;
    out.optionsLength = n;
  }

  respondTcp(seg: TcpSegmentIn, state: 'open' | 'closed', out: TcpReply): boolean {
    out.ttl = 64;
    out.df = true;
    out.reserved = 0;
    out.urgentPointer = 0;
    out.payload = null;
    out.optionsLength = 0;
    const syn = (seg.flags & TcpFlag.SYN) !== 0;
    const ack = (seg.flags & TcpFlag.ACK) !== 0;
    if (state === 'open' && syn && !ack && !(seg.flags & (TcpFlag.FIN | TcpFlag.RST))) {
      out.flags = TcpFlag.SYN | TcpFlag.ACK | ((seg.flags & (TcpFlag.ECE | TcpFlag.CWR)) === (TcpFlag.ECE | TcpFlag.CWR) ? TcpFlag.ECE : 0);
      out.seq = this.nextIsn(seg.timeMs);
      out.ack = (seg.seq + 1) >>> 0;
      out.window = seg.hasTimestamp ? 0x68df : 0x6903;
      this.synAckOptions(seg, out);
      out.ipId = this.nextIpId('tcp-open');
      return true;
    }
    if (state === 'open' && !ack) return false; // NULL and SYN+FIN+PSH+URG: dropped (T2, T3)
    if (ack) {
      out.flags = TcpFlag.RST;
      out.seq = seg.ack;
      out.ack = 0;
    } else {
      out.flags = TcpFlag.RST | TcpFlag.ACK;
      out.seq = 0;
      out.ack = (seg.seq + seg.payloadLength + (syn ? 1 : 0) + (seg.flags & TcpFlag.FIN ? 1 : 0)) >>> 0;
    }
    out.window = 0;
    out.payload = this.rstPayload;
    out.ipId = this.nextIpId(state === 'open' ? 'tcp-open' : 'tcp-closed');
    return true;
  }

  connectionShape(_syn: TcpSegmentIn, out: ConnectionShape): void {
    out.ttl = 64;
    out.df = true;
    out.window = 0x68df;
    out.wscale = 6;
    out.mss = 0x508;
    out.timestamps = true;
    out.tsOffset = 0;
  }

  datagramShape(out: DatagramShape): void {
    out.ttl = 64;
    out.df = true;
  }

  respondIcmpEcho(req: IcmpEchoIn, out: IcmpEchoReply): boolean {
    out.code = req.code;
    out.ttl = 64;
    out.df = false;
    out.tos = req.ipTos;
    out.ipId = this.nextIpId('icmp');
    return true;
  }

  respondUdpClosed(ipTotalLength: number, _timeMs: number, out: UdpUnreachableReply): boolean {
    if (!this.answerUdp) return false;
    out.ttl = 64;
    out.df = false;
    out.ipId = this.nextIpId('icmp');
    out.tos = 0xc0;
    out.unused = 0;
    out.totalLength = Math.min(576, 20 + 8 + ipTotalLength);
    out.quotedTotalLength = -1;
    out.quotedIpId = -1;
    out.quotedIpChecksum = 'G';
    out.quotedUdpChecksum = -1;
    out.corruptQuotedPayload = false;
    return true;
  }
}

const attr = (fp: Map<string, Map<string, string>>, t: string, a: string): string | undefined => fp.get(t)?.get(a);

test('Linux 5.4 model: computed test values', () => {
  const fp = simulateNmapFingerprint(new Linux54Model(), { startMs: 1_700_000_000_000 });
  console.log(formatFingerprint(fp));
  assert.equal(attr(fp, 'SEQ', 'TI'), 'Z');
  assert.equal(attr(fp, 'SEQ', 'CI'), 'I');
  assert.equal(attr(fp, 'SEQ', 'II'), 'I');
  assert.equal(attr(fp, 'SEQ', 'SS'), undefined, 'SS needs TI and II incremental');
  assert.equal(attr(fp, 'SEQ', 'TS'), '8');
  assert.equal(attr(fp, 'SEQ', 'GCD'), '1');
  const isr = parseInt(attr(fp, 'SEQ', 'ISR') ?? '', 16);
  assert.ok(Math.abs(isr - 0x10b) <= 1, `ISR ${isr.toString(16)}`);
  const sp = parseInt(attr(fp, 'SEQ', 'SP') ?? '', 16);
  assert.ok(sp >= 0xfa && sp <= 0x104, `SP ${sp.toString(16)}`);
  assert.deepEqual([...(fp.get('OPS') ?? new Map()).values()], [
    'M508ST11NW6', 'M508ST11NW6', 'M508NNT11NW6', 'M508ST11NW6', 'M508ST11NW6', 'M508ST11',
  ]);
  assert.deepEqual([...(fp.get('WIN') ?? new Map()).values()], ['68DF', '68DF', '68DF', '68DF', '68DF', '68DF']);
  assert.equal(formatFingerprint(new Map([['ECN', fp.get('ECN') ?? new Map()]])), 'ECN(R=Y%DF=Y%T=40%W=6903%O=M508NNSNW6%CC=Y%Q=)');
  assert.equal(formatFingerprint(new Map([['T1', fp.get('T1') ?? new Map()]])), 'T1(R=Y%DF=Y%T=40%S=O%A=S+%F=AS%RD=0%Q=)');
  assert.deepEqual([...(fp.get('T2') ?? new Map())], [['R', 'N']]);
  assert.equal(formatFingerprint(new Map([['T4', fp.get('T4') ?? new Map()]])), 'T4(R=Y%DF=Y%T=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)');
  assert.equal(formatFingerprint(new Map([['T7', fp.get('T7') ?? new Map()]])), 'T7(R=Y%DF=Y%T=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)');
  assert.equal(
    formatFingerprint(new Map([['U1', fp.get('U1') ?? new Map()]])),
    'U1(R=Y%DF=N%T=40%IPL=164%UN=0%RIPL=G%RID=G%RIPCK=G%RUCK=G%RUD=G)',
  );
  assert.equal(formatFingerprint(new Map([['IE', fp.get('IE') ?? new Map()]])), 'IE(R=Y%DFI=N%T=40%CD=S)');
  // Printing and parsing back are inverse.
  assert.deepEqual(parseObservedFingerprint(formatFingerprint(fp)), fp);
});

test('Linux 5.4 model: nmap 7.93 names exactly its entry', () => {
  const db = loadOsDb(['/usr/share/nmap/nmap-os-db']);
  const fp = simulateNmapFingerprint(new Linux54Model());
  const outcome = nmapOsOutcome(db, fp);
  assert.equal(outcome.kind, 'details');
  assert.deepEqual(outcome.perfectNames, ['Linux 5.4']);
  assert.equal(isPerfectMatchFor(db, fp, 'Linux 5.4'), true);
  assert.equal(isPerfectMatchFor(db, fp, 'Linux 3.16'), false);
});

test('TTL: T over a 3-hop path is still the initial TTL; without U1 it becomes TG', () => {
  const far = simulateNmapRound(new Linux54Model(), { hops: 3 });
  assert.equal(far.distance, 3);
  assert.equal(attr(far.fingerprint, 'T1', 'T'), '40');
  const m = new Linux54Model();
  m.answerUdp = false;
  const r = simulateNmapRound(m);
  assert.equal(r.distance, -1);
  assert.deepEqual([...(r.fingerprint.get('U1') ?? new Map())], [['R', 'N']]);
  assert.equal(attr(r.fingerprint, 'T1', 'T'), undefined);
  assert.equal(attr(r.fingerprint, 'T1', 'TG'), '40');
  // The unanswered U1 was retransmitted: 4 sends in all.
  assert.equal(r.log.filter((l) => l.probe === 'U1').length, 4);
});

test('RD is the CRC-32 of the RST payload, 8 hex digits', () => {
  const m = new Linux54Model();
  m.rstPayload = Buffer.from('No TCP listener here');
  const fp = simulateNmapFingerprint(m);
  const want = crc32(m.rstPayload).toString(16).toUpperCase().padStart(8, '0');
  assert.equal(attr(fp, 'T5', 'RD'), want);
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
});

test('a constant non-zero SYN/ACK IP ID makes Nmap drop replies 2-6 as duplicates', () => {
  const m = new Linux54Model();
  m.synAckIpId = 0x4242;
  const fp = simulateNmapFingerprint(m);
  assert.equal(attr(fp, 'SEQ', 'ISR'), undefined);
  assert.equal(attr(fp, 'SEQ', 'TI'), undefined);
  assert.equal(attr(fp, 'SEQ', 'TS'), undefined, 'TS needs two replies');
  // OPS/WIN still take every reply.
  assert.equal(attr(fp, 'OPS', 'O6'), 'M508ST11');
});

test('option strings: padding reads as L, truncation empties the value', () => {
  assert.equal(nmapOptionString(Buffer.from('020405b4010303070000', 'hex')), 'M5B4NW7LL');
  assert.equal(nmapOptionString(Buffer.from('0204', 'hex')), '');
  assert.equal(nmapOptionString(Buffer.from('080a0000000000000001', 'hex')), 'T01');
  assert.equal(nmapOptionString(Buffer.alloc(0)), '');
});
