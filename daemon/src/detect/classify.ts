/**
 * Timer-side decisions on a flow: has it met its threshold, what scan type it is, which tool sent
 * it, and the evidence for both. Runs once a second per flow at most, never on the frame path.
 */
import type { DetectConfig } from '../config/types';
import { Category, type Flow, popcount } from './flow';
import { Mark, OS_PROBE_NAMES } from './signatures';
import type { ServiceProbeTable } from './service-probes';

/** Ports nmap's default TCP pings go to (nmap.h DEFAULT_IPV4_PING_TYPES: SYN to 443, ACK to 80). */
const TCP_PING_PORTS = [80, 443];

const SCAN_TYPE: Record<number, string> = {
  [Category.ARP]: 'arp-sweep',
  [Category.PING]: 'ping-sweep-icmp',
  [Category.TCP_SYN]: 'tcp-syn',
  [Category.TCP_ACK]: 'tcp-ack',
  [Category.TCP_FIN]: 'tcp-fin',
  [Category.TCP_NULL]: 'tcp-null',
  [Category.TCP_XMAS]: 'tcp-xmas',
  [Category.TCP_MAIMON]: 'tcp-maimon',
  [Category.UDP]: 'udp',
  [Category.IP_PROTO]: 'ip-protocol',
  [Category.OS]: 'os-detection',
  [Category.SERVICE]: 'service-version',
};

const FLAG_TEXT: Record<number, string> = {
  [Category.TCP_SYN]: 'SYN', [Category.TCP_ACK]: 'ACK', [Category.TCP_FIN]: 'FIN only', [Category.TCP_NULL]: 'no flags (NULL)',
  [Category.TCP_XMAS]: 'FIN+PSH+URG (Xmas)', [Category.TCP_MAIMON]: 'FIN+ACK outside any connection (Maimon)',
};

export function meetsThreshold(flow: Flow, cfg: DetectConfig): boolean {
  switch (flow.category) {
    case Category.ARP:
    case Category.PING:
      return flow.targets.size >= cfg.minTargets;
    case Category.IP_PROTO:
      return flow.ports.size >= cfg.minProtocols;
    case Category.OS:
      return popcount(flow.osShapes) >= cfg.minOsProbes;
    case Category.SERVICE:
      return flow.serviceProbeCount >= cfg.minServiceProbes;
    default:
      return flow.ports.size >= cfg.minPorts || flow.targets.size >= cfg.minTargets;
  }
}

/** A sweep of many decoys on nothing but ports 80/443: nmap's TCP ping (-PS443 -PA80), not a port scan. */
function isTcpPing(flow: Flow, cfg: DetectConfig): boolean {
  return flow.targets.size >= cfg.minTargets && flow.ports.size <= 2 && flow.ports.onlyWithin(TCP_PING_PORTS);
}

export function scanTypeOf(flow: Flow, cfg: DetectConfig): string {
  if (flow.category === Category.TCP_ACK && isTcpPing(flow, cfg)) return 'ping-sweep-tcp';
  if (flow.category === Category.TCP_SYN) {
    const ackPing = flow.source?.flows[Category.TCP_ACK];
    if (isTcpPing(flow, cfg) && ackPing != null && isTcpPing(ackPing, cfg)) return 'ping-sweep-tcp';
    if (isConnect(flow)) return 'tcp-connect';
  }
  return SCAN_TYPE[flow.category] as string;
}

/** Kernel-shaped SYNs (full option set) and handshakes completed more often than reset. */
function isConnect(flow: Flow): boolean {
  return flow.marks[Mark.KERNEL_SYN] * 2 >= flow.packets && flow.handshakes > flow.handshakeResets;
}

export interface Attribution {
  tool: string | undefined;
  evidence: string[];
}

const share = (flow: Flow, mark: number): number => (flow.packets === 0 ? 0 : flow.marks[mark] / flow.packets);
const of = (flow: Flow, mark: number): string => `${flow.marks[mark]}/${flow.packets} packets`;

