import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientAddress, forwardedAddress } from './client-address.js';

/** The parts of an IncomingMessage clientAddress reads. */
function request(peer: string, forwardedFor?: string): IncomingMessage {
  const headers = forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor };
  return { socket: { remoteAddress: peer }, headers } as unknown as IncomingMessage;
}

const PROXY = new Set(['10.0.0.1', '10.0.0.2', '2001:db8::2']);

describe('forwardedAddress (one X-Forwarded-For element)', () => {
  it('item 3: accepts IPv4 and IPv6 addresses as they are', () => {
    expect(forwardedAddress('192.0.2.7')).toBe('192.0.2.7');
    expect(forwardedAddress('2001:db8::7')).toBe('2001:db8::7');
  });

  it('item 3: drops the port of a.b.c.d:port and [v6]:port, and the brackets of [v6] (RFC 7239 6)', () => {
    expect(forwardedAddress('1.2.3.4:5')).toBe('1.2.3.4');
    expect(forwardedAddress('1.2.3.4:65535')).toBe('1.2.3.4');
    expect(forwardedAddress('[2001:db8::7]:443')).toBe('2001:db8::7');
    expect(forwardedAddress('[2001:db8::7]')).toBe('2001:db8::7');
  });

  it('item 3: reads IPv4-mapped IPv6 as the IPv4 address, in either case', () => {
    expect(forwardedAddress('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(forwardedAddress('::FFFF:192.0.2.7')).toBe('192.0.2.7');
    expect(forwardedAddress('[::ffff:192.0.2.7]:80')).toBe('192.0.2.7');
  });

  it('item 3: refuses everything that is not an address (SECURITY B4)', () => {
    for (const junk of [
      'unknown',
      '',
      'example.com',
      '1.2.3.4:',
      '1.2.3.4:65536',
      '1.2.3.4:5:6',
      '1.2.3.4:+5',
      '1.2.3.4:0x5',
      '01.2.3.4',
      '1.2.3',
      '256.0.0.1',
      '[1.2.3.4]',
      '[2001:db8::7',
      '[2001:db8::7]x',
      '[2001:db8::7]:',
      '2001:db8::7:99999',
      ' 1.2.3.4',
      '\u00a01.2.3.4',
      `1.2.3.4${'0'.repeat(200)}`,
    ]) {
      expect(forwardedAddress(junk), JSON.stringify(junk)).toBeUndefined();
    }
  });
});

describe('clientAddress', () => {
  it('is the peer when the peer is no trusted proxy, whatever the header says (SECURITY B4)', () => {
    expect(clientAddress(request('192.0.2.9', '203.0.113.1'), PROXY)).toBe('192.0.2.9');
    expect(clientAddress(request('::ffff:192.0.2.9', '203.0.113.1'), PROXY)).toBe('192.0.2.9');
  });

  it('is the right-most hop no trusted proxy vouches for', () => {
    expect(clientAddress(request('10.0.0.1', '198.51.100.1, 203.0.113.5, 10.0.0.2'), PROXY)).toBe('203.0.113.5');
    expect(clientAddress(request('10.0.0.1'), PROXY)).toBe('10.0.0.1');
  });

  it('item 3: one client whatever port a proxy appends: 1.2.3.4:5 and 1.2.3.4:6 are 1.2.3.4', () => {
    expect(clientAddress(request('10.0.0.1', '1.2.3.4:5'), PROXY)).toBe('1.2.3.4');
    expect(clientAddress(request('10.0.0.1', '1.2.3.4:6'), PROXY)).toBe('1.2.3.4');
    expect(clientAddress(request('10.0.0.1', '[2001:db8::7]:6, 10.0.0.2:443'), PROXY)).toBe('2001:db8::7');
  });

  it('item 3: an element that is no address ends the walk at the nearest trusted hop', () => {
    expect(clientAddress(request('10.0.0.1', 'unknown'), PROXY)).toBe('10.0.0.1');
    expect(clientAddress(request('10.0.0.1', '203.0.113.5, junk, 10.0.0.2'), PROXY)).toBe('10.0.0.2');
    // Left of the first untrusted address nothing is read: junk there changes nothing.
    expect(clientAddress(request('10.0.0.1', 'junk, 1.2.3.4:7'), PROXY)).toBe('1.2.3.4');
  });

  it('item 3: ignores empty elements and HTTP whitespace around elements (RFC 9110 5.6.1.2)', () => {
    expect(clientAddress(request('10.0.0.1', ' , 203.0.113.5 ,\t, '), PROXY)).toBe('203.0.113.5');
    expect(clientAddress(request('10.0.0.1', ',,,'), PROXY)).toBe('10.0.0.1');
    expect(clientAddress(request('10.0.0.1', '10.0.0.2'), PROXY)).toBe('10.0.0.2');
  });
});
