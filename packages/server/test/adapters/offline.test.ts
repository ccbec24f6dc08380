import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OfflineVerifier } from '../../src/adapters/offline.js';
import { createVerifier } from '../../src/adapters/verifier.js';
import { basicHeader } from '../helpers/credentials.js';
import { PASSWORD, startServer, type TestServer } from '../helpers/harness.js';
import { b64url, ed25519, forgeFrom } from '../helpers/jwt.js';
import { type App, call, FRAMEWORKS, type Framework, jwtFor, scopedToken, startApp } from './apps.js';

const MINUTE = 60_000;

/** A verifier clock the test moves, and a fetch that counts JWKS requests. */
function offline(url: string) {
  const state = { now: Date.now(), fetches: 0 };
  const verifier = createVerifier({
    mode: 'offline',
    url,
    clock: () => state.now,
    fetch: (input, init) => {
      state.fetches += 1;
      return fetch(input, init);
    },
  }) as OfflineVerifier;
  return { verifier, state };
}

/** An EdDSA JWT under a key the server never had, naming a `kid` it never published. */
function foreignJwt(sub: string): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ alg: 'EdDSA', kid: randomBytes(8).toString('hex'), typ: 'JWT' }));
  const payload = b64url(
    JSON.stringify({ iss: 'tessera', aud: 'tessera', sub, jti: 'x', iat: now, exp: now + 60, cid: 1, ckind: 'token' }),
  );
  return `Bearer ${header}.${payload}.${b64url(sign(null, Buffer.from(`${header}.${payload}`), privateKey))}`;
}

