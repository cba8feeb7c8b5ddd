/**
 * Bearer-token check with a per-source failure limit. The table of sources is bounded
 * (oldest entry evicted first), so a flood of spoofed sources cannot grow it.
 */
import { timingSafeEqual } from 'node:crypto';

export interface AuthLimits {
  /** Failed attempts allowed per source within the window before it gets 429. */
  maxFailures: number;
  windowMs: number;
  /** Sources tracked at most. */
  maxSources: number;
}

export const DEFAULT_AUTH_LIMITS: AuthLimits = { maxFailures: 10, windowMs: 60_000, maxSources: 4096 };

interface Entry { windowStart: number; failures: number; reported: boolean }

export class FailedAuthLimiter {
  private readonly entries = new Map<string, Entry>();
  limited = 0;

  constructor(private readonly limits: AuthLimits = DEFAULT_AUTH_LIMITS) {}

  /** True while `ip` is over its failure budget. */
  blocked(ip: string, now: number): boolean {
    const e = this.entries.get(ip);
    if (e === undefined || now - e.windowStart >= this.limits.windowMs) return false;
    return e.failures >= this.limits.maxFailures;
  }

  /** Records a failure; returns whether this is the first of its window (worth logging). */
  fail(ip: string, now: number): boolean {
    let e = this.entries.get(ip);
    if (e === undefined || now - e.windowStart >= this.limits.windowMs) {
      if (e !== undefined) this.entries.delete(ip);
      else if (this.entries.size >= this.limits.maxSources) {
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) this.entries.delete(oldest);
      }
      e = { windowStart: now, failures: 0, reported: false };
      this.entries.set(ip, e);
    }
    e.failures++;
    const first = !e.reported;
    e.reported = true;
    return first;
  }

  get size(): number {
    return this.entries.size;
  }
}

export function tokenMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
