import { describe, expect, it } from 'vitest';
import { HttpError } from './http-error.js';
import { optionalInstant, optionalInt } from './query.js';

/** The 400 a query parser throws, or undefined when it does not throw. */
function refusal(read: () => unknown): { status: number; body: unknown } | undefined {
  try {
    read();
    return undefined;
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    return { status: error.status, body: error.body };
  }
}

describe('optionalInt', () => {
  it('reads absent as undefined and digits within the bounds as the number', () => {
    expect(optionalInt(undefined, 'limit', 1, 500)).toBeUndefined();
    expect(optionalInt('1', 'limit', 1, 500)).toBe(1);
    expect(optionalInt('500', 'limit', 1, 500)).toBe(500);
    expect(optionalInt('007', 'limit', 1, 500)).toBe(7);
  });

  it('refuses out-of-range values and every spelling that is not plain digits with a 400 naming the parameter', () => {
    for (const text of ['0', '501', '', '-1', '+1', '1.0', '1e2', ' 1', '1 ', '0x10', 'NaN', '12345678901234567']) {
      expect(
        refusal(() => optionalInt(text, 'limit', 1, 500)),
        JSON.stringify(text),
      ).toEqual({
        status: 400,
        body: { limit: ['Must be an integer from 1 to 500.'] },
      });
    }
  });

  it('refuses digits past the safe-integer range rather than rounding them', () => {
    expect(refusal(() => optionalInt('9007199254740993', 'id', 0, Number.MAX_SAFE_INTEGER))?.status).toBe(400);
  });
});

describe('optionalInstant', () => {
  it('reads epoch milliseconds and ISO 8601 with a zone', () => {
    expect(optionalInstant(undefined, 'since')).toBeUndefined();
    expect(optionalInstant('1764000000000', 'since')).toBe(1_764_000_000_000);
    expect(optionalInstant('2026-11-22T10:00:00Z', 'since')).toBe(Date.UTC(2026, 10, 22, 10));
    expect(optionalInstant('2026-11-22T12:00:00.5+02:00', 'since')).toBe(Date.UTC(2026, 10, 22, 10, 0, 0, 500));
    expect(optionalInstant('2026-11-22', 'since')).toBe(Date.UTC(2026, 10, 22));
  });

  it('refuses a time without a zone (it would mean the server’s local time) and anything not a date', () => {
    for (const text of ['2026-11-22T10:00:00', '2026-11-22T10:00', 'yesterday', '', '2026-13-45T10:00:00Z', '-1']) {
      expect(
        refusal(() => optionalInstant(text, 'since')),
        JSON.stringify(text),
      ).toEqual({
        status: 400,
        body: { since: ['Give an ISO 8601 time with a zone (2026-11-22T10:00:00Z) or epoch milliseconds.'] },
      });
    }
  });
});
