import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PASSWORD, startServer, type TestServer } from '../../server/test/helpers/harness.js';
import { BearerAuthentication, Client, type FetchLike, isHTTPError, TokenAuthentication } from '../src/index.js';

describe('BearerAuthentication against Tessera (JWT from /v1/token)', () => {
  let server: TestServer;
  let drfToken: string;
  beforeEach(async () => {
    server = await startServer('sqlite');
    await server.createUser('donna', PASSWORD);
    ({ token: drfToken } = await new Client({ baseUrl: server.url }).post<{ token: string }>('/api-token-auth/', {
      json: { username: 'donna', password: PASSWORD },
    }));
  });
  afterEach(async () => {
    await server.close();
  });

  it('buys a JWT with the inner DRF token, uses it, and buys the next one as it nears expiry', async () => {
    let now = server.clock.now;
    const seen: { path: string; authorization: string | null }[] = [];
    const recording: FetchLike = (input, init) => {
      seen.push({ path: input.pathname, authorization: new Headers(init.headers).get('authorization') });
      return fetch(input, init);
    };
    const auth = new BearerAuthentication({
      url: server.url,
      credentials: new TokenAuthentication({ token: drfToken, scheme: 'Token' }),
      now: () => now,
      fetch: recording,
    });
    const client = new Client({ baseUrl: server.url, auth, fetch: recording });

    expect(await client.get('/v1/me')).toMatchObject({ user: { username: 'donna' }, credential: { kind: 'jwt' } });
    const tokenCalls = () => seen.filter((s) => s.path === '/v1/token');
    expect(tokenCalls()).toEqual([{ path: '/v1/token', authorization: `Token ${drfToken}` }]);
    const meCall = seen.find((s) => s.path === '/v1/me');
    expect(meCall?.authorization).toMatch(/^Bearer ey[\w-]+\.[\w-]+\.[\w-]+$/);
    const first = (await auth.token()).accessToken;

    server.clock.advance(5 * 60_000);
    now += 5 * 60_000;
    await client.get('/v1/me');
    expect(tokenCalls()).toHaveLength(2);
    expect((await auth.token()).accessToken).not.toBe(first);

    server.clock.advance(2 * 60_000);
    now += 2 * 60_000;
    const stale = await fetch(`${server.url}/v1/me`, { headers: { authorization: `Bearer ${first}` } });
    expect(stale.status).toBe(401);
  });

  it('reports a refused inner credential as an HTTPError 401', async () => {
    const auth = new BearerAuthentication({
      url: server.url,
      credentials: new TokenAuthentication({ token: '0'.repeat(40), scheme: 'Token' }),
    });
    const error = await new Client({ baseUrl: server.url, auth }).get('/v1/me').catch((e) => e);
    expect(isHTTPError(error) && error.status).toBe(401);
    expect(isHTTPError(error) && error.response.url).toMatch(/\/v1\/token$/);
  });
});
