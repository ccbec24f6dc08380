import { type Kysely, type Migration, Migrator, sql } from 'kysely';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ConfigOverrides } from '../../src/config.js';
import { type Database, openDatabase } from '../../src/store/database.js';
import * as m001 from '../../src/store/migrations/001-initial.js';
import * as m002 from '../../src/store/migrations/002-credential-kinds.js';
import * as m003 from '../../src/store/migrations/003-signing-keys.js';
import * as m004 from '../../src/store/migrations/004-audit-indexes.js';
import { migrate } from '../../src/store/migrator.js';
import { apiKeyOf, conjurAuthenticate, conjurLogin } from '../helpers/conjur.js';
import { auditRows, basicHeader } from '../helpers/credentials.js';
import {
  describeEachDatabase,
  freshDatabase,
  login,
  PASSWORD,
  startServer,
  type TestServer,
} from '../helpers/harness.js';
import { api } from '../helpers/requests.js';

/** Issue 13 items 3, 7 and 9, and the Conjur throttling and audit growth it also observed (SECURITY B3, B6). */

const MINUTES_15 = 15 * 60_000;
/** The default per-account limit (20 in 15 minutes), and a per-address one out of the way. */
const LIMITS: ConfigOverrides = {
  throttle: { account: { max: 20, windowMs: MINUTES_15 }, address: { max: 10_000, windowMs: MINUTES_15 } },
};

async function status(response: Promise<Response>): Promise<number> {
  const answer = await response;
  await answer.arrayBuffer();
  return answer.status;
}

function sessionLogin(server: TestServer, username: string, password: string) {
  return api(server, 'POST', '/authentication/login/', { body: { username, password } });
}

describeEachDatabase('item 9: one identity per username', (kind) => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer(kind, LIMITS);
    await server.createUser('admin', PASSWORD, { admin: true });
  });
  afterEach(() => server.close());

  it('item 9: refuses fullwidth, upper-case and Cyrillic lookalikes of an existing name', async () => {
    const admin = await login(server, 'admin', PASSWORD);
    for (const [username, message] of [
      ['ａdmin', 'A user with that username already exists.'],
      ['ADMIN', 'A user with that username already exists.'],
      ['\u0430dmin', 'This username is too similar to an existing username.'],
      ['\u0391DMIN', 'This username is too similar to an existing username.'],
      [
        'admin\ufe00',
        'Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters (at most 150).',
      ],
    ]) {
      const response = await api(server, 'POST', '/users/users/', {
        session: admin,
        body: { username, password: PASSWORD },
      });
      expect(response.status, username).toBe(400);
      expect(await response.json()).toEqual({ username: [message] });
    }
    expect((await server.tessera.users.list()).map((u) => u.username)).toEqual(['admin']);
  });

  it('item 9: keeps the chosen spelling for display, and any spelling logs in to that one account', async () => {
    const dave = await server.createUser('Dave', PASSWORD);
    for (const spelling of ['Dave', 'dave', 'DAVE', 'ＤＡＶＥ']) {
      const response = await sessionLogin(server, spelling, PASSWORD);
      expect(response.status, spelling).toBe(200);
      expect(await response.json()).toMatchObject({ id: dave.id, username: 'Dave' });
    }
    const basic = await fetch(`${server.url}/v1/me`, { headers: { authorization: basicHeader('dAVE', PASSWORD) } });
    expect(basic.status).toBe(200);
    // Changing only the case of one's own name is not a clash with oneself.
    const session = await login(server, 'dave', PASSWORD);
    const renamed = await api(server, 'PATCH', `/users/users/${dave.id}/`, { session, body: { username: 'DaVe' } });
    expect(renamed.status).toBe(200);
    expect(await renamed.json()).toMatchObject({ username: 'DaVe' });
  });

  it("item 9: a rename may not take another user's name in another case or a lookalike of it", async () => {
    const dora = await server.createUser('dora', PASSWORD);
    await server.createUser('dave', PASSWORD);
    const session = await login(server, 'dora', PASSWORD);
    for (const username of ['DAVE', 'ԁave']) {
      const response = await api(server, 'PATCH', `/users/users/${dora.id}/`, { session, body: { username } });
      expect(response.status, username).toBe(400);
    }
    expect((await server.tessera.users.findById(dora.id))?.username).toBe('dora');
  });
});

