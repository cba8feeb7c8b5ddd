/**
 * Honeyd dynamic templates at run time: an address bound to a `dynamic` template answers, for
 * each new flow, as the first rule's template whose condition holds (`source os`, `source ip`,
 * `time`, `tcp|udp|icmp`, `otherwise`); when none holds, the first rule's template, as Honeyd's
 * template_dynamic does. Each rule has its own DecoyHost (same address and MAC, its template's
 * personality, ports and services); the engine asks `choose` per packet, after looking up the
 * packet's TCP connection, so a connection keeps the host it started with.
 *
 * `source os` uses the passive guess of the source (PassiveOs): the label p0f gives its last SYN
 * (to any decoy), remembered per source in a bounded LRU.
 */
import type { DecoyHost, HostChooser } from '../decoy-table';
import { matchSyn, SynFacts } from './p0f-matcher';
import type { P0fDatabase } from './p0f-signatures';
import { SourceOsCache } from './source-os-cache';

export const RuleKind = { OS: 0, IP: 1, TIME: 2, PROTO: 3, DEFAULT: 4 } as const;
export type RuleKindCode = (typeof RuleKind)[keyof typeof RuleKind];

export interface CompiledRule {
  kind: RuleKindCode;
  /** IP: network and mask (host order). */
  network: number;
  mask: number;
  /** TIME: inclusive seconds of the local day. */
  startSeconds: number;
  endSeconds: number;
  /** PROTO: the IP protocol number. */
  proto: number;
  /** OS: per p0f label, 1 where the condition names it. */
  osLabels: Uint8Array | null;
  /** The host that answers when the rule holds. */
  host: DecoyHost;
}

/** The passive OS guess of each source, from p0f's SYN signatures. */
export class PassiveOs {
  private readonly facts = new SynFacts();
  private readonly cache: SourceOsCache;
  /** SYNs fingerprinted, and how many got a label. */
  synsSeen = 0;
  synsLabelled = 0;

  constructor(readonly db: P0fDatabase, maxSources: number) {
    this.cache = new SourceOsCache(maxSources);
  }

  /** A SYN from `src` whose IPv4 header is at `ipOff` of `buf`: remembers p0f's label for it, if any. */
  observeSyn(buf: Buffer, ipOff: number, ipLength: number, src: number): void {
    if (!this.facts.read(buf, ipOff, ipLength)) return;
    this.synsSeen++;
    const label = matchSyn(this.db, this.facts);
    // As p0f's host record: an unrecognised SYN does not erase what an earlier one said.
    if (label < 0) return;
    this.synsLabelled++;
    this.cache.set(src, label);
  }

  /** The label last seen for `src`, or -1. */
  guess(src: number): number {
    return this.cache.get(src);
  }

  /** p0f's printed name of the label last seen for `src` (`Linux 3.11 and newer`), or undefined. */
  osText(src: number): string | undefined {
    const label = this.cache.get(src);
    return label < 0 ? undefined : this.db.labels[label]?.text;
  }

  get sources(): number { return this.cache.size; }
}

/** Seconds of the local day; the zone offset is re-read once a minute (no Date per packet). */
let offsetMs = 0;
let offsetCheckedAt = -Infinity;
export function localSecondsOfDay(nowMs: number): number {
  if (nowMs - offsetCheckedAt > 60_000 || nowMs < offsetCheckedAt) {
    offsetMs = -new Date(nowMs).getTimezoneOffset() * 60_000;
    offsetCheckedAt = nowMs;
  }
  const day = (nowMs + offsetMs) % 86_400_000;
  return Math.floor((day < 0 ? day + 86_400_000 : day) / 1000);
}

export class DynamicChooser implements HostChooser {
  constructor(readonly rules: readonly CompiledRule[], private readonly os: PassiveOs | null) {
    if (rules.length === 0) throw new Error('a dynamic template needs at least one rule');
  }

  choose(src: number, proto: number, nowMs: number): DecoyHost {
    const rules = this.rules;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i] as CompiledRule;
      switch (r.kind) {
        case RuleKind.OS: {
          const label = this.os === null ? -1 : this.os.guess(src);
          if (label >= 0 && r.osLabels !== null && r.osLabels[label] === 1) return r.host;
          break;
        }
        case RuleKind.IP:
          if (((src & r.mask) >>> 0) === r.network) return r.host;
          break;
        case RuleKind.TIME: {
          const s = localSecondsOfDay(nowMs);
          if (s >= r.startSeconds && s <= r.endSeconds) return r.host;
          break;
        }
        case RuleKind.PROTO:
          if (proto === r.proto) return r.host;
          break;
        default:
          return r.host;
      }
    }
    return (rules[0] as CompiledRule).host;
  }
}
