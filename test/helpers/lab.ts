/**
 * Test-side wrapper around the namespace lab: one lab per test, always destroyed, and a single place
 * that decides whether a test can run at all (network namespaces need root).
 */
import type { TestContext } from 'node:test';
import { createLab, type CreateLabOptions, type Lab } from '../../daemon/src/lab/netns';
import { runChecked } from '../../daemon/src/lab/run-command';

export type { Lab, LabHost, CommandResult } from '../../daemon/src/lab/netns';

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Test options for tests that need root: skipped (with the reason shown) only when not root.
 * CI runs as root, so there the tests always run.
 */
export const needsRoot: { skip: string | false } = { skip: isRoot() ? false : 'needs root (network namespaces)' };

/** A lab-name prefix derived from the test name, short enough for namespace names. */
function prefixFor(t: TestContext): string {
  const cleaned = t.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return `dt-${cleaned.slice(0, 16) || 'lab'}`.replace(/-+$/, '');
}

/**
 * Creates a lab, runs fn with it, and destroys the lab whatever happens (also when fn throws).
 * The lab name defaults to a prefix from the test name; pid and a counter keep it unique.
 */
export async function withLab<T>(t: TestContext, opts: Partial<CreateLabOptions>, fn: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = await createLab({ ...opts, name: opts.name ?? prefixFor(t) });
  try {
    return await fn(lab);
  } finally {
    await lab.destroy();
  }
}

/** Lists the namespaces that currently exist (names only). */
export async function listNamespaces(): Promise<string[]> {
  const listed = await runChecked('ip', ['netns', 'list'], { timeoutMs: 5000 });
  return listed.stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.length > 0);
}
