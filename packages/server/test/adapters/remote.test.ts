import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RemoteVerifier } from '../../src/adapters/remote.js';
import { createVerifier } from '../../src/adapters/verifier.js';
import { basicHeader } from '../helpers/credentials.js';
import { PASSWORD, startServer, type TestServer } from '../helpers/harness.js';
import {
  type App,
  call,
  FRAMEWORKS,
  type Framework,
  headerCredentials,
  jwtFor,
  login,
  scopedToken,
  startApp,
} from './apps.js';

function introspect(server: TestServer, authorization: string | undefined, body: unknown) {
  return fetch(`${server.url}/v1/introspect`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization !== undefined && { authorization }) },
    body: JSON.stringify(body),
  });
}

describe('POST /v1/introspect', () => {
  let server: TestServer;
  let caller: string;
  let alice: { id: number };

  beforeAll(async () => {
    server = await startServer('sqlite');
    alice = await server.createUser('alice', PASSWORD);
    const service = await server.createUser('service', PASSWORD);
    caller = (await scopedToken(server, service.id, ['introspect'])).header;
  });
  afterAll(() => server?.close());

  it('describes an active credential in RFC 7662 terms', async () => {
    const expiresAt = Date.now() + 3_600_000;
    const token = await scopedToken(server, alice.id, ['notes:read', 'notes:write'], expiresAt);
    const response = await introspect(server, caller, { token: token.header });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      active: true,
      sub: String(alice.id),
      username: 'alice',
      scope: 'notes:read notes:write',
      exp: Math.floor(expiresAt / 1000),
      kind: 'personal',
      roles: [],
    });
    const jwt = (await (await introspect(server, caller, { token: await jwtFor(server, token.header) })).json()) as {
      exp: number;
    };
    expect(jwt).toMatchObject({ active: true, kind: 'jwt', scope: 'notes:read notes:write' });
    expect(jwt.exp).toBeGreaterThan(Date.now() / 1000);
  });

  it('says only {"active": false} of an invalid, malformed or revoked credential', async () => {
    const revoked = await scopedToken(server, alice.id, null);
    const info = await server.tessera.credentials.findInfo(revoked.id);
    if (!info) throw new Error('no credential');
    await server.tessera.issuer.revoke(info, { actorId: alice.id });
    for (const token of [
      `Token ${'0'.repeat(40)}`,
      'Bearer',
      'nonsense',
      basicHeader('alice', 'wrong'),
      revoked.header,
    ]) {
      const response = await introspect(server, caller, { token });
      expect(await response.json()).toEqual({ active: false });
    }
  });

  it('refuses callers without the introspect scope with 403, anonymous ones with 401', async () => {
    const other = await scopedToken(server, alice.id, ['notes:read']);
    const unscoped = await scopedToken(server, alice.id, null);
    const token = unscoped.header;
    for (const authorization of [other.header, unscoped.header, basicHeader('alice', PASSWORD)]) {
      const response = await introspect(server, authorization, { token });
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ detail: 'This credential lacks the "introspect" scope.' });
    }
    const session = await login(server, 'alice', PASSWORD);
    const bySession = await fetch(`${server.url}/v1/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: session.cookie, 'x-csrftoken': session.csrfToken },
      body: JSON.stringify({ token }),
    });
    expect(bySession.status).toBe(403);
    expect((await introspect(server, undefined, { token })).status).toBe(401);
  });

  it('asks for the token field with 400', async () => {
    const response = await introspect(server, caller, {});
    expect(response.status).toBe(400);
  });
});

describe('middleware in remote mode', () => {
  let server: TestServer;
  const state = { now: Date.now(), calls: 0 };
  let verifier: RemoteVerifier;
  const apps = {} as Record<Framework, App>;
  let alice: { id: number };
  let credentials: Record<string, string>;

  beforeAll(async () => {
    server = await startServer('sqlite');
    alice = await server.createUser('alice', PASSWORD);
    await server.createUser('root', PASSWORD, { admin: true });
    const service = await server.createUser('service', PASSWORD);
    credentials = await headerCredentials(server, 'alice');
    verifier = createVerifier({
      mode: 'remote',
      url: server.url,
      credential: (await scopedToken(server, service.id, ['introspect'])).header,
      cacheTtlMs: 5_000,
      negativeCacheTtlMs: 1_000,
      maxEntries: 50,
      clock: () => state.now,
      fetch: (input, init) => {
        state.calls += 1;
        return fetch(input, init);
      },
    }) as RemoteVerifier;
    for (const framework of FRAMEWORKS) apps[framework] = await startApp(framework, verifier);
  });

  afterAll(async () => {
    for (const app of Object.values(apps)) await app.close();
    await server?.close();
  });

  describe.each(FRAMEWORKS)('%s', (framework) => {
    it('accepts every header credential kind, with the principal the server describes', async () => {
      for (const [name, authorization] of Object.entries(credentials)) {
        const response = await call(apps[framework], '/whoami', { authorization });
        expect({ name, status: response.status }).toEqual({ name, status: 200 });
        expect(response.body).toMatchObject({ userId: alice.id, username: 'alice', roles: [], scopes: null });
      }
    });

    it('refuses missing, malformed, unknown and expired credentials with 401', async () => {
      const missing = await call(apps[framework], '/whoami');
      expect(missing.status).toBe(401);
      expect(missing.headers.get('www-authenticate')).toBeTruthy();
      const expired = await scopedToken(server, alice.id, null, server.clock.now - 1_000);
      const session = await login(server, 'alice', PASSWORD);
      for (const headers of [
        { authorization: 'Bearer' },
        { authorization: `Token ${'1'.repeat(40)}` },
        { authorization: expired.header },
        { cookie: session.cookie },
      ]) {
        const response = await call(apps[framework], '/whoami', headers);
        expect({ headers, status: response.status }).toEqual({ headers, status: 401 });
      }
    });

    it('answers 403 for a missing scope or role', async () => {
      const other = await scopedToken(server, alice.id, ['other']);
      const reader = await scopedToken(server, alice.id, ['notes:read']);
      expect((await call(apps[framework], '/notes', { authorization: other.header })).status).toBe(403);
      expect((await call(apps[framework], '/notes', { authorization: reader.header })).status).toBe(200);
      expect((await call(apps[framework], '/admin', { authorization: reader.header })).status).toBe(403);
      const root = await scopedToken(server, (await server.tessera.users.findByUsername('root'))?.id ?? 0, null);
      expect((await call(apps[framework], '/admin', { authorization: root.header })).status).toBe(200);
    });
  });

  it('caches answers for the configured time, so a revocation shows within it', async () => {
    const token = await scopedToken(server, alice.id, null);
    const before = state.calls;
    for (let i = 0; i < 3; i++)
      expect((await call(apps.express, '/whoami', { authorization: token.header })).status).toBe(200);
    expect(state.calls - before).toBe(1);
    const info = await server.tessera.credentials.findInfo(token.id);
    if (!info) throw new Error('no credential');
    await server.tessera.issuer.revoke(info, { actorId: alice.id });
    state.now += 4_000; // still within the 5 s window: the cached answer stands
    expect((await call(apps.hono, '/whoami', { authorization: token.header })).status).toBe(200);
    state.now += 1_001; // past it: asked again, and refused
    expect((await call(apps.fastify, '/whoami', { authorization: token.header })).status).toBe(401);
    expect(state.calls - before).toBe(2);
  });

  it('caches refusals separately, for the shorter negative time', async () => {
    const bad = `Token ${'2'.repeat(40)}`;
    const before = state.calls;
    await verifier.verify({ headers: { authorization: bad } });
    await verifier.verify({ headers: { authorization: bad } });
    expect(state.calls - before).toBe(1);
    state.now += 1_001;
    await verifier.verify({ headers: { authorization: bad } });
    expect(state.calls - before).toBe(2);
  });

  it('keeps the cache bounded, dropping the oldest answers first', async () => {
    const tokens = [];
    for (let i = 0; i < 51; i++) tokens.push(`Token ${i.toString(16).padStart(40, 'a')}`);
    for (const authorization of tokens) await verifier.verify({ headers: { authorization } });
    const before = state.calls;
    await verifier.verify({ headers: { authorization: tokens[50] ?? '' } });
    expect(state.calls - before).toBe(0);
    await verifier.verify({ headers: { authorization: tokens[0] ?? '' } });
    expect(state.calls - before).toBe(1);
  });

  it('answers 503, never a crash, when the server cannot be asked', async () => {
    const dead = createVerifier({ mode: 'remote', url: 'http://127.0.0.1:9', credential: 'Bearer tsr_x' });
    const app = await startApp('hono', dead);
    try {
      const response = await call(app, '/whoami', { authorization: credentials.drf ?? '' });
      expect(response.status).toBe(503);
      expect((response.body as { detail: string }).detail).toMatch(/^The authentication server cannot be asked/);
    } finally {
      await app.close();
    }
  });
});
