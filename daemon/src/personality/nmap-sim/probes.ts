/**
 * The probes of one Nmap 7.93 OS-detection round (osscan2.cc): option bytes, windows, flags.
 * Facts from the 7.93 source; see /work/shared/reference/nmap-os-detection.md §1.
 */
import { TcpFlag } from '../host-personality';

/** TCP option bytes per probe; index as Nmap's prbOpts (0-5 SEQ, 6 ECN, 7-12 T2-T7). */
export const PROBE_OPTIONS: readonly Buffer[] = [
  '03030a01020405b4080affffffff000000000402',
  '020405780303000402080affffffff0000000000',
  '080affffffff0000000001010303050102040280',
  '0402080affffffff000000000303 0a00',
  '020402180402080affffffff000000000303 0a00',
  '020401090402080affffffff00000000',
  '03030a01020405b404020101',
  '03030a0102040109080affffffff000000000402',
  '03030a0102040109080affffffff000000000402',
  '03030a0102040109080affffffff000000000402',
  '03030a0102040109080affffffff000000000402',
  '03030a0102040109080affffffff000000000402',
  '03030f0102040109080affffffff000000000402',
].map((hex) => Buffer.from(hex.replace(/ /g, ''), 'hex'));

/** TCP windows, same numbering (Nmap's prbWindowSz). */
export const PROBE_WINDOWS: readonly number[] = [1, 63, 4, 4, 16, 512, 3, 128, 256, 1024, 31337, 32768, 65535];

/** T2-T7: which port, flags and DF (T1 is SEQ probe #1). Index 1..6 = T2..T7. */
export interface TProbeSpec {
  test: 'T1' | 'T2' | 'T3' | 'T4' | 'T5' | 'T6' | 'T7';
  port: 'open' | 'closed';
  flags: number;
  df: boolean;
  /** Index into PROBE_OPTIONS / PROBE_WINDOWS. */
  shape: number;
}

export const T_PROBES: readonly TProbeSpec[] = [
  { test: 'T1', port: 'open', flags: TcpFlag.SYN, df: false, shape: 0 },
  { test: 'T2', port: 'open', flags: 0, df: true, shape: 7 },
  { test: 'T3', port: 'open', flags: TcpFlag.SYN | TcpFlag.FIN | TcpFlag.URG | TcpFlag.PSH, df: false, shape: 8 },
  { test: 'T4', port: 'open', flags: TcpFlag.ACK, df: true, shape: 9 },
  { test: 'T5', port: 'closed', flags: TcpFlag.SYN, df: false, shape: 10 },
  { test: 'T6', port: 'closed', flags: TcpFlag.ACK, df: true, shape: 11 },
  { test: 'T7', port: 'closed', flags: TcpFlag.FIN | TcpFlag.PSH | TcpFlag.URG, df: false, shape: 12 },
];

/** ECN probe: CWR+ECE+SYN, TCP byte 12 = 0x88 (reserved nibble 0x8 = reserved bits 0b100, NS 0). */
export const ECN_FLAGS = TcpFlag.CWR | TcpFlag.ECE | TcpFlag.SYN;
export const ECN_RESERVED = 4;
export const ECN_URGENT_POINTER = 0xf7f5;

/** U1 probe: 20 IP + 8 UDP + 300 × 'C', IP ID 0x1042. */
export const U1_PAYLOAD_LENGTH = 300;
export const U1_PAYLOAD_BYTE = 0x43;
export const U1_IP_ID = 0x1042;
export const U1_TOTAL_LENGTH = 328;

/** IE probes: codes, TOS, DF, data lengths, sequence numbers. */
export const IE_PROBES = [
  { code: 9, tos: 0, df: true, dataLength: 120, seq: 295 },
  { code: 0, tos: 0x04, df: false, dataLength: 150, seq: 296 },
] as const;

/** Milliseconds between SEQ probes (OS_SEQ_PROBE_DELAY) and between TUI probes (OS_PROBE_DELAY). */
export const SEQ_PROBE_DELAY_MS = 100;
export const TUI_PROBE_DELAY_MS = 25;
/** A TUI probe is sent at most this many times (first send + 3 retransmissions). */
export const TUI_MAX_SENDS = 4;
