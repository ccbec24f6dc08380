import { type AuthResult, authFailure, type Principal } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import type { RevocationEvents } from '../credentials/revocation-events.js';
import { decodeConjurHeader, verifyConjurToken } from '../signing/conjur-token.js';
import type { Keyring } from '../signing/keyring.js';
import { VerifiedCache } from '../signing/verified-cache.js';
import type { Users } from '../users/users.js';
import type { HeaderScheme } from './scheme.js';

const CHALLENGE = 'Token realm="conjur"';
const RECHECK_MS = 1_000;
/** The quotes are required, as Conjur's own parser requires them: an unquoted or half-quoted value is malformed. */
const HEADER = /^token="([^"]*)"$/i;

/**
 * `Authorization: Token token="<base64 of a Conjur token>"` (DESIGN "conjur"; seed 004).
 * A token that verified is remembered until it expires; its user is re-read at most once a
 * second, so a deactivation on any instance ends it within a second.
 */
export class ConjurTokenScheme implements HeaderScheme {
  readonly source = 'authorization';
  readonly authorizationScheme = 'Token';
  readonly challenge = CHALLENGE;
  readonly form = 'Token token="<base64 Conjur token>"';
  readonly #cache: VerifiedCache<Principal>;

  constructor(
    private readonly keyring: Keyring,
    private readonly users: Users,
    private readonly clock: Clock,
    private readonly limits: { ttlMs: number; skewMs: number; cacheEntries: number },
    events: RevocationEvents,
  ) {
    this.#cache = new VerifiedCache(limits.cacheEntries);
    events.onUserChanged((userId) => this.#cache.forget((p) => p.user.id === userId));
  }

  accepts(credentials: string): boolean {
    return /^token=/i.test(credentials);
  }

  async authenticate(credentials: string): Promise<AuthResult> {
    const encoded = HEADER.exec(credentials)?.[1];
    if (encoded === undefined) {
      return authFailure('MALFORMED_CREDENTIALS', CHALLENGE, `Malformed token header; expected ${this.form}.`);
    }
    const now = this.clock();
    const generation = this.#cache.generation;
    const cached = this.#cache.get(encoded, now);
    if (cached) {
      if (now - cached.checkedAt < RECHECK_MS) return { ok: true, principal: cached.value };
      const user = await this.users.findById(cached.value.user.id);
      if (!user?.isActive || user.username !== cached.value.user.username) {
        this.#cache.delete(encoded);
        return authFailure('INVALID_CREDENTIALS', CHALLENGE, 'The token’s user is unknown or inactive.');
      }
      const principal = { ...cached.value, user };
      this.#cache.refresh(encoded, principal, now, generation);
      return { ok: true, principal };
    }

    const token = decodeConjurHeader(encoded);
    if (typeof token === 'string') return authFailure('MALFORMED_CREDENTIALS', CHALLENGE, token);
    const verdict = await verifyConjurToken(token, this.keyring, now, this.limits);
    if (!verdict.ok) return authFailure('INVALID_CREDENTIALS', CHALLENGE, verdict.reason);
    const user = await this.users.findByUsername(verdict.claims.login);
    if (!user?.isActive)
      return authFailure('INVALID_CREDENTIALS', CHALLENGE, 'The token’s user is unknown or inactive.');
    const principal: Principal = { user, credential: { kind: 'conjur-token', id: 0 }, scopes: null, csrfToken: null };
    this.#cache.set(encoded, principal, verdict.claims.expiresAt + this.limits.skewMs, now, generation);
    return { ok: true, principal };
  }
}
