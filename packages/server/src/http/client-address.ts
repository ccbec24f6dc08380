import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { trimHttpWhitespace } from './whitespace.js';

/**
 * The client's address. `X-Forwarded-For` is believed only when the direct peer is a
 * configured proxy, and then only up to the first hop no trusted proxy vouches for — the
 * left-most entries are whatever the client chose to write (SECURITY B4).
 *
 * Each entry read must be an IP address ({@link forwardedAddress}); the throttle keys on what
 * this returns, so `1.2.3.4:5` and `1.2.3.4:6` must not be two clients (issue 13). An entry
 * that is not an address — `unknown`, junk, a port past 65535 — ends the walk: the request is
 * taken to come from the nearest hop that is trusted (the proxy that passed the junk on),
 * never refused, since a well-configured proxy always writes a real address there and junk
 * can only reach that position through a proxy's own choice. Entries are read right to left
 * and no further than needed, one scan of the header (issue 13 item 1: linear parsers).
 */
export function clientAddress(req: IncomingMessage, trustedProxies: ReadonlySet<string>): string {
  const peer = normalize(req.socket.remoteAddress ?? '');
  if (trustedProxies.size === 0 || !trustedProxies.has(peer)) return peer;
  const header = req.headers['x-forwarded-for'];
  if (typeof header !== 'string') return peer;
  let vouched = peer;
  let end = header.length;
  for (;;) {
    const comma = end === 0 ? -1 : header.lastIndexOf(',', end - 1);
    const element = trimHttpWhitespace(header.slice(comma + 1, end));
    // Empty list elements are ignored (RFC 9110 5.6.1.2); node joins repeated headers with ", ".
    if (element !== '') {
      const hop = forwardedAddress(element);
      if (hop === undefined) return vouched;
      if (!trustedProxies.has(hop)) return hop;
      vouched = hop;
    }
    if (comma === -1) return vouched;
    end = comma;
  }
}

/** True when the request reached us over TLS, directly or through a trusted proxy. */
export function isSecure(req: IncomingMessage, trustedProxies: ReadonlySet<string>): boolean {
  if ((req.socket as { encrypted?: boolean }).encrypted) return true;
  const peer = normalize(req.socket.remoteAddress ?? '');
  return trustedProxies.has(peer) && req.headers['x-forwarded-proto'] === 'https';
}

/** Longest element worth reading: a bracketed IPv6 address with a zone and a port is shorter. */
const MAX_ELEMENT = 100;

/**
 * One `X-Forwarded-For` element as an address, or undefined when it is none. Accepted: an IPv4
 * or IPv6 address (node:net `isIP`, which refuses leading zeros and other lenient spellings),
 * and the two forms with a port that proxies write (Azure Application Gateway appends
 * `a.b.c.d:port`; RFC 7239 6's node syntax brackets IPv6: `[v6]` or `[v6]:port`) — the port
 * dropped, since it names a connection, not a client. A bare IPv6 address never has a port:
 * its last group would be ambiguous. IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes the IPv4
 * address, as for the peer.
 */
export function forwardedAddress(element: string): string | undefined {
  if (element.length > MAX_ELEMENT) return undefined;
  if (isIP(element) !== 0) return normalize(element);
  if (element.startsWith('[')) {
    const close = element.indexOf(']');
    const inner = element.slice(1, close);
    const after = element.slice(close + 1);
    if (close === -1 || isIP(inner) !== 6 || (after !== '' && !isPortSuffix(after))) return undefined;
    return normalize(inner);
  }
  const colon = element.lastIndexOf(':');
  const host = element.slice(0, colon);
  return colon !== -1 && isIP(host) === 4 && isPortSuffix(element.slice(colon)) ? host : undefined;
}

/** `:` and a port number, 0–65535, in decimal digits. */
function isPortSuffix(text: string): boolean {
  if (text.length < 2 || text.length > 6 || text[0] !== ':') return false;
  for (let i = 1; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x30 || code > 0x39) return false;
  }
  return Number(text.slice(1)) <= 65535;
}

/** IPv4-mapped IPv6 (`::ffff:192.0.2.1`, in either case) is the IPv4 address it maps. */
function normalize(address: string): string {
  return address.length > 7 && address.slice(0, 7).toLowerCase() === '::ffff:' && address.includes('.')
    ? address.slice(7)
    : address;
}
