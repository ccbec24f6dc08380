import type { Kysely } from 'kysely';

/**
 * The jti deny-list now removes rows whose token has expired (SECURITY F7): each revocation
 * deletes a bounded batch of rows past `expires_at`. The index lets that batch be found
 * without reading the whole table; the column itself has been there since 003.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('revoked_jtis_expires_at').on('revoked_jtis').column('expires_at').execute();
}
