import type { IncomingMessage, Server } from 'node:http';
import { type AddressInfo, isIP } from 'node:net';
import { detail } from './http-error.js';

/**
 * Which `Host` values the server answers (`TESSERA_ALLOWED_HOSTS`), against DNS rebinding: a
 * page on `evil.example` whose name is made to resolve to 127.0.0.1 reaches a local Tessera as
 * same-origin, but its requests still say `Host: evil.example` (issue 13; SECURITY H "a
 * poisoned Host header"). `any` answers every Host.
 */
export type HostRule = { kind: 'any' } | { kind: 'list'; names: ReadonlySet<string>; suffixes: readonly string[] };

/** The names a loopback-bound server answers to when `TESSERA_ALLOWED_HOSTS` is unset. */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

/**
 * The rule for a server bound to `boundAddress`: the configured entries when there are any
 * (`*` alone meaning any host); unset, the loopback names on a loopback address, else any host
 * — the caller warns about that once at start.
 */
export function hostRule(configured: readonly string[] | null, boundAddress: string | undefined): HostRule {
  if (configured === null) {
    if (boundAddress === undefined || !isLoopback(boundAddress)) return { kind: 'any' };
    const own = isIP(boundAddress) === 6 ? `[${boundAddress}]` : boundAddress;
    return listRule([...LOOPBACK_HOSTS, own]);
  }
  return configured.includes('*') ? { kind: 'any' } : listRule(configured);
}

/**
 * Whether a request's `Host` is one the rule allows. The port is ignored: the port a client
 * names is not ours to police, and a rebinding page can use the right one anyway. A missing or
 * malformed Host is refused whenever there is a list to check it against.
 */
export function isAllowedHost(header: string | undefined, rule: HostRule): boolean {
  if (rule.kind === 'any') return true;
  const name = header === undefined ? undefined : hostName(header);
  if (name === undefined) return false;
  if (rule.names.has(name)) return true;
  return rule.suffixes.some((suffix) => name.length > suffix.length && name.endsWith(suffix));
}

/**
 * The server's rule, settled once it is bound (the default depends on the address): `bind`
 * after listening returns the warning to log when every Host is answered by default; `rule`
 * is for each request (and settles it then, for a server someone started without `bind`).
 */
export function startHostRule(configured: readonly string[] | null): {
  bind(server: Server): string | undefined;
  rule(server: Server): HostRule;
} {
  let settled: HostRule | undefined;
  const settle = (server: Server) => hostRule(configured, (server.address() as AddressInfo | null)?.address);
  return {
    bind(server) {
      settled = settle(server);
      if (configured !== null || settled.kind !== 'any') return undefined;
      return (
        'TESSERA_ALLOWED_HOSTS is unset and the server listens beyond loopback: every Host header is ' +
        'answered, so a DNS-rebinding page can reach it; set the names clients use'
      );
    },
    rule(server) {
      settled ??= settle(server);
      return settled;
    },
  };
}

/** Throws a 400 for a request whose Host the rule does not allow; the value is not echoed. */
export function refuseForeignHost(req: IncomingMessage, rule: HostRule): void {
  if (!isAllowedHost(req.headers.host, rule)) {
    throw detail(400, 'Invalid Host header: this server does not answer to that name (see TESSERA_ALLOWED_HOSTS).');
  }
}

/**
 * One `TESSERA_ALLOWED_HOSTS` entry in the form requests are compared in — lower-case, an IPv6
 * address in brackets, no trailing dot — or undefined when it is none: `*`; `*.example.com`
 * (its subdomains, not `example.com` itself); a DNS name; an IPv4 or IPv6 address. No port.
 */
export function normalizeAllowedHost(entry: string): string | undefined {
  if (entry === '*') return entry;
  const wildcard = entry.startsWith('*.');
  const text = wildcard ? entry.slice(2) : entry;
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (!wildcard && isIP(bare) === 6 && !bare.includes('%')) return `[${bare.toLowerCase()}]`;
  if (!wildcard && isIP(bare) === 4) return bare;
  const name = text.endsWith('.') ? text.slice(0, -1) : text;
  return isDnsName(name) ? `${wildcard ? '*.' : ''}${name.toLowerCase()}` : undefined;
}

function listRule(entries: readonly string[]): HostRule {
  const names = new Set<string>();
  const suffixes: string[] = [];
  for (const entry of entries) {
    if (entry.startsWith('*.')) suffixes.push(entry.slice(1));
    else names.add(entry);
  }
  return { kind: 'list', names, suffixes };
}

/**
 * The host of a `Host` value (RFC 9110 7.2: uri-host [ ":" port ]), lower-case, without a
 * trailing dot; undefined when malformed. One pass, no regular expression (issue 13 item 1).
 */
function hostName(header: string): string | undefined {
  let host: string;
  let rest: string;
  if (header.startsWith('[')) {
    const close = header.indexOf(']');
    if (close === -1) return undefined;
    host = header.slice(0, close + 1);
    rest = header.slice(close + 1);
  } else {
    const colon = header.indexOf(':');
    host = colon === -1 ? header : header.slice(0, colon);
    rest = colon === -1 ? '' : header.slice(colon);
  }
  if (rest !== '' && (rest[0] !== ':' || !isDigits(rest.slice(1)))) return undefined;
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  return name === '' ? undefined : name.toLowerCase();
}

function isDigits(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x30 || code > 0x39) return false;
  }
  return true;
}

/** Dot-separated labels of letters, digits and inner hyphens (RFC 1123 2.1), 253 characters at most. */
function isDnsName(text: string): boolean {
  if (text === '' || text.length > 253) return false;
  return text.split('.').every((label) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i.test(label));
}

function isLoopback(address: string): boolean {
  const v4 = address.toLowerCase().startsWith('::ffff:') ? address.slice(7) : address;
  return (isIP(v4) === 4 && v4.startsWith('127.')) || address === '::1' || address === 'localhost';
}
