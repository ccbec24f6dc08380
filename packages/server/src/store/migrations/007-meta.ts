import type { Kysely } from 'kysely';
import type { DatabaseKind } from '../database.js';

/**
 * A small name/value table for facts about the database itself. Its first row is
 * `master_key_id`: which master key the database was made with, so a start with another key
 * is refused with a clear message instead of failing later on every sealed value (issue 14).
 */
export async function up(db: Kysely<unknown>, _kind: DatabaseKind): Promise<void> {
  await db.schema
    .createTable('meta')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
}
