/**
 * A fixed script of inputs to one personality and a text transcript of everything it answers:
 * SYN/ACKs to every Nmap offer, the T2–T7 and ECN situations on open and closed ports, connection
 * shapes, timestamps, IP IDs from every counter, echo and port-unreachable shapes, in two bursts
 * and across a long gap, then a whole simulated Nmap round. Two personalities that answer alike
 * give the same transcript; its digest pins the model's behaviour for a seed.
 */
import { createHash } from 'node:crypto';
import { TcpFlag, type ConnectionShape, type IcmpEchoReply, type HostPersonality, type UdpUnreachableReply } from '../../daemon/src/personality/host-personality';
import { simulateNmapRound } from '../../daemon/src/personality/nmap-sim/simulate';
import { NMAP_OPTIONS, emptyReply, segment } from './model-fixtures';

const OFFERS = [...NMAP_OPTIONS.seq, NMAP_OPTIONS.ecn, NMAP_OPTIONS.t, NMAP_OPTIONS.t7, Buffer.alloc(0)];
const FLAG_SETS = [
  TcpFlag.SYN,
  TcpFlag.SYN | TcpFlag.ECE | TcpFlag.CWR,
  TcpFlag.SYN | TcpFlag.FIN | TcpFlag.PSH | TcpFlag.URG,
  TcpFlag.ACK,
  0,
  TcpFlag.FIN | TcpFlag.PSH | TcpFlag.URG,
  TcpFlag.RST,
];

export interface TranscriptOptions {
  /** Also print ConnectionShape.tsOffset (the model had none before per-connection TS offsets). */
  tsOffset?: boolean;
  /** End with a whole simulated Nmap round (depends on the simulator as well as the model). */
  nmapRound?: boolean;
}

export function transcript(p: HostPersonality, startMs: number, o: TranscriptOptions = {}): string {
  const lines: string[] = [];
  let t = startMs;
  for (const burst of [0, 1]) {
    for (const state of ['open', 'closed'] as const) {
      for (const flags of FLAG_SETS) {
        for (const [i, opts] of OFFERS.entries()) {
          t += 7;
          const out = emptyReply();
          const seg = segment(opts, { flags, timeMs: t, seq: 0x01020304 + i * 77, ack: 0xa0b0c0d0 + i, urgentPointer: i === 3 ? 5 : 0 });
          const replied = p.respondTcp(seg, state, out);
          lines.push(replied
            ? `tcp ${state} ${flags} ${i}: ${out.flags}/${out.reserved} ${out.seq} ${out.ack} w${out.window} u${out.urgentPointer} ${out.options.subarray(0, out.optionsLength).toString('hex')} ${out.payload?.toString('hex') ?? '-'} ${out.ttl}/${out.df} id${out.ipId}`
            : `tcp ${state} ${flags} ${i}: silent`);
          if (replied && state === 'open' && flags === TcpFlag.SYN) {
            const shape: ConnectionShape = { ttl: 0, df: false, window: 0, wscale: 0, mss: 0, timestamps: false, tsOffset: 0, ipIdNext: -1 };
            p.connectionShape(seg, shape);
            lines.push(`  shape ${shape.ttl}/${shape.df} w${shape.window} ws${shape.wscale} mss${shape.mss} ts${shape.timestamps}${o.tsOffset === true ? ` off${shape.tsOffset}` : ''}`);
          }
        }
      }
    }
    for (const kind of ['tcp-open', 'tcp-closed', 'icmp'] as const) {
      for (let k = 0; k < 4; k++) lines.push(`ipid ${kind} ${p.nextIpId(kind, (t += 13))}`);
    }
    for (let k = 0; k < 3; k++) lines.push(`ts ${p.tsVal((t += 500))}`);
    for (const [code, df] of [[0, false], [9, true]] as const) {
      const e: IcmpEchoReply = { code: -1, ttl: 0, df: false, ipId: 0, tos: 0 };
      const replied = p.respondIcmpEcho({ code, ipDf: df, ipTtl: 50, ipTos: 4, timeMs: (t += 3) }, e);
      lines.push(replied ? `echo ${code}/${df}: ${e.code} ${e.ttl}/${e.df} id${e.ipId} tos${e.tos}` : `echo ${code}/${df}: silent`);
    }
    for (const len of [328, 40]) {
      const u: UdpUnreachableReply = {
        ttl: 0, df: false, ipId: 0, tos: 0, unused: 0, totalLength: 0, quotedTotalLength: 0, quotedIpId: 0,
        quotedIpChecksum: 'G', quotedUdpChecksum: 0, corruptQuotedPayload: false, quotedTtlDecrement: 0,
      };
      const replied = p.respondUdpClosed(len, (t += 3), u);
      lines.push(replied ? `unreach ${len}: ${JSON.stringify(u)}` : `unreach ${len}: silent`);
    }
    t += burst === 0 ? 3_600_000 : 0; // a long gap: new bursts, re-planned counters
  }
  if (o.nmapRound === true) {
    const round = simulateNmapRound(p, { startMs: t + 5000, seed: 3 });
    for (const [test, attrs] of round.fingerprint) lines.push(`nmap ${test}(${[...attrs].map(([k, v]) => `${k}=${v}`).join('%')})`);
  }
  return lines.join('\n');
}

export function transcriptDigest(p: HostPersonality, startMs: number, o: TranscriptOptions = {}): string {
  return createHash('sha256').update(transcript(p, startMs, o)).digest('hex').slice(0, 16);
}
