import type { Kysely } from 'kysely';
import type { DatabaseKind } from '../database.js';

/**
 * `GET /v1/audit` and `tessera audit tail` filter by user and by event and page by id
 * (issue 8); without these an audit log of millions of rows would be scanned per page.
 */
export async function up(db: Kysely<unknown>, _kind: DatabaseKind): Promise<void> {
  await db.schema.createIndex('audit_log_subject').on('audit_log').columns(['subject_id', 'id']).execute();
  await db.schema.createIndex('audit_log_actor').on('audit_log').columns(['actor_id', 'id']).execute();
  await db.schema.createIndex('audit_log_event').on('audit_log').columns(['event', 'id']).execute();
}
