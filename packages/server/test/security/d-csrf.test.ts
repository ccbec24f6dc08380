import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ConfigOverrides } from '../../src/config.js';
import { auditRows, basicHeader, credentialRows } from '../helpers/credentials.js';
import {
  describeEachDatabase,
  login,
  PASSWORD,
  type Session,
  setCookies,
  startServer,
  type TestServer,
} from '../helpers/harness.js';
import { api, rawRequest, sessionRows, whoamiStatus } from '../helpers/requests.js';

const ADMIN_ID = 1;
const BOB_ID = 2;

describeEachDatabase('SECURITY D: CSRF', (kind) => {
  let server: TestServer;
  let admin: Session;

  const restart = async (overrides: ConfigOverrides = {}) => {
    await server?.close();
    server = await startServer(kind, overrides);
    await server.createUser('admin', PASSWORD, { admin: true });
    await server.createUser('bob', PASSWORD);
    admin = await login(server, 'admin', PASSWORD);
  };
  beforeEach(() => restart());
  afterEach(() => server.close());

  /** The state a forged write would change: bob's email and existence, the admin's session. */
  const state = async () => ({
    bob: (await server.tessera.users.findById(BOB_ID))?.email ?? 'deleted',
    adminEmail: (await server.tessera.users.findById(ADMIN_ID))?.email,
    adminSession: await whoamiStatus(server, admin),
    credentials: (await credentialRows(server)).length,
  });

  /** One unsafe request of each method, authenticated by the admin's cookie alone. */
  const writes = (headers: Record<string, string>, cookie = admin.cookie) => {
    const send = (method: string, path: string, body?: unknown) =>
      fetch(`${server.url}${path}`, {
        method,
        headers: { cookie, ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
    return [
      () => send('PATCH', `/users/users/${BOB_ID}/`, { email: 'patched@example.com' }),
      () => send('PUT', `/users/users/${BOB_ID}/`, { email: 'put@example.com' }),
      () => send('DELETE', `/users/users/${BOB_ID}/`),
      () => send('POST', '/v1/credentials', { name: 'forged' }),
      () => send('POST', '/authentication/logout/'),
    ];
  };

  const expectAllRefused = async (headers: Record<string, string>, detail: RegExp, cookie?: string) => {
    const before = await state();
    for (const write of writes(headers, cookie)) {
      const response = await write();
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ detail: expect.stringMatching(detail) });
    }
    expect(await state()).toEqual(before);
  };

  it('D1 refuses POST, PUT, PATCH and DELETE by cookie without the session’s X-CSRFToken with 403, changing nothing', async () => {
    const otherSession = await login(server, 'admin', PASSWORD);
    await expectAllRefused({}, /^CSRF Failed: CSRF token missing\.$/);
    await expectAllRefused({ 'X-CSRFToken': '' }, /^CSRF Failed: CSRF token missing\.$/);
    for (const token of ['x'.repeat(43), admin.csrfToken.slice(0, -1), `${admin.csrfToken}x`, otherSession.csrfToken]) {
      await expectAllRefused({ 'X-CSRFToken': token }, /^CSRF Failed: CSRF token incorrect\.$/);
    }
    // The token goes in the header; the same value in a form field or query is not looked at.
    await expectAllRefused({ 'X-CSRFToken-Not': admin.csrfToken }, /^CSRF Failed: CSRF token missing\.$/);

    const right = await api(server, 'PATCH', `/users/users/${BOB_ID}/`, {
      session: admin,
      body: { email: 'bob@example.com' },
    });
    expect(right.status).toBe(200);
    expect((await server.tessera.users.findById(BOB_ID))?.email).toBe('bob@example.com');
  });

  it('D1 refuses a double-submitted token of the attacker’s choosing: the header must match this session, not the cookie', async () => {
    const chosen = 'attacker-chosen-token-value-0123456789abcdef';
    // A sibling subdomain can plant a csrftoken cookie; echoing it must not pass.
    await expectAllRefused(
      { 'X-CSRFToken': chosen },
      /^CSRF Failed: CSRF token incorrect\.$/,
      `sessionid=${admin.sessionId}; csrftoken=${chosen}`,
    );
    // And the session's own token works whatever the csrftoken cookie says.
    const response = await fetch(`${server.url}/users/users/${BOB_ID}/`, {
      method: 'PATCH',
      headers: {
        cookie: `sessionid=${admin.sessionId}; csrftoken=${chosen}`,
        'X-CSRFToken': admin.csrfToken,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ email: 'bob@example.com' }),
    });
    expect(response.status).toBe(200);
  });

  it('D2 refuses a cross-site login form with 403 before checking the password, and lets cookie-less API clients log in', async () => {
    const form = new URLSearchParams({ username: 'bob', password: PASSWORD }).toString();
    const attempt = (path: string, headers: Record<string, string>, body = form) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body,
      });
    const throttle = () => server.tessera.database.db.selectFrom('throttle').selectAll().orderBy('key').execute();
    const before = {
      audit: (await auditRows(server)).length,
      sessions: (await sessionRows(server, BOB_ID)).length,
      throttle: await throttle(),
    };
    for (const path of ['/authentication/login/', '/api/method/login']) {
      for (const headers of [
        { origin: 'https://evil.example' },
        { origin: 'null' },
        { 'sec-fetch-site': 'cross-site' },
        { origin: server.url, 'sec-fetch-site': 'cross-site' },
      ]) {
        const response = await attempt(path, headers, path === '/api/method/login' ? 'usr=bob&pwd=x' : form);
        expect(response.status, `${path} ${JSON.stringify(headers)}`).toBe(403);
        expect(setCookies(response).size).toBe(0);
      }
    }
    // Refused before the password check: nothing counted, nothing logged in, nothing audited.
    expect(await throttle()).toEqual(before.throttle);
    expect((await auditRows(server)).length).toBe(before.audit);
    expect((await sessionRows(server, BOB_ID)).length).toBe(before.sessions);

    expect(
      (await attempt('/authentication/login/', { origin: server.url, 'sec-fetch-site': 'same-origin' })).status,
    ).toBe(200);
    const apiClient = await api(server, 'POST', '/authentication/login/', {
      body: { username: 'bob', password: PASSWORD },
    });
    expect(apiClient.status).toBe(200);
    const drf = await api(server, 'POST', '/api-token-auth/', { body: { username: 'bob', password: PASSWORD } });
    expect(drf.status).toBe(200);
  });

  it('D3 gives every login a new CSRF token that works only with its own session', async () => {
    const first = await login(server, 'bob', PASSWORD);
    const second = await login(server, 'bob', PASSWORD);
    expect(first.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(second.csrfToken).not.toBe(first.csrfToken);
    expect(second.csrfToken).not.toBe(admin.csrfToken);
    const write = (session: Session, token: string) =>
      fetch(`${server.url}/users/users/${BOB_ID}/`, {
        method: 'PATCH',
        headers: { cookie: session.cookie, 'X-CSRFToken': token, 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'bob@example.com' }),
      });
    expect((await write(second, first.csrfToken)).status).toBe(403);
    expect((await write(first, second.csrfToken)).status).toBe(403);
    expect((await write(second, second.csrfToken)).status).toBe(200);
    expect((await write(first, first.csrfToken)).status).toBe(200);
  });

  it('D4 refuses a cookie write from a foreign Origin, Origin: null or Sec-Fetch-Site: cross-site even with the right token', async () => {
    const token = { 'X-CSRFToken': admin.csrfToken };
    await expectAllRefused({ ...token, origin: 'https://evil.example' }, /^CSRF Failed: Origin checking failed/);
    await expectAllRefused({ ...token, origin: 'null' }, /^CSRF Failed: Origin checking failed/);
    await expectAllRefused(
      { ...token, origin: server.url.replace('127.0.0.1', 'localhost') },
      /Origin checking failed/,
    );
    await expectAllRefused({ ...token, 'sec-fetch-site': 'cross-site' }, /^CSRF Failed: Cross-site request refused/);
    const same = await api(server, 'PATCH', `/users/users/${BOB_ID}/`, {
      session: admin,
      headers: { origin: server.url, 'sec-fetch-site': 'same-origin' },
      body: { email: 'bob@example.com' },
    });
    expect(same.status).toBe(200);
  });

  it('D4 over HTTPS refuses a cookie write with no Origin and a missing, insecure, foreign or malformed Referer', async () => {
    await restart({ trustedProxies: ['127.0.0.1'], trustedOrigins: ['https://app.example.com'] });
    const host = new URL(server.url).host;
    const https = { 'X-CSRFToken': admin.csrfToken, 'x-forwarded-proto': 'https' };
    await expectAllRefused(https, /^CSRF Failed: Referer checking failed - no Referer\.$/);
    for (const referer of [`http://${host}/app`, 'https://evil.example/', `https://127.0.0.1.evil.example/${host}`]) {
      await expectAllRefused({ ...https, referer }, /^CSRF Failed: Referer checking failed - .* does not match/);
    }
    await expectAllRefused(
      { ...https, referer: 'not a url' },
      /^CSRF Failed: Referer checking failed - Referer is malformed\.$/,
    );
    await expectAllRefused({ ...https, origin: `http://${host}` }, /^CSRF Failed: Origin checking failed/);

    for (const headers of [
      { referer: `https://${host}/app/page` },
      { origin: `https://${host}` },
      { origin: 'https://app.example.com' },
    ]) {
      const response = await api(server, 'PATCH', `/users/users/${BOB_ID}/`, {
        session: admin,
        headers: { ...https, ...headers },
        body: { email: 'bob@example.com' },
      });
      expect(response.status, JSON.stringify(headers)).toBe(200);
    }
  });

  it('D5 changes nothing on GET or HEAD, and answers GET and HEAD on write-only routes with 405', async () => {
    const before = await state();
    const bob = await login(server, 'bob', PASSWORD);
    const auditBefore = (await auditRows(server)).length;
    const cookie = { cookie: admin.cookie };
    for (const method of ['GET', 'HEAD']) {
      for (const path of [
        '/authentication/logout/',
        `/authentication/login/?username=bob&password=${encodeURIComponent(PASSWORD)}`,
        '/api/logout/',
        '/v1/token/revoke',
        '/api-token-auth/?username=bob&password=x',
        '/api/method/logout',
      ]) {
        const response = await fetch(`${server.url}${path}`, { method, headers: cookie });
        expect(response.status, `${method} ${path}`).toBe(405);
        expect(setCookies(response).size).toBe(0);
      }
      // A read route ignores the query a forged link might carry.
      const read = await fetch(`${server.url}/users/users/${BOB_ID}/?email=x@example.com&is_active=false`, {
        method,
        headers: cookie,
      });
      expect(read.status).toBe(200);
    }
    expect(await state()).toEqual({ ...before, credentials: before.credentials + 1 });
    expect(await whoamiStatus(server, bob)).toBe(200);
    expect((await server.tessera.users.findById(BOB_ID))?.isActive).toBe(true);
    expect((await auditRows(server)).length).toBe(auditBefore);
  });

  it('D5 answers TRACE with 405 on every route and echoes nothing of the request', async () => {
    for (const path of ['/authentication/login/', '/authentication/whoami/', '/users/users/1/', '/v1/me', '/healthz']) {
      const response = await rawRequest(server, {
        method: 'TRACE',
        path,
        headers: { cookie: admin.cookie, 'x-secret-probe': 'echo-me-not' },
      });
      expect(response.status, path).toBe(405);
      expect(response.body).not.toContain('echo-me-not');
      expect(response.body).not.toContain(admin.sessionId);
      expect(response.headers['content-type']).toBe('application/json');
    }
  });

  it('D6 answers an invalid Authorization header beside a valid session cookie with 401, never falling back to the session', async () => {
    const bad = [
      'Weird abc',
      'Bearer',
      'Bearer ',
      'Bearer tsr_not-a-real-token',
      'Bearer not.a.jwt',
      `Token ${'0'.repeat(40)}`,
      'Token',
      'Basic !!!',
      basicHeader('admin', 'not the password'),
      'token nokey:nosecret',
    ];
    for (const authorization of bad) {
      const read = await fetch(`${server.url}/authentication/whoami/`, {
        headers: { cookie: admin.cookie, authorization },
      });
      expect(read.status, authorization).toBe(401);
      expect(read.headers.get('www-authenticate'), authorization).toBeTruthy();
      const write = await api(server, 'PATCH', `/users/users/${BOB_ID}/`, {
        session: admin,
        headers: { authorization },
        body: { email: 'bob@example.com' },
      });
      expect(write.status, authorization).toBe(401);
    }
    expect((await server.tessera.users.findById(BOB_ID))?.email).toBeNull();
    expect(await whoamiStatus(server, admin)).toBe(200);
  });

  it('D7 refuses a text/plain or other simple-form body sent with the cookie and no CSRF header with 403 or 415', async () => {
    const before = await state();
    const bodies: Array<[string, string]> = [
      ['text/plain', '{"email": "plain@example.com"}'],
      ['text/plain;charset=UTF-8', 'email=plain@example.com'],
      ['application/x-www-form-urlencoded', 'email=form@example.com'],
      [
        'multipart/form-data; boundary=x',
        '--x\r\nContent-Disposition: form-data; name="email"\r\n\r\nm@example.com\r\n--x--\r\n',
      ],
    ];
    for (const [type, body] of bodies) {
      for (const [method, path] of [
        ['PATCH', `/users/users/${BOB_ID}/`],
        ['POST', '/users/users/'],
        ['POST', '/authentication/logout/'],
        ['POST', '/v1/credentials'],
      ] as const) {
        const response = await fetch(`${server.url}${path}`, {
          method,
          headers: { cookie: admin.cookie, 'content-type': type },
          body,
        });
        expect([403, 415], `${method} ${path} ${type}`).toContain(response.status);
      }
    }
    expect(await state()).toEqual(before);
  });
});
