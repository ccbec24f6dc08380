import type { IncomingMessage } from 'node:http';

/**
 * The client's address. `X-Forwarded-For` is believed only when the direct peer is a
 * configured proxy, and then only up to the first hop no trusted proxy vouches for — the
 * left-most entries are whatever the client chose to write (SECURITY B4).
 */
export function clientAddress(req: IncomingMessage, trustedProxies: ReadonlySet<string>): string {
  const peer = normalize(req.socket.remoteAddress ?? '');
  if (trustedProxies.size === 0 || !trustedProxies.has(peer)) return peer;
  const header = req.headers['x-forwarded-for'];
  if (typeof header !== 'string') return peer;
  const hops = header.split(',').map((h) => normalize(h.trim()));
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i];
    if (hop && !trustedProxies.has(hop)) return hop;
  }
  return peer;
}

/** True when the request reached us over TLS, directly or through a trusted proxy. */
export function isSecure(req: IncomingMessage, trustedProxies: ReadonlySet<string>): boolean {
  if ((req.socket as { encrypted?: boolean }).encrypted) return true;
  const peer = normalize(req.socket.remoteAddress ?? '');
  return trustedProxies.has(peer) && req.headers['x-forwarded-proto'] === 'https';
}

function normalize(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
