import { resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type DialectAdapter,
  Kysely,
  PostgresDialect,
  PostgresIntrospector,
  SqliteAdapter,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
  sql,
  type TableMetadata,
} from 'kysely';
import type pg from 'pg';
import { TesseraError } from '../errors.js';
import type { Schema } from './schema.js';
import { prepareSqliteFile } from './sqlite-file.js';

export type DatabaseKind = 'sqlite' | 'postgres';

/** An open database: the Kysely handle plus what differs between the two engines. */
export interface Database {
  readonly db: Kysely<Schema>;
  readonly kind: DatabaseKind;
  /** For SQLite, the file path; for PostgreSQL, the URL without its password. */
  readonly location: string;
  /** PostgreSQL only: how to open a connection of one's own (to LISTEN), and the schema in use. */
  readonly postgres?: { readonly connectionString: string; readonly schema: string };
  close(): Promise<void>;
}

/**
 * Opens SQLite (a file path, or `sqlite:` / `file:` followed by one) or PostgreSQL
 * (`postgres://` or `postgresql://`; an optional `?schema=name` keeps the tables in their own
 * schema, created when missing).
 *
 * @throws TesseraError `DATABASE_URL_INVALID` for any other URL scheme.
 */
export async function openDatabase(url: string): Promise<Database> {
  if (/^postgres(ql)?:\/\//i.test(url)) return openPostgres(url);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !/^(sqlite|file):/i.test(url)) {
    throw new TesseraError('DATABASE_URL_INVALID', `unsupported database URL scheme in ${redact(url)}`);
  }
  return openSqlite(url.replace(/^(sqlite|file):(\/\/)?/i, ''));
}

function openSqlite(path: string): Database {
  if (path === '') throw new TesseraError('DATABASE_URL_INVALID', 'the SQLite path is empty');
  const file = path === ':memory:' ? path : resolve(path);
  if (file !== ':memory:') prepareSqliteFile(file);
  let sqlite: SqliteDatabase.Database;
  try {
    sqlite = new SqliteDatabase(file);
  } catch (error) {
    throw sqliteOpenError(file, error);
  }
  try {
    // WAL lets readers run beside the writer; busy_timeout makes a second process (the CLI
    // next to a running server) wait for the lock instead of failing (SECURITY I2).
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    // NORMAL is durable against process crashes (kill -9) in WAL mode; only an OS crash may
    // lose the last transactions, never corrupt the file.
    sqlite.pragma('synchronous = NORMAL');
    // SQLite's default page cache is 2 MiB: with a million credentials, a thousand clients'
    // lookups land on more index pages than that, and each miss is a read(2). 32 MiB keeps the
    // hot part of the credential index in memory (it is an upper bound, filled only as pages are read).
    sqlite.pragma('cache_size = -32768');
  } catch (error) {
    sqlite.close();
    throw sqliteOpenError(file, error);
  }

  // Kysely prepares every query afresh; the statements Tessera runs are a fixed set, so
  // keep each one prepared (better-sqlite3 statements are reusable).
  const statements = new Map<string, SqliteDatabase.Statement>();
  const cached = {
    close: () => sqlite.close(),
    prepare: (sql: string) => {
      let statement = statements.get(sql);
      if (!statement) {
        statement = sqlite.prepare(sql);
        if (statements.size < 1000) statements.set(sql, statement);
      }
      return statement;
    },
  };
  const db = new Kysely<Schema>({ dialect: new ImmediateSqliteDialect({ database: cached }) });
  return { db, kind: 'sqlite', location: file, close: () => db.destroy() };
}

/** A driver error while opening (a corrupt file, a locked directory) as one line naming the file. */
function sqliteOpenError(file: string, error: unknown): TesseraError {
  const reason = error instanceof Error ? error.message : String(error);
  return new TesseraError('DATABASE_FILE_INVALID', `cannot open the SQLite database ${file}: ${reason}`, {
    cause: error,
  });
}

/**
 * SQLite's plain BEGIN takes the write lock only at the first write, so two transactions
 * that read then write can deadlock into SQLITE_BUSY. BEGIN IMMEDIATE takes it up front.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }
  override createDriver(): SqliteDriver {
    return new ImmediateSqliteDriver(this.#config);
  }
  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

/**
 * SQLite's DDL is transactional, but Kysely's adapter says otherwise, so its migrator would
 * run each statement on its own with no lock: two processes migrating one fresh file then
 * both create `users`, and one fails. Saying yes makes the migrator read its state and run
 * the migrations inside one transaction, which BEGIN IMMEDIATE serialises across processes.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

const INT8_OID = 20;

/**
 * Kysely's migrator asks the introspector which tables exist, and Kysely's PostgreSQL
 * introspector reads every schema of the database — with catalog functions that fail
 * ("schema … does not exist", "column … does not exist") when another schema's tables are
 * created or dropped at that moment: a sibling deployment migrating, or a parallel test.
 * The migrator only needs table names in our own schema, so that is all this one reads.
 */
class SchemaScopedPostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SchemaScopedPostgresIntrospector(db);
  }
}

class SchemaScopedPostgresIntrospector extends PostgresIntrospector {
  readonly #db: Kysely<unknown>;
  constructor(db: Kysely<unknown>) {
    super(db);
    this.#db = db;
  }

  override async getTables(): Promise<TableMetadata[]> {
    const { rows } = await sql<{ schema: string; name: string; kind: string }>`
      select n.nspname as schema, c.relname as name, c.relkind as kind
      from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = current_schema() and c.relkind in ('r', 'p', 'v')`.execute(this.#db);
    return rows.map((row) => ({ schema: row.schema, name: row.name, isView: row.kind === 'v', columns: [] }));
  }
}

async function openPostgres(url: string): Promise<Database> {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema');
  parsed.searchParams.delete('schema');
  if (schema !== null && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new TesseraError('DATABASE_URL_INVALID', `schema name "${schema}" must match [a-z_][a-z0-9_]*`);
  }
  // Loaded only here: a SQLite deployment starts without parsing the PostgreSQL driver.
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString: parsed.toString(),
    max: 10,
    // Times are bigint milliseconds; they fit a JS number exactly for the next 285,000 years.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID && format !== 'binary'
          ? (value: string) => Number(value)
          : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
    },
  });
  if (schema !== null) {
    const client = await pool.connect().catch(async (error: unknown) => {
      await pool.end();
      throw error;
    });
    try {
      await client.query(`create schema if not exists "${schema}"`);
    } catch (error) {
      // Instances starting together race on "if not exists": the loser gets a unique
      // violation (23505) or duplicate_schema (42P06), and the schema is there all the same.
      const code = (error as { code?: string }).code;
      if (code !== '23505' && code !== '42P06') throw error;
    } finally {
      client.release();
    }
  }
  const db = new Kysely<Schema>({
    dialect: new SchemaScopedPostgresDialect({
      pool,
      ...(schema !== null && {
        onCreateConnection: async (connection: DatabaseConnection) => {
          await connection.executeQuery(CompiledQuery.raw(`set search_path to "${schema}"`));
        },
      }),
    }),
  });
  return {
    db,
    kind: 'postgres',
    location: redact(url),
    postgres: { connectionString: parsed.toString(), schema: schema ?? 'public' },
    close: () => db.destroy(),
  };
}

/** The URL with any password replaced, safe to log. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    // The pg driver also takes a password from the query string.
    for (const name of ['password', 'sslpassword'])
      if (parsed.searchParams.has(name)) parsed.searchParams.set(name, '***');
    return parsed.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}
