/**
 * A readable summary of the concrete values one host uses (for `decoyd personalities show NAME`):
 * TTLs, DF, windows and option layouts per situation, ISN/IP ID/TS processes, U1 and IE choices.
 */

import { OptBit } from './tcp-options';
import { ipIdClassName } from './generators';
import { describeAnswer } from './syn-layout';
import { flagLetters } from './tcp-line';
import type { OsDbPersonality } from './os-personality';
import type { FamilyBehaviour } from '../behaviour/types';

const SYN_EXAMPLES: Array<[string, number, number]> = [
  ['MSS only (port scan SYN)', OptBit.M, 1460],
  ['MSS,SACK,TS,WS (Linux client)', OptBit.M | OptBit.S | OptBit.T | OptBit.W, 1460],
  ['MSS,WS,SACK (Windows client)', OptBit.M | OptBit.W | OptBit.S, 1460],
  ['no options', 0, -1],
];

function hex(n: number): string {
  return (n >>> 0).toString(16).toUpperCase();
}

export function describePersonality(p: OsDbPersonality): string {
  const out: string[] = [];
  out.push(`${p.name}${p.vendor ? ` (vendor ${p.vendor})` : ''}`);
  out.push(`  entry: ${p.fingerprint.file}:${p.fingerprint.line}`);

  const seq = p.chosen.get('SEQ');
  if (seq) out.push(`  target SEQ: ${[...seq].map(([k, v]) => `${k}=${v}`).join(' ')}`);
  const t = p.isn.target;
  out.push(
    `  ISN: ${t.gcd === 0 ? 'constant' : `GCD ${hex(t.gcd)}, ISR ${hex(t.isr)}, SP ${hex(t.sp)} (${p.isn.quantised ? 'whole multiples' : 'rate-based'}, pattern ${p.isn.pattern.join('/')})`}`,
  );
  const ids = p.ipIdClasses;
  out.push(`  IP ID: SYN/ACK & data ${ipIdClassName(ids.tcpOpen)}, RST ${ipIdClassName(ids.tcpClosed)}, ICMP ${ipIdClassName(ids.icmp)}; ${ids.shared}`);
  const ts = p.clock.cls;
  const tsText =
    ts.kind === 'none' ? 'none (TS=U)' : ts.kind === 'zero' ? 'TSval 0' : ts.kind === 'clock' ? `${ts.hz} Hz clock` : `random per connection (rate 2^${ts.log2Rate.toString(16)})`;
  out.push(`  timestamps: ${tsText}; boot ${new Date(p.clock.bootTimeMs).toISOString()}`);

  const r = p.synLayout.rules;
  out.push(`  SYN options: MSS ${r.M}, WS ${r.W}, SACK ${r.S}, TS ${r.T}; MSS ${p.synLayout.describeMssRule()}`);
  for (const s of p.synLayout.samples) {
    const a = p.synLayout.answer(s.offer.mask, s.offer.mss);
    out.push(`    ${s.source.padEnd(4)} window ${hex(a.window).padStart(4)} options ${describeAnswer(a) || '(none)'}`);
  }
  for (const [label, mask, mss] of SYN_EXAMPLES) {
    const a = p.synLayout.answer(mask, mss);
    out.push(`    ${label}: window ${hex(a.window)} options ${describeAnswer(a) || '(none)'} (from ${a.source})`);
  }

  out.push('  TCP replies:');
  const situations: Array<[string, keyof OsDbPersonality['lines']]> = [
    ['SYN to open (T1)', 'T1'],
    ['ECN SYN to open', 'ECN'],
    ['NULL/FIN/Xmas to open (T2)', 'T2'],
    ['SYN+FIN/PSH/URG to open (T3)', 'T3'],
    ['ACK to open (T4)', 'T4'],
    ['SYN to closed (T5)', 'T5'],
    ['ACK to closed (T6)', 'T6'],
    ['no SYN/ACK to closed (T7)', 'T7'],
  ];
  for (const [label, key] of situations) {
    const l = p.lines[key];
    if (!l.reply) {
      out.push(`    ${label}: silent${l.source === 'default' ? ' (not in entry)' : ''}`);
      continue;
    }
    const flags = key === 'ECN' ? `CC=${p.ecnCc}` : `F=${flagLetters(l.flags)} S=${l.seq} A=${l.ack}`;
    const win = key === 'T1' || key === 'ECN' ? '' : ` W=${hex(l.window)}`;
    const extra = `${l.rstData ? ` RD=${l.rstData.toString('hex')}` : ''}${l.quirkReserved ? ' Q=R' : ''}${l.quirkUrgent ? ' Q=U' : ''}`;
    out.push(`    ${label}: TTL ${l.ttl} DF=${l.df ? 'Y' : 'N'} ${flags}${win}${extra}${l.source === 'default' ? ' (not in entry: RFC 793 default)' : ''}`);
  }

  const e = p.echo;
  out.push(e.reply ? `  ICMP echo: TTL ${e.ttl} DFI=${e.dfi} CD=${typeof e.cd === 'number' ? hex(e.cd) : e.cd}` : '  ICMP echo: silent');
  const u = p.unreachable;
  if (!u.reply) out.push('  UDP closed: silent');
  else {
    const ripl = u.ripl.kind === 'keep' ? 'G' : u.ripl.kind === 'swap' ? 'byte-swapped' : `${u.ripl.delta >= 0 ? '+' : ''}${u.ripl.delta}`;
    out.push(
      `  UDP closed: TTL ${u.ttl} DF=${u.df ? 'Y' : 'N'} IPL=${hex(u.ipl)} UN=${hex(u.unused)} RIPL=${ripl} RID=${u.rid < 0 ? 'G' : hex(u.rid)} RIPCK=${u.ripck} RUCK=${u.ruck < 0 ? 'G' : hex(u.ruck)} RUD=${u.rud ? 'I' : 'G'}`,
    );
  }
  out.push(...describeBehaviour(p.behaviour));
  return out.join('\n');
}

