import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import type { ConfigOverrides } from '../../src/config.js';
import { createHttpServer } from '../../src/http/server.js';
import { auditRows, basicHeader, columnsContaining } from '../helpers/credentials.js';
import { describeEachDatabase, login, PASSWORD, setCookies, startServer, type TestServer } from '../helpers/harness.js';
import { api, rawRequest } from '../helpers/requests.js';

const HOUR = 3_600_000;
const WIDE_OPEN: ConfigOverrides = {
  throttle: { account: { max: 10_000, windowMs: HOUR }, address: { max: 10_000, windowMs: HOUR } },
};

/** Median of a list of numbers. */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** A login through the session dialect with a JSON body. */
function postLogin(server: TestServer, username: string, password: string, headers: Record<string, string> = {}) {
  return api(server, 'POST', '/authentication/login/', { body: { username, password }, headers });
}

async function loginStatus(server: TestServer, username: string, password: string, headers?: Record<string, string>) {
  const response = await postLogin(server, username, password, headers);
  await response.arrayBuffer();
  return response.status;
}

/** Every header of a response but `Date`, which differs by the second whatever the answer. */
function headersWithoutDate(response: Response): Array<[string, string]> {
  return [...response.headers.entries()].filter(([name]) => name !== 'date');
}

describeEachDatabase('SECURITY B1: one answer for every failed login', (kind) => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer(kind, WIDE_OPEN);
    await server.createUser('known', PASSWORD);
    await server.tessera.users.create({ username: 'disabled', password: PASSWORD, isActive: false }, { actorId: null });
  });
  afterEach(() => server.close());

  const failures: Array<[string, string, string]> = [
    ['unknown user', 'nobody-here', PASSWORD],
    ['wrong password', 'known', 'not the password'],
    ['disabled user', 'disabled', PASSWORD],
    ['over-long password', 'known', 'x'.repeat(2000)],
  ];

  it('B1 answers unknown user, wrong password and disabled user with an identical 401 over HTTP Basic', async () => {
    const answers = [];
    for (const [, username, password] of failures) {
      const response = await fetch(`${server.url}/v1/me`, {
        headers: { authorization: basicHeader(username, password) },
      });
      expect(response.status).toBe(401);
      answers.push(JSON.stringify([headersWithoutDate(response), await response.text()]));
    }
    expect(new Set(answers).size).toBe(1);
    expect(JSON.parse(answers[0] ?? '')).toEqual([
      expect.arrayContaining([['www-authenticate', 'Basic realm="tessera", charset="UTF-8"']]),
      '{"detail":"Invalid username/password."}',
    ]);
  });

  it('B1 answers them with one identical 400 at the session and DRF login forms, which the seed clients expect', async () => {
    for (const [path, body] of [
      ['/authentication/login/', '{"non_field_errors":["Invalid username or password."]}'],
      ['/api-token-auth/', '{"non_field_errors":["Unable to log in with provided credentials."]}'],
    ] as const) {
      const answers = [];
      for (const [, username, password] of failures) {
        const response = await api(server, 'POST', path, { body: { username, password } });
        expect(response.status, path).toBe(400);
        expect(setCookies(response).size).toBe(0);
        answers.push(JSON.stringify([headersWithoutDate(response), await response.text()]));
      }
      expect(new Set(answers).size, path).toBe(1);
      expect(JSON.parse(answers[0] ?? '')[1]).toBe(body);
    }
    // The reasons differ only where an operator reads them: the audit log.
    const reasons = (await auditRows(server))
      .filter((row) => row.event === 'login.failed')
      .map((row) => JSON.parse(row.detail ?? '{}').reason);
    expect(reasons).toEqual([...Array(2)].flatMap(() => ['unknown_user', 'wrong_password', 'inactive', 'too_long']));
  });
});

describeEachDatabase('SECURITY B2: login timing', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(kind, WIDE_OPEN);
    await server.createUser('known', PASSWORD);
    await server.tessera.users.create({ username: 'dormant', password: PASSWORD, isActive: false }, { actorId: null });
  });
  afterAll(() => server.close());

  // 151 sequential argon2id verifications at 19 MiB each; on two shared cores that can pass 30 s.
  it('B2 unknown user, wrong password and inactive user take the same time over 50 interleaved samples', async () => {
    const attempt = async (username: string, password: string) => {
      const started = performance.now();
      const response = await postLogin(server, username, password);
      await response.arrayBuffer();
      expect(response.status).toBe(400);
      return performance.now() - started;
    };
    const samples = { unknown: [] as number[], wrong: [] as number[], inactive: [] as number[] };
    // Warm up (the dummy hash is made on first use), then interleave so drift hits all alike.
    await attempt('nobody', PASSWORD);
    for (let i = 0; i < 50; i++) {
      samples.unknown.push(await attempt(`nobody-${i}`, PASSWORD));
      samples.wrong.push(await attempt('known', `wrong password ${i}`));
      samples.inactive.push(await attempt('dormant', PASSWORD));
    }
    const wrong = median(samples.wrong);
    for (const other of [median(samples.unknown), median(samples.inactive)]) {
      expect(other / wrong).toBeGreaterThan(0.8);
      expect(other / wrong).toBeLessThan(1.25);
    }
  }, 120_000);
});

