import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { apiKeyOf, tokenFor, tokenHeader, withAuthorization } from '../helpers/conjur.js';
import {
  describeEachDatabase,
  login,
  PASSWORD,
  type Session,
  startServer,
  type TestServer,
} from '../helpers/harness.js';
import { b64url, decodeParts, ed25519, forgeFrom, hs256, type JwsChanges, type Signer } from '../helpers/jwt.js';
import { bearerCalls, threeUsers } from '../helpers/native-api.js';
import { api } from '../helpers/requests.js';

/** SECURITY F (JWT / JWKS): each test is named by the requirement it proves. */

const TTL_SECONDS = 300;
const SKEW_MS = 30_000;
const INVALID_TOKEN = /^Bearer realm="tessera", error="invalid_token"$/;

interface Jwk {
  kty: string;
  crv: string;
  x: string;
  kid: string;
  alg: string;
  use: string;
}

describeEachDatabase('SECURITY F: JWT and JWKS', (kind) => {
  let server: TestServer;
  let admin: Session;
  let alice: Session;
  const ALICE_ID = 2;

  beforeEach(async () => {
    ({ server, admin, alice } = await threeUsers(kind));
  });
  afterEach(() => server.close());

  const { jwtFor, me, expectRefused } = bearerCalls(() => server);

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
  const forge = async (changes: JwsChanges, signer: Signer | null = ed25519(keyring().current.privateKey)) =>
    forgeFrom(await jwtFor(alice), changes, signer ?? undefined);

  it('F1 accepts a hand-crafted EdDSA token signed by the current key, the control for every forgery here', async () => {
    const token = await forge({ claims: { jti: b64url(randomBytes(16)) } });
    const used = await me(token);
    expect(used.status).toBe(200);
    expect(used.body.credential.kind).toBe('jwt');
  });

  it('F1 refuses alg none, in any case and whether signed or not', async () => {
    const kid = keyring().current.fingerprint;
    const headers = [
      { alg: 'none', typ: 'at+jwt' },
      { alg: 'none', typ: 'at+jwt', kid },
      { alg: 'None', typ: 'at+jwt', kid },
      { alg: 'NONE', typ: 'at+jwt', kid },
    ];
    for (const header of headers) {
      const unsigned = await forge({ header }, null);
      expect(unsigned.endsWith('.'), JSON.stringify(header)).toBe(true);
      await expectRefused(unsigned, JSON.stringify(header));
      // Nor does a real Ed25519 signature over the `none` header make it acceptable.
      await expectRefused(await forge({ header }), `${JSON.stringify(header)} signed`);
    }
  });

  it('F1 refuses RS256, the algorithm outside the key’s allow-list, whether signed by an RSA key or the Ed25519 key', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const header = { alg: 'RS256', typ: 'at+jwt', kid: keyring().current.fingerprint };
    await expectRefused(await forge({ header }, (input) => sign('sha256', input, rsa.privateKey)), 'RSA-signed');
    await expectRefused(await forge({ header }), 'Ed25519-signed under an RS256 header');
  });

  it('F2 refuses HS256 tokens keyed with any spelling of the public key bytes (CVE-2023-48223)', async () => {
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
        { alg: 'HS256', typ: 'at+jwt', kid: fingerprint },
        { alg: 'HS256', typ: 'at+jwt' },
      ]) {
        const detail = await expectRefused(await forge({ header }, hs256(secret)), label);
        expect(detail, label).toBe('The token algorithm is not allowed.');
      }
    }
  });

  it('F3 never trusts a key embedded in the header (jwk) nor fetches one from jku or x5u', async () => {
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

  it('F3 refuses a kid that is unknown, a path or SQL, and the keyring is untouched', async () => {
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

  it('F4 accepts a JWT within the 30 s clock skew after exp and refuses it with invalid_token after', async () => {
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

  it('F4 refuses a token without exp, with exp past the skew, with a future nbf or iat, or with times that are not numbers', async () => {
    const now = Math.floor(server.clock.now / 1000);
    const cases: Array<[string, Parameters<typeof forge>[0]]> = [
      ['no exp', { claims: { exp: undefined } }],
      // iat_ms moves with iat, so each refusal is down to the time named.
      ['exp in the past', { claims: { iat: now - 900, iat_ms: (now - 900) * 1000, exp: now - 600 } }],
      ['future nbf', { claims: { nbf: now + 3600 } }],
      ['future iat', { claims: { iat: now + 3600, iat_ms: (now + 3600) * 1000, exp: now + 3900 } }],
      ['iat a minute ahead', { claims: { iat: now + 60, iat_ms: (now + 60) * 1000 } }],
      ['exp as a string', { claims: { exp: String(now + 300) } }],
      ['iat as a string', { claims: { iat: String(now) } }],
      ['nbf as a string', { claims: { nbf: String(now) } }],
      ['exp as a boolean', { claims: { exp: true } }],
      ['exp as an array', { claims: { exp: [now + 300] } }],
      ['exp as null', { claims: { exp: null } }],
      ['exp as an object', { claims: { exp: { value: 1 } } }],
    ];
    for (const [label, changes] of cases) await expectRefused(await forge(changes), label);
  });

  it('F4 treats exp at exactly now, skew included, as expired', async () => {
    const token = await jwtFor(alice);
    const exp = Number(decodeParts(token).payload.exp) * 1000;
    server.clock.advance(exp + SKEW_MS - 1 - server.clock.now);
    expect((await me(token)).status).toBe(200);
    server.clock.advance(1);
    const expired = await me(token);
    expect(expired.status).toBe(401);
    expect(expired.body).toEqual({ detail: 'The token has expired.' });
  });

  it('F5 refuses a wrong or missing iss, aud or typ, and a payload that is not a JSON object', async () => {
    const cases: Array<[string, Parameters<typeof forge>[0]]> = [
      ['wrong aud', { claims: { aud: 'someone-else' } }],
      ['aud list without tessera', { claims: { aud: ['someone-else'] } }],
      ['no aud', { claims: { aud: undefined } }],
      ['wrong iss', { claims: { iss: 'https://evil.example' } }],
      ['no iss', { claims: { iss: undefined } }],
      // RFC 8725 3.11: only the bearer access-token type; the pre-upgrade `JWT` is refused too.
      ['typ JWT', { header: { typ: 'JWT' } }],
      ['typ conjur+jws', { header: { typ: 'conjur+jws' } }],
      ['typ application/at+jwt+x', { header: { typ: 'application/at+jwt+x' } }],
      ['no typ', { header: { typ: undefined } }],
      ['no token_kind', { claims: { token_kind: undefined } }],
      ['token_kind conjur', { claims: { token_kind: 'conjur' } }],
      ['no iat_ms', { claims: { iat_ms: undefined } }],
      ['iat_ms in another second', { claims: { iat_ms: server.clock.now - 5_000 } }],
      ['payload a JSON array', { payload: JSON.stringify([{ sub: String(ALICE_ID) }]) }],
      ['payload a JSON string', { payload: JSON.stringify('alice') }],
      ['payload null', { payload: 'null' }],
      ['payload not JSON', { payload: 'alice' }],
      ['no jti', { claims: { jti: undefined } }],
      ['no sub', { claims: { sub: undefined } }],
    ];
    for (const [label, changes] of cases) await expectRefused(await forge(changes), label);
  });

  it('F6 checks the signature before it trusts any claim: a bad signature is refused as such whatever the claims say', async () => {
    const attacker = generateKeyPairSync('ed25519');
    const now = Math.floor(server.clock.now / 1000);
    // Each of these claim sets would be refused for its own reason, were it signed; the
    // detail shows the signature was judged first, so no claim was read from an unverified token.
    const claimSets: Array<Record<string, unknown>> = [
      { sub: '1' },
      { exp: now - 3600, iat: now - 3900 },
      { iss: 'https://evil.example' },
      { nbf: now + 3600 },
    ];
    for (const claims of claimSets) {
      const token = await forge({ claims }, ed25519(attacker.privateKey));
      expect(await expectRefused(token, JSON.stringify(claims))).toBe('The token signature is invalid.');
    }
    const expiredRevocation = await forge({ claims: { exp: now - 3600 } }, ed25519(attacker.privateKey));
    const revoke = await api(server, 'POST', '/v1/token/revoke', {
      session: admin,
      body: { token: expiredRevocation },
    });
    expect(revoke.status).not.toBe(204);
    expect(revoke.status).toBeLessThan(500);
    expect(await server.tessera.database.db.selectFrom('revoked_jtis').selectAll().execute()).toEqual([]);
  });

  it('F9 signs with EdDSA by default: the header, the JWKS entry and node:crypto agree on Ed25519', async () => {
    const token = await jwtFor(alice);
    const { header } = decodeParts(token);
    expect(header).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt', kid: keyring().current.fingerprint });
    const { body } = await jwks();
    const [key] = body.keys;
    expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', kid: header.kid });
    const publicKey = keyring().current.publicKey;
    expect(publicKey.asymmetricKeyType).toBe('ed25519');
    expect(publicKey.export({ format: 'jwk' }).x).toBe(key?.x);
    const [protectedHeader, payload, signature] = token.split('.');
    const valid = verify(
      null,
      Buffer.from(`${protectedHeader}.${payload}`, 'ascii'),
      publicKey,
      Buffer.from(signature ?? '', 'base64url'),
    );
    expect(valid).toBe(true);
    expect(Buffer.from(signature ?? '', 'base64url')).toHaveLength(64);
  });

  it('F6 refuses four segments, two segments and the JWS JSON serialisations', async () => {
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

  it('F6 refuses crit and b64:false headers even with a valid signature', async () => {
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

  it('F7 keeps a revoked JWT refused until it expires, then drops its deny-list row on a later revocation', async () => {
    const deniedJtis = async () =>
      (await server.tessera.database.db.selectFrom('revoked_jtis').select('jti').orderBy('jti').execute()).map(
        (row) => row.jti,
      );
    const revoke = async (token: string) => {
      const session = await login(server, 'alice', PASSWORD);
      const response = await api(server, 'POST', '/v1/token/revoke', { session, body: { token } });
      expect(response.status, await response.text()).toBe(204);
      return String(decodeParts(token).payload.jti);
    };
    const first = await jwtFor(alice);
    const firstJti = await revoke(first);
    const expiresAt = Number(decodeParts(first).payload.exp) * 1000;

    // A second before exp + skew the signature check would still pass: only the row refuses
    // the token, so a revocation made now (which expires old rows) must leave it in place.
    server.clock.now = expiresAt + SKEW_MS - 1_000;
    expect((await me(first)).body.detail).toBe('The token has been revoked.');
    const second = await jwtFor(await login(server, 'alice', PASSWORD));
    const secondJti = await revoke(second);
    expect(await deniedJtis()).toEqual([firstJti, secondJti].sort());
    expect((await me(first)).body.detail).toBe('The token has been revoked.');

    // Past exp + skew the token is refused as expired without the row, and the next
    // revocation deletes the row; the unexpired one stays.
    server.clock.now = expiresAt + SKEW_MS + 1;
    const expired = await me(first);
    expect(expired.status).toBe(401);
    expect(expired.body.detail).toBe('The token has expired.');
    const third = await jwtFor(await login(server, 'alice', PASSWORD));
    const thirdJti = await revoke(third);
    expect(await deniedJtis()).toEqual([secondJti, thirdJti].sort());
    expect((await me(second)).body.detail).toBe('The token has been revoked.');
    expect((await me(third)).body.detail).toBe('The token has been revoked.');
  });

  it('F7 drains a backlog of expired deny-list rows a bounded batch per revocation, never a live one', async () => {
    const { db } = server.tessera.database;
    const past = server.clock.now - SKEW_MS - 1;
    // As an earlier release left the table: rows never deleted, long past their token's expiry.
    const backlog = Array.from({ length: 250 }, (_, i) => ({ jti: `old-${i}`, expires_at: past - i }));
    await db.insertInto('revoked_jtis').values(backlog).execute();
    const count = async () =>
      Number((await db.selectFrom('revoked_jtis').select(db.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

    const revoke = async () => {
      const token = await jwtFor(alice);
      const response = await api(server, 'POST', '/v1/token/revoke', { session: alice, body: { token } });
      expect(response.status).toBe(204);
      return token;
    };
    const live = await revoke();
    expect(await count()).toBe(151);
    await revoke();
    expect(await count()).toBe(52);
    await revoke();
    expect(await count()).toBe(3);
    expect((await me(live)).body.detail).toBe('The token has been revoked.');
  });

  it('F7 puts a JWT on the jti deny-list at its owner’s or an admin’s request, and tells anyone else 404', async () => {
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

  it('F8 publishes the JWKS with Cache-Control max-age and only public members', async () => {
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

  it('F8 keeps verifying old JWTs after a rotation and lists both keys in the JWKS', async () => {
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

  it('F8 drops a rotated key after its tokens have expired: the JWKS lists one key and what it signed is refused', async () => {
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
    const claims = { iat: now, iat_ms: server.clock.now, exp: now + TTL_SECONDS, jti: b64url(randomBytes(16)) };
    const byOld = await forge({ header: { kid: oldKey.fingerprint }, claims }, ed25519(oldKey.privateKey));
    expect(await expectRefused(byOld, 'fresh claims, retired key')).toBe('The token names an unknown key.');
    const byCurrent = await forge({ claims });
    expect((await me(byCurrent)).status).toBe(200);
  });
});

describeEachDatabase('SECURITY F10: Conjur token= values', (kind) => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer(kind);
    await server.createUser('donna', PASSWORD);
  });
  afterEach(() => server.close());

  it('F10 answers a token= value that is not strict base64 of a JSON object with 401, never 500', async () => {
    const key = await apiKeyOf(server, 'donna', PASSWORD);
    const token = await tokenFor(server, 'donna', key);
    const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64');
    const valid = b64(JSON.stringify(token));
    const malformed = [
      '',
      'not base64!',
      valid.slice(0, -1),
      `${valid}=`,
      `${valid.slice(0, 8)} ${valid.slice(8)}`,
      b64('not json at all'),
      b64('["donna"]'),
      b64(JSON.stringify([token])),
      b64('"donna"'),
      b64('null'),
      b64('42'),
      b64(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])),
      b64(JSON.stringify({ ...token, extra: 'member' })),
      b64(JSON.stringify({ ...token, data: 42 })),
      b64(JSON.stringify({ ...token, signature: 'AA' })),
      b64(JSON.stringify({ ...token, signature: '!!not-base64url!!' })),
      b64(JSON.stringify({ ...token, timestamp: 'yesterday' })),
      b64(JSON.stringify({ protected: 'x', payload: 'y', signature: 'z' })),
      b64(JSON.stringify({ protected: b64('{"alg":"none"}'), payload: b64('{"sub":"donna"}'), signature: '' })),
      b64(JSON.stringify({ protected: 42, payload: [], signature: null })),
      b64('{"__proto__":{"data":"donna"}}'),
      'A'.repeat(8000),
    ];
    for (const raw of malformed) {
      const response = await withAuthorization(server, tokenHeader({ raw }));
      expect(response.status, raw.slice(0, 60)).toBe(401);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    }
    expect((await withAuthorization(server, tokenHeader({ raw: valid }))).status).toBe(200);
  });

  it('F10 refuses a non-canonical base64 spelling of a valid token', async () => {
    const key = await apiKeyOf(server, 'donna', PASSWORD);
    const token = await tokenFor(server, 'donna', key);
    // JSON allows trailing spaces: pad the text so its base64 ends in "==", with four unused bits.
    let json = JSON.stringify(token);
    while (json.length % 3 !== 1) json += ' ';
    const canonical = Buffer.from(json).toString('base64');
    expect(canonical.endsWith('==')).toBe(true);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const last = alphabet.indexOf(canonical.at(-3) ?? '');
    const nonCanonical = `${canonical.slice(0, -3)}${alphabet[last + 1]}==`;
    // Lenient decoders read both spellings as the same bytes.
    expect(Buffer.from(nonCanonical, 'base64').toString('utf8')).toBe(json);

    expect((await withAuthorization(server, tokenHeader({ raw: canonical }))).status).toBe(200);
    const response = await withAuthorization(server, tokenHeader({ raw: nonCanonical }));
    expect(response.status).toBe(401);
  });
});
