import { afterEach, beforeEach, expect, it } from 'vitest';
import type { OfflineVerifier } from '../../src/adapters/offline.js';
import { createVerifier } from '../../src/adapters/verifier.js';
import { issueConjurToken } from '../../src/signing/conjur-token.js';
import type { User } from '../../src/users/user.js';
import {
  apiKeyOf,
  CONJUR_JWS_TYP,
  conjurTimestamp,
  legacySignedBytes,
  tokenFor,
  tokenHeader,
} from '../helpers/conjur.js';
import { basicHeader } from '../helpers/credentials.js';
import { describeEachDatabase, PASSWORD, startServer, type TestServer } from '../helpers/harness.js';
import { b64url, ed25519, forgeFrom } from '../helpers/jwt.js';
import { api } from '../helpers/requests.js';

/**
 * Issue 13 item 2: the signed token kinds share one keyring, so each must be unusable as any
 * other (RFC 8725 3.11; SECURITY F5): an explicit `typ` per kind, a claim naming the kind, and
 * `sub` read only by the kind that wrote it. Every kind is presented in every other kind's
 * wrapper, through the real server.
 */
describeEachDatabase('issue 13 item 2: signed token kinds are mutually unusable', (kind) => {
  let server: TestServer;
  let mallory: User;
  let admin: User;

  beforeEach(async () => {
    server = await startServer(kind, { conjur: { ttlMs: 480_000, format: 'jws', accounts: ['default'] } });
    mallory = await server.createUser('mallory', PASSWORD);
    // An admin whose username is mallory's numeric id: the name a JWT's `sub` spells.
    admin = await server.createUser(String(mallory.id), PASSWORD, { admin: true });
  });
  afterEach(() => server.close());

  /** `GET /v1/me` with an Authorization value: the status and, on 200, who it was. */
  const me = async (authorization: string) => {
    const response = await fetch(`${server.url}/v1/me`, { headers: { authorization } });
    const body = (await response.json()) as { user?: { id: number; username: string } };
    return { status: response.status, user: body.user ?? null };
  };

  /** A JWT bought with HTTP Basic through `POST /v1/token`. */
  const jwtOf = async (username: string): Promise<string> => {
    const response = await api(server, 'POST', '/v1/token', {
      headers: { authorization: basicHeader(username, PASSWORD) },
    });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    return (JSON.parse(text) as { access_token: string }).access_token;
  };

  it('does not take a JWT for user id N, re-wrapped as a Conjur JWS, as the user named "N"', async () => {
    const jwt = await jwtOf('mallory');
    expect(await me(`Bearer ${jwt}`)).toEqual({ status: 200, user: expect.objectContaining({ id: mallory.id }) });
    // The admin named "N" holds a Conjur token of their own: the server does issue the form.
    const adminToken = await tokenFor(server, admin.username, await apiKeyOf(server, admin.username, PASSWORD));
    expect(await me(tokenHeader(adminToken))).toEqual({ status: 200, user: expect.objectContaining({ id: admin.id }) });

    const [header = '', payload = '', signature = ''] = jwt.split('.');
    const wrapped = tokenHeader({ protected: header, payload, signature });
    expect(await me(wrapped)).toEqual({ status: 401, user: null });
    const whoami = await fetch(`${server.url}/api/authn/whoami`, { headers: { authorization: wrapped } });
    expect(whoami.status).toBe(401);
  });

  it('answers 401 to every signed kind in every other kind’s wrapper, and to opaque credentials in theirs', async () => {
    const jwt = await jwtOf('mallory');
    const apiKey = await apiKeyOf(server, 'mallory', PASSWORD);
    const jws = await tokenFor(server, 'mallory', apiKey);
    expect(Object.keys(jws).sort()).toEqual(['payload', 'protected', 'signature']);
    const { keyring } = server.tessera;
    const legacy = issueConjurToken(
      keyring,
      { login: 'mallory', userId: mallory.id, validAfter: 0 },
      server.clock.now,
      480_000,
      'legacy',
    );
    const personal = await api(server, 'POST', '/v1/credentials', {
      headers: { authorization: basicHeader('mallory', PASSWORD) },
      body: { name: 'kinds' },
    });
    expect(personal.status).toBe(201);
    const personalToken = ((await personal.json()) as { token: string }).token;

    // Each in its own wrapper is accepted: the control for every refusal below.
    for (const authorization of [`Bearer ${jwt}`, tokenHeader(jws), tokenHeader(legacy), `Bearer ${personalToken}`]) {
      expect(await me(authorization), authorization.slice(0, 20)).toMatchObject({ status: 200 });
    }

    const kid = keyring.current.fingerprint;
    const [jh = '', jp = '', js = ''] = jwt.split('.');
    const timestamp = conjurTimestamp(server.clock.now);
    const legacyBytes = legacySignedBytes('mallory', legacy.timestamp ?? '', mallory.id);
    const b64 = (value: unknown) =>
      Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64');
    const crossed: Array<[string, string]> = [
      // Bearer JWT in the Conjur wrappers.
      ['JWT as a Conjur JWS', tokenHeader({ protected: jh, payload: jp, signature: js })],
      ['JWT as a legacy Conjur token', tokenHeader({ data: 'mallory', timestamp, signature: js, key: kid })],
      [
        'JWT as a legacy Conjur token of "N"',
        tokenHeader({ data: admin.username, timestamp, signature: js, key: kid }),
      ],
      // Conjur JWS in the bearer and legacy wrappers.
      ['Conjur JWS as a compact bearer JWT', `Bearer ${jws.protected}.${jws.payload}.${jws.signature}`],
      ['Conjur JWS as a legacy token', tokenHeader({ data: 'mallory', timestamp, signature: jws.signature, key: kid })],
      // Conjur legacy in the JWS wrappers: its signed bytes as the payload.
      [
        'legacy token as a Conjur JWS',
        tokenHeader({
          protected: b64url(JSON.stringify({ alg: 'EdDSA', kid, typ: CONJUR_JWS_TYP })),
          payload: b64url(legacyBytes),
          signature: legacy.signature,
        }),
      ],
      [
        'legacy token as a bearer JWT',
        `Bearer ${b64url(JSON.stringify({ alg: 'EdDSA', kid, typ: 'at+jwt' }))}.${b64url(legacyBytes)}.${legacy.signature}`,
      ],
      ['legacy token JSON as a bearer value', `Bearer ${b64(legacy)}`],
      // Signed tokens in the opaque wrappers, and opaque credentials in the signed ones.
      ['JWT as a DRF token', `Token ${jwt}`],
      ['JWT as a Conjur token value', `Token token="${jwt}"`],
      ['Conjur JWS as a DRF token', `Token ${b64(jws)}`],
      ['Conjur API key as a bearer token', `Bearer ${apiKey}`],
      ['Conjur API key as a Conjur token', tokenHeader({ raw: b64(apiKey) })],
      ['personal token as a Conjur token', tokenHeader({ raw: b64(personalToken) })],
      ['personal token as a DRF token', `Token ${personalToken}`],
    ];
    for (const [label, authorization] of crossed) {
      expect(await me(authorization), label).toEqual({ status: 401, user: null });
    }
  });

  it('refuses, on the server, a JWT of the type used before at+jwt, even correctly signed', async () => {
    const jwt = await jwtOf('mallory');
    const signer = ed25519(server.tessera.keyring.current.privateKey);
    expect((await me(`Bearer ${forgeFrom(jwt, { claims: { jti: 'control' } }, signer)}`)).status).toBe(200);
    expect((await me(`Bearer ${forgeFrom(jwt, { header: { typ: 'JWT' } }, signer)}`)).status).toBe(401);
  });

  it('has the offline verifier accept the bearer type only: not a Conjur JWS, not the old JWT type', async () => {
    const verifier = createVerifier({ mode: 'offline', url: server.url, clock: server.clock.read }) as OfflineVerifier;
    try {
      const verify = (authorization: string) => verifier.verify({ headers: { authorization } });
      const jwt = await jwtOf('mallory');
      expect(await verify(`Bearer ${jwt}`)).toMatchObject({ ok: true, principal: { userId: mallory.id } });

      const jws = await tokenFor(server, 'mallory', await apiKeyOf(server, 'mallory', PASSWORD));
      const signer = ed25519(server.tessera.keyring.current.privateKey);
      const refused: Array<[string, string]> = [
        ['Conjur JWS joined into compact form', `${jws.protected}.${jws.payload}.${jws.signature}`],
        ['typ JWT', forgeFrom(jwt, { header: { typ: 'JWT' } }, signer)],
        ['typ conjur+jws', forgeFrom(jwt, { header: { typ: CONJUR_JWS_TYP } }, signer)],
        ['kind conjur', forgeFrom(jwt, { claims: { token_kind: 'conjur' } }, signer)],
      ];
      for (const [label, token] of refused) {
        expect(await verify(`Bearer ${token}`), label).toMatchObject({ ok: false, status: 401 });
      }
      // The same forgery path, changing nothing that matters, is accepted: the control.
      expect(await verify(`Bearer ${forgeFrom(jwt, { claims: { jti: 'control' } }, signer)}`)).toMatchObject({
        ok: true,
      });
    } finally {
      await verifier.close();
    }
  });
});
