import { sql } from 'kysely';
import type { Database } from '../store/database.js';
import { type User, userFromRow } from './user.js';

/**
 * The per-user "credentials valid after" instant (issue 13 item 6; SECURITY C6). A signed token
 * — bearer JWT or Conjur token — counts only if it was issued at or after it, compared in
 * milliseconds: the tokens carry their issue time in milliseconds (`iat_ms`; the Conjur seed
 * format, which has whole seconds only, is stamped so that it compares right — see
 * `legacyStamp`). The instant lives in the users row, which every instance re-reads at least
 * once a second and at once on a user-change notice, so a move reaches every instance.
 */

/**
 * The instant a new user starts with: their creation, rounded down to the whole second. Ids
 * are never reused (AUTOINCREMENT on SQLite, a sequence on PostgreSQL), so no token older than
 * the user can name their id; the instant guards that rule, and rounding down lets a seed-format
 * Conjur token (whole seconds) minted in the creation's own second keep its plain timestamp.
 */
export function validAfterAtCreation(now: number): number {
  return Math.floor(now / 1000) * 1000;
}

/** True when a token issued at `issuedAtMs` still counts for a user whose instant is `validAfter`. */
export function issuedInTime(issuedAtMs: number, validAfter: number): boolean {
  // At or after: the move and a token minted in the same millisecond cannot be ordered, and
  // a refusal there would also refuse the token minted right after a move on a coarse clock.
  return issuedAtMs >= validAfter;
}

/** The user with their instant, by id (one read: the signed-token schemes' re-check). */
export async function findWithValidAfter(
  database: Database,
  id: number,
): Promise<{ user: User; validAfter: number } | undefined> {
  const row = await database.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  return row && { user: userFromRow(row), validAfter: row.credentials_valid_after };
}

/**
 * Moves the user's instant to `now` (deactivation, password change, "sign out everywhere");
 * never backwards, so a clock that stepped back cannot revive tokens an earlier move ended.
 */
export async function moveValidAfter(database: Database, id: number, now: number): Promise<void> {
  await database.db
    .updateTable('users')
    .set({
      credentials_valid_after: sql<number>`case when credentials_valid_after < ${now} then ${now} else credentials_valid_after end`,
    })
    .where('id', '=', id)
    .execute();
}
