import { describe, expect, it } from 'vitest';
import { expireCookie, parseCookies, serializeCookie } from './cookies.js';

describe('parseCookies', () => {
  it('reads nothing from a missing or empty header', () => {
    expect(parseCookies(undefined).size).toBe(0);
    expect(parseCookies('').size).toBe(0);
  });

  it('reads name=value pairs separated by semicolons, trimming the spaces around them', () => {
    const cookies = parseCookies('sessionid=abc;csrftoken=def ;  theme = dark ');
    expect([...cookies]).toEqual([
      ['sessionid', ['abc']],
      ['csrftoken', ['def']],
      ['theme', ['dark']],
    ]);
  });

  it('keeps every value of a repeated name, in order, so callers can refuse the ambiguity', () => {
    const cookies = parseCookies('sessionid=first; other=x; sessionid=second');
    expect(cookies.get('sessionid')).toEqual(['first', 'second']);
    expect(cookies.get('other')).toEqual(['x']);
  });

  it('splits on the first = only, keeping = inside values (base64 padding)', () => {
    expect(parseCookies('token=YWJj==; b=c=d').get('token')).toEqual(['YWJj==']);
    expect(parseCookies('b=c=d').get('b')).toEqual(['c=d']);
  });

  it('unquotes a double-quoted value and keeps empty values', () => {
    const cookies = parseCookies('a="quoted value"; b=; c=""; d="');
    expect(cookies.get('a')).toEqual(['quoted value']);
    expect(cookies.get('b')).toEqual(['']);
    expect(cookies.get('c')).toEqual(['']);
    expect(cookies.get('d')).toEqual(['"']);
  });

  it('skips pieces without a name or without =', () => {
    const cookies = parseCookies('=orphan; flag; ; sessionid=abc;;');
    expect([...cookies]).toEqual([['sessionid', ['abc']]]);
    // A nameless piece after another pair (so preceded by a space) is skipped too.
    expect([...parseCookies('sessionid=abc; =orphan;  =x')]).toEqual([['sessionid', ['abc']]]);
  });

  it('keeps names case-sensitive', () => {
    const cookies = parseCookies('SessionId=a; sessionid=b');
    expect(cookies.get('sessionid')).toEqual(['b']);
    expect(cookies.get('SessionId')).toEqual(['a']);
  });
});

describe('serializeCookie', () => {
  it('always sets Path=/ and SameSite=Lax, and never a Domain', () => {
    expect(serializeCookie('sessionid', 'abc')).toBe('sessionid=abc; Path=/; SameSite=Lax');
  });

  it('adds Max-Age (whole seconds), Expires, HttpOnly and Secure when asked, in that order', () => {
    const expires = new Date(Date.UTC(2030, 0, 2, 3, 4, 5));
    expect(
      serializeCookie('sessionid', 'abc', { maxAgeSeconds: 1209600.9, expires, httpOnly: true, secure: true }),
    ).toBe(
      'sessionid=abc; Path=/; SameSite=Lax; Max-Age=1209600; Expires=Wed, 02 Jan 2030 03:04:05 GMT; HttpOnly; Secure',
    );
  });

  it('leaves HttpOnly and Secure off when false', () => {
    const cookie = serializeCookie('csrftoken', 'xyz', { httpOnly: false, secure: false, maxAgeSeconds: 60 });
    expect(cookie).toBe('csrftoken=xyz; Path=/; SameSite=Lax; Max-Age=60');
    expect(cookie).not.toMatch(/HttpOnly|Secure|Domain/);
  });

  it('round-trips through parseCookies', () => {
    const value = 'u6-Qov-kk_XcBPADLM5BzSOvDdAGIclF-LP4mFBf3mc';
    const [pair = ''] = serializeCookie('__Host-sessionid', value, { httpOnly: true }).split(';');
    expect(parseCookies(pair).get('__Host-sessionid')).toEqual([value]);
  });
});

describe('expireCookie', () => {
  it('empties the cookie with Max-Age=0 and an Expires in 1970, on the same path', () => {
    expect(expireCookie('sessionid', false)).toBe(
      'sessionid=; Path=/; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
    );
  });

  it('keeps Secure when the cookie was Secure, so the browser accepts the deletion', () => {
    expect(expireCookie('sessionid', true)).toMatch(/; Max-Age=0; .*; Secure$/);
  });
});