describeEachDatabase("item 3: one account cannot reset another account's login limit", (kind) => {
  let server: TestServer;
  afterEach(() => server.close());

  it('item 3: rename to DAVE, 18 wrong guesses at dave, one real login as DAVE, repeated: 429 within the limit of 20', async () => {
    server = await startServer(kind, LIMITS);
    await server.createUser('dave', PASSWORD);
    const dora = await server.createUser('dora', 'dora has her own password');
    const session = await login(server, 'dora', 'dora has her own password');
    // The attack's first step is refused outright now: DAVE is dave.
    const rename = await api(server, 'PATCH', `/users/users/${dora.id}/`, { session, body: { username: 'DAVE' } });
    expect(rename.status).toBe(400);

    const againstDave: number[] = [];
    for (let round = 0; round < 3 && !againstDave.includes(429); round++) {
      for (let i = 0; i < 18; i++) againstDave.push(await status(sessionLogin(server, 'dave', `guess ${round}-${i}`)));
      // Dora's "real login as DAVE": her password, at dave's account.
      againstDave.push(await status(sessionLogin(server, 'DAVE', 'dora has her own password')));
      // And a real login of her own account in between forgives only her own failures.
      expect(await status(sessionLogin(server, 'dora', 'dora has her own password'))).toBe(200);
    }
    expect(againstDave.indexOf(429)).toBe(20);
    expect(againstDave.slice(0, 20).every((s) => s === 400)).toBe(true);
    // The limit holds for every spelling, right password or not (SECURITY B3).
    expect(await status(sessionLogin(server, 'Dave', PASSWORD))).toBe(429);
  });
});

describeEachDatabase('item 7: an over-long username is a clear 4xx, never a 500', (kind) => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer(kind, LIMITS);
    await server.createUser('alice', PASSWORD);
  });
  afterEach(() => server.close());

  const long = 'x'.repeat(4000);

  it("item 7: answers a 4,000-character username in each dialect's own shape", async () => {
    const session = await sessionLogin(server, long, PASSWORD);
    expect(session.status).toBe(400);
    expect(await session.json()).toEqual({ non_field_errors: ['Invalid username or password.'] });

    const drf = await api(server, 'POST', '/api-token-auth/', { body: { username: long, password: PASSWORD } });
    expect(drf.status).toBe(400);
    expect(await drf.json()).toEqual({ non_field_errors: ['Unable to log in with provided credentials.'] });

    const frappe = await api(server, 'POST', '/api/method/login', { body: { usr: long, pwd: PASSWORD } });
    expect(frappe.status).toBe(401);
    expect(await frappe.json()).toEqual({ message: 'Invalid login credentials', exc_type: 'AuthenticationError' });

    const basic = await fetch(`${server.url}/v1/me`, { headers: { authorization: basicHeader(long, PASSWORD) } });
    expect(basic.status).toBe(401);
    expect(await basic.json()).toEqual({ detail: 'Invalid username/password.' });

    expect(await status(conjurLogin(server, basicHeader(long, PASSWORD)))).toBe(401);
    // The router takes no path parameter over 100 characters: such a login is no route at all.
    const authn = await conjurAuthenticate(server, long, 'a'.repeat(52));
    expect(authn.status).toBe(404);
    expect(await authn.json()).toEqual({ detail: 'Not found.' });

    // Nothing that long reached an index: the address was counted, the name never keyed.
    const keys = await server.tessera.database.db.selectFrom('throttle').select('key').execute();
    expect(keys.every((row) => row.key.length < 200)).toBe(true);
    expect(await status(sessionLogin(server, 'alice', PASSWORD))).toBe(200);
  });

  it('item 7: still counts over-long attempts against the client address', async () => {
    await server.close();
    server = await startServer(kind, {
      throttle: { account: { max: 20, windowMs: MINUTES_15 }, address: { max: 3, windowMs: MINUTES_15 } },
    });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await status(sessionLogin(server, `${long}${i}`, PASSWORD)));
    expect(answers).toEqual([400, 400, 400, 429]);
  });
});

