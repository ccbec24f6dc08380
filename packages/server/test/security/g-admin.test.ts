import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { cliEnv, runCli, startServe } from '../helpers/cli.js';
import { basicHeader } from '../helpers/credentials.js';
import { describeEachDatabase, PASSWORD, type Session, TEST_MASTER_KEY, type TestServer } from '../helpers/harness.js';
import { threeUsers } from '../helpers/native-api.js';
import { api, whoamiStatus } from '../helpers/requests.js';

/** SECURITY G (admin API and errors): each test is named by the requirement it proves; G3 has its own file (g3-recent-login). */

const GENERATE_KEYS = '/api/method/frappe.core.doctype.user.user.generate_keys';

describeEachDatabase('SECURITY G: admin API and errors', (kind) => {
  let server: TestServer;
  let admin: Session;
  let alice: Session;
  const ALICE_ID = 2;
  const BOB_ID = 3;

  beforeEach(async () => {
    ({ server, admin, alice } = await threeUsers(kind));
  });
  afterEach(() => server.close());

  /** The admin-only calls, each with a body that would change something if it were let through. */
  const adminCalls = (): Array<[method: string, path: string, body?: Record<string, unknown>]> => [
    ['POST', '/users/users/', { username: 'mallory', password: 'another good passphrase', roles: ['admin'] }],
    ['PATCH', `/users/users/${BOB_ID}/`, { email: 'bob@evil.example' }],
    ['PUT', `/users/users/${BOB_ID}/`, { is_active: false }],
    ['DELETE', `/users/users/${BOB_ID}/`],
    ['POST', GENERATE_KEYS, { user: 'bob' }],
    ['GET', `/v1/credentials?user=${BOB_ID}`],
    ['POST', '/v1/credentials', { name: 'for bob', user: BOB_ID }],
  ];

  /** Everything an admin call could have changed, to compare before and after. */
  const snapshot = async () => ({
    users: await server.tessera.database.db.selectFrom('users').selectAll().orderBy('id').execute(),
    credentials: (
      await server.tessera.database.db
        .selectFrom('credentials')
        .select(['id', 'user_id', 'kind'])
        .orderBy('id')
        .execute()
    ).filter((row) => row.kind !== 'session'),
  });

  it('G1 answers every admin call made anonymously with 401 and a challenge, changing nothing', async () => {
    const before = await snapshot();
    for (const [method, path, body] of adminCalls()) {
      const response = await api(server, method, path, body === undefined ? {} : { body });
      const label = `${method} ${path}`;
      expect(response.status, label).toBe(401);
      expect(response.headers.get('www-authenticate'), label).toMatch(/\S/);
      expect(await response.json(), label).toEqual({ detail: expect.any(String) });
    }
    expect(await snapshot()).toEqual(before);
  });

  it('G1 answers every admin call by a non-admin with 403, by session, Basic or personal token, changing nothing', async () => {
    const { token } = await server.tessera.issuer.personalToken(
      { userId: ALICE_ID, name: 'ci', expiresAt: null, scopes: null },
      { actorId: null },
    );
    const before = await snapshot();
    const callers: Array<[string, { session: Session } | { headers: Record<string, string> }]> = [
      ['session', { session: alice }],
      ['basic', { headers: { authorization: basicHeader('alice', PASSWORD) } }],
      ['personal token', { headers: { authorization: `Bearer ${token}` } }],
    ];
    for (const [caller, as] of callers) {
      for (const [method, path, body] of adminCalls()) {
        // A non-admin's `user` in a token request is ignored (E5), not refused: their own token is made.
        if (path === '/v1/credentials' && method === 'POST') continue;
        const response = await api(server, method, path, { ...as, ...(body !== undefined && { body }) });
        const label = `${caller}: ${method} ${path}`;
        expect(response.status, label).toBe(403);
        expect(await response.json(), label).toEqual({ detail: expect.any(String) });
      }
    }
    expect(await snapshot()).toEqual(before);
    // The same calls by the admin go through, so the refusals above are about who asked.
    const byAdmin = await api(server, 'PATCH', `/users/users/${BOB_ID}/`, {
      session: admin,
      body: { email: 'bob@example.com' },
    });
    expect(byAdmin.status).toBe(200);
  });

  it("G1 gives a non-admin no access to another user's credentials: not listed, not deletable, not revocable", async () => {
    const bobs = await server.tessera.issuer.personalToken(
      { userId: BOB_ID, name: 'bob ci', expiresAt: null, scopes: null },
      { actorId: null },
    );
    const bobJwtResponse = await api(server, 'POST', '/v1/token', {
      headers: { authorization: `Bearer ${bobs.token}` },
    });
    const { access_token: bobJwt } = (await bobJwtResponse.json()) as { access_token: string };

    const list = await api(server, 'GET', '/v1/credentials', { session: alice });
    const listed = (await list.json()) as Array<{ id: number }>;
    expect(listed.map((c) => c.id)).not.toContain(bobs.info.id);

    const deleted = await api(server, 'DELETE', `/v1/credentials/${bobs.info.id}`, { session: alice });
    expect(deleted.status).toBe(404);
    expect(await deleted.json()).toEqual({ detail: 'Not found.' });
    const revoked = await api(server, 'POST', '/v1/token/revoke', { session: alice, body: { token: bobJwt } });
    expect(revoked.status).toBe(404);

    for (const authorization of [`Bearer ${bobs.token}`, `Bearer ${bobJwt}`]) {
      const me = await fetch(`${server.url}/v1/me`, { headers: { authorization } });
      expect(me.status, authorization.slice(0, 12)).toBe(200);
    }
  });

  it('G2 refuses a non-admin sending roles, is_active or is_staff in a self-update with 403 and changes nothing', async () => {
    const bodies: Array<Record<string, unknown>> = [
      { email: 'alice@example.com', roles: ['admin'] },
      { email: 'alice@example.com', roles: [] },
      { email: 'alice@example.com', is_active: false },
      { email: 'alice@example.com', is_active: true },
      { email: 'alice@example.com', is_staff: true },
      { email: 'alice@example.com', is_staff: false },
    ];
    for (const body of bodies) {
      for (const method of ['PATCH', 'PUT']) {
        const response = await api(server, method, `/users/users/${ALICE_ID}/`, { session: alice, body });
        expect(response.status, `${method} ${JSON.stringify(body)}`).toBe(403);
        expect(await response.json()).toMatchObject({ detail: expect.stringMatching(/admin/) });
      }
    }
    // The same through a form body, where a list is a repeated field.
    const form = await fetch(`${server.url}/users/users/${ALICE_ID}/`, {
      method: 'PATCH',
      headers: {
        cookie: alice.cookie,
        'X-CSRFToken': alice.csrfToken,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'email=alice%40example.com&roles=admin',
    });
    expect(form.status).toBe(403);

    const after = await server.tessera.users.findById(ALICE_ID);
    expect(after).toMatchObject({ email: null, roles: [], isActive: true });
    expect(await whoamiStatus(server, alice)).toBe(200);
  });

  it('G2 refuses a self-update of roles or the active flag through Basic or a personal token too, and lets an admin make it', async () => {
    const { token } = await server.tessera.issuer.personalToken(
      { userId: ALICE_ID, name: 'ci', expiresAt: null, scopes: null },
      { actorId: null },
    );
    for (const authorization of [basicHeader('alice', PASSWORD), `Bearer ${token}`]) {
      for (const body of [{ roles: ['admin'] }, { is_active: false }, { is_staff: true }]) {
        const response = await api(server, 'PATCH', `/users/users/${ALICE_ID}/`, { headers: { authorization }, body });
        expect(response.status, `${authorization.slice(0, 6)} ${JSON.stringify(body)}`).toBe(403);
      }
    }
    expect(await server.tessera.users.findById(ALICE_ID)).toMatchObject({ roles: [], isActive: true });
    // The admin may: the rule is about who changes whom.
    const byAdmin = await api(server, 'PATCH', `/users/users/${ALICE_ID}/`, {
      session: admin,
      body: { roles: ['ops'] },
    });
    expect(byAdmin.status).toBe(200);
    expect(await server.tessera.users.findById(ALICE_ID)).toMatchObject({ roles: ['ops'] });
  });

  it('G4 answers an unexpected failure with a generic 500 and goes on serving', async () => {
    const { token } = await server.tessera.issuer.personalToken(
      { userId: ALICE_ID, name: 'ci', expiresAt: null, scopes: null },
      { actorId: null },
    );
    // A table gone from under the server: logins count attempts in it before anything else.
    await server.tessera.database.db.schema.dropTable('throttle').execute();
    const failed = await api(server, 'POST', '/authentication/login/', {
      body: { username: 'alice', password: PASSWORD },
    });
    expect(failed.status).toBe(500);
    expect(failed.headers.get('content-type')).toBe('application/json');
    const text = await failed.text();
    expect(JSON.parse(text)).toEqual({ detail: 'Internal server error.' });
    expect(text).not.toMatch(/throttle|sql|table|relation|at \w+ \(/i);
    expect(failed.headers.get('set-cookie')).toBeNull();

    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const me = await fetch(`${server.url}/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(await whoamiStatus(server, admin)).toBe(200);
  });
});

describe('SECURITY G4: no start without a usable master key', () => {
  let cwd: string;
  beforeEach(() => {
    cwd = mkdtempSync(join(tmpdir(), 'tessera-g4-'));
  });
  afterEach(() => rmSync(cwd, { recursive: true, force: true }));

  /** Runs `tessera serve` expecting a refusal: exit 1, one line on stderr, nothing listening. */
  async function expectRefusedStart(env: NodeJS.ProcessEnv, reason: RegExp): Promise<void> {
    const result = await runCli(['serve', '--port', '0'], { cwd, env, timeoutMs: 20_000 });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(reason);
    expect(result.stdout).not.toMatch(/listening/);
  }

  it('G4 refuses to serve with a master key that is not 32 bytes, or a key file others may read', async () => {
    const database = join(cwd, 'tessera.db');
    for (const bytes of [1, 16, 31, 33]) {
      await expectRefusedStart(
        cliEnv({ TESSERA_DATABASE_URL: database, TESSERA_MASTER_KEY: randomBytes(bytes).toString('base64') }),
        /TESSERA_MASTER_KEY/,
      );
    }
    const keyFile = join(cwd, 'readable.key');
    writeFileSync(keyFile, randomBytes(32).toString('base64'));
    chmodSync(keyFile, 0o644);
    await expectRefusedStart(
      cliEnv({ TESSERA_DATABASE_URL: database, TESSERA_MASTER_KEY_FILE: keyFile }),
      /readable|permission|mode/i,
    );
  }, 60_000);

  it('G4 refuses to serve a database with a master key other than the one that sealed it', async () => {
    const database = join(cwd, 'tessera.db');
    const first = cliEnv({ TESSERA_DATABASE_URL: database, TESSERA_MASTER_KEY: TEST_MASTER_KEY });
    // A first start makes the signing key, sealed under the first master key.
    const serve = await startServe([], { cwd, env: first });
    serve.kill();
    await serve.exited(10_000);
    await expectRefusedStart(
      cliEnv({ TESSERA_DATABASE_URL: database, TESSERA_MASTER_KEY: randomBytes(32).toString('base64') }),
      /this master key \(key id [0-9a-f]{12}\) does not match the database .* \(made under key id [0-9a-f]{12}\)/,
    );
  }, 60_000);

  it.skipIf(!inject('postgresUrl'))('G4 refuses to serve PostgreSQL without a master key', async () => {
    await expectRefusedStart(cliEnv({ TESSERA_DATABASE_URL: inject('postgresUrl') }), /TESSERA_MASTER_KEY/);
  });
});
