import { createHmac } from 'node:crypto';
import type { Clock } from '../clock.js';
import { RECENT_MS } from '../credentials/credential-store.js';
import type { RevocationEvents } from '../credentials/revocation-events.js';
import { digestSecret, randomSecret } from '../crypto/secrets.js';
import { VerifiedCache } from '../signing/verified-cache.js';
import type { Database } from '../store/database.js';
import { USER_COLUMNS, type User, userFromRow } from '../users/user.js';

export const SESSION_KIND = 'session';

export interface SessionLifetimes {
  /** A session unused this long dies (OWASP ASVS 5.0 7.3.1). */
  idleMs: number;
  /** A session dies this long after login whatever its use (ASVS 5.0 7.3.2). */
  absoluteMs: number;
}

/** What the server hands the client at login; the secret is never stored. */
export interface NewSession {
  secret: string;
  csrfToken: string;
  credentialId: number;
  expiresAt: number;
}

/** A session as remembered for a second; `lastUsedAt` moves when the session is touched. */
interface RecentSession {
  credentialId: number;
  user: User;
  signedInAt: number;
  lastUsedAt: number;
  expiresAt: number;
  csrfToken: string;
}

export interface ActiveSession {
  credentialId: number;
  user: User;
  /** The login that made this session (a session is made only by a password login). */
  signedInAt: number;
  csrfToken: string;
}

/**
 * `last_used_at` moves at most once a minute per session, so a busy client does not turn
 * every read into a write; idle expiry is accurate to that minute.
 */
const TOUCH_INTERVAL_MS = 60_000;

/**
 * Server-side sessions, kept as rows of kind `session` in the credentials table. The cookie
 * holds a 256-bit random secret; the database holds only its SHA-256 digest. The CSRF token
 * is an HMAC of the session secret, so it is bound to this one session, changes whenever the
 * session id does (at every login), and needs no storage.
 */
export class SessionStore {
  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly lifetimes: SessionLifetimes,
    private readonly csrfKey: Buffer,
    private readonly events: RevocationEvents,
    cacheEntries = 100_000,
  ) {
    this.#recent = new VerifiedCache(cacheEntries);
    events.onCredentialRevoked((id) => this.#recent.forget((s) => s.credentialId === id));
    events.onUserChanged((id) => this.#recent.forget((s) => s.user.id === id));
  }

  /** Sessions read in the last second, by digest (see CredentialStore's RECENT_MS). */
  readonly #recent: VerifiedCache<RecentSession>;

  async create(userId: number): Promise<NewSession> {
    const secret = randomSecret(32);
    const now = this.clock();
    const expiresAt = now + this.lifetimes.absoluteMs;
    const row = await this.database.db
      .insertInto('credentials')
      .values({
        kind: SESSION_KIND,
        user_id: userId,
        lookup: digestSecret(secret),
        created_at: now,
        last_used_at: now,
        expires_at: expiresAt,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { secret, csrfToken: this.csrfTokenFor(secret), credentialId: row.id, expiresAt };
  }

  /**
   * The live session for a cookie secret, or null when unknown, expired (idle or absolute),
   * revoked, or its user is inactive. An expired row is deleted on sight.
   */
  async find(secret: string): Promise<ActiveSession | null> {
    const digest = digestSecret(secret);
    const now = this.clock();
    const session = this.#recent.get(digest, now)?.value ?? (await this.#read(secret, digest, now));
    if (!session) return null;
    // "expires <= now" is expired (django-rest-knox #389; SECURITY E6).
    if (session.expiresAt <= now || session.lastUsedAt + this.lifetimes.idleMs <= now) {
      await this.deleteById(session.credentialId);
      return null;
    }
    if (now - session.lastUsedAt >= TOUCH_INTERVAL_MS) {
      session.lastUsedAt = now;
      await this.database.db
        .updateTable('credentials')
        .set({ last_used_at: now })
        .where('id', '=', session.credentialId)
        .execute();
    }
    return {
      credentialId: session.credentialId,
      user: session.user,
      signedInAt: session.signedInAt,
      csrfToken: session.csrfToken,
    };
  }

  async #read(secret: string, digest: string, now: number): Promise<RecentSession | undefined> {
    const generation = this.#recent.generation;
    const row = await this.database.db
      .selectFrom('credentials as c')
      .innerJoin('users as u', 'u.id', 'c.user_id')
      .select([
        'c.id as credential_id',
        'c.created_at as signed_in_at',
        'c.last_used_at',
        'c.expires_at',
        'c.revoked_at',
        ...USER_COLUMNS,
      ])
      .where('c.kind', '=', SESSION_KIND)
      .where('c.lookup', '=', digest)
      .executeTakeFirst();
    if (!row || row.revoked_at !== null || row.is_active !== 1) return undefined;
    const session: RecentSession = {
      credentialId: row.credential_id,
      user: userFromRow(row),
      signedInAt: row.signed_in_at,
      lastUsedAt: row.last_used_at ?? 0,
      expiresAt: row.expires_at ?? Number.POSITIVE_INFINITY,
      csrfToken: this.csrfTokenFor(secret),
    };
    this.#recent.set(digest, session, now + RECENT_MS, now, generation);
    return session;
  }

  csrfTokenFor(secret: string): string {
    return createHmac('sha256', this.csrfKey).update(secret).digest('base64url');
  }

  async deleteById(credentialId: number): Promise<void> {
    await this.database.db
      .deleteFrom('credentials')
      .where('id', '=', credentialId)
      .where('kind', '=', SESSION_KIND)
      .execute();
    this.events.credentialRevoked(credentialId);
  }

  /** Deletes sessions past their absolute or idle lifetime; returns how many. */
  async deleteExpired(): Promise<number> {
    const now = this.clock();
    const result = await this.database.db
      .deleteFrom('credentials')
      .where('kind', '=', SESSION_KIND)
      .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_used_at', '<=', now - this.lifetimes.idleMs)]))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Ends every session of a user, except optionally the one making the change. */
  async deleteAllForUser(userId: number, except?: number): Promise<number> {
    let query = this.database.db
      .deleteFrom('credentials')
      .where('user_id', '=', userId)
      .where('kind', '=', SESSION_KIND);
    if (except !== undefined) query = query.where('id', '!=', except);
    const deleted = await query.returning('id').execute();
    for (const { id } of deleted) this.events.credentialRevoked(id);
    return deleted.length;
  }
}
