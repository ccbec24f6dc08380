import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeEachDatabase, login, PASSWORD, setCookies, startServer, type TestServer } from './helpers/harness.js';
import { api, sessionRows, whoamiStatus } from './helpers/requests.js';

const MINUTE = 60_000;
const IDLE = 10 * MINUTE;
const ABSOLUTE = 60 * MINUTE;

describeEachDatabase('session expiry', (kind) => {
  let server: TestServer;
  let userId: number;
  beforeEach(async () => {
    server = await startServer(kind, { session: { idleMs: IDLE, absoluteMs: ABSOLUTE } });
    userId = (await server.createUser('user', PASSWORD)).id;
  });
  afterEach(() => server.close());

  it('keeps a session used every few minutes alive past the idle window, and ends it at the absolute lifetime', async () => {
    const session = await login(server, 'user', PASSWORD);
    let elapsed = 0;
    while (elapsed + 4 * MINUTE < ABSOLUTE) {
      server.clock.advance(4 * MINUTE);
      elapsed += 4 * MINUTE;
      expect(await whoamiStatus(server, session), `after ${elapsed / MINUTE} minutes`).toBe(200);
    }
    expect(elapsed).toBeGreaterThan(IDLE);
    server.clock.advance(ABSOLUTE - elapsed - 1);
    expect(await whoamiStatus(server, session)).toBe(200);
    server.clock.advance(1);
    expect(await whoamiStatus(server, session)).toBe(401);
    // Dead for good: using it again, or moving on, does not revive it.
    expect(await whoamiStatus(server, session)).toBe(401);
  });

  it('keeps a session used every 30 seconds alive past the idle window', async () => {
    const session = await login(server, 'user', PASSWORD);
    for (let elapsed = 0; elapsed <= IDLE + 2 * MINUTE; elapsed += 30_000) {
      server.clock.advance(30_000);
      expect(await whoamiStatus(server, session), `after ${elapsed + 30_000} ms`).toBe(200);
    }
  });

  it('ends an unused session after the idle time, counting the exact boundary as expired', async () => {
    const used = await login(server, 'user', PASSWORD);
    const unused = await login(server, 'user', PASSWORD);

    server.clock.advance(IDLE - 1);
    expect(await whoamiStatus(server, used)).toBe(200);
    server.clock.advance(1);
    expect(await whoamiStatus(server, unused)).toBe(401);
    // The one used a millisecond ago lives on, and dies a full idle time after that use.
    expect(await whoamiStatus(server, used)).toBe(200);
    server.clock.advance(IDLE);
    expect(await whoamiStatus(server, used)).toBe(401);
  });

  it('refuses a write from an expired session with 401, changing nothing', async () => {
    const session = await login(server, 'user', PASSWORD);
    server.clock.advance(IDLE);
    const response = await api(server, 'PATCH', `/users/users/${userId}/`, {
      session,
      body: { email: 'late@example.com' },
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ detail: 'Authentication credentials were not provided.' });
    expect((await server.tessera.users.findById(userId))?.email).toBeNull();
  });

  it('deletes a dead session’s row from the credentials table', async () => {
    const idle = await login(server, 'user', PASSWORD);
    expect(await sessionRows(server, userId)).toHaveLength(1);
    server.clock.advance(IDLE);
    expect(await whoamiStatus(server, idle)).toBe(401);
    expect(await sessionRows(server, userId)).toHaveLength(0);

    const old = await login(server, 'user', PASSWORD);
    for (let i = 0; i < 11; i++) {
      server.clock.advance(5 * MINUTE);
      expect(await whoamiStatus(server, old)).toBe(200);
    }
    expect(await sessionRows(server, userId)).toHaveLength(1);
    server.clock.advance(5 * MINUTE);
    expect(await whoamiStatus(server, old)).toBe(401);
    expect(await sessionRows(server, userId)).toHaveLength(0);
  });

  it('gives the session cookies a Max-Age of the absolute lifetime', async () => {
    const response = await api(server, 'POST', '/authentication/login/', {
      body: { username: 'user', password: PASSWORD },
    });
    expect(response.status).toBe(200);
    for (const name of ['sessionid', 'csrftoken']) {
      expect(setCookies(response).get(name)?.raw).toMatch(new RegExp(`; Max-Age=${ABSOLUTE / 1000}(;|$)`));
    }
  });
});
