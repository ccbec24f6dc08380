import { describe, expect, it } from 'vitest';
import { TokenCache } from './token-cache.js';

describe('TokenCache', () => {
  it('shares one fetch among concurrent callers and refetches only inside the margin', async () => {
    let now = 0;
    let fetches = 0;
    const cache = new TokenCache(
      async () => ({ id: ++fetches, expiresAt: now + 60_000 }),
      () => now,
      30_000,
    );
    const tokens = await Promise.all([cache.get(), cache.get(), cache.get()]);
    expect(tokens.map((t) => t.id)).toEqual([1, 1, 1]);
    now = 29_999;
    expect((await cache.get()).id).toBe(1);
    now = 30_000;
    expect((await cache.get()).id).toBe(2);
  });

  it('does not cache a failure', async () => {
    let calls = 0;
    const cache = new TokenCache(
      async () => {
        calls++;
        if (calls === 1) throw new Error('down');
        return { expiresAt: Number.MAX_SAFE_INTEGER };
      },
      () => 0,
      0,
    );
    await expect(cache.get()).rejects.toThrow('down');
    await expect(cache.get()).resolves.toEqual({ expiresAt: Number.MAX_SAFE_INTEGER });
    expect(calls).toBe(2);
  });
});
