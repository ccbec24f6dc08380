import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lowerThreadPoolPriority } from './hash-priority.js';

/** Niceness of each thread of this process, by thread id (field 19 of /proc/…/stat). */
function niceness(): Map<number, number> {
  const threads = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    threads.set(Number(tid), Number(fields[16]));
  }
  return threads;
}

describe.skipIf(process.platform !== 'linux')('lowerThreadPoolPriority', () => {
  it('renices the thread pool where argon2 runs, and not the event loop', async () => {
    const before = niceness().get(process.pid) ?? 0;
    // One step only: this test's own worker process keeps the setting.
    const reniced = await lowerThreadPoolPriority(before + 1);
    expect(reniced).toBe(Number(process.env.UV_THREADPOOL_SIZE) || 4);
    const after = niceness();
    expect(after.get(process.pid)).toBe(before);
    expect([...after.values()].filter((n) => n === before + 1)).toHaveLength(reniced);
  });

  it('changes nothing when asked for niceness 0', async () => {
    expect(await lowerThreadPoolPriority(0)).toBe(0);
  });
});
