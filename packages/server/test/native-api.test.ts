import { afterEach, beforeEach, expect, it } from 'vitest';
import { digestSecret } from '../src/crypto/secrets.js';
import { basicHeader } from './helpers/credentials.js';
import { describeEachDatabase, PASSWORD, type Session, type TestServer } from './helpers/harness.js';
import { bearer, type Credential, nativeCalls, threeUsers } from './helpers/native-api.js';
import { api } from './helpers/requests.js';

const TOKEN = /^tsr_[A-Za-z0-9_-]{40}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Paths the server routes, which the OpenAPI document must name (it may name more as routes are added). */
const SERVED_PATHS = [
  '/healthz',
  '/openapi.json',
  '/authentication/login/',
  '/authentication/whoami/',
  '/authentication/logout/',
  '/users/users/',
  '/users/users/{id}/',
  '/api-token-auth/',
  '/api/whoami/',
  '/api/logout/',
  '/api/method/frappe.core.doctype.user.user.generate_keys',
  '/api/method/frappe.auth.get_logged_user',
  '/api/method/login',
  '/api/method/logout',
  '/v1/me',
  '/v1/credentials',
  '/v1/credentials/{id}',
];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

describeEachDatabase('native API (/v1)', (kind) => {
  let server: TestServer;
  let admin: Session;
  let alice: Session;
  const ADMIN_ID = 1;
  const ALICE_ID = 2;
  const BOB_ID = 3;

  beforeEach(async () => {
    ({ server, admin, alice } = await threeUsers(kind, { aliceEmail: 'alice@example.com' }));
  });
  afterEach(() => server.close());

  const { create, made, meOf, meStatus, personalRows } = nativeCalls(() => server);

  it('answers GET /v1/me with the user, the credential kind and the scopes, for each kind of credential', async () => {
    const token = await made(alice, { name: 'laptop', scopes: ['read', 'credentials'] });
    const drf = await api(server, 'POST', '/api-token-auth/', { body: { username: 'alice', password: PASSWORD } });
    const { token: drfKey } = (await drf.json()) as { token: string };
    const { apiKey, apiSecret } = await server.tessera.issuer.generateApiKeys(ALICE_ID, { actorId: null });

    const cases: Array<[string, Record<string, string>, string, string[] | null]> = [
      ['a session cookie', { cookie: alice.cookie }, 'session', null],
      ['HTTP Basic', { authorization: basicHeader('alice', PASSWORD) }, 'password', null],
      ['a personal token', bearer(token.token), 'personal', ['credentials', 'read']],
      ['a DRF token', { authorization: `Token ${drfKey}` }, 'drf', null],
      ['a Frappe key pair', { authorization: `token ${apiKey}:${apiSecret}` }, 'api-key', null],
    ];
    for (const [label, headers, credentialKind, scopes] of cases) {
      const response = await fetch(`${server.url}/v1/me`, { headers });
      expect(response.status, label).toBe(200);
      const text = await response.text();
      expect(text, label).not.toMatch(/argon2|password_hash/);
      const body = JSON.parse(text);
      expect(body, label).toEqual({
        user: expect.objectContaining({ id: ALICE_ID, username: 'alice', email: 'alice@example.com', is_staff: false }),
        credential: { kind: credentialKind, id: expect.any(Number) },
        scopes,
      });
    }
    const viaToken = await meOf(bearer(token.token));
    expect(viaToken.credential.id).toBe(token.id);

    const anonymous = await fetch(`${server.url}/v1/me`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBeTruthy();
    expect(await anonymous.json()).toEqual({ detail: 'Authentication credentials were not provided.' });
  });

  it('makes a personal token with 201, shows it once, lists it without it and accepts it as Bearer', async () => {
    const response = await create(alice, { name: 'laptop' });
    expect(response.status).toBe(201);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const created = (await response.json()) as Credential & { token: string };
    expect(created.token).toMatch(TOKEN);
    expect(created).toEqual({
      id: expect.any(Number),
      kind: 'personal',
      name: 'laptop',
      prefix: created.token.slice(0, 10),
      scopes: null,
      created_at: new Date(server.clock.now).toISOString(),
      last_used_at: null,
      expires_at: null,
      token: created.token,
    });

    const list = await api(server, 'GET', '/v1/credentials', { session: alice });
    expect(list.status).toBe(200);
    const text = await list.text();
    // Neither the token, nor its secret part, nor the digest the server looks it up by.
    expect(text).not.toContain(created.token);
    expect(text).not.toContain(created.token.slice(10));
    expect(text).not.toContain(digestSecret(created.token));
    const listed = (JSON.parse(text) as Credential[]).find((c) => c.id === created.id);
    expect(listed).toEqual({
      id: created.id,
      kind: 'personal',
      name: 'laptop',
      prefix: created.token.slice(0, 10),
      scopes: null,
      created_at: created.created_at,
      last_used_at: null,
      expires_at: null,
    });
    expect(listed).not.toHaveProperty('token');

    // The database holds no copy of the token either: only its digest (SECURITY E1).
    const [row] = await personalRows(ALICE_ID);
    expect(JSON.stringify(row)).not.toContain(created.token.slice(10));
    expect(row?.lookup).toBe(digestSecret(created.token));

    const me = await fetch(`${server.url}/v1/me`, { headers: bearer(created.token) });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ user: { username: 'alice' }, credential: { kind: 'personal' } });
    // Another token of the right shape is not it.
    expect(await meStatus(bearer(`tsr_${'A'.repeat(40)}`))).toBe(401);
  });

  it('makes tokens through HTTP Basic and through a personal token too, each a new secret', async () => {
    const viaBasic = await made({ authorization: basicHeader('alice', PASSWORD) }, { name: 'from basic' });
    const viaToken = await made(bearer(viaBasic.token), { name: 'from token' });
    expect(viaToken.token).not.toBe(viaBasic.token);
    expect(viaToken.id).not.toBe(viaBasic.id);
    expect((await personalRows(ALICE_ID)).map((r) => r.name).sort()).toEqual(['from basic', 'from token']);
    for (const token of [viaBasic.token, viaToken.token]) expect(await meStatus(bearer(token))).toBe(200);
  });

  it('revokes a credential with 204, after which its token is refused with 401 and is gone from the list', async () => {
    const token = await made(alice, { name: 'short-lived' });
    expect(await meStatus(bearer(token.token))).toBe(200);
    const revoked = await api(server, 'DELETE', `/v1/credentials/${token.id}`, { session: alice });
    expect(revoked.status).toBe(204);
    expect(await revoked.text()).toBe('');

    const after = await fetch(`${server.url}/v1/me`, { headers: bearer(token.token) });
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(await after.json()).toEqual({ detail: 'Invalid token.' });
    const list = (await (await api(server, 'GET', '/v1/credentials', { session: alice })).json()) as Credential[];
    expect(list.map((c) => c.id)).not.toContain(token.id);
    const again = await api(server, 'DELETE', `/v1/credentials/${token.id}`, { session: alice });
    expect(again.status).toBe(404);
  });

  it('lets a token revoke itself', async () => {
    const token = await made(alice, { name: 'self' });
    const revoked = await api(server, 'DELETE', `/v1/credentials/${token.id}/`, { headers: bearer(token.token) });
    expect(revoked.status).toBe(204);
    expect(await meStatus(bearer(token.token))).toBe(401);
  });

  it("answers a non-admin deleting another user's credential with the 404 of a missing one, and keeps it", async () => {
    const bobs = await made({ authorization: basicHeader('bob', PASSWORD) }, { name: 'bob laptop' });
    const theirs = await api(server, 'DELETE', `/v1/credentials/${bobs.id}`, { session: alice });
    const missing = await api(server, 'DELETE', '/v1/credentials/987654', { session: alice });
    expect(theirs.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(await theirs.json()).toEqual(await missing.json());
    for (const id of ['abc', '0', '-1', '1e3', '9'.repeat(30)]) {
      const response = await api(server, 'DELETE', `/v1/credentials/${id}`, { session: alice });
      expect(response.status, id).toBe(404);
    }
    expect(await meStatus(bearer(bobs.token))).toBe(200);
    // Nor can alice see bob's credentials.
    const peek = await api(server, 'GET', `/v1/credentials?user=${BOB_ID}`, { session: alice });
    expect(peek.status).toBe(403);
    expect(await peek.text()).not.toContain('bob laptop');
  });

  it('lets an admin list, create and delete credentials for another user', async () => {
    const response = await create(admin, { name: 'for alice', user: ALICE_ID });
    expect(response.status).toBe(201);
    const forAlice = (await response.json()) as Credential & { token: string };
    const me = await meOf(bearer(forAlice.token));
    expect(me.user).toMatchObject({ id: ALICE_ID, username: 'alice' });
    expect((await personalRows(ADMIN_ID)).length).toBe(0);

    const theirs = await api(server, 'GET', `/v1/credentials?user=${ALICE_ID}`, { session: admin });
    expect(theirs.status).toBe(200);
    const theirsText = await theirs.text();
    expect(theirsText).not.toContain(forAlice.token);
    expect((JSON.parse(theirsText) as Credential[]).map((c) => c.id)).toContain(forAlice.id);
    const own = (await (await api(server, 'GET', '/v1/credentials', { session: admin })).json()) as Credential[];
    expect(own.map((c) => c.id)).not.toContain(forAlice.id);

    // The id as a string works as well, as a form would send it.
    expect((await create(admin, { name: 'for bob', user: String(BOB_ID) })).status).toBe(201);
    expect((await personalRows(BOB_ID)).map((r) => r.name)).toEqual(['for bob']);

    const deleted = await api(server, 'DELETE', `/v1/credentials/${forAlice.id}`, { session: admin });
    expect(deleted.status).toBe(204);
    expect(await meStatus(bearer(forAlice.token))).toBe(401);

    for (const user of [999, 'nobody', 0]) {
      const unknown = await create(admin, { name: 'x', user });
      expect(unknown.status, String(user)).toBe(400);
      expect(await unknown.json()).toEqual({ user: ['No user has this id.'] });
    }
    const unknownList = await api(server, 'GET', '/v1/credentials?user=999', { session: admin });
    expect(unknownList.status).toBe(400);
  });

  it('refuses a token without the credentials scope to list, create or delete credentials (403)', async () => {
    const reader = await made(alice, { name: 'reader', scopes: ['read'] });
    const other = await made(alice, { name: 'other' });
    const list = await api(server, 'GET', '/v1/credentials', { headers: bearer(reader.token) });
    expect(list.status).toBe(403);
    expect(await list.json()).toEqual({ detail: 'This credential lacks the "credentials" scope.' });
    const createAttempt = await create(bearer(reader.token), { name: 'child', scopes: ['read'] });
    expect(createAttempt.status).toBe(403);
    for (const id of [other.id, reader.id]) {
      const deleteAttempt = await api(server, 'DELETE', `/v1/credentials/${id}`, { headers: bearer(reader.token) });
      expect(deleteAttempt.status).toBe(403);
    }
    expect((await personalRows(ALICE_ID)).map((r) => r.name).sort()).toEqual(['other', 'reader']);
    expect(await meStatus(bearer(other.token))).toBe(200);
    expect(await meStatus(bearer(reader.token))).toBe(200);
  });

  it('takes expires_in as seconds or as a duration such as 30d', async () => {
    const start = server.clock.now;
    const cases: Array<[unknown, number]> = [
      [3600, 3_600_000],
      ['30d', 30 * 86_400_000],
      ['12h', 12 * 3_600_000],
      ['90', 90_000],
    ];
    for (const [expiresIn, ms] of cases) {
      const token = await made(alice, { name: `lives ${expiresIn}`, expires_in: expiresIn });
      expect(token.expires_at, String(expiresIn)).toBe(new Date(start + ms).toISOString());
    }
    expect((await made(alice, { name: 'forever', expires_in: null })).expires_at).toBeNull();
  });

  it('answers an invalid expires_in, name or scopes with a 400 naming the field, and makes nothing', async () => {
    const badExpiry: unknown[] = [
      0,
      -60,
      1.5,
      'soon',
      '',
      '10x',
      '-5d',
      '0d',
      true,
      [60],
      { s: 60 },
      400_000_000,
      '3700d',
    ];
    for (const expiresIn of badExpiry) {
      const response = await create(alice, { name: 'bad', expires_in: expiresIn });
      expect(response.status, JSON.stringify(expiresIn)).toBe(400);
      expect(Object.keys((await response.json()) as object)).toEqual(['expires_in']);
    }
    const badBodies: Array<[Record<string, unknown>, string]> = [
      [{}, 'name'],
      [{ name: '' }, 'name'],
      [{ name: 'x'.repeat(101) }, 'name'],
      [{ name: ['a'] }, 'name'],
      [{ name: 'ok', scopes: 'NOPE' }, 'scopes'],
      [{ name: 'ok', scopes: [1, 2] }, 'scopes'],
      [{ name: 'ok', scopes: { read: true } }, 'scopes'],
    ];
    for (const [body, field] of badBodies) {
      const response = await create(alice, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(Object.keys((await response.json()) as object), JSON.stringify(body)).toEqual([field]);
    }
    expect(await personalRows(ALICE_ID)).toEqual([]);
  });

  it('sets last_used_at on use but writes it at most once a minute', async () => {
    const token = await made(alice, { name: 'busy' });
    const lastUsed = async () => {
      const row = await server.tessera.database.db
        .selectFrom('credentials')
        .select('last_used_at')
        .where('id', '=', token.id)
        .executeTakeFirstOrThrow();
      return row.last_used_at === null ? null : Number(row.last_used_at);
    };
    expect(await lastUsed()).toBeNull();

    const first = server.clock.now;
    expect(await meStatus(bearer(token.token))).toBe(200);
    expect(await lastUsed()).toBe(first);
    server.clock.advance(30_000);
    expect(await meStatus(bearer(token.token))).toBe(200);
    expect(await lastUsed()).toBe(first);

    server.clock.advance(31_000);
    expect(await meStatus(bearer(token.token))).toBe(200);
    expect(await lastUsed()).toBe(first + 61_000);

    const list = (await (await api(server, 'GET', '/v1/credentials', { session: alice })).json()) as Credential[];
    const listed = list.find((c) => c.id === token.id);
    expect(listed?.last_used_at).toBe(new Date(first + 61_000).toISOString());
    expect(listed?.created_at).toMatch(ISO);
  });

  it('refuses a cookie-authenticated POST or DELETE without X-CSRFToken (403) and changes nothing', async () => {
    const post = await fetch(`${server.url}/v1/credentials`, {
      method: 'POST',
      headers: { cookie: alice.cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'csrf' }),
    });
    expect(post.status).toBe(403);
    expect(await post.json()).toEqual({ detail: 'CSRF Failed: CSRF token missing.' });
    expect(await personalRows(ALICE_ID)).toEqual([]);

    const wrong = await fetch(`${server.url}/v1/credentials`, {
      method: 'POST',
      headers: { cookie: alice.cookie, 'content-type': 'application/json', 'X-CSRFToken': admin.csrfToken },
      body: JSON.stringify({ name: 'csrf' }),
    });
    expect(wrong.status).toBe(403);
    expect(await personalRows(ALICE_ID)).toEqual([]);

    const token = await made(alice, { name: 'kept' });
    const del = await fetch(`${server.url}/v1/credentials/${token.id}`, {
      method: 'DELETE',
      headers: { cookie: alice.cookie },
    });
    expect(del.status).toBe(403);
    expect(await meStatus(bearer(token.token))).toBe(200);
  });

  it('serves an OpenAPI 3.1 document naming every path and method the server answers', async () => {
    const response = await fetch(`${server.url}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const document = (await response.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(document.openapi.startsWith('3.1')).toBe(true);
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(SERVED_PATHS));

    // Each documented method is routed, and every other one is a 405 naming exactly the documented ones.
    for (const [path, operations] of Object.entries(document.paths)) {
      const documented = Object.keys(operations)
        .map((m) => m.toUpperCase())
        .sort();
      const url = `${server.url}${path.replace(/\{[^}]+\}/g, '987654')}`;
      for (const method of METHODS) {
        // As a browser asks: `/` answers 404 to API clients by design, and no other route reads Accept.
        const answer = await fetch(url, { method, headers: { accept: 'text/html' } });
        await answer.arrayBuffer();
        if (documented.includes(method)) {
          expect([404, 405], `${method} ${path}`).not.toContain(answer.status);
          expect(answer.status, `${method} ${path}`).toBeLessThan(500);
        } else {
          expect(answer.status, `${method} ${path}`).toBe(405);
          expect(answer.headers.get('allow')?.split(', ').sort(), `${method} ${path}`).toEqual(documented);
        }
      }
    }
  });
});
