import { describe, expect, it } from 'vitest';
import { legacyStamp } from '../signing/conjur-token.js';
import { issuedInTime, validAfterAtCreation } from './credentials-valid-after.js';

const SECOND = Date.UTC(2026, 0, 15, 12, 0, 0);

describe('the credentials-valid-after rule (issue 13 item 6)', () => {
  it('counts a token issued at or after the instant, in milliseconds', () => {
    const move = SECOND + 500;
    expect(issuedInTime(SECOND + 499, move)).toBe(false);
    expect(issuedInTime(move, move)).toBe(true);
    expect(issuedInTime(SECOND + 501, move)).toBe(true);
  });

  it('starts a new user at the whole second of their creation', () => {
    expect(validAfterAtCreation(SECOND + 999)).toBe(SECOND);
    expect(validAfterAtCreation(SECOND)).toBe(SECOND);
  });

  it('orders whole-second Conjur stamps around a move in their second as the millisecond times were', () => {
    const move = SECOND + 500;
    for (let minted = SECOND; minted < SECOND + 2000; minted += 50) {
      const stamp = legacyStamp(minted, move);
      expect(issuedInTime(stamp, move), `minted at +${minted - SECOND} ms`).toBe(minted >= move);
      // Never more than a second ahead of the time it was minted, and never behind its second.
      expect(stamp - minted).toBeLessThanOrEqual(1000);
      expect(stamp).toBeGreaterThanOrEqual(Math.floor(minted / 1000) * 1000);
    }
  });
});
