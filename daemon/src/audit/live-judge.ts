/**
 * The live audit's rules: what the probes of `decoyd audit CONFIG` observed about one host, judged
 * against the host's configured personality and its family's behaviour table. Pure, so the rules
 * are unit-tested on plain objects; live-audit.ts gathers the observations in a lab.
 */
import { behaviourOf } from '../personality/behaviour/family';
import { FAMILY_BEHAVIOURS } from '../personality/behaviour/tables';
import type { FamilyBehaviour, FamilyId } from '../personality/behaviour/types';
import type { OsClass } from '../personality/osdb/types';
import { p0fGroup } from './p0f-watch';
import { OS_SPECIFIC_TCP, bannerOsGroup, expectedTtl, macVendorFinding, osGroupOf, type Finding } from './static-audit';

/** What one nmap OS match said: its name and classes, as nmap's XML gives them. */
export interface ObservedOsMatch {
  name: string;
  accuracy: number;
  classes: Array<{ vendor?: string; osFamily?: string; osGen?: string; type?: string }>;
}

export interface ObservedService {
  proto: string;
  port: number;
  name: string;
  product?: string;
  version?: string;
  extraInfo?: string;
  osType?: string;
}

/** Everything the live probes saw of one host; null = the probe could not be made. */
export interface LiveObservation {
  address: string;
  up: boolean;
  mac?: string;
  macVendor?: string;
  osMatches: ObservedOsMatch[];
  openPorts: string[];
  services: ObservedService[];
  /** TTL of a reply from an open port, and nmap's hop distance. */
  replyTtl?: number;
  distance?: number;
  /** Arrival of each SYN/ACK for one unanswered SYN, ms after the first; null when no open port. */
  synAckOffsetsMs: number[] | null;
  /** How long after the SYN the SYN/ACKs were watched: later retransmissions cannot be seen. */
  synAckWatchMs: number;
  icmpTimestampReply: boolean | null;
  icmpAddressMaskReply: boolean | null;
  /** p0f's label for the SYN+ACK to a kernel connect (`???` or '' when it named nothing); null when p0f did not run or no TCP port is open. */
  p0fSynAck: string | null;
}

/** How the configured side is known: personality name, its classes, family and initial TTL. */
export interface ConfiguredHost {
  personality: string;
  classes: readonly OsClass[];
  family: FamilyId;
  initialTtl: number | null;
  printer: boolean;
}

/** SYN/ACK arrival tolerance: scheduling on a loaded machine, plus a share of the interval. */
const SCHEDULE_SLACK_MS = 400;
const SCHEDULE_SLACK_SHARE = 0.15;

function groupOfNmapClasses(classes: ObservedOsMatch['classes']): string | undefined {
  if (classes.length === 0) return undefined;
  const asOsdb: OsClass[] = classes.map((c) => ({ vendor: c.vendor ?? '', family: c.osFamily ?? '', generation: c.osGen ?? '', deviceType: c.type ?? '' }));
  return osGroupOf(behaviourOf(asOsdb, []).family);
}

/**
 * Whether observed SYN/ACK offsets follow a schedule (count and times within tolerance), as far as
 * a watch of `watchMs` can see it.
 */
export function followsSchedule(observed: readonly number[], full: readonly number[], watchMs = Infinity): boolean {
  // observed[0] is the first SYN/ACK (offset 0); the retransmissions follow.
  const retries = observed.slice(1);
  const edge = watchMs - SCHEDULE_SLACK_MS - 500;
  // Retransmissions due near the watch's end may or may not have been seen.
  const schedule = full.filter((t) => t <= edge || retries.some((r) => Math.abs(r - t) <= SCHEDULE_SLACK_MS + SCHEDULE_SLACK_SHARE * t));
  if (retries.length !== schedule.length) return false;
  return retries.every((t, i) => Math.abs(t - (schedule[i] as number)) <= SCHEDULE_SLACK_MS + SCHEDULE_SLACK_SHARE * (schedule[i] as number));
}

/** The families whose documented SYN/ACK schedule the observation follows. */
export function familiesWithSchedule(observed: readonly number[], watchMs = Infinity): FamilyId[] {
  return (Object.values(FAMILY_BEHAVIOURS) as FamilyBehaviour[])
    .filter((b) => followsSchedule(observed, b.tcp.timing.synAckRetransmitMs, watchMs))
    .map((b) => b.family);
}

