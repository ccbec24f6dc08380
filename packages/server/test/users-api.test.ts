import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeEachDatabase, login, PASSWORD, type Session, type TestServer } from './helpers/harness.js';
import { threeUsers } from './helpers/native-api.js';
import { api, sessionRows, whoamiStatus } from './helpers/requests.js';

const FORBIDDEN = { detail: 'You do not have permission to perform this action.' };
const NOT_FOUND = { detail: 'Not found.' };
const TAKEN = { username: ['A user with that username already exists.'] };
const NEW_PASSWORD = 'another good passphrase';

describeEachDatabase('users API', (kind) => {
  let server: TestServer;
  let admin: Session;
  let alice: Session;
  const ADMIN_ID = 1;
  const ALICE_ID = 2;
  const BOB_ID = 3;

  beforeEach(async () => {
    ({ server, admin, alice } = await threeUsers(kind));
  });
  afterEach(() => server.close());

  const loginStatus = async (username: string, password: string) => {
    const response = await api(server, 'POST', '/authentication/login/', { body: { username, password } });
    await response.arrayBuffer();
    return response.status;
  };

  it('lists every user to any signed-in user, with or without the trailing slash', async () => {
    for (const path of ['/users/users/', '/users/users']) {
      const response = await api(server, 'GET', path, { session: alice });
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text).not.toMatch(/argon2|password/);
      expect(JSON.parse(text).map((u: { id: number; username: string }) => [u.id, u.username])).toEqual([
        [ADMIN_ID, 'admin'],
        [ALICE_ID, 'alice'],
        [BOB_ID, 'bob'],
      ]);
    }
  });

  it('gets one user by id to any signed-in user, with or without the trailing slash', async () => {
    for (const path of [`/users/users/${BOB_ID}/`, `/users/users/${BOB_ID}`]) {
      const response = await api(server, 'GET', path, { session: alice });
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text).not.toMatch(/argon2|password/);
      expect(JSON.parse(text)).toEqual({
        id: BOB_ID,
        username: 'bob',
        email: '',
        is_active: true,
        is_staff: false,
        roles: [],
        date_joined: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        last_login: null,
      });
    }
  });

  it('answers anonymous reads and writes with 401 and a challenge naming the session, changing nothing', async () => {
    const attempts: Array<[string, string, unknown]> = [
      ['GET', '/users/users/', undefined],
      ['GET', '/users/users', undefined],
      ['GET', `/users/users/${BOB_ID}/`, undefined],
      ['POST', '/users/users/', { username: 'mallory', password: NEW_PASSWORD }],
      ['PATCH', `/users/users/${BOB_ID}/`, { email: 'mallory@example.com' }],
      ['PUT', `/users/users/${BOB_ID}`, { email: 'mallory@example.com' }],
      ['DELETE', `/users/users/${BOB_ID}/`, undefined],
    ];
    for (const [method, path, body] of attempts) {
      const response = await api(server, method, path, { body });
      expect(response.status, `${method} ${path}`).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/(^|, )Session realm="tessera"/);
      expect(await response.json()).toEqual({ detail: 'Authentication credentials were not provided.' });
    }
    expect(await server.tessera.users.findByUsername('mallory')).toBeUndefined();
    expect((await server.tessera.users.findById(BOB_ID))?.email).toBeNull();
  });

  it('lets an admin create a user, answering 201 with a body that holds no password hash', async () => {
    const response = await api(server, 'POST', '/users/users/', {
      session: admin,
      body: { username: 'carol', password: NEW_PASSWORD, email: 'carol@example.com', roles: ['admin', 'ops'] },
    });
    expect(response.status).toBe(201);
    const text = await response.text();
    expect(text).not.toMatch(/argon2|password|\$/);
    expect(JSON.parse(text)).toMatchObject({
      id: 4,
      username: 'carol',
      email: 'carol@example.com',
      is_active: true,
      is_staff: true,
      roles: ['admin', 'ops'],
      last_login: null,
    });
    expect(await loginStatus('carol', NEW_PASSWORD)).toBe(200);

    const bare = await api(server, 'POST', '/users/users', {
      session: admin,
      body: { username: 'dave', password: NEW_PASSWORD },
    });
    expect(bare.status).toBe(201);
    expect(await bare.json()).toMatchObject({ id: 5, username: 'dave', email: '', is_staff: false, roles: [] });
  });

  it('refuses a non-admin creating a user with 403 and creates nothing', async () => {
    for (const path of ['/users/users/', '/users/users']) {
      const response = await api(server, 'POST', path, {
        session: alice,
        body: { username: 'carol', password: NEW_PASSWORD },
      });
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual(FORBIDDEN);
    }
    expect(await server.tessera.users.findByUsername('carol')).toBeUndefined();
  });

  it('answers a missing, duplicate or invalid username with a DRF-shaped 400 naming the field', async () => {
    const create = (body: Record<string, unknown>) => api(server, 'POST', '/users/users/', { session: admin, body });

    const missing = await create({});
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({
      username: ['This field is required.'],
      password: ['This field is required.'],
    });

    const duplicate = await create({ username: 'bob', password: NEW_PASSWORD });
    expect(duplicate.status).toBe(400);
    expect(await duplicate.json()).toEqual(TAKEN);

    for (const username of ['has:colon', 'bob:', 'with space', 'slash/name', 'semi;colon', 'x'.repeat(151), '<b>']) {
      const response = await create({ username, password: NEW_PASSWORD });
      expect(response.status, username).toBe(400);
      expect(await response.json()).toEqual({ username: [expect.stringMatching(/^Enter a valid username\./)] });
    }
    const blank = await create({ username: '', password: NEW_PASSWORD });
    expect(blank.status).toBe(400);
    expect(await blank.json()).toEqual({ username: ['This field may not be blank.'] });

    const users = await server.tessera.users.list();
    expect(users.map((u) => u.username)).toEqual(['admin', 'alice', 'bob']);
  });

  it('answers a too short, too common or over-long password with a DRF-shaped 400', async () => {
    const cases: Array<[string, string]> = [
      ['seven77', 'Password must be at least 8 characters.'],
      ['password123', 'This password is too common.'],
      ['qwertyuiop', 'This password is too common.'],
      ['Password123', 'This password is too common.'],
      ['x'.repeat(1025), 'Password must be at most 1024 bytes.'],
      // 513 characters, but 1,026 bytes of UTF-8: the limit is in bytes.
      ['é'.repeat(513), 'Password must be at most 1024 bytes.'],
    ];
    for (const [index, [password, message]] of cases.entries()) {
      const response = await api(server, 'POST', '/users/users/', {
        session: admin,
        body: { username: `weak${index}`, password },
      });
      expect(response.status, password.slice(0, 20)).toBe(400);
      expect(await response.json()).toEqual({ password: [message] });
      expect(await server.tessera.users.findByUsername(`weak${index}`)).toBeUndefined();
    }
    // Both limits are inclusive.
    for (const [username, password] of [
      ['eight', 'kx7#pq2!'],
      ['kibibyte', 'k'.repeat(1024)],
    ] as const) {
      const response = await api(server, 'POST', '/users/users/', { session: admin, body: { username, password } });
      expect(response.status, username).toBe(201);
      expect(await loginStatus(username, password)).toBe(200);
    }
  });

  it('refuses the NFD spelling of an existing NFC username as a duplicate, and logs in under either', async () => {
    const nfc = 'jos\u00e9';
    const nfd = 'jose\u0301';
    const first = await api(server, 'POST', '/users/users/', {
      session: admin,
      body: { username: nfc, password: NEW_PASSWORD },
    });
    expect(first.status).toBe(201);

    const twin = await api(server, 'POST', '/users/users/', {
      session: admin,
      body: { username: nfd, password: NEW_PASSWORD },
    });
    expect(twin.status).toBe(400);
    expect(await twin.json()).toEqual(TAKEN);

    const rename = await api(server, 'PATCH', `/users/users/${BOB_ID}/`, { session: admin, body: { username: nfd } });
    expect(rename.status).toBe(400);
    expect(await rename.json()).toEqual(TAKEN);

    expect((await server.tessera.users.list()).filter((u) => u.username.normalize('NFC') === nfc)).toHaveLength(1);
    expect(await loginStatus(nfd, NEW_PASSWORD)).toBe(200);
    expect(await loginStatus(nfc, NEW_PASSWORD)).toBe(200);
  });

  it('stores a username sent in NFD in its NFC form', async () => {
    const response = await api(server, 'POST', '/users/users/', {
      session: admin,
      body: { username: 'rene\u0301', password: NEW_PASSWORD },
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ username: 'ren\u00e9' });
  });

  it('lets a user update themselves with PATCH or PUT, with or without the trailing slash', async () => {
    const attempts: Array<[string, string, string]> = [
      ['PATCH', `/users/users/${ALICE_ID}/`, 'a1@example.com'],
      ['PATCH', `/users/users/${ALICE_ID}`, 'a2@example.com'],
      ['PUT', `/users/users/${ALICE_ID}/`, 'a3@example.com'],
      ['PUT', `/users/users/${ALICE_ID}`, 'a4@example.com'],
    ];
    for (const [method, path, email] of attempts) {
      const response = await api(server, method, path, { session: alice, body: { email } });
      expect(response.status, `${method} ${path}`).toBe(200);
      expect(await response.json()).toMatchObject({ id: ALICE_ID, username: 'alice', email });
      expect((await server.tessera.users.findById(ALICE_ID))?.email).toBe(email);
    }
  });

  it('lets an admin update another user, roles and active flag included', async () => {
    const response = await api(server, 'PATCH', `/users/users/${BOB_ID}/`, {
      session: admin,
      body: { email: 'bob@example.com', roles: ['ops', 'admin'] },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      id: BOB_ID,
      email: 'bob@example.com',
      roles: ['admin', 'ops'],
      is_staff: true,
    });
    const put = await api(server, 'PUT', `/users/users/${BOB_ID}`, { session: admin, body: { roles: [] } });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ roles: [], is_staff: false });
  });

  it('refuses a non-admin updating another user with 403 and changes nothing', async () => {
    for (const method of ['PATCH', 'PUT']) {
      const response = await api(server, method, `/users/users/${BOB_ID}/`, {
        session: alice,
        body: { email: 'hijacked@example.com', password: NEW_PASSWORD },
      });
      expect(response.status, method).toBe(403);
      expect(await response.json()).toEqual(FORBIDDEN);
    }
    expect((await server.tessera.users.findById(BOB_ID))?.email).toBeNull();
    expect(await loginStatus('bob', PASSWORD)).toBe(200);
  });

  it('requires the right current password for changing one’s own password', async () => {
    const missing = await api(server, 'PATCH', `/users/users/${ALICE_ID}/`, {
      session: alice,
      body: { password: NEW_PASSWORD },
    });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ current_password: ['This field is required.'] });

    const wrong = await api(server, 'PATCH', `/users/users/${ALICE_ID}/`, {
      session: alice,
      body: { password: NEW_PASSWORD, current_password: 'not the password' },
    });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toEqual({ current_password: ['The current password is incorrect.'] });

    // An admin changing their own password is held to the same rule.
    const adminSelf = await api(server, 'PATCH', `/users/users/${ADMIN_ID}/`, {
      session: admin,
      body: { password: NEW_PASSWORD },
    });
    expect(adminSelf.status).toBe(400);
    expect(await adminSelf.json()).toEqual({ current_password: ['This field is required.'] });

    expect(await loginStatus('alice', PASSWORD)).toBe(200);
    expect(await loginStatus('alice', NEW_PASSWORD)).toBe(400);
    expect(await loginStatus('admin', NEW_PASSWORD)).toBe(400);
  });

  it('ends the user’s other sessions at a password change and keeps the one that made it', async () => {
    const aliceElsewhere = await login(server, 'alice', PASSWORD);
    const bob = await login(server, 'bob', PASSWORD);
    expect(await sessionRows(server, ALICE_ID)).toHaveLength(2);

    const response = await api(server, 'PATCH', `/users/users/${ALICE_ID}/`, {
      session: alice,
      body: { password: NEW_PASSWORD, current_password: PASSWORD },
    });
    expect(response.status).toBe(200);
    expect(JSON.stringify(await response.json())).not.toMatch(/argon2|password/);

    expect(await whoamiStatus(server, alice)).toBe(200);
    expect(await whoamiStatus(server, aliceElsewhere)).toBe(401);
    expect(await whoamiStatus(server, bob)).toBe(200);
    expect(await sessionRows(server, ALICE_ID)).toHaveLength(1);
    // The surviving session still writes with its own CSRF token.
    const write = await api(server, 'PATCH', `/users/users/${ALICE_ID}`, {
      session: alice,
      body: { email: 'alice@example.com' },
    });
    expect(write.status).toBe(200);

    expect(await loginStatus('alice', PASSWORD)).toBe(400);
    expect(await loginStatus('alice', NEW_PASSWORD)).toBe(200);
  });

  it('ends every session of a user whose password an admin sets, without asking the old one', async () => {
    const bob = await login(server, 'bob', PASSWORD);
    const response = await api(server, 'PATCH', `/users/users/${BOB_ID}/`, {
      session: admin,
      body: { password: NEW_PASSWORD },
    });
    expect(response.status).toBe(200);
    expect(await whoamiStatus(server, bob)).toBe(401);
    expect(await sessionRows(server, BOB_ID)).toHaveLength(0);
    expect(await whoamiStatus(server, admin)).toBe(200);
    expect(await loginStatus('bob', NEW_PASSWORD)).toBe(200);
  });

  it('ends every session of a user an admin deactivates, at once, and refuses their login', async () => {
    const bob1 = await login(server, 'bob', PASSWORD);
    const bob2 = await login(server, 'bob', PASSWORD);
    const response = await api(server, 'PATCH', `/users/users/${BOB_ID}/`, {
      session: admin,
      body: { is_active: false },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: BOB_ID, is_active: false });

    expect(await whoamiStatus(server, bob1)).toBe(401);
    expect(await whoamiStatus(server, bob2)).toBe(401);
    expect(await sessionRows(server, BOB_ID)).toHaveLength(0);
    expect(await loginStatus('bob', PASSWORD)).toBe(400);

    // Reactivation does not bring the old sessions back.
    const reactivate = await api(server, 'PATCH', `/users/users/${BOB_ID}/`, {
      session: admin,
      body: { is_active: true },
    });
    expect(reactivate.status).toBe(200);
    expect(await whoamiStatus(server, bob1)).toBe(401);
    expect(await loginStatus('bob', PASSWORD)).toBe(200);
  });

  it('lets an admin delete a user with 204, and the user’s sessions go with them', async () => {
    const bob = await login(server, 'bob', PASSWORD);
    expect(await sessionRows(server, BOB_ID)).toHaveLength(1);

    const response = await api(server, 'DELETE', `/users/users/${BOB_ID}/`, { session: admin });
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');

    expect(await whoamiStatus(server, bob)).toBe(401);
    expect(await sessionRows(server, BOB_ID)).toHaveLength(0);
    const gone = await api(server, 'GET', `/users/users/${BOB_ID}/`, { session: admin });
    expect(gone.status).toBe(404);
    expect(await gone.json()).toEqual(NOT_FOUND);
    const again = await api(server, 'DELETE', `/users/users/${BOB_ID}/`, { session: admin });
    expect(again.status).toBe(404);
    expect(await loginStatus('bob', PASSWORD)).toBe(400);

    const bare = await api(server, 'DELETE', `/users/users/${ALICE_ID}`, { session: admin });
    expect(bare.status).toBe(204);
    expect(await whoamiStatus(server, alice)).toBe(401);
    expect((await server.tessera.users.list()).map((u) => u.username)).toEqual(['admin']);
  });

  it('refuses a non-admin deleting any user, themselves included, with 403', async () => {
    for (const id of [BOB_ID, ALICE_ID, ADMIN_ID]) {
      const response = await api(server, 'DELETE', `/users/users/${id}/`, { session: alice });
      expect(response.status, `user ${id}`).toBe(403);
      expect(await response.json()).toEqual(FORBIDDEN);
    }
    expect((await server.tessera.users.list()).map((u) => u.username)).toEqual(['admin', 'alice', 'bob']);
    expect(await whoamiStatus(server, alice)).toBe(200);
  });

  it('answers an unknown or non-numeric id with a 404 JSON body', async () => {
    const attempts: Array<[string, string, Session]> = [
      ['GET', '/users/users/999/', alice],
      ['GET', '/users/users/999', alice],
      ['GET', '/users/users/abc/', alice],
      ['GET', '/users/users/0/', alice],
      ['GET', '/users/users/-1/', alice],
      ['GET', '/users/users/1.5/', alice],
      ['GET', '/users/users/1e3/', alice],
      ['GET', `/users/users/${'9'.repeat(30)}/`, alice],
      ['PATCH', '/users/users/999/', admin],
      ['PATCH', '/users/users/abc/', admin],
      ['PATCH', '/users/users/999/', alice],
      ['PUT', '/users/users/999', admin],
      ['DELETE', '/users/users/999/', admin],
      ['DELETE', '/users/users/abc/', admin],
    ];
    for (const [method, path, session] of attempts) {
      const body = method === 'GET' ? undefined : { email: 'x@example.com' };
      const response = await api(server, method, path, { session, body });
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(response.headers.get('content-type')).toBe('application/json');
      expect(await response.json()).toEqual(NOT_FOUND);
    }
  });

  it('answers renames racing to one free name with one 200 and 400 for the rest, never a 500', async () => {
    const responses = await Promise.all(
      [ALICE_ID, BOB_ID].map((id) =>
        api(server, 'PATCH', `/users/users/${id}/`, { session: admin, body: { username: 'carol' } }),
      ),
    );
    expect(responses.map((r) => r.status).sort()).toEqual([200, 400]);
    const refused = responses.find((r) => r.status === 400);
    expect(await refused?.json()).toEqual(TAKEN);
    expect((await server.tessera.users.list()).filter((u) => u.username === 'carol')).toHaveLength(1);
  });

  it('reports a rename that loses a race for a name as USERNAME_TAKEN, not as a database error', async () => {
    // Straight at the core, where the renames interleave between the check and the write.
    const outcomes = await Promise.allSettled(
      [ADMIN_ID, ALICE_ID, BOB_ID].map((id) =>
        server.tessera.users.update(id, { username: 'carol' }, { actorId: null }),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const outcome of outcomes.filter((o) => o.status === 'rejected')) {
      expect(outcome.reason).toMatchObject({ code: 'USERNAME_TAKEN' });
    }
  });
});
