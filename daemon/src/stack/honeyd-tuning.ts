/**
 * Honeyd's per-template knobs that bend the personality: `set T droprate syn N` and the
 * `annotate "P" [no] finscan | fragment drop|old|new` data the template copied at `set T personality`.
 */
import type { TemplateConfig } from '../config/types';
import { FinScan, type FragmentPolicy, type TemplateRuntime } from './decoy-table';

/** Honeyd's fragment words: `old` keeps the data that came first (ipfrag.c FRAG_OLD), `new` the newest. */
const FRAGMENT_POLICY: Record<'drop' | 'old' | 'new', FragmentPolicy> = { drop: 'drop-all', old: 'first', new: 'last' };

export function applyHoneydTuning(rt: TemplateRuntime, t: TemplateConfig): void {
  rt.synDropRate = (t.dropRateSyn ?? 0) / 100;
  const a = t.annotation;
  if (a?.finscan !== undefined) rt.finScan = a.finscan ? FinScan.DROP : FinScan.RESET;
  if (a?.fragment !== undefined) rt.fragments = FRAGMENT_POLICY[a.fragment];
}
