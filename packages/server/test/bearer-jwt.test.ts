import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  describeEachDatabase,
  login,
  PASSWORD,
  type Session,
  startServer,
  type TestServer,
} from './helpers/harness.js';
import {
  b64url,
  craftJws,
  decodeParts,
  ed25519,
  hs256,
  joseEntryUrl,
  runNodeModule,
  type Signer,
} from './helpers/jwt.js';
import { api, rawRequest, sessionRows } from './helpers/requests.js';

const TTL_SECONDS = 300;
const SKEW_MS = 30_000;
const INVALID_TOKEN = /^Bearer realm="tessera", error="invalid_token"$/;

interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
}

interface Me {
  user: { id: number; username: string };
  credential: { kind: string; id: number };
  scopes: string[] | null;
}

interface Jwk {
  kty: string;
  crv: string;
  x: string;
  kid: string;
  alg: string;
  use: string;
}

describeEachDatabase('bearer JWTs (POST /v1/token, Authorization: Bearer <jwt>, JWKS)', (kind) => {
  let server: TestServer;
  let admin: Session;
  let alice: Session;
  const ADMIN_ID = 1;
  const ALICE_ID = 2;

  beforeEach(async () => {
    server = await startServer(kind);
    await server.createUser('admin', PASSWORD, { admin: true });
    await server.createUser('alice', PASSWORD);
    await server.createUser('bob', PASSWORD);
    admin = await login(server, 'admin', PASSWORD);
    alice = await login(server, 'alice', PASSWORD);
  });
  afterEach(() => server.close());

  /** `POST /v1/token` with these request headers (a cookie session brings its CSRF header). */
  const buy = (as: Session | Record<string, string>) =>
    'cookie' in as
      ? api(server, 'POST', '/v1/token', { session: as as Session })
      : api(server, 'POST', '/v1/token', { headers: as as Record<string, string> });

  /** A JWT bought with this credential; fails the test on anything but 200. */
  const jwtFor = async (as: Session | Record<string, string>): Promise<string> => {
    const response = await buy(as);
    const text = await response.text();
    expect(response.status, text).toBe(200);
    return (JSON.parse(text) as TokenResponse).access_token;
  };

  /** `GET /v1/me` with `Authorization: Bearer <token>`. */
  const me = async (token: string) => {
    const response = await fetch(`${server.url}/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    const text = await response.text();
    return {
      status: response.status,
      challenge: response.headers.get('www-authenticate'),
      body: JSON.parse(text) as Me & { detail?: string },
    };
  };

  /** Asserts the token is refused with a 401 that names the Bearer scheme; returns its detail. */
  const expectRefused = async (token: string, label: string): Promise<string | undefined> => {
    const response = await me(token);
    expect(response.status, label).toBe(401);
    expect(response.challenge, label).toMatch(/(^|, )Bearer realm="tessera"/);
    return response.body.detail;
  };

  const keyring = () => server.tessera.keyring;
  const jwks = async () => {
    const response = await fetch(`${server.url}/.well-known/jwks.json`);
    expect(response.status).toBe(200);
    return { response, body: (await response.json()) as { keys: Jwk[] } };
  };

  /**
   * A token crafted by hand from a real one's header and claims with changes, signed by the
   * current key unless another signer is given: so each refusal below is down to the change.
   */
  const forge = async (
    changes: { header?: Record<string, unknown>; claims?: Record<string, unknown>; payload?: string },
    signer: Signer | null = ed25519(keyring().current.privateKey),
  ) => {
    const { header, payload } = decodeParts(await jwtFor(alice));
    // A member set to undefined is left out: JSON.stringify drops it.
    return craftJws(
      { ...header, ...changes.header },
      changes.payload ?? { ...payload, ...changes.claims },
      signer ?? undefined,
    );
  };

  it('exchanges a session, a DRF token, a Frappe key pair, a Conjur token and a personal token for an EdDSA JWT', async () => {
    const drf = await api(server, 'POST', '/api-token-auth/', { body: { username: 'alice', password: PASSWORD } });
    expect(drf.status).toBe(200);
    const { token: drfKey } = (await drf.json()) as { token: string };
    const { apiKey, apiSecret } = await server.tessera.issuer.generateApiKeys(ALICE_ID, { actorId: null });
    const conjurKey = await server.tessera.issuer.conjurApiKey(ALICE_ID, { actorId: null });
    const conjur = await fetch(`${server.url}/api/authn/users/alice/authenticate`, { method: 'POST', body: conjurKey });
    expect(conjur.status).toBe(200);
    const conjurToken = Buffer.from(await conjur.text()).toString('base64');
    const personal = await server.tessera.issuer.personalToken(
      { userId: ALICE_ID, name: 'ci', expiresAt: null, scopes: null },
      { actorId: null },
    );
    const credentialId = async (credentialKind: string) => {
      const rows = await server.tessera.credentials.listForUser(ALICE_ID);
      const row = rows.find((r) => r.kind === credentialKind);
      expect(row, credentialKind).toBeDefined();
      return row?.id ?? -1;
    };

    const [session] = await sessionRows(server, ALICE_ID);
    const sources: Array<[string, Session | Record<string, string>, string, number]> = [
      ['a session cookie with X-CSRFToken', alice, 'session', session?.id ?? -1],
      ['a DRF token', { authorization: `Token ${drfKey}` }, 'drf', await credentialId('drf')],
      [
        'a Frappe key pair',
        { authorization: `token ${apiKey}:${apiSecret}` },
        'api-key',
        await credentialId('api-key'),
      ],
      ['a Conjur token', { authorization: `Token token="${conjurToken}"` }, 'conjur-token', 0],
      ['a personal token', { authorization: `Bearer ${personal.token}` }, 'personal', personal.info.id],
    ];
    const current = keyring().current;
    const fingerprint = createHash('sha256')
      .update(current.publicKey.export({ type: 'spki', format: 'der' }))
      .digest('hex');
    expect(current.fingerprint).toBe(fingerprint);
    const jtis = new Set<string>();

    for (const [label, as, sourceKind, sourceId] of sources) {
      const response = await buy(as);
      const text = await response.text();
      expect(response.status, `${label}: ${text}`).toBe(200);
      const body = JSON.parse(text) as TokenResponse;
      expect(Object.keys(body).sort(), label).toEqual(['access_token', 'expires_in', 'token_type']);
      expect(body.token_type, label).toBe('Bearer');
      expect(body.expires_in, label).toBe(TTL_SECONDS);
      expect(body.access_token, label).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{86}$/);

      const { header, payload } = decodeParts(body.access_token);
      expect(header, label).toEqual({ alg: 'EdDSA', typ: 'JWT', kid: fingerprint });
      const iat = Math.floor(server.clock.now / 1000);
      expect(payload, label).toMatchObject({
        iss: 'tessera',
        aud: 'tessera',
        sub: String(ALICE_ID),
        iat,
        exp: iat + 300,
      });
      expect(payload.jti, label).toMatch(/^[A-Za-z0-9_-]{22,}$/);
      jtis.add(String(payload.jti));
      expect(payload.ckind, label).toBe(sourceKind);
      expect(JSON.stringify(payload), label).not.toMatch(/password|argon2|secret/i);

      const used = await me(body.access_token);
      expect(used.status, label).toBe(200);
      expect(used.body.user, label).toMatchObject({ id: ALICE_ID, username: 'alice' });
      expect(used.body.credential.kind, label).toBe('jwt');
      // The token stands for the credential it was bought with (a Conjur token has no row: 0).
      expect(used.body.credential.id, label).toBe(sourceId);
      expect(payload.cid, label).toBe(sourceId);
    }
    expect(jtis.size).toBe(sources.length);
  });

  it('gives a JWT no more scope than the credential it was bought with', async () => {
    const personal = await server.tessera.issuer.personalToken(
      { userId: ALICE_ID, name: 'reader', expiresAt: null, scopes: ['read'] },
      { actorId: null },
    );
    const token = await jwtFor({ authorization: `Bearer ${personal.token}` });
    expect(decodeParts(token).payload.scope).toBe('read');
    const used = await me(token);
    expect(used.status).toBe(200);
    expect(used.body.scopes).toEqual(['read']);
    // Without the credentials scope, the JWT may not list credentials either.
    const list = await fetch(`${server.url}/v1/credentials`, { headers: { authorization: `Bearer ${token}` } });
    expect(list.status).toBe(403);
  });

  it('refuses to exchange a JWT for another JWT with 403', async () => {
    const token = await jwtFor(alice);
    const again = await buy({ authorization: `Bearer ${token}` });
    expect(again.status).toBe(403);
    expect(await again.json()).toEqual({ detail: expect.stringMatching(/JWT cannot be exchanged/) });
  });

  it('accepts a JWT within the 30 s clock skew after exp and refuses it with invalid_token after', async () => {
    const token = await jwtFor(alice);
    expect((await me(token)).status).toBe(200);
    const exp = Number(decodeParts(token).payload.exp) * 1000;

    server.clock.advance(exp + 20_000 - server.clock.now);
    expect((await me(token)).status).toBe(200);

    server.clock.advance(exp + SKEW_MS + 1_000 - server.clock.now);
    const expired = await me(token);
    expect(expired.status).toBe(401);
    expect(expired.challenge).toMatch(INVALID_TOKEN);
    expect(expired.body).toEqual({ detail: 'The token has expired.' });
  });

  it('accepts a hand-crafted token signed by the current key, so each forgery below fails for its own reason', async () => {
    const token = await forge({ claims: { jti: b64url(randomBytes(16)) } });
    const used = await me(token);
    expect(used.status).toBe(200);
    expect(used.body.credential.kind).toBe('jwt');
  });

  it('refuses alg none with an empty signature (SECURITY F1, CVE-2022-23540)', async () => {
    const kid = keyring().current.fingerprint;
    const headers = [
      { alg: 'none', typ: 'JWT' },
      { alg: 'none', typ: 'JWT', kid },
      { alg: 'None', typ: 'JWT', kid },
      { alg: 'NONE', typ: 'JWT', kid },
    ];
    for (const header of headers) {
      const unsigned = await forge({ header }, null);
      expect(unsigned.endsWith('.'), JSON.stringify(header)).toBe(true);
      await expectRefused(unsigned, JSON.stringify(header));
      // Nor does a real Ed25519 signature over the `none` header make it acceptable.
      await expectRefused(await forge({ header }), `${JSON.stringify(header)} signed`);
    }
  });

  it('refuses HS256 tokens keyed with the public key bytes (SECURITY F2, CVE-2022-23540, CVE-2023-48223)', async () => {
    const { publicKey, fingerprint } = keyring().current;
    const jwk = publicKey.export({ format: 'jwk' });
    const rawX = Buffer.from(String(jwk.x), 'base64url');
    expect(rawX).toHaveLength(32);
    const der = publicKey.export({ type: 'spki', format: 'der' });
    const pem = String(publicKey.export({ type: 'spki', format: 'pem' }));
    const secrets: Array<[string, Buffer | string]> = [
      ['the raw 32-byte x', rawX],
      ['the SPKI DER', der],
      ['the SPKI PEM', pem],
      ['the SPKI PEM without its final newline', pem.trimEnd()],
      ['x as base64url text', String(jwk.x)],
      ['the JWKS entry as JSON', JSON.stringify((await jwks()).body.keys[0])],
    ];
    for (const [label, secret] of secrets) {
      for (const header of [
        { alg: 'HS256', typ: 'JWT', kid: fingerprint },
        { alg: 'HS256', typ: 'JWT' },
      ]) {
        const detail = await expectRefused(await forge({ header }, hs256(secret)), label);
        expect(detail, label).toBe('The token algorithm is not allowed.');
      }
    }
  });

  it('refuses an RS256 token, whether signed by an RSA key or by the Ed25519 key', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const header = { alg: 'RS256', typ: 'JWT', kid: keyring().current.fingerprint };
    await expectRefused(await forge({ header }, (input) => sign('sha256', input, rsa.privateKey)), 'RSA-signed');
    await expectRefused(await forge({ header }), 'Ed25519-signed under an RS256 header');
  });

  it('never trusts a key embedded in the header (jwk) nor fetches one from jku or x5u (SECURITY F3)', async () => {
    const attacker = generateKeyPairSync('ed25519');
    const attackerJwk = { ...attacker.publicKey.export({ format: 'jwk' }), kid: 'attacker', alg: 'EdDSA', use: 'sig' };
    let fetches = 0;
    const lure = createServer((_req, res) => {
      fetches += 1;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [attackerJwk] }));
    });
    await new Promise<void>((resolve) => lure.listen(0, '127.0.0.1', resolve));
    const lureUrl = `http://127.0.0.1:${(lure.address() as AddressInfo).port}/jwks.json`;
    try {
      const kid = keyring().current.fingerprint;
      const headers: Array<Record<string, unknown>> = [
        { jwk: attackerJwk, kid },
        { jwk: attackerJwk, kid: 'attacker' },
        { jwk: attackerJwk, kid: undefined },
        { jku: lureUrl, kid: 'attacker' },
        { jku: lureUrl, kid },
        { x5u: lureUrl, kid: 'attacker' },
        { x5u: lureUrl, kid },
      ];
      for (const changes of headers) {
        const token = await forge({ header: changes }, ed25519(attacker.privateKey));
        const label = JSON.stringify(changes);
        const detail = await expectRefused(token, label);
        expect(detail, label).toMatch(/^The token (names an unknown key|signature is invalid)\.$/);
      }
      expect(fetches).toBe(0);
    } finally {
      await new Promise<void>((resolve) => lure.close(() => resolve()));
    }
  });

  it('refuses a kid that is unknown, a path or SQL, and the keyring is untouched', async () => {
    const kids: unknown[] = [
      randomBytes(32).toString('hex'),
      '../../etc/passwd',
      '/dev/null',
      "' OR 1=1 --",
      "x'; DELETE FROM signing_keys; --",
      '',
      42,
      null,
      [keyring().current.fingerprint],
    ];
    for (const kid of kids) {
      const label = `kid ${JSON.stringify(kid)}`;
      const detail = await expectRefused(await forge({ header: { kid } }), label);
      if (typeof kid === 'string') expect(detail, label).toBe('The token names an unknown key.');
    }
    const rows = await server.tessera.database.db.selectFrom('signing_keys').select('fingerprint').execute();
    expect(rows.map((r) => r.fingerprint)).toEqual([keyring().current.fingerprint]);
    expect((await me(await jwtFor(alice))).status).toBe(200);
  });

  it('refuses four segments, two segments and the JWS JSON serialisations (SECURITY F6)', async () => {
    const token = await jwtFor(alice);
    expect((await me(token)).status).toBe(200);
    const [protectedHeader, payload, signature] = token.split('.');
    const forms = [
      `${token}.${signature}`,
      `${token}.`,
      `${protectedHeader}.${payload}`,
      `.${payload}.${signature}`,
      JSON.stringify({ protected: protectedHeader, payload, signature }),
      JSON.stringify({ payload, signatures: [{ protected: protectedHeader, signature }] }),
      b64url(JSON.stringify({ protected: protectedHeader, payload, signature })),
    ];
    for (const form of forms) await expectRefused(form, form.slice(0, 60));
  });

  it('refuses a signature spelled with non-zero padding bits, so a token has one spelling only', async () => {
    const token = await jwtFor(alice);
    const variant = respell(token);
    expect(Buffer.from(variant.split('.')[2] ?? '', 'base64url')).toEqual(
      Buffer.from(token.split('.')[2] ?? '', 'base64url'),
    );
    expect(variant).not.toBe(token);
    await expectRefused(variant, 'respelled signature');
    expect((await me(token)).status).toBe(200);
  });

  it('refuses crit and b64:false headers even with a valid signature (SECURITY F6)', async () => {
    const headers: Array<Record<string, unknown>> = [
      { crit: ['exp'] },
      { crit: ['exp'], exp: 9_999_999_999 },
      { crit: ['urn:example:unknown'], 'urn:example:unknown': true },
      { crit: [] },
      { b64: false, crit: ['b64'] },
      { b64: false },
    ];
    for (const header of headers) await expectRefused(await forge({ header }), JSON.stringify(header));
  });

  it('refuses wrong aud or iss, future nbf or iat, non-numeric times, a wrong typ and a non-object payload (SECURITY F4, F5)', async () => {
    const now = Math.floor(server.clock.now / 1000);
    const cases: Array<[string, Parameters<typeof forge>[0]]> = [
      ['wrong aud', { claims: { aud: 'someone-else' } }],
      ['aud list without tessera', { claims: { aud: ['someone-else'] } }],
      ['wrong iss', { claims: { iss: 'https://evil.example' } }],
      ['no iss', { claims: { iss: undefined } }],
      ['future nbf', { claims: { nbf: now + 3600 } }],
      ['future iat', { claims: { iat: now + 3600, exp: now + 3900 } }],
      ['iat a minute ahead', { claims: { iat: now + 60 } }],
      ['exp as a string', { claims: { exp: String(now + 300) } }],
      ['iat as a string', { claims: { iat: String(now) } }],
      ['no exp', { claims: { exp: undefined } }],
      ['no jti', { claims: { jti: undefined } }],
      ['no sub', { claims: { sub: undefined } }],
      ['exp in the past', { claims: { iat: now - 900, exp: now - 600 } }],
      ['typ at+jwt', { header: { typ: 'at+jwt' } }],
      ['no typ', { header: { typ: undefined } }],
      ['payload a JSON array', { payload: JSON.stringify([{ sub: String(ALICE_ID) }]) }],
      ['payload a JSON string', { payload: JSON.stringify('alice') }],
      ['payload not JSON', { payload: 'alice' }],
    ];
    for (const [label, changes] of cases) await expectRefused(await forge(changes), label);
  });

  it('answers a ~2 MB token with 431 or 401, never a 5xx, and keeps serving', async () => {
    const huge = await forge({ claims: { pad: 'a'.repeat(2 * 1024 * 1024) } });
    expect(huge.length).toBeGreaterThan(2 * 1024 * 1024);
    let status: number;
    try {
      status = (await rawRequest(server, { path: '/v1/me', headers: { authorization: `Bearer ${huge}` } })).status;
    } catch (error) {
      // The server may answer 431 and close before the client has written the whole header.
      expect(String((error as NodeJS.ErrnoException).code)).toMatch(/^(ECONNRESET|EPIPE)$/);
      status = 431;
    }
    expect([401, 431]).toContain(status);
    // Just under the Authorization limit the scheme itself refuses it, with a 401.
    const large = await forge({ claims: { pad: 'a'.repeat(7000) } });
    await expectRefused(large, '8 KB token');
    expect((await me(await jwtFor(alice))).status).toBe(200);
  });

  it('refuses a JWT at once when the personal token it was bought with is deleted', async () => {
    const personal = await server.tessera.issuer.personalToken(
      { userId: ALICE_ID, name: 'ci', expiresAt: null, scopes: null },
      { actorId: null },
    );
    const token = await jwtFor({ authorization: `Bearer ${personal.token}` });
    expect((await me(token)).status).toBe(200);
    const deleted = await api(server, 'DELETE', `/v1/credentials/${personal.info.id}`, { session: alice });
    expect(deleted.status).toBe(204);
    const refused = await me(token);
    expect(refused.status).toBe(401);
    expect(refused.challenge).toMatch(INVALID_TOKEN);
    expect(refused.body).toEqual({ detail: 'The token has been revoked.' });
  });

  it('refuses a JWT at once when the session it was bought with logs out', async () => {
    const token = await jwtFor(alice);
    expect((await me(token)).status).toBe(200);
    const logout = await api(server, 'POST', '/authentication/logout/', { session: alice });
    expect(logout.status).toBe(200);
    const refused = await me(token);
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({ detail: 'The token has been revoked.' });
  });

  it('refuses a JWT at once when its user is deactivated', async () => {
    const personal = await server.tessera.issuer.personalToken(
      { userId: ALICE_ID, name: 'ci', expiresAt: null, scopes: null },
      { actorId: null },
    );
    const viaSession = await jwtFor(alice);
    const viaToken = await jwtFor({ authorization: `Bearer ${personal.token}` });
    for (const token of [viaSession, viaToken]) expect((await me(token)).status).toBe(200);
    const patch = await api(server, 'PATCH', `/users/users/${ALICE_ID}/`, {
      session: admin,
      body: { is_active: false },
    });
    expect(patch.status).toBe(200);
    for (const token of [viaSession, viaToken]) {
      const refused = await me(token);
      expect(refused.status).toBe(401);
      expect(refused.challenge).toMatch(INVALID_TOKEN);
    }
  });

  it('puts a JWT on the jti deny-list at its owner’s or an admin’s request, and tells anyone else 404 (SECURITY F7)', async () => {
    const bob = await login(server, 'bob', PASSWORD);
    const token = await jwtFor(alice);
    expect((await me(token)).status).toBe(200);

    const byBob = await api(server, 'POST', '/v1/token/revoke', { session: bob, body: { token } });
    expect(byBob.status).toBe(404);
    expect(await byBob.json()).toEqual({ detail: 'Not found.' });
    expect((await me(token)).status).toBe(200);

    const byOwner = await api(server, 'POST', '/v1/token/revoke', { session: alice, body: { token } });
    expect(byOwner.status).toBe(204);
    const refused = await me(token);
    expect(refused.status).toBe(401);
    expect(refused.challenge).toMatch(INVALID_TOKEN);
    expect(refused.body).toEqual({ detail: 'The token has been revoked.' });
    const { jti, exp } = decodeParts(token).payload;
    const denied = await server.tessera.database.db.selectFrom('revoked_jtis').selectAll().execute();
    expect(denied).toEqual([{ jti, expires_at: Number(exp) * 1000 }]);
    // Only this token: the session it came from and a new JWT from it still work.
    expect((await me(await jwtFor(alice))).status).toBe(200);

    const another = await jwtFor(alice);
    const byAdmin = await api(server, 'POST', '/v1/token/revoke', { session: admin, body: { token: another } });
    expect(byAdmin.status).toBe(204);
    expect((await me(another)).status).toBe(401);
  });

  it('refuses a revoked JWT at once in every spelling of it', async () => {
    const token = await jwtFor(alice);
    const variant = respell(token);
    expect((await me(token)).status).toBe(200);
    // Whatever the server makes of the variant before revocation, it must not outlive it.
    await me(variant);
    const revoked = await api(server, 'POST', '/v1/token/revoke', { session: alice, body: { token } });
    expect(revoked.status).toBe(204);
    expect((await me(token)).status).toBe(401);
    expect((await me(variant)).status).toBe(401);
  });

  it('keeps verifying old JWTs after a rotation and lists both keys in the JWKS', async () => {
    const old = await jwtFor(alice);
    const oldKid = keyring().current.fingerprint;
    const rotated = await keyring().rotate();
    expect(rotated.fingerprint).not.toBe(oldKid);
    const fresh = await jwtFor(alice);
    expect(decodeParts(fresh).header.kid).toBe(rotated.fingerprint);
    expect(decodeParts(old).header.kid).toBe(oldKid);
    expect((await me(old)).status).toBe(200);
    expect((await me(fresh)).status).toBe(200);
    const { body } = await jwks();
    expect(body.keys.map((k) => k.kid).sort()).toEqual([oldKid, rotated.fingerprint].sort());
  });

  it('drops a rotated key after its retireAfter: the JWKS lists one key and what it signed is refused (SECURITY F8)', async () => {
    const old = await jwtFor(alice);
    const oldKey = keyring().current;
    await keyring().rotate();
    const retired = keyring().keys.find((k) => k.fingerprint === oldKey.fingerprint);
    expect(retired?.retireAfter).toEqual(expect.any(Number));
    const retireAfter = retired?.retireAfter ?? 0;
    // A rotated key outlives every token it signed, skew included.
    expect(retireAfter).toBeGreaterThanOrEqual(Number(decodeParts(old).payload.exp) * 1000 + SKEW_MS);

    server.clock.advance(retireAfter + 1 - server.clock.now);
    await keyring().load();
    const { body } = await jwks();
    expect(body.keys.map((k) => k.kid)).toEqual([keyring().current.fingerprint]);
    const rows = await server.tessera.database.db.selectFrom('signing_keys').select('fingerprint').execute();
    expect(rows.map((r) => r.fingerprint)).toEqual([keyring().current.fingerprint]);
    await expectRefused(old, 'token signed by the retired key');

    // Fresh claims do not help: the retired key itself is gone.
    const now = Math.floor(server.clock.now / 1000);
    const claims = { iat: now, exp: now + TTL_SECONDS, jti: b64url(randomBytes(16)) };
    const byOld = await forge({ header: { kid: oldKey.fingerprint }, claims }, ed25519(oldKey.privateKey));
    expect(await expectRefused(byOld, 'fresh claims, retired key')).toBe('The token names an unknown key.');
    const byCurrent = await forge({ claims });
    expect((await me(byCurrent)).status).toBe(200);
  });

  it('publishes the JWKS with Cache-Control max-age and only public members (SECURITY F8)', async () => {
    const { response, body } = await jwks();
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('cache-control')).toMatch(/(^|[\s,])max-age=\d+/);
    expect(Object.keys(body)).toEqual(['keys']);
    expect(body.keys).toHaveLength(1);
    const [key] = body.keys;
    const current = keyring().current;
    expect(Object.keys(key ?? {}).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
    expect(key).toEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      x: current.publicKey.export({ format: 'jwk' }).x,
      kid: current.fingerprint,
      alg: 'EdDSA',
      use: 'sig',
    });
    const privateX = current.privateKey.export({ format: 'jwk' });
    const text = JSON.stringify(body);
    expect(text).not.toContain(String(privateX.d));
    expect(text).not.toMatch(/"(d|p|q|dp|dq|qi|k)"/);
  });

  it('lets another service verify a JWT offline with jose and the JWKS, in its own process, and refuse a tampered one', async () => {
    const token = await jwtFor(alice);
    const verifier = `
      import { createRemoteJWKSet, jwtVerify } from ${JSON.stringify(joseEntryUrl())};
      const [base, token] = process.argv.slice(2);
      const jwks = createRemoteJWKSet(new URL(base + '/.well-known/jwks.json'));
      try {
        const { payload } = await jwtVerify(token, jwks, { issuer: 'tessera', audience: 'tessera', algorithms: ['EdDSA'] });
        console.log(payload.sub);
      } catch (error) {
        console.error(error.code ?? String(error));
        process.exit(3);
      }
    `;
    const good = await runNodeModule(verifier, [server.url, token]);
    expect(good, good.stderr).toMatchObject({ code: 0 });
    expect(good.stdout.trim()).toBe(String(ALICE_ID));

    const { header, payload } = decodeParts(token);
    const signature = token.split('.')[2] ?? '';
    const asAdmin = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify({ ...payload, sub: String(ADMIN_ID) }))}.${signature}`;
    for (const tampered of [asAdmin, flipFirstChar(token)]) {
      const bad = await runNodeModule(verifier, [server.url, tampered]);
      expect(bad.code).toBe(3);
      expect(bad.stdout).toBe('');
      expect(bad.stderr).toMatch(/ERR_JWS_SIGNATURE_VERIFICATION_FAILED|ERR_JWS_INVALID/);
      await expectRefused(tampered, 'tampered');
    }
  });
});

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * The same token with its signature's last character changed in bits base64url leaves unused
 * (an 86-character Ed25519 signature has four): it decodes to the same 64 bytes.
 */
function respell(token: string): string {
  const last = token.at(-1) ?? 'A';
  const respelled = ALPHABET[ALPHABET.indexOf(last) ^ 0b0001] ?? last;
  return `${token.slice(0, -1)}${respelled}`;
}

/** The token with the first character of its signature changed. */
function flipFirstChar(token: string): string {
  const at = token.lastIndexOf('.') + 1;
  const char = token[at] === 'A' ? 'B' : 'A';
  return `${token.slice(0, at)}${char}${token.slice(at + 1)}`;
}
