import { readlink } from 'node:fs/promises';
import { setPriority } from 'node:os';

/**
 * Lowers the CPU priority of libuv's thread pool, where argon2 runs, leaving the event loop
 * at its own: on a busy machine a storm of logins then takes its CPU from what is left over
 * rather than from the token-authenticated requests the event loop answers (SECURITY I5,
 * DESIGN "the slow part never slows anyone else down"). Linux only, where a thread id works
 * as a `setpriority` target; elsewhere nothing changes.
 *
 * Each pool thread is found by having it read the `/proc/thread-self` link, which names the
 * thread that reads it. The pool also serves file-system calls and DNS lookups; the server
 * makes few of either.
 *
 * @returns how many pool threads were reniced.
 */
export async function lowerThreadPoolPriority(niceness: number): Promise<number> {
  if (process.platform !== 'linux' || niceness <= 0) return 0;
  const poolSize = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  const threads = new Set<number>();
  // Many quick reads at once spread over the idle threads; a few rounds catch them all.
  for (let round = 0; round < 10 && threads.size < poolSize; round++) {
    const links = await Promise.all(
      Array.from({ length: poolSize * 8 }, () => readlink('/proc/thread-self').catch(() => '')),
    );
    for (const link of links) {
      const tid = Number(/\/task\/(\d+)$/.exec(link)?.[1]);
      if (tid > 0 && tid !== process.pid) threads.add(tid);
    }
  }
  let reniced = 0;
  for (const tid of threads) {
    try {
      setPriority(tid, niceness);
      reniced++;
    } catch {
      // A container may forbid it; the server works the same, only without the preference.
    }
  }
  return reniced;
}
