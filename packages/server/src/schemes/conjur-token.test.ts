import { describe, expect, it } from 'vitest';
import { RevocationEvents } from '../credentials/revocation-events.js';
import { ConjurTokenScheme } from './conjur-token.js';

// No database, keyring or users: every header here is refused while it is parsed, before
// any of them is consulted, and consulting one would throw and fail the test.
const scheme = new ConjurTokenScheme(
  undefined as never,
  undefined as never,
  undefined as never,
  () => 0,
  { ttlMs: 480_000, skewMs: 30_000, cacheEntries: 10 },
  new RevocationEvents(),
);
const CHALLENGE = 'Token realm="conjur"';
const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('ConjurTokenScheme: Authorization: Token token="<base64>"', () => {
  it('claims token=… in any case, and nothing else', () => {
    expect(scheme.accepts('token="abc"')).toBe(true);
    expect(scheme.accepts('TOKEN="abc"')).toBe(true);
    expect(scheme.accepts('token=abc')).toBe(true);
    expect(scheme.accepts('a'.repeat(40))).toBe(false);
    expect(scheme.accepts('key:secret')).toBe(false);
    expect(scheme.accepts(' token="abc"')).toBe(false);
  });

  it('requires the quotes, as Conjur does', async () => {
    const value = b64('{"data":"alice"}');
    for (const credentials of [`token=${value}`, `token="${value}`, `token=${value}"`, `token="${value}" x`]) {
      expect(await scheme.authenticate(credentials), credentials).toEqual({
        ok: false,
        code: 'MALFORMED_CREDENTIALS',
        message: 'Malformed token header; expected Token token="<base64 Conjur token>".',
        challenge: CHALLENGE,
      });
    }
  });

  it('refuses a value that is not strict base64 of a JSON object, saying which', async () => {
    const cases: Array<[string, string]> = [
      ['', 'The token is not strict base64.'],
      ['e30', 'The token is not strict base64.'],
      [b64('{}').replace(/=*$/, '').concat('=='), 'The token is not strict base64.'],
      [b64('not json'), 'The token is not JSON.'],
      [b64('[1]'), 'The token is not a JSON object.'],
      [b64('null'), 'The token is not a JSON object.'],
    ];
    for (const [value, message] of cases) {
      expect(await scheme.authenticate(`token="${value}"`), value).toEqual({
        ok: false,
        code: 'MALFORMED_CREDENTIALS',
        message,
        challenge: CHALLENGE,
      });
    }
  });
});
