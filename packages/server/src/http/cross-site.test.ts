import { describe, expect, it } from 'vitest';
import {
  type BrowserRequest,
  browserCredentialRefusal,
  browserRequest,
  csrfTokenRefusal,
  isUnsafe,
  sameOriginRefusal,
} from './cross-site.js';

const SETTINGS = { trustedOrigins: ['https://app.example'], csrfHeaderName: 'x-csrftoken' };
const TOKEN = 'a'.repeat(32);

function request(method: string, headers: Record<string, string>, secure = false): BrowserRequest {
  return browserRequest({ method, headers: { host: 'auth.example', ...headers }, secure });
}

describe('isUnsafe', () => {
  it('treats GET, HEAD and OPTIONS as safe and every other method as unsafe', () => {
    expect(['GET', 'HEAD', 'OPTIONS'].map(isUnsafe)).toEqual([false, false, false]);
    expect(['POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND'].map(isUnsafe)).toEqual([true, true, true, true, true]);
  });
});

describe('sameOriginRefusal', () => {
  const refusal = (headers: Record<string, string>, secure = false, requireReferer = true) =>
    sameOriginRefusal(request('POST', headers, secure), SETTINGS.trustedOrigins, { requireReferer })?.reason ?? null;

  it('lets the own origin and a trusted one through, whatever their case', () => {
    expect(refusal({ origin: 'http://auth.example' })).toBeNull();
    expect(refusal({ origin: 'HTTPS://AUTH.EXAMPLE' }, true)).toBeNull();
    expect(refusal({ origin: 'https://app.example' })).toBeNull();
  });

  it('refuses a foreign origin, a null origin, the other scheme and Sec-Fetch-Site: cross-site', () => {
    expect(refusal({ origin: 'https://evil.example' })).toBe(
      'CSRF Failed: Origin checking failed - https://evil.example does not match any trusted origins.',
    );
    expect(refusal({ origin: 'null' })).toMatch(/^CSRF Failed: Origin checking failed - null /);
    expect(refusal({ origin: 'http://auth.example' }, true)).toMatch(/^CSRF Failed: Origin checking failed/);
    expect(refusal({ 'sec-fetch-site': 'cross-site', origin: 'http://auth.example' })).toBe(
      'CSRF Failed: Cross-site request refused (Sec-Fetch-Site: cross-site).',
    );
  });

  it('over HTTPS without an Origin, demands a same-origin Referer only when asked to', () => {
    expect(refusal({}, true)).toBe('CSRF Failed: Referer checking failed - no Referer.');
    expect(refusal({ referer: 'not a url' }, true)).toBe(
      'CSRF Failed: Referer checking failed - Referer is malformed.',
    );
    expect(refusal({ referer: 'https://evil.example/page' }, true)).toBe(
      'CSRF Failed: Referer checking failed - https://evil.example does not match any trusted origins.',
    );
    expect(refusal({ referer: 'https://auth.example/page' }, true)).toBeNull();
    expect(refusal({}, true, false)).toBeNull();
    expect(refusal({ referer: 'https://evil.example/page' }, true, false)).toBeNull();
    // Over plain HTTP browsers may strip the Referer: it is not demanded.
    expect(refusal({})).toBeNull();
  });

  it('truncates a long foreign origin in the reason', () => {
    const reason = refusal({ origin: `https://${'x'.repeat(10_000)}.example` }) ?? '';
    expect(reason.length).toBeLessThan(300);
  });
});

describe('csrfTokenRefusal', () => {
  it('accepts the bound token and refuses a missing or different one', () => {
    expect(csrfTokenRefusal(TOKEN, TOKEN)).toBeNull();
    expect(csrfTokenRefusal(undefined, TOKEN)?.reason).toBe('CSRF Failed: CSRF token missing.');
    expect(csrfTokenRefusal('', TOKEN)?.reason).toBe('CSRF Failed: CSRF token missing.');
    expect(csrfTokenRefusal('b'.repeat(32), TOKEN)?.reason).toBe('CSRF Failed: CSRF token incorrect.');
    expect(csrfTokenRefusal(TOKEN.slice(1), TOKEN)?.reason).toBe('CSRF Failed: CSRF token incorrect.');
  });
});

describe('browserCredentialRefusal', () => {
  const verdict = (method: string, headers: Record<string, string>, csrfToken: string | null, secure = false) =>
    browserCredentialRefusal(request(method, headers, secure), csrfToken, SETTINGS)?.reason ?? null;
  const basic = `Basic ${Buffer.from('alice:pw').toString('base64')}`;

  it('lets safe methods through, cookies and Basic alike, from anywhere', () => {
    expect(verdict('GET', { origin: 'https://evil.example' }, TOKEN)).toBeNull();
    expect(verdict('HEAD', { authorization: basic, 'sec-fetch-site': 'cross-site' }, null)).toBeNull();
  });

  it('demands the same origin and the CSRF token of a cookie session on an unsafe method', () => {
    expect(verdict('POST', { 'x-csrftoken': TOKEN }, TOKEN)).toBeNull();
    expect(verdict('POST', {}, TOKEN)).toBe('CSRF Failed: CSRF token missing.');
    expect(verdict('POST', { 'x-csrftoken': TOKEN, origin: 'https://evil.example' }, TOKEN)).toMatch(
      /^CSRF Failed: Origin checking failed/,
    );
    expect(verdict('DELETE', { 'x-csrftoken': TOKEN }, TOKEN, true)).toBe(
      'CSRF Failed: Referer checking failed - no Referer.',
    );
  });

  it('refuses cross-site Basic on an unsafe method, and lets a script without Origin through', () => {
    expect(verdict('POST', { authorization: basic, origin: 'https://evil.example' }, null)).toMatch(
      /^CSRF Failed: Origin checking failed/,
    );
    expect(verdict('PUT', { authorization: `bAsIc\t${basic.slice(6)}`, 'sec-fetch-site': 'cross-site' }, null)).toBe(
      'CSRF Failed: Cross-site request refused (Sec-Fetch-Site: cross-site).',
    );
    expect(verdict('POST', { authorization: basic }, null)).toBeNull();
    // No Referer rule for Basic: API clients over HTTPS send none.
    expect(verdict('POST', { authorization: basic }, null, true)).toBeNull();
    expect(verdict('POST', { authorization: basic, origin: 'http://auth.example' }, null)).toBeNull();
  });

  it('asks nothing of header credentials a script must set deliberately', () => {
    for (const authorization of ['Bearer tsr_abc', 'Token abc', 'token key:secret']) {
      expect(verdict('POST', { authorization, origin: 'https://evil.example' }, null)).toBeNull();
    }
  });

  it('reads the first value of a repeated header, as the server does', () => {
    const headers = { host: 'auth.example', origin: ['https://evil.example', 'http://auth.example'] };
    const refused = browserCredentialRefusal(
      browserRequest({ method: 'POST', headers, secure: false }),
      TOKEN,
      SETTINGS,
    );
    expect(refused?.reason).toMatch(/^CSRF Failed: Origin checking failed - https:\/\/evil\.example/);
  });
});
