import { type Kysely, sql } from 'kysely';
import type { DatabaseKind } from '../database.js';

/**
 * A per-user "credentials valid after" instant (issue 13 item 6; SECURITY C6): every signed
 * token — bearer JWT, Conjur token in either form — issued before it is refused. It is set at
 * creation and moved on deactivation, password change and "sign out everywhere", so
 * reactivating a user no longer brings back the tokens they held before. Milliseconds, like
 * every time in the schema; existing users start at their creation time.
 */
export async function up(db: Kysely<unknown>, kind: DatabaseKind): Promise<void> {
  const time = kind === 'postgres' ? 'bigint' : 'integer';
  await db.schema
    .alterTable('users')
    .addColumn('credentials_valid_after', time, (c) => c.notNull().defaultTo(0))
    .execute();
  await sql`update users set credentials_valid_after = created_at`.execute(db);
}
