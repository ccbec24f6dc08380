import { describe, expect, it } from 'vitest';
import { FrappeTokenScheme } from './frappe-token.js';

// No store: every header here is refused by the parser before any lookup, and a lookup
// would throw on the missing store and fail the test.
const scheme = new FrappeTokenScheme(undefined as never);
const MALFORMED = {
  ok: false,
  code: 'MALFORMED_CREDENTIALS',
  message: 'Malformed token header; expected token <api_key>:<api_secret>.',
  challenge: 'Token',
};

describe('FrappeTokenScheme: Authorization: token <api_key>:<api_secret>', () => {
  it('claims credentials with a colon, but not Conjur’s token="…" (which may hold one)', () => {
    expect(scheme.accepts('key:secret')).toBe(true);
    expect(scheme.accepts(':')).toBe(true);
    expect(scheme.accepts('key')).toBe(false);
    expect(scheme.accepts('token="a:b"')).toBe(false);
    expect(scheme.accepts('Token="a:b"')).toBe(false);
  });

  it('refuses an empty side or any whitespace, without a lookup', async () => {
    for (const credentials of [
      ':',
      'key:',
      ':secret',
      'key :secret',
      'key:sec ret',
      'key:\tsecret',
      'key:secret\u00a0',
    ]) {
      expect(await scheme.authenticate(credentials), JSON.stringify(credentials)).toEqual(MALFORMED);
    }
  });
});
