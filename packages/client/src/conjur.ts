import type { Authentication, AuthRequest, DomainOption } from './authentication.js';
import { base64Utf8 } from './base64.js';
import { BasicAuthentication } from './basic.js';
import { Client, type FetchLike } from './client.js';
import { domainMatches, normalizeDomain } from './domain.js';
import { TokenCache } from './token-cache.js';

/** Options of {@link ConjurAuthentication}: give `apiKey`, or `password` to log in for it. */
export type ConjurAuthenticationOptions = DomainOption & {
  /** The Conjur (or Tessera) server, e.g. `http://127.0.0.1:8000`. */
  url: string | URL;
  login: string;
  /** Token lifetime when the token does not say (default 8 minutes, Conjur's). */
  tokenTtlMs?: number;
  /** Refresh when less than this remains (default 30 s). */
  refreshMarginMs?: number;
  /** The clock in epoch ms (default `Date.now`). */
  now?: () => number;
  fetch?: FetchLike;
  timeoutMs?: number;
} & ({ apiKey: string; password?: undefined } | { password: string; apiKey?: undefined });

/** A Conjur access token as the server returned it. */
export interface ConjurToken {
  /** The token JSON exactly as received. */
  raw: string;
  /** The ready header value: `Token token="<base64 of raw>"`. */
  header: string;
  /** When it stops being valid, in epoch ms. */
  expiresAt: number;
}

const EIGHT_MINUTES = 8 * 60_000;

/**
 * Conjur authn (seed 004): logs in with the password when no API key is given
 * (`GET /api/authn/users/login` with Basic → the API key), exchanges the API key for a signed
 * token (`POST /api/authn/users/{login}/authenticate`, body = the key), and sends
 * `Authorization: Token token="<base64 of the token JSON>"`. A fresh token is fetched when less
 * than 30 s of its 8 minutes remain (from the token's `timestamp`), one fetch however many
 * requests wait. Failures surface as {@link HTTPError} (401: wrong login, key or password),
 * {@link NetworkError} or {@link TimeoutError}.
 *
 * @example
 * ```ts
 * const auth = new ConjurAuthentication({ url: 'http://127.0.0.1:8000', login: 'donna', password: 'secret' });
 * const client = new Client({ baseUrl: 'http://127.0.0.1:8000', auth });
 * await client.get('/api/authn/whoami'); // { username: 'donna', account: 'default', … }
 * ```
 */
export class ConjurAuthentication implements Authentication {
  readonly allowCookies = false;
  readonly domain: string;
  readonly login: string;
  readonly #base: URL;
  readonly #client: Client;
  readonly #password: string | undefined;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #cache: TokenCache<ConjurToken>;
  #apiKey: string | undefined;

  constructor(options: ConjurAuthenticationOptions) {
    if (typeof options?.login !== 'string' || options.login === '')
      throw new TypeError('login must be a non-empty string');
    if (typeof options.apiKey !== 'string' && typeof options.password !== 'string')
      throw new TypeError('give apiKey or password');
    this.#base = new URL(options.url);
    this.domain = normalizeDomain(options.domain ?? '*');
    this.login = options.login;
    this.#apiKey = options.apiKey?.trim();
    this.#password = options.password;
    this.#ttlMs = options.tokenTtlMs ?? EIGHT_MINUTES;
    this.#now = options.now ?? Date.now;
    this.#client = new Client({
      baseUrl: this.#base,
      ...(options.fetch && { fetch: options.fetch }),
      ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
    });
    this.#cache = new TokenCache(() => this.#authenticate(), this.#now, options.refreshMarginMs ?? 30_000);
  }

  /** The API key, logging in with the password first if needed. */
  async apiKey(): Promise<string> {
    if (this.#apiKey !== undefined) return this.#apiKey;
    const basic = new BasicAuthentication({ username: this.login, password: this.#password ?? '' });
    const text = await this.#client.get<string>('api/authn/users/login', { auth: basic, responseType: 'text' });
    this.#apiKey = text.trim();
    return this.#apiKey;
  }

  /** The current token, fetching a fresh one when it is missing or about to expire. */
  token(): Promise<ConjurToken> {
    return this.#cache.get();
  }

  async authenticate(request: AuthRequest): Promise<AuthRequest> {
    if (!domainMatches(this.domain, request.url)) return request;
    request.headers.set('authorization', (await this.token()).header);
    return request;
  }

  async #authenticate(): Promise<ConjurToken> {
    const apiKey = await this.apiKey();
    const raw = await this.#client.post<string>(`api/authn/users/${encodeURIComponent(this.login)}/authenticate`, {
      body: apiKey,
      headers: { 'content-type': 'text/plain' },
      responseType: 'text',
    });
    return { raw, header: `Token token="${base64Utf8(raw)}"`, expiresAt: this.#expiry(raw) };
  }

  /** From the token's own `timestamp` ("YYYY-MM-DD HH:MM:SS UTC") or JWS `exp`; else now + TTL. */
  #expiry(raw: string): number {
    const fallback = this.#now() + this.#ttlMs;
    try {
      const token = JSON.parse(raw) as { timestamp?: unknown; payload?: unknown };
      if (typeof token.timestamp === 'string') {
        const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) UTC$/.exec(token.timestamp);
        const issued = m ? Date.parse(`${m[1]}T${m[2]}Z`) : Number.NaN;
        return Number.isNaN(issued) ? fallback : issued + this.#ttlMs;
      }
      if (typeof token.payload === 'string') {
        const json = atob(token.payload.replace(/-/g, '+').replace(/_/g, '/'));
        const exp = (JSON.parse(json) as { exp?: unknown }).exp;
        if (typeof exp === 'number') return exp * 1000;
      }
    } catch {
      // Not JSON we understand: fall back to the documented lifetime.
    }
    return fallback;
  }
}
