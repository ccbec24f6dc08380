import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { trimHttpWhitespace } from './whitespace.js';

/** What the function computed before issue 13 item 1: right answers, in O(n²) on `a` + spaces + `b`. */
const byRegex = (text: string) => text.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');

describe('trimHttpWhitespace', () => {
  it('strips tab, LF, CR and space from both ends and nothing else (RFC 9110 5.6.3)', () => {
    expect(trimHttpWhitespace(' \t\r\nToken abc \t\r\n')).toBe('Token abc');
    expect(trimHttpWhitespace('\u00a0abc\ufeff')).toBe('\u00a0abc\ufeff');
    expect(trimHttpWhitespace('   ')).toBe('');
    expect(trimHttpWhitespace('')).toBe('');
    expect(trimHttpWhitespace('a   b')).toBe('a   b');
  });

  it('item 1: answers as the regular expression did, for any mix of whitespace and other characters', () => {
    const char = fc.constantFrom(' ', '\t', '\r', '\n', 'a', '\u00a0', '\u3000', '\v', '\f');
    fc.assert(
      fc.property(fc.array(char, { maxLength: 40 }), (chars) => {
        const text = chars.join('');
        expect(trimHttpWhitespace(text)).toBe(byRegex(text));
      }),
      { numRuns: 2000, seed: 13 },
    );
  });

  it('item 1: a million spaces between two letters take one pass, not a million', () => {
    const text = `a${' '.repeat(1_000_000)}b`;
    // O(n²) here would be 10^12 steps: the call would not return within the test timeout.
    expect(trimHttpWhitespace(` ${text} `)).toBe(text);
  });
});
