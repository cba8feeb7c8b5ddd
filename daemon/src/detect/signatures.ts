/**
 * Per-packet marks that scanning tools leave, taken from the tools' own source (cited per mark), and
 * the probe shapes of Nmap's OS detection. Everything here is a pure test on one observation, O(1).
 *
 * These marks only describe what arrived. Nothing in the stack reads them: responses never depend
 * on whether a packet looks like Nmap, masscan, zmap or hping3.
 */
import { ObservedKind, type PacketObservation } from './observation';

/** TCP flag bits (9-bit field as in wire/tcp.ts). */
export const Flag = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80 } as const;

/**
 * Marks counted per flow (index into a Uint32Array). A flow's tool is decided from the share of its
 * packets that carry each mark, on the timer.
 */
export const Mark = {
  /** TCP window 1024: nmap raw probes (tcpip.cc build_tcp_raw: `th_win = htons(1024)` when 0 is passed, as scan_engine_raw.cc sendIPScanProbe does); masscan (templ-pkt.c default_tcp_template "window fixed to 1024"). */
  WIN_1024: 0,
  /** TCP window 512: hping3 (hping2.h DEFAULT_SRCWINSIZE 512, sendtcp.c send_tcphdr). */
  WIN_512: 1,
  /** TCP window 65535: zmap (probe_modules/packet.c make_tcp_header "largest possible window"). */
  WIN_65535: 2,
  /** No TCP options at all: masscan 1.3.2 (template IP length 40 cuts the MSS bytes, templ-pkt.c _template_init), zmap 2.1.1 (th_off = 5), hping3 (sendtcp.c, no options unless --tcp-timestamp), nmap non-SYN probes. */
  OPT_NONE: 3,
  /** Options exactly MSS 1460: nmap SYN probes (nmap.h TCP_SYN_PROBE_OPTIONS "\x02\x04\x05\xb4"). */
  OPT_MSS1460: 4,
  /** TTL 22–59: nmap picks a random TTL 37–59 per packet (tcpip.cc build_ip_raw: `(get_random_uint() % 23) + 37`), less up to 15 hops. */
  TTL_NMAP_RANGE: 5,
  /** TTL above 128 as received: an initial TTL of 255 (masscan templ-pkt.c "TTL=255"; zmap packet.c make_ip_header MAXTTL). */
  TTL_255: 6,
  /** IP ID = (dst ^ dport ^ seq) & 0xffff: masscan (templ-pkt.c template_set_target_ipv4 `ip_id = ip_them ^ port_them ^ seqno`). */
  IPID_MASSCAN: 7,
  /** IP ID 54321: zmap <= 4.0 (probe_modules/packet.c make_ip_header `ip_id = htons(54321)`). */
  IPID_ZMAP: 8,
  /** Non-zero ACK field without the ACK flag: hping3 (sendtcp.c `th_ack = ... htonl(rand())` unless set). */
  ACK_FIELD_NO_FLAG: 9,
  /** Source port equal to the flow's first: nmap (scan_engine_raw.cc sport_encode: base_port + tryno, one base per scan), masscan (main.c: one port `40000 + now % 20000`). */
  SPORT_FIRST: 10,
  /** Source port = previous + 1: hping3 (sendtcp.c `src_port = (sequence + initsport) % 65536` after each packet). */
  SPORT_INCREMENT: 11,
  /** Sequence number equal to the flow's first: nmap (scan_engine_raw.cc seq32_encode: seqmask ^ tryno, the same for every first try). */
  SEQ_FIRST: 12,
  /** A SYN carrying SACK-permitted, timestamps or window scale: a kernel's connect(), not a raw packet tool. */
  KERNEL_SYN: 13,
  /** ICMP echo with no data: nmap pings (tcpip.cc build_icmp_raw adds data only with --data-length). */
  ICMP_NO_DATA: 14,
  /** IP ID 0x1042 on UDP: nmap's U1 (osscan2.cc send_closedudp_probe `static u16 id = 0x1042`). */
  IPID_NMAP_U1: 15,
} as const;
export const MARK_COUNT = 16;

const NMAP_SYN_OPTIONS = [0x02, 0x04, 0x05, 0xb4];

/** Adds the marks `obs` carries to `counts`; `firstSport`/`prevSport`/`firstSeq` are the flow's (or -1). */
export function countMarks(obs: PacketObservation, counts: Uint32Array, firstSport: number, prevSport: number, firstSeq: number): void {
  if (obs.ttl >= 22 && obs.ttl <= 59) counts[Mark.TTL_NMAP_RANGE]++;
  if (obs.ttl > 128) counts[Mark.TTL_255]++;
  if (obs.ipId === 54321) counts[Mark.IPID_ZMAP]++;
  if (obs.kind === ObservedKind.TCP || obs.kind === ObservedKind.UDP) {
    if (obs.srcPort === firstSport) counts[Mark.SPORT_FIRST]++;
    if (prevSport >= 0 && obs.srcPort === ((prevSport + 1) & 0xffff)) counts[Mark.SPORT_INCREMENT]++;
  }
  if (obs.kind === ObservedKind.UDP && obs.ipId === 0x1042) counts[Mark.IPID_NMAP_U1]++;
  if (obs.kind === ObservedKind.ICMP && obs.payloadLength === 0) counts[Mark.ICMP_NO_DATA]++;
  if (obs.kind !== ObservedKind.TCP) return;
  const w = obs.window;
  if (w === 1024) counts[Mark.WIN_1024]++;
  else if (w === 512) counts[Mark.WIN_512]++;
  else if (w === 65535) counts[Mark.WIN_65535]++;
  if (obs.optionLength === 0) counts[Mark.OPT_NONE]++;
  else if (obs.optionLength === 4 && bytesEqual(obs.optionBytes, NMAP_SYN_OPTIONS)) counts[Mark.OPT_MSS1460]++;
  if ((((obs.dstIp ^ obs.dstPort ^ obs.seq) >>> 0) & 0xffff) === obs.ipId) counts[Mark.IPID_MASSCAN]++;
  if ((obs.tcpFlags & Flag.ACK) === 0 && obs.ack !== 0) counts[Mark.ACK_FIELD_NO_FLAG]++;
  if (obs.seq === firstSeq) counts[Mark.SEQ_FIRST]++;
  if ((obs.tcpFlags & Flag.SYN) !== 0 && (obs.options.sackPermitted || obs.options.hasTimestamp || obs.options.wscale >= 0)) counts[Mark.KERNEL_SYN]++;
}

