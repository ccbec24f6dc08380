import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeEachDatabase, login, PASSWORD, setCookies, startServer, type TestServer } from './helpers/harness.js';

describeEachDatabase('session dialect (seed 000)', (kind) => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer(kind);
    await server.createUser('user', PASSWORD, { admin: true });
  });
  afterEach(() => server.close());

  it("runs seed 000's flow: login, read, CSRF-protected PATCH, logout, old cookie refused", async () => {
    const loginResponse = await fetch(`${server.url}/authentication/login/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'user', password: PASSWORD }),
    });
    expect(loginResponse.status).toBe(200);
    const user = await loginResponse.json();
    expect(user).toMatchObject({ id: 1, username: 'user', is_active: true, roles: ['admin'] });
    expect(JSON.stringify(user)).not.toMatch(/argon2|password/);

    const cookies = setCookies(loginResponse);
    const session = cookies.get('sessionid');
    const csrf = cookies.get('csrftoken');
    expect(session?.raw).toMatch(/; Path=\/; SameSite=Lax/);
    expect(session?.raw).toMatch(/HttpOnly/);
    expect(session?.raw).not.toMatch(/Domain=|Secure/);
    expect(csrf?.raw).not.toMatch(/HttpOnly/);
    expect(session?.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const cookie = `sessionid=${session?.value}; csrftoken=${csrf?.value}`;

    const list = await fetch(`${server.url}/users/users/`, { headers: { cookie } });
    expect(list.status).toBe(200);
    expect(((await list.json()) as Array<{ username: string }>).map((u) => u.username)).toEqual(['user']);

    // Exactly what the seed sends: no trailing slash, no body, the CSRF header.
    const patch = await fetch(`${server.url}/users/users/1`, {
      method: 'PATCH',
      headers: { cookie, 'X-CSRFToken': csrf?.value ?? '' },
    });
    expect(patch.status).toBe(200);
    expect(await patch.json()).toMatchObject({ username: 'user' });

    const logout = await fetch(`${server.url}/authentication/logout/`, {
      method: 'POST',
      headers: { cookie, 'X-CSRFToken': csrf?.value ?? '' },
    });
    expect(logout.status).toBe(200);
    expect(await logout.json()).toEqual({ detail: 'Successfully logged out.' });
    expect(setCookies(logout).get('sessionid')?.raw).toMatch(/Max-Age=0/);

    const after = await fetch(`${server.url}/authentication/whoami/`, { headers: { cookie } });
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toMatch(/^Session /);
    expect(await after.json()).toEqual({ detail: 'Authentication credentials were not provided.' });
  });

  it('answers whoami with the user object, and 401 JSON without a session', async () => {
    const session = await login(server, 'user', PASSWORD);
    const me = await fetch(`${server.url}/authentication/whoami`, { headers: { cookie: session.cookie } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ username: 'user' });
    const anonymous = await fetch(`${server.url}/authentication/whoami/`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ detail: 'Authentication credentials were not provided.' });
  });

  it('refuses a PATCH with no CSRF header, a wrong one, or another session’s token with 403', async () => {
    const mine = await login(server, 'user', PASSWORD);
    const other = await login(server, 'user', PASSWORD);
    const cases: Array<[string, Record<string, string>, string]> = [
      ['missing', {}, 'CSRF Failed: CSRF token missing.'],
      ['wrong', { 'X-CSRFToken': 'x'.repeat(43) }, 'CSRF Failed: CSRF token incorrect.'],
      ["another session's", { 'X-CSRFToken': other.csrfToken }, 'CSRF Failed: CSRF token incorrect.'],
    ];
    for (const [, headers, message] of cases) {
      const response = await fetch(`${server.url}/users/users/1/`, {
        method: 'PATCH',
        headers: { cookie: mine.cookie, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ email: 'changed@example.com' }),
      });
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ detail: message });
    }
    const unchanged = await server.tessera.users.findById(1);
    expect(unchanged?.email).toBeNull();
  });

  it('refuses a cookie-authenticated write from a foreign Origin even with the right token', async () => {
    const session = await login(server, 'user', PASSWORD);
    for (const origin of ['https://evil.example', 'null']) {
      const response = await fetch(`${server.url}/users/users/1/`, {
        method: 'PATCH',
        headers: { cookie: session.cookie, 'X-CSRFToken': session.csrfToken, origin },
      });
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ detail: expect.stringMatching(/^CSRF Failed: Origin checking failed/) });
    }
    const sameOrigin = await fetch(`${server.url}/users/users/1/`, {
      method: 'PATCH',
      headers: { cookie: session.cookie, 'X-CSRFToken': session.csrfToken, origin: server.url },
    });
    expect(sameOrigin.status).toBe(200);
  });

  it('refuses a cross-site login by Origin or Sec-Fetch-Site with 403, and lets API clients through', async () => {
    const attempt = (headers: Record<string, string>) =>
      fetch(`${server.url}/authentication/login/`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams({ username: 'user', password: PASSWORD }).toString(),
      });
    expect((await attempt({ origin: 'https://evil.example' })).status).toBe(403);
    expect((await attempt({ 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await attempt({ origin: 'null' })).status).toBe(403);
    expect((await attempt({ origin: server.url, 'sec-fetch-site': 'same-origin' })).status).toBe(200);
    expect((await attempt({})).status).toBe(200);
  });

  it('gives wrong password, unknown user and inactive user the identical 400', async () => {
    await server.tessera.users.create({ username: 'sleeper', password: PASSWORD, isActive: false }, { actorId: null });
    const bodies = [];
    for (const [username, password] of [
      ['user', 'not the password'],
      ['nobody-here', PASSWORD],
      ['sleeper', PASSWORD],
    ]) {
      const response = await fetch(`${server.url}/authentication/login/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
      expect(response.status).toBe(400);
      expect(setCookies(response).size).toBe(0);
      bodies.push(await response.text());
    }
    expect(new Set(bodies)).toEqual(new Set(['{"non_field_errors":["Invalid username or password."]}']));
  });

  it('answers a missing or mistyped login field with a 400 naming the field', async () => {
    const post = (body: unknown) =>
      fetch(`${server.url}/authentication/login/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const missing = await post({ username: 'user' });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ password: ['This field is required.'] });
    const injected = await post({ username: 'user', password: { $ne: 1 } });
    expect(injected.status).toBe(400);
    expect(await injected.json()).toEqual({ password: ['Not a valid string.'] });
    const arrays = await post({ username: ['user'], password: [PASSWORD] });
    expect(arrays.status).toBe(400);
    expect(await arrays.json()).toEqual({ username: ['Not a valid string.'], password: ['Not a valid string.'] });
  });

  it('logs in from a form body as Python requests sends it', async () => {
    const response = await fetch(`${server.url}/authentication/login/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=user&password=correct+horse+battery+staple',
    });
    expect(response.status).toBe(200);
    expect(setCookies(response).get('sessionid')?.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('issues a new session id and CSRF token at every login and ends the session it replaces', async () => {
    const first = await login(server, 'user', PASSWORD);
    const again = await fetch(`${server.url}/authentication/login/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: first.cookie },
      body: JSON.stringify({ username: 'user', password: PASSWORD }),
    });
    const cookies = setCookies(again);
    expect(cookies.get('sessionid')?.value).not.toBe(first.sessionId);
    expect(cookies.get('csrftoken')?.value).not.toBe(first.csrfToken);
    const old = await fetch(`${server.url}/authentication/whoami/`, { headers: { cookie: first.cookie } });
    expect(old.status).toBe(401);
  });

  it('never adopts a session id the server did not issue', async () => {
    const planted = 'A'.repeat(43);
    const response = await fetch(`${server.url}/authentication/login/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: `sessionid=${planted}` },
      body: JSON.stringify({ username: 'user', password: PASSWORD }),
    });
    expect(setCookies(response).get('sessionid')?.value).not.toBe(planted);
    const withPlanted = await fetch(`${server.url}/authentication/whoami/`, {
      headers: { cookie: `sessionid=${planted}` },
    });
    expect(withPlanted.status).toBe(401);
  });

  it('refuses an invalid Authorization header even beside a valid session cookie', async () => {
    const session = await login(server, 'user', PASSWORD);
    const response = await fetch(`${server.url}/authentication/whoami/`, {
      headers: { cookie: session.cookie, authorization: 'Weird abc' },
    });
    expect(response.status).toBe(401);
  });

  it('refuses two sessionid cookies instead of picking one', async () => {
    const session = await login(server, 'user', PASSWORD);
    const response = await fetch(`${server.url}/authentication/whoami/`, {
      headers: { cookie: `sessionid=${session.sessionId}; sessionid=${'B'.repeat(43)}` },
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ detail: expect.stringMatching(/More than one sessionid cookie/) });
  });

  it('marks cookies Secure when a trusted proxy says the request came over HTTPS', async () => {
    await server.close();
    server = await startServer(kind, { trustedProxies: ['127.0.0.1'] });
    await server.createUser('user', PASSWORD);
    const response = await fetch(`${server.url}/authentication/login/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' },
      body: JSON.stringify({ username: 'user', password: PASSWORD }),
    });
    expect(response.status).toBe(200);
    for (const { raw } of setCookies(response).values()) expect(raw).toMatch(/; Secure/);
  });
});
