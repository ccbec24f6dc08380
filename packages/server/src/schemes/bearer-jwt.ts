import { type AuthResult, authFailure, type Principal } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import type { JtiDenyList } from '../credentials/jti-deny-list.js';
import type { RevocationEvents } from '../credentials/revocation-events.js';
import { type JwtSettings, type KeyResolver, keyringKeys, looksLikeJwt, verifyJwt } from '../signing/jwt.js';
import type { Keyring } from '../signing/keyring.js';
import { VerifiedCache } from '../signing/verified-cache.js';
import type { Database } from '../store/database.js';
import { findWithValidAfter, issuedInTime } from '../users/credentials-valid-after.js';
import type { HeaderScheme } from './scheme.js';

const CHALLENGE = 'Bearer realm="tessera"';
/** RFC 6750 3.1: a token that is expired, revoked or otherwise invalid. */
const INVALID = `${CHALLENGE}, error="invalid_token"`;
const RECHECK_MS = 1_000;

/** What a verified token stands for; the user is re-read, never taken from the token. */
interface Verified {
  userId: number;
  sourceId: number;
  scopes: string[] | null;
  jti: string;
  /** Seconds since the epoch. */
  iat: number;
  /** Milliseconds since the epoch, for the user's "credentials valid after" instant. */
  iatMs: number;
}

/**
 * `Authorization: Bearer <JWT>` for the EdDSA tokens `POST /v1/token` issues. A token that
 * verified is remembered until it expires; at most once a second it is re-checked against
 * the database — its user still active, the credential it was bought with still there, its
 * `jti` not on the deny-list — so a revocation anywhere takes effect within a second, and at
 * once on this instance.
 */
export class BearerJwtScheme implements HeaderScheme {
  readonly source = 'authorization';
  readonly authorizationScheme = 'Bearer';
  readonly challenge = CHALLENGE;
  readonly form = 'Bearer <JWT>';
  readonly #cache: VerifiedCache<{ token: Verified; principal: Principal }>;
  readonly #keys: KeyResolver;

  constructor(
    private readonly database: Database,
    keyring: Keyring,
    private readonly clock: Clock,
    private readonly settings: JwtSettings & { cacheEntries: number },
    events: RevocationEvents,
    private readonly denyList: JtiDenyList,
  ) {
    this.#cache = new VerifiedCache(settings.cacheEntries);
    this.#keys = keyringKeys(keyring);
    events.onCredentialRevoked((id) => this.#cache.forget((v) => v.token.sourceId === id));
    events.onUserChanged((id) => this.#cache.forget((v) => v.token.userId === id));
    events.onChange((notice) => notice.type === 'jti' && this.#cache.forget((v) => v.token.jti === notice.jti));
  }

  accepts(credentials: string): boolean {
    return looksLikeJwt(credentials);
  }

  async authenticate(credentials: string): Promise<AuthResult> {
    const now = this.clock();
    const cached = this.#cache.get(credentials, now);
    if (cached && now - cached.checkedAt < RECHECK_MS) return { ok: true, principal: cached.value.principal };

    const generation = this.#cache.generation;
    let token: Verified;
    let expiresAt = 0;
    if (cached) {
      token = cached.value.token;
    } else {
      const verdict = await verifyJwt(credentials, this.#keys, this.settings, now);
      if (!verdict.ok) return authFailure('INVALID_CREDENTIALS', INVALID, verdict.reason);
      const { claims } = verdict;
      token = {
        // verifyJwt accepts only a numeric `sub` (the user's id).
        userId: Number(claims.sub),
        sourceId: claims.cid,
        scopes: claims.scope === undefined ? null : claims.scope.split(' ').filter(Boolean),
        jti: claims.jti,
        iat: claims.iat,
        iatMs: claims.iatMs,
      };
      expiresAt = claims.exp * 1000;
    }
    const user = await this.#stillValid(token);
    if (!user) {
      this.#cache.delete(credentials);
      return authFailure('INVALID_CREDENTIALS', INVALID, 'The token has been revoked.');
    }
    const principal: Principal = {
      user,
      credential: { kind: 'jwt', id: token.sourceId },
      scopes: token.scopes,
      csrfToken: null,
    };
    if (cached) this.#cache.refresh(credentials, { token, principal }, now, generation);
    else this.#cache.set(credentials, { token, principal }, expiresAt, now, generation);
    return { ok: true, principal };
  }

  /**
   * The token's user if it is active and the token was issued at or after the user's
   * "credentials valid after" instant (issue 13 item 6), its source credential exists and its
   * jti is not denied. `sub` is the user's immutable id, so a user deleted and re-created
   * under the same name never inherits a token — Basic-bought ones (`cid` 0) included.
   */
  async #stillValid({ userId, sourceId, jti, iat, iatMs }: Verified): Promise<Principal['user'] | undefined> {
    const found = await findWithValidAfter(this.database, userId);
    if (!found?.user.isActive || !issuedInTime(iatMs, found.validAfter)) return undefined;
    if (sourceId > 0) {
      const source = await this.database.db
        .selectFrom('credentials')
        .select(['created_at', 'expires_at'])
        .where('id', '=', sourceId)
        .executeTakeFirst();
      // Gone, expired, or replaced in place after the token was bought (a Frappe secret
      // regenerated keeps its row but restamps created_at): the token goes with it.
      const now = this.clock();
      if (!source || (source.expires_at !== null && source.expires_at <= now)) return undefined;
      if (Math.floor(source.created_at / 1000) > iat) return undefined;
    }
    return (await this.denyList.isDenied(jti)) ? undefined : found.user;
  }
}
