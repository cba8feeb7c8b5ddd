/**
 * Waiting for a condition in an e2e test: poll until it holds, within a bound, and name what was
 * awaited when it never does. Waiting for the state itself (not sleeping a fixed time) is what keeps
 * a test right on a loaded machine.
 */

/** What a probe returns: a value once the condition holds; undefined or false while it does not. */
export type Probe<T> = () => T | undefined | false | Promise<T | undefined | false>;

/**
 * Calls `probe` every `intervalMs` until it returns something other than undefined or false, and
 * resolves with that. Rejects naming `what` once `timeoutMs` have passed (the probe runs at least once).
 */
export async function waitUntil<T>(what: string, probe: Probe<T>, timeoutMs: number, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, intervalMs));
  }
}
