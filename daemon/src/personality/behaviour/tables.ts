/**
 * Per-family values. Every block says where it comes from (Basis); the long form, with links, is
 * in personalities/README.md. Abbreviations used below:
 *  - AF: arp-fingerprint's table (royhills/arp-scan, file arp-fingerprint): 11 odd ARP requests,
 *    answered (1) or not (0), in the order loopback sender, 0.0.0.0 sender, broadcast sender,
 *    off-subnet sender, opcode 255, hardware type 6, hardware type 255, protocol 0xffff,
 *    protocol IPX, pln 6, hln 8.
 *  - LAB: measured against this lab's Linux 6.18 kernel (test/e2e/behaviour-linux-side-by-side.test.ts).
 *  - FRAG3: Novak & Sturges, "Target-Based Fragmentation Reassembly" (2007), Snort README.frag3.
 */
import type {
  ArpBehaviour, FamilyBehaviour, FamilyId, IcmpBehaviour, Ipv4Behaviour, NeighbourBehaviour, TcpBehaviour, UdpBehaviour,
} from './types';

// ------------------------------------------------------------------------------------------------
// ARP

/** LAB (kernel 6.18, with a default route): AF 01010100000, and 240/4, 0/8 and multicast-MAC senders answered. */
const ARP_LINUX: ArpBehaviour = {
  senderLoopback: false, senderZero: true, senderBroadcast: false, senderOffSubnet: true,
  senderMulticast: false, senderClassE: true, senderZeroNet: true, multicastSenderMac: true,
  hardwareTypes: [1, 6], ignoreLengths: false, replyHardwareType: 'ethernet', basis: 'lab',
};

/** AF row for Windows XP SP2 / 2003 SP1 (and 98, ME, NT4, 2000): 11110100000. Unmeasured rows: ignored. */
const ARP_WINDOWS_XP: ArpBehaviour = {
  senderLoopback: true, senderZero: true, senderBroadcast: true, senderOffSubnet: true,
  senderMulticast: false, senderClassE: false, senderZeroNet: false, multicastSenderMac: false,
  hardwareTypes: [1, 6], ignoreLengths: false, replyHardwareType: 'ethernet', basis: 'measured',
};

/** AF row for Windows Vista (beta 2): 01010100000, the NT 6 stack that 7 to 11 keep. */
const ARP_WINDOWS_VISTA: ArpBehaviour = {
  senderLoopback: false, senderZero: true, senderBroadcast: false, senderOffSubnet: true,
  senderMulticast: false, senderClassE: false, senderZeroNet: false, multicastSenderMac: false,
  hardwareTypes: [1, 6], ignoreLengths: false, replyHardwareType: 'ethernet', basis: 'measured',
};

/**
 * FreeBSD sys/netinet/if_ether.c (arpintr, in_arpinput): hardware types Ethernet/IEEE 802 (plus
 * InfiniBand/FireWire, not on Ethernet) with a matching hln, pln must be 4, multicast and broadcast
 * sender MACs dropped, no check at all on the sender IP; the reply reuses the request, so its
 * hardware type is the request's. Agrees with AF's FreeBSD 5.3 row 11110100000.
 */
const ARP_FREEBSD: ArpBehaviour = {
  senderLoopback: true, senderZero: true, senderBroadcast: true, senderOffSubnet: true,
  senderMulticast: true, senderClassE: true, senderZeroNet: true, multicastSenderMac: false,
  hardwareTypes: [1, 6], ignoreLengths: false, replyHardwareType: 'echo-request', basis: 'source',
};

/** AF row for Mac OS X 10.4: 11110000000 (no hardware type 6). Other senders as its BSD parent. */
const ARP_DARWIN: ArpBehaviour = {
  ...ARP_FREEBSD, hardwareTypes: [1], replyHardwareType: 'ethernet', basis: 'measured',
};

/** AF row for OpenBSD 3.1 / 3.9: 11110000011 (wrong pln/hln still answered). */
const ARP_OPENBSD: ArpBehaviour = {
  ...ARP_FREEBSD, hardwareTypes: [1], ignoreLengths: true, replyHardwareType: 'ethernet', basis: 'measured',
};

