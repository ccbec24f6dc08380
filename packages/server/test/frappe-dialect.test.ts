import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  auditRows,
  basicHeader,
  columnsContaining,
  credentialRows,
  fencedBlocks,
  runPython,
} from './helpers/credentials.js';
import { describeEachDatabase, PASSWORD, setCookies, startServer, type TestServer } from './helpers/harness.js';

const SEED = fileURLToPath(new URL('./seeds/003_bcad6941cc97a515.txt', import.meta.url));
const GENERATE_KEYS = '/api/method/frappe.core.doctype.user.user.generate_keys';
const LOGGED_USER = '/api/method/frappe.auth.get_logged_user';
const API_KEY = /^[0-9a-f]{16}$/;
const API_SECRET = /^[0-9a-f]{40}$/;

interface Keys {
  api_key: string;
  api_secret: string;
}

describeEachDatabase('frappe dialect (seed 003)', (kind) => {
  let server: TestServer;
  const ADMIN = basicHeader('admin', PASSWORD);
  beforeEach(async () => {
    server = await startServer(kind);
    await server.createUser('admin', PASSWORD, { admin: true });
    await server.createUser('alice', PASSWORD);
  });
  afterEach(() => server.close());

  /** `generate_keys` with `user=<username>`, as a form (the default) or as JSON. */
  const generate = (user: string, options: { authorization?: string; json?: boolean } = {}) =>
    fetch(`${server.url}${GENERATE_KEYS}`, {
      method: 'POST',
      headers: {
        ...(options.authorization !== undefined && { Authorization: options.authorization }),
        'content-type': options.json ? 'application/json' : 'application/x-www-form-urlencoded',
      },
      body: options.json ? JSON.stringify({ user }) : new URLSearchParams({ user }).toString(),
    });

  const keysFor = async (user: string): Promise<Keys> => {
    const response = await generate(user, { authorization: ADMIN });
    expect(response.status).toBe(200);
    const { message } = (await response.json()) as { message: Keys };
    return message;
  };

  const loggedUser = (authorization: string) =>
    fetch(`${server.url}${LOGGED_USER}`, { headers: { Authorization: authorization } });

  const loggedUserStatus = async (authorization: string) => {
    const response = await loggedUser(authorization);
    await response.arrayBuffer();
    return response.status;
  };

  it("lets an admin generate a user's keys from a form or JSON, in Frappe's message envelope", async () => {
    const form = await generate('alice', { authorization: ADMIN });
    expect(form.status).toBe(200);
    expect(form.headers.get('cache-control')).toBe('no-store');
    const body = (await form.json()) as { message: Keys };
    expect(Object.keys(body)).toEqual(['message']);
    expect(Object.keys(body.message).sort()).toEqual(['api_key', 'api_secret']);
    expect(body.message.api_key).toMatch(API_KEY);
    expect(body.message.api_secret).toMatch(API_SECRET);

    await server.createUser('bob', PASSWORD);
    const json = await generate('bob', { authorization: ADMIN, json: true });
    expect(json.status).toBe(200);
    const bob = ((await json.json()) as { message: Keys }).message;
    expect(bob.api_key).toMatch(API_KEY);
    expect(bob.api_key).not.toBe(body.message.api_key);

    expect(await (await loggedUser(`token ${body.message.api_key}:${body.message.api_secret}`)).json()).toEqual({
      message: 'alice',
    });
    expect(await (await loggedUser(`token ${bob.api_key}:${bob.api_secret}`)).json()).toEqual({ message: 'bob' });
  });

  it('refuses generate_keys to a non-admin with 403, even for their own keys, and to anonymous callers with 401', async () => {
    for (const user of ['alice', 'admin']) {
      const response = await generate(user, { authorization: basicHeader('alice', PASSWORD) });
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ detail: 'Only an admin may generate API keys.' });
    }
    const anonymous = await generate('alice');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBeTruthy();
    await anonymous.arrayBuffer();
    expect(await credentialRows(server, 'api-key')).toHaveLength(0);
  });

  it('answers generate_keys for an unknown user with 404 and without a user with 400', async () => {
    const unknown = await generate('nobody-here', { authorization: ADMIN });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ detail: 'User nobody-here not found.' });

    const missing = await fetch(`${server.url}${GENERATE_KEYS}`, {
      method: 'POST',
      headers: { Authorization: ADMIN, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ user: ['This field is required.'] });
    expect(await credentialRows(server, 'api-key')).toHaveLength(0);
  });

  it("authenticates seed 003's `token <api_key>:<api_secret>` header, whatever the case of the scheme name", async () => {
    const { api_key, api_secret } = await keysFor('alice');
    for (const scheme of ['token', 'Token', 'TOKEN']) {
      const response = await loggedUser(`${scheme} ${api_key}:${api_secret}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ message: 'alice' });
    }
    // get_logged_user answers POST too, and a header credential needs no CSRF token.
    const post = await fetch(`${server.url}${LOGGED_USER}`, {
      method: 'POST',
      headers: { Authorization: `token ${api_key}:${api_secret}` },
    });
    expect(post.status).toBe(200);
    expect(await post.json()).toEqual({ message: 'alice' });
  });

  it("authenticates seed 003's `Basic base64(<api_key>:<api_secret>)` header", async () => {
    const { api_key, api_secret } = await keysFor('alice');
    const response = await loggedUser(basicHeader(api_key, api_secret));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ message: 'alice' });
  });

  it('refuses a wrong secret, an unknown key or a half pair with 401 in either header form', async () => {
    const { api_key, api_secret } = await keysFor('alice');
    const other = api_secret.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    const cases: Array<[string, RegExp]> = [
      [`token ${api_key}:${other}`, /^Token$/],
      [`token ${'0'.repeat(16)}:${api_secret}`, /^Token$/],
      [`token ${api_key}:`, /^Token$/],
      [`token :${api_secret}`, /^Token$/],
      [`token ${api_key}:${api_secret}:`, /^Token$/],
      [basicHeader(api_key, other), /^Basic /],
      [basicHeader(api_key, ''), /^Basic /],
    ];
    for (const [authorization, challenge] of cases) {
      const response = await loggedUser(authorization);
      expect(response.status, authorization).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(challenge);
      await response.arrayBuffer();
    }
    expect(await loggedUserStatus(`token ${api_key}:${api_secret}`)).toBe(200);
  });

  it('keeps the api key and ends the old secret at once when keys are generated again', async () => {
    const first = await keysFor('alice');
    expect(await loggedUserStatus(`token ${first.api_key}:${first.api_secret}`)).toBe(200);
    const second = await keysFor('alice');
    expect(second.api_key).toBe(first.api_key);
    expect(second.api_secret).not.toBe(first.api_secret);

    expect(await loggedUserStatus(`token ${first.api_key}:${first.api_secret}`)).toBe(401);
    expect(await loggedUserStatus(basicHeader(first.api_key, first.api_secret))).toBe(401);
    expect(await loggedUserStatus(`token ${second.api_key}:${second.api_secret}`)).toBe(200);
    expect(await loggedUserStatus(basicHeader(second.api_key, second.api_secret))).toBe(200);
    expect(await credentialRows(server, 'api-key')).toHaveLength(1);
  });

  it('converges 20 parallel generate_keys for one user on one api key, one row and one working secret (SECURITY I1)', async () => {
    // One Basic check first, so the 20 requests race on key generation, not on argon2.
    expect(await loggedUserStatus(ADMIN)).toBe(200);
    const responses = await Promise.all(Array.from({ length: 20 }, () => generate('alice', { authorization: ADMIN })));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    const keys = await Promise.all(responses.map(async (r) => ((await r.json()) as { message: Keys }).message));

    expect(new Set(keys.map((k) => k.api_key)).size).toBe(1);
    expect(new Set(keys.map((k) => k.api_secret)).size).toBe(20);
    expect(await credentialRows(server, 'api-key')).toHaveLength(1);

    // The last writer's secret stands; every other one died when it was replaced.
    const statuses = await Promise.all(keys.map((k) => loggedUserStatus(`token ${k.api_key}:${k.api_secret}`)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(19);
  });

  it('keeps no api secret in the database or the audit log', async () => {
    const first = await keysFor('alice');
    const second = await keysFor('alice');
    const rows = await credentialRows(server);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: 'api-key', lookup: first.api_key, sealed: null });
    for (const secret of [first.api_secret, second.api_secret]) {
      expect(columnsContaining(rows, secret)).toEqual([]);
      expect(columnsContaining(await auditRows(server), secret)).toEqual([]);
    }
  });

  it("refuses a deactivated user's key pair at once, and their keys are gone (SECURITY C6, E3)", async () => {
    const { api_key, api_secret } = await keysFor('alice');
    expect(await loggedUserStatus(`token ${api_key}:${api_secret}`)).toBe(200);
    const alice = await server.tessera.users.findByUsername('alice');
    await server.tessera.users.update(alice?.id ?? 0, { isActive: false }, { actorId: null });
    expect(await loggedUserStatus(`token ${api_key}:${api_secret}`)).toBe(401);
    expect(await loggedUserStatus(basicHeader(api_key, api_secret))).toBe(401);
    expect(await credentialRows(server, 'api-key')).toHaveLength(0);
  });

  it('logs in with usr and pwd, and the sessionid cookie then answers get_logged_user', async () => {
    for (const json of [false, true]) {
      const response = await fetch(`${server.url}/api/method/login`, {
        method: 'POST',
        headers: { 'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded' },
        body: json
          ? JSON.stringify({ usr: 'alice', pwd: PASSWORD })
          : new URLSearchParams({ usr: 'alice', pwd: PASSWORD }).toString(),
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ message: 'Logged In', home_page: '/app', full_name: 'alice' });
      const cookies = setCookies(response);
      const sessionId = cookies.get('sessionid')?.value ?? '';
      expect(sessionId).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(cookies.get('sessionid')?.raw).toMatch(/HttpOnly/);
      expect(cookies.get('csrftoken')?.value).toBeTruthy();

      const me = await fetch(`${server.url}${LOGGED_USER}`, { headers: { cookie: `sessionid=${sessionId}` } });
      expect(me.status).toBe(200);
      expect(await me.json()).toEqual({ message: 'alice' });
    }
  });

  it("refuses a wrong password or an unknown user with Frappe's identical 401 and no cookie", async () => {
    const bodies: string[] = [];
    const attempts: Array<[string, string]> = [
      ['alice', 'not the password'],
      ['nobody-here', PASSWORD],
    ];
    for (const [usr, pwd] of attempts) {
      const response = await fetch(`${server.url}/api/method/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ usr, pwd }).toString(),
      });
      expect(response.status).toBe(401);
      expect(setCookies(response).size).toBe(0);
      bodies.push(await response.text());
    }
    expect(new Set(bodies)).toEqual(
      new Set(['{"message":"Invalid login credentials","exc_type":"AuthenticationError"}']),
    );
  });

  it('ends the session at POST /api/method/logout with the cookie and X-CSRFToken, and only then', async () => {
    const login = await fetch(`${server.url}/api/method/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ usr: 'alice', pwd: PASSWORD }),
    });
    const cookies = setCookies(login);
    const sessionId = cookies.get('sessionid')?.value ?? '';
    const csrfToken = cookies.get('csrftoken')?.value ?? '';
    const cookie = `sessionid=${sessionId}; csrftoken=${csrfToken}`;

    const withoutCsrf = await fetch(`${server.url}/api/method/logout`, { method: 'POST', headers: { cookie } });
    expect(withoutCsrf.status).toBe(403);
    expect(await withoutCsrf.json()).toEqual({ detail: 'CSRF Failed: CSRF token missing.' });
    expect((await fetch(`${server.url}${LOGGED_USER}`, { headers: { cookie } })).status).toBe(200);

    const logout = await fetch(`${server.url}/api/method/logout`, {
      method: 'POST',
      headers: { cookie, 'X-CSRFToken': csrfToken },
    });
    expect(logout.status).toBe(200);
    expect(await logout.json()).toEqual({ message: null });
    expect(setCookies(logout).get('sessionid')?.raw).toMatch(/Max-Age=0/);

    const after = await fetch(`${server.url}${LOGGED_USER}`, { headers: { cookie } });
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toBeTruthy();
    await after.arrayBuffer();
  });

  it("runs seed 003's two Python examples against the server, and both print 200 and the username", async () => {
    // Missing tools fail loudly: the seed's client is the point of this test.
    execFileSync('python3', ['-c', 'import requests'], { stdio: 'pipe' });
    const blocks = fencedBlocks(readFileSync(SEED, 'utf8'), 'python');
    expect(blocks).toHaveLength(2);
    const { api_key, api_secret } = await keysFor('alice');

    const placeholderUrl = 'http://frappe.local:8000**/api/method/frappe.auth.get_logged_user**';
    const tokenPlaceholder = '"token <api_key>:<api_secret>"';
    const basicPlaceholder = 'base64.b64encode(<api_key>:<api_secret>)';
    const programs = blocks.map((block) => {
      // Every substitution must find its text in the seed, or the seed changed under the test.
      const edits: Array<[string, string]> = [
        // The seed's host is Frappe's dev server; its path carries markdown bold stars (`**…**`)
        // that are not part of the URL. Both become this server's URL and the bare path.
        [placeholderUrl, `${server.url}${LOGGED_USER}`],
      ];
      if (block.includes(tokenPlaceholder)) {
        // Block 1: the `<api_key>:<api_secret>` placeholder becomes the real key and secret.
        edits.push([tokenPlaceholder, `"token ${api_key}:${api_secret}"`]);
      } else {
        // Block 2: `base64.b64encode(<api_key>:<api_secret>)` is not Python. The minimal edit
        // that makes it run: a bytes literal of "key:secret", and `.decode()` so "%s" formats
        // the base64 text rather than the bytes' repr (b'...').
        edits.push([basicPlaceholder, `base64.b64encode(b"${api_key}:${api_secret}").decode()`]);
      }
      let program = block;
      for (const [from, to] of edits) {
        expect(program).toContain(from);
        program = program.replace(from, to);
      }
      // The seed stops at the request; print what came back so the test can see it.
      return `${program}\nprint(response.status_code, response.text)\n`;
    });
    expect(programs[0]).toContain(`'Authorization': "token ${api_key}:${api_secret}"`);
    expect(programs[1]).toContain('"Basic %s" % base64.b64encode(');

    for (const program of programs) {
      expect(program).not.toMatch(/<api_|\*\*|frappe\.local/);
      const result = await runPython(program);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout.trim()).toBe('200 {"message":"alice"}');
    }
  });
});
