import { describe, expect, it } from 'vitest';
import type { AuthRequest } from './authentication.js';
import { BasicAuthentication } from './basic.js';
import { CookieJar } from './cookie-jar.js';
import { SessionAuthentication } from './session.js';
import { TokenAuthentication } from './token.js';

function request(method: string, url: string, cookies = new CookieJar()): AuthRequest {
  return { method, url: new URL(url), headers: new Headers(), cookies };
}

describe('the built-in schemes', () => {
  it('encodes Basic credentials as base64 of UTF-8 username:password (RFC 7617)', () => {
    const auth = new BasicAuthentication({ username: 'Aladdin', password: 'open sesame' });
    expect(auth.authenticate(request('GET', 'http://h.test/')).headers.get('authorization')).toBe(
      'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==',
    );
    // RFC 7617 section 2.1's own example of the UTF-8 charset: "test" / "123£".
    const utf8 = new BasicAuthentication({ username: 'test', password: '123£' });
    expect(utf8.authenticate(request('GET', 'http://h.test/')).headers.get('authorization')).toBe(
      'Basic dGVzdDoxMjPCow==',
    );
  });

  it('refuses a Basic username with a colon, and a token scheme that is not a token', () => {
    expect(() => new BasicAuthentication({ username: 'a:b', password: 'x' })).toThrow(TypeError);
    expect(() => new TokenAuthentication({ token: 't', scheme: 'Bad Scheme' })).toThrow(TypeError);
    expect(() => new TokenAuthentication({ token: '' })).toThrow(TypeError);
    // An unset TESSERA_TOKEN: the message says which credential belongs there and how to make one.
    const unset = { token: process.env.TESSERA_TOKEN_NEVER_SET } as unknown as { token: string };
    expect(() => new TokenAuthentication(unset)).toThrow(
      /needs a non-empty token, got undefined: for Tessera, a personal token \(tsr_…, made with `npx tessera token create <username>`/,
    );
  });

  it('sends the token under the scheme word asked for, Bearer by default', () => {
    const header = (auth: TokenAuthentication) => auth.authenticate(request('GET', 'http://h.test/')).headers;
    expect(header(new TokenAuthentication({ token: 'abc' })).get('authorization')).toBe('Bearer abc');
    expect(header(new TokenAuthentication({ token: 'abc', scheme: 'Token' })).get('authorization')).toBe('Token abc');
    expect(header(new TokenAuthentication({ token: 'k:s', scheme: 'token' })).get('authorization')).toBe('token k:s');
  });

  it('adds nothing to a request outside its domain', () => {
    const basic = new BasicAuthentication({ username: 'u', password: 'p', domain: '*.example.com' });
    expect(basic.authenticate(request('GET', 'http://example.com/')).headers.has('authorization')).toBe(false);
    expect(basic.authenticate(request('GET', 'http://a.example.com/')).headers.has('authorization')).toBe(true);
  });

  it('mirrors the CSRF cookie into the CSRF header on unsafe methods only', () => {
    const jar = new CookieJar();
    jar.setCookie('csrftoken=t0k', new URL('http://h.test/'));
    const auth = new SessionAuthentication();
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'])
      expect(auth.authenticate(request(method, 'http://h.test/x', jar)).headers.get('x-csrftoken')).toBe('t0k');
    for (const method of ['GET', 'HEAD', 'OPTIONS'])
      expect(auth.authenticate(request(method, 'http://h.test/x', jar)).headers.has('x-csrftoken')).toBe(false);
    const custom = new SessionAuthentication({ csrfCookieName: 'XSRF-TOKEN', csrfHeaderName: 'X-XSRF-TOKEN' });
    jar.setCookie('XSRF-TOKEN=other', new URL('http://h.test/'));
    expect(custom.authenticate(request('POST', 'http://h.test/', jar)).headers.get('x-xsrf-token')).toBe('other');
  });
});
