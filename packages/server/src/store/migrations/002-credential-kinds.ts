import { type Kysely, sql } from 'kysely';
import type { DatabaseKind } from '../database.js';

/**
 * Opaque credentials (issue 3): a `prefix` column for listing a token without its secret,
 * and partial unique indexes that make "one per user" a database fact for the kinds that
 * have it — a DRF token in per-user mode and a Frappe api key — so that racing first
 * logins or key generations converge on one row (SECURITY I1) instead of relying on a
 * read-then-write in application code.
 */
export async function up(db: Kysely<unknown>, _kind: DatabaseKind): Promise<void> {
  await db.schema.alterTable('credentials').addColumn('prefix', 'text').execute();
  for (const kind of ['drf', 'api-key']) {
    const name = `credentials_one_${kind.replace('-', '_')}_per_user`;
    await sql`create unique index ${sql.raw(name)} on credentials (user_id) where kind = ${sql.lit(kind)}`.execute(db);
  }
}
