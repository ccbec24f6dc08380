import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ConfigOverrides } from '../src/config.js';
import { describeEachDatabase, PASSWORD, setCookies, startServer, type TestServer } from './helpers/harness.js';

const WINDOW_MS = 60_000;
const SMALL_LIMITS: ConfigOverrides = {
  throttle: { account: { max: 3, windowMs: WINDOW_MS }, address: { max: 100, windowMs: WINDOW_MS } },
};

describeEachDatabase('login throttling', (kind) => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer(kind, SMALL_LIMITS);
    await server.createUser('user', PASSWORD);
  });
  afterEach(() => server.close());

  const attempt = (
    username: string,
    password: string,
    options: { path?: string; headers?: Record<string, string> } = {},
  ) =>
    fetch(`${server.url}${options.path ?? '/authentication/login/'}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...options.headers },
      body: JSON.stringify({ username, password }),
    });

  const status = async (
    username: string,
    password: string,
    options?: { path?: string; headers?: Record<string, string> },
  ) => {
    const response = await attempt(username, password, options);
    await response.arrayBuffer();
    return response.status;
  };

  /** Expects a 429 in DRF's words, and returns its Retry-After in seconds. */
  const expectThrottled = async (response: Response): Promise<number> => {
    expect(response.status).toBe(429);
    const retryAfter = response.headers.get('retry-after') ?? '';
    expect(retryAfter).toMatch(/^[1-9]\d*$/);
    const seconds = Number(retryAfter);
    expect(seconds).toBeLessThanOrEqual(WINDOW_MS / 1000);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({
      detail: `Request was throttled. Expected available in ${seconds} seconds.`,
    });
    expect(setCookies(response).size).toBe(0);
    return seconds;
  };

  const throttleRows = () =>
    server.tessera.database.db.selectFrom('throttle').select(['key', 'count']).orderBy('key').execute();

  it('refuses even the right password with 429, an integer Retry-After and a JSON detail past the account limit', async () => {
    for (let i = 0; i < 3; i++) expect(await status('user', 'wrong password')).toBe(400);
    const seconds = await expectThrottled(await attempt('user', PASSWORD));
    expect(seconds).toBe(60);
    // Right and wrong passwords get the very same answer while throttled.
    const wrong = await attempt('user', 'wrong password');
    expect(wrong.status).toBe(429);
    expect(await wrong.json()).toEqual({ detail: 'Request was throttled. Expected available in 60 seconds.' });
  });

  it('throttles an unknown username exactly like a known one', async () => {
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      known.push(await status('user', 'wrong password'));
      unknown.push(await status('nobody-here', 'wrong password'));
    }
    expect(known).toEqual([400, 400, 400, 429, 429]);
    expect(unknown).toEqual(known);
    await expectThrottled(await attempt('nobody-here', PASSWORD));
  });

  it('lets the account in again once the window has passed, and Retry-After is exactly long enough', async () => {
    for (let i = 0; i < 3; i++) expect(await status('user', 'wrong password')).toBe(400);
    const seconds = await expectThrottled(await attempt('user', PASSWORD));

    server.clock.advance(seconds * 1000 - 1);
    await expectThrottled(await attempt('user', PASSWORD));
    server.clock.advance(1);
    expect(await status('user', PASSWORD)).toBe(200);

    // A fresh window: three more failures are allowed before the next 429.
    for (let i = 0; i < 3; i++) expect(await status('user', 'wrong password')).toBe(400);
    await expectThrottled(await attempt('user', PASSWORD));
    server.clock.advance(61_000);
    expect(await status('user', PASSWORD)).toBe(200);
  });

  it('forgives an account’s failures after a successful login', async () => {
    for (let i = 0; i < 2; i++) expect(await status('user', 'wrong password')).toBe(400);
    expect(await status('user', PASSWORD)).toBe(200);
    for (let i = 0; i < 3; i++) expect(await status('user', 'wrong password')).toBe(400);
    await expectThrottled(await attempt('user', PASSWORD));
  });

  it('counts one account across path spellings and username case or normalisation', async () => {
    expect(await status('user', 'wrong password', { path: '/authentication/login' })).toBe(400);
    expect(await status('USER', 'wrong password', { path: '//authentication//login//' })).toBe(400);
    expect(await status('User', 'wrong password', { path: '/authentication/login/?next=/' })).toBe(400);
    // A path the router does not know never reaches the login, so it neither counts nor logs in.
    expect(await status('user', PASSWORD, { path: '/Authentication/Login/' })).toBe(404);
    for (const path of ['/authentication/login/', '/authentication/login', '//authentication//login']) {
      await expectThrottled(await attempt('user', PASSWORD, { path }));
    }

    // é as one code point and as e + combining accent share one counter.
    for (let i = 0; i < 3; i++) expect(await status('jos\u00e9', 'wrong password')).toBe(400);
    await expectThrottled(await attempt('jose\u0301', 'wrong password'));
  });

  it('trips the per-address limit across different usernames, whatever X-Forwarded-For says', async () => {
    await server.close();
    server = await startServer(kind, {
      throttle: { account: { max: 100, windowMs: WINDOW_MS }, address: { max: 5, windowMs: WINDOW_MS } },
    });
    await server.createUser('user', PASSWORD);
    for (let i = 0; i < 5; i++) {
      // No proxy is trusted, so a client-chosen X-Forwarded-For must not give it a new address.
      expect(await status(`guess${i}`, 'wrong password', { headers: { 'x-forwarded-for': `198.51.100.${i}` } })).toBe(
        400,
      );
    }
    await expectThrottled(await attempt('user', PASSWORD, { headers: { 'x-forwarded-for': '203.0.113.9' } }));
    await expectThrottled(await attempt('someone-else', 'wrong password'));
    server.clock.advance(WINDOW_MS);
    expect(await status('user', PASSWORD)).toBe(200);
  });

  it('counts 50 parallel failed logins for one account exactly as 50 sequential ones, losing no update', async () => {
    await server.createUser('other', PASSWORD);
    const sequential: number[] = [];
    for (let i = 0; i < 50; i++) sequential.push(await status('user', 'wrong password'));
    const parallel = await Promise.all(Array.from({ length: 50 }, () => status('other', 'wrong password')));

    // Every attempt is counted before its password is checked: exactly three get through.
    expect(sequential.filter((s) => s === 400)).toHaveLength(3);
    expect(sequential.filter((s) => s === 429)).toHaveLength(47);
    expect(parallel.filter((s) => s === 400)).toHaveLength(3);
    expect(parallel.filter((s) => s === 429)).toHaveLength(47);
    expect(await throttleRows()).toEqual([
      { key: 'account:other', count: 50 },
      { key: 'account:user', count: 50 },
      { key: 'address:127.0.0.1', count: 100 },
    ]);
  });
});
