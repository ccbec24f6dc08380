import { describe, expect, it } from 'vitest';
import { decodeBasic } from './basic.js';

const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64');

describe('decodeBasic (RFC 7617)', () => {
  it('splits UTF-8 user:password on the first colon, keeping colons in the password', () => {
    expect(decodeBasic(b64('alice:secret'))).toEqual(['alice', 'secret']);
    expect(decodeBasic(b64('alice:a:b:c'))).toEqual(['alice', 'a:b:c']);
    expect(decodeBasic(b64('zoë:pässwörd'))).toEqual(['zoë', 'pässwörd']);
    expect(decodeBasic(b64('alice:'))).toEqual(['alice', '']);
  });

  it('drops the one trailing newline `echo user:pass | base64` adds, and no more', () => {
    expect(decodeBasic(b64('alice:secret\n'))).toEqual(['alice', 'secret']);
    expect(decodeBasic(b64('alice:secret\r\n'))).toEqual(['alice', 'secret']);
    expect(decodeBasic(b64('alice:secret\n\n'))).toBe('Invalid basic header. Credentials contain control characters.');
  });

  it('refuses each malformed form with its own reason', () => {
    const cases: Array<[string, string]> = [
      ['', 'Invalid basic header. No credentials provided.'],
      [`${b64('a:b')} x`, 'Invalid basic header. Credentials string should not contain spaces.'],
      [b64('ab:c').replace(/=+$/, ''), 'Invalid basic header. Credentials not correctly base64 encoded.'],
      [
        Buffer.from([0xfb, 0xff, 0x3a, 0x61]).toString('base64url'),
        'Invalid basic header. Credentials not correctly base64 encoded.',
      ],
      // "YR==" decodes to "a" as "YQ==" does: only the canonical spelling is accepted.
      ['YR==', 'Invalid basic header. Credentials not correctly base64 encoded.'],
      [b64(Buffer.from([0xff, 0xfe, 0x3a, 0x61])), 'Invalid basic header. Credentials are not valid UTF-8.'],
      [b64('ali\u0000ce:pw'), 'Invalid basic header. Credentials contain control characters.'],
      [b64('alice:\u007f'), 'Invalid basic header. Credentials contain control characters.'],
      [b64('alice'), 'Invalid basic header. Credentials should be <username>:<password>.'],
      [b64(':secret'), 'Invalid basic header. The username is empty.'],
    ];
    for (const [credentials, reason] of cases) expect(decodeBasic(credentials), credentials).toBe(reason);
  });
});
