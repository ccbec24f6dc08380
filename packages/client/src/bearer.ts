import type { Authentication, AuthRequest, DomainOption } from './authentication.js';
import { Client, type FetchLike } from './client.js';
import { domainMatches, normalizeDomain } from './domain.js';
import { TokenCache } from './token-cache.js';

/** Options of {@link BearerAuthentication}. */
export interface BearerAuthenticationOptions extends DomainOption {
  /** The Tessera server; tokens come from `POST {url}/v1/token`. */
  url: string | URL;
  /** The scheme that authenticates the token request (a personal token, DRF token, Basic, …). */
  credentials: Authentication;
  /** Refresh when less than this remains (default 30 s). */
  refreshMarginMs?: number;
  /** The clock in epoch ms (default `Date.now`). */
  now?: () => number;
  fetch?: FetchLike;
  timeoutMs?: number;
}

/** A JWT bought from `/v1/token`. */
export interface BearerToken {
  accessToken: string;
  expiresAt: number;
}

/**
 * Tessera's short-lived JWTs: buys one from `POST /v1/token` with an inner scheme, sends
 * `Authorization: Bearer <jwt>`, and buys the next when less than 30 s of its `expires_in` remain
 * (one purchase in flight however many requests wait). The long-lived credential thus crosses the
 * network only once per token. Failures: {@link HTTPError}, {@link NetworkError}, {@link TimeoutError}.
 *
 * @example
 * ```ts
 * const auth = new BearerAuthentication({
 *   url: 'http://127.0.0.1:8000',
 *   credentials: new TokenAuthentication({ token: drfToken, scheme: 'Token' }),
 * });
 * await new Client({ baseUrl: 'http://127.0.0.1:8000', auth }).get('/v1/me');
 * ```
 */
export class BearerAuthentication implements Authentication {
  readonly allowCookies = false;
  readonly domain: string;
  readonly #client: Client;
  readonly #now: () => number;
  readonly #cache: TokenCache<BearerToken>;

  constructor(options: BearerAuthenticationOptions) {
    if (typeof options?.credentials?.authenticate !== 'function')
      throw new TypeError('credentials must be an authentication scheme');
    this.domain = normalizeDomain(options.domain ?? '*');
    this.#now = options.now ?? Date.now;
    this.#client = new Client({
      baseUrl: new URL(options.url),
      auth: options.credentials,
      ...(options.fetch && { fetch: options.fetch }),
      ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
    });
    this.#cache = new TokenCache(() => this.#buy(), this.#now, options.refreshMarginMs ?? 30_000);
  }

  /** The current JWT, buying a fresh one when it is missing or about to expire. */
  token(): Promise<BearerToken> {
    return this.#cache.get();
  }

  async authenticate(request: AuthRequest): Promise<AuthRequest> {
    if (!domainMatches(this.domain, request.url)) return request;
    request.headers.set('authorization', `Bearer ${(await this.token()).accessToken}`);
    return request;
  }

  async #buy(): Promise<BearerToken> {
    const started = this.#now();
    const body = await this.#client.post<{ access_token?: unknown; expires_in?: unknown }>('v1/token');
    if (typeof body?.access_token !== 'string' || typeof body.expires_in !== 'number')
      throw new TypeError('the /v1/token response lacks access_token or expires_in');
    // Count the lifetime from before the request: never later than the server's own clock says.
    return { accessToken: body.access_token, expiresAt: started + body.expires_in * 1000 };
  }
}
