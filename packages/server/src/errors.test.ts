import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AUTH_FAILURES } from './auth/principal.js';
import { ERROR_CODES, isTesseraError, TesseraError } from './errors.js';

const docs = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

describe('error codes', () => {
  it.each(Object.keys(ERROR_CODES))('documents %s in docs/errors.md', (code) => {
    expect(docs).toContain(`| \`${code}\` |`);
  });

  it.each(Object.keys(AUTH_FAILURES))('documents the authentication failure %s', (code) => {
    expect(docs).toContain(`| \`${code}\` |`);
  });

  it('gives every thrown error its code, its name, a default message and the cause', () => {
    const cause = new Error('root');
    const error = new TesseraError('USER_NOT_FOUND', undefined, { cause });
    expect(error.code).toBe('USER_NOT_FOUND');
    expect(error.name).toBe('TesseraError');
    expect(error.message).toBe(ERROR_CODES.USER_NOT_FOUND);
    expect(error.cause).toBe(cause);
    expect(error.stack).toContain('errors.test.ts');
    expect(isTesseraError(error, 'USER_NOT_FOUND')).toBe(true);
    expect(isTesseraError(error, 'USERNAME_TAKEN')).toBe(false);
    expect(isTesseraError(new Error('x'))).toBe(false);
  });
});
