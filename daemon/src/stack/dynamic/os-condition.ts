/**
 * Which p0f labels a Honeyd `source os = "NAME"` condition means. Honeyd matched NAME against
 * pf.os fingerprints by genre, then version, then subtype ("Windows", "Windows XP", "Linux 2.4").
 * decoyd's rule over p0f 3 labels (`s:win:Windows:7 or 8`): compare, ignoring case and runs of
 * spaces, NAME with the label's printed form, name then flavor (`Windows 7 or 8`); NAME matches
 * when it is that text or its beginning up to a word boundary (the next character is a space,
 * `.`, `-`, `,`, `(` or `/`). So `Windows` matches every Windows label, `Windows 7` matches
 * `Windows 7 or 8`, `Linux 2.6` matches `Linux 2.6.x` and `Linux 2.6.x (loopback)`, and `Linux 3.1`
 * matches `Linux 3.1-3.10` but not `Linux 3.11 and newer`. Userland tools (class `!`, e.g.
 * `NMap`) are matched the same way, by their name.
 */
import type { P0fLabel } from './p0f-signatures';

const BOUNDARY = new Set([' ', '.', '-', ',', '(', '/']);

function norm(text: string): string {
  return text.trim().replace(/\s+/g, ' ').toLowerCase();
}

export function conditionMatchesLabel(condition: string, label: P0fLabel): boolean {
  const want = norm(condition);
  const have = norm(label.text);
  if (want === '' || !have.startsWith(want)) return false;
  return have.length === want.length || BOUNDARY.has(have[want.length] as string);
}

/** One flag per label: 1 where the condition matches it. */
export function labelsMatching(condition: string, labels: readonly P0fLabel[]): Uint8Array {
  const out = new Uint8Array(labels.length);
  labels.forEach((l, i) => { out[i] = conditionMatchesLabel(condition, l) ? 1 : 0; });
  return out;
}
