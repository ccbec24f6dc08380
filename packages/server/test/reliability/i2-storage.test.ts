import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { basicHeader } from '../helpers/credentials.js';
import { PASSWORD, startServer, type TestServer } from '../helpers/harness.js';
import { createUserByCli, NO_LOGIN_LIMITS, type ServeBed, serveBed } from '../helpers/serve-bed.js';

// Two server processes plus their load on two shared cores.
vi.setConfig({ testTimeout: 90_000 });

const ALICE = basicHeader('alice', PASSWORD);

describe('SECURITY I2: SQLite storage', () => {
  let server: TestServer | undefined;
  let bed: ServeBed | undefined;
  afterEach(async () => {
    await server?.close();
    await bed?.dispose();
    server = undefined;
    bed = undefined;
  });

  it('opens its database in WAL mode with a busy timeout, and the file stays in WAL for every other opener', async () => {
    server = await startServer('sqlite');
    const { db } = server.tessera.database;
    const [mode] = (await sql<{ journal_mode: string }>`pragma journal_mode`.execute(db)).rows;
    const [busy] = (await sql<{ timeout: number }>`pragma busy_timeout`.execute(db)).rows;
    expect(mode?.journal_mode).toBe('wal');
    expect(busy?.timeout).toBeGreaterThanOrEqual(1000);

    const other = new SqliteDatabase(server.databaseUrl, { readonly: true });
    try {
      expect(other.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      other.close();
    }
  });

  it('lets two tessera serve processes on one SQLite file write at once: no SQLITE_BUSY, no 5xx, nothing lost', async () => {
    bed = await serveBed('sqlite', NO_LOGIN_LIMITS);
    await createUserByCli(bed, 'alice');
    const servers = await Promise.all([bed.serve(), bed.serve()]);
    // A successful password check forgives the account's failures (SECURITY B3), and each
    // server checks alice's Basic password in full once before remembering it: done here, first,
    // so that no check still running on one server can forgive failures counted on the other.
    for (const serve of servers) {
      expect((await fetch(`${serve.url}/v1/me`, { headers: { Authorization: ALICE } })).status).toBe(200);
    }
    const PER_SERVER = 48;
    const WORKERS = 4;

    // Token creations (an insert and an audit row each), revocations (an update each) and some
    // failed logins (a throttle upsert each; few, since each also costs an argon2 check).
    const created: Array<{ token: string; on: number; revoked: boolean }> = [];
    const statuses: string[] = [];
    let failedLogins = 0;
    await Promise.all(
      servers.flatMap((serve, on) =>
        Array.from({ length: WORKERS }, async (_, w) => {
          for (let i = 0; i < PER_SERVER / WORKERS; i++) {
            const response = await fetch(`${serve.url}/v1/credentials`, {
              method: 'POST',
              headers: { Authorization: ALICE, 'content-type': 'application/json' },
              body: JSON.stringify({ name: `s${on}-w${w}-${i}` }),
            });
            const body = (await response.json()) as { id?: number; token?: string };
            statuses.push(`create ${response.status}`);
            if (body.token === undefined) continue;
            const mine = { token: body.token, on, revoked: false };
            created.push(mine);
            if (i % 2 === 1) {
              const revoke = await fetch(`${serve.url}/v1/credentials/${body.id}`, {
                method: 'DELETE',
                headers: { Authorization: ALICE },
              });
              statuses.push(`revoke ${revoke.status}`);
              mine.revoked = revoke.status === 204;
            }
            if (i % 4 === 3) {
              const login = await fetch(`${serve.url}/authentication/login/`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ username: 'alice', password: 'not the password' }),
              });
              await login.arrayBuffer();
              statuses.push(`login ${login.status}`);
              failedLogins++;
            }
          }
        }),
      ),
    );

    expect(new Set(statuses)).toEqual(new Set(['create 201', 'revoke 204', 'login 400']));
    expect(created).toHaveLength(2 * PER_SERVER);
    for (const serve of servers) {
      expect(serve.stdout()).not.toMatch(/SQLITE_BUSY|database is locked|unhandled error/);
      expect(serve.stderr()).toBe('');
    }
    // Each token and each revocation holds on the process that did not make it: both wrote to the one file.
    const crossStatuses = await Promise.all(
      created.map(async ({ token, on }) => {
        const response = await fetch(`${servers[1 - on]?.url}/v1/me`, {
          headers: { Authorization: `Bearer ${token}` },
        });
        await response.arrayBuffer();
        return response.status;
      }),
    );
    expect(crossStatuses).toEqual(created.map(({ revoked }) => (revoked ? 401 : 200)));

    const file = new SqliteDatabase(bed.databaseUrl, { readonly: true });
    try {
      const { count } = file
        .prepare(`select count(*) as count from credentials where kind = 'personal' and revoked_at is null`)
        .get() as {
        count: number;
      };
      expect(count).toBe(created.filter(({ revoked }) => !revoked).length);
      const throttle = file.prepare(`select count from throttle where key = 'account:alice'`).get() as {
        count: number;
      };
      expect(throttle.count).toBe(failedLogins);
    } finally {
      file.close();
    }
  });
});
