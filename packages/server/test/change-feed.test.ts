import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { openTessera, type Tessera } from '../src/tessera.js';
import { freshDatabase, PASSWORD, TEST_MASTER_KEY, TestClock } from './helpers/harness.js';
import { within } from './helpers/poll.js';

/**
 * Two cores on one PostgreSQL schema, in-process. Their clocks stand still, so a cached
 * credential is never re-read on its own: only a notice from the other instance can end it.
 */
describe.skipIf(!inject('postgresUrl'))('change feed between instances (PostgreSQL LISTEN/NOTIFY)', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let a: Tessera;
  let b: Tessera;

  beforeAll(async () => {
    database = await freshDatabase('postgres');
    const config = resolveConfig(
      {},
      { databaseUrl: database.url, masterKey: { kind: 'env', value: TEST_MASTER_KEY }, logLevel: 'silent' },
    );
    a = await openTessera(config, { clock: new TestClock().read });
    b = await openTessera(config, { clock: new TestClock().read });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.dispose();
  });

  async function personalToken(name: string) {
    const user =
      (await a.users.findByUsername('alice')) ??
      (await a.users.create({ username: 'alice', password: PASSWORD, roles: [] }, { actorId: null }));
    return a.issuer.personalToken({ userId: user.id, name, expiresAt: null, scopes: null }, { actorId: null });
  }

  const authenticates = async (instance: Tessera, token: string) =>
    (await instance.authenticator.authenticate({ headers: { authorization: `Bearer ${token}` } })).ok;

  it('ends on one instance a credential revoked on the other', async () => {
    const { token, info } = await personalToken('first');
    expect(await authenticates(b, token)).toBe(true); // now in B's cache, which never expires here
    await a.issuer.revoke(info, { actorId: null });
    await within(2_000, async () => !(await authenticates(b, token)));
  });

  it('listens again after its connection is cut, and hears the next revocation', async () => {
    const schema = new URL(database.url).searchParams.get('schema') ?? '';
    const channel = `tessera_changes_${createHash('sha256').update(schema).digest('hex').slice(0, 32)}`;
    const admin = new pg.Client({ connectionString: inject('postgresUrl') });
    await admin.connect();
    try {
      // idle: the LISTEN has finished, so a notice sent from then on reaches that connection
      const listening = async () =>
        (
          await admin.query("select pid from pg_stat_activity where query = $1 and state = 'idle'", [
            `listen "${channel}"`,
          ])
        ).rows.map((r) => Number(r.pid));
      const before = await listening();
      expect(before).toHaveLength(2);
      await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where query = $1', [
        `listen "${channel}"`,
      ]);
      // Both instances come back on their own, once a second until they do: two listening
      // connections again, neither of them one of the two just cut (which may linger a moment).
      await within(10_000, async () => {
        const now = await listening();
        return now.length === 2 && now.every((pid) => !before.includes(pid));
      });
    } finally {
      await admin.end();
    }

    const { token, info } = await personalToken('second');
    expect(await authenticates(b, token)).toBe(true);
    await a.issuer.revoke(info, { actorId: null });
    await within(2_000, async () => !(await authenticates(b, token)));
  });
});