/** Every contradiction the live observation shows for a host configured as `cfg`. */
export function judgeLive(obs: LiveObservation, cfg: ConfiguredHost, behaviour: FamilyBehaviour): Finding[] {
  const findings: Finding[] = [];
  const group = osGroupOf(cfg.family);
  if (!obs.up) {
    findings.push({ severity: 'high', code: 'host-down', message: 'the host did not answer nmap at all' });
    return findings;
  }

  // What nmap -O named, against the stack's OS group.
  const best = obs.osMatches[0];
  if (best === undefined) {
    findings.push({ severity: 'medium', code: 'nmap-names-no-os', message: `nmap -O named no OS (configured "${cfg.personality}")` });
  } else {
    const named = groupOfNmapClasses(best.classes);
    if (named !== undefined && named !== group) {
      findings.push({ severity: 'high', code: 'nmap-names-other-os', message: `nmap -O names "${best.name}" (${named}), the stack is configured as ${cfg.family} ("${cfg.personality}")` });
    } else if (!obs.osMatches.some((m) => m.name === cfg.personality && m.accuracy === 100)) {
      findings.push({ severity: 'low', code: 'nmap-names-other-version', message: `nmap -O names "${best.name}" (${best.accuracy} %), not the configured "${cfg.personality}"` });
    }
  }

  // What a passive fingerprinter on the path (p0f) names the SYN+ACK, against the stack's OS group.
  if (obs.p0fSynAck !== null) {
    const named = p0fGroup(obs.p0fSynAck);
    if (named !== undefined && named !== group) {
      findings.push({ severity: 'medium', code: 'p0f-names-other-os', message: `p0f names the SYN+ACK "${obs.p0fSynAck}" (${named}), the stack is configured as ${cfg.family} ("${cfg.personality}")` });
    }
  }

  // The MAC vendor nmap printed, against the personality.
  if (obs.mac !== undefined && obs.macVendor !== undefined) {
    const f = macVendorFinding(obs.mac, obs.macVendor, cfg.family, cfg.printer);
    if (f !== null) findings.push({ ...f, message: `${f.message} (as nmap shows it)` });
  }

  // Services: ports that belong to another OS, and what -sV read from them.
  for (const port of obs.openPorts) {
    const [proto, num] = port.split('/');
    const rule = proto === 'tcp' ? OS_SPECIFIC_TCP.get(Number(num)) : undefined;
    if (rule !== undefined && !rule[0].includes(group)) {
      findings.push({ severity: rule[2], code: 'service-of-other-os', message: `${port} (${rule[1]}) answers open on a ${cfg.family} stack` });
    }
  }
  for (const s of obs.services) {
    const text = [s.product, s.version, s.extraInfo, s.osType].filter((x) => x !== undefined).join(' ');
    const named = text === '' ? undefined : bannerOsGroup(text);
    if (named !== undefined && named !== group) {
      findings.push({ severity: 'high', code: 'service-names-other-os', message: `nmap -sV reads ${s.proto}/${s.port} as ${JSON.stringify(text)} (${named}), the stack is ${cfg.family}` });
    }
  }

  // TTL: at one hop the reply's TTL is the initial TTL.
  if (obs.replyTtl !== undefined && (obs.distance ?? 1) === 1) {
    if (cfg.initialTtl !== null && obs.replyTtl !== cfg.initialTtl) {
      findings.push({ severity: 'medium', code: 'ttl-differs-from-personality', message: `replies carry TTL ${obs.replyTtl} at one hop, the personality's initial TTL is ${cfg.initialTtl}` });
    } else if (group !== 'linux' && group !== 'embedded' && obs.replyTtl !== expectedTtl(group)) {
      findings.push({ severity: 'low', code: 'ttl-unusual-for-family', message: `initial TTL ${obs.replyTtl} is unusual for ${cfg.family} (expected ${expectedTtl(group)})` });
    }
  }

  // Behaviour the nmap-os-db line does not cover: SYN/ACK retransmission and ICMP queries.
  if (obs.synAckOffsetsMs !== null && obs.synAckOffsetsMs.length > 0) {
    const schedule = behaviour.tcp.timing.synAckRetransmitMs;
    if (!followsSchedule(obs.synAckOffsetsMs, schedule, obs.synAckWatchMs)) {
      const like = familiesWithSchedule(obs.synAckOffsetsMs, obs.synAckWatchMs);
      findings.push({
        severity: 'high',
        code: 'synack-schedule-of-other-os',
        message: `an unanswered SYN/ACK was sent at ${obs.synAckOffsetsMs.map((t) => `${(t / 1000).toFixed(1)}`).join(', ')} s; ${cfg.family} retransmits at ${schedule.map((t) => t / 1000).join(', ')} s${like.length > 0 ? ` (the observed schedule is ${like.join('/')}'s)` : ''}`,
      });
    }
  }
  if (obs.icmpTimestampReply !== null && obs.icmpTimestampReply !== behaviour.icmp.timestampReply) {
    findings.push({ severity: 'medium', code: 'icmp-timestamp-of-other-os', message: `ICMP timestamp requests are ${obs.icmpTimestampReply ? 'answered' : 'ignored'}; ${cfg.family} ${behaviour.icmp.timestampReply ? 'answers' : 'ignores'} them` });
  }
  if (obs.icmpAddressMaskReply !== null && obs.icmpAddressMaskReply !== behaviour.icmp.addressMaskReply) {
    findings.push({ severity: 'medium', code: 'icmp-mask-of-other-os', message: `ICMP address-mask requests are ${obs.icmpAddressMaskReply ? 'answered' : 'ignored'}; ${cfg.family} ${behaviour.icmp.addressMaskReply ? 'answers' : 'ignores'} them` });
  }
  return findings;
}