/** The family table's lines (personalities/README.md gives the sources). */
function describeBehaviour(b: FamilyBehaviour): string[] {
  const a = b.arp;
  const yes = (v: boolean): string => (v ? 'answered' : 'ignored');
  const limit = b.icmp.errorLimit;
  const t = b.tcp.timing;
  return [
    `  family: ${b.label} (${b.family})`,
    `  ARP: sender 127/8 ${yes(a.senderLoopback)}, 0.0.0.0 ${yes(a.senderZero)}, 255.255.255.255 ${yes(a.senderBroadcast)}, off-subnet ${yes(a.senderOffSubnet)}; hardware types ${a.hardwareTypes === 'any' ? 'any' : a.hardwareTypes.join(',')}; wrong lengths ${yes(a.ignoreLengths)}`,
    `  ICMP: timestamp ${yes(b.icmp.timestampReply)}, mask ${yes(b.icmp.addressMaskReply)}, echo options ${b.icmp.echoOptions}; errors ${limit === null ? 'not limited' : `${limit.scope === 'peer' ? 'per peer' : 'per host'}, burst ${limit.burst}, then 1 per ${limit.intervalMs} ms`}`,
    `  IPv4: fragment overlaps ${b.ipv4.overlap}, reassembly timeout ${b.ipv4.reassemblyTimeoutMs / 1000} s; UDP IP ID ${b.udp.ipId}`,
    `  TCP (for the TCP layer): SYN/ACK resent at ${t.synAckRetransmitMs.join(', ')} ms; RTO ${t.initialRtoMs}/${t.minRtoMs}/${t.maxRtoMs} ms; ${t.maxDataRetries} retries; TIME_WAIT ${t.timeWaitMs / 1000} s; delayed ACK ${t.delayedAckMs} ms; data after close ${b.tcp.dataAfterClose}`,
  ];
}
