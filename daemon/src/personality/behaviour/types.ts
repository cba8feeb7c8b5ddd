/**
 * The per-family behaviour model: what an OS does outside the sixteen probes nmap-os-db describes
 * (ARP oddities, ICMP timestamp and mask, IP options in echo, fragment overlaps, error rate limits,
 * the IP ID of UDP datagrams, TCP timers). One table per OS family (tables.ts), chosen from the
 * personality's Class lines (family.ts). Sources for every value: personalities/README.md.
 */
import type { TcpTimingProfile } from '../../stack/tcp/timing';

/** Where a value comes from, so that weak ones are visible in code and in `personalities/README.md`. */
export type Basis =
  /** Measured in this project's lab against the real kernel (Linux only). */
  | 'lab'
  /** Read in the OS's published source code. */
  | 'source'
  /** A published measurement (arp-fingerprint's table, Snort frag3's target list, RING/Snacktime). */
  | 'measured'
  /** The vendor's documentation of the default. */
  | 'documented'
  /** Nothing published found: the closest relative's value, said so. */
  | 'assumed';

export type FamilyId =
  | 'linux'
  | 'windows-xp'
  | 'windows-vista'
  | 'windows-10'
  | 'freebsd'
  | 'darwin'
  | 'openbsd'
  | 'netbsd'
  | 'solaris'
  | 'cisco-ios'
  | 'embedded';

/**
 * Which ARP requests for one of its own addresses a host answers, by what the request carries.
 * A request whose target is not ours, or that is unicast to another station's MAC, is never
 * answered by any family (no proxy ARP), and no family answers anything but opcode 1.
 */
export interface ArpBehaviour {
  /** Sender IP in 127/8 (arp-fingerprint test 1). */
  senderLoopback: boolean;
  /** Sender IP 0.0.0.0, an RFC 5227 probe (test 2): the reply goes to the prober with target IP 0.0.0.0. */
  senderZero: boolean;
  /** Sender IP 255.255.255.255 (test 3). */
  senderBroadcast: boolean;
  /** Sender IP outside the host's own subnet (test 4); decoyd takes the decoy's /24 as its subnet. */
  senderOffSubnet: boolean;
  /** Sender IP in 224/4. */
  senderMulticast: boolean;
  /** Sender IP in 240/4 (class E, not broadcast). */
  senderClassE: boolean;
  /** Sender IP in 0/8 other than 0.0.0.0. */
  senderZeroNet: boolean;
  /** Sender hardware address a group MAC. Recorded for the tables; decoyd never answers one (it does not send to groups). */
  multicastSenderMac: boolean;
  /** Hardware types accepted (1 Ethernet, 6 IEEE 802), or 'any' (tests 6 and 7). */
  hardwareTypes: readonly number[] | 'any';
  /** Answer even when hln ≠ 6 or pln ≠ 4 (tests 10 and 11); the layout is read as Ethernet/IPv4 anyway. */
  ignoreLengths: boolean;
  /** Hardware type written in the reply: Ethernet (1), or the request's own (BSD reuses the request buffer). */
  replyHardwareType: 'ethernet' | 'echo-request';
  basis: Basis;
}

/** ARP cache timers: the families with delayFirstProbeMs > 0 re-probe peers by unicast (stack/neighbour-cache.ts). */
export interface NeighbourBehaviour {
  /** How long an entry is trusted after confirmation, ms (Linux base_reachable_time, randomised ×0.5–1.5). */
  reachableMs: number;
  /** Linux: a stale entry in use is re-probed by unicast after this delay (delay_first_probe_time); 0 when the family does not. */
  delayFirstProbeMs: number;
  /** Unicast probes before falling back to broadcast (Linux ucast_solicit), 0 if none. */
  unicastProbes: number;
  basis: Basis;
}

/** An ICMP error token bucket: per peer (Linux) or one for the whole host (BSD icmplim, Cisco, Solaris). */
export interface IcmpErrorLimitSpec {
  scope: 'peer' | 'host';
  burst: number;
  intervalMs: number;
}

export interface IcmpBehaviour {
  /** Answer ICMP timestamp requests (type 13) with a timestamp reply (type 14). */
  timestampReply: boolean;
  /** Answer address mask requests (type 17). No current family does by default. */
  addressMaskReply: boolean;
  /** Answer information requests (type 15, obsolete by RFC 6918). */
  informationReply: boolean;
  /**
   * Record route and timestamp options in an echo request: 'record-twice' fills them in the reply
   * as Linux does (its address, or time, once on input and once on output); 'record-once' as BSD
   * (ip_dooptions on input, icmp_reflect copies them); 'strip' answers without options. Other
   * options are never echoed.
   */
  echoOptions: 'record-twice' | 'record-once' | 'strip';
  /** Rate limit of ICMP errors (unreachables), or null when the family has none. */
  errorLimit: IcmpErrorLimitSpec | null;
  /** Unknown ICMP types and codes are silently dropped by every family; kept explicit for the tables. */
  unknownTypes: 'ignore';
  basis: Basis;
}

/**
 * Reassembly overlap policies (Novak & Sturges' target-based names, Snort frag3):
 * - drop: any overlap discards the whole datagram (Linux since 4.19, RFC 5722 style);
 * - first: bytes already received win;
 * - last: the newest fragment wins;
 * - bsd: each byte belongs to the fragment that starts lowest, the earlier one on a tie (BSD ip_reass
 *   trims a new fragment's front against its predecessor and the overlapped succeeding fragments).
 */
export type OverlapPolicy = 'drop' | 'first' | 'last' | 'bsd';

export interface Ipv4Behaviour {
  overlap: OverlapPolicy;
  /** Partial datagrams are dropped after this long. */
  reassemblyTimeoutMs: number;
  /**
   * On that timeout, answer ICMP time exceeded (code 1, reassembly) quoting fragment 0, when it
   * had arrived (RFC 792; RFC 1122 3.3.2 MAY), through the family's ICMP error limit.
   */
  timeExceededOnTimeout: boolean;
  basis: Basis;
}

export interface UdpBehaviour {
  /**
   * IP ID of datagrams services send: 'own-counter' (Linux: an incrementing generator of its own,
   * not the ICMP one), 'shared-counter' (one host-wide counter, as Windows and FreeBSD), 'random'
   * (OpenBSD, macOS random_id).
   */
  ipId: 'own-counter' | 'shared-counter' | 'random';
  basis: Basis;
}

/** TCP timers: the socket layer's own profile type, so the per-family tables plug straight in. */
export type { TcpTimingProfile };

/**
 * The reset sent when data arrives after the application closed the socket (or for a segment no
 * socket takes): 'rst-seq-ack' = RST with seq = the segment's ACK and no ACK flag (RFC 793, Linux
 * and BSD tcp_dropwithreset); 'rst-ack' = RST+ACK with seq = our snd_nxt and ack = what we had received (an abort).
 */
export type DataAfterCloseRst = 'rst-seq-ack' | 'rst-ack';

export interface TcpBehaviour {
  timing: TcpTimingProfile;
  dataAfterClose: DataAfterCloseRst;
  basis: Basis;
}

export interface FamilyBehaviour {
  readonly family: FamilyId;
  /** Human name for tables and `personalities show`. */
  readonly label: string;
  readonly arp: ArpBehaviour;
  readonly neighbour: NeighbourBehaviour;
  readonly icmp: IcmpBehaviour;
  readonly ipv4: Ipv4Behaviour;
  readonly udp: UdpBehaviour;
  readonly tcp: TcpBehaviour;
}
