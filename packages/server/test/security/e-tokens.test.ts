import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { digestSecret } from '../../src/crypto/secrets.js';
import { cliEnv, runCli, startServe } from '../helpers/cli.js';
import {
  apiKeyOf,
  CONJUR_API_KEY_SHAPE,
  conjurAuthenticate,
  conjurLogin,
  tokenFor,
  tokenHeader,
  whoamiStatusWith,
} from '../helpers/conjur.js';
import { auditRows, basicHeader, columnsContaining, credentialRows } from '../helpers/credentials.js';
import {
  describeEachDatabase,
  PASSWORD,
  type Session,
  startServer,
  TEST_MASTER_KEY,
  type TestServer,
} from '../helpers/harness.js';
import { decodeParts } from '../helpers/jwt.js';
import { bearer, type Credential, nativeCalls, threeUsers } from '../helpers/native-api.js';
import { api } from '../helpers/requests.js';

/** SECURITY E (opaque tokens and API keys): each test is named by the requirement it proves. */

const GENERATE_KEYS = '/api/method/frappe.core.doctype.user.user.generate_keys';
const LOGGED_USER = '/api/method/frappe.auth.get_logged_user';
const NO_CREDENTIALS = 'Authentication credentials were not provided.';

/** Asserts the answer every refused header credential gets: 401, a JSON detail, a challenge. */
async function expectRefused(response: Response, label: string, detail?: string): Promise<void> {
  const text = await response.text();
  expect(response.status, `${label}: ${text}`).toBe(401);
  expect(response.headers.get('www-authenticate'), label).toMatch(/\S/);
  const body = JSON.parse(text) as { detail?: unknown };
  expect(typeof body.detail, label).toBe('string');
  if (detail !== undefined) expect(body.detail, label).toBe(detail);
}

