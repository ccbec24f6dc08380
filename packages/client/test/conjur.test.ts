import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PASSWORD, startServer, type TestServer } from '../../server/test/helpers/harness.js';
import { Client, ConjurAuthentication, type FetchLike, isHTTPError } from '../src/index.js';

/** A fetch that counts calls by path, then lets the real one answer. */
function countingFetch(): { fetch: FetchLike; count: (suffix: string) => number } {
  const paths: string[] = [];
  return {
    fetch: (input, init) => {
      paths.push(input.pathname);
      return fetch(input, init);
    },
    count: (suffix) => paths.filter((p) => p.endsWith(suffix)).length,
  };
}

describe('ConjurAuthentication against Tessera (seed 004)', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer('sqlite');
    await server.createUser('donna', PASSWORD);
  });
  afterEach(async () => {
    await server.close();
  });

  it('logs in with the password, then sends Token token="<base64 JSON>" that the server accepts', async () => {
    const auth = new ConjurAuthentication({ url: server.url, login: 'donna', password: PASSWORD });
    const client = new Client({ baseUrl: server.url, auth });
    expect(await client.get('/api/authn/whoami')).toMatchObject({ username: 'donna', account: 'default' });
    const token = await auth.token();
    expect(JSON.parse(token.raw)).toMatchObject({ data: 'donna' });
    expect(token.header).toBe(`Token token="${Buffer.from(token.raw).toString('base64')}"`);
    expect(await auth.apiKey()).toMatch(/^[0-9a-z]{52}$/);
  });

  it('fetches a fresh token once the old one has less than 30 s left, across the server clock moving 8 minutes', async () => {
    const apiKey = await new ConjurAuthentication({ url: server.url, login: 'donna', password: PASSWORD }).apiKey();
    let now = server.clock.now;
    const counter = countingFetch();
    const auth = new ConjurAuthentication({
      url: server.url,
      login: 'donna',
      apiKey,
      now: () => now,
      fetch: counter.fetch,
    });
    const client = new Client({ baseUrl: server.url, auth, fetch: counter.fetch });
    await client.get('/api/authn/whoami');
    const first = (await auth.token()).header;
    expect(counter.count('/authenticate')).toBe(1);

    server.clock.advance(7 * 60_000);
    now += 7 * 60_000;
    await client.get('/api/authn/whoami');
    expect(counter.count('/authenticate')).toBe(1); // a minute left: still the same token

    server.clock.advance(60_000);
    now += 60_000;
    expect(await client.get('/api/authn/whoami')).toMatchObject({ username: 'donna' });
    expect(counter.count('/authenticate')).toBe(2);
    expect((await auth.token()).header).not.toBe(first);

    // The old token is dead by now on the server: the refresh was necessary.
    server.clock.advance(60_000);
    now += 60_000;
    const stale = await fetch(`${server.url}/api/authn/whoami`, { headers: { authorization: first } });
    expect(stale.status).toBe(401);
    expect(await client.get('/api/authn/whoami')).toMatchObject({ username: 'donna' });
  });

  it('makes one authenticate call however many requests wait for a token', async () => {
    const counter = countingFetch();
    const auth = new ConjurAuthentication({
      url: server.url,
      login: 'donna',
      password: PASSWORD,
      fetch: counter.fetch,
    });
    const client = new Client({ baseUrl: server.url, auth });
    const results = await Promise.all(Array.from({ length: 8 }, () => client.get('/api/authn/whoami')));
    expect(results).toHaveLength(8);
    expect(counter.count('/authenticate')).toBe(1);
    expect(counter.count('/login')).toBe(1);
  });

  it('surfaces a wrong API key as an HTTPError 401, and tries again on the next request', async () => {
    const counter = countingFetch();
    const auth = new ConjurAuthentication({
      url: server.url,
      login: 'donna',
      apiKey: 'not-a-key',
      fetch: counter.fetch,
    });
    const client = new Client({ baseUrl: server.url, auth });
    for (let i = 0; i < 2; i++) {
      const error = await client.get('/api/authn/whoami').catch((e) => e);
      expect(isHTTPError(error) && error.status).toBe(401);
    }
    expect(counter.count('/authenticate')).toBe(2);
  });
});
