import { describe, expect, it } from 'vitest';
import { accountKey, addressKey } from './login-throttle.js';

describe('addressKey', () => {
  it('keys an IPv4 address by the whole address', () => {
    expect(addressKey('203.0.113.5')).toBe('address:203.0.113.5');
    expect(addressKey('203.0.113.6')).not.toBe(addressKey('203.0.113.5'));
  });

  it('keys an IPv4-mapped IPv6 address as the IPv4 address it maps', () => {
    expect(addressKey('::ffff:203.0.113.5')).toBe(addressKey('203.0.113.5'));
    expect(addressKey('::ffff:127.0.0.1')).toBe('address:127.0.0.1');
    expect(addressKey('::FFFF:203.0.113.5')).toBe(addressKey('203.0.113.5'));
  });

  it('gives every IPv6 address in one /64 the same key', () => {
    const key = addressKey('2001:db8:1:2::1');
    expect(key).toBe('address:2001:db8:1:2::/64');
    for (const address of [
      '2001:db8:1:2:ffff:ffff:ffff:ffff',
      '2001:db8:1:2:3:4:5:6',
      '2001:0db8:0001:0002:0000:0000:0000:0001',
      '2001:DB8:1:2::ABCD',
      '2001:db8:1:2::',
      '2001:db8:1:2::7%eth0',
    ]) {
      expect(addressKey(address), address).toBe(key);
    }
  });

  it('gives IPv6 addresses in different /64s different keys', () => {
    const key = addressKey('2001:db8:1:2::1');
    for (const address of ['2001:db8:1:3::1', '2001:db8:2:2::1', '2001:db9:1:2::1', '2001:db8::1', '::1']) {
      expect(addressKey(address), address).not.toBe(key);
    }
    expect(addressKey('2001:db8::1')).toBe('address:2001:db8:0:0::/64');
  });

  it('keys the IPv6 loopback by its /64', () => {
    expect(addressKey('::1')).toBe('address:0:0:0:0::/64');
    expect(addressKey('0:0:0:0:0:0:0:1')).toBe(addressKey('::1'));
    expect(addressKey('::1')).not.toBe(addressKey('127.0.0.1'));
  });

  it('finds the /64 of an address written with an embedded IPv4 tail', () => {
    // The dotted tail is two groups: this is 2001:db8:0:1:2:3:c000:0201, in 2001:db8:0:1::/64.
    expect(addressKey('2001:db8::1:2:3:192.0.2.1')).toBe(addressKey('2001:db8:0:1::5'));
  });
});

describe('accountKey', () => {
  it('item 3: keys every spelling of one username alike, as the identity rule does', () => {
    expect(accountKey('DAVE')).toBe(accountKey('dave'));
    expect(accountKey('ＤＡＶＥ')).toBe('account:dave');
    expect(accountKey('dave')).not.toBe(accountKey('dora'));
  });

  it("item 7: hashes a name too long to be anyone's into a short key", () => {
    const key = accountKey('x'.repeat(4000));
    expect(key.length).toBeLessThan(80);
    expect(key).toMatch(/^account-sha256:/);
    expect(accountKey('y'.repeat(4000))).not.toBe(key);
  });
});
