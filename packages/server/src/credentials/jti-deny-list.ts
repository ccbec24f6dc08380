import type { Clock } from '../clock.js';
import type { Database } from '../store/database.js';

/** How many expired rows one {@link JtiDenyList.deny} removes at most: its cost stays bounded. */
const EXPIRE_BATCH = 100;

/**
 * The deny-list of JWT ids revoked before their expiry (SECURITY F7): the only code that
 * reads or writes `revoked_jtis`.
 *
 * A row is useful only while its token could still verify, that is until the token's `exp`
 * plus the clock skew the verifier allows; after that the signature check refuses the token
 * by itself and the row is dead weight. Dead rows are removed opportunistically: each
 * {@link deny} deletes up to {@link EXPIRE_BATCH} of them. Rows are only ever added by a
 * deny, so removing up to a hundred per deny keeps the table at about its live rows, drains
 * any backlog left by earlier releases, costs nothing while nobody revokes, needs no timer
 * (nothing to keep a process alive or to stop on close) and is safe with several instances
 * deleting the same rows at once.
 */
export class JtiDenyList {
  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
    /** The skew the JWT verifier tolerates past `exp`, in milliseconds. */
    private readonly skewMs: number,
  ) {}

  /**
   * Refuses the token with this jti until it expires.
   * @param expiresAt the token's `exp`, in milliseconds since the epoch.
   */
  async deny(jti: string, expiresAt: number): Promise<void> {
    await this.database.db
      .insertInto('revoked_jtis')
      .values({ jti, expires_at: expiresAt })
      .onConflict((oc) => oc.column('jti').doNothing())
      .execute();
    await this.expire();
  }

  async isDenied(jti: string): Promise<boolean> {
    const row = await this.database.db
      .selectFrom('revoked_jtis')
      .select('jti')
      .where('jti', '=', jti)
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Deletes up to `limit` rows whose token can no longer verify (`exp` + skew in the past).
   * @returns how many rows went.
   */
  async expire(limit = EXPIRE_BATCH): Promise<number> {
    const cutoff = this.clock() - this.skewMs;
    const { db } = this.database;
    // `in (select … limit n)` rather than `delete … limit`: PostgreSQL has no delete limit,
    // and SQLite has it only when built with it.
    const result = await db
      .deleteFrom('revoked_jtis')
      .where('jti', 'in', db.selectFrom('revoked_jtis').select('jti').where('expires_at', '<', cutoff).limit(limit))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
