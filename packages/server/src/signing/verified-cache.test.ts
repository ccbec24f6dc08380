import { describe, expect, it } from 'vitest';
import { VerifiedCache } from './verified-cache.js';

describe('VerifiedCache', () => {
  it('keeps out an entry whose check began before a revocation', () => {
    const cache = new VerifiedCache<string>(10);
    const before = cache.generation;
    cache.forget(() => true); // a revocation lands while the check runs
    cache.set('token', 'principal', 10_000, 0, before);
    expect(cache.get('token', 1)).toBeUndefined();
    cache.set('token', 'principal', 10_000, 0, cache.generation);
    expect(cache.get('token', 1)?.value).toBe('principal');
  });

  it('drops an entry refreshed after a revocation landed meanwhile', () => {
    const cache = new VerifiedCache<string>(10);
    cache.set('token', 'principal', 10_000, 0);
    const before = cache.generation;
    cache.forget((value) => value === 'someone else');
    cache.refresh('token', 'principal', 5, before);
    expect(cache.get('token', 6)).toBeUndefined();
  });

  it('forgets entries at their expiry and the oldest past its bound', () => {
    const cache = new VerifiedCache<string>(2);
    cache.set('a', 'A', 100, 0);
    cache.set('b', 'B', 100, 0);
    cache.set('c', 'C', 100, 0);
    expect(cache.get('a', 1)).toBeUndefined();
    expect(cache.get('b', 100)).toBeUndefined();
    expect(cache.get('c', 99)?.value).toBe('C');
  });
});
