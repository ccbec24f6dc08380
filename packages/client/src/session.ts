import type { Authentication, AuthRequest, DomainOption } from './authentication.js';
import { domainMatches, normalizeDomain } from './domain.js';

/** Options of {@link SessionAuthentication}. */
export interface SessionAuthenticationOptions extends DomainOption {
  /** The cookie holding the CSRF token (default `csrftoken`, Django's and Tessera's). */
  csrfCookieName?: string;
  /** The header it is mirrored into on unsafe methods (default `X-CSRFToken`). */
  csrfHeaderName?: string;
}

/** RFC 9110 section 9.2.1: only these methods are safe; every other one carries the CSRF header. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * A cookie session with CSRF mirroring (seed 001's SessionAuthentication, seed 000's flow): the
 * client keeps the cookies the server sets (in Node, an RFC 6265 jar; in a browser, the browser's
 * own, with `credentials: 'include'`), and on `POST`/`PUT`/`PATCH`/`DELETE` copies the CSRF cookie's
 * current value into the CSRF header. The value is read on every request, so a token rotated at
 * login is picked up at once.
 *
 * @example
 * ```ts
 * const client = new Client({ baseUrl: 'http://127.0.0.1:8000', auth: new SessionAuthentication() });
 * await client.post('/authentication/login/', { json: { username: 'user', password: 'userpassword' } });
 * await client.patch('/users/users/1', { json: { email: 'user@example.com' } }); // X-CSRFToken sent
 * ```
 */
export class SessionAuthentication implements Authentication {
  readonly allowCookies = true;
  readonly domain: string;
  readonly csrfCookieName: string;
  readonly csrfHeaderName: string;

  constructor(options: SessionAuthenticationOptions = {}) {
    this.domain = normalizeDomain(options.domain ?? '*');
    this.csrfCookieName = options.csrfCookieName ?? 'csrftoken';
    this.csrfHeaderName = options.csrfHeaderName ?? 'X-CSRFToken';
    if (this.csrfCookieName === '') throw new TypeError('csrfCookieName must not be empty');
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(this.csrfHeaderName))
      throw new TypeError('csrfHeaderName must be an HTTP header name');
  }

  authenticate(request: AuthRequest): AuthRequest {
    if (!domainMatches(this.domain, request.url) || SAFE_METHODS.has(request.method)) return request;
    const token = request.cookies.get(this.csrfCookieName, request.url);
    if (token !== undefined && token !== '') request.headers.set(this.csrfHeaderName, token);
    return request;
  }
}
