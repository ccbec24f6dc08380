import { afterEach, beforeEach, expect, it } from 'vitest';
import { basicHeader } from '../helpers/credentials.js';
import {
  describeEachDatabase,
  login,
  PASSWORD,
  type Session,
  startServer,
  type TestServer,
} from '../helpers/harness.js';
import { api } from '../helpers/requests.js';

const RECENT_MS = 15 * 60_000;
const STALE = { detail: 'This change needs a recent sign-in: sign in again, then retry.' };

describeEachDatabase('G3 sensitive changes need a recent login', (kind) => {
  let server: TestServer;
  let aliceId: number;
  let bobId: number;

  beforeEach(async () => {
    server = await startServer(kind, { recentLoginMs: RECENT_MS });
    await server.createUser('root', PASSWORD, { admin: true });
    aliceId = (await server.createUser('alice', PASSWORD, { email: 'alice@example.com' })).id;
    bobId = (await server.createUser('bob', PASSWORD)).id;
  });
  afterEach(async () => {
    await server.close();
  });

  /** Four sensitive changes through one session; resolves with their statuses. */
  async function sensitiveChanges(alice: Session, admin: Session): Promise<number[]> {
    const requests = [
      api(server, 'POST', '/v1/credentials', { session: alice, body: { name: 'deploy' } }),
      api(server, 'PATCH', `/users/users/${aliceId}/`, { session: alice, body: { email: 'new@example.com' } }),
      api(server, 'PATCH', `/users/users/${bobId}/`, { session: admin, body: { password: 'a brand new passphrase' } }),
      api(server, 'POST', '/api/method/frappe.core.doctype.user.user.generate_keys', {
        session: admin,
        body: { user: 'bob' },
      }),
    ];
    const responses = await Promise.all(requests);
    return responses.map((r) => r.status);
  }

  it('G3 refuses a password or email change or a new long-lived key from a session signed in too long ago', async () => {
    const alice = await login(server, 'alice', PASSWORD);
    const admin = await login(server, 'root', PASSWORD);
    server.clock.advance(RECENT_MS + 1_000);

    const made = await api(server, 'POST', '/v1/credentials', { session: alice, body: { name: 'deploy' } });
    expect(made.status).toBe(403);
    expect(await made.json()).toEqual(STALE);
    expect(await sensitiveChanges(alice, admin)).toEqual([403, 403, 403, 403]);
    // Nothing changed: no token, no new email.
    const listed = await api(server, 'GET', '/v1/credentials', { session: alice });
    expect(((await listed.json()) as Array<{ kind: string }>).filter((c) => c.kind === 'personal')).toEqual([]);
    const me = await api(server, 'GET', `/users/users/${aliceId}/`, { session: alice });
    expect(((await me.json()) as { email: string }).email).toBe('alice@example.com');

    // The session still serves everything else: only the sensitive changes need a fresh login.
    expect((await api(server, 'GET', '/v1/me', { session: alice })).status).toBe(200);
    const putUnchanged = await api(server, 'PUT', `/users/users/${aliceId}/`, {
      session: alice,
      body: { username: 'alice', email: 'alice@example.com' },
    });
    expect(putUnchanged.status).toBe(200);
  });

  it('G3 allows them again after signing in anew, and within the window', async () => {
    server.clock.advance(RECENT_MS + 1_000); // the earlier sessions' age is not what counts
    const alice = await login(server, 'alice', PASSWORD);
    const admin = await login(server, 'root', PASSWORD);
    server.clock.advance(RECENT_MS - 1_000);
    expect(await sensitiveChanges(alice, admin)).toEqual([201, 200, 200, 200]);
  });

  it('G3 lets a changed password through an old session when the current password is given', async () => {
    const alice = await login(server, 'alice', PASSWORD);
    server.clock.advance(RECENT_MS + 1_000);
    const changed = await api(server, 'PATCH', `/users/users/${aliceId}/`, {
      session: alice,
      body: { password: 'a brand new passphrase', current_password: PASSWORD },
    });
    expect(changed.status).toBe(200);
  });

  it('G3 refuses these changes to a JWT, which any session, however old, can buy', async () => {
    const alice = await login(server, 'alice', PASSWORD);
    server.clock.advance(RECENT_MS + 1_000);
    const minted = await api(server, 'POST', '/v1/token', { session: alice });
    expect(minted.status).toBe(200);
    const { access_token: jwt } = (await minted.json()) as { access_token: string };
    const changed = await api(server, 'PATCH', `/users/users/${aliceId}/`, {
      headers: { authorization: `Bearer ${jwt}` },
      body: { email: 'new@example.com' },
    });
    expect(changed.status).toBe(403);
    const me = await api(server, 'GET', `/users/users/${aliceId}/`, { session: alice });
    expect(((await me.json()) as { email: string }).email).toBe('alice@example.com');
  });

  it('G3 lets an old session resend an absent email unchanged (PUT of what it read)', async () => {
    const bob = await login(server, 'bob', PASSWORD);
    server.clock.advance(RECENT_MS + 1_000);
    const read = (await (await api(server, 'GET', `/users/users/${bobId}/`, { session: bob })).json()) as {
      username: string;
      email: string;
    };
    expect(read.email).toBe('');
    const put = await api(server, 'PUT', `/users/users/${bobId}/`, {
      session: bob,
      body: { username: read.username, email: read.email },
    });
    expect(put.status).toBe(200);
  });

  it('G3 counts Basic username:password as a login made now', async () => {
    server.clock.advance(RECENT_MS + 1_000);
    const made = await api(server, 'POST', '/v1/credentials', {
      headers: { authorization: basicHeader('alice', PASSWORD) },
      body: { name: 'deploy' },
    });
    expect(made.status).toBe(201);
  });
});
