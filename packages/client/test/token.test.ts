import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PASSWORD, startServer, type TestServer } from '../../server/test/helpers/harness.js';
import { BasicAuthentication, Client, isHTTPError, TokenAuthentication } from '../src/index.js';

describe('TokenAuthentication and BasicAuthentication against Tessera (seeds 002 and 003)', () => {
  let server: TestServer;
  let donnaId: number;
  beforeEach(async () => {
    server = await startServer('sqlite');
    donnaId = (await server.createUser('donna', PASSWORD)).id;
  });
  afterEach(async () => {
    await server.close();
  });

  it('obtains a DRF token, calls whoami with "Token <key>", logs out, and is then refused', async () => {
    const anonymous = new Client({ baseUrl: server.url });
    const { token } = await anonymous.post<{ token: string }>('/api-token-auth/', {
      json: { username: 'donna', password: PASSWORD },
    });
    expect(token).toMatch(/^[0-9a-f]{40}$/);

    const client = new Client({ baseUrl: server.url, auth: new TokenAuthentication({ token, scheme: 'Token' }) });
    expect(await client.get('/api/whoami/')).toMatchObject({ username: 'donna' });
    expect(await client.post('/api/logout/')).toEqual({ username: null });

    const error = await client.get('/api/whoami/').catch((e) => e);
    expect(isHTTPError(error) && error.status).toBe(401);
    expect(isHTTPError(error) && error.body).toEqual({ detail: 'Invalid token.' });
  });

  it('is refused with the default Bearer scheme, which DRF tokens do not use', async () => {
    const { token } = await new Client({ baseUrl: server.url }).post<{ token: string }>('/api-token-auth/', {
      json: { username: 'donna', password: PASSWORD },
    });
    const client = new Client({ baseUrl: server.url, auth: new TokenAuthentication({ token }) });
    const error = await client.get('/api/whoami/').catch((e) => e);
    expect(isHTTPError(error) && error.status).toBe(401);
    // The message carries the server's reason, which names the form it expected.
    const detail = (error as { body: { detail: string } }).body.detail;
    expect(detail.length).toBeGreaterThan(0);
    expect((error as Error).message).toBe(`GET ${server.url}/api/whoami/ answered 401 Unauthorized: ${detail}`);
  });

  it('authenticates Frappe api key and secret as "token key:secret" and as Basic key:secret', async () => {
    const { apiKey, apiSecret } = await server.tessera.issuer.generateApiKeys(donnaId, { actorId: null });
    const path = '/api/method/frappe.auth.get_logged_user';
    const token = new Client({
      baseUrl: server.url,
      auth: new TokenAuthentication({ token: `${apiKey}:${apiSecret}`, scheme: 'token' }),
    });
    expect(await token.get(path)).toEqual({ message: 'donna' });
    const basic = new Client({
      baseUrl: server.url,
      auth: new BasicAuthentication({ username: apiKey, password: apiSecret }),
    });
    expect(await basic.get(path)).toEqual({ message: 'donna' });

    const wrong = new Client({
      baseUrl: server.url,
      auth: new BasicAuthentication({ username: apiKey, password: `${apiSecret}x` }),
    });
    const error = await wrong.get(path).catch((e) => e);
    expect(isHTTPError(error) && error.status).toBe(401);
  });

  it('sends a UTF-8 password with Basic that the server accepts', async () => {
    await server.createUser('zoë', 'pässwörd — ünïcödé ☃ long enough');
    const client = new Client({
      baseUrl: server.url,
      auth: new BasicAuthentication({ username: 'zoë', password: 'pässwörd — ünïcödé ☃ long enough' }),
    });
    expect(await client.get('/v1/me')).toMatchObject({ user: { username: 'zoë' } });
  });
});
