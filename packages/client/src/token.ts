import type { Authentication, AuthRequest, DomainOption } from './authentication.js';
import { domainMatches, normalizeDomain } from './domain.js';

/** Options of {@link TokenAuthentication}. */
export interface TokenAuthenticationOptions extends DomainOption {
  token: string;
  /** The scheme word: `'Bearer'` (default, RFC 6750), `'Token'` for DRF, `'token'` for Frappe's `key:secret`. */
  scheme?: string;
}

/**
 * A fixed token in `Authorization: <scheme> <token>` (seed 001's TokenAuthentication).
 * Throws `TypeError` for an empty token or a scheme that is not an HTTP token (RFC 9110 section 5.6.2).
 *
 * @example
 * ```ts
 * // DRF (seed 002)
 * const drf = new TokenAuthentication({ token: '0cd2…', scheme: 'Token' });
 * // Frappe (seed 003)
 * const frappe = new TokenAuthentication({ token: `${apiKey}:${apiSecret}`, scheme: 'token' });
 * // Tessera personal token
 * const pat = new TokenAuthentication({ token: 'tsr_…', domain: 'auth.example.com' });
 * ```
 */
export class TokenAuthentication implements Authentication {
  readonly allowCookies = false;
  readonly domain: string;
  readonly #header: string;

  constructor(options: TokenAuthenticationOptions) {
    if (typeof options?.token !== 'string' || options.token === '') {
      // The usual cause is an unset environment variable (`token: process.env.TESSERA_TOKEN`):
      // say which credential belongs here and where one comes from.
      throw new TypeError(
        `TokenAuthentication needs a non-empty token, got ${options?.token === '' ? 'an empty string' : typeof options?.token}: ` +
          'for Tessera, a personal token (tsr_…, made with `npx tessera token create <username>` or POST /v1/credentials); ' +
          "a DRF token with scheme: 'Token'; a Frappe api_key:api_secret with scheme: 'token'",
      );
    }
    if (/[\r\n]/.test(options.token)) throw new TypeError('token must not contain line breaks');
    const scheme = options.scheme ?? 'Bearer';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(scheme))
      throw new TypeError('scheme must be an HTTP token, e.g. "Bearer"');
    this.domain = normalizeDomain(options.domain ?? '*');
    this.#header = `${scheme} ${options.token}`;
  }

  authenticate(request: AuthRequest): AuthRequest {
    if (domainMatches(this.domain, request.url)) request.headers.set('authorization', this.#header);
    return request;
  }
}