describe('middleware in offline mode', () => {
  let server: TestServer;
  let v: ReturnType<typeof offline>;
  const apps = {} as Record<Framework, App>;
  let alice: { id: number };
  let jwt: string;

  beforeAll(async () => {
    server = await startServer('sqlite');
    alice = await server.createUser('alice', PASSWORD);
    jwt = await jwtFor(server, basicHeader('alice', PASSWORD));
    v = offline(server.url);
    for (const framework of FRAMEWORKS) apps[framework] = await startApp(framework, v.verifier);
  });

  afterAll(async () => {
    for (const app of Object.values(apps)) await app.close();
    await server?.close();
  });

  const serverUrl = () => server.url;

  describe.each(FRAMEWORKS)('%s', (framework) => {
    it('accepts a Bearer JWT with the principal the token carries', async () => {
      const response = await call(apps[framework], '/whoami', { authorization: jwt });
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ userId: alice.id, username: null, roles: null, scopes: null });
    });

    it('refuses missing, malformed, opaque, foreign and expired tokens with 401', async () => {
      const missing = await call(apps[framework], '/whoami');
      expect(missing.status).toBe(401);
      expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="tessera"');
      const personal = await scopedToken(server, alice.id, null);
      for (const authorization of [
        'Bearer',
        'Bearer a.b',
        personal.header,
        'Token abc',
        foreignJwt(String(alice.id)),
      ]) {
        const response = await call(apps[framework], '/whoami', { authorization });
        expect({ authorization, status: response.status }).toEqual({ authorization, status: 401 });
        expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="tessera"/);
      }
      const tampered = `${jwt.slice(0, -4)}${jwt.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
      expect((await call(apps[framework], '/whoami', { authorization: tampered })).status).toBe(401);
      v.state.now += 10 * MINUTE;
      try {
        const expired = await call(apps[framework], '/whoami', { authorization: jwt });
        expect(expired.status).toBe(401);
        expect(expired.body).toEqual({ detail: 'The token has expired.' });
      } finally {
        v.state.now -= 10 * MINUTE;
      }
    });

    it('refuses a non-canonical base64url spelling of a valid token with 401, as the server does', async () => {
      // 64 signature bytes leave 4 spare bits in the last character: setting one changes the
      // text, not the bytes, so a lenient decoder would accept it (RFC 4648 3.5).
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const respelled = `${jwt.slice(0, -1)}${alphabet[alphabet.indexOf(jwt.at(-1) ?? '') | 1]}`;
      expect(respelled).not.toBe(jwt);
      const refused = await call(apps[framework], '/whoami', { authorization: respelled });
      expect(refused.status).toBe(401);
      expect(refused.body).toEqual({ detail: 'The token is not canonical base64url.' });
      const onServer = await fetch(`${serverUrl()}/v1/me`, { headers: { authorization: respelled } });
      expect(onServer.status).toBe(401);
      expect(await onServer.json()).toEqual(refused.body);
    });

    it('refuses a token signed by the server key with a b64 header with 401, as the server does (SECURITY F6)', async () => {
      const forged = forgeFrom(
        jwt.slice('Bearer '.length),
        { header: { b64: true } },
        ed25519(server.tessera.keyring.current.privateKey),
      );
      const refused = await call(apps[framework], '/whoami', { authorization: `Bearer ${forged}` });
      expect(refused.status).toBe(401);
      const onServer = await fetch(`${serverUrl()}/v1/me`, { headers: { authorization: `Bearer ${forged}` } });
      expect(onServer.status).toBe(401);
      expect(await onServer.json()).toEqual(refused.body);
    });

    it('allows 30 s of clock skew past exp, as the server does: 25 s past is accepted, 45 s past refused', async () => {
      const { exp } = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as { exp: number };
      const before = v.state.now;
      try {
        v.state.now = exp * 1000 + 25_000;
        expect((await call(apps[framework], '/whoami', { authorization: jwt })).status).toBe(200);
        v.state.now = exp * 1000 + 45_000;
        const late = await call(apps[framework], '/whoami', { authorization: jwt });
        expect(late.status).toBe(401);
        expect(late.body).toEqual({ detail: 'The token has expired.' });
      } finally {
        v.state.now = before;
      }
    });

    it('answers 403 for a missing scope, and for a role it cannot know', async () => {
      const reader = await jwtFor(server, (await scopedToken(server, alice.id, ['notes:read'])).header);
      const other = await jwtFor(server, (await scopedToken(server, alice.id, ['other'])).header);
      expect((await call(apps[framework], '/notes', { authorization: reader })).status).toBe(200);
      const refused = await call(apps[framework], '/notes', { authorization: other });
      expect(refused.status).toBe(403);
      expect(refused.body).toEqual({ detail: 'This credential lacks the "notes:read" scope.' });
      expect((await call(apps[framework], '/admin', { authorization: jwt })).status).toBe(403);
    });
  });

  it('checks issuer and audience as the server sets them', async () => {
    const strict = createVerifier({ mode: 'offline', url: server.url, audience: 'billing' });
    const result = await strict.verify({ headers: { authorization: jwt } });
    expect(result).toMatchObject({ ok: false, status: 401, detail: 'The token claim "aud" is invalid.' });
  });

  it('follows a key rotation mid-test: new tokens verify after one refetch, old ones keep verifying', async () => {
    const before = v.state.fetches;
    await server.tessera.keyring.rotate();
    v.state.now += 31_000; // past the refetch cooldown
    const fresh = await jwtFor(server, basicHeader('alice', PASSWORD));
    for (const framework of FRAMEWORKS) {
      expect((await call(apps[framework], '/whoami', { authorization: fresh })).status).toBe(200);
      expect((await call(apps[framework], '/whoami', { authorization: jwt })).status).toBe(200);
    }
    expect(v.state.fetches - before).toBe(1);
  });

  it('refetches on an unknown kid at most once per cooldown, and refuses it with 401', async () => {
    v.state.now += 31_000;
    const before = v.state.fetches;
    for (let i = 0; i < 5; i++) {
      const result = await v.verifier.verify({ headers: { authorization: foreignJwt(String(alice.id)) } });
      expect(result).toMatchObject({ ok: false, status: 401, detail: 'The token names an unknown key.' });
    }
    expect(v.state.fetches - before).toBe(1);
  });
});

describe('middleware in offline mode with the JWKS endpoint down', () => {
  it('keeps verifying with cached keys until the tokens expire, then answers 401; without keys 503', async () => {
    const server = await startServer('sqlite', { jwt: { issuer: 'tessera', audience: 'tessera', ttlMs: 30 * MINUTE } });
    let app: App | undefined;
    try {
      await server.createUser('alice', PASSWORD);
      const jwt = await jwtFor(server, basicHeader('alice', PASSWORD));
      const v = offline(server.url);
      app = await startApp('express', v.verifier);
      expect((await call(app, '/whoami', { authorization: jwt })).status).toBe(200);
      await server.close();
      // The key set is past its max-age (300 s) and cannot be fetched again: the known keys stay.
      v.state.now += 20 * MINUTE;
      expect((await call(app, '/whoami', { authorization: jwt })).status).toBe(200);
      v.state.now += 20 * MINUTE;
      const expired = await call(app, '/whoami', { authorization: jwt });
      expect(expired.status).toBe(401);
      expect(expired.body).toEqual({ detail: 'The token has expired.' });

      const cold = await startApp('fastify', offline(server.url).verifier);
      try {
        const down = await call(cold, '/whoami', { authorization: jwt });
        expect(down.status).toBe(503);
        expect(down.body).toEqual({ detail: 'The signing keys cannot be fetched; try again shortly.' });
        expect(down.headers.get('retry-after')).toBe('5');
      } finally {
        await cold.close();
      }
    } finally {
      await app?.close();
    }
  });
});
