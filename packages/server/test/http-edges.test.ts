import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  describeEachDatabase,
  login,
  PASSWORD,
  type Session,
  setCookies,
  startServer,
  type TestServer,
} from './helpers/harness.js';
import { api, rawRequest } from './helpers/requests.js';

const LIMIT = 64 * 1024;
const TOO_LARGE = { detail: `Request body is larger than ${LIMIT} bytes.` };

describeEachDatabase('HTTP edges', (kind) => {
  let server: TestServer;
  let session: Session;
  beforeEach(async () => {
    server = await startServer(kind);
    await server.createUser('user', PASSWORD, { admin: true });
    session = await login(server, 'user', PASSWORD);
  });
  afterEach(() => server.close());

  const postLogin = (body: string | Uint8Array, contentType = 'application/json', headers = {}) =>
    fetch(`${server.url}/authentication/login/`, {
      method: 'POST',
      headers: { 'content-type': contentType, ...headers },
      body,
    });

  /** The server still answers after whatever came before. */
  const expectHealthy = async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
  };

  it('answers GET /healthz with 200 {"status":"ok"}', async () => {
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.text()).toBe('{"status":"ok"}');
  });

  it('answers an unknown route with a 404 JSON detail', async () => {
    for (const path of ['/', '/nope', '/authentication/', '/users/', '/users/users/1/extra', '/healthz/x']) {
      const response = await fetch(`${server.url}${path}`, { headers: { cookie: session.cookie } });
      expect(response.status, path).toBe(404);
      expect(response.headers.get('content-type')).toBe('application/json');
      expect(await response.json()).toEqual({ detail: 'Not found.' });
    }
  });

  it('answers a wrong method on a known route with 405 and an Allow header listing the right ones', async () => {
    const cases: Array<[string, string, string[]]> = [
      ['GET', '/authentication/login/', ['POST']],
      ['PUT', '/authentication/whoami', ['GET']],
      ['GET', '/authentication/logout/', ['POST']],
      ['DELETE', '/users/users/', ['GET', 'POST']],
      ['POST', '/users/users/1/', ['DELETE', 'GET', 'PATCH', 'PUT']],
      ['POST', '/healthz', ['GET']],
    ];
    for (const [method, path, allowed] of cases) {
      const response = await api(server, method, path, { session });
      expect(response.status, `${method} ${path}`).toBe(405);
      expect(response.headers.get('allow')?.split(/,\s*/).sort()).toEqual(allowed);
      expect(await response.json()).toEqual({ detail: `Method "${method}" not allowed.` });
    }
  });

  it('refuses TRACE with 405 and echoes nothing of the request', async () => {
    for (const path of ['/healthz', '/authentication/login/', '/authentication/whoami/', '/users/users/1/']) {
      const response = await rawRequest(server, { method: 'TRACE', path, headers: { cookie: session.cookie } });
      expect(response.status, path).toBe(405);
      expect(response.headers.allow).toBeDefined();
      expect(response.headers.allow).not.toMatch(/TRACE/);
      expect(response.body).not.toContain(session.sessionId);
      expect(JSON.parse(response.body)).toEqual({ detail: 'Method "TRACE" not allowed.' });
    }
  });

  it('puts nosniff and no-store on every response, success or failure', async () => {
    const victim = await server.createUser('victim', PASSWORD);
    const responses: Array<[number, Response]> = [
      [200, await fetch(`${server.url}/healthz`)],
      [200, await postLogin(JSON.stringify({ username: 'user', password: PASSWORD }))],
      [200, await fetch(`${server.url}/authentication/whoami/`, { headers: { cookie: session.cookie } })],
      [204, await api(server, 'DELETE', `/users/users/${victim.id}/`, { session })],
      [400, await postLogin('{')],
      [401, await fetch(`${server.url}/authentication/whoami/`)],
      [403, await api(server, 'PATCH', '/users/users/1/', { headers: { cookie: session.cookie } })],
      [404, await fetch(`${server.url}/nope`)],
      [405, await fetch(`${server.url}/authentication/login/`)],
      [413, await postLogin('x'.repeat(LIMIT + 1))],
      [415, await postLogin('username=user', 'text/plain')],
    ];
    for (const [status, response] of responses) {
      expect(response.status).toBe(status);
      expect(response.headers.get('x-content-type-options'), String(status)).toBe('nosniff');
      expect(response.headers.get('cache-control'), String(status)).toBe('no-store');
      await response.arrayBuffer();
    }
  });

  it('refuses a body over 64 KiB with a 413 JSON detail when Content-Length declares it', async () => {
    const padded = (size: number) => {
      const head = JSON.stringify({ username: 'user', password: PASSWORD, pad: '' });
      return `${head.slice(0, -2)}${'x'.repeat(size - head.length)}"}`;
    };
    const over = await postLogin(padded(LIMIT + 1));
    expect(over.status).toBe(413);
    expect(over.headers.get('content-type')).toBe('application/json');
    expect(await over.json()).toEqual(TOO_LARGE);
    expect(setCookies(over).size).toBe(0);

    // Exactly 64 KiB is still read.
    const exact = await postLogin(padded(LIMIT));
    expect(exact.status).toBe(200);

    // On an authenticated write, too.
    const patch = await api(server, 'PATCH', '/users/users/1/', { session, body: { email: 'x'.repeat(LIMIT) } });
    expect(patch.status).toBe(413);
    expect(await patch.json()).toEqual(TOO_LARGE);
    await expectHealthy();
  });

  it('refuses a chunked body over 64 KiB with a 413 JSON detail', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(16 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 6) controller.close();
        else {
          sent++;
          controller.enqueue(chunk);
        }
      },
    });
    const response = await fetch(`${server.url}/authentication/login/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual(TOO_LARGE);
    await expectHealthy();
  });

  it('answers malformed JSON with a 400 JSON detail', async () => {
    for (const body of ['{', '{"username": "user",}', "{'username': 'user'}", 'nul', '{"a":1}}', '\u0000', ' ']) {
      const response = await postLogin(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.headers.get('content-type')).toBe('application/json');
      expect(await response.json()).toMatchObject({ detail: expect.stringMatching(/^JSON parse error/) });
    }
    const patch = await fetch(`${server.url}/users/users/1/`, {
      method: 'PATCH',
      headers: { cookie: session.cookie, 'X-CSRFToken': session.csrfToken, 'content-type': 'application/json' },
      body: '{"email": ',
    });
    expect(patch.status).toBe(400);
    expect(await patch.json()).toMatchObject({ detail: expect.stringMatching(/^JSON parse error/) });
  });

  it('refuses a JSON body that is not an object with 400, even one holding the right credentials', async () => {
    const credentials = JSON.stringify({ username: 'user', password: PASSWORD });
    for (const body of [`[${credentials}]`, '[]', '"user"', '42', 'true', 'null']) {
      const response = await postLogin(body);
      expect(response.status, body).toBe(400);
      expect(await response.json()).toEqual({ detail: 'Request body must be a JSON object.' });
      expect(setCookies(response).size).toBe(0);
    }
  });

  it('answers JSON nested past any sensible depth with a 400, not a 500', async () => {
    const depth = 30_000;
    const response = await postLogin(`${'['.repeat(depth)}${']'.repeat(depth)}`);
    expect(response.status).toBe(400);
    const object = await postLogin(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`);
    expect(object.status).toBe(400);
    await expectHealthy();
  });

  it('refuses a cookie-authenticated text/plain write without a CSRF header with 403 or 415, changing nothing', async () => {
    const patch = await fetch(`${server.url}/users/users/1/`, {
      method: 'PATCH',
      headers: { cookie: session.cookie, 'content-type': 'text/plain' },
      body: JSON.stringify({ email: 'forged@example.com' }),
    });
    expect([403, 415]).toContain(patch.status);
    const create = await fetch(`${server.url}/users/users/`, {
      method: 'POST',
      headers: { cookie: session.cookie, 'content-type': 'text/plain' },
      body: JSON.stringify({ username: 'forged', password: 'another good passphrase' }),
    });
    expect([403, 415]).toContain(create.status);
    // With the token, the same text/plain body is still not read as JSON.
    const withToken = await fetch(`${server.url}/users/users/1/`, {
      method: 'PATCH',
      headers: { cookie: session.cookie, 'X-CSRFToken': session.csrfToken, 'content-type': 'text/plain' },
      body: JSON.stringify({ email: 'forged@example.com' }),
    });
    expect(withToken.status).toBe(415);

    expect((await server.tessera.users.findById(1))?.email).toBeNull();
    expect(await server.tessera.users.findByUsername('forged')).toBeUndefined();
  });

  it('refuses a body that is not valid UTF-8 with a 400 JSON detail', async () => {
    const bytes = (...parts: Array<string | number[]>) =>
      Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
    const bodies: Array<[Buffer, string]> = [
      [bytes('{"username": "', [0xff, 0xfe], '", "password": "x"}'), 'application/json'],
      [bytes('{"username": "', [0xc0, 0xaf], '", "password": "x"}'), 'application/json'],
      // A UTF-16 surrogate written as UTF-8 (CESU-8).
      [bytes('{"username": "', [0xed, 0xa0, 0x80], '", "password": "x"}'), 'application/json'],
      // Truncated mid-character.
      [bytes('{"username": "', [0xe2, 0x82]), 'application/json'],
      [bytes('username=', [0xff], '&password=x'), 'application/x-www-form-urlencoded'],
    ];
    for (const [body, type] of bodies) {
      const response = await rawRequest(server, {
        method: 'POST',
        path: '/authentication/login/',
        headers: { 'content-type': type, 'content-length': String(body.length) },
        body,
      });
      expect(response.status, body.toString('hex')).toBe(400);
      expect(JSON.parse(response.body)).toEqual({ detail: 'Request body is not valid UTF-8.' });
    }
  });

  it('does not log anyone in through a differently cased login path', async () => {
    const response = await rawRequest(server, {
      method: 'POST',
      path: '/Authentication/Login/',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'user', password: PASSWORD }),
    });
    expect(response.status).toBe(404);
    expect(response.headers['set-cookie']).toBeUndefined();
  });

  it('routes paths with duplicate slashes to the same handler', async () => {
    const health = await rawRequest(server, { path: '//healthz' });
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ status: 'ok' });

    const list = await rawRequest(server, { path: '/users//users//', headers: { cookie: session.cookie } });
    expect(list.status).toBe(200);
    expect(JSON.parse(list.body).map((u: { username: string }) => u.username)).toEqual(['user']);

    const one = await rawRequest(server, { path: '//users//users//1//', headers: { cookie: session.cookie } });
    expect(one.status).toBe(200);
    expect(JSON.parse(one.body)).toMatchObject({ id: 1, username: 'user' });

    const loggedIn = await rawRequest(server, {
      method: 'POST',
      path: '//authentication//login//',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'user', password: PASSWORD }),
    });
    expect(loggedIn.status).toBe(200);
    expect(String(loggedIn.headers['set-cookie'])).toMatch(/sessionid=/);
  });
});