/** AF row for NetBSD 2.0.2: 10110110000 (no reply to 0.0.0.0; any hardware type). */
const ARP_NETBSD: ArpBehaviour = {
  ...ARP_FREEBSD, senderZero: false, hardwareTypes: 'any', basis: 'measured',
};

/** AF row for Solaris 2.5.1 to 10 and HP-UX 11: 11110110000 (any hardware type). */
const ARP_SOLARIS: ArpBehaviour = {
  senderLoopback: true, senderZero: true, senderBroadcast: true, senderOffSubnet: true,
  senderMulticast: false, senderClassE: false, senderZeroNet: false, multicastSenderMac: false,
  hardwareTypes: 'any', ignoreLengths: false, replyHardwareType: 'ethernet', basis: 'measured',
};

/** AF row for Cisco IOS 12.0 to 12.3: 00000100000 (only on-subnet senders; "wrong cable" otherwise). */
const ARP_CISCO_IOS: ArpBehaviour = {
  senderLoopback: false, senderZero: false, senderBroadcast: false, senderOffSubnet: false,
  senderMulticast: false, senderClassE: false, senderZeroNet: false, multicastSenderMac: false,
  hardwareTypes: [1, 6], ignoreLengths: false, replyHardwareType: 'ethernet', basis: 'measured',
};

/**
 * lwIP src/core/ipv4/etharp.c (etharp_input), the commonest embedded stack: hardware type 1,
 * hln 6, pln 4 and protocol IPv4 exactly; a request for our address is answered whatever its sender.
 */
const ARP_EMBEDDED: ArpBehaviour = {
  senderLoopback: true, senderZero: true, senderBroadcast: true, senderOffSubnet: true,
  senderMulticast: true, senderClassE: true, senderZeroNet: true, multicastSenderMac: true,
  hardwareTypes: [1], ignoreLengths: false, replyHardwareType: 'ethernet', basis: 'source',
};

// ------------------------------------------------------------------------------------------------
// Neighbour cache (stack/neighbour-cache.ts re-probes peers for the families with delayFirstProbeMs > 0)

/** Linux net.ipv4.neigh.default: base_reachable_time 30 s, delay_first_probe_time 5 s, ucast_solicit 3. */
const NEIGH_LINUX: NeighbourBehaviour = { reachableMs: 30_000, delayFirstProbeMs: 5_000, unicastProbes: 3, basis: 'lab' };
/** Windows Vista+ (RFC 4861-style IPv4 neighbour cache): BaseReachableTime 30 s. */
const NEIGH_WINDOWS: NeighbourBehaviour = { reachableMs: 30_000, delayFirstProbeMs: 5_000, unicastProbes: 3, basis: 'documented' };
/** Windows XP/2003: ArpCacheLife 120 s for used entries (KB 949589), no unicast re-probe. */
const NEIGH_WINDOWS_XP: NeighbourBehaviour = { reachableMs: 120_000, delayFirstProbeMs: 0, unicastProbes: 0, basis: 'documented' };
/** BSD net.link.ether.inet.max_age 1200 s; FreeBSD re-requests by unicast before expiry (arp_maxtries 5). */
const NEIGH_BSD: NeighbourBehaviour = { reachableMs: 1_200_000, delayFirstProbeMs: 0, unicastProbes: 0, basis: 'documented' };
/** Cisco IOS "arp timeout" default 4 hours. */
const NEIGH_CISCO: NeighbourBehaviour = { reachableMs: 14_400_000, delayFirstProbeMs: 0, unicastProbes: 0, basis: 'documented' };
/** lwIP ARP_MAXAGE 300 s (5 min). */
const NEIGH_EMBEDDED: NeighbourBehaviour = { reachableMs: 300_000, delayFirstProbeMs: 0, unicastProbes: 0, basis: 'source' };
/** Solaris arp_cleanup_interval 300 s. */
const NEIGH_SOLARIS: NeighbourBehaviour = { reachableMs: 300_000, delayFirstProbeMs: 0, unicastProbes: 0, basis: 'documented' };

