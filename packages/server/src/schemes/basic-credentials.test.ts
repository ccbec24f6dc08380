import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { basicCredentialsOf } from './basic.js';

/** What Conjur's login matched before issue 13 item 1: right answers, in O(n²) on `Basic` + spaces + `a b`. */
const byRegex = (header: string) => /^basic[ \t]+(\S*)\s*$/i.exec(header)?.[1];

describe('basicCredentialsOf (Conjur login)', () => {
  it('reads the credentials after the scheme name, in any case, with whitespace around', () => {
    expect(basicCredentialsOf('Basic dXNlcjpwYXNz')).toBe('dXNlcjpwYXNz');
    expect(basicCredentialsOf('bAsIc \t dXNlcjpwYXNz \r\n')).toBe('dXNlcjpwYXNz');
    expect(basicCredentialsOf('Basic ')).toBe('');
  });

  it('refuses another scheme, a missing gap, and a second word', () => {
    expect(basicCredentialsOf('Token abc')).toBeUndefined();
    expect(basicCredentialsOf('BasicdXNlcjpwYXNz')).toBeUndefined();
    expect(basicCredentialsOf(' Basic abc')).toBeUndefined();
    expect(basicCredentialsOf('Basic a b')).toBeUndefined();
    expect(basicCredentialsOf('Basic')).toBeUndefined();
  });

  it('item 1: answers as the regular expression did, for any header of such pieces', () => {
    const piece = fc.constantFrom('Basic', 'basic', 'BASIC', ' ', '\t', '\n', '\u00a0', 'a', 'b', '=', 'Basi', 'c');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const header = pieces.join('');
        expect(basicCredentialsOf(header)).toBe(byRegex(header));
      }),
      { numRuns: 3000, seed: 13 },
    );
  });

  it('item 1: Basic, a million spaces, then `a b` is refused in one pass', () => {
    expect(basicCredentialsOf(`Basic${' '.repeat(1_000_000)}a b`)).toBeUndefined();
    expect(basicCredentialsOf(`Basic a${' '.repeat(1_000_000)}b`)).toBeUndefined();
  });
});
