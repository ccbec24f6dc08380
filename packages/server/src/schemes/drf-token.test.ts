import { describe, expect, it } from 'vitest';
import { DrfTokenScheme } from './drf-token.js';

// No store: every header here is refused by the parser before any lookup, and a lookup
// would throw on the missing store and fail the test.
const scheme = new DrfTokenScheme(undefined as never);
const KEY = 'a'.repeat(40);

describe('DrfTokenScheme: Authorization: Token <key>', () => {
  it('claims a bare key and leaves Frappe’s key:secret and Conjur’s token="…" to them', () => {
    expect(scheme.accepts(KEY)).toBe(true);
    expect(scheme.accepts('')).toBe(true);
    expect(scheme.accepts('not a key')).toBe(true);
    expect(scheme.accepts(`${KEY}:secret`)).toBe(false);
    expect(scheme.accepts('token="eyJ9"')).toBe(false);
    expect(scheme.accepts('TOKEN="eyJ9"')).toBe(false);
  });

  it('refuses malformed keys in DRF’s words, without a lookup', async () => {
    const cases: Array<[string, string, string]> = [
      ['', 'MALFORMED_CREDENTIALS', 'Invalid token header. No credentials provided.'],
      [' \t', 'MALFORMED_CREDENTIALS', 'Invalid token header. No credentials provided.'],
      [`${KEY} ${KEY}`, 'MALFORMED_CREDENTIALS', 'Invalid token header. Token string should not contain spaces.'],
      [
        `${KEY}\u00a0`,
        'MALFORMED_CREDENTIALS',
        'Invalid token header. Token string should not contain invalid characters.',
      ],
      [
        'é'.repeat(40),
        'MALFORMED_CREDENTIALS',
        'Invalid token header. Token string should not contain invalid characters.',
      ],
      // Printable but not 40 lowercase hex: no key of that shape exists, so it is just wrong.
      ['A'.repeat(40), 'INVALID_CREDENTIALS', 'Invalid token.'],
      ['a'.repeat(39), 'INVALID_CREDENTIALS', 'Invalid token.'],
    ];
    for (const [credentials, code, message] of cases) {
      expect(await scheme.authenticate(credentials), JSON.stringify(credentials)).toEqual({
        ok: false,
        code,
        message,
        challenge: 'Token',
      });
    }
  });
});
