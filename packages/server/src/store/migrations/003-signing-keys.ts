import { type Kysely, sql } from 'kysely';
import type { DatabaseKind } from '../database.js';

/**
 * Signed short-lived tokens (issue 4): the Ed25519 keyring, shared by every instance, a
 * deny-list of JWT ids revoked before their expiry (SECURITY F7), and one Conjur API key per user.
 */
export async function up(db: Kysely<unknown>, kind: DatabaseKind): Promise<void> {
  const time = kind === 'postgres' ? 'bigint' : 'integer';
  await db.schema
    .createTable('signing_keys')
    .addColumn('fingerprint', 'text', (c) => c.primaryKey())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('private_sealed', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('rotated_at', time)
    .addColumn('retire_after', time)
    .execute();
  // A Conjur API key is one per user: login hands out the same key until it is rotated.
  await sql`create unique index credentials_one_conjur_per_user on credentials (user_id) where kind = 'conjur'`.execute(
    db,
  );
  await db.schema
    .createTable('revoked_jtis')
    .addColumn('jti', 'text', (c) => c.primaryKey())
    .addColumn('expires_at', time, (c) => c.notNull())
    .execute();
}
