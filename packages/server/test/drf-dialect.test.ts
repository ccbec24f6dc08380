import { afterEach, beforeEach, expect, it } from 'vitest';
import { auditRows, basicHeader, columnsContaining, credentialRows } from './helpers/credentials.js';
import { describeEachDatabase, PASSWORD, startServer, type TestServer } from './helpers/harness.js';

const DRF_TOKEN = /^[0-9a-f]{40}$/;

/** Room for 50 parallel logins of one account: attempts are counted before the password is checked. */
const ROOMY_THROTTLE = {
  throttle: { account: { max: 1000, windowMs: 60_000 }, address: { max: 1000, windowMs: 60_000 } },
};

describeEachDatabase('drf dialect (seed 002), one token per user', (kind) => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer(kind);
    // The seed's example logs in as "admin"; its password "password" is too common to be allowed.
    await server.createUser('admin', PASSWORD, { admin: true });
  });
  afterEach(() => server.close());

  /** `POST /api-token-auth/` exactly as the seed writes it: a JSON object, `Content-Type: application/json`. */
  const obtain = (body: Record<string, unknown>) =>
    fetch(`${server.url}/api-token-auth/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });

  const tokenOf = async (username: string, password: string): Promise<string> => {
    const response = await obtain({ username, password });
    expect(response.status).toBe(200);
    const { token } = (await response.json()) as { token: string };
    expect(token).toMatch(DRF_TOKEN);
    return token;
  };

  const whoami = (token: string) =>
    fetch(`${server.url}/api/whoami/`, { headers: { Authorization: `Token ${token}` } });

  const expectInvalidToken = async (response: Response) => {
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Token');
    expect(await response.json()).toEqual({ detail: 'Invalid token.' });
  };

  it("runs seed 002's flow: obtain, obtain the same token again, whoami, logout, old token refused, a new one next time", async () => {
    // The seed's request body, byte for byte in shape: `{"username": "admin", "password": "…"}`.
    const first = await fetch(`${server.url}/api-token-auth/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: `{"username": "admin", "password": "${PASSWORD}"}`,
    });
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('application/json');
    expect(first.headers.get('cache-control')).toBe('no-store');
    const body = (await first.json()) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['token']);
    const token = String(body.token);
    expect(token).toMatch(DRF_TOKEN);

    // "If a user attempts to log in who has logged in before, they reuse the token."
    expect(await tokenOf('admin', PASSWORD)).toBe(token);

    const me = await whoami(token);
    expect(me.status).toBe(200);
    const user = await me.json();
    expect(user).toMatchObject({ id: 1, username: 'admin', is_active: true, is_staff: true, roles: ['admin'] });
    expect(JSON.stringify(user)).not.toMatch(/argon2|password/);

    const logout = await fetch(`${server.url}/api/logout/`, {
      method: 'POST',
      headers: { Authorization: `Token ${token}` },
    });
    expect(logout.status).toBe(200);
    expect(await logout.json()).toEqual({ username: null });

    await expectInvalidToken(await whoami(token));
    expect(await credentialRows(server, 'drf')).toHaveLength(0);

    // "Future login attempts will generate new tokens."
    const next = await tokenOf('admin', PASSWORD);
    expect(next).not.toBe(token);
    expect((await whoami(next)).status).toBe(200);
    await expectInvalidToken(await whoami(token));
  });

  it('logs in from a form body as Python requests sends data=, returning the same per-user token', async () => {
    const form = await fetch(`${server.url}/api-token-auth/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'admin', password: PASSWORD }).toString(),
    });
    expect(form.status).toBe(200);
    const { token } = (await form.json()) as { token: string };
    expect(token).toMatch(DRF_TOKEN);
    expect(await tokenOf('admin', PASSWORD)).toBe(token);
  });

  it("answers a wrong password, an unknown user and an inactive user with DRF's identical 400", async () => {
    await server.tessera.users.create({ username: 'sleeper', password: PASSWORD, isActive: false }, { actorId: null });
    const bodies: string[] = [];
    for (const [username, password] of [
      ['admin', 'not the password'],
      ['nobody-here', PASSWORD],
      ['sleeper', PASSWORD],
    ]) {
      const response = await obtain({ username, password });
      expect(response.status).toBe(400);
      bodies.push(await response.text());
    }
    expect(new Set(bodies)).toEqual(new Set(['{"non_field_errors":["Unable to log in with provided credentials."]}']));
    expect(await credentialRows(server)).toHaveLength(0);
  });

  it("names each missing or blank field in DRF's words", async () => {
    const cases: Array<[Record<string, unknown>, Record<string, string[]>]> = [
      [{ password: PASSWORD }, { username: ['This field is required.'] }],
      [{ username: 'admin' }, { password: ['This field is required.'] }],
      [{}, { username: ['This field is required.'], password: ['This field is required.'] }],
      [{ username: '', password: PASSWORD }, { username: ['This field may not be blank.'] }],
      [{ username: { $ne: 1 }, password: PASSWORD }, { username: ['Not a valid string.'] }],
    ];
    for (const [body, errors] of cases) {
      const response = await obtain(body);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual(errors);
    }
  });

  it('refuses a missing, empty, multi-part, unknown or query-string token with 401 and WWW-Authenticate', async () => {
    const token = await tokenOf('admin', PASSWORD);

    const anonymous = await fetch(`${server.url}/api/whoami/`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/(^|, )Token(,|$)/);
    expect(await anonymous.json()).toEqual({ detail: 'Authentication credentials were not provided.' });

    // SECURITY E2: `Token` with not exactly one part is refused, in DRF's words.
    const cases: Array<[string, string]> = [
      ['Token', 'Invalid token header. No credentials provided.'],
      [`Token ${token} ${token}`, 'Invalid token header. Token string should not contain spaces.'],
      [`Token ${'0'.repeat(40)}`, 'Invalid token.'],
      [`Token ${token.toUpperCase()}`, 'Invalid token.'],
      [`Token ${token.slice(0, 39)}`, 'Invalid token.'],
    ];
    for (const [authorization, message] of cases) {
      const response = await fetch(`${server.url}/api/whoami/`, { headers: { Authorization: authorization } });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Token');
      expect(await response.json()).toEqual({ detail: message });
    }

    // Credentials in the query string are not credentials.
    for (const query of [`token=${token}`, `auth_token=${token}`, `Authorization=Token%20${token}`]) {
      const response = await fetch(`${server.url}/api/whoami/?${query}`);
      expect(response.status).toBe(401);
      await response.arrayBuffer();
    }
    expect((await whoami(token)).status).toBe(200);
  });

  it('refuses logout without a token with 401, leaving the token alive', async () => {
    const token = await tokenOf('admin', PASSWORD);
    // The seed says 403 here (DRF with SessionAuthentication first); SECURITY wants 401 + challenge.
    const logout = await fetch(`${server.url}/api/logout/`, { method: 'POST' });
    expect(logout.status).toBe(401);
    expect(logout.headers.get('www-authenticate')).toMatch(/Token/);
    await logout.arrayBuffer();
    expect((await whoami(token)).status).toBe(200);
  });

  it("deletes the user's per-user token when logout is called with another credential (HTTP Basic)", async () => {
    const token = await tokenOf('admin', PASSWORD);
    const logout = await fetch(`${server.url}/api/logout/`, {
      method: 'POST',
      headers: { Authorization: basicHeader('admin', PASSWORD) },
    });
    expect(logout.status).toBe(200);
    expect(await logout.json()).toEqual({ username: null });
    await expectInvalidToken(await whoami(token));
  });

  it("ends a user's token at once when the user is deactivated, and reactivation does not bring it back", async () => {
    const token = await tokenOf('admin', PASSWORD);
    expect((await whoami(token)).status).toBe(200);
    // Another admin first: the last active admin cannot be deactivated (issue 13).
    await server.createUser('root', PASSWORD, { admin: true });
    await server.tessera.users.update(1, { isActive: false }, { actorId: null });

    // SECURITY C6 deletes every token of a deactivated user, so DRF's "User inactive or
    // deleted." never shows for it: the token is simply gone.
    await expectInvalidToken(await whoami(token));
    expect(await credentialRows(server)).toHaveLength(0);
    const login = await obtain({ username: 'admin', password: PASSWORD });
    expect(login.status).toBe(400);
    await login.arrayBuffer();

    await server.tessera.users.update(1, { isActive: true }, { actorId: null });
    await expectInvalidToken(await whoami(token));
    const fresh = await tokenOf('admin', PASSWORD);
    expect(fresh).not.toBe(token);
  });

  it('ends a token at once when its user is deleted', async () => {
    const bob = await server.createUser('bob', PASSWORD);
    const token = await tokenOf('bob', PASSWORD);
    expect((await whoami(token)).status).toBe(200);
    await server.tessera.users.delete(bob.id, { actorId: null });
    await expectInvalidToken(await whoami(token));
  });

  it('says "User inactive or deleted." for a token whose row outlives its user\'s is_active flag', async () => {
    const token = await tokenOf('admin', PASSWORD);
    // Users.update clears the flag and deletes the credentials in two statements; this is the
    // state between them (or a flag cleared straight in the database): the token row stands.
    await server.tessera.database.db.updateTable('users').set({ is_active: 0 }).where('id', '=', 1).execute();
    expect(await credentialRows(server, 'drf')).toHaveLength(1);
    const response = await whoami(token);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Token');
    expect(await response.json()).toEqual({ detail: 'User inactive or deleted.' });
  });

  it('keeps no usable token in the database: a digest to find it and a sealed copy to hand it out again', async () => {
    const token = await tokenOf('admin', PASSWORD);
    const rows = await credentialRows(server);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: 'drf', user_id: 1, lookup: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(rows[0]?.sealed).toEqual(expect.any(String));
    expect(columnsContaining(rows, token)).toEqual([]);
    // Nor does the audit log of the login and the token's creation.
    const audit = await auditRows(server);
    expect(audit.map((r) => r.event)).toEqual(expect.arrayContaining(['login.succeeded', 'credential.created']));
    expect(columnsContaining(audit, token)).toEqual([]);
  });

  it('converges 50 parallel first logins of one user on one token and one row, every one a 200 (SECURITY I1)', async () => {
    await server.close();
    server = await startServer(kind, ROOMY_THROTTLE);
    await server.createUser('admin', PASSWORD);
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => obtain({ username: 'admin', password: PASSWORD })),
    );
    const statuses = responses.map((r) => r.status);
    const bodies = await Promise.all(responses.map((r) => r.json() as Promise<{ token?: string }>));
    expect(statuses).toEqual(Array(50).fill(200));
    const tokens = new Set(bodies.map((b) => b.token));
    expect(tokens.size).toBe(1);
    const [token = ''] = tokens;
    expect(token).toMatch(DRF_TOKEN);
    expect(await credentialRows(server, 'drf')).toHaveLength(1);
    expect((await whoami(token)).status).toBe(200);
  });
});

describeEachDatabase('drf dialect, one token per login (knox-style)', (kind) => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer(kind, { drfTokens: 'per-login', ...ROOMY_THROTTLE });
    await server.createUser('admin', PASSWORD);
  });
  afterEach(() => server.close());

  const tokenOf = async (): Promise<string> => {
    const response = await fetch(`${server.url}/api-token-auth/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: PASSWORD }),
    });
    expect(response.status).toBe(200);
    const { token } = (await response.json()) as { token: string };
    expect(token).toMatch(DRF_TOKEN);
    return token;
  };

  const whoamiStatus = async (token: string) => {
    const response = await fetch(`${server.url}/api/whoami/`, { headers: { Authorization: `Token ${token}` } });
    await response.arrayBuffer();
    return response.status;
  };

  it('issues a different token at every login, and each works', async () => {
    const first = await tokenOf();
    const second = await tokenOf();
    expect(second).not.toBe(first);
    expect(await whoamiStatus(first)).toBe(200);
    expect(await whoamiStatus(second)).toBe(200);
    expect(await credentialRows(server, 'drf-login')).toHaveLength(2);
    expect(await credentialRows(server, 'drf')).toHaveLength(0);
  });

  it('deletes only the token used to log out', async () => {
    const first = await tokenOf();
    const second = await tokenOf();
    const logout = await fetch(`${server.url}/api/logout/`, {
      method: 'POST',
      headers: { Authorization: `Token ${first}` },
    });
    expect(logout.status).toBe(200);
    expect(await logout.json()).toEqual({ username: null });

    const refused = await fetch(`${server.url}/api/whoami/`, { headers: { Authorization: `Token ${first}` } });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ detail: 'Invalid token.' });
    expect(await whoamiStatus(second)).toBe(200);
    expect(await credentialRows(server, 'drf-login')).toHaveLength(1);
  });

  it('keeps neither the token nor a sealed copy of it in the database', async () => {
    const tokens = [await tokenOf(), await tokenOf()];
    const rows = await credentialRows(server);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row.sealed).toBeNull();
    for (const token of tokens) {
      expect(columnsContaining(rows, token)).toEqual([]);
      expect(columnsContaining(await auditRows(server), token)).toEqual([]);
    }
  });

  it('gives 50 parallel logins 50 different working tokens', async () => {
    const tokens = await Promise.all(Array.from({ length: 50 }, () => tokenOf()));
    expect(new Set(tokens).size).toBe(50);
    expect(await credentialRows(server, 'drf-login')).toHaveLength(50);
    const statuses = await Promise.all(tokens.map(whoamiStatus));
    expect(statuses).toEqual(Array(50).fill(200));
  });
});
