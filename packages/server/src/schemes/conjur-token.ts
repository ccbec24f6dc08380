import { type AuthResult, authFailure, type Principal } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import type { RevocationEvents } from '../credentials/revocation-events.js';
import { decodeConjurHeader, verifyConjurToken } from '../signing/conjur-token.js';
import type { Keyring } from '../signing/keyring.js';
import { VerifiedCache } from '../signing/verified-cache.js';
import type { Database } from '../store/database.js';
import { findWithValidAfter, issuedInTime } from '../users/credentials-valid-after.js';
import type { User } from '../users/user.js';
import type { Users } from '../users/users.js';
import type { HeaderScheme } from './scheme.js';

const CHALLENGE = 'Token realm="conjur"';
const RECHECK_MS = 1_000;
/** The quotes are required, as Conjur's own parser requires them: an unquoted or half-quoted value is malformed. */
const HEADER = /^token="([^"]*)"$/i;

/** A verified token: who it names and when it was issued, re-checked against the user row. */
interface Verified {
  principal: Principal;
  /** The login the token names. */
  login: string;
  /** Milliseconds since the epoch. */
  issuedAt: number;
}

/**
 * `Authorization: Token token="<base64 of a Conjur token>"` (DESIGN "conjur"; seed 004).
 * A token is bound to its user's immutable id as well as the login it names (issue 13 item
 * 5): a user deleted and re-created under the same name — or another user renamed to it —
 * does not inherit it. A token that verified is remembered until it expires; its user is
 * re-read at most once a second (at once on a user-change notice), so a deactivation, a
 * rename or a move of the user's "credentials valid after" instant on any instance ends it
 * within a second.
 */
export class ConjurTokenScheme implements HeaderScheme {
  readonly source = 'authorization';
  readonly authorizationScheme = 'Token';
  readonly challenge = CHALLENGE;
  readonly form = 'Token token="<base64 Conjur token>"';
  readonly #cache: VerifiedCache<Verified>;

  constructor(
    private readonly database: Database,
    private readonly keyring: Keyring,
    private readonly users: Users,
    private readonly clock: Clock,
    private readonly limits: { ttlMs: number; skewMs: number; cacheEntries: number },
    events: RevocationEvents,
  ) {
    this.#cache = new VerifiedCache(limits.cacheEntries);
    events.onUserChanged((userId) => this.#cache.forget((v) => v.principal.user.id === userId));
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
      if (now - cached.checkedAt < RECHECK_MS) return { ok: true, principal: cached.value.principal };
      const user = await this.#stillValid(cached.value.principal.user.id, cached.value.login, cached.value.issuedAt);
      if (!user) {
        this.#cache.delete(encoded);
        return authFailure('INVALID_CREDENTIALS', CHALLENGE, 'The token’s user is unknown or inactive.');
      }
      const verified = { ...cached.value, principal: { ...cached.value.principal, user } };
      this.#cache.refresh(encoded, verified, now, generation);
      return { ok: true, principal: verified.principal };
    }

    const token = decodeConjurHeader(encoded);
    if (typeof token === 'string') return authFailure('MALFORMED_CREDENTIALS', CHALLENGE, token);
    const verdict = await verifyConjurToken(
      token,
      this.keyring,
      now,
      this.limits,
      async (login) => (await this.users.findByUsername(login))?.id,
    );
    if (!verdict.ok) return authFailure('INVALID_CREDENTIALS', CHALLENGE, verdict.reason);
    const { login, userId, issuedAt, expiresAt } = verdict.claims;
    const user = await this.#stillValid(userId, login, issuedAt);
    if (!user) return authFailure('INVALID_CREDENTIALS', CHALLENGE, 'The token’s user is unknown or inactive.');
    const principal: Principal = { user, credential: { kind: 'conjur-token', id: 0 }, scopes: null, csrfToken: null };
    this.#cache.set(encoded, { principal, login, issuedAt }, expiresAt + this.limits.skewMs, now, generation);
    return { ok: true, principal };
  }

  /**
   * The user with this id if they are active, still named `login`, and the token was issued
   * at or after their "credentials valid after" instant (issue 13 item 6).
   */
  async #stillValid(userId: number, login: string, issuedAt: number): Promise<User | undefined> {
    const found = await findWithValidAfter(this.database, userId);
    if (!found?.user.isActive || found.user.username !== login || !issuedInTime(issuedAt, found.validAfter))
      return undefined;
    return found.user;
  }
}
