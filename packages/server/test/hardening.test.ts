import { afterEach, beforeEach, expect, it } from 'vitest';
import { basicHeader } from './helpers/credentials.js';
import { describeEachDatabase, login, PASSWORD, startServer, type TestServer } from './helpers/harness.js';

const ALICE_PASSWORD = `${PASSWORD} alice`;

describeEachDatabase('hardening found in review', (kind) => {
  let server: TestServer;
  let personal: string;
  beforeEach(async () => {
    server = await startServer(kind, {
      throttle: { account: { max: 3, windowMs: 60_000 }, address: { max: 1000, windowMs: 60_000 } },
    });
    const alice = await server.createUser('alice', ALICE_PASSWORD, { admin: true });
    ({ token: personal } = await server.tessera.issuer.personalToken(
      { userId: alice.id, name: 'test', expiresAt: null, scopes: null },
      { actorId: null },
    ));
  });
  afterEach(() => server.close());

  const call = (path: string, init: RequestInit = {}) => fetch(`${server.url}${path}`, init);
  const jwtFor = async (authorization: string) => {
    const response = await call('/v1/token', { method: 'POST', headers: { authorization } });
    expect(response.status).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  };

  it('throttles guesses of the current password at a password change, like logins', async () => {
    const session = await login(server, 'alice', ALICE_PASSWORD);
    const change = (current: string) =>
      call('/users/users/1/', {
        method: 'PATCH',
        headers: { cookie: session.cookie, 'x-csrftoken': session.csrfToken, 'content-type': 'application/json' },
        body: JSON.stringify({ password: 'a brand new passphrase', current_password: current }),
      });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await change(`guess number ${i}`)).status);
    expect(statuses).toEqual([400, 400, 400, 429]);
  });

  it('refuses to let a JWT make a personal token or Frappe keys', async () => {
    const jwt = await jwtFor(`Bearer ${personal}`);
    const made = await call('/v1/credentials', {
      method: 'POST',
      headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'forever' }),
    });
    expect(made.status).toBe(403);
    const keys = await call('/api/method/frappe.core.doctype.user.user.generate_keys', {
      method: 'POST',
      headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'alice' }),
    });
    expect(keys.status).toBe(403);
  });

  it('ends a JWT bought with a Frappe key pair when the secret is regenerated', async () => {
    const first = await server.tessera.issuer.generateApiKeys(1, { actorId: null });
    const jwt = await jwtFor(`token ${first.apiKey}:${first.apiSecret}`);
    expect((await call('/v1/me', { headers: { authorization: `Bearer ${jwt}` } })).status).toBe(200);
    server.clock.advance(1_000);
    await server.tessera.issuer.generateApiKeys(1, { actorId: null });
    server.clock.advance(1_001); // past the once-a-second re-check
    expect((await call('/v1/me', { headers: { authorization: `Bearer ${jwt}` } })).status).toBe(401);
  });

  it('refuses a scope-limited token deleting DRF tokens without the credentials scope', async () => {
    const { token: limited } = await server.tessera.issuer.personalToken(
      { userId: 1, name: 'read only', expiresAt: null, scopes: ['read'] },
      { actorId: null },
    );
    const response = await call('/api/logout/', { method: 'POST', headers: { authorization: `Bearer ${limited}` } });
    expect(response.status).toBe(403);
  });

  it('refuses a cross-site unsafe request carried by Basic credentials, as a browser would replay them', async () => {
    const basic = basicHeader('alice', ALICE_PASSWORD);
    const body = JSON.stringify({ name: 'x' });
    const headers = { authorization: basic, 'content-type': 'application/json' };
    const crossSite = await call('/v1/credentials', {
      method: 'POST',
      headers: { ...headers, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      body,
    });
    expect(crossSite.status).toBe(403);
    const script = await call('/v1/credentials', { method: 'POST', headers, body });
    expect(script.status).toBe(201);
  });

  it('never echoes a malformed JSON body, which may hold a password, in the error', async () => {
    const response = await call('/authentication/login/', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"username": "alice", "password": hunter2secret}',
    });
    expect(response.status).toBe(400);
    expect(await response.text()).not.toContain('hunter2');
  });
});
