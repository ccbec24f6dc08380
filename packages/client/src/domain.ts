/**
 * The domain rule of coreapi's auth (seed 001): `'*'` matches every host, `'api.example.com'`
 * that host only, `'*.example.com'` its subdomains at any depth but not `example.com` itself.
 * Hosts are compared in their ASCII (punycode) lower-case form, as `new URL().hostname`
 * gives them, without a trailing dot; ports never matter.
 */

/**
 * Normalises a domain pattern: lower case, IDN to punycode, port and trailing dot dropped.
 * Throws `TypeError` naming `domain` when the pattern is not a host name.
 *
 * @example
 * ```ts
 * normalizeDomain('*.BÜCHER.example:8443'); // '*.xn--bcher-kva.example'
 * ```
 */
export function normalizeDomain(domain: string): string {
  if (typeof domain !== 'string' || domain.trim() === '') throw new TypeError('domain must be a non-empty string');
  const trimmed = domain.trim();
  if (trimmed === '*') return '*';
  const wildcard = trimmed.startsWith('*.');
  const host = wildcard ? trimmed.slice(2) : trimmed;
  if (host.includes('*') || host.includes('/'))
    throw new TypeError(`domain ${JSON.stringify(domain)} is not a host name`);
  let hostname: string;
  try {
    hostname = new URL(`http://${host}/`).hostname;
  } catch {
    throw new TypeError(`domain ${JSON.stringify(domain)} is not a host name`);
  }
  hostname = stripDot(hostname);
  return wildcard ? `*.${hostname}` : hostname;
}

/**
 * Whether a normalised domain pattern covers the host of `url`.
 *
 * @example
 * ```ts
 * domainMatches('*.example.com', new URL('https://api.example.com:8443/')); // true
 * domainMatches('*.example.com', new URL('https://example.com/'));          // false
 * ```
 */
export function domainMatches(pattern: string, url: URL): boolean {
  if (pattern === '*') return true;
  const host = stripDot(url.hostname.toLowerCase());
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return host === pattern;
}

function stripDot(host: string): string {
  return host.endsWith('.') ? host.slice(0, -1) : host;
}
