import type { CookieReader } from './authentication.js';

/** One stored cookie (RFC 6265 section 5.3's record). */
export interface StoredCookie {
  name: string;
  value: string;
  /** Lower-case host (host-only) or domain (domain cookie), without a leading dot. */
  domain: string;
  hostOnly: boolean;
  path: string;
  secure: boolean;
  httpOnly: boolean;
  /** Expiry in epoch ms, or `undefined` for a session cookie. */
  expires: number | undefined;
  created: number;
}

/** Options of {@link CookieJar}. */
export interface CookieJarOptions {
  /** The clock, in epoch ms (default `Date.now`); tests inject one. */
  now?: () => number;
}

/**
 * An in-memory cookie store following RFC 6265 section 5: Domain (host-only unless given;
 * refused unless it domain-matches the setting host), Path (default-path when absent), Expires
 * and Max-Age (Max-Age wins; zero or negative deletes), Secure (sent over https only, and refused
 * from an http response, RFC 6265bis section 5.7 step 8). Used by {@link Client} in Node; a browser
 * keeps its own.
 *
 * @example
 * ```ts
 * const jar = new CookieJar();
 * jar.setCookie('sessionid=abc; Path=/; HttpOnly', new URL('http://127.0.0.1:8000/authentication/login/'));
 * jar.cookieHeader(new URL('http://127.0.0.1:8000/users/users/')); // 'sessionid=abc'
 * ```
 */
export class CookieJar implements CookieReader {
  readonly #now: () => number;
  #cookies: StoredCookie[] = [];

  constructor(options: CookieJarOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** Stores one `Set-Cookie` header value received from `url`; returns whether it was accepted. */
  setCookie(header: string, url: URL): boolean {
    const now = this.#now();
    const cookie = parseSetCookie(header, url, now);
    if (cookie === undefined) return false;
    this.#cookies = this.#cookies.filter(
      (c) => !(c.name === cookie.name && c.domain === cookie.domain && c.path === cookie.path),
    );
    if (cookie.expires !== undefined && cookie.expires <= now) return true; // a deletion
    this.#cookies.push(cookie);
    return true;
  }

  /** Stores every `Set-Cookie` of a response received from `url`. */
  storeResponse(headers: Headers, url: URL): void {
    for (const header of headers.getSetCookie()) this.setCookie(header, url);
  }

  /** The live cookies that apply to `url`, longest path first (section 5.4). */
  cookiesFor(url: URL): StoredCookie[] {
    const now = this.#now();
    this.#cookies = this.#cookies.filter((c) => c.expires === undefined || c.expires > now);
    const host = canonicalHost(url);
    const secure = url.protocol === 'https:' || url.protocol === 'wss:';
    return this.#cookies
      .filter(
        (c) =>
          (c.hostOnly ? host === c.domain : domainMatch(host, c.domain)) &&
          pathMatch(url.pathname || '/', c.path) &&
          (!c.secure || secure),
      )
      .sort((a, b) => b.path.length - a.path.length || a.created - b.created);
  }

  /** The `Cookie` header value for `url`, or `''` when no cookie applies. */
  cookieHeader(url: URL): string {
    return this.cookiesFor(url)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  /** The value of cookie `name` that would be sent to `url`. */
  get(name: string, url: URL): string | undefined {
    return this.cookiesFor(url).find((c) => c.name === name)?.value;
  }

  /** Every stored cookie (expired ones dropped). */
  all(): StoredCookie[] {
    const now = this.#now();
    this.#cookies = this.#cookies.filter((c) => c.expires === undefined || c.expires > now);
    return this.#cookies.map((c) => ({ ...c }));
  }

  /** Forgets every cookie. */
  clear(): void {
    this.#cookies = [];
  }
}

function parseSetCookie(header: string, url: URL, now: number): StoredCookie | undefined {
  const [pair = '', ...attributes] = header.split(';');
  const eq = pair.indexOf('=');
  if (eq <= 0) return undefined; // nameless cookies are not worth the ambiguity
  const name = pair.slice(0, eq).trim();
  const value = pair.slice(eq + 1).trim();
  if (name === '') return undefined;
  const host = canonicalHost(url);
  let domain: string | undefined;
  let path: string | undefined;
  let expires: number | undefined;
  let maxAge: number | undefined;
  let secure = false;
  let httpOnly = false;
  for (const attribute of attributes) {
    const i = attribute.indexOf('=');
    const key = (i < 0 ? attribute : attribute.slice(0, i)).trim().toLowerCase();
    const val = i < 0 ? '' : attribute.slice(i + 1).trim();
    if (key === 'domain' && val !== '') domain = val.replace(/^\./, '').toLowerCase();
    else if (key === 'path') path = val.startsWith('/') ? val : undefined;
    else if (key === 'expires') {
      const t = Date.parse(val);
      if (!Number.isNaN(t)) expires = t;
    } else if (key === 'max-age' && /^-?\d+$/.test(val)) {
      const seconds = Number(val);
      maxAge = seconds <= 0 ? Number.NEGATIVE_INFINITY : now + seconds * 1000;
    } else if (key === 'secure') secure = true;
    else if (key === 'httponly') httpOnly = true;
  }
  // Section 5.7 step 8 of RFC 6265bis: a non-secure origin cannot set a Secure cookie.
  if (secure && url.protocol !== 'https:' && url.protocol !== 'wss:') return undefined;
  let hostOnly = true;
  if (domain !== undefined && domain !== host) {
    // Section 5.3 step 6: the Domain must cover the host; an IP address only ever matches itself.
    if (!domainMatch(host, domain) || !domain.includes('.')) return undefined;
    hostOnly = false;
  } else if (domain !== undefined) hostOnly = false;
  return {
    name,
    value,
    domain: domain ?? host,
    hostOnly,
    path: path ?? defaultPath(url),
    secure,
    httpOnly,
    expires: maxAge ?? expires, // section 5.3 step 3: Max-Age takes precedence over Expires
    created: now,
  };
}

function canonicalHost(url: URL): string {
  const host = url.hostname.toLowerCase();
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

/** Section 5.1.3. */
function domainMatch(host: string, domain: string): boolean {
  if (host === domain) return true;
  return host.endsWith(`.${domain}`) && !isIpAddress(host);
}

function isIpAddress(host: string): boolean {
  return host.startsWith('[') || /^\d+\.\d+\.\d+\.\d+$/.test(host);
}

/** Section 5.1.4. */
function defaultPath(url: URL): string {
  const path = url.pathname;
  if (!path.startsWith('/')) return '/';
  const last = path.lastIndexOf('/');
  return last <= 0 ? '/' : path.slice(0, last);
}

function pathMatch(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}