// ------------------------------------------------------------------------------------------------
// ICMP

/**
 * LAB: timestamp requests answered (20-byte reply, extra data dropped), mask / information / unknown
 * types ignored, RR and TS options filled twice (input and output); errors per peer, burst 6 then
 * 1/s (net.ipv4.icmp_ratelimit 1000, XRLIM_BURST_FACTOR 6).
 */
const ICMP_LINUX: IcmpBehaviour = {
  timestampReply: true, addressMaskReply: false, informationReply: false, echoOptions: 'record-twice',
  errorLimit: { scope: 'peer', burst: 6, intervalMs: 1000 }, unknownTypes: 'ignore', basis: 'lab',
};

/**
 * Windows: no timestamp reply (the firewall's default rules and the stack both drop type 13 since
 * XP SP2); no mask reply since 2000. Unreachables are not rate-limited by the stack (Nmap book,
 * "UDP scan": Windows does not limit them, unlike Linux and Solaris).
 */
const ICMP_WINDOWS: IcmpBehaviour = {
  timestampReply: false, addressMaskReply: false, informationReply: false, echoOptions: 'record-once',
  errorLimit: null, unknownTypes: 'ignore', basis: 'documented',
};

/** FreeBSD sys/netinet/ip_icmp.c: tstamprepl 1, maskrepl 0, icmplim 200/s for the whole host. */
const ICMP_FREEBSD: IcmpBehaviour = {
  timestampReply: true, addressMaskReply: false, informationReply: false, echoOptions: 'record-once',
  errorLimit: { scope: 'host', burst: 200, intervalMs: 5 }, unknownTypes: 'ignore', basis: 'source',
};

/** xnu bsd/netinet/ip_icmp.c: net.inet.icmp.timestamp 0 (no reply), maskrepl 0, icmplim 250/s. */
const ICMP_DARWIN: IcmpBehaviour = {
  ...ICMP_FREEBSD, timestampReply: false, errorLimit: { scope: 'host', burst: 250, intervalMs: 4 },
};

/** OpenBSD/NetBSD ip_icmp.c: tstamprepl 1, maskrepl 0, icmperrppslim 100 per second. */
const ICMP_OPENBSD: IcmpBehaviour = {
  ...ICMP_FREEBSD, errorLimit: { scope: 'host', burst: 100, intervalMs: 10 },
};

/** Solaris ndd: ip_respond_to_timestamp 0, ip_respond_to_address_mask_broadcast 0, ip_icmp_err_interval 100 ms / burst 10. */
const ICMP_SOLARIS: IcmpBehaviour = {
  timestampReply: false, addressMaskReply: false, informationReply: false, echoOptions: 'record-once',
  errorLimit: { scope: 'host', burst: 10, intervalMs: 10 }, unknownTypes: 'ignore', basis: 'documented',
};

/** Cisco IOS: timestamp replies on, "ip mask-reply" off, "ip icmp rate-limit unreachable" 500 ms. */
const ICMP_CISCO_IOS: IcmpBehaviour = {
  timestampReply: true, addressMaskReply: false, informationReply: false, echoOptions: 'record-once',
  errorLimit: { scope: 'host', burst: 1, intervalMs: 500 }, unknownTypes: 'ignore', basis: 'documented',
};

/** lwIP icmp.c answers echo only and copies the request (options kept unfilled: 'strip' is the nearest); no limiter. */
const ICMP_EMBEDDED: IcmpBehaviour = {
  timestampReply: false, addressMaskReply: false, informationReply: false, echoOptions: 'strip',
  errorLimit: null, unknownTypes: 'ignore', basis: 'source',
};

// ------------------------------------------------------------------------------------------------
// IPv4 reassembly