describeEachDatabase('SECURITY B3–B5: login throttling', (kind) => {
  let server: TestServer;
  afterEach(() => server?.close());

  /** Expects a 429 with an integer Retry-After and returns it in seconds. */
  const expectThrottled = async (response: Response): Promise<number> => {
    expect(response.status).toBe(429);
    const retryAfter = response.headers.get('retry-after') ?? '';
    expect(retryAfter).toMatch(/^[1-9]\d*$/);
    expect(await response.json()).toEqual({
      detail: `Request was throttled. Expected available in ${retryAfter} seconds.`,
    });
    expect(setCookies(response).size).toBe(0);
    return Number(retryAfter);
  };

  // 42 real argon2id verifications; on two shared cores that can pass 30 s.
  it('B3 counts failures per submitted username, known or not, and refuses even the right password with 429 past the default limit', async () => {
    server = await startServer(kind);
    await server.createUser('user', PASSWORD);
    for (const username of ['user', 'not-a-user']) {
      for (let i = 0; i < 20; i++) expect(await loginStatus(server, username, `guess ${i}`)).toBe(400);
      const seconds = await expectThrottled(await postLogin(server, username, PASSWORD));
      expect(seconds).toBe(15 * 60);
    }
    // Another account from the same address is untouched by both.
    await server.createUser('other', PASSWORD);
    expect(await loginStatus(server, 'other', PASSWORD)).toBe(200);
  }, 60_000);

  // 100 real argon2id verifications over five throttle windows; on two shared cores that can pass 30 s.
  it('B3 lets a patient guesser at most 100 failures for one account in any hour under the default limits', async () => {
    server = await startServer(kind);
    await server.createUser('user', PASSWORD);
    const failedAt: number[] = [];
    const guess = async () => {
      const response = await postLogin(server, 'user', `guess ${failedAt.length}`);
      if (response.status === 400) failedAt.push(server.clock.now);
      else if (response.status !== 429) throw new Error(`unexpected ${response.status}`);
      return response;
    };
    // Each window: one guess opens it, the rest wait until just before it closes, then the
    // Retry-After of the first refusal is honoured to the millisecond.
    const windowMs = 15 * 60_000;
    while (server.clock.now - (failedAt[0] ?? server.clock.now) < 75 * 60_000) {
      await guess();
      server.clock.advance(windowMs - 2);
      let response = await guess();
      for (let n = 0; response.status !== 429 && n < 100; n++) response = await guess();
      server.clock.advance((await expectThrottled(response)) * 1000);
    }
    let worstHour = 0;
    for (const start of failedAt) {
      worstHour = Math.max(worstHour, failedAt.filter((t) => t >= start && t <= start + HOUR).length);
    }
    expect(failedAt.length).toBeGreaterThanOrEqual(100);
    expect(worstHour).toBeLessThanOrEqual(100);
  }, 120_000);

  it('B3 counts attempts per client address across usernames and refuses the right password there with 429', async () => {
    server = await startServer(kind, {
      throttle: { account: { max: 100, windowMs: HOUR }, address: { max: 5, windowMs: HOUR } },
    });
    await server.createUser('user', PASSWORD);
    for (let i = 0; i < 5; i++) expect(await loginStatus(server, `someone-${i}`, 'a wrong password')).toBe(400);
    await expectThrottled(await postLogin(server, 'user', PASSWORD));
    const rows = await server.tessera.database.db.selectFrom('throttle').select(['key', 'count']).execute();
    expect(rows).toContainEqual({ key: 'address:127.0.0.1', count: 6 });
  });

  it('B4 ignores X-Forwarded-For from a peer that is not a configured proxy', async () => {
    server = await startServer(kind, {
      throttle: { account: { max: 100, windowMs: HOUR }, address: { max: 3, windowMs: HOUR } },
    });
    await server.createUser('user', PASSWORD);
    for (let i = 0; i < 3; i++) {
      expect(await loginStatus(server, `guess${i}`, 'a wrong password', { 'x-forwarded-for': `198.51.100.${i}` })).toBe(
        400,
      );
    }
    await expectThrottled(await postLogin(server, 'user', PASSWORD, { 'x-forwarded-for': '203.0.113.9' }));
    const addresses = new Set((await auditRows(server)).map((row) => row.client_address));
    expect(addresses).toEqual(new Set([null, '127.0.0.1']));
  });

  it('B4 believes a configured proxy only for the first hop it does not vouch for, and keys IPv6 clients by /64', async () => {
    server = await startServer(kind, {
      trustedProxies: ['127.0.0.1', '10.0.0.2'],
      throttle: { account: { max: 100, windowMs: HOUR }, address: { max: 3, windowMs: HOUR } },
    });
    await server.createUser('user', PASSWORD);
    // The left-most hop is whatever the client wrote; the right-most untrusted one is the client.
    const forwarded = (client: string) => ({ 'x-forwarded-for': `192.0.2.66, ${client}, 10.0.0.2` });
    for (const [i, client] of [
      '2001:db8:1:2::a',
      '2001:db8:1:2:ffff:ffff:ffff:ffff',
      '2001:DB8:1:2:0:0:0:7',
    ].entries()) {
      expect(await loginStatus(server, `guess${i}`, 'a wrong password', forwarded(client))).toBe(400);
    }
    // Another address in the same /64 is the same client; the next /64 is another.
    await expectThrottled(await postLogin(server, 'user', PASSWORD, forwarded('2001:db8:1:2:1234::1')));
    expect(await loginStatus(server, 'user', PASSWORD, forwarded('2001:db8:1:3::a'))).toBe(200);
    expect(await loginStatus(server, 'user', PASSWORD, forwarded('192.0.2.66'))).toBe(200);

    const failed = (await auditRows(server)).filter((row) => row.event === 'login.failed');
    expect(failed.map((row) => row.client_address)).toEqual([
      '2001:db8:1:2::a',
      '2001:db8:1:2:ffff:ffff:ffff:ffff',
      '2001:DB8:1:2:0:0:0:7',
    ]);
    const keys = (await server.tessera.database.db.selectFrom('throttle').select('key').execute()).map((r) => r.key);
    expect(keys).toContain('address:2001:db8:1:2::/64');
    expect(keys).not.toContain('address:127.0.0.1');
  });

  it('B5 counts every path spelling that reaches the login on one counter, and no spelling logs in past the limit', async () => {
    server = await startServer(kind, {
      throttle: { account: { max: 3, windowMs: HOUR }, address: { max: 10_000, windowMs: HOUR } },
    });
    await server.createUser('user', PASSWORD);
    const reaching = [
      '/authentication/login/',
      '/authentication/login',
      '//authentication//login//',
      '/authentication//login/?next=/',
    ];
    const others = [
      '/Authentication/Login/',
      '/AUTHENTICATION/LOGIN',
      '/authentication/%2e/login/',
      '/authentication/%2E%2E/authentication/login/',
      '/authentication/./login/',
      '/authentication/x/../login/',
      '/%61uthentication/login/',
      '/authentication/login%2F',
      '/authentication/login;/',
      '/authentication/login/..;/',
      '/authentication/login%00/',
    ];
    const post = (path: string, username: string, password: string) =>
      rawRequest(server, {
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });

    const statuses: number[] = [];
    for (const path of [...reaching, ...others]) {
      const response = await post(path, 'user', 'a wrong password');
      expect([400, 404, 429], path).toContain(response.status);
      statuses.push(response.status);
    }
    expect(statuses.slice(0, reaching.length)).toEqual([400, 400, 400, 429]);
    const counted = statuses.filter((s) => s !== 404).length;
    const row = await server.tessera.database.db
      .selectFrom('throttle')
      .select('count')
      .where('key', '=', 'account:user')
      .executeTakeFirstOrThrow();
    expect(row.count).toBe(counted);

    for (const path of [...reaching, ...others]) {
      const response = await post(path, 'user', PASSWORD);
      expect([404, 429], path).toContain(response.status);
      expect(response.headers['set-cookie'], path).toBeUndefined();
    }
    for (const path of reaching) expect((await post(path, 'USER', PASSWORD)).status, path).toBe(429);
  });
});

