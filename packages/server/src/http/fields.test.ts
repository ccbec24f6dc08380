import { describe, expect, it } from 'vitest';
import { Fields } from './fields.js';
import { HttpError } from './http-error.js';

/** The body of the 400 `check()` throws, or undefined when every field was valid. */
function errorsOf(fields: Fields): unknown {
  try {
    fields.check();
    return undefined;
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    expect(error.status).toBe(400);
    return error.body;
  }
}

describe('Fields', () => {
  it('reads strings, booleans and string lists of the right type, and passes check()', () => {
    const fields = new Fields({ username: 'alice', admin: true, active: 'False', scopes: ['read', 'write'], one: 'x' });
    expect(fields.string('username', { required: true })).toBe('alice');
    expect(fields.string('missing')).toBeUndefined();
    expect(fields.boolean('admin')).toBe(true);
    expect(fields.boolean('active')).toBe(false);
    expect(fields.stringList('scopes')).toEqual(['read', 'write']);
    expect(fields.stringList('one')).toEqual(['x']);
    expect(errorsOf(fields)).toBeUndefined();
  });

  it('collects every problem, in DRF’s words, into one 400 (a client learns them all at once)', () => {
    const fields = new Fields({
      password: '',
      username: { $ne: 1 },
      admin: 'yes',
      scopes: ['read', 2],
      name: 'a\u0000b',
    });
    expect(fields.string('password', { required: true })).toBeUndefined();
    expect(fields.string('username', { required: true })).toBeUndefined();
    expect(fields.string('email', { required: true })).toBeUndefined();
    expect(fields.boolean('admin')).toBeUndefined();
    expect(fields.stringList('scopes')).toBeUndefined();
    expect(fields.string('name')).toBeUndefined();
    expect(errorsOf(fields)).toEqual({
      password: ['This field may not be blank.'],
      username: ['Not a valid string.'],
      email: ['This field is required.'],
      admin: ['Must be a valid boolean.'],
      scopes: ['Expected a list of strings.'],
      name: ['Null characters are not allowed.'],
    });
  });

  it('never coerces an array or a number where a string belongs', () => {
    const fields = new Fields({ username: ['alice'], password: 12345 });
    expect(fields.string('username')).toBeUndefined();
    expect(fields.string('password')).toBeUndefined();
    expect(errorsOf(fields)).toEqual({ username: ['Not a valid string.'], password: ['Not a valid string.'] });
  });

  it('treats null as absent, and an empty optional string as given', () => {
    const fields = new Fields({ name: null, note: '' });
    expect(fields.string('name', { required: false })).toBeUndefined();
    expect(fields.string('note')).toBe('');
    expect(fields.has('note')).toBe(true);
    expect(fields.has('other')).toBe(false);
    expect(errorsOf(fields)).toBeUndefined();
  });

  it('keeps several errors of one field in the order they were found', () => {
    const fields = new Fields({});
    fields.error('password', 'This password is too short.');
    fields.error('password', 'This password is too common.');
    expect(errorsOf(fields)).toEqual({ password: ['This password is too short.', 'This password is too common.'] });
  });
});
