import { describe, expect, it } from 'vitest';
import { canonicalUsername, usernameSkeleton } from './username-identity.js';

const identity = (name: string) => usernameSkeleton(canonicalUsername(name));

describe('item 9: username identity', () => {
  it('folds case and compatibility forms into one canonical key', () => {
    expect(canonicalUsername('DAVE')).toBe('dave');
    expect(canonicalUsername('ＤＡＶＥ')).toBe('dave');
    expect(canonicalUsername('ａdmin')).toBe('admin');
    expect(canonicalUsername('STRAßE')).toBe(canonicalUsername('strasse'));
    expect(canonicalUsername('ΟΔΟΣ')).toBe(canonicalUsername('οδοσ'));
    // NFC and NFD spellings of é are one name.
    expect(canonicalUsername('caf\u00e9')).toBe(canonicalUsername('cafe\u0301'));
  });

  it('keeps different names apart', () => {
    expect(canonicalUsername('dave')).not.toBe(canonicalUsername('dava'));
    expect(identity('alice')).not.toBe(identity('bob'));
  });

  it('gives lookalikes in other scripts the same skeleton (UTS #39)', () => {
    expect(identity('\u0430dmin')).toBe(identity('admin')); // Cyrillic а
    expect(identity('\u0391DMIN')).toBe(identity('admin')); // Greek Α
    expect(identity('rn')).toBe(identity('m'));
    expect(identity('paypa1')).toBe(identity('paypal'));
    expect(canonicalUsername('\u0430dmin')).not.toBe('admin');
  });
});
