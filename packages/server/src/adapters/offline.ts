import { type CryptoKey, createLocalJWKSet, errors, type JSONWebKeySet, type JWSHeaderParameters } from 'jose';
import { verifyJwt } from '../signing/jwt.js';
import type { VerifiedPrincipal, Verifier, VerifyInput, VerifyResult } from './verification.js';

/** `offline`: verify Bearer JWTs with the public keys the server publishes. */
export interface OfflineOptions {
  mode: 'offline';
  /** The Tessera server's base URL; keys come from `<url>/.well-known/jwks.json`. */
  url: string;
  /** Must match the server's `TESSERA_JWT_ISSUER` / `TESSERA_JWT_AUDIENCE` (default `tessera`). */
  issuer?: string;
  audience?: string;
  /** Clock difference tolerated on `exp`/`iat`, in seconds (default 30, as the server's `TESSERA_CLOCK_SKEW`). */
  clockToleranceSeconds?: number;
  /** Least time between two fetches of the key set (default 30 s), so unknown `kid`s cannot flood the server. */
  refetchCooldownMs?: number;
  /** How long a key set is used when the server sent no `max-age` (default 300 s). */
  defaultMaxAgeMs?: number;
  /** Verified tokens remembered until their `exp` (default 10 000; 0 verifies every request afresh). */
  cacheEntries?: number;
  /** Milliseconds since the epoch; tests replace it. */
  clock?: () => number;
  fetch?: typeof fetch;
}

const CHALLENGE = 'Bearer realm="tessera"';
const INVALID = `${CHALLENGE}, error="invalid_token"`;
const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Thrown by the key resolver when no key set was ever fetched: `verifyJwt` then says `KEYS_UNAVAILABLE`. */
class KeysUnavailable extends Error {
  override readonly name = 'KeysUnavailable';
}

/**
 * Verifies `Authorization: Bearer <JWT>` from the server's JWKS alone — no database, no call
 * per request. The key set is kept for its `Cache-Control: max-age`, fetched again when a
 * token names an unknown `kid` (at most once per cooldown), and kept past its age when the
 * server cannot be reached, so known keys go on verifying tokens until those expire.
 * Revocation is NOT seen in this mode before a token's `exp` (a few minutes): use `remote`
 * or `local` where that matters.
 */
export class OfflineVerifier implements Verifier {
  readonly mode = 'offline';
  readonly #jwksUrl: URL;
  readonly #options: OfflineOptions;
  readonly #clock: () => number;
  readonly #fetch: typeof fetch;
  #keys: ReturnType<typeof createLocalJWKSet> | null = null;
  #kids = new Set<string>();
  #freshUntil = 0;
  #lastFetch = Number.NEGATIVE_INFINITY;
  #inflight: Promise<void> | null = null;
  /** Token → what it proved, until `exp`: a signature is checked once, not on every request. */
  readonly #verified = new Map<string, { principal: VerifiedPrincipal; expiresAt: number }>();

  constructor(options: OfflineOptions) {
    if (typeof options.url !== 'string') throw new TypeError('options.url must be the Tessera server URL');
    this.#jwksUrl = new URL('/.well-known/jwks.json', options.url);
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
    this.#fetch = options.fetch ?? fetch;
  }