describeEachDatabase('SECURITY E: opaque tokens and API keys', (kind) => {
  let server: TestServer;
  let admin: Session;
  let alice: Session;
  const ADMIN_ID = 1;
  const ALICE_ID = 2;
  const BOB_ID = 3;

  beforeEach(async () => {
    ({ server, admin, alice } = await threeUsers(kind, { aliceEmail: 'alice@example.com' }));
  });
  afterEach(() => server.close());

  const { create, made, meOf, meStatus, personalRows } = nativeCalls(() => server);

  /** A DRF token through `POST /api-token-auth/`. */
  const drfToken = async (username: string) => {
    const response = await api(server, 'POST', '/api-token-auth/', { body: { username, password: PASSWORD } });
    expect(response.status).toBe(200);
    return ((await response.json()) as { token: string }).token;
  };

  /** A user's Frappe key pair, made by the admin through `generate_keys`. */
  const keysFor = async (user: string) => {
    const response = await api(server, 'POST', GENERATE_KEYS, { session: admin, body: { user } });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    return (JSON.parse(text) as { message: { api_key: string; api_secret: string } }).message;
  };

  it('E1 stores every opaque secret as its SHA-256 digest, and no column or audit row holds one in plaintext', async () => {
    const personal = await made(alice, { name: 'ci' });
    const drf = await drfToken('alice');
    const { api_key: apiKey, api_secret: apiSecret } = await keysFor('alice');
    const conjurKey = await apiKeyOf(server, 'alice', PASSWORD);
    // At least 128 random bits each: 240, 160, 160 and 256 bits by their documented shapes.
    expect(personal.token).toMatch(/^tsr_[A-Za-z0-9_-]{40}$/);
    expect(drf).toMatch(/^[0-9a-f]{40}$/);
    expect(apiSecret).toMatch(/^[0-9a-f]{40}$/);
    expect(conjurKey).toMatch(CONJUR_API_KEY_SHAPE);

    const rows = await credentialRows(server);
    const audit = await auditRows(server);
    for (const secret of [personal.token, drf, apiSecret, conjurKey, alice.sessionId]) {
      expect(columnsContaining(rows, secret), secret).toEqual([]);
      expect(columnsContaining(audit, secret), secret).toEqual([]);
    }
    const byKind = (k: string) => rows.filter((row) => row.kind === k && row.user_id === ALICE_ID);
    expect(byKind('personal').map((row) => row.lookup)).toEqual([digestSecret(personal.token)]);
    expect(byKind('drf').map((row) => row.lookup)).toEqual([digestSecret(drf)]);
    expect(byKind('api-key').map((row) => [row.lookup, row.secret_digest])).toEqual([
      [apiKey, digestSecret(apiSecret)],
    ]);
    expect(rows.some((row) => row.lookup === digestSecret(conjurKey))).toBe(true);
    expect(rows.some((row) => row.lookup === digestSecret(alice.sessionId))).toBe(true);
    // Each one still works, so the digests above are what the server looks them up by.
    expect((await meOf(bearer(personal.token))).credential.kind).toBe('personal');
    expect((await meOf({ authorization: `Token ${drf}` })).user.username).toBe('alice');
    expect((await meOf({ authorization: `token ${apiKey}:${apiSecret}` })).user.username).toBe('alice');
    expect((await conjurAuthenticate(server, 'alice', conjurKey)).status).toBe(200);
  });

  it('E1 shows a personal token only in the answer that made it, never in a listing or another answer', async () => {
    const personal = await made(alice, { name: 'shown once' });
    for (const path of ['/v1/credentials', '/v1/me', `/v1/credentials?user=${ALICE_ID}`]) {
      for (const as of [{ session: alice }, { session: admin }, { headers: bearer(personal.token) }]) {
        const response = await api(server, 'GET', path, as);
        const text = await response.text();
        expect(text, path).not.toContain(personal.token);
        expect(text, path).not.toContain(personal.token.slice(10));
      }
    }
    const listed = (await (await api(server, 'GET', '/v1/credentials', { session: alice })).json()) as Credential[];
    const entry = listed.find((c) => c.id === personal.id);
    expect(entry?.prefix).toBe(personal.token.slice(0, 10));
    expect(entry).not.toHaveProperty('token');
  });

  it('E1 hands the DRF per-user token out again at each login, the documented exception, from a sealed copy', async () => {
    const first = await drfToken('alice');
    expect(await drfToken('alice')).toBe(first);
    const [row] = await credentialRows(server, 'drf');
    expect(row?.lookup).toBe(digestSecret(first));
    expect(row?.sealed).toEqual(expect.any(String));
    expect(row?.sealed).not.toContain(first);
    expect(Buffer.from(String(row?.sealed), 'base64').toString('latin1')).not.toContain(first);
  });

  it('E2 refuses Token with no key, or with more than one part, with 401 and a Token challenge', async () => {
    const drf = await drfToken('alice');
    const cases: Array<[string, string]> = [
      ['Token', 'Invalid token header. No credentials provided.'],
      ['Token ', 'Invalid token header. No credentials provided.'],
      ['Token a b', 'Invalid token header. Token string should not contain spaces.'],
      [`Token ${drf} ${drf}`, 'Invalid token header. Token string should not contain spaces.'],
      [`Token ${drf} x`, 'Invalid token header. Token string should not contain spaces.'],
    ];
    for (const [value, detail] of cases) {
      for (const path of ['/api/whoami/', '/v1/me']) {
        const response = await fetch(`${server.url}${path}`, { headers: { authorization: value } });
        expect(response.headers.get('www-authenticate'), value).toMatch(/^Token\b/);
        await expectRefused(response, `${value} on ${path}`, detail);
      }
    }
    expect(await meStatus({ authorization: `Token ${drf}` })).toBe(200);
  });

  it('E2 never accepts a credential in the query string', async () => {
    const drfKey = await drfToken('alice');
    const personal = (await made(alice, { name: 'query' })).token;
    const { api_key: apiKey, api_secret: apiSecret } = await keysFor('alice');
    const jwtResponse = await api(server, 'POST', '/v1/token', { headers: bearer(personal) });
    const { access_token: jwt } = (await jwtResponse.json()) as { access_token: string };
    const paths = [
      `/v1/me?token=${personal}`,
      `/v1/me?access_token=${personal}`,
      `/v1/me?access_token=${jwt}`,
      `/v1/me?api_key=${apiKey}&api_secret=${apiSecret}`,
      `/v1/me?authorization=${encodeURIComponent(`Bearer ${personal}`)}`,
      `/v1/me?sessionid=${alice.sessionId}`,
      `/api/whoami/?token=${drfKey}`,
      `/api/whoami/?auth_token=${drfKey}`,
      `/api/whoami/?key=${drfKey}`,
      `${LOGGED_USER}?api_key=${apiKey}&api_secret=${apiSecret}`,
      `${LOGGED_USER}?token=${apiKey}:${apiSecret}`,
      `/authentication/whoami/?sessionid=${alice.sessionId}`,
    ];
    for (const path of paths) {
      const response = await fetch(`${server.url}${path}`);
      await expectRefused(response, path, NO_CREDENTIALS);
    }
  });

  it('E3 splits key:secret on the first colon: a secret with more after it is another, wrong secret', async () => {
    const { api_key: apiKey, api_secret: apiSecret } = await keysFor('alice');
    expect((await meOf({ authorization: `token ${apiKey}:${apiSecret}` })).user.username).toBe('alice');
    expect((await meOf({ authorization: basicHeader(apiKey, apiSecret) })).user.username).toBe('alice');
    for (const secret of [`${apiSecret}:`, `${apiSecret}:${apiSecret}`, `:${apiSecret}`]) {
      for (const authorization of [`token ${apiKey}:${secret}`, basicHeader(apiKey, secret)]) {
        const response = await fetch(`${server.url}/v1/me`, { headers: { authorization } });
        await expectRefused(response, authorization);
      }
    }
    // For a password the same rule lets a colon in: everything after the first one is the password.
    await server.createUser('carol', 'pass:with:colons:1');
    expect((await meOf({ authorization: basicHeader('carol', 'pass:with:colons:1') })).user.username).toBe('carol');
  });

  it('E3 refuses every credential of a user whose active flag is cleared, even while the rows stand', async () => {
    const drf = await drfToken('alice');
    const personal = (await made(alice, { name: 'ci' })).token;
    const { api_key: apiKey, api_secret: apiSecret } = await keysFor('alice');
    const conjurKey = await apiKeyOf(server, 'alice', PASSWORD);
    const headers = [
      { authorization: `Token ${drf}` },
      bearer(personal),
      { authorization: `token ${apiKey}:${apiSecret}` },
      { authorization: basicHeader(apiKey, apiSecret) },
      { authorization: basicHeader('alice', PASSWORD) },
      { cookie: alice.cookie },
    ];
    for (const h of headers) expect(await meStatus(h), JSON.stringify(h)).toBe(200);
    // The flag cleared straight in the database: the state between Users.update's two
    // statements. Past the one-second credential cache, nothing of alice's may pass.
    await server.tessera.database.db.updateTable('users').set({ is_active: 0 }).where('id', '=', ALICE_ID).execute();
    server.clock.advance(1_001);
    expect((await credentialRows(server)).filter((r) => r.user_id === ALICE_ID).length).toBeGreaterThan(3);
    for (const h of headers) {
      const response = await fetch(`${server.url}/v1/me`, { headers: h });
      await expectRefused(response, JSON.stringify(h));
    }
    expect((await conjurAuthenticate(server, 'alice', conjurKey)).status).toBe(401);
  });

  it('E3 never falls back to anonymous: a refused credential is a 401, not a guest or an empty user', async () => {
    const bad = [`token ${'a'.repeat(16)}:${'b'.repeat(40)}`, `Token ${'0'.repeat(40)}`, 'Bearer tsr_x', 'Weird x'];
    for (const authorization of bad) {
      for (const path of [LOGGED_USER, '/api/whoami/', '/v1/me', '/authentication/whoami/', '/api/authn/whoami']) {
        const response = await fetch(`${server.url}${path}`, { headers: { authorization } });
        const text = await response.text();
        expect(response.status, `${authorization} on ${path}`).toBe(401);
        expect(text).not.toMatch(/Guest|"username":|"message":/);
      }
    }
  });

  it('E4 lets no header or parameter choose the credential store: Frappe-Authorization-Source and the like are ignored', async () => {
    const drf = await drfToken('alice');
    const { api_key: apiKey, api_secret: apiSecret } = await keysFor('alice');
    const choosers = [
      { 'frappe-authorization-source': 'Password' },
      { 'frappe-authorization-source': 'api_key' },
      { 'x-auth-source': 'session' },
      { 'x-authorization-source': 'basic' },
    ];
    for (const chooser of choosers) {
      const label = JSON.stringify(chooser);
      // A valid credential is still taken as what its form says it is.
      expect((await meOf({ ...chooser, authorization: `Token ${drf}` })).credential.kind, label).toBe('drf');
      expect((await meOf({ ...chooser, authorization: `token ${apiKey}:${apiSecret}` })).credential.kind).toBe(
        'api-key',
      );
      // A Basic header whose left side is an api key is a key pair: alice's password is no secret for it.
      const asPassword = await fetch(`${server.url}/v1/me`, {
        headers: { ...chooser, authorization: basicHeader(apiKey, PASSWORD) },
      });
      await expectRefused(asPassword, label);
      // A DRF-shaped token is never looked up as a personal token or a session, whatever is asked.
      const wrongStore = await fetch(`${server.url}/v1/me?source=session`, {
        headers: { ...chooser, cookie: alice.cookie, authorization: `Token ${'0'.repeat(40)}` },
      });
      await expectRefused(wrongStore, label, 'Invalid token.');
    }
  });

  it("E5 never makes a token for someone else from a non-admin's user field", async () => {
    for (const user of [BOB_ID, String(BOB_ID), 'bob', ADMIN_ID]) {
      const response = await create(alice, { name: `aimed at ${user}`, user });
      const text = await response.text();
      expect([201, 400, 403], text).toContain(response.status);
      if (response.status === 201) {
        const { token } = JSON.parse(text) as { token: string };
        const me = await meOf(bearer(token));
        expect(me.user.username).toBe('alice');
      }
    }
    // Through a personal token as well.
    const own = await made(alice, { name: 'own' });
    const viaToken = await create(bearer(own.token), { name: 'aimed at bob', user: BOB_ID });
    expect([201, 400, 403]).toContain(viaToken.status);
    expect(await personalRows(BOB_ID)).toEqual([]);
    expect(await personalRows(ADMIN_ID)).toEqual([]);
  });

  it('E5 lets a token make tokens only within its own scopes', async () => {
    const parent = await made(alice, { name: 'parent', scopes: ['credentials', 'read'] });
    expect(parent.scopes).toEqual(['credentials', 'read']);
    const me = await meOf(bearer(parent.token));
    expect(me.scopes).toEqual(['credentials', 'read']);

    const narrower = await made(bearer(parent.token), { name: 'reader', scopes: ['read'] });
    expect(narrower.scopes).toEqual(['read']);
    const inherited = await made(bearer(parent.token), { name: 'same' });
    expect(inherited.scopes).toEqual(['credentials', 'read']);

    for (const scopes of [['write'], ['read', 'write'], ['admin']]) {
      const wider = await create(bearer(parent.token), { name: 'wider', scopes });
      expect(wider.status, scopes.join()).toBe(403);
      expect(await wider.json()).toEqual({ detail: expect.any(String) });
    }
    expect((await personalRows(ALICE_ID)).map((r) => r.name).sort()).toEqual(['parent', 'reader', 'same']);

    // A full-authority credential may make any scopes; bad scope names are a 400.
    expect((await made(alice, { name: 'writer', scopes: ['write'] })).scopes).toEqual(['write']);
    const badName = await create(alice, { name: 'bad', scopes: ['Not A Scope'] });
    expect(badName.status).toBe(400);
    expect(await badName.json()).toHaveProperty('scopes');
  });

  it('E5 refuses a scope-limited token to generate unlimited API keys', async () => {
    const limited = await made(admin, { name: 'limited', scopes: ['credentials', 'read'] });
    const response = await api(server, 'POST', '/api/method/frappe.core.doctype.user.user.generate_keys', {
      headers: bearer(limited.token),
      body: { user: 'admin' },
    });
    expect(response.status).toBe(403);
    expect(await response.text()).not.toMatch(/api_secret/);
    const keys = await server.tessera.database.db.selectFrom('credentials').select('id').where('kind', '=', 'api-key');
    expect(await keys.execute()).toEqual([]);
    // The same admin without the limit may.
    const full = await made(admin, { name: 'full' });
    const allowed = await api(server, 'POST', '/api/method/frappe.core.doctype.user.user.generate_keys', {
      headers: bearer(full.token),
      body: { user: 'alice' },
    });
    expect(allowed.status).toBe(200);
  });

  it('E6 refuses a token from the moment it expires: expires_in 60 is dead at exactly 60 s', async () => {
    const token = await made(alice, { name: 'minute', expires_in: 60 });
    expect(token.expires_at).toBe(new Date(server.clock.now + 60_000).toISOString());
    server.clock.advance(59_999);
    expect(await meStatus(bearer(token.token))).toBe(200);
    server.clock.advance(1);
    const expired = await fetch(`${server.url}/v1/me`, { headers: bearer(token.token) });
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(await expired.json()).toEqual({ detail: 'Invalid token.' });
    const list = (await (await api(server, 'GET', '/v1/credentials', { session: alice })).json()) as Credential[];
    expect(list.map((c) => c.id)).not.toContain(token.id);
  });

  it('E6 refuses a token whose expiry is the present moment, already at its first use', async () => {
    const { token } = await server.tessera.issuer.personalToken(
      { userId: ALICE_ID, name: 'born expired', expiresAt: server.clock.now, scopes: null },
      { actorId: null },
    );
    const response = await fetch(`${server.url}/v1/me`, { headers: bearer(token) });
    await expectRefused(response, 'expires_at = now', 'Invalid token.');
    const { token: later } = await server.tessera.issuer.personalToken(
      { userId: ALICE_ID, name: 'one more ms', expiresAt: server.clock.now + 1, scopes: null },
      { actorId: null },
    );
    expect(await meStatus(bearer(later))).toBe(200);
  });

  it('E7 answers a Conjur login with the API key alone as text/plain', async () => {
    for (const path of ['/api/authn/users/login', '/authn/default/login']) {
      const response = await conjurLogin(server, basicHeader('alice', PASSWORD), path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type'), path).toMatch(/^text\/plain(;|$)/);
      expect(await response.text(), path).toMatch(CONJUR_API_KEY_SHAPE);
    }
  });

  it('E7 refuses to log in to Conjur with a JWT, a DRF token or a personal token', async () => {
    const personal = (await made(alice, { name: 'ci' })).token;
    const jwtResponse = await api(server, 'POST', '/v1/token', { headers: bearer(personal) });
    const { access_token: jwt } = (await jwtResponse.json()) as { access_token: string };
    for (const authorization of [`Bearer ${jwt}`, `Token ${await drfToken('alice')}`, `Bearer ${personal}`]) {
      const response = await conjurLogin(server, authorization);
      expect(response.status, authorization).toBe(401);
      expect(await response.text()).toBe('');
    }
  });

  it('E7 refuses to log in with an access token instead of Basic credentials', async () => {
    const key = await apiKeyOf(server, 'alice', PASSWORD);
    const token = await tokenFor(server, 'alice', key);
    for (const path of ['/api/authn/users/login', '/authn/default/login']) {
      const response = await conjurLogin(server, tokenHeader(token), path);
      expect(response.status, path).toBe(401);
      expect(await response.text(), path).toBe('');
    }
    expect(await whoamiStatusWith(server, token)).toBe(200);
  });

  it('E8 refuses to rotate the API key with an access token, and the key stays', async () => {
    const key = await apiKeyOf(server, 'alice', PASSWORD);
    const token = await tokenFor(server, 'alice', key);
    for (const path of ['/api/authn/users/api_key', '/authn/default/api_key']) {
      const response = await fetch(`${server.url}${path}`, {
        method: 'PUT',
        headers: { authorization: tokenHeader(token) },
      });
      expect(response.status, path).toBe(401);
      expect(await response.text(), path).toBe('');
    }
    expect((await conjurAuthenticate(server, 'alice', key)).status).toBe(200);
    expect(await apiKeyOf(server, 'alice', PASSWORD)).toBe(key);
  });

  it('E8 refuses to rotate the Conjur API key with a JWT, a personal token or no credentials', async () => {
    const key = await apiKeyOf(server, 'alice', PASSWORD);
    const personal = (await made(alice, { name: 'ci' })).token;
    const jwtResponse = await api(server, 'POST', '/v1/token', { headers: bearer(personal) });
    const { access_token: jwt } = (await jwtResponse.json()) as { access_token: string };
    for (const headers of [bearer(jwt), bearer(personal), {} as Record<string, string>, { cookie: alice.cookie }]) {
      const response = await fetch(`${server.url}/api/authn/users/api_key`, { method: 'PUT', headers });
      expect(response.status, JSON.stringify(headers)).toBe(401);
    }
    expect(await apiKeyOf(server, 'alice', PASSWORD)).toBe(key);
  });

  it('E9 takes iat and exp of a JWT and of a Conjur JWS from one clock reading', async () => {
    await server.close();
    server = await startServer(kind, { conjur: { ttlMs: 480_000, format: 'jws', accounts: ['default'] } });
    await server.createUser('alice', PASSWORD);
    const conjurKey = await apiKeyOf(server, 'alice', PASSWORD);
    const personal = await server.tessera.issuer.personalToken(
      { userId: 1, name: 'ci', expiresAt: null, scopes: null },
      { actorId: null },
    );
    // Every reading of this clock is a second later than the one before: two readings would
    // put exp one second further from iat than the lifetime.
    let now = server.clock.now;
    Object.defineProperty(server.clock, 'now', {
      configurable: true,
      get: () => {
        now += 1_000;
        return now;
      },
    });
    const jwtResponse = await api(server, 'POST', '/v1/token', { headers: bearer(personal.token) });
    const { access_token: jwt } = (await jwtResponse.json()) as { access_token: string };
    const claims = decodeParts(jwt).payload;
    expect(Number(claims.exp) - Number(claims.iat)).toBe(300);

    const token = await tokenFor(server, 'alice', conjurKey);
    const payload = JSON.parse(Buffer.from(String(token.payload), 'base64url').toString('utf8')) as {
      iat: number;
      exp: number;
    };
    expect(payload.exp - payload.iat).toBe(480);
  });
});

describe('SECURITY E9: the Conjur token lifetime setting', () => {
  let cwd: string;
  beforeEach(() => {
    cwd = mkdtempSync(join(tmpdir(), 'tessera-e9-'));
  });
  afterEach(() => rmSync(cwd, { recursive: true, force: true }));

  /** The `exp - iat` of a JWS-format Conjur token from `tessera serve` with this TTL setting. */
  async function lifetimeWith(ttl: string | undefined): Promise<number> {
    const database = join(cwd, `e9-${ttl ?? 'default'}.db`);
    const env = cliEnv({
      TESSERA_DATABASE_URL: database,
      TESSERA_MASTER_KEY: TEST_MASTER_KEY,
      TESSERA_CONJUR_TOKEN_FORMAT: 'jws',
      TESSERA_LOG_LEVEL: 'silent',
      ...(ttl !== undefined && { TESSERA_CONJUR_TOKEN_TTL: ttl }),
    });
    const made = await runCli(['user', 'create', 'donna', '--password-stdin'], { cwd, env, input: `${PASSWORD}\n` });
    expect(made.code, made.stderr).toBe(0);
    const serve = await startServe([], { cwd, env: { ...env, TESSERA_LOG_LEVEL: 'info' } });
    try {
      const login = await fetch(`${serve.url}/api/authn/users/login`, {
        headers: { authorization: basicHeader('donna', PASSWORD) },
      });
      const apiKey = await login.text();
      expect(login.status, apiKey).toBe(200);
      const response = await fetch(`${serve.url}/api/authn/users/donna/authenticate`, { method: 'POST', body: apiKey });
      const token = (await response.json()) as { payload: string };
      const claims = JSON.parse(Buffer.from(token.payload, 'base64url').toString('utf8')) as {
        iat: number;
        exp: number;
      };
      return claims.exp - claims.iat;
    } finally {
      serve.kill();
      await serve.exited(10_000);
    }
  }

  it('E9 defaults the signed-token lifetime to 480 s and clamps a setting to 1 min – 1 h', async () => {
    expect(await lifetimeWith(undefined)).toBe(480);
    expect(await lifetimeWith('10s')).toBe(60);
    expect(await lifetimeWith('2h')).toBe(3600);
    expect(await lifetimeWith('15m')).toBe(900);
  }, 60_000);
});
