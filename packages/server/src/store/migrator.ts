import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import type { Database, DatabaseKind } from './database.js';
import * as initial from './migrations/001-initial.js';

interface TesseraMigration {
  up(db: Kysely<unknown>, kind: DatabaseKind): Promise<void>;
}

/** Every migration, in order. Names are versions: never rename or edit a released one. */
const MIGRATIONS: Record<string, TesseraMigration> = {
  '001-initial': initial,
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
 * Brings the schema up to date. On PostgreSQL the migrations run in one transaction under
 * Kysely's table lock, so instances starting together migrate once; on SQLite the write
 * lock serialises them.
 *
 * @returns the names of the migrations applied now (empty when already current).
 */
export async function migrate(database: Database): Promise<string[]> {
  const migrator = new Migrator({
    db: database.db,
    provider: new BuiltInMigrations(database.kind),
    migrationTableName: 'tessera_migration',
    migrationLockTableName: 'tessera_migration_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
