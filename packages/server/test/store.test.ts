import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { isTesseraError } from '../src/errors.js';
import { type Database, openDatabase } from '../src/store/database.js';
import { migrate } from '../src/store/migrator.js';
import { openTessera } from '../src/tessera.js';
import { cliEnv, runCli } from './helpers/cli.js';
import {
  type DatabaseKind,
  describeEachDatabase,
  freshDatabase,
  PASSWORD,
  TEST_MASTER_KEY,
} from './helpers/harness.js';

// Tests here spawn several real node processes each; on a loaded machine that is slow, not stuck.
vi.setConfig({ testTimeout: 120_000 });

/** Cheap argon2 for the race below only; production cost is tested in passwords.test.ts. */
const FAST_ARGON2 = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

describeEachDatabase('storage', (kind: DatabaseKind) => {
  let fresh: { url: string; dispose(): Promise<void> };
  const opened: Database[] = [];

  beforeEach(async () => {
    fresh = await freshDatabase(kind);
  });
  afterEach(async () => {
    for (const database of opened.splice(0)) await database.close();
    await fresh.dispose();
  });

  async function open(): Promise<Database> {
    const database = await openDatabase(fresh.url);
    opened.push(database);
    return database;
  }

  async function insertUser(database: Database, username: string): Promise<number> {
    const row = await database.db
      .insertInto('users')
      .values({
        username,
        username_key: username,
        username_skeleton: username,
        email: null,
        is_active: 1,
        roles: '[]',
        password_hash: null,
        created_at: 1,
        updated_at: 1,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async function insertCredential(database: Database, userId: number, lookup: string): Promise<void> {
    await database.db
      .insertInto('credentials')
      .values({ kind: 'session', user_id: userId, lookup, created_at: 1 })
      .execute();
  }

  const count = async (database: Database, table: 'users' | 'credentials', userId?: number) => {
    const rows =
      table === 'credentials' && userId !== undefined
        ? await database.db.selectFrom('credentials').select('id').where('user_id', '=', userId).execute()
        : await database.db.selectFrom(table).select('id').execute();
    return rows.length;
  };

  it('opens as the right kind of database', async () => {
    expect((await open()).kind).toBe(kind);
  });

  it('migrates a fresh database, and migrating again is a no-op', async () => {
    const database = await open();
    const applied = await migrate(database);
    expect(applied[0]).toBe('001-initial');
    expect([...applied].sort()).toEqual(applied);
    const userId = await insertUser(database, 'keeper');

    expect(await migrate(database)).toEqual([]);
    const reopened = await open();
    expect(await migrate(reopened)).toEqual([]);
    const recorded = await sql<{ name: string }>`select name from tessera_migration order by name`.execute(reopened.db);
    expect(recorded.rows.map((r) => r.name)).toEqual(applied);
    // Nothing was recreated: the data is still there.
    expect((await reopened.db.selectFrom('users').select('id').executeTakeFirst())?.id).toBe(userId);
  });

  it('lets four processes migrate one fresh database at the same time, each migration running once', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tessera-migrate-'));
    try {
      const env = cliEnv({ TESSERA_DATABASE_URL: fresh.url, TESSERA_MASTER_KEY: TEST_MASTER_KEY });
      const results = await Promise.all(
        Array.from({ length: 4 }, () => runCli(['migrate'], { cwd, env, process: true })),
      );
      for (const result of results) {
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
      }
      const applied = results.flatMap(
        (r) => /^applied \d+ migration\(s\) to .+: (.+)\n$/.exec(r.stdout)?.[1]?.split(', ') ?? [],
      );
      expect(results.filter((r) => r.stdout.startsWith('applied'))).toHaveLength(1);
      const recorded = await sql<{ name: string }>`select name from tessera_migration order by name`.execute(
        (await open()).db,
      );
      expect(recorded.rows[0]?.name).toBe('001-initial');
      expect(applied).toEqual(recorded.rows.map((r) => r.name));
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('keeps usernames unique in the database itself, not only in application code', async () => {
    const database = await open();
    await migrate(database);
    await insertUser(database, 'alice');
    await expect(insertUser(database, 'alice')).rejects.toThrow(/unique|duplicate/i);
    // One identity in any case (issue 13 item 9): the canonical key is unique too.
    await expect(
      database.db
        .insertInto('users')
        .values({
          username: 'Alice',
          username_key: 'alice',
          username_skeleton: 'alice',
          is_active: 1,
          roles: '[]',
          created_at: 1,
          updated_at: 1,
        })
        .execute(),
    ).rejects.toThrow(/unique|duplicate/i);
    expect(await count(database, 'users')).toBe(1);
  });

  it('keeps (kind, lookup) of credentials unique in the database', async () => {
    const database = await open();
    await migrate(database);
    const a = await insertUser(database, 'a');
    const b = await insertUser(database, 'b');
    await insertCredential(database, a, 'digest-1');
    await expect(insertCredential(database, b, 'digest-1')).rejects.toThrow(/unique|duplicate/i);
  });

  it('refuses a credential for a user that does not exist', async () => {
    const database = await open();
    await migrate(database);
    await expect(insertCredential(database, 999_999, 'orphan')).rejects.toThrow(/foreign key/i);
  });

  it("deletes a user's credentials rows with the user, and only theirs", async () => {
    const database = await open();
    await migrate(database);
    const doomed = await insertUser(database, 'doomed');
    const other = await insertUser(database, 'other');
    for (const lookup of ['d1', 'd2', 'd3']) await insertCredential(database, doomed, lookup);
    await insertCredential(database, other, 'o1');

    await database.db.deleteFrom('users').where('id', '=', doomed).execute();
    expect(await count(database, 'credentials', doomed)).toBe(0);
    expect(await count(database, 'credentials', other)).toBe(1);
    expect(await count(database, 'credentials')).toBe(1);
  });

  it('gives exactly one of 50 parallel creations of one username success, the rest USERNAME_TAKEN', async () => {
    const tessera = await openTessera(
      resolveConfig(
        {},
        { databaseUrl: fresh.url, masterKey: { kind: 'env', value: TEST_MASTER_KEY }, logLevel: 'silent' },
      ),
      { argon2: FAST_ARGON2 },
    );
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) =>
          tessera.users.create({ username: 'racer', password: `${PASSWORD} ${i}` }, { actorId: null }),
        ),
      );
      const created = results.flatMap((r, index) => (r.status === 'fulfilled' ? [{ user: r.value, index }] : []));
      const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
      expect(created).toHaveLength(1);
      expect(refused).toHaveLength(49);
      for (const reason of refused) expect(isTesseraError(reason, 'USERNAME_TAKEN'), String(reason)).toBe(true);
      expect((await tessera.users.list()).map((u) => u.username)).toEqual(['racer']);

      // The one stored password is the winner's.
      const [winner] = created;
      const login = await tessera.passwordLogin.attempt({
        username: 'racer',
        password: `${PASSWORD} ${winner?.index}`,
        clientAddress: '127.0.0.1',
        via: 'test',
      });
      expect(login.ok && login.user.id).toBe(winner?.user.id);
    } finally {
      await tessera.close();
    }
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How many other processes have `path` open (Linux /proc), excluding this one. */
function openedBy(path: string): number {
  let count = 0;
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid)) {
    try {
      if (readdirSync(`/proc/${pid}/fd`).some((fd) => readlinkSafe(`/proc/${pid}/fd/${fd}`) === path)) count++;
    } catch {
      // Not ours to read, or gone.
    }
  }
  return count;
}

function readlinkSafe(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

describe('SQLite migrations across processes', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-migrate-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('serialises processes that all find the schema missing: each migration runs once, no process fails', async () => {
    const path = join(dir, 'tessera.db');
    // Kysely's bookkeeping tables exist but no migration has run; the test then holds the
    // write lock, so every process reads "nothing applied" and waits at its first write.
    // Mode 0600 as Tessera makes it: it refuses a database that others may read.
    writeFileSync(path, '', { mode: 0o600 });
    const holder = new SqliteDatabase(path);
    holder.pragma('journal_mode = WAL');
    holder.exec(`
      create table tessera_migration (name varchar(255) not null primary key, timestamp varchar(255) not null);
      create table tessera_migration_lock (id varchar(255) not null primary key, is_locked integer not null default 0);
      insert into tessera_migration_lock (id, is_locked) values ('migration_lock', 0);
    `);
    holder.exec('begin immediate');
    const env = cliEnv({ TESSERA_DATABASE_URL: path, TESSERA_MASTER_KEY: TEST_MASTER_KEY });
    const running = Array.from({ length: 4 }, () => runCli(['migrate'], { cwd: dir, env, process: true }));
    // Once a process has the database open it reaches the lock within milliseconds; release
    // then, well inside the processes' 5 s busy_timeout.
    if (existsSync('/proc/self/fd')) {
      const deadline = performance.now() + 4000;
      while (openedBy(path) < 4 && performance.now() < deadline) await sleep(50);
      await sleep(500);
    } else {
      await sleep(2500); // no /proc to watch: a fixed wait instead
    }
    holder.exec('commit');
    holder.close();

    const results = await Promise.all(running);
    expect(results.map((r) => r.stderr)).toEqual(['', '', '', '']);
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    expect(results.filter((r) => r.stdout.startsWith('applied'))).toHaveLength(1);
    expect(results.filter((r) => / is up to date\n$/.test(r.stdout))).toHaveLength(3);
  });
});

describe.skipIf(!inject('postgresUrl'))('PostgreSQL migrations beside other schemas', () => {
  it('migrates fresh schemas while sibling schemas of the database are being created and dropped', async () => {
    const admin = new pg.Client({ connectionString: inject('postgresUrl') });
    await admin.connect();
    let churning = true;
    const churn = (async () => {
      for (let i = 0; churning; i++) {
        const schema = `churn_${process.pid}_${i}`;
        await admin.query(`create schema ${schema}; create table ${schema}.t (id serial primary key)`);
        await admin.query(`drop schema ${schema} cascade`);
      }
    })();
    const failures: string[] = [];
    try {
      for (let round = 0; round < 5; round++) {
        const fresh = await freshDatabase('postgres');
        const database = await openDatabase(fresh.url);
        try {
          const applied = await migrate(database);
          expect(applied[0]).toBe('001-initial');
        } catch (error) {
          failures.push(String(error));
        } finally {
          await database.close();
          await fresh.dispose();
        }
      }
    } finally {
      churning = false;
      await churn;
      await admin.end();
    }
    expect(failures).toEqual([]);
  });
});

describe('openDatabase URLs', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-url-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('opens SQLite from a path, a sqlite: URL, a sqlite:// URL and a file: URL', async () => {
    for (const url of [
      join(dir, 'a.db'),
      `sqlite:${join(dir, 'b.db')}`,
      `sqlite://${join(dir, 'c.db')}`,
      `file:${join(dir, 'd.db')}`,
    ]) {
      const database = await openDatabase(url);
      try {
        expect(database.kind, url).toBe('sqlite');
        expect(database.location).toMatch(/\/[a-d]\.db$/);
        expect(database.location.startsWith(dir)).toBe(true);
      } finally {
        await database.close();
      }
    }
  });

  it('refuses other schemes with DATABASE_URL_INVALID, hiding any password', async () => {
    for (const url of ['mysql://x', 'mysql://root:hunter2@db/app', 'redis://localhost']) {
      const error = await openDatabase(url).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isTesseraError(error, 'DATABASE_URL_INVALID'), url).toBe(true);
      expect(String(error)).not.toContain('hunter2');
    }
  });
});
