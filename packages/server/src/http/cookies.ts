import { trimHttpWhitespace } from './whitespace.js';

/**
 * Reads a `Cookie` header into name → values. Every value of a repeated name is kept, so a
 * caller can refuse ambiguity (two `sessionid` cookies, e.g. from cookie tossing by a
 * sibling subdomain) instead of silently picking one.
 */
export function parseCookies(header: string | undefined): Map<string, string[]> {
  const cookies = new Map<string, string[]>();
  if (!header) return cookies;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    // RFC 6265 5.2 strips only whitespace around a name and value (not U+00A0 and the like).
    const name = trimHttpWhitespace(pair.slice(0, eq));
    if (name === '') continue;
    let value = trimHttpWhitespace(pair.slice(eq + 1));
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    const list = cookies.get(name);
    if (list) list.push(value);
    else cookies.set(name, [value]);
  }
  return cookies;
}

export interface CookieOptions {
  httpOnly?: boolean;
  secure?: boolean;
  maxAgeSeconds?: number;
  expires?: Date;
}

/** A `Set-Cookie` value: always `Path=/`, `SameSite=Lax` and no `Domain` (SECURITY C3). */
export function serializeCookie(name: string, value: string, options: CookieOptions = {}): string {
  let cookie = `${name}=${value}; Path=/; SameSite=Lax`;
  if (options.maxAgeSeconds !== undefined) cookie += `; Max-Age=${Math.floor(options.maxAgeSeconds)}`;
  if (options.expires) cookie += `; Expires=${options.expires.toUTCString()}`;
  if (options.httpOnly) cookie += '; HttpOnly';
  if (options.secure) cookie += '; Secure';
  return cookie;
}

/** A `Set-Cookie` value that deletes the cookie. */
export function expireCookie(name: string, secure: boolean): string {
  return serializeCookie(name, '', { maxAgeSeconds: 0, expires: new Date(0), secure });
}
