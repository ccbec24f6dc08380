import { afterEach, expect, it } from 'vitest';
import type { ConfigOverrides } from '../../src/config.js';
import { apiKeyOf, conjurAuthenticate } from '../helpers/conjur.js';
import { basicHeader, credentialRows } from '../helpers/credentials.js';
import { describeEachDatabase, PASSWORD, startServer, type TestServer } from '../helpers/harness.js';
import { decodeParts } from '../helpers/jwt.js';

/** SECURITY I1: every race is run with this many requests in flight at once. */
const PARALLEL = 50;

/** Attempts are counted before the password is checked: 50 parallel logins of one account need room. */
const ROOMY: ConfigOverrides = {
  throttle: { account: { max: 1000, windowMs: 60_000 }, address: { max: 1000, windowMs: 60_000 } },
};

const GENERATE_KEYS = '/api/method/frappe.core.doctype.user.user.generate_keys';
const LOGGED_USER = '/api/method/frappe.auth.get_logged_user';

function times<T>(count: number, make: (index: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: count }, (_, index) => make(index)));
}

async function statusOf(response: Promise<Response>): Promise<number> {
  const answered = await response;
  await answered.arrayBuffer();
  return answered.status;
}

describeEachDatabase('SECURITY I1: races, 50 parallel requests each', (kind) => {
  let server: TestServer;
  afterEach(() => server?.close());

  const start = async (overrides: ConfigOverrides = ROOMY) => {
    server = await startServer(kind, overrides);
    await server.createUser('admin', PASSWORD, { admin: true });
    await server.createUser('alice', PASSWORD);
  };

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('answers 50 parallel first logins at POST /api-token-auth/ with 200 and one key, backed by one token row', async () => {
    await start();
    const responses = await times(PARALLEL, () => post('/api-token-auth/', { username: 'alice', password: PASSWORD }));
    expect(responses.map((r) => r.status)).toEqual(Array(PARALLEL).fill(200));
    const keys = new Set(await Promise.all(responses.map(async (r) => ((await r.json()) as { token: string }).token)));
    expect(keys.size).toBe(1);
    expect(await credentialRows(server, 'drf')).toHaveLength(1);
    const [key = ''] = keys;
    expect(await statusOf(fetch(`${server.url}/api/whoami/`, { headers: { Authorization: `Token ${key}` } }))).toBe(
      200,
    );
  });

  it('stores exactly 50 failures for 50 parallel wrong passwords, and the limit then refuses at its exact count', async () => {
    // A limit above 50, so every racing attempt is checked and the stored count alone decides the next refusal.
    const LIMIT = 53;
    await start({ throttle: { account: { max: LIMIT, windowMs: 60_000 }, address: { max: 1000, windowMs: 60_000 } } });
    const login = (password: string) => statusOf(post('/authentication/login/', { username: 'alice', password }));

    const statuses = await times(PARALLEL, () => login('wrong password'));
    expect(statuses).toEqual(Array(PARALLEL).fill(400));
    const counter = await server.tessera.database.db
      .selectFrom('throttle')
      .select('count')
      .where('key', '=', 'account:alice')
      .executeTakeFirst();
    expect(counter?.count).toBe(PARALLEL);

    // A lost update would leave room for more than LIMIT − 50 further attempts.
    for (let i = PARALLEL; i < LIMIT; i++) expect(await login('wrong password')).toBe(400);
    expect(await login(PASSWORD)).toBe(429);
  });

  it('converges 50 parallel Frappe generate_keys on one api key whose final secret alone works, never a 500', async () => {
    await start();
    const admin = basicHeader('admin', PASSWORD);
    // One Basic check first, so the requests race on key generation rather than queue on argon2.
    expect(await statusOf(fetch(`${server.url}${LOGGED_USER}`, { headers: { Authorization: admin } }))).toBe(200);
    const responses = await times(PARALLEL, () => post(GENERATE_KEYS, { user: 'alice' }, { Authorization: admin }));
    expect(responses.map((r) => r.status)).toEqual(Array(PARALLEL).fill(200));
    const keys = await Promise.all(
      responses.map(async (r) => ((await r.json()) as { message: { api_key: string; api_secret: string } }).message),
    );
    expect(new Set(keys.map((k) => k.api_key)).size).toBe(1);
    expect(new Set(keys.map((k) => k.api_secret)).size).toBe(PARALLEL);
    expect(await credentialRows(server, 'api-key')).toHaveLength(1);

    const statuses = await Promise.all(
      keys.map((k) =>
        statusOf(
          fetch(`${server.url}${LOGGED_USER}`, { headers: { Authorization: `token ${k.api_key}:${k.api_secret}` } }),
        ),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(PARALLEL - 1);
  });

  it('converges 50 parallel Conjur API key rotations on one key: the one login returns, the only one that authenticates', async () => {
    await start();
    const rotate = () =>
      fetch(`${server.url}/api/authn/users/api_key`, {
        method: 'PUT',
        headers: { Authorization: basicHeader('alice', PASSWORD) },
      });
    const responses = await times(PARALLEL, rotate);
    expect(responses.map((r) => r.status)).toEqual(Array(PARALLEL).fill(200));
    const keys = await Promise.all(responses.map((r) => r.text()));
    expect(new Set(keys).size).toBe(PARALLEL);
    expect(await credentialRows(server, 'conjur')).toHaveLength(1);

    const statuses = await Promise.all(keys.map((key) => statusOf(conjurAuthenticate(server, 'alice', key))));
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(PARALLEL - 1);
    const winner = keys[statuses.indexOf(200)];
    expect(await apiKeyOf(server, 'alice', PASSWORD)).toBe(winner);
  });

  it('leaves one current signing key after 50 parallel rotations, and every token issued afterwards names it', async () => {
    await start();
    const rotated = await times(PARALLEL, () => server.tessera.keyring.rotate());
    expect(rotated).toHaveLength(PARALLEL);
    const current = await server.tessera.database.db
      .selectFrom('signing_keys')
      .select('fingerprint')
      .where('rotated_at', 'is', null)
      .execute();
    expect(current).toHaveLength(1);
    const winner = current[0]?.fingerprint;

    const kids = new Set<unknown>();
    for (let i = 0; i < 5; i++) {
      const response = await post('/v1/token', {}, { Authorization: basicHeader('alice', PASSWORD) });
      expect(response.status).toBe(200);
      const { access_token } = (await response.json()) as { access_token: string };
      kids.add(decodeParts(access_token).header.kid);
      expect(
        await statusOf(fetch(`${server.url}/v1/me`, { headers: { Authorization: `Bearer ${access_token}` } })),
      ).toBe(200);
    }
    expect([...kids]).toEqual([winner]);
  });

  it('gives no stale success after a revocation is answered, for a personal token and a JWT used by 50 clients at once', async () => {
    await start();
    const alice = basicHeader('alice', PASSWORD);
    const created = await post('/v1/credentials', { name: 'racing' }, { Authorization: alice });
    expect(created.status).toBe(201);
    const { id, token } = (await created.json()) as { id: number; token: string };
    const issued = await post('/v1/token', {}, { Authorization: `Bearer ${token}` });
    const { access_token: jwt } = (await issued.json()) as { access_token: string };
    // A second JWT bought with Basic (no credential row behind it) dies only through its jti.
    const loose = await post('/v1/token', {}, { Authorization: alice });
    const { access_token: looseJwt } = (await loose.json()) as { access_token: string };

    for (const [authorization, revoke] of [
      [
        `Bearer ${token}`,
        () => fetch(`${server.url}/v1/credentials/${id}`, { method: 'DELETE', headers: { Authorization: alice } }),
      ],
      [`Bearer ${looseJwt}`, () => post('/v1/token/revoke', { token: looseJwt }, { Authorization: alice })],
    ] as const) {
      const seen = await hammerAcrossRevocation(server.url, authorization, revoke);
      expect(seen.revokeStatus).toBeLessThan(300);
      expect(seen.before.filter((s) => s !== 200 && s !== 401)).toEqual([]);
      expect(seen.after.length).toBeGreaterThanOrEqual(PARALLEL);
      expect(new Set(seen.after)).toEqual(new Set([401]));
    }
    // The JWT bought with the personal token died with it.
    expect(await statusOf(fetch(`${server.url}/v1/me`, { headers: { Authorization: `Bearer ${jwt}` } }))).toBe(401);
  });
});

/**
 * 50 clients call `GET /v1/me` in a loop while `revoke` runs. Answers to requests sent before
 * the revocation was answered may go either way; every request sent after must be refused.
 */
async function hammerAcrossRevocation(
  url: string,
  authorization: string,
  revoke: () => Promise<Response>,
): Promise<{ before: number[]; after: number[]; revokeStatus: number }> {
  let revokedAt = Number.POSITIVE_INFINITY;
  const before: number[] = [];
  const after: number[] = [];
  let afterSent = 0;
  let warmed: () => void = () => undefined;
  const warm = new Promise<void>((resolve) => {
    warmed = resolve;
  });
  const client = async () => {
    // Each client keeps going until it has had two answers to requests sent after the revocation.
    let mine = 0;
    while (mine < 2) {
      const sentAt = performance.now();
      const status = await statusOf(fetch(`${url}/v1/me`, { headers: { Authorization: authorization } }));
      if (sentAt > revokedAt) {
        after.push(status);
        mine++;
        afterSent++;
      } else {
        before.push(status);
        if (before.length === PARALLEL) warmed();
      }
    }
  };
  const clients = Array.from({ length: PARALLEL }, client);
  // Revoke only once the token is in use on every client: the revocation meets a warm cache.
  await warm;
  const response = await revoke();
  await response.arrayBuffer();
  revokedAt = performance.now();
  await Promise.all(clients);
  expect(afterSent).toBe(after.length);
  return { before, after, revokeStatus: response.status };
}
