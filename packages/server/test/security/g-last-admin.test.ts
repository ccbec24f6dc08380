import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { cliEnv, runCli } from '../helpers/cli.js';
import {
  describeEachDatabase,
  login,
  PASSWORD,
  type Session,
  startServer,
  TEST_MASTER_KEY,
  type TestServer,
} from '../helpers/harness.js';
import { api } from '../helpers/requests.js';

/** Issue 13, "also observed": the last active admin cannot remove themself (SECURITY G1, G2). */

const LAST_ADMIN = {
  detail:
    'This is the last active admin: give another user the admin role before removing it, deactivating or deleting this one.',
};

describeEachDatabase('last admin: the last active admin cannot be removed', (kind) => {
  let server: TestServer;
  let root: Session;
  let rootId: number;

  beforeEach(async () => {
    server = await startServer(kind);
    rootId = (await server.createUser('root', PASSWORD, { admin: true })).id;
    await server.createUser('alice', PASSWORD);
    root = await login(server, 'root', PASSWORD);
  });
  afterEach(() => server.close());

  async function stillAdmin(id: number): Promise<boolean> {
    const user = await server.tessera.users.findById(id);
    return user?.isActive === true && user.roles.includes('admin');
  }

  it('last admin: refuses with 409 to drop their own admin role, deactivate or delete themself', async () => {
    for (const [method, body] of [
      ['PATCH', { roles: [] }],
      ['PATCH', { roles: ['auditor'] }],
      ['PATCH', { is_active: false }],
      ['PUT', { username: 'root', email: '', roles: [], is_active: true }],
      ['DELETE', undefined],
    ] as const) {
      const response = await api(server, method, `/users/users/${rootId}/`, { session: root, body });
      expect(response.status, `${method} ${JSON.stringify(body)}`).toBe(409);
      expect(response.headers.get('content-type')).toMatch(/application\/json/);
      expect(await response.json()).toEqual(LAST_ADMIN);
      expect(await stillAdmin(rootId)).toBe(true);
    }
    // Other changes to the last admin still work.
    const renamed = await api(server, 'PATCH', `/users/users/${rootId}/`, {
      session: root,
      body: { roles: ['admin', 'x'] },
    });
    expect(renamed.status).toBe(200);
  });

  it('last admin: allows it once another active admin exists, and counts only active admins', async () => {
    const alice = await server.tessera.users.findByUsername('alice');
    if (!alice) throw new Error('no alice');
    // An inactive admin is no help in an emergency.
    await server.tessera.users.update(alice.id, { roles: ['admin'], isActive: false }, { actorId: null });
    const refused = await api(server, 'PATCH', `/users/users/${rootId}/`, { session: root, body: { roles: [] } });
    expect(refused.status).toBe(409);
    await server.tessera.users.update(alice.id, { isActive: true }, { actorId: null });
    const allowed = await api(server, 'PATCH', `/users/users/${rootId}/`, { session: root, body: { roles: [] } });
    expect(allowed.status).toBe(200);
    expect(await stillAdmin(rootId)).toBe(false);
  });

  it('last admin: two admins demoting each other at once leave one admin', async () => {
    const other = await server.createUser('other', PASSWORD, { admin: true });
    const otherSession = await login(server, 'other', PASSWORD);
    for (let round = 0; round < 3; round++) {
      const [a, b] = await Promise.all([
        api(server, 'PATCH', `/users/users/${other.id}/`, { session: root, body: { roles: [] } }),
        api(server, 'PATCH', `/users/users/${rootId}/`, { session: otherSession, body: { roles: [] } }),
      ]);
      // One wins; the other finds either that its actor is no admin any more (403) or that
      // its target is now the last admin (409).
      const statuses = [a.status, b.status].sort();
      expect(statuses[0], `round ${round}`).toBe(200);
      expect([403, 409], `round ${round}`).toContain(statuses[1]);
      const admins = [await stillAdmin(rootId), await stillAdmin(other.id)].filter(Boolean);
      expect(admins).toHaveLength(1);
      // Restore both as admins for the next round.
      await server.tessera.users.update(rootId, { roles: ['admin'] }, { actorId: null });
      await server.tessera.users.update(other.id, { roles: ['admin'] }, { actorId: null });
    }
  });

  it('last admin: two demotions racing in the core cannot both pass the check', async () => {
    const other = await server.createUser('other', PASSWORD, { admin: true });
    for (let round = 0; round < 5; round++) {
      const results = await Promise.allSettled([
        server.tessera.users.update(other.id, { roles: [] }, { actorId: rootId }),
        server.tessera.users.update(rootId, { isActive: false }, { actorId: other.id }),
      ]);
      expect(
        results.filter((r) => r.status === 'fulfilled'),
        `round ${round}`,
      ).toHaveLength(1);
      const refused = results.find((r) => r.status === 'rejected');
      expect(refused?.status === 'rejected' && (refused.reason as { code?: string }).code).toBe('LAST_ADMIN');
      expect([await stillAdmin(rootId), await stillAdmin(other.id)].filter(Boolean)).toHaveLength(1);
      await server.tessera.users.update(rootId, { roles: ['admin'], isActive: true }, { actorId: null });
      await server.tessera.users.update(other.id, { roles: ['admin'] }, { actorId: null });
    }
  });

  it('last admin: the CLI refuses to delete the last admin, with the reason', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tessera-last-admin-'));
    try {
      const env = cliEnv({ TESSERA_DATABASE_URL: server.databaseUrl, TESSERA_MASTER_KEY: TEST_MASTER_KEY });
      const result = await runCli(['user', 'delete', 'ROOT'], { cwd, env });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('last active admin');
      expect(await stillAdmin(rootId)).toBe(true);
      const alice = await runCli(['user', 'delete', 'alice'], { cwd, env });
      expect(alice.code, alice.stderr).toBe(0);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