/** Linux 4.19+ (commit 7969e5c40dfd, 2018) drops datagrams with overlapping fragments; ipfrag_time 30 s; ip_expire sends time exceeded when fragment 0 came (LAB). */
const IP_LINUX: Ipv4Behaviour = { overlap: 'drop', reassemblyTimeoutMs: 30_000, timeExceededOnTimeout: true, basis: 'source' };
/** FRAG3: Windows 95 to XP "first"; reassembly timeout 60 s and time exceeded when fragment 0 came ("TCP/IP Fundamentals for Windows", ch. 3). */
const IP_WINDOWS: Ipv4Behaviour = { overlap: 'first', reassemblyTimeoutMs: 60_000, timeExceededOnTimeout: true, basis: 'measured' };
/** FRAG3 "BSD" (FreeBSD, and the BSD ip_reass code NetBSD, OpenBSD and xnu share); IPFRAGTTL 60 slow ticks = 30 s; ipq_timeout frees silently. */
const IP_BSD: Ipv4Behaviour = { overlap: 'bsd', reassemblyTimeoutMs: 30_000, timeExceededOnTimeout: false, basis: 'source' };
/** FRAG3: SunOS 5.5.1 to 5.8 "first"; ip_reass_queue timeout 60 s; illumos ill_frag_timeout sends time exceeded when fragment 0 came. */
const IP_SOLARIS: Ipv4Behaviour = { overlap: 'first', reassemblyTimeoutMs: 60_000, timeExceededOnTimeout: true, basis: 'measured' };
/** FRAG3: Cisco IOS "last"; timeout not published, Linux's 30 s assumed; no time exceeded assumed (nothing published). */
const IP_CISCO_IOS: Ipv4Behaviour = { overlap: 'last', reassemblyTimeoutMs: 30_000, timeExceededOnTimeout: false, basis: 'measured' };
/** lwIP ip4_frag.c: an overlapping fragment is thrown away (the earlier bytes stay); IP_REASS_MAXAGE 15 s; time exceeded if fragment 0 came (ip_reass_free_complete_datagram). */
const IP_EMBEDDED: Ipv4Behaviour = { overlap: 'first', reassemblyTimeoutMs: 15_000, timeExceededOnTimeout: true, basis: 'source' };

// ------------------------------------------------------------------------------------------------
// UDP

/** LAB: service datagrams carry DF and an incrementing ID of their own (not the ICMP replies' sequence). */
const UDP_LINUX: UdpBehaviour = { ipId: 'own-counter', basis: 'lab' };
/** Windows, FreeBSD (random_id 0), Solaris, IOS: one host-wide counter for every datagram. */
const UDP_SHARED: UdpBehaviour = { ipId: 'shared-counter', basis: 'source' };
/** OpenBSD ip_randomid(); xnu net.inet.ip.random_id 1. */
const UDP_RANDOM: UdpBehaviour = { ipId: 'random', basis: 'source' };

// ------------------------------------------------------------------------------------------------
// TCP timing (values for stack/tcp/timing.ts's TcpTimingProfile)