function bytesEqual(buf: Uint8Array, expected: readonly number[]): boolean {
  for (let i = 0; i < expected.length; i++) if (buf[i] !== expected[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Nmap OS detection probes (osscan2.cc: prbOpts[], prbWindowSz[], sendTSeqProbe, sendTEcnProbe,
// sendT1_7Probe, send_closedudp_probe, sendTIcmpProbe). Each is recognised by its exact shape.

export const OS_PROBE_NAMES = ['SEQ1', 'SEQ2', 'SEQ3', 'SEQ4', 'SEQ5', 'SEQ6', 'ECN', 'T2', 'T3', 'T4', 'T5', 'T6', 'T7', 'U1', 'IE1', 'IE2'] as const;

const hex = (s: string): number[] => s.split(' ').map((b) => parseInt(b, 16));
/** prbOpts[0..12] in osscan2.cc, byte for byte. */
const PRB_OPTS: number[][] = [
  hex('03 03 0a 01 02 04 05 b4 08 0a ff ff ff ff 00 00 00 00 04 02'),
  hex('02 04 05 78 03 03 00 04 02 08 0a ff ff ff ff 00 00 00 00 00'),
  hex('08 0a ff ff ff ff 00 00 00 00 01 01 03 03 05 01 02 04 02 80'),
  hex('04 02 08 0a ff ff ff ff 00 00 00 00 03 03 0a 00'),
  hex('02 04 02 18 04 02 08 0a ff ff ff ff 00 00 00 00 03 03 0a 00'),
  hex('02 04 01 09 04 02 08 0a ff ff ff ff 00 00 00 00'),
  hex('03 03 0a 01 02 04 05 b4 04 02 01 01'),
  hex('03 03 0a 01 02 04 01 09 08 0a ff ff ff ff 00 00 00 00 04 02'),
  hex('03 03 0a 01 02 04 01 09 08 0a ff ff ff ff 00 00 00 00 04 02'),
  hex('03 03 0a 01 02 04 01 09 08 0a ff ff ff ff 00 00 00 00 04 02'),
  hex('03 03 0a 01 02 04 01 09 08 0a ff ff ff ff 00 00 00 00 04 02'),
  hex('03 03 0a 01 02 04 01 09 08 0a ff ff ff ff 00 00 00 00 04 02'),
  hex('03 03 0f 01 02 04 01 09 08 0a ff ff ff ff 00 00 00 00 04 02'),
];
/** prbWindowSz[] in osscan2.cc. */
const PRB_WINDOW = [1, 63, 4, 4, 16, 512, 3, 128, 256, 1024, 31337, 32768, 65535];
/** Flags per prbOpts index (SEQ1–6 and T5 SYN; ECN SYN|ECE|CWR; T2 none; T3 SYN|FIN|URG|PSH; T4, T6 ACK; T7 FIN|PSH|URG). */
const PRB_FLAGS = [
  Flag.SYN, Flag.SYN, Flag.SYN, Flag.SYN, Flag.SYN, Flag.SYN,
  Flag.SYN | Flag.ECE | Flag.CWR,
  0, Flag.SYN | Flag.FIN | Flag.URG | Flag.PSH, Flag.ACK, Flag.SYN, Flag.ACK, Flag.FIN | Flag.PSH | Flag.URG,
];

/** Index into OS_PROBE_NAMES of the Nmap OS probe `obs` is, or -1. */
export function osProbeShape(obs: PacketObservation): number {
  if (obs.kind === ObservedKind.TCP) {
    const len = obs.optionLength;
    if (len !== 12 && len !== 16 && len !== 20) return -1;
    const flags = obs.tcpFlags & 0xff;
    for (let p = 0; p < PRB_OPTS.length; p++) {
      if (PRB_WINDOW[p] !== obs.window || PRB_FLAGS[p] !== flags) continue;
      const opts = PRB_OPTS[p] as number[];
      if (opts.length === len && bytesEqual(obs.optionBytes, opts)) return p;
    }
    return -1;
  }
  if (obs.kind === ObservedKind.UDP) {
    // U1: 300 bytes of 'C' (0x43).
    if (obs.payloadLength !== 300) return -1;
    for (let i = 0; i < obs.payloadKept; i++) if (obs.payload[i] !== 0x43) return -1;
    return 13;
  }
  if (obs.kind === ObservedKind.ICMP && obs.icmpType === 8) {
    // IE1: code 9, seq 295, 120 zero bytes, DF; IE2: code 0, TOS 4, seq 296, 150 zero bytes.
    if (obs.icmpCode === 9 && obs.payloadLength === 120 && obs.icmpSeq === 295 && zeros(obs)) return 14;
    if (obs.icmpCode === 0 && obs.tos === 4 && obs.payloadLength === 150 && obs.icmpSeq === 296 && zeros(obs)) return 15;
  }
  return -1;
}

function zeros(obs: PacketObservation): boolean {
  for (let i = 0; i < obs.payloadKept; i++) if (obs.payload[i] !== 0) return false;
  return true;
}
