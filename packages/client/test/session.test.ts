import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PASSWORD, startServer, type TestServer } from '../../server/test/helpers/harness.js';
import { Client, isHTTPError, SessionAuthentication } from '../src/index.js';

/** Seed 000 (Keystone sessions) through SessionAuthentication against a real Tessera. */
describe('SessionAuthentication against Tessera (seed 000)', () => {
  let server: TestServer;
  let userId: number;
  beforeEach(async () => {
    server = await startServer('sqlite');
    userId = (await server.createUser('user', PASSWORD)).id;
  });
  afterEach(async () => {
    await server.close();
  });

  const sessionClient = (options: ConstructorParameters<typeof SessionAuthentication>[0] = {}) =>
    new Client({ baseUrl: server.url, auth: new SessionAuthentication({ domain: '127.0.0.1', ...options }) });

  it('logs in, reads, writes with the CSRF cookie mirrored, logs out, and is then refused with 401', async () => {
    const client = sessionClient();
    const me = await client.post<{ username: string }>('/authentication/login/', {
      json: { username: 'user', password: PASSWORD },
    });
    expect(me.username).toBe('user');
    const base = new URL(server.url);
    expect(client.cookies.get('sessionid', base)).toMatch(/.+/);
    expect(client.cookies.get('csrftoken', base)).toMatch(/.+/);

    const users = await client.get('/users/users/');
    expect(JSON.stringify(users)).toContain('"username":"user"');

    const patched = await client.patch<{ email: string }>(`/users/users/${userId}`, {
      json: { email: 'user@example.com' },
    });
    expect(patched.email).toBe('user@example.com');

    const bye = await client.post('/authentication/logout/');
    expect(bye).toEqual({ detail: 'Successfully logged out.' });

    const error = await client.get('/authentication/whoami/').catch((e: unknown) => e);
    expect(isHTTPError(error)).toBe(true);
    if (!isHTTPError(error)) return;
    expect(error.status).toBe(401);
    expect(error.code).toBe('HTTP_ERROR');
    expect(error.body).toMatchObject({ detail: expect.stringMatching(/credentials/) });
  });

  it('logs in with a form body as well as JSON', async () => {
    const client = sessionClient();
    const me = await client.post<{ username: string }>('/authentication/login/', {
      form: { username: 'user', password: PASSWORD },
    });
    expect(me.username).toBe('user');
    expect(await client.get('/authentication/whoami/')).toMatchObject({ username: 'user' });
  });

  it('is refused a write with 403 when the CSRF token goes in the wrong header', async () => {
    const client = sessionClient({ csrfHeaderName: 'X-Not-CSRF' });
    await client.post('/authentication/login/', { json: { username: 'user', password: PASSWORD } });
    const error = await client.patch(`/users/users/${userId}`, { json: { email: 'x@example.com' } }).catch((e) => e);
    expect(isHTTPError(error) && error.status).toBe(403);
  });

  it('mirrors the rotated CSRF token after a second login', async () => {
    const client = sessionClient();
    const base = new URL(server.url);
    await client.post('/authentication/login/', { json: { username: 'user', password: PASSWORD } });
    const first = client.cookies.get('csrftoken', base);
    await client.post('/authentication/login/', { json: { username: 'user', password: PASSWORD } });
    const second = client.cookies.get('csrftoken', base);
    expect(second).toMatch(/.+/);
    expect(second).not.toBe(first);
    const patched = await client.patch<{ email: string }>(`/users/users/${userId}`, {
      json: { email: 'r@example.com' },
    });
    expect(patched.email).toBe('r@example.com');
  });

  it('keeps no session for a host outside its domain', async () => {
    const client = new Client({ baseUrl: server.url, auth: new SessionAuthentication({ domain: 'example.com' }) });
    await client.post('/authentication/login/', { json: { username: 'user', password: PASSWORD } });
    expect(client.cookies.all()).toEqual([]);
    const error = await client.get('/authentication/whoami/').catch((e) => e);
    expect(isHTTPError(error) && error.status).toBe(401);
  });
});