/** Evidence for the scan type, then the tool decision with its own evidence. */
export function attribute(flow: Flow, scanType: string, cfg: DetectConfig, probes: ServiceProbeTable): Attribution {
  const evidence: string[] = [];
  const ports = flow.ports.size;
  const hosts = `${flow.targets.size}${flow.targets.saturated ? '+' : ''}`;
  switch (flow.category) {
    case Category.ARP:
      evidence.push(`ARP who-has for ${hosts} decoy addresses (threshold ${cfg.minTargets})`);
      break;
    case Category.PING:
      evidence.push(`ICMP ${icmpTypesText(flow.icmpTypes)} to ${hosts} decoys (threshold ${cfg.minTargets})`);
      break;
    case Category.IP_PROTO:
      evidence.push(`${ports} distinct IP protocols (${flow.ports.sample(cfg.sampleSize).join(',')}) to ${hosts} decoys (threshold ${cfg.minProtocols})`);
      break;
    case Category.OS:
      evidence.push(`Nmap OS detection probes (osscan2.cc): ${osShapeNames(flow.osShapes).join(' ')} (threshold ${cfg.minOsProbes} shapes)`);
      break;
    case Category.SERVICE:
      evidence.push(`nmap-service-probes probes: ${serviceProbeNames(flow, probes).join(' ')} (threshold ${cfg.minServiceProbes})`);
      if (flow.sessionProbeCount > 0) evidence.push(`${flow.sessionProbeCount} of them recognised by the services that answered (service.probe, service.request), the rest as payloads on the wire`);
      else evidence.push('all as payloads on the wire equal to the probe strings');
      break;
    case Category.UDP:
      evidence.push(`UDP to ${ports} distinct ports on ${hosts} decoys (thresholds ${cfg.minPorts} ports or ${cfg.minTargets} decoys)`);
      break;
    default:
      evidence.push(`TCP ${FLAG_TEXT[flow.category]} to ${ports} distinct ports on ${hosts} decoys (thresholds ${cfg.minPorts} ports or ${cfg.minTargets} decoys)`);
      if (flow.category === Category.TCP_ACK || scanType === 'ping-sweep-tcp') {
        if (flow.category === Category.TCP_ACK) evidence.push('tcp-window (nmap -sW) sends the same ACK probe as -sA (scan_engine.cc: WINDOW_SCAN → TH_ACK); they differ only in how replies are read');
        if (scanType === 'ping-sweep-tcp') evidence.push(`only ports ${flow.ports.sample(2).join(',')} across decoys: TCP ping (nmap -PS443 -PA80)`);
      }
      if (flow.category === Category.TCP_SYN) {
        evidence.push(`handshakes: ${flow.handshakes} completed by an ACK, ${flow.handshakeResets} reset by the scanner after the decoy's reply`);
        if (scanType === 'tcp-connect') evidence.push(`${flow.marks[Mark.KERNEL_SYN]}/${flow.packets} SYNs carry a kernel's option set (connect())`);
      }
  }
  const tool = decideTool(flow, evidence);
  return { tool, evidence };
}

