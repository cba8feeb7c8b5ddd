/**
 * Which parsed configuration features the daemon runs today, and what happens to those it does
 * not run yet. Both front ends read every Honeyd feature into the config model; for each feature
 * that is only parsed, the reader adds a warning naming file:line, so nothing is silently ignored.
 *
 * - `warn`: `decoyd run` starts and says what it leaves out; the host still answers, only less
 *   deeply (a script's port is open with no service behind it).
 * - `refuse`: running without the feature would answer for the wrong addresses, from the wrong
 *   template or with the wrong TTLs, so `decoyd run` refuses to start (`decoyd check` accepts).
 *
 * Whoever implements a feature at run time flips its `runs` to true here; the readers then stop
 * warning about it.
 */

import type { IssueList, SourcePos } from './errors';

export interface FeatureSupport {
  runs: boolean;
  /** What happens while it does not run. */
  whenMissing: 'warn' | 'refuse';
  /** Says what decoyd does instead; completes "X is parsed but not run yet: …". */
  instead: string;
}

export const RUNTIME_FEATURES = {
  script: { runs: true, whenMissing: 'warn', instead: 'the port is open with no service behind it' },
  proxy: { runs: true, whenMissing: 'warn', instead: 'the port is open with no service behind it' },
  internal: { runs: false, whenMissing: 'warn', instead: 'the port is open with no service behind it' },
  tarpit: { runs: true, whenMissing: 'warn', instead: 'the port answers as a plain open port' },
  subsystem: { runs: true, whenMissing: 'warn', instead: 'nothing is started; its ports stay as the template says' },
  uid: { runs: true, whenMissing: 'warn', instead: 'nothing runs that would use it' },
  maxfds: { runs: true, whenMissing: 'warn', instead: 'nothing runs that would use it' },
  dropRateSyn: { runs: true, whenMissing: 'warn', instead: 'no SYN is dropped' },
  annotate: { runs: true, whenMissing: 'warn', instead: 'FIN scans and fragments follow the personality model' },
  broadcast: { runs: false, whenMissing: 'warn', instead: 'no broadcast is sent' },
  dynamic: { runs: true, whenMissing: 'refuse', instead: 'no rule would choose the answering template' },
  dhcp: { runs: true, whenMissing: 'refuse', instead: 'the host would never get an address' },
  realHost: { runs: true, whenMissing: 'refuse', instead: 'the real host would not be part of the virtual network' },
  spoof: { runs: false, whenMissing: 'refuse', instead: 'replies would leave with the unrewritten addresses' },
  route: { runs: true, whenMissing: 'refuse', instead: 'hosts behind virtual routers would answer as if on the LAN' },
  tunnel: { runs: false, whenMissing: 'refuse', instead: 'the tunnelled network would not be reached' },
} satisfies Record<string, FeatureSupport>;

export type RuntimeFeature = keyof typeof RUNTIME_FEATURES;

/** The subject of each warning, with its verb. */
const SUBJECT: Record<RuntimeFeature, string> = {
  script: 'script actions are',
  proxy: 'proxy actions are',
  internal: '"internal" (Python) actions are',
  tarpit: 'tarpit is',
  subsystem: 'subsystems are',
  uid: 'uid/gid is',
  maxfds: 'maxfds is',
  dropRateSyn: 'droprate syn is',
  annotate: 'annotate is',
  broadcast: 'broadcast is',
  dynamic: 'dynamic templates are',
  dhcp: 'dhcp bindings are',
  realHost: '"bind ADDRESS to INTERFACE" is',
  spoof: 'spoof is',
  route: 'virtual routing (route) is',
  tunnel: 'route ... tunnel is',
};

/** Adds the warning for `feature` at `pos` if the daemon does not run it; `detail` says where (`port tcp/80`). */
export function noteFeature(issues: IssueList, pos: SourcePos, feature: RuntimeFeature, detail = '', keyPath?: string): void {
  const support: FeatureSupport = RUNTIME_FEATURES[feature];
  if (support.runs) return;
  const refuse = support.whenMissing === 'refuse';
  const what = detail === '' ? support.instead : `${detail}: ${support.instead}`;
  issues.warn(pos, `${SUBJECT[feature]} parsed but not run yet: ${what}${refuse ? ' (decoyd run refuses to start)' : ''}`, { keyPath, blocksRun: refuse });
}