/** Linux: tcp_synack_retries 5 from a 1 s RTO, doubling; TCP_RTO_MIN 200 ms, TCP_RTO_MAX 120 s, tcp_retries2 15, TCP_TIMEWAIT_LEN 60 s, TCP_DELACK_MIN 40 ms. */
const TCP_LINUX: TcpBehaviour = {
  timing: { synAckRetransmitMs: [1000, 3000, 7000, 15000, 31000], initialRtoMs: 1000, minRtoMs: 200, maxRtoMs: 120_000, maxDataRetries: 15, timeWaitMs: 60_000, delayedAckMs: 40 },
  dataAfterClose: 'rst-seq-ack', basis: 'source',
};
/** Windows XP/2003: TcpMaxConnectResponseRetransmissions 2 from a 3 s RTO (RING, Snacktime), TcpMaxDataRetransmissions 5, TcpTimedWaitDelay 240 s, 200 ms delayed ACK. */
const TCP_WINDOWS_XP: TcpBehaviour = {
  timing: { synAckRetransmitMs: [3000, 9000], initialRtoMs: 3000, minRtoMs: 300, maxRtoMs: 240_000, maxDataRetries: 5, timeWaitMs: 240_000, delayedAckMs: 200 },
  dataAfterClose: 'rst-ack', basis: 'measured',
};
/** Windows Vista to 8.1: still 2 SYN/ACK retransmissions from 3 s (InitialRto 3000), MinRto 300. */
const TCP_WINDOWS_VISTA: TcpBehaviour = {
  timing: { synAckRetransmitMs: [3000, 9000], initialRtoMs: 3000, minRtoMs: 300, maxRtoMs: 240_000, maxDataRetries: 5, timeWaitMs: 240_000, delayedAckMs: 200 },
  dataAfterClose: 'rst-ack', basis: 'documented',
};
/** Windows 10/11/2016+: Get-NetTCPSetting InitialRtoMs 1000, MaxSynRetransmissions 2, MinRtoMs 300, TIME_WAIT 120 s, DelayedAckTimeoutMs 40. */
const TCP_WINDOWS_10: TcpBehaviour = {
  timing: { synAckRetransmitMs: [1000, 3000], initialRtoMs: 1000, minRtoMs: 300, maxRtoMs: 60_000, maxDataRetries: 5, timeWaitMs: 120_000, delayedAckMs: 40 },
  dataAfterClose: 'rst-ack', basis: 'documented',
};
/** FreeBSD syncache: rexmtlimit 3, TCPTV_RTOBASE 1 s × backoff 1,2,4; rexmit_min 30 ms, TCPTV_REXMTMAX 64 s, TCP_MAXRXTSHIFT 12, 2×MSL 60 s, TCPTV_DELACK 40 ms. */
const TCP_FREEBSD: TcpBehaviour = {
  timing: { synAckRetransmitMs: [1000, 3000, 7000], initialRtoMs: 1000, minRtoMs: 30, maxRtoMs: 64_000, maxDataRetries: 12, timeWaitMs: 60_000, delayedAckMs: 40 },
  dataAfterClose: 'rst-seq-ack', basis: 'source',
};
/** xnu, OpenBSD, NetBSD: BSD timers (TCP_MAXRXTSHIFT 12, 2×MSL 60 s); SYN/ACK schedule assumed as FreeBSD's. */
const TCP_BSD_OTHER: TcpBehaviour = {
  timing: { synAckRetransmitMs: [1000, 3000, 7000], initialRtoMs: 1000, minRtoMs: 200, maxRtoMs: 64_000, maxDataRetries: 12, timeWaitMs: 60_000, delayedAckMs: 100 },
  dataAfterClose: 'rst-seq-ack', basis: 'assumed',
};
/** Solaris tcp_time_wait_interval 60 s, tcp_rexmit_interval_initial 1 s (Solaris 10: 3 s), tcp_deferred_ack_interval 100 ms. */
const TCP_SOLARIS: TcpBehaviour = {
  timing: { synAckRetransmitMs: [3000, 9000, 21000], initialRtoMs: 3000, minRtoMs: 400, maxRtoMs: 60_000, maxDataRetries: 10, timeWaitMs: 60_000, delayedAckMs: 100 },
  dataAfterClose: 'rst-seq-ack', basis: 'documented',
};
/** Cisco IOS: "ip tcp synwait-time" 30 s; retransmission schedule not published (assumed 2 s doubling within it). */
const TCP_CISCO_IOS: TcpBehaviour = {
  timing: { synAckRetransmitMs: [2000, 6000, 14000], initialRtoMs: 2000, minRtoMs: 300, maxRtoMs: 60_000, maxDataRetries: 6, timeWaitMs: 30_000, delayedAckMs: 200 },
  dataAfterClose: 'rst-ack', basis: 'assumed',
};
/** lwIP: TCP_SYNMAXRTX 6 from a 3 s RTO (tcp_slowtmr, 500 ms ticks), TCP_MAXRTX 12, TIME_WAIT 2×TCP_MSL 60 s, delayed ACK 250 ms (fast timer). */
const TCP_EMBEDDED: TcpBehaviour = {
  timing: { synAckRetransmitMs: [3000, 9000, 21000, 45000, 93000, 189000], initialRtoMs: 3000, minRtoMs: 500, maxRtoMs: 64_000, maxDataRetries: 12, timeWaitMs: 60_000, delayedAckMs: 250 },
  dataAfterClose: 'rst-ack', basis: 'source',
};

