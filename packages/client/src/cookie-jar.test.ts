import { describe, expect, it } from 'vitest';
import { CookieJar } from './cookie-jar.js';

const u = (s: string) => new URL(s);

describe('CookieJar', () => {
  it('sends a host-only cookie to its host only, not to subdomains', () => {
    const jar = new CookieJar();
    jar.setCookie('sid=1', u('http://example.com/'));
    expect(jar.cookieHeader(u('http://example.com/a'))).toBe('sid=1');
    expect(jar.cookieHeader(u('http://api.example.com/'))).toBe('');
  });

  it('sends a Domain cookie to the domain and its subdomains', () => {
    const jar = new CookieJar();
    expect(jar.setCookie('sid=1; Domain=.Example.com', u('http://api.example.com/'))).toBe(true);
    expect(jar.cookieHeader(u('http://example.com/'))).toBe('sid=1');
    expect(jar.cookieHeader(u('http://x.y.example.com/'))).toBe('sid=1');
    expect(jar.cookieHeader(u('http://notexample.com/'))).toBe('');
  });

  it('refuses a Domain that does not cover the setting host, or a bare top-level domain', () => {
    const jar = new CookieJar();
    expect(jar.setCookie('a=1; Domain=other.com', u('http://example.com/'))).toBe(false);
    expect(jar.setCookie('b=1; Domain=api.example.com', u('http://example.com/'))).toBe(false);
    expect(jar.setCookie('c=1; Domain=com', u('http://example.com/'))).toBe(false);
    expect(jar.setCookie('d=1; Domain=0.0.1', u('http://127.0.0.1/'))).toBe(false);
    expect(jar.all()).toEqual([]);
  });

  it('matches paths on segment boundaries and defaults the path to the directory of the request', () => {
    const jar = new CookieJar();
    jar.setCookie('a=1; Path=/users', u('http://h.test/'));
    jar.setCookie('b=2', u('http://h.test/api/v1/login'));
    expect(jar.cookieHeader(u('http://h.test/users'))).toBe('a=1');
    expect(jar.cookieHeader(u('http://h.test/users/7'))).toBe('a=1');
    expect(jar.cookieHeader(u('http://h.test/usersettings'))).toBe('');
    expect(jar.cookieHeader(u('http://h.test/api/v1/me'))).toBe('b=2');
    expect(jar.cookieHeader(u('http://h.test/api/'))).toBe('');
  });

  it('orders longer paths first', () => {
    const jar = new CookieJar();
    jar.setCookie('x=root; Path=/', u('http://h.test/'));
    jar.setCookie('x=deep; Path=/a/b', u('http://h.test/'));
    expect(jar.cookieHeader(u('http://h.test/a/b/c'))).toBe('x=deep; x=root');
  });

  it('expires cookies by Expires and by Max-Age, Max-Age winning', () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const jar = new CookieJar({ now: () => now });
    jar.setCookie('e=1; Expires=Tue, 01 Jan 2030 00:01:00 GMT', u('http://h.test/'));
    jar.setCookie('m=1; Max-Age=30; Expires=Tue, 01 Jan 2030 01:00:00 GMT', u('http://h.test/'));
    expect(jar.cookieHeader(u('http://h.test/'))).toBe('e=1; m=1');
    now += 31_000;
    expect(jar.cookieHeader(u('http://h.test/'))).toBe('e=1');
    now += 30_000;
    expect(jar.cookieHeader(u('http://h.test/'))).toBe('');
  });

  it('deletes a cookie on Max-Age=0 or a past Expires, as logout does', () => {
    const jar = new CookieJar();
    jar.setCookie('sessionid=abc; Path=/', u('http://h.test/'));
    jar.setCookie('csrftoken=t; Path=/', u('http://h.test/'));
    jar.setCookie('sessionid=""; Max-Age=0; Path=/', u('http://h.test/'));
    jar.setCookie('csrftoken=""; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/', u('http://h.test/'));
    expect(jar.all()).toEqual([]);
  });

  it('replaces a cookie of the same name, domain and path', () => {
    const jar = new CookieJar();
    jar.setCookie('csrftoken=old', u('http://h.test/'));
    jar.setCookie('csrftoken=new', u('http://h.test/'));
    expect(jar.get('csrftoken', u('http://h.test/'))).toBe('new');
    expect(jar.all()).toHaveLength(1);
  });

  it('sends Secure cookies over https only, and refuses Secure cookies set over http', () => {
    const jar = new CookieJar();
    expect(jar.setCookie('s=1; Secure', u('http://h.test/'))).toBe(false);
    expect(jar.setCookie('s=2; Secure; HttpOnly', u('https://h.test/'))).toBe(true);
    expect(jar.cookieHeader(u('http://h.test/'))).toBe('');
    expect(jar.cookieHeader(u('https://h.test/'))).toBe('s=2');
    expect(jar.all()[0]?.httpOnly).toBe(true);
  });

  it('reads every Set-Cookie of a response, ignoring nameless ones', () => {
    const jar = new CookieJar();
    const headers = new Headers();
    headers.append('set-cookie', 'sessionid=abc; HttpOnly; Path=/; SameSite=Lax');
    headers.append('set-cookie', 'csrftoken=xyz; Path=/; SameSite=Lax');
    headers.append('set-cookie', 'novalue');
    jar.storeResponse(headers, u('http://127.0.0.1:8000/authentication/login/'));
    expect(jar.cookieHeader(u('http://127.0.0.1:9999/users/users/'))).toBe('sessionid=abc; csrftoken=xyz');
  });
});
