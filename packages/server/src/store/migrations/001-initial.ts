import type { Kysely } from 'kysely';
import type { DatabaseKind } from '../database.js';

/** Users, the single credentials table, the audit log and login throttle counters. */
export async function up(db: Kysely<unknown>, kind: DatabaseKind): Promise<void> {
  const serial = kind === 'postgres' ? 'bigserial' : 'integer';
  const time = kind === 'postgres' ? 'bigint' : 'integer';

  await db.schema
    .createTable('users')
    .addColumn('id', serial, (c) => (kind === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('username', 'text', (c) => c.notNull().unique())
    .addColumn('email', 'text')
    .addColumn('is_active', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('roles', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('password_hash', 'text')
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('updated_at', time, (c) => c.notNull())
    .addColumn('last_login_at', time)
    .execute();

  await db.schema
    .createTable('credentials')
    .addColumn('id', serial, (c) => (kind === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('user_id', kind === 'postgres' ? 'bigint' : 'integer', (c) =>
      c.notNull().references('users.id').onDelete('cascade'),
    )
    .addColumn('lookup', 'text', (c) => c.notNull())
    .addColumn('secret_digest', 'text')
    .addColumn('sealed', 'text')
    .addColumn('name', 'text')
    .addColumn('scopes', 'text')
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('last_used_at', time)
    .addColumn('expires_at', time)
    .addColumn('revoked_at', time)
    .addUniqueConstraint('credentials_kind_lookup', ['kind', 'lookup'])
    .execute();
  await db.schema.createIndex('credentials_user').on('credentials').columns(['user_id', 'kind']).execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('id', serial, (c) => (kind === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('at', time, (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('actor_id', kind === 'postgres' ? 'bigint' : 'integer')
    .addColumn('subject_id', kind === 'postgres' ? 'bigint' : 'integer')
    .addColumn('client_address', 'text')
    .addColumn('detail', 'text')
    .execute();
  await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();

  await db.schema
    .createTable('throttle')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('reset_at', time, (c) => c.notNull())
    .execute();
}
