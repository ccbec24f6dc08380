import { describe, expect, it } from 'vitest';
import { domainMatches, normalizeDomain } from './domain.js';

const matches = (domain: string, url: string) => domainMatches(normalizeDomain(domain), new URL(url));

describe('the domain rule', () => {
  it("matches every host with '*'", () => {
    expect(matches('*', 'http://anything.test/')).toBe(true);
    expect(matches('*', 'http://127.0.0.1:9/')).toBe(true);
  });

  it('matches a plain domain only on that exact host, whatever the port', () => {
    expect(matches('example.com', 'https://example.com/')).toBe(true);
    expect(matches('example.com', 'http://example.com:8443/x')).toBe(true);
    expect(matches('example.com', 'https://api.example.com/')).toBe(false);
    expect(matches('example.com', 'https://notexample.com/')).toBe(false);
    expect(matches('example.com', 'https://example.com.evil.test/')).toBe(false);
  });

  it("matches '*.example.com' on subdomains at any depth but not on example.com itself", () => {
    expect(matches('*.example.com', 'https://api.example.com/')).toBe(true);
    expect(matches('*.example.com', 'https://a.b.example.com:444/')).toBe(true);
    expect(matches('*.example.com', 'https://example.com/')).toBe(false);
    expect(matches('*.example.com', 'https://evilexample.com/')).toBe(false);
    expect(matches('*.example.com', 'https://example.com.evil.test/')).toBe(false);
  });

  it('compares case-insensitively, on either side', () => {
    expect(matches('API.Example.COM', 'https://api.example.com/')).toBe(true);
    expect(matches('api.example.com', 'https://API.EXAMPLE.COM/')).toBe(true);
    expect(matches('*.EXAMPLE.com', 'https://Api.Example.Com/')).toBe(true);
  });

  it('compares international names in their punycode form', () => {
    expect(normalizeDomain('Bücher.example')).toBe('xn--bcher-kva.example');
    expect(matches('bücher.example', 'https://xn--bcher-kva.example/')).toBe(true);
    expect(matches('xn--bcher-kva.example', 'https://BÜCHER.example/')).toBe(true);
    expect(matches('*.bücher.example', 'https://shop.bücher.example/')).toBe(true);
    expect(matches('bücher.example', 'https://bucher.example/')).toBe(false);
  });

  it('ignores a port written in the domain and a trailing dot on the host', () => {
    expect(normalizeDomain('api.example.com:8443')).toBe('api.example.com');
    expect(matches('api.example.com', 'https://api.example.com./')).toBe(true);
  });

  it('rejects patterns that are not host names with a TypeError', () => {
    expect(() => normalizeDomain('')).toThrow(TypeError);
    expect(() => normalizeDomain('api.*.com')).toThrow(TypeError);
    expect(() => normalizeDomain('example.com/path')).toThrow(TypeError);
  });
});
