import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { User } from '../../src/users/user.js';
import { apiKeyOf, tokenFor, whoamiStatusWith } from '../helpers/conjur.js';
import { basicHeader } from '../helpers/credentials.js';
import { describeEachDatabase, PASSWORD, startServer, type TestServer } from '../helpers/harness.js';
import { api } from '../helpers/requests.js';

/**
 * Issue 13 item 5: a Conjur token named a username, so deleting `eve` and creating a new
 * admin `eve` within the token's 8 minutes made eve's old token an admin. Signed tokens are
 * bound to the user's immutable id (SECURITY C6), checked on every use and cache re-check.
 */
describeEachDatabase('issue 13 item 5: a signed token never outlives its user', (kind) => {
  describe.each(['legacy', 'jws'] as const)('Conjur %s tokens', (format) => {
    let server: TestServer;
    let eve: User;

    beforeEach(async () => {
      server = await startServer(kind, { conjur: { ttlMs: 480_000, format, accounts: ['default'] } });
      eve = await server.createUser('eve', PASSWORD);
    });
    afterEach(() => server.close());

    it('refuses a deleted user’s token when a new admin of the same name exists, used before or not', async () => {
      const apiKey = await apiKeyOf(server, 'eve', PASSWORD);
      const used = await tokenFor(server, 'eve', apiKey);
      const unused = await tokenFor(server, 'eve', apiKey);
      expect(await whoamiStatusWith(server, used)).toBe(200);

      await server.tessera.users.delete(eve.id, { actorId: null });
      server.clock.advance(60_000); // well inside the 8 minutes
      const newEve = await server.createUser('eve', PASSWORD, { admin: true });
      expect(newEve.id).not.toBe(eve.id);

      expect(await whoamiStatusWith(server, used)).toBe(401);
      expect(await whoamiStatusWith(server, unused)).toBe(401);
      // Past the cache's re-check too.
      server.clock.advance(2_000);
      expect(await whoamiStatusWith(server, used)).toBe(401);
      // The new eve's own token is hers: the control.
      const fresh = await tokenFor(server, 'eve', await apiKeyOf(server, 'eve', PASSWORD));
      expect(await whoamiStatusWith(server, fresh)).toBe(200);
    });

    it('refuses a token once its user is renamed and another takes the name', async () => {
      const apiKey = await apiKeyOf(server, 'eve', PASSWORD);
      const used = await tokenFor(server, 'eve', apiKey);
      const unused = await tokenFor(server, 'eve', apiKey);
      expect(await whoamiStatusWith(server, used)).toBe(200);

      await server.tessera.users.update(eve.id, { username: 'eve-old' }, { actorId: null });
      await server.createUser('eve', PASSWORD, { admin: true });
      expect(await whoamiStatusWith(server, used)).toBe(401);
      expect(await whoamiStatusWith(server, unused)).toBe(401);
    });
  });

  describe('Basic-bought JWTs and user ids', () => {
    let server: TestServer;
    afterEach(() => server.close());

    it('refuses a JWT bought with a password once its user is deleted and re-created, and never reuses an id', async () => {
      server = await startServer(kind);
      const eve = await server.createUser('eve', PASSWORD);
      const bought = await api(server, 'POST', '/v1/token', {
        headers: { authorization: basicHeader('eve', PASSWORD) },
      });
      expect(bought.status).toBe(200);
      const { access_token: jwt } = (await bought.json()) as { access_token: string };
      const me = async () =>
        (await fetch(`${server.url}/v1/me`, { headers: { authorization: `Bearer ${jwt}` } })).status;
      expect(await me()).toBe(200);

      // eve is the newest row: a table without AUTOINCREMENT would hand her id out again.
      await server.tessera.users.delete(eve.id, { actorId: null });
      const newEve = await server.createUser('eve', PASSWORD, { admin: true });
      expect(newEve.id).toBeGreaterThan(eve.id);
      expect(await me()).toBe(401);
      server.clock.advance(2_000);
      expect(await me()).toBe(401);
    });
  });
});