// ------------------------------------------------------------------------------------------------

export const FAMILY_BEHAVIOURS: Readonly<Record<FamilyId, FamilyBehaviour>> = {
  'linux': { family: 'linux', label: 'Linux', arp: ARP_LINUX, neighbour: NEIGH_LINUX, icmp: ICMP_LINUX, ipv4: IP_LINUX, udp: UDP_LINUX, tcp: TCP_LINUX },
  'windows-xp': { family: 'windows-xp', label: 'Windows XP / 2003 and older', arp: ARP_WINDOWS_XP, neighbour: NEIGH_WINDOWS_XP, icmp: ICMP_WINDOWS, ipv4: IP_WINDOWS, udp: UDP_SHARED, tcp: TCP_WINDOWS_XP },
  'windows-vista': { family: 'windows-vista', label: 'Windows Vista to 8.1 / 2008 to 2012', arp: ARP_WINDOWS_VISTA, neighbour: NEIGH_WINDOWS, icmp: ICMP_WINDOWS, ipv4: IP_WINDOWS, udp: UDP_SHARED, tcp: TCP_WINDOWS_VISTA },
  'windows-10': { family: 'windows-10', label: 'Windows 10 / 11 / 2016 and later', arp: ARP_WINDOWS_VISTA, neighbour: NEIGH_WINDOWS, icmp: ICMP_WINDOWS, ipv4: IP_WINDOWS, udp: UDP_SHARED, tcp: TCP_WINDOWS_10 },
  'freebsd': { family: 'freebsd', label: 'FreeBSD', arp: ARP_FREEBSD, neighbour: NEIGH_BSD, icmp: ICMP_FREEBSD, ipv4: IP_BSD, udp: UDP_SHARED, tcp: TCP_FREEBSD },
  'darwin': { family: 'darwin', label: 'macOS / iOS (Darwin)', arp: ARP_DARWIN, neighbour: NEIGH_BSD, icmp: ICMP_DARWIN, ipv4: IP_BSD, udp: UDP_RANDOM, tcp: TCP_BSD_OTHER },
  'openbsd': { family: 'openbsd', label: 'OpenBSD', arp: ARP_OPENBSD, neighbour: NEIGH_BSD, icmp: ICMP_OPENBSD, ipv4: IP_BSD, udp: UDP_RANDOM, tcp: TCP_BSD_OTHER },
  'netbsd': { family: 'netbsd', label: 'NetBSD', arp: ARP_NETBSD, neighbour: NEIGH_BSD, icmp: ICMP_OPENBSD, ipv4: IP_BSD, udp: UDP_SHARED, tcp: TCP_BSD_OTHER },
  'solaris': { family: 'solaris', label: 'Solaris / illumos / HP-UX', arp: ARP_SOLARIS, neighbour: NEIGH_SOLARIS, icmp: ICMP_SOLARIS, ipv4: IP_SOLARIS, udp: UDP_SHARED, tcp: TCP_SOLARIS },
  'cisco-ios': { family: 'cisco-ios', label: 'Cisco IOS', arp: ARP_CISCO_IOS, neighbour: NEIGH_CISCO, icmp: ICMP_CISCO_IOS, ipv4: IP_CISCO_IOS, udp: UDP_SHARED, tcp: TCP_CISCO_IOS },
  'embedded': { family: 'embedded', label: 'embedded stacks (lwIP-like: printers, appliances, RTOS)', arp: ARP_EMBEDDED, neighbour: NEIGH_EMBEDDED, icmp: ICMP_EMBEDDED, ipv4: IP_EMBEDDED, udp: UDP_SHARED, tcp: TCP_EMBEDDED },
};

/** Default for Class lines no rule names: Linux, the stack of most unnamed devices and the lab-verified table. */
export const DEFAULT_FAMILY: FamilyId = 'linux';
