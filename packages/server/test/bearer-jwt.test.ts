import { createHash } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeEachDatabase, PASSWORD, type Session, type TestServer } from './helpers/harness.js';
import { b64url, decodeParts, joseEntryUrl, runNodeModule } from './helpers/jwt.js';
import { bearerCalls, threeUsers } from './helpers/native-api.js';
import { api, sessionRows } from './helpers/requests.js';

const TTL_SECONDS = 300;
const INVALID_TOKEN = /^Bearer realm="tessera", error="invalid_token"$/;

interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
}

describeEachDatabase('bearer JWTs (POST /v1/token, Authorization: Bearer <jwt>, JWKS)', (kind) => {
  let server: TestServer;
  let admin: Session;
  let alice: Session;
  const ADMIN_ID = 1;
  const ALICE_ID = 2;

  beforeEach(async () => {
    ({ server, admin, alice } = await threeUsers(kind));
  });
  afterEach(() => server.close());

  const { buy, jwtFor, me, expectRefused } = bearerCalls(() => server);

  const keyring = () => server.tessera.keyring;
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
      // RFC 9068's access-token type and a claim naming the kind (RFC 8725 3.11).
      expect(header, label).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: fingerprint });
      const iat = Math.floor(server.clock.now / 1000);
      expect(payload, label).toMatchObject({
        iss: 'tessera',
        aud: 'tessera',
        sub: String(ALICE_ID),
        token_kind: 'bearer',
        iat,
        iat_ms: server.clock.now,
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
    expect(await again.json()).toEqual({ detail: expect.stringMatching(/JWT is short-lived/) });
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
