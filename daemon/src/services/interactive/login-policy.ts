/**
 * Whether a login attempt is let in, per the configured policy. `any-after N` counts refusals per
 * source address (bots reconnect for every few tries), in a bounded table: the oldest source is
 * forgotten first.
 */
import type { LoginPolicy } from '../../config/types';

export class LoginJudge {
  private readonly refusals = new Map<string, number>();

  constructor(private readonly policy: LoginPolicy, private readonly maxSources = 4096) {}

  /** Decide one attempt (and count it when refused). */
  judge(source: string, user: string, password: string): boolean {
    const p = this.policy;
    if (p.mode === 'refuse') return false;
    if (p.mode === 'accept') return p.credentials.some((c) => c.user === user && c.password === password);
    const seen = this.refusals.get(source) ?? 0;
    if (seen >= p.attempts) {
      this.refusals.delete(source);
      return true;
    }
    this.refusals.delete(source);
    this.refusals.set(source, seen + 1);
    if (this.refusals.size > this.maxSources) {
      const oldest = this.refusals.keys().next().value;
      if (oldest !== undefined) this.refusals.delete(oldest);
    }
    return false;
  }

  /** Whether any login can ever succeed (a refusing policy needs no shell). */
  get mayAccept(): boolean {
    return this.policy.mode !== 'refuse';
  }
}

/** A delay around `ms`, ±25 %, so refusals are not a metronome. */
export function jittered(ms: number): number {
  return Math.max(0, Math.round(ms * (0.75 + Math.random() * 0.5)));
}