  async verify(input: VerifyInput): Promise<VerifyResult> {
    const authorization = input.headers.authorization;
    if (authorization === undefined) {
      return { ok: false, status: 401, detail: 'Authentication credentials were not provided.', challenge: CHALLENGE };
    }
    const match = typeof authorization === 'string' ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization) : null;
    if (!match?.[1] || !COMPACT.test(match[1]) || (input.headersDistinct?.authorization?.length ?? 1) > 1) {
      return {
        ok: false,
        status: 401,
        detail: 'Malformed Authorization header; expected Bearer <JWT>.',
        challenge: CHALLENGE,
      };
    }
    const token = match[1];
    const known = this.#verified.get(token);
    if (known && known.expiresAt > this.#clock()) return { ok: true, principal: known.principal };
    if (known) this.#verified.delete(token);
    // The server's own verification (signing/jwt.ts), with the fetched key set as resolver.
    const verdict = await verifyJwt(
      token,
      (header) => this.#key(header),
      {
        issuer: this.#options.issuer ?? 'tessera',
        audience: this.#options.audience ?? 'tessera',
        skewMs: (this.#options.clockToleranceSeconds ?? 30) * 1000,
      },
      this.#clock(),
    );
    if (!verdict.ok) {
      if (verdict.code === 'KEYS_UNAVAILABLE') {
        return { ok: false, status: 503, detail: verdict.reason, retryAfterSeconds: 5 };
      }
      return invalid(verdict.reason);
    }
    const { sub, cid, ckind, scope, exp } = verdict.claims;
    const principal: VerifiedPrincipal = {
      userId: Number(sub),
      username: null,
      roles: null,
      credential: { kind: ckind, id: cid },
      scopes: scope === undefined ? null : scope.split(' ').filter(Boolean),
      csrfToken: null,
      user: null,
    };
    this.#remember(token, principal, exp * 1000);
    return { ok: true, principal };
  }

  async close(): Promise<void> {
    this.#verified.clear();
  }

  #remember(token: string, principal: VerifiedPrincipal, expiresAt: number): void {
    const max = this.#options.cacheEntries ?? 10_000;
    if (max <= 0) return;
    if (this.#verified.size >= max) {
      const oldest = this.#verified.keys().next().value;
      if (oldest !== undefined) this.#verified.delete(oldest);
    }
    this.#verified.set(token, { principal, expiresAt });
  }

  /**
   * The key for a token's header: from the cached set, refreshed when stale or when the `kid`
   * is new; null when the set has no such key.
   */
  async #key(header: JWSHeaderParameters): Promise<CryptoKey | null> {
    const kid = header.kid;
    const now = this.#clock();
    const stale = now >= this.#freshUntil;
    const unknown = typeof kid === 'string' && !this.#kids.has(kid);
    const sinceFetch = now - this.#lastFetch;
    // A clock that stepped back (sinceFetch < 0) must not stop refetching for good.
    const mayFetch = sinceFetch >= (this.#options.refetchCooldownMs ?? 30_000) || sinceFetch < 0;
    if ((stale || unknown) && mayFetch) {
      await this.#refresh().catch(() => undefined); // a failed fetch keeps the keys we have
    }
    if (!this.#keys) throw new KeysUnavailable();
    try {
      return await this.#keys(header);
    } catch (error) {
      // No key, or several, under this `kid`: the token's fault, not the key set's.
      if (error instanceof errors.JOSEError) return null;
      throw error;
    }
  }

  #refresh(): Promise<void> {
    this.#inflight ??= this.#fetchKeys().finally(() => {
      this.#inflight = null;
    });
    return this.#inflight;
  }

  async #fetchKeys(): Promise<void> {
    this.#lastFetch = this.#clock();
    const response = await this.#fetch(this.#jwksUrl, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) throw new Error(`JWKS answered ${response.status}`);
    const set = (await response.json()) as JSONWebKeySet;
    if (!Array.isArray(set?.keys)) throw new Error('JWKS is not a key set');
    this.#keys = createLocalJWKSet(set);
    this.#kids = new Set(set.keys.map((k) => k.kid).filter((k): k is string => typeof k === 'string'));
    this.#freshUntil = this.#clock() + maxAgeMs(response.headers.get('cache-control'), this.#options.defaultMaxAgeMs);
  }
}

/** `max-age` of a Cache-Control header (RFC 9111 5.2.2.1), in ms; `no-store`/`no-cache` mean 0. */
function maxAgeMs(cacheControl: string | null, fallbackMs = 300_000): number {
  if (!cacheControl) return fallbackMs;
  if (/(?:^|,)\s*no-(?:store|cache)\b/i.test(cacheControl)) return 0;
  const age = /(?:^|,)\s*max-age=(\d{1,9})\b/i.exec(cacheControl)?.[1];
  return age === undefined ? fallbackMs : Number(age) * 1000;
}

function invalid(reason: string): VerifyResult {
  return { ok: false, status: 401, detail: reason, challenge: INVALID };
}
