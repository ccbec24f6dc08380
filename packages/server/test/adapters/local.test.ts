import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type LocalVerifier, type Verifier } from '../../src/adapters/verifier.js';
import { describeEachDatabase, PASSWORD, startServer, TEST_MASTER_KEY, type TestServer } from '../helpers/harness.js';
import {
  type App,
  call,
  FRAMEWORKS,
  type Framework,
  headerCredentials,
  login,
  type Session,
  scopedToken,
  startApp,
} from './apps.js';

describeEachDatabase('middleware in local mode', (kind) => {
  let server: TestServer;
  let verifier: Verifier;
  const apps = {} as Record<Framework, App>;
  let alice: { id: number };
  let credentials: Record<string, string>;

  beforeAll(async () => {
    server = await startServer(kind);
    alice = await server.createUser('alice', PASSWORD);
    await server.createUser('root', PASSWORD, { admin: true });
    credentials = await headerCredentials(server, 'alice');
    verifier = createVerifier({ mode: 'local', databaseUrl: server.databaseUrl, masterKey: TEST_MASTER_KEY });
    await (verifier as LocalVerifier).ready();
    for (const framework of FRAMEWORKS) apps[framework] = await startApp(framework, verifier);
  });

  afterAll(async () => {
    for (const app of Object.values(apps)) await app.close();
    await verifier?.close();
    await server?.close();
  });

  describe.each(FRAMEWORKS)('%s', (framework) => {
    it('accepts every credential kind the server accepts, with the right principal', async () => {
      for (const [name, authorization] of Object.entries(credentials)) {
        const response = await call(apps[framework], '/whoami', { authorization });
        expect({ name, status: response.status }).toEqual({ name, status: 200 });
        expect(response.body).toMatchObject({ userId: alice.id, username: 'alice', roles: [], scopes: null });
      }
      const session = await login(server, 'alice', PASSWORD);
      const bySession = await call(apps[framework], '/whoami', { cookie: session.cookie });
      expect(bySession.status).toBe(200);
      expect(bySession.body).toMatchObject({ userId: alice.id, credential: { kind: 'session' } });
    });

    it('refuses a missing credential with 401, a JSON detail and WWW-Authenticate', async () => {
      const response = await call(apps[framework], '/whoami');
      expect(response.status).toBe(401);
      expect(response.body).toEqual({ detail: 'Authentication credentials were not provided.' });
      expect(response.headers.get('www-authenticate')).toContain('Bearer');
    });

    it('refuses malformed and unknown credentials with 401', async () => {
      for (const authorization of ['Bearer', 'Token not-hex', 'Magic abc', `Token ${'0'.repeat(40)}`, 'Bearer a.b.c']) {
        const response = await call(apps[framework], '/whoami', { authorization });
        expect({ authorization, status: response.status }).toEqual({ authorization, status: 401 });
        expect(response.headers.get('www-authenticate')).toBeTruthy();
        expect(typeof (response.body as { detail: unknown }).detail).toBe('string');
      }
    });

    it('refuses an expired and a revoked token with 401', async () => {
      const expired = await scopedToken(server, alice.id, null, server.clock.now - 1_000);
      expect((await call(apps[framework], '/whoami', { authorization: expired.header })).status).toBe(401);
      const revoked = await scopedToken(server, alice.id, null);
      expect((await call(apps[framework], '/whoami', { authorization: revoked.header })).status).toBe(200);
      const info = await server.tessera.credentials.findInfo(revoked.id);
      if (!info) throw new Error('no credential');
      await server.tessera.issuer.revoke(info, { actorId: alice.id });
      // The middleware's Tessera is another instance on the same database: it must learn of
      // the revocation within a second (DESIGN), not necessarily at once.
      const revokedAt = Date.now();
      let status = 200;
      while (status !== 401 && Date.now() - revokedAt < 1_500) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        status = (await call(apps[framework], '/whoami', { authorization: revoked.header })).status;
      }
      expect(status).toBe(401);
      expect(Date.now() - revokedAt).toBeLessThan(1_500);
    });

    it('answers 403 when the credential lacks the scope or the user the role', async () => {
      const other = await scopedToken(server, alice.id, ['other']);
      const reader = await scopedToken(server, alice.id, ['notes:read']);
      const refused = await call(apps[framework], '/notes', { authorization: other.header });
      expect(refused.status).toBe(403);
      expect(refused.body).toEqual({ detail: 'This credential lacks the "notes:read" scope.' });
      expect((await call(apps[framework], '/notes', { authorization: reader.header })).status).toBe(200);
      expect((await call(apps[framework], '/notes', { authorization: credentials.drf ?? '' })).status).toBe(200);
      expect((await call(apps[framework], '/admin', { authorization: credentials.drf ?? '' })).status).toBe(403);
      const root = await scopedToken(server, (await server.tessera.users.findByUsername('root'))?.id ?? 0, null);
      expect((await call(apps[framework], '/admin', { authorization: root.header })).status).toBe(200);
    });

    it('refuses a cross-site Basic POST with 403, as the server does, and lets a script without Origin through', async () => {
      const basic = credentials.basic ?? '';
      const server403 = await fetch(`${server.url}/v1/token`, {
        method: 'POST',
        headers: { authorization: basic, origin: 'https://evil.example' },
      });
      expect(server403.status).toBe(403);
      const foreign = await call(
        apps[framework],
        '/notes',
        { authorization: basic, origin: 'https://evil.example' },
        'POST',
      );
      expect(foreign.status).toBe(403);
      expect(foreign.body).toEqual(await server403.json());
      const crossSite = await call(
        apps[framework],
        '/notes',
        { authorization: basic, 'sec-fetch-site': 'cross-site' },
        'POST',
      );
      expect(crossSite.status).toBe(403);
      expect((await call(apps[framework], '/notes', { authorization: basic }, 'POST')).status).toBe(201);
      expect(
        (await call(apps[framework], '/notes', { authorization: basic, origin: apps[framework].url }, 'POST')).status,
      ).toBe(201);
      // A safe method is not a forgery: cached Basic credentials may read.
      expect(
        (await call(apps[framework], '/whoami', { authorization: basic, origin: 'https://evil.example' })).status,
      ).toBe(200);
    });

    describe('CSRF for cookie sessions', () => {
      let session: Session;
      beforeAll(async () => {
        session = await login(server, 'alice', PASSWORD);
      });
      const post = (headers: Record<string, string>) => call(apps[framework], '/notes', headers, 'POST');

      it('lets safe methods through with the cookie alone', async () => {
        expect((await call(apps[framework], '/whoami', { cookie: session.cookie })).status).toBe(200);
      });

      it('refuses an unsafe method without the CSRF token, or with a wrong one, with 403', async () => {
        const missing = await post({ cookie: session.cookie });
        expect(missing.status).toBe(403);
        expect(missing.body).toEqual({ detail: 'CSRF Failed: CSRF token missing.' });
        const wrong = await post({ cookie: session.cookie, 'x-csrftoken': 'x'.repeat(session.csrfToken.length) });
        expect(wrong.status).toBe(403);
        expect(wrong.body).toEqual({ detail: 'CSRF Failed: CSRF token incorrect.' });
      });

      it('refuses the right token from a foreign origin with 403', async () => {
        const foreign = await post({
          cookie: session.cookie,
          'x-csrftoken': session.csrfToken,
          origin: 'https://evil.example',
        });
        expect(foreign.status).toBe(403);
        const crossSite = await post({
          cookie: session.cookie,
          'x-csrftoken': session.csrfToken,
          'sec-fetch-site': 'cross-site',
        });
        expect(crossSite.status).toBe(403);
      });

      it('accepts the right token from the same origin, and header credentials without any', async () => {
        const ok = await post({
          cookie: session.cookie,
          'x-csrftoken': session.csrfToken,
          origin: apps[framework].url,
        });
        expect(ok.status).toBe(201);
        expect((await post({ cookie: session.cookie, 'x-csrftoken': session.csrfToken })).status).toBe(201);
        expect((await post({ authorization: credentials.personal ?? '' })).status).toBe(201);
      });
    });
  });
});

describe('middleware in local mode without a database', () => {
  it('reports the failure to open from ready() and answers requests with 503', async () => {
    const verifier = createVerifier({
      mode: 'local',
      databaseUrl: 'postgres://nobody@127.0.0.1:9/none',
      masterKey: TEST_MASTER_KEY,
    }) as LocalVerifier;
    await expect(verifier.ready()).rejects.toThrow();
    const app = await startApp('express', verifier);
    try {
      const response = await call(app, '/whoami', { authorization: 'Token abc' });
      expect(response.status).toBe(503);
      expect(response.body).toEqual({ detail: 'The credential store cannot be reached.' });
    } finally {
      await app.close();
    }
  });
});
