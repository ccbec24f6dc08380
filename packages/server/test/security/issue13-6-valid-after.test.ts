import { tmpdir } from 'node:os';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config.js';
import { createHttpServer } from '../../src/http/server.js';
import { openDatabase } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrator.js';
import { openTessera } from '../../src/tessera.js';
import type { User } from '../../src/users/user.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { apiKeyOf, conjurTimestamp, tokenFor, tokenHeader, whoamiStatusWith } from '../helpers/conjur.js';
import { basicHeader } from '../helpers/credentials.js';
import {
  describeEachDatabase,
  freshDatabase,
  login,
  PASSWORD,
  startServer,
  TEST_MASTER_KEY,
  type TestServer,
} from '../helpers/harness.js';
import { within } from '../helpers/poll.js';
import { api } from '../helpers/requests.js';

const NEW_PASSWORD = 'a different horse battery staple';

/**
 * Issue 13 item 6: reactivating a user brought back the signed tokens issued before the
 * deactivation. A per-user "credentials valid after" instant (SECURITY C6) is moved on
 * deactivation, password change and "sign out everywhere"; every JWT and Conjur token issued
 * before it is refused, compared in milliseconds, on every instance.
 */
describeEachDatabase('issue 13 item 6: credentials valid after', (kind) => {
  describe.each(['legacy', 'jws'] as const)('with Conjur %s tokens', (format) => {
    let server: TestServer;
    let alice: User;

    beforeEach(async () => {
      server = await startServer(kind, { conjur: { ttlMs: 480_000, format, accounts: ['default'] } });
      alice = await server.createUser('alice', PASSWORD);
    });
    afterEach(() => server.close());

    /** A JWT bought with `authorization` through `POST /v1/token`. */
    const jwtWith = async (authorization: string): Promise<string> => {
      const response = await api(server, 'POST', '/v1/token', { headers: { authorization } });
      const text = await response.text();
      expect(response.status, text).toBe(200);
      return (JSON.parse(text) as { access_token: string }).access_token;
    };
    const meStatus = async (authorization: string) =>
      (await fetch(`${server.url}/v1/me`, { headers: { authorization } })).status;
    const conjurToken = async (password = PASSWORD) =>
      tokenFor(server, 'alice', await apiKeyOf(server, 'alice', password));

    it('does not revive, on reactivation, the JWTs and Conjur tokens issued before the deactivation', async () => {
      const jwt = await jwtWith(basicHeader('alice', PASSWORD));
      const conjur = await conjurToken();
      const unusedConjur = await conjurToken();
      expect(await meStatus(`Bearer ${jwt}`)).toBe(200);
      expect(await whoamiStatusWith(server, conjur)).toBe(200);

      server.clock.advance(1_000);
      await server.tessera.users.update(alice.id, { isActive: false }, { actorId: null });
      server.clock.advance(1_000);
      await server.tessera.users.update(alice.id, { isActive: true }, { actorId: null });

      expect(await meStatus(`Bearer ${jwt}`)).toBe(401);
      expect(await whoamiStatusWith(server, conjur)).toBe(401);
      expect(await whoamiStatusWith(server, unusedConjur)).toBe(401);
      // New ones, issued after the reactivation, work: the control.
      expect(await meStatus(`Bearer ${await jwtWith(basicHeader('alice', PASSWORD))}`)).toBe(200);
      expect(await whoamiStatusWith(server, await conjurToken())).toBe(200);
    });

    it('refuses a token minted just before a move in the same second, and accepts one minted just after', async () => {
      const apiKey = await apiKeyOf(server, 'alice', PASSWORD);
      const second = Math.ceil((server.clock.now + 1) / 1000) * 1000;
      server.clock.advance(second + 200 - server.clock.now);
      const jwtBefore = await jwtWith(basicHeader('alice', PASSWORD));
      const conjurBefore = await tokenFor(server, 'alice', apiKey);

      server.clock.advance(300); // the move, at .500 of the same second
      await server.tessera.users.update(alice.id, { password: NEW_PASSWORD }, { actorId: null });
      server.clock.advance(200); // .700
      const jwtAfter = await jwtWith(basicHeader('alice', NEW_PASSWORD));
      const conjurAfter = await tokenFor(server, 'alice', apiKey); // the API key outlives the password

      expect(await meStatus(`Bearer ${jwtBefore}`)).toBe(401);
      expect(await whoamiStatusWith(server, conjurBefore)).toBe(401);
      expect(await meStatus(`Bearer ${jwtAfter}`)).toBe(200);
      expect(await whoamiStatusWith(server, conjurAfter)).toBe(200);
      if (format === 'legacy') {
        // Whole seconds only: the token minted after the move is dated the next second.
        expect(conjurBefore.timestamp).toBe(conjurTimestamp(second));
        expect(conjurAfter.timestamp).toBe(conjurTimestamp(second + 1000));
      }
    });
  });

  describe('password change and sign out everywhere', () => {
    let server: TestServer;
    let alice: User;

    beforeEach(async () => {
      server = await startServer(kind);
      alice = await server.createUser('alice', PASSWORD);
    });
    afterEach(() => server.close());

    const jwtWith = async (authorization: string): Promise<string> => {
      const response = await api(server, 'POST', '/v1/token', { headers: { authorization } });
      expect(response.status).toBe(200);
      return ((await response.json()) as { access_token: string }).access_token;
    };
    const meStatus = async (authorization: string) =>
      (await fetch(`${server.url}/v1/me`, { headers: { authorization } })).status;
    const personalToken = async (): Promise<string> => {
      const response = await api(server, 'POST', '/v1/credentials', {
        headers: { authorization: basicHeader('alice', PASSWORD) },
        body: { name: 'ci' },
      });
      expect(response.status).toBe(201);
      return ((await response.json()) as { token: string }).token;
    };

    it('ends, on a password change, the signed tokens bought with any credential, and keeps the lasting ones', async () => {
      const personal = await personalToken();
      const jwtFromPersonal = await jwtWith(`Bearer ${personal}`);
      const jwtFromPassword = await jwtWith(basicHeader('alice', PASSWORD));
      const conjur = tokenHeader(await tokenFor(server, 'alice', await apiKeyOf(server, 'alice', PASSWORD)));
      server.clock.advance(1_000);
      await server.tessera.users.update(alice.id, { password: NEW_PASSWORD }, { actorId: null });

      expect(await meStatus(`Bearer ${jwtFromPersonal}`)).toBe(401);
      expect(await meStatus(`Bearer ${jwtFromPassword}`)).toBe(401);
      expect(await meStatus(conjur)).toBe(401);
      // The personal token is a lasting credential of its own: it stays and buys anew.
      expect(await meStatus(`Bearer ${personal}`)).toBe(200);
      expect(await meStatus(`Bearer ${await jwtWith(`Bearer ${personal}`)}`)).toBe(200);
    });

    it('signs a user out everywhere with `tessera user sign-out`: sessions and signed tokens end, keys stay', async () => {
      const session = await login(server, 'alice', PASSWORD);
      const personal = await personalToken();
      const jwt = await jwtWith(basicHeader('alice', PASSWORD));
      const apiKey = await apiKeyOf(server, 'alice', PASSWORD);
      const conjur = tokenHeader(await tokenFor(server, 'alice', apiKey));
      for (const authorization of [`Bearer ${jwt}`, conjur]) expect(await meStatus(authorization)).toBe(200);

      const result = await runCli(['user', 'sign-out', 'alice', '--database', server.databaseUrl], {
        cwd: tmpdir(),
        env: cliEnv({ TESSERA_MASTER_KEY: TEST_MASTER_KEY }),
      });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/signed alice out everywhere: 1 session\(s\) ended/);
      const audit = await server.tessera.database.db
        .selectFrom('audit_log')
        .select('event')
        .where('event', '=', 'user.signed_out_everywhere')
        .where('subject_id', '=', alice.id)
        .execute();
      expect(audit).toHaveLength(1);

      // Another process made the change: this server sees it at its next re-check (a second).
      server.clock.advance(1_001);
      const whoami = await fetch(`${server.url}/authentication/whoami/`, { headers: { cookie: session.cookie } });
      expect(whoami.status).toBe(401);
      for (const authorization of [`Bearer ${jwt}`, conjur]) expect(await meStatus(authorization)).toBe(401);
      // Lasting credentials stay; tokens bought after the sign-out work. The CLI dated the move
      // by the wall clock, so move this server's test clock past it first.
      server.clock.now = Math.max(server.clock.now, Date.now() + 1_000);
      expect(await meStatus(`Bearer ${personal}`)).toBe(200);
      expect(await meStatus(`Bearer ${await jwtWith(basicHeader('alice', PASSWORD))}`)).toBe(200);
      expect(await meStatus(tokenHeader(await tokenFor(server, 'alice', apiKey)))).toBe(200);
    });
  });

  it('migration 005 starts the users of an existing database at their creation time', async () => {
    const fresh = await freshDatabase(kind);
    const database = await openDatabase(fresh.url);
    try {
      // A database as the release before 005 left it.
      await migrate(database, { upTo: '004-audit-indexes' });
      await sql`insert into users (username, email, is_active, roles, password_hash, created_at, updated_at)
        values ('old', null, 1, '[]', null, 1234567, 1234567)`.execute(database.db);

      expect((await migrate(database))[0]).toBe('005-credentials-valid-after');
      const row = await database.db
        .selectFrom('users')
        .select(['created_at', 'credentials_valid_after'])
        .where('username', '=', 'old')
        .executeTakeFirstOrThrow();
      expect(Number(row.credentials_valid_after)).toBe(1234567);
    } finally {
      await database.close();
      await fresh.dispose();
    }
  });

  describe('across two instances on one database', () => {
    it('refuses on the other instance, within its re-check, a token whose user was deactivated and reactivated', async () => {
      const a = await startServer(kind);
      const config = resolveConfig(
        {},
        {
          databaseUrl: a.databaseUrl,
          masterKey: { kind: 'env', value: TEST_MASTER_KEY },
          logLevel: 'silent',
          host: '127.0.0.1',
          port: 0,
        },
      );
      const tesseraB = await openTessera(config, { clock: a.clock.read });
      const httpB = createHttpServer(tesseraB);
      const urlB = `http://127.0.0.1:${(await httpB.listen(0, '127.0.0.1')).port}`;
      try {
        const alice = await a.createUser('alice', PASSWORD);
        const bought = await api(a, 'POST', '/v1/token', {
          headers: { authorization: basicHeader('alice', PASSWORD) },
        });
        const { access_token: jwt } = (await bought.json()) as { access_token: string };
        const conjur = tokenHeader(await tokenFor(a, 'alice', await apiKeyOf(a, 'alice', PASSWORD)));
        const onB = async (authorization: string) =>
          (await fetch(`${urlB}/v1/me`, { headers: { authorization } })).status;
        // Verified and remembered on B first.
        expect(await onB(`Bearer ${jwt}`)).toBe(200);
        expect(await onB(conjur)).toBe(200);

        a.clock.advance(500);
        await a.tessera.users.update(alice.id, { isActive: false }, { actorId: null });
        await a.tessera.users.update(alice.id, { isActive: true }, { actorId: null });
        if (kind === 'postgres') {
          // The change feed tells B at once: no clock movement needed.
          await within(2_000, async () => (await onB(`Bearer ${jwt}`)) === 401 && (await onB(conjur)) === 401);
        } else {
          a.clock.advance(1_001); // SQLite has no feed: B's one-second re-check finds it
        }
        expect(await onB(`Bearer ${jwt}`)).toBe(401);
        expect(await onB(conjur)).toBe(401);
      } finally {
        await httpB.close();
        await tesseraB.close();
        await a.close();
      }
    });
  });
});