function decideTool(flow: Flow, evidence: string[]): string | undefined {
  if (flow.category === Category.OS || flow.category === Category.SERVICE) {
    evidence.push(flow.category === Category.OS ? 'probe set is Nmap\'s own (osscan2.cc prbOpts/prbWindowSz)' : 'probe strings are Nmap\'s (nmap-service-probes)');
    return 'nmap';
  }
  if (flow.category === Category.ARP) return undefined;
  const n = flow.packets;
  const tcp = flow.category >= Category.TCP_SYN && flow.category <= Category.TCP_MAIMON;

  // masscan: one packet matching by chance has p = 2^-16, so ask for most of at least 3.
  if (tcp && n >= 3 && share(flow, Mark.IPID_MASSCAN) >= 0.9) {
    evidence.push(`ip.id = (dst ^ dport ^ seq) & 0xffff on ${of(flow, Mark.IPID_MASSCAN)} (masscan templ-pkt.c template_set_target_ipv4)`);
    if (share(flow, Mark.TTL_255) >= 0.9) evidence.push(`initial TTL 255 on ${of(flow, Mark.TTL_255)} (masscan default_tcp_template)`);
    if (share(flow, Mark.WIN_1024) >= 0.9) evidence.push(`window 1024 on ${of(flow, Mark.WIN_1024)} (masscan default_tcp_template)`);
    if (flow.resetsWindow1200 > 0) evidence.push(`its resets carry window 1200 on ${flow.resetsWindow1200}/${flow.handshakeResets} (masscan templ-pkt.c tcp_create_packet)`);
    return 'masscan';
  }
  // zmap <= 4.0 stamps every IPv4 packet with 54321, whatever the probe module.
  if (n >= 2 && share(flow, Mark.IPID_ZMAP) >= 0.9) {
    evidence.push(`ip.id constant 54321 on ${of(flow, Mark.IPID_ZMAP)} (zmap probe_modules/packet.c make_ip_header)`);
    if (share(flow, Mark.TTL_255) >= 0.9) evidence.push(`initial TTL 255 (zmap make_ip_header MAXTTL)`);
    if (tcp && share(flow, Mark.WIN_65535) >= 0.9) evidence.push(`window 65535 on ${of(flow, Mark.WIN_65535)} (zmap make_tcp_header)`);
    return 'zmap';
  }
  if (tcp && n >= 3 && share(flow, Mark.WIN_512) >= 0.9 && share(flow, Mark.OPT_NONE) >= 0.9) {
    const rising = flow.marks[Mark.SPORT_INCREMENT] * 2 >= n - 1;
    const ackField = share(flow, Mark.ACK_FIELD_NO_FLAG) >= 0.9 && flow.category !== Category.TCP_ACK && flow.category !== Category.TCP_MAIMON;
    if (rising || ackField) {
      evidence.push(`window 512, no TCP options on ${of(flow, Mark.WIN_512)} (hping3 hping2.h DEFAULT_SRCWINSIZE, sendtcp.c send_tcphdr)`);
      if (rising) evidence.push(`source port rises by 1 per packet on ${flow.marks[Mark.SPORT_INCREMENT]}/${n - 1} steps (hping3 sendtcp.c)`);
      if (ackField) evidence.push(`non-zero ACK field without the ACK flag on ${of(flow, Mark.ACK_FIELD_NO_FLAG)} (hping3 sendtcp.c th_ack = rand())`);
      return 'hping3';
    }
  }
  const nmapTtl = share(flow, Mark.TTL_NMAP_RANGE) >= 0.9 && flow.ttlMax - flow.ttlMin >= (n >= 8 ? 4 : 0);
  const ttlText = `TTL ${flow.ttlMin}-${flow.ttlMax} varying per packet on ${of(flow, Mark.TTL_NMAP_RANGE)} (nmap tcpip.cc build_ip_raw: random 37-59)`;
  const sameSport = share(flow, Mark.SPORT_FIRST) >= 0.5;
  if (tcp && n >= 3 && share(flow, Mark.WIN_1024) >= 0.8) {
    const syn = flow.category === Category.TCP_SYN;
    const opts = syn ? share(flow, Mark.OPT_MSS1460) >= 0.8 : share(flow, Mark.OPT_NONE) >= 0.8;
    if (opts && (sameSport || nmapTtl)) {
      evidence.push(`window 1024 on ${of(flow, Mark.WIN_1024)} (nmap tcpip.cc build_tcp_raw default)`);
      evidence.push(syn
        ? `TCP options exactly MSS 1460 on ${of(flow, Mark.OPT_MSS1460)} (nmap.h TCP_SYN_PROBE_OPTIONS)`
        : `no TCP options on ${of(flow, Mark.OPT_NONE)} (scan_engine_raw.cc sendIPScanProbe: options only on SYN probes)`);
      if (sameSport) evidence.push(`one source port ${flow.firstSport} on ${of(flow, Mark.SPORT_FIRST)} (scan_engine_raw.cc sport_encode: base_port + tryno)`);
      if (share(flow, Mark.SEQ_FIRST) >= 0.5) evidence.push(`one sequence number on ${of(flow, Mark.SEQ_FIRST)} (scan_engine_raw.cc seq32_encode)`);
      if (nmapTtl) evidence.push(ttlText);
      return 'nmap';
    }
  }
  if ((flow.category === Category.UDP || flow.category === Category.IP_PROTO) && n >= 3 && nmapTtl && (sameSport || flow.category === Category.IP_PROTO)) {
    if (flow.category === Category.UDP) evidence.push(`one source port ${flow.firstSport} on ${of(flow, Mark.SPORT_FIRST)} (scan_engine_raw.cc sport_encode)`);
    evidence.push(ttlText);
    return 'nmap';
  }
  if (flow.category === Category.PING && n >= 3 && share(flow, Mark.ICMP_NO_DATA) >= 0.9 && nmapTtl) {
    evidence.push(`ICMP requests without data on ${of(flow, Mark.ICMP_NO_DATA)} (nmap tcpip.cc build_icmp_raw, no --data-length)`);
    evidence.push(ttlText);
    return 'nmap';
  }
  return undefined;
}

function icmpTypesText(types: number): string {
  const names: string[] = [];
  if (types & (1 << 8)) names.push('echo');
  if (types & (1 << 13)) names.push('timestamp');
  if (types & (1 << 17)) names.push('address-mask');
  return names.join('+');
}

export function osShapeNames(shapes: number): string[] {
  return OS_PROBE_NAMES.filter((_, i) => (shapes & (1 << i)) !== 0);
}

function serviceProbeNames(flow: Flow, probes: ServiceProbeTable): string[] {
  return probes.probes.filter((_, i) => flow.hasServiceProbe(i)).map((p) => p.name);
}
