/**
 * Lowers the calling thread's scheduling priority (Linux: setpriority on the thread id), so on a
 * busy machine the frame path and the scanners it answers win the CPU, and the store's and the
 * shippers' threads catch up in idle time; their bounded queues absorb the difference. Best
 * effort: elsewhere, or when not allowed, the thread keeps its priority.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

export function lowerThreadPriority(nice: number): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, nice);
  } catch {
    // not Linux, or not allowed: run at normal priority
  }
}