describeEachDatabase('SECURITY B6: audit and logs', (kind) => {
  let server: TestServer;
  let logged: TestServer;
  let lines: string[];
  let closeLogged: () => Promise<void>;

  beforeEach(async () => {
    server = await startServer(kind, {
      throttle: { account: { max: 4, windowMs: HOUR }, address: { max: 10_000, windowMs: HOUR } },
    });
    // A second HTTP server over the same core, logging at the most verbose level into memory.
    lines = [];
    const logger = pino({ level: 'trace', base: null }, { write: (line: string) => void lines.push(line) });
    const http = createHttpServer(server.tessera, { logger });
    const address = await http.listen(0, '127.0.0.1');
    logged = { ...server, url: `http://127.0.0.1:${address.port}` };
    closeLogged = () => http.close();
  });
  afterEach(async () => {
    await closeLogged();
    await server.close();
  });

  it('B6 writes one audit row per login attempt — success, each kind of failure, throttled — with the client address', async () => {
    await server.createUser('user', PASSWORD);
    await server.tessera.users.create({ username: 'sleeper', password: PASSWORD, isActive: false }, { actorId: null });
    const before = (await auditRows(server)).length;

    expect(await loginStatus(logged, 'user', PASSWORD)).toBe(200);
    expect(await loginStatus(logged, 'ghost', PASSWORD)).toBe(400);
    expect(await loginStatus(logged, 'user', 'a wrong password')).toBe(400);
    expect(await loginStatus(logged, 'sleeper', PASSWORD)).toBe(400);
    expect(await loginStatus(logged, 'user', 'y'.repeat(1500))).toBe(400);
    const drf = await api(logged, 'POST', '/api-token-auth/', { body: { username: 'user', password: 'nope nope' } });
    expect(drf.status).toBe(400);
    const basic = await fetch(`${logged.url}/v1/me`, { headers: { authorization: basicHeader('user', 'nope nope') } });
    expect(basic.status).toBe(401);
    expect(await loginStatus(logged, 'user', PASSWORD)).toBe(429);

    const rows = (await auditRows(server)).slice(before);
    expect(rows.map((row) => [row.event, row.client_address, row.detail && JSON.parse(row.detail)])).toEqual([
      ['login.succeeded', '127.0.0.1', { via: 'session' }],
      ['login.failed', '127.0.0.1', { username: 'ghost', reason: 'unknown_user', via: 'session' }],
      ['login.failed', '127.0.0.1', { username: 'user', reason: 'wrong_password', via: 'session' }],
      ['login.failed', '127.0.0.1', { username: 'sleeper', reason: 'inactive', via: 'session' }],
      ['login.failed', '127.0.0.1', { reason: 'too_long', via: 'session' }],
      ['login.failed', '127.0.0.1', { username: 'user', reason: 'wrong_password', via: 'drf' }],
      ['login.failed', '127.0.0.1', { username: 'user', reason: 'wrong_password', via: 'basic' }],
      ['login.throttled', '127.0.0.1', { username: 'user', via: 'session' }],
    ]);
    for (const row of rows) expect(row.at).toBe(server.clock.now);
    expect(rows[0]).toMatchObject({ actor_id: 1, subject_id: 1 });
    expect(rows[2]).toMatchObject({ actor_id: null, subject_id: 1 });
  });

  it('B6 puts no password, session id, CSRF token or token in any log line or audit row', async () => {
    const secret = 'Vq7-unmistakable-secret-9Zx';
    const guess = 'Kp3-wrong-guess-never-logged-4Wy';
    await server.createUser('user', secret);
    let requests = 0;
    const send = async (response: Promise<Response>) => {
      requests++;
      const answer = await response;
      await answer.arrayBuffer();
      return answer;
    };

    const session = await login(logged, 'user', secret);
    requests++;
    await send(postLogin(logged, 'user', guess));
    await send(
      fetch(`${logged.url}/authentication/login/?password=${guess}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `username=user&password=${guess}`,
      }),
    );
    await send(
      fetch(`${logged.url}/authentication/login/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: `{"username": "user", "password": ${guess}}`,
      }),
    );
    requests++;
    const token = (await (
      await api(logged, 'POST', '/api-token-auth/', { body: { username: 'user', password: secret } })
    ).json()) as { token?: string };
    await send(fetch(`${logged.url}/v1/me`, { headers: { authorization: basicHeader('user', guess) } }));
    await send(fetch(`${logged.url}/v1/me`, { headers: { authorization: basicHeader('user', secret) } }));
    await send(
      api(logged, 'PATCH', '/users/users/1/', {
        session,
        body: { password: `${secret}-next`, current_password: guess },
      }),
    );
    await send(api(logged, 'GET', '/authentication/whoami/', { headers: { cookie: session.cookie } }));

    // One JSON line per request, written once the response has gone.
    await expect.poll(() => lines.length).toBe(requests);
    const audit = await auditRows(server);
    expect(audit.length).toBeGreaterThanOrEqual(8);
    const secrets = [
      secret,
      guess,
      session.sessionId,
      session.csrfToken,
      token.token ?? 'no token',
      basicHeader('user', secret).slice(6),
      basicHeader('user', guess).slice(6),
    ];
    for (const value of secrets) {
      expect(value.length).toBeGreaterThan(10);
      expect(
        lines.filter((line) => line.includes(value)),
        value,
      ).toEqual([]);
      expect(columnsContaining(audit, value), value).toEqual([]);
    }
    // The lines are there and say something: method, path without the query, status.
    expect(lines.map((line) => JSON.parse(line))).toContainEqual(
      expect.objectContaining({ method: 'POST', path: '/authentication/login/', status: 400, ip: '127.0.0.1' }),
    );
  });
});
