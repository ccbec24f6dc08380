import { createHash } from 'node:crypto';
import type { VerifiedPrincipal, Verifier, VerifyInput, VerifyResult } from './verification.js';

/** `remote`: ask the server (`POST /v1/introspect`) about each credential, with a short cache. */
export interface RemoteOptions {
  mode: 'remote';
  /** The Tessera server's base URL. */
  url: string;
  /** This service's own `Authorization` value, a credential with the `introspect` scope. */
  credential: string;
  /** How long an active answer is reused (default 5 s): a revocation shows within this time. */
  cacheTtlMs?: number;
  /** How long an inactive answer is reused (default 2 s). */
  negativeCacheTtlMs?: number;
  /** Answers remembered at most (default 10 000); the oldest go first. */
  maxEntries?: number;
  clock?: () => number;
  fetch?: typeof fetch;
}

interface Entry {
  until: number;
  principal: VerifiedPrincipal | null;
}

const CHALLENGE = 'Bearer realm="tessera"';

/**
 * Sends the request's `Authorization` value to the server's introspection endpoint (RFC 7662)
 * and caches the answer, positive and negative separately and bounded in size. Only header
 * credentials can be introspected; a cookie session needs `local` mode.
 */
export class RemoteVerifier implements Verifier {
  readonly mode = 'remote';
  readonly #url: URL;
  readonly #cache = new Map<string, Entry>();
  readonly #credential: string;
  readonly #ttl: number;
  readonly #negativeTtl: number;
  readonly #max: number;
  readonly #clock: () => number;
  readonly #fetch: typeof fetch;

  constructor(options: RemoteOptions) {
    if (typeof options.url !== 'string') throw new TypeError('options.url must be the Tessera server URL');
    if (typeof options.credential !== 'string' || options.credential === '') {
      throw new TypeError('options.credential must be an Authorization value with the introspect scope');
    }
    this.#url = new URL('/v1/introspect', options.url);
    this.#credential = options.credential;
    this.#ttl = options.cacheTtlMs ?? 5_000;
    this.#negativeTtl = options.negativeCacheTtlMs ?? 2_000;
    this.#max = options.maxEntries ?? 10_000;
    this.#clock = options.clock ?? Date.now;
    this.#fetch = options.fetch ?? fetch;
  }

  async verify(input: VerifyInput): Promise<VerifyResult> {
    const authorization = input.headers.authorization;
    if (authorization === undefined) {
      return { ok: false, status: 401, detail: 'Authentication credentials were not provided.', challenge: CHALLENGE };
    }
    if (typeof authorization !== 'string' || (input.headersDistinct?.authorization?.length ?? 1) > 1) {
      return { ok: false, status: 401, detail: 'Send exactly one Authorization header.', challenge: CHALLENGE };
    }
    // Keyed by a digest: the cache never holds the secrets themselves.
    const key = createHash('sha256').update(authorization).digest('base64url');
    const now = this.#clock();
    let entry = this.#cache.get(key);
    if (!entry || entry.until <= now) {
      try {
        entry = await this.#introspect(authorization, now);
      } catch (error) {
        return {
          ok: false,
          status: 503,
          detail: `The authentication server cannot be asked: ${(error as Error).message}`,
          retryAfterSeconds: 1,
        };
      }
      this.#remember(key, entry);
    }
    return entry.principal
      ? { ok: true, principal: entry.principal }
      : { ok: false, status: 401, detail: 'Invalid credentials.', challenge: `${CHALLENGE}, error="invalid_token"` };
  }

  async close(): Promise<void> {
    this.#cache.clear();
  }

  async #introspect(token: string, now: number): Promise<Entry> {
    const response = await this.#fetch(this.#url, {
      method: 'POST',
      headers: { authorization: this.#credential, 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
      signal: AbortSignal.timeout(5_000),
    });
    if (response.status !== 200) throw new Error(`introspection answered ${response.status}`);
    const body = (await response.json()) as Record<string, unknown>;
    if (body.active !== true || typeof body.sub !== 'string')
      return { until: now + this.#negativeTtl, principal: null };
    const exp = typeof body.exp === 'number' ? body.exp * 1000 : Number.POSITIVE_INFINITY;
    return {
      until: Math.min(now + this.#ttl, exp),
      principal: {
        userId: Number(body.sub),
        username: typeof body.username === 'string' ? body.username : null,
        roles: Array.isArray(body.roles) ? body.roles.filter((r): r is string => typeof r === 'string') : null,
        credential: { kind: typeof body.kind === 'string' ? body.kind : 'unknown', id: null },
        scopes: typeof body.scope === 'string' ? body.scope.split(' ').filter(Boolean) : null,
        csrfToken: null,
        user: null,
      },
    };
  }

  #remember(key: string, entry: Entry): void {
    this.#cache.delete(key);
    if (this.#cache.size >= this.#max) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(key, entry);
  }
}