describeEachDatabase('Conjur authenticate is throttled, and refusals do not grow the audit log', (kind) => {
  let server: TestServer;
  let apiKey: string;
  beforeEach(async () => {
    server = await startServer(kind, LIMITS);
    await server.createUser('donna', PASSWORD);
    apiKey = await apiKeyOf(server, 'donna', PASSWORD);
  });
  afterEach(() => server.close());

  it('throttles failed Conjur authenticate calls per login like password logins: 429 even with the right key', async () => {
    const wrong = '0'.repeat(52);
    const answers = [];
    for (let i = 0; i < 20; i++) answers.push(await status(conjurAuthenticate(server, 'donna', wrong)));
    expect(answers.every((s) => s === 401)).toBe(true);
    const refused = await conjurAuthenticate(server, 'DONNA', apiKey);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // When the window has passed, the right key works again.
    server.clock.advance(MINUTES_15 + 1);
    expect(await status(conjurAuthenticate(server, 'donna', apiKey))).toBe(200);
  });

  it('a successful authenticate gives back its own attempt, so a busy client is never throttled', async () => {
    for (let i = 0; i < 30; i++) expect(await status(conjurAuthenticate(server, 'donna', apiKey))).toBe(200);
  });

  it('coalesces throttled attempts into one audit row per account and address per window, with a count', async () => {
    const before = (await auditRows(server)).length;
    for (let i = 0; i < 20; i++) await status(conjurAuthenticate(server, 'donna', '0'.repeat(52)));
    for (let i = 0; i < 20; i++) await status(sessionLogin(server, 'donna', 'wrong'));
    for (let i = 0; i < 20; i++) {
      await status(fetch(`${server.url}/v1/me`, { headers: { authorization: basicHeader('donna', `w${i}`) } }));
    }
    for (let i = 0; i < 30; i++) await status(conjurAuthenticate(server, 'donna', '0'.repeat(52)));
    const rows = (await auditRows(server)).slice(before);
    const failed = rows.filter((row) => row.event === 'login.failed');
    const throttled = rows.filter((row) => row.event === 'login.throttled');
    // 20 counted failures, then 70 refusals in one row.
    expect(failed).toHaveLength(20);
    expect(throttled).toHaveLength(1);
    expect(Number(throttled[0]?.count)).toBe(70);
    // The next window starts a new row.
    server.clock.advance(MINUTES_15 + 1);
    for (let i = 0; i < 25; i++) await status(sessionLogin(server, 'donna', 'wrong'));
    const later = (await auditRows(server)).slice(before).filter((row) => row.event === 'login.throttled');
    expect(later.map((row) => Number(row.count))).toEqual([70, 5]);
    // And the audit API shows the count.
    await server.createUser('admin', PASSWORD, { admin: true });
    const admin = await login(server, 'admin', PASSWORD);
    const page = await api(server, 'GET', '/v1/audit?event=login.throttled', { session: admin });
    const body = (await page.json()) as { entries: Array<{ count: number }> };
    expect(body.entries.map((entry) => entry.count)).toEqual([5, 70]);
  });
});

/** A database as Tessera left it before migration 006: the migrations up to 004 only. */
async function migrateTo004(database: Database): Promise<void> {
  const schema =
    database.kind === 'postgres'
      ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(database.db)).rows[0]?.schema
      : undefined;
  const before = { m001, m002, m003, m004 };
  const names = ['001-initial', '002-credential-kinds', '003-signing-keys', '004-audit-indexes'];
  const migrations: Record<string, Migration> = Object.fromEntries(
    Object.values(before).map((m, i) => [names[i], { up: (db: Kysely<unknown>) => m.up(db, database.kind) }]),
  );
  const { error } = await new Migrator({
    db: database.db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'tessera_migration',
    migrationLockTableName: 'tessera_migration_lock',
    ...(schema && { migrationTableSchema: schema }),
  }).migrateToLatest();
  if (error) throw error;
}

describeEachDatabase('item 9: migration 006 fills the identity of existing users and never merges', (kind) => {
  let fresh: Awaited<ReturnType<typeof freshDatabase>>;
  let database: Database;
  beforeEach(async () => {
    fresh = await freshDatabase(kind);
    database = await openDatabase(fresh.url);
    await migrateTo004(database);
    for (const username of ['dave', 'DAVE', 'Ｄave', 'admin', '\u0430dmin', 'alice']) {
      await sql`insert into users (username, is_active, roles, created_at, updated_at) values (${username}, 1, '[]', 1, 1)`.execute(
        database.db,
      );
    }
  });
  afterEach(async () => {
    await database.close();
    await fresh.dispose();
  });

  it('item 9: refuses to migrate names that fold to one, listing them and the fix, and changes nothing', async () => {
    await expect(migrate(database)).rejects.toMatchObject({
      code: 'USERNAMES_CLASH',
      message: expect.stringContaining('"dave" (id 1) = "DAVE" (id 2) = "Ｄave" (id 3)'),
    });
    await expect(migrate(database)).rejects.toThrow(/Rename all but one user of each group/);
    // Rolled back whole: no new column, no applied migration.
    await expect(sql`select username_key from users`.execute(database.db)).rejects.toThrow();
  });

  it('item 9: after a rename by hand it migrates, keeping both lookalikes as separate accounts', async () => {
    await expect(migrate(database)).rejects.toThrow();
    await sql`update users set username = ${'dave2'} where id = 2`.execute(database.db);
    await sql`update users set username = ${'dave3'} where id = 3`.execute(database.db);
    expect(await migrate(database)).toContain('006-username-identity');
    const rows = await database.db
      .selectFrom('users')
      .select(['id', 'username', 'username_key'])
      .orderBy('id')
      .execute();
    expect(rows.map((row) => [Number(row.id), row.username, row.username_key])).toEqual([
      [1, 'dave', 'dave'],
      [2, 'dave2', 'dave2'],
      [3, 'dave3', 'dave3'],
      [4, 'admin', 'admin'],
      [5, '\u0430dmin', '\u0430dmin'],
      [6, 'alice', 'alice'],
    ]);
    // The key is unique in the database itself.
    await expect(
      sql`insert into users (username, username_key, username_skeleton, is_active, roles, created_at, updated_at) values ('DAVE', 'dave', 'dave', 1, '[]', 1, 1)`.execute(
        database.db,
      ),
    ).rejects.toThrow();
  });
});
