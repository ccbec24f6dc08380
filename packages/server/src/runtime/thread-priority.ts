import { readdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { getPriority, setPriority } from 'node:os';

/** What {@link lowerBackgroundThreads} did, for the start-up log line. */
export interface ThreadPriorityOutcome {
  /** Threads given the lower priority. */
  threads: number;
  /** Why nothing was done, when nothing was. */
  skipped?: string;
}

/**
 * Gives every thread of this process but the event loop's a lower CPU priority (a nice value):
 * libuv's pool, where argon2 hashes passwords, and V8's helpers. On a busy core the kernel
 * then runs the event loop as soon as a request arrives instead of letting a 50 ms hash finish
 * its slice first, which is what keeps token latency flat through a login storm (DESIGN:
 * p99 ≤ 10 ms while 32 clients log in). A hash still gets the CPU the event loop leaves over,
 * and at least a share of it under full load (nice 10 is about a tenth of nice 0's weight).
 *
 * Linux only: a thread's nice value is its own there (setpriority(2) on a thread id), and
 * /proc/self/task lists the threads. Lowering a priority needs no privilege.
 */
export async function lowerBackgroundThreads(nice: number): Promise<ThreadPriorityOutcome> {
  if (nice === 0) return { threads: 0, skipped: 'TESSERA_BACKGROUND_NICE is 0' };
  if (process.platform !== 'linux') return { threads: 0, skipped: `not Linux (${process.platform})` };
  // libuv starts its pool's threads all at once, on the first task: make sure they exist.
  // Whether the stat itself succeeds does not matter; it ran on the pool.
  await stat('.').catch(() => undefined);
  let entries: string[];
  try {
    entries = readdirSync('/proc/self/task');
  } catch {
    return { threads: 0, skipped: '/proc/self/task cannot be read' };
  }
  let threads = 0;
  for (const entry of entries) {
    const tid = Number(entry);
    if (tid === process.pid) continue; // the event loop's thread keeps its priority
    try {
      // Only ever lower: a process started under `nice -n 15` keeps its threads there.
      if (getPriority(tid) >= nice) continue;
      setPriority(tid, nice);
      threads++;
    } catch {
      // The thread ended between the listing and here.
    }
  }
  return { threads };
}
