import { createHash } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ConfigOverrides } from '../../src/config.js';
import { conjurAuthenticate, tokenFor, tokenHeader } from '../helpers/conjur.js';
import { auditRows, basicHeader, columnsContaining, credentialRows } from '../helpers/credentials.js';
import {
  describeEachDatabase,
  login,
  PASSWORD,
  type Session,
  setCookies,
  startServer,
  type TestServer,
} from '../helpers/harness.js';
import { api, sessionRows, whoamiStatus } from '../helpers/requests.js';

const MINUTE = 60_000;

/** A `Set-Cookie` line's attributes, names lower-cased, after the name=value pair. */
function attributes(raw: string): Map<string, string> {
  const [, ...rest] = raw.split(';').map((part) => part.trim());
  return new Map(
    rest.map((attribute) => {
      const eq = attribute.indexOf('=');
      return eq < 0 ? [attribute.toLowerCase(), ''] : [attribute.slice(0, eq).toLowerCase(), attribute.slice(eq + 1)];
    }),
  );
}

describeEachDatabase('SECURITY C: sessions', (kind) => {
  let server: TestServer;
  let userId: number;

  const restart = async (overrides: ConfigOverrides = {}) => {
    await server?.close();
    server = await startServer(kind, overrides);
    userId = (await server.createUser('user', PASSWORD, { admin: true })).id;
  };
  beforeEach(() => restart());
  afterEach(() => server.close());

  const loginResponse = (headers: Record<string, string> = {}) =>
    api(server, 'POST', '/authentication/login/', { body: { username: 'user', password: PASSWORD }, headers });

  it('C1 issues 256-bit session ids that never repeat, and stores only their SHA-256 digest', async () => {
    const sessions: Session[] = [];
    for (let i = 0; i < 12; i++) sessions.push(await login(server, 'user', PASSWORD));
    const ids = sessions.map((s) => s.sessionId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(id, 'base64url')).toHaveLength(32);
    }
    // Over 12 × 256 bits every bit position takes both values unless the source is broken.
    const bits = new Set<string>();
    for (const id of ids) {
      Buffer.from(id, 'base64url').forEach((byte, i) => {
        for (let b = 0; b < 8; b++) bits.add(`${i * 8 + b}:${(byte >> b) & 1}`);
      });
    }
    expect(bits.size).toBeGreaterThan(2 * 256 - 8);

    const rows = await credentialRows(server, 'session');
    expect(rows).toHaveLength(12);
    expect(rows.map((row) => row.lookup).sort()).toEqual(
      ids.map((id) => createHash('sha256').update(id).digest('hex')).sort(),
    );
    const everything = [...rows, ...(await auditRows(server))];
    for (const session of sessions) {
      expect(columnsContaining(everything, session.sessionId)).toEqual([]);
      expect(columnsContaining(everything, session.csrfToken)).toEqual([]);
    }
  });

  it('C2 issues a new session id at every login and ends the session presented at it', async () => {
    const first = await login(server, 'user', PASSWORD);
    const second = await loginResponse({ cookie: first.cookie });
    expect(second.status).toBe(200);
    const issued = setCookies(second).get('sessionid')?.value;
    expect(issued).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(issued).not.toBe(first.sessionId);
    expect(await whoamiStatus(server, first)).toBe(401);
    const rows = await credentialRows(server, 'session');
    expect(rows.map((row) => row.lookup)).toEqual([
      createHash('sha256')
        .update(issued ?? '')
        .digest('hex'),
    ]);
  });

  it('C2 never adopts a session id the server did not issue', async () => {
    const planted = 'A'.repeat(43);
    const response = await loginResponse({ cookie: `sessionid=${planted}` });
    expect(response.status).toBe(200);
    const issued = setCookies(response).get('sessionid')?.value;
    expect(issued).not.toBe(planted);
    const rows = await credentialRows(server, 'session');
    expect(rows.map((row) => row.lookup)).not.toContain(createHash('sha256').update(planted).digest('hex'));
    expect(rows).toHaveLength(1);
    const withPlanted = await fetch(`${server.url}/authentication/whoami/`, {
      headers: { cookie: `sessionid=${planted}` },
    });
    expect(withPlanted.status).toBe(401);
  });

  it('C3 sets the session cookie HttpOnly, both cookies SameSite=Lax and Path=/ with no Domain, and not Secure over plain HTTP', async () => {
    const response = await loginResponse();
    const cookies = setCookies(response);
    const session = attributes(cookies.get('sessionid')?.raw ?? '');
    const csrf = attributes(cookies.get('csrftoken')?.raw ?? '');
    for (const attrs of [session, csrf]) {
      expect(attrs.get('path')).toBe('/');
      expect(attrs.get('samesite')).toBe('Lax');
      expect(attrs.has('domain')).toBe(false);
      expect(attrs.has('secure')).toBe(false);
    }
    expect(session.has('httponly')).toBe(true);
    // Scripts read the CSRF token to echo it; that is its purpose.
    expect(csrf.has('httponly')).toBe(false);
  });

  it('C3 marks both cookies Secure under HTTPS through a trusted proxy, and not when an untrusted peer claims HTTPS', async () => {
    const untrusted = setCookies(await loginResponse({ 'x-forwarded-proto': 'https' }));
    for (const { raw } of untrusted.values()) expect(attributes(raw).has('secure')).toBe(false);

    await restart({ trustedProxies: ['127.0.0.1'] });
    const response = await loginResponse({ 'x-forwarded-proto': 'https' });
    const session = await login(server, 'user', PASSWORD);
    for (const { raw } of setCookies(response).values()) {
      expect(attributes(raw).has('secure'), raw).toBe(true);
      expect(attributes(raw).get('samesite')).toBe('Lax');
    }
    const logout = await api(server, 'POST', '/authentication/logout/', {
      session,
      headers: { 'x-forwarded-proto': 'https', referer: `https://${new URL(server.url).host}/` },
    });
    expect(logout.status).toBe(200);
    for (const { raw } of setCookies(logout).values()) expect(attributes(raw).has('secure'), raw).toBe(true);
  });

  it('C3 takes configured cookie names, and a __Host- name makes the cookie Secure, host-only and Path=/', async () => {
    await restart({ session: { cookieName: '__Host-sessionid', csrfCookieName: '__Host-csrftoken' } });
    const response = await loginResponse();
    const cookies = setCookies(response);
    expect([...cookies.keys()].sort()).toEqual(['__Host-csrftoken', '__Host-sessionid']);
    for (const { raw } of cookies.values()) {
      const attrs = attributes(raw);
      expect(attrs.has('secure')).toBe(true);
      expect(attrs.get('path')).toBe('/');
      expect(attrs.has('domain')).toBe(false);
    }
    const id = cookies.get('__Host-sessionid')?.value ?? '';
    const byNewName = await fetch(`${server.url}/authentication/whoami/`, {
      headers: { cookie: `__Host-sessionid=${id}` },
    });
    expect(byNewName.status).toBe(200);
    const byOldName = await fetch(`${server.url}/authentication/whoami/`, { headers: { cookie: `sessionid=${id}` } });
    expect(byOldName.status).toBe(401);
    expect(byOldName.headers.get('www-authenticate')).toContain('Session realm="tessera", cookie="__Host-sessionid"');
  });

  it('C4 ends a session unused for the idle time on the server, whatever the client still holds', async () => {
    await restart({ session: { idleMs: 10 * MINUTE, absoluteMs: 60 * MINUTE } });
    const used = await login(server, 'user', PASSWORD);
    const unused = await login(server, 'user', PASSWORD);
    server.clock.advance(10 * MINUTE - 1);
    expect(await whoamiStatus(server, used)).toBe(200);
    server.clock.advance(1);
    expect(await whoamiStatus(server, unused)).toBe(401);
    expect(await whoamiStatus(server, used)).toBe(200);
    expect(await sessionRows(server, userId)).toHaveLength(1);
    server.clock.advance(10 * MINUTE);
    expect(await whoamiStatus(server, used)).toBe(401);
    expect(await sessionRows(server, userId)).toHaveLength(0);
  });

  it('C4 ends a session at its absolute lifetime however often it is used', async () => {
    await restart({ session: { idleMs: 10 * MINUTE, absoluteMs: 60 * MINUTE } });
    const session = await login(server, 'user', PASSWORD);
    for (let elapsed = 5 * MINUTE; elapsed < 60 * MINUTE; elapsed += 5 * MINUTE) {
      server.clock.advance(5 * MINUTE);
      expect(await whoamiStatus(server, session), `${elapsed / MINUTE} min`).toBe(200);
    }
    server.clock.advance(5 * MINUTE - 1);
    expect(await whoamiStatus(server, session)).toBe(200);
    server.clock.advance(1);
    expect(await whoamiStatus(server, session)).toBe(401);
    expect(await sessionRows(server, userId)).toHaveLength(0);
  });

  it('C5 logs out only by POST, deletes the session on the server, and the old cookie then gets 401', async () => {
    const session = await login(server, 'user', PASSWORD);
    const byGet = await fetch(`${server.url}/authentication/logout/`, { headers: { cookie: session.cookie } });
    expect(byGet.status).toBe(405);
    expect(byGet.headers.get('allow')).toBe('POST');
    expect(await whoamiStatus(server, session)).toBe(200);

    const response = await api(server, 'POST', '/authentication/logout/', { session });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ detail: 'Successfully logged out.' });
    for (const name of ['sessionid', 'csrftoken']) {
      const cleared = setCookies(response).get(name);
      expect(cleared?.value).toBe('');
      expect(attributes(cleared?.raw ?? '').get('max-age')).toBe('0');
    }
    expect(await sessionRows(server, userId)).toHaveLength(0);
    expect((await auditRows(server)).map((row) => row.event)).toContain('logout');

    const after = await fetch(`${server.url}/authentication/whoami/`, { headers: { cookie: session.cookie } });
    expect(after.status).toBe(401);
    expect(await after.json()).toEqual({ detail: 'Authentication credentials were not provided.' });
    expect((await api(server, 'POST', '/authentication/logout/', { session })).status).toBe(401);
  });

  /** Every kind of credential one user can hold, each as a probe answering its status. */
  const everyCredential = async (username: string) => {
    const id = (await server.createUser(username, PASSWORD)).id;
    const actor = { actorId: null };
    const session = await login(server, username, PASSWORD);
    const drf = await server.tessera.issuer.drfToken(id, actor);
    const { token: personal } = await server.tessera.issuer.personalToken(
      { userId: id, name: 'cli', expiresAt: null, scopes: null },
      actor,
    );
    const frappe = await server.tessera.issuer.generateApiKeys(id, actor);
    const conjurKey = await server.tessera.issuer.conjurApiKey(id, actor);
    const conjurToken = await tokenFor(server, username, conjurKey);
    const jwtResponse = await api(server, 'POST', '/v1/token', { headers: { authorization: `Bearer ${personal}` } });
    const jwt = ((await jwtResponse.json()) as { access_token: string }).access_token;
    const me = async (authorization: string) => {
      const response = await fetch(`${server.url}/v1/me`, { headers: { authorization } });
      await response.arrayBuffer();
      return response.status;
    };
    const probes: Record<string, () => Promise<number>> = {
      session: () => whoamiStatus(server, session),
      'drf token': () => me(`Token ${drf}`),
      'personal token': () => me(`Bearer ${personal}`),
      'frappe key pair': () => me(`token ${frappe.apiKey}:${frappe.apiSecret}`),
      'basic password': () => me(basicHeader(username, PASSWORD)),
      jwt: () => me(`Bearer ${jwt}`),
      'conjur token': () => me(tokenHeader(conjurToken)),
      'conjur api key': async () => {
        const response = await conjurAuthenticate(server, username, conjurKey);
        await response.arrayBuffer();
        return response.status;
      },
    };
    return { id, probes };
  };

  const statuses = async (probes: Record<string, () => Promise<number>>) => {
    const result: Record<string, number> = {};
    for (const [name, probe] of Object.entries(probes)) result[name] = await probe();
    return result;
  };

  for (const [action, request] of [
    [
      'disabling',
      (id: number, admin: Session) =>
        api(server, 'PATCH', `/users/users/${id}/`, { session: admin, body: { is_active: false } }),
    ],
    ['deleting', (id: number, admin: Session) => api(server, 'DELETE', `/users/users/${id}/`, { session: admin })],
  ] as const) {
    it(`C6 ends every session, token and key of a user at once on ${action} them`, async () => {
      const admin = await login(server, 'user', PASSWORD);
      const { id, probes } = await everyCredential('victim');
      const alive = await statuses(probes);
      expect(
        Object.values(alive).every((status) => status === 200),
        JSON.stringify(alive),
      ).toBe(true);

      const response = await request(id, admin);
      expect(response.status).toBeLessThan(300);
      const dead = await statuses(probes);
      expect(
        Object.values(dead).every((status) => status === 401),
        JSON.stringify(dead),
      ).toBe(true);
      const left = (await credentialRows(server)).filter((row) => row.user_id === id);
      expect(left).toEqual([]);
      expect(await whoamiStatus(server, admin)).toBe(200);
    });
  }

  it('C7 sends Cache-Control: no-store on every response that carries a credential, and nosniff on every response', async () => {
    const session = await login(server, 'user', PASSWORD);
    const { token: personal } = await server.tessera.issuer.personalToken(
      { userId, name: 'cli', expiresAt: null, scopes: null },
      { actorId: null },
    );
    const bearer = { authorization: `Bearer ${personal}` };
    const credentialBearing: Array<[string, Promise<Response>]> = [
      ['session login', loginResponse()],
      ['whoami', api(server, 'GET', '/authentication/whoami/', { session })],
      ['drf token', api(server, 'POST', '/api-token-auth/', { body: { username: 'user', password: PASSWORD } })],
      ['jwt', api(server, 'POST', '/v1/token', { headers: bearer })],
      ['personal token', api(server, 'POST', '/v1/credentials', { headers: bearer, body: { name: 'another' } })],
      [
        'frappe keys',
        api(server, 'POST', '/api/method/frappe.core.doctype.user.user.generate_keys', {
          headers: bearer,
          body: { user: 'user' },
        }),
      ],
      [
        'conjur login',
        fetch(`${server.url}/api/authn/users/login`, { headers: { authorization: basicHeader('user', PASSWORD) } }),
      ],
      [
        'refused login',
        api(server, 'POST', '/authentication/login/', { body: { username: 'user', password: 'wrong one!' } }),
      ],
      ['401', fetch(`${server.url}/v1/me`)],
      ['logout', api(server, 'POST', '/authentication/logout/', { session })],
    ];
    for (const [name, pending] of credentialBearing) {
      const response = await pending;
      await response.arrayBuffer();
      expect(response.status, name).toBeLessThan(500);
      expect(response.headers.get('cache-control'), name).toBe('no-store');
      expect(response.headers.get('x-content-type-options'), name).toBe('nosniff');
    }
    const others: Array<[string, Promise<Response>]> = [
      ['healthz', fetch(`${server.url}/healthz`)],
      ['jwks', fetch(`${server.url}/.well-known/jwks.json`)],
      ['openapi', fetch(`${server.url}/openapi.json`)],
      ['404', fetch(`${server.url}/no/such/thing`)],
      ['405', fetch(`${server.url}/authentication/login/`)],
      [
        '415',
        fetch(`${server.url}/authentication/login/`, {
          method: 'POST',
          headers: { 'content-type': 'text/xml' },
          body: '<x/>',
        }),
      ],
    ];
    for (const [name, pending] of others) {
      const response = await pending;
      await response.arrayBuffer();
      expect(response.headers.get('x-content-type-options'), name).toBe('nosniff');
    }
  });
});
