import { afterEach, beforeEach, expect, it } from 'vitest';
import { apiKeyOf, tokenFor, tokenHeader } from '../helpers/conjur.js';
import { basicHeader } from '../helpers/credentials.js';
import {
  describeEachDatabase,
  login,
  PASSWORD,
  type Session,
  startServer,
  type TestServer,
} from '../helpers/harness.js';
import { api } from '../helpers/requests.js';

/**
 * Issue 13 item 4: every route that makes a user, a role, a password or a lasting credential
 * goes through its declared policy (SECURITY G3, E5, E7, E8) — no short-lived token, no
 * session signed in too long ago — whichever route it is.
 */

const RECENT_MS = 15 * 60_000;
const NEW_PASSWORD = 'a brand new passphrase';
const GENERATE_KEYS = '/api/method/frappe.core.doctype.user.user.generate_keys';

type As = { session: Session } | { headers: Record<string, string> };
type Call = [method: string, path: string, body?: Record<string, unknown>];

describeEachDatabase('item 4: lasting changes go through one route policy', (kind) => {
  let server: TestServer;
  let rootId: number;
  let bobId: number;

  beforeEach(async () => {
    server = await startServer(kind, { recentLoginMs: RECENT_MS });
    rootId = (await server.createUser('root', PASSWORD, { admin: true })).id;
    bobId = (await server.createUser('bob', PASSWORD)).id;
  });
  afterEach(() => server.close());

  /** Calls that would leave a lasting admin, role, password or credential behind if let through. */
  const lastingCalls = (): Call[] => [
    ['POST', '/users/users/', { username: 'backdoor1', password: NEW_PASSWORD, roles: ['admin'] }],
    ['PATCH', `/users/users/${bobId}/`, { roles: ['admin'] }],
    ['PUT', `/users/users/${bobId}/`, { is_active: false }],
    ['PATCH', `/users/users/${bobId}/`, { password: NEW_PASSWORD }],
    ['PATCH', `/users/users/${bobId}/`, { email: 'bob@evil.example' }],
    ['DELETE', `/users/users/${bobId}/`],
    ['POST', '/v1/credentials', { name: 'kept' }],
    ['POST', '/v1/credentials', { name: 'for bob', user: bobId }],
    ['POST', GENERATE_KEYS, { user: 'bob' }],
  ];

  /** Users and every non-session credential: what a lasting change would alter. */
  const snapshot = async () => ({
    users: await server.tessera.database.db.selectFrom('users').selectAll().orderBy('id').execute(),
    credentials: (
      await server.tessera.database.db
        .selectFrom('credentials')
        .select(['id', 'user_id', 'kind', 'lookup', 'secret_digest'])
        .orderBy('id')
        .execute()
    ).filter((row) => row.kind !== 'session'),
  });

  async function statuses(as: As, calls: Call[]): Promise<Array<[string, number, unknown]>> {
    const answers: Array<[string, number, unknown]> = [];
    for (const [method, path, body] of calls) {
      const response = await api(server, method, path, { ...as, ...(body !== undefined && { body }) });
      answers.push([`${method} ${path} ${JSON.stringify(body ?? {})}`, response.status, await response.json()]);
    }
    return answers;
  }

  async function jwtOf(as: As): Promise<string> {
    const response = await api(server, 'POST', '/v1/token', as);
    expect(response.status).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  }

  async function conjurTokenOf(username: string): Promise<string> {
    return tokenHeader(await tokenFor(server, username, await apiKeyOf(server, username, PASSWORD)));
  }

  it('item 4: an admin JWT or Conjur token cannot create a user, change roles, is_active, a password or an email, delete a user, or mint a lasting credential', async () => {
    const bearers = {
      jwt: `Bearer ${await jwtOf({ headers: { authorization: basicHeader('root', PASSWORD) } })}`,
      'conjur token': await conjurTokenOf('root'),
    };
    const before = await snapshot();
    for (const [name, authorization] of Object.entries(bearers)) {
      // Each token works: the refusals below are about what it asks for.
      expect((await api(server, 'GET', '/v1/me', { headers: { authorization } })).status, name).toBe(200);
      for (const [label, status, body] of await statuses({ headers: { authorization } }, lastingCalls())) {
        expect(status, `${name}: ${label}`).toBe(403);
        expect(body, `${name}: ${label}`).toEqual({ detail: expect.stringMatching(/short-lived/) });
      }
      // Not even one's own password, with the current one (SECURITY A6 proves the password,
      // but a token bought by a stolen session must not turn into a changed password).
      const own = await api(server, 'PATCH', `/users/users/${rootId}/`, {
        headers: { authorization },
        body: { password: NEW_PASSWORD, current_password: PASSWORD },
      });
      expect(own.status, name).toBe(403);
      // Conjur rotation and DRF's login need Basic or a password in the body, never a token (E7, E8).
      const rotated = await api(server, 'PUT', '/api/authn/users/api_key', { headers: { authorization } });
      expect(rotated.status, name).toBe(401);
      const drf = await api(server, 'POST', '/api-token-auth/', { headers: { authorization }, body: {} });
      expect(drf.status, name).toBe(400);
    }
    expect(await snapshot()).toEqual(before);
    expect((await api(server, 'GET', '/users/users/', { headers: { authorization: bearers.jwt } })).status).toBe(200);
  });

  it('item 4: a session signed in longer ago than TESSERA_RECENT_LOGIN cannot either, nor can a JWT it buys', async () => {
    const root = await login(server, 'root', PASSWORD);
    server.clock.advance(RECENT_MS + 1_000);
    const jwt = await jwtOf({ session: root });
    const before = await snapshot();
    for (const [label, status, body] of await statuses({ session: root }, lastingCalls())) {
      expect(status, label).toBe(403);
      expect(body, label).toEqual({ detail: 'This change needs a recent sign-in: sign in again, then retry.' });
    }
    for (const [label, status] of await statuses({ headers: { authorization: `Bearer ${jwt}` } }, lastingCalls())) {
      expect(status, `jwt: ${label}`).toBe(403);
    }
    expect(await snapshot()).toEqual(before);
    // It still reads, and renames, and may change its own password with the current one (A6).
    expect((await api(server, 'GET', '/users/users/', { session: root })).status).toBe(200);
    const renamed = await api(server, 'PATCH', `/users/users/${rootId}/`, {
      session: root,
      body: { username: 'boss' },
    });
    expect(renamed.status).toBe(200);
    const own = await api(server, 'PATCH', `/users/users/${rootId}/`, {
      session: root,
      body: { password: NEW_PASSWORD, current_password: PASSWORD },
    });
    expect(own.status).toBe(200);
  });

  it('item 4: a fresh session, Basic, and long-lived tokens can, within their scopes', async () => {
    const root = await login(server, 'root', PASSWORD);
    server.clock.advance(RECENT_MS - 60_000);
    const personal = await api(server, 'POST', '/v1/credentials', { session: root, body: { name: 'ops' } });
    expect(personal.status).toBe(201);
    const { token } = (await personal.json()) as { token: string };
    const drf = await api(server, 'POST', '/api-token-auth/', { body: { username: 'root', password: PASSWORD } });
    const { token: drfKey } = (await drf.json()) as { token: string };
    const keys = await api(server, 'POST', GENERATE_KEYS, { session: root, body: { user: 'root' } });
    const { api_key, api_secret } = ((await keys.json()) as { message: { api_key: string; api_secret: string } })
      .message;

    const callers: Array<[string, As]> = [
      ['session', { session: root }],
      ['basic', { headers: { authorization: basicHeader('root', PASSWORD) } }],
      ['personal token', { headers: { authorization: `Bearer ${token}` } }],
      ['drf token', { headers: { authorization: `Token ${drfKey}` } }],
      ['frappe key', { headers: { authorization: `token ${api_key}:${api_secret}` } }],
    ];
    for (const [index, [name, as]] of callers.entries()) {
      const made = await api(server, 'POST', '/users/users/', {
        ...as,
        body: { username: `made${index}`, password: NEW_PASSWORD, roles: ['admin'] },
      });
      expect(made.status, name).toBe(201);
      const { id } = (await made.json()) as { id: number };
      for (const body of [{ roles: ['ops'] }, { is_active: false }, { password: `${NEW_PASSWORD} ${index}` }]) {
        const changed = await api(server, 'PATCH', `/users/users/${id}/`, { ...as, body });
        expect(changed.status, `${name} ${JSON.stringify(body)}`).toBe(200);
      }
      const minted = await api(server, 'POST', '/v1/credentials', { ...as, body: { name: `by ${name}` } });
      expect(minted.status, name).toBe(201);
      expect((await api(server, 'DELETE', `/users/users/${id}/`, as)).status, name).toBe(204);
    }

    // A token limited to the credentials scope mints within it, but makes no user.
    const scoped = await api(server, 'POST', '/v1/credentials', {
      session: root,
      body: { name: 'narrow', scopes: ['credentials'] },
    });
    const narrow = { headers: { authorization: `Bearer ${((await scoped.json()) as { token: string }).token}` } };
    const made = await api(server, 'POST', '/users/users/', {
      ...narrow,
      body: { username: 'scoped', password: NEW_PASSWORD },
    });
    expect(made.status).toBe(403);
    expect(await made.json()).toEqual({ detail: 'This credential lacks the "users" scope.' });
    const minted = await api(server, 'POST', '/v1/credentials', { ...narrow, body: { name: 'narrower' } });
    expect(minted.status).toBe(201);
    expect(await server.tessera.users.findByUsername('scoped')).toBeUndefined();
  });

  it('item 4: seed 000 still works: a fresh session PATCHes its own user with an empty body', async () => {
    const root = await login(server, 'root', PASSWORD);
    const patched = await api(server, 'PATCH', `/users/users/${rootId}`, { session: root });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ id: rootId, username: 'root', is_active: true });
  });

  it('item 4: /openapi.json publishes each lasting route policy', async () => {
    const document = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { description: string; 'x-tessera-policy': Record<string, unknown> }>>;
    };
    const create = document.paths['/users/users/']?.post;
    expect(create?.['x-tessera-policy']).toMatchObject({ session: 'recent', admin_only: true });
    expect(create?.['x-tessera-policy'].callers).not.toContain('jwt');
    expect(create?.['x-tessera-policy'].callers).not.toContain('conjur-token');
    expect(create?.description).toMatch(/admins only/);
    const update = document.paths['/users/users/{id}/']?.patch?.['x-tessera-policy'];
    expect(update?.stricter).toEqual(
      expect.arrayContaining([expect.objectContaining({ rule: 'admin_fields', session: 'recent', admin_only: true })]),
    );
  });
});
