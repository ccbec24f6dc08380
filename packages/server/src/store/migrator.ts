import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import type { Database, DatabaseKind } from './database.js';
import * as initial from './migrations/001-initial.js';
import * as credentialKinds from './migrations/002-credential-kinds.js';
import * as signingKeys from './migrations/003-signing-keys.js';
import * as auditIndexes from './migrations/004-audit-indexes.js';
import * as credentialsValidAfter from './migrations/005-credentials-valid-after.js';
import * as usernameIdentity from './migrations/006-username-identity.js';
import * as meta from './migrations/007-meta.js';
import * as jtiExpiry from './migrations/008-jti-expiry.js';

interface TesseraMigration {
  up(db: Kysely<unknown>, kind: DatabaseKind): Promise<void>;
}

/** Every migration, in order. Names are versions: never rename or edit a released one. */
const MIGRATIONS: Record<string, TesseraMigration> = {
  '001-initial': initial,
  '002-credential-kinds': credentialKinds,
  '003-signing-keys': signingKeys,
  '004-audit-indexes': auditIndexes,
  '005-credentials-valid-after': credentialsValidAfter,
  '006-username-identity': usernameIdentity,
  '007-meta': meta,
  '008-jti-expiry': jtiExpiry,
};

class BuiltInMigrations implements MigrationProvider {
  constructor(private readonly kind: DatabaseKind) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return Object.fromEntries(
      Object.entries(MIGRATIONS).map(([name, m]) => [name, { up: (db: Kysely<unknown>) => m.up(db, this.kind) }]),
    );
  }
}

/**
 * Brings the schema up to date. On PostgreSQL Kysely holds a session advisory lock
 * (`pg_advisory_lock`) while the migrations run in one transaction, so instances starting
 * together migrate once and the others then find nothing to do (SECURITY I2); on SQLite the
 * write lock serialises them.
 *
 * @param options.upTo stop after this migration (tests that build a database as an older release left it)
 * @returns the names of the migrations applied now (empty when already current).
 */
export async function migrate(database: Database, options: { upTo?: string } = {}): Promise<string[]> {
  // Kysely looks for its bookkeeping tables in every schema it can see unless told which one:
  // another deployment's tables in a sibling schema (`?schema=`) would pass for ours, and the
  // migration would then fail on tables that do not exist here. Pin it to the schema in use.
  const schema =
    database.kind === 'postgres'
      ? (await sql<{ schema: string | null }>`select current_schema() as schema`.execute(database.db)).rows[0]?.schema
      : null;
  const migrator = new Migrator({
    db: database.db,
    provider: new BuiltInMigrations(database.kind),
    migrationTableName: 'tessera_migration',
    migrationLockTableName: 'tessera_migration_lock',
    ...(schema && { migrationTableSchema: schema }),
  });
  const { error, results } =
    options.upTo === undefined ? await migrator.migrateToLatest() : await migrator.migrateTo(options.upTo);
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
