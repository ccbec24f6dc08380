import type { Authentication, AuthRequest, DomainOption } from './authentication.js';
import { base64Utf8 } from './base64.js';
import { domainMatches, normalizeDomain } from './domain.js';

/** Options of {@link BasicAuthentication}. */
export interface BasicAuthenticationOptions extends DomainOption {
  username: string;
  password: string;
}

/**
 * HTTP Basic authentication (RFC 7617), with the UTF-8 charset (section 2.1): sends
 * `Authorization: Basic base64(username:password)`. Also Frappe's `Basic base64(api_key:api_secret)`.
 * Throws `TypeError` when the username holds a colon (section 2: it would split wrongly).
 *
 * @example
 * ```ts
 * const client = new Client({
 *   baseUrl: 'http://127.0.0.1:8000',
 *   auth: new BasicAuthentication({ username: 'donna', password: 'secret', domain: '127.0.0.1' }),
 * });
 * await client.get('/api/authn/users/login', { responseType: 'text' }); // the Conjur API key
 * ```
 */
export class BasicAuthentication implements Authentication {
  readonly allowCookies = false;
  readonly domain: string;
  readonly #header: string;

  constructor(options: BasicAuthenticationOptions) {
    if (typeof options?.username !== 'string') throw new TypeError('username must be a string');
    if (typeof options.password !== 'string') throw new TypeError('password must be a string');
    if (options.username.includes(':')) throw new TypeError('username must not contain ":" (RFC 7617 section 2)');
    this.domain = normalizeDomain(options.domain ?? '*');
    this.#header = `Basic ${base64Utf8(`${options.username}:${options.password}`)}`;
  }

  authenticate(request: AuthRequest): AuthRequest {
    if (domainMatches(this.domain, request.url)) request.headers.set('authorization', this.#header);
    return request;
  }
}
