import { describe, expect, it } from 'vitest';
import { hostRule, isAllowedHost, normalizeAllowedHost } from './host-allow-list.js';

describe('hostRule defaults (issue 13: no Host allow-list)', () => {
  it('item 2: bound to loopback and unset, answers only the loopback names, on any port', () => {
    const rule = hostRule(null, '127.0.0.1');
    for (const host of [
      'localhost',
      'LOCALHOST:8000',
      '127.0.0.1',
      '127.0.0.1:1',
      '[::1]',
      '[::1]:8000',
      'localhost.',
    ]) {
      expect(isAllowedHost(host, rule), host).toBe(true);
    }
    for (const host of ['evil.example', 'evil.example:8000', 'localhost.evil.example', '127.0.0.2', '']) {
      expect(isAllowedHost(host, rule), host).toBe(false);
    }
    expect(isAllowedHost(undefined, rule)).toBe(false);
  });

  it('item 2: a loopback address other than 127.0.0.1 also answers to itself', () => {
    expect(isAllowedHost('127.0.0.2:80', hostRule(null, '127.0.0.2'))).toBe(true);
    expect(isAllowedHost('[::1]:80', hostRule(null, '::1'))).toBe(true);
    expect(isAllowedHost('localhost', hostRule(null, '::ffff:127.0.0.1'))).toBe(true);
  });

  it('item 2: bound beyond loopback and unset, answers any Host', () => {
    for (const address of ['0.0.0.0', '::', '10.0.0.5', undefined]) {
      expect(hostRule(null, address)).toEqual({ kind: 'any' });
    }
  });

  it('item 2: a configured list replaces the default, wherever the server is bound', () => {
    const rule = hostRule(['auth.example', '*.corp.example', '[2001:db8::1]', '10.0.0.5'], '127.0.0.1');
    for (const host of [
      'auth.example',
      'Auth.Example:443',
      'a.corp.example',
      'a.b.corp.example:8000',
      '[2001:db8::1]:80',
      '10.0.0.5',
    ]) {
      expect(isAllowedHost(host, rule), host).toBe(true);
    }
    for (const host of ['corp.example', 'acorp.example', 'localhost', 'auth.example.evil', '10.0.0.6']) {
      expect(isAllowedHost(host, rule), host).toBe(false);
    }
    expect(hostRule(['*'], '127.0.0.1')).toEqual({ kind: 'any' });
  });

  it('item 2: a malformed Host is refused, whatever it starts with', () => {
    const rule = hostRule(['auth.example'], '0.0.0.0');
    for (const host of [
      'auth.example:80x',
      'auth.example:80:80',
      'auth.example@evil',
      '[auth.example',
      'auth.example/x',
    ]) {
      expect(isAllowedHost(host, rule), host).toBe(false);
    }
  });
});

describe('normalizeAllowedHost (TESSERA_ALLOWED_HOSTS entries)', () => {
  it('item 2: lower-cases names, brackets IPv6, drops a trailing dot', () => {
    expect(normalizeAllowedHost('Auth.Example.')).toBe('auth.example');
    expect(normalizeAllowedHost('*.Corp.Example')).toBe('*.corp.example');
    expect(normalizeAllowedHost('2001:DB8::1')).toBe('[2001:db8::1]');
    expect(normalizeAllowedHost('[::1]')).toBe('[::1]');
    expect(normalizeAllowedHost('10.0.0.5')).toBe('10.0.0.5');
    expect(normalizeAllowedHost('*')).toBe('*');
  });

  it('item 2: refuses ports, schemes, paths and bad wildcards', () => {
    for (const entry of [
      'auth.example:443',
      'https://auth.example',
      'auth.example/x',
      '*example.com',
      'a.*.example',
      '-a.example',
      '',
      '*.',
    ]) {
      expect(normalizeAllowedHost(entry), entry).toBeUndefined();
    }
  });
});
