import { describe, expect, it } from 'vitest';
import { PersonalTokenScheme } from './personal-token.js';

// No store: every header here is refused by the parser before any lookup, and a lookup
// would throw on the missing store and fail the test.
const scheme = new PersonalTokenScheme(undefined as never);

describe('PersonalTokenScheme: Authorization: Bearer tsr_<token>', () => {
  it('claims only credentials with the tsr_ prefix, as written (JWTs and others go elsewhere)', () => {
    expect(scheme.accepts(`tsr_${'A'.repeat(40)}`)).toBe(true);
    expect(scheme.accepts('tsr_')).toBe(true);
    expect(scheme.accepts(`TSR_${'A'.repeat(40)}`)).toBe(false);
    expect(scheme.accepts('eyJhbGciOiJFZERTQSJ9.e30.sig')).toBe(false);
    expect(scheme.accepts('')).toBe(false);
  });

  it('refuses a token of the wrong length or alphabet, without a lookup', async () => {
    for (const credentials of [
      'tsr_',
      `tsr_${'A'.repeat(39)}`,
      `tsr_${'A'.repeat(41)}`,
      `tsr_${'A'.repeat(39)}+`,
      `tsr_${'A'.repeat(39)}=`,
    ]) {
      expect(await scheme.authenticate(credentials), credentials).toEqual({
        ok: false,
        code: 'MALFORMED_CREDENTIALS',
        message: 'Malformed bearer token; expected Bearer tsr_<token>.',
        challenge: 'Bearer realm="tessera"',
      });
    }
  });
});
