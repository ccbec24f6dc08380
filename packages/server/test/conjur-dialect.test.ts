import { generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { issueConjurToken } from '../src/signing/conjur-token.js';
import type { User } from '../src/users/user.js';
import {
  apiKeyOf,
  CONJUR_API_KEY_SHAPE,
  CONJUR_JWS_TYP,
  conjurAuthenticate,
  conjurJwsClaims,
  conjurLogin,
  conjurTimestamp,
  decodeSegment,
  fingerprintOf,
  legacySignedBytes,
  runBash,
  shellValues,
  signJwsToken,
  signLegacyToken,
  tokenFor,
  tokenHeader,
  whoamiStatusWith,
  withAuthorization,
} from './helpers/conjur.js';
import { basicHeader } from './helpers/credentials.js';
import { describeEachDatabase, PASSWORD, startServer, type TestServer } from './helpers/harness.js';

const MINUTE = 60_000;
/** DESIGN "conjur": tokens live 8 minutes by default; SECURITY E9: 480 s. */
const TTL_MS = 8 * MINUTE;
/** The default allowed clock skew. */
const SKEW_MS = 30_000;

/** Seed 004's flow, as its shell lines run it: curl, base64 and tr, with unquoted `$response`. */
const SEED_FLOW = [
  'set -euo pipefail',
  'basic="Authorization: Basic $(echo -n "donna:$PASSWORD" | base64)"',
  'api_key=$(curl -sS --fail -H "$basic" "$URL/api/authn/users/login")',
  'again=$(curl -sS --fail -D "$WORK/login-headers" -H "$basic" "$URL/api/authn/users/login")',
  'response=$(curl -sS --fail -X POST "$URL/api/authn/users/donna/authenticate" --data $api_key)',
  "token=$(echo -n $response | base64 | tr -d '\\r\\n')",
  'whoami_status=$(curl -sS -o "$WORK/whoami.json" -w "%{http_code}" -H "Authorization: Token token=\\"$token\\"" "$URL/api/authn/whoami")',
  'drf_status=$(curl -sS -o "$WORK/drf.json" -w "%{http_code}" -H "Authorization: Token token=\\"$token\\"" "$URL/api/whoami/")',
  'printf "api_key=%s\\nagain=%s\\nresponse=%s\\ntoken=%s\\nwhoami_status=%s\\ndrf_status=%s\\n" \\',
  '  "$api_key" "$again" "$response" "$token" "$whoami_status" "$drf_status"',
].join('\n');

describeEachDatabase('conjur dialect (seed 004)', (kind) => {
  let server: TestServer;
  let donna: User;
  beforeEach(async () => {
    server = await startServer(kind);
    donna = await server.createUser('donna', PASSWORD);
  });
  afterEach(() => server.close());

  /** Moves the server clock to a whole second, so a token's `timestamp` is exactly "now". */
  function alignClock(): number {
    server.clock.advance(1000 - (server.clock.now % 1000));
    return server.clock.now;
  }

  async function restartWith(overrides: Parameters<typeof startServer>[1]): Promise<void> {
    await server.close();
    server = await startServer(kind, overrides);
    donna = await server.createUser('donna', PASSWORD);
  }

  it("runs seed 004's curl flow: login gives the API key, authenticate a signed token, the base64 token calls whoami", async () => {
    const work = mkdtempSync(join(tmpdir(), 'tessera-conjur-curl-'));
    try {
      const result = await runBash(SEED_FLOW, { URL: server.url, PASSWORD, WORK: work });
      expect(result.code, result.stderr).toBe(0);
      const values = shellValues(result.stdout);

      const apiKey = values.get('api_key') ?? '';
      expect(apiKey).toMatch(CONJUR_API_KEY_SHAPE);
      expect(values.get('again')).toBe(apiKey);
      expect(readFileSync(join(work, 'login-headers'), 'utf8')).toMatch(/^content-type: text\/plain/im);

      const response = JSON.parse(values.get('response') ?? '') as Record<string, string>;
      expect(Object.keys(response).sort()).toEqual(['data', 'key', 'signature', 'timestamp']);
      expect(response.data).toBe('donna');
      expect(response.timestamp).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/);
      // The server's injected clock, not the wall clock, dates the token.
      expect(response.timestamp).toBe(conjurTimestamp(server.clock.now));
      const current = server.tessera.keyring.current;
      expect(response.key).toMatch(/^[0-9a-f]{64}$/);
      expect(response.key).toBe(current.fingerprint);
      expect(response.key).toBe(fingerprintOf(current.publicKey));
      expect(response.signature).toMatch(/^[A-Za-z0-9_-]+$/);
      const signed = legacySignedBytes(response.data ?? '', response.timestamp ?? '', donna.id);
      expect(verify(null, signed, current.publicKey, Buffer.from(response.signature ?? '', 'base64url'))).toBe(true);

      expect(values.get('token')).toBe(Buffer.from(values.get('response') ?? '').toString('base64'));
      expect(values.get('whoami_status')).toBe('200');
      expect(JSON.parse(readFileSync(join(work, 'whoami.json'), 'utf8'))).toMatchObject({
        username: 'donna',
        account: 'default',
      });
      expect(values.get('drf_status')).toBe('200');
      expect(JSON.parse(readFileSync(join(work, 'drf.json'), 'utf8'))).toMatchObject({ username: 'donna' });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('serves the API key as text/plain, the same one at every login until rotated', async () => {
    const first = await conjurLogin(server, basicHeader('donna', PASSWORD));
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^text\/plain/);
    const key = await first.text();
    expect(key).toMatch(CONJUR_API_KEY_SHAPE);
    expect(await apiKeyOf(server, 'donna', PASSWORD)).toBe(key);
    // The API key is itself a Basic secret for login, as in Conjur.
    expect(await apiKeyOf(server, 'donna', key)).toBe(key);
  });

  it('returns the token already base64-encoded when asked with Accept-Encoding: base64', async () => {
    const key = await apiKeyOf(server, 'donna', PASSWORD);
    const response = await conjurAuthenticate(server, 'donna', key, { headers: { 'accept-encoding': 'base64' } });
    expect(response.status).toBe(200);
    const encoded = await response.text();
    expect(encoded).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    const token = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as Record<string, string>;
    expect(token).toMatchObject({ data: 'donna', key: server.tessera.keyring.current.fingerprint });
    const me = await withAuthorization(server, `Token token="${encoded}"`);
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ username: 'donna' });
  });

  it("serves Conjur v5's /authn/{account} paths for a configured account and answers any other with 401", async () => {
    const login = await conjurLogin(server, basicHeader('donna', PASSWORD), '/authn/default/login');
    expect(login.status).toBe(200);
    const key = await login.text();
    expect(key).toBe(await apiKeyOf(server, 'donna', PASSWORD));

    const authenticated = await conjurAuthenticate(server, 'donna', key, { path: '/authn/default/donna/authenticate' });
    expect(authenticated.status).toBe(200);
    const token = (await authenticated.json()) as Record<string, string>;
    expect(token.data).toBe('donna');
    const me = await withAuthorization(server, tokenHeader(token), '/whoami');
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ username: 'donna', account: 'default' });

    const otherLogin = await conjurLogin(server, basicHeader('donna', PASSWORD), '/authn/other/login');
    expect(otherLogin.status).toBe(401);
    expect(await otherLogin.text()).toBe('');
    const otherAuthenticate = await conjurAuthenticate(server, 'donna', key, {
      path: '/authn/other/donna/authenticate',
    });
    expect(otherAuthenticate.status).toBe(401);
    expect(await otherAuthenticate.text()).toBe('');
    const otherRotate = await fetch(`${server.url}/authn/other/api_key`, {
      method: 'PUT',
      headers: { authorization: basicHeader('donna', PASSWORD) },
    });
    expect(otherRotate.status).toBe(401);
    expect(await apiKeyOf(server, 'donna', PASSWORD)).toBe(key);
  });

  it('refuses a token once its 8 minutes and the 30 s skew have passed, and accepts it just under 8 minutes', async () => {
    const key = await apiKeyOf(server, 'donna', PASSWORD);
    const token = await tokenFor(server, 'donna', key);
    server.clock.advance(TTL_MS - 1000);
    expect(await whoamiStatusWith(server, token)).toBe(200);
    server.clock.advance(31_000 + 1000);
    expect(await whoamiStatusWith(server, token)).toBe(401);
  });

  it('ends a token at exactly its timestamp plus the TTL plus the skew', async () => {
    const key = await apiKeyOf(server, 'donna', PASSWORD);
    const issuedAt = alignClock();
    const token = await tokenFor(server, 'donna', key);
    expect(token.timestamp).toBe(conjurTimestamp(issuedAt));
    server.clock.advance(TTL_MS + SKEW_MS - 1);
    expect(await whoamiStatusWith(server, token)).toBe(200);
    server.clock.advance(1);
    expect(await whoamiStatusWith(server, token)).toBe(401);
    // A verified token is remembered; the memory must not outlive the token either.
    server.clock.advance(MINUTE);
    expect(await whoamiStatusWith(server, token)).toBe(401);
  });

  it('follows a configured token lifetime instead of the default 8 minutes', async () => {
    await restartWith({ conjur: { ttlMs: MINUTE, format: 'legacy', accounts: ['default'] } });
    const key = await apiKeyOf(server, 'donna', PASSWORD);
    alignClock();
    const token = await tokenFor(server, 'donna', key);
    server.clock.advance(MINUTE + SKEW_MS - 1);
    expect(await whoamiStatusWith(server, token)).toBe(200);
    server.clock.advance(1);
    expect(await whoamiStatusWith(server, token)).toBe(401);
  });

  it('refuses a token dated beyond the allowed skew in the future, and accepts one within it', async () => {
    const now = alignClock();
    const current = server.tessera.keyring.current;
    expect(await whoamiStatusWith(server, signLegacyToken(current, 'donna', now + SKEW_MS - 1000, donna.id))).toBe(200);
    expect(await whoamiStatusWith(server, signLegacyToken(current, 'donna', now + SKEW_MS + 1000, donna.id))).toBe(401);
  });

  it('refuses a token whose data, timestamp or signature was changed with 401', async () => {
    await server.createUser('root', PASSWORD, { admin: true });
    const key = await apiKeyOf(server, 'donna', PASSWORD);
    const token = await tokenFor(server, 'donna', key);
    const signature = token.signature ?? '';
    const later = conjurTimestamp(Date.parse((token.timestamp ?? '').replace(' ', 'T').replace(' UTC', 'Z')) + MINUTE);
    expect(later).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/);
    const tampered = [
      { ...token, data: 'root' },
      { ...token, timestamp: later },
      { ...token, signature: `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}` },
    ];
    for (const forged of tampered) {
      const response = await withAuthorization(server, tokenHeader(forged));
      expect(response.status, JSON.stringify(forged)).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Token realm="conjur"/);
    }
    expect(await whoamiStatusWith(server, token)).toBe(200);
  });

  it('refuses a token that names an unknown key, or the current key but was signed by another', async () => {
    const key = await apiKeyOf(server, 'donna', PASSWORD);
    const token = await tokenFor(server, 'donna', key);
    expect(await whoamiStatusWith(server, { ...token, key: randomBytes(32).toString('hex') })).toBe(401);
    // The seed's own `key` is a 32-hex value: a shape the keyring never holds.
    expect(await whoamiStatusWith(server, { ...token, key: 'f4479babe7006e5c7ec4fc4e8c0d5370' })).toBe(401);
    expect(await whoamiStatusWith(server, { ...token, key: '../../etc/passwd' })).toBe(401);

    const foreign = generateKeyPairSync('ed25519');
    const now = server.clock.now;
    const selfNamed = signLegacyToken(
      { privateKey: foreign.privateKey, fingerprint: fingerprintOf(foreign.publicKey) },
      'donna',
      now,
      donna.id,
    );
    expect(await whoamiStatusWith(server, selfNamed)).toBe(401);
    const borrowedName = signLegacyToken(
      { privateKey: foreign.privateKey, fingerprint: server.tessera.keyring.current.fingerprint },
      'donna',
      now,
      donna.id,
    );
    expect(await whoamiStatusWith(server, borrowedName)).toBe(401);
    expect(await whoamiStatusWith(server, token)).toBe(200);
  });

  it('refuses a valid token under a misspelt scheme or parameter with 401', async () => {
    const key = await apiKeyOf(server, 'donna', PASSWORD);
    const token = await tokenFor(server, 'donna', key);
    const encoded = Buffer.from(JSON.stringify(token)).toString('base64');
    for (const authorization of [
      `Bearer token="${encoded}"`,
      `Token tokn="${encoded}"`,
      `Tokens token="${encoded}"`,
      `Token ${encoded}`,
      `token="${encoded}"`,
    ]) {
      const response = await withAuthorization(server, authorization);
      expect(response.status, authorization.slice(0, 12)).toBe(401);
    }
    expect((await withAuthorization(server, `Token token="${encoded}"`)).status).toBe(200);
  });

  it('refuses a token signature spelt in non-canonical base64url, as the JWT verifier does', async () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    /** The same bytes with a spare bit after the last whole byte set. */
    const respell = (segment: string) => {
      const spareBits = (segment.length * 6) % 8;
      expect(spareBits).toBeGreaterThan(0);
      const respelt = `${segment.slice(0, -1)}${alphabet[alphabet.indexOf(segment.at(-1) ?? '') + 1]}`;
      expect(Buffer.from(respelt, 'base64url').equals(Buffer.from(segment, 'base64url'))).toBe(true);
      return respelt;
    };
    const now = alignClock();
    const current = server.tessera.keyring.current;
    const legacy = signLegacyToken(current, 'donna', now, donna.id);
    expect(await whoamiStatusWith(server, legacy)).toBe(200);
    expect(await whoamiStatusWith(server, { ...legacy, signature: respell(legacy.signature ?? '') })).toBe(401);

    const iat = Math.floor(now / 1000);
    const jws = signJwsToken(
      current.privateKey,
      { alg: 'EdDSA', kid: current.fingerprint, typ: CONJUR_JWS_TYP },
      conjurJwsClaims('donna', donna.id, iat * 1000, 60),
    );
    expect(await whoamiStatusWith(server, jws)).toBe(200);
    expect(await whoamiStatusWith(server, { ...jws, signature: respell(jws.signature ?? '') })).toBe(401);
  });

  it('answers bad credentials with 401 and an empty body, as Conjur does', async () => {
    await server.createUser('root', PASSWORD);
    const key = await apiKeyOf(server, 'donna', PASSWORD);
    const refusals: Array<[string, Promise<Response>]> = [
      ['wrong password', conjurLogin(server, basicHeader('donna', 'not the password'))],
      ['unknown user', conjurLogin(server, basicHeader('nobody-here', PASSWORD))],
      ['no header', fetch(`${server.url}/api/authn/users/login`)],
      ['Basic garbage', conjurLogin(server, 'Basic %%%')],
      ['Basic without colon', conjurLogin(server, `Basic ${Buffer.from('donna').toString('base64')}`)],
      ['another user with the key', conjurLogin(server, basicHeader('root', key))],
      [
        'unknown key',
        conjurAuthenticate(
          server,
          'donna',
          key.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')),
        ),
      ],
      ['key of another login', conjurAuthenticate(server, 'root', key)],
      ['unknown login', conjurAuthenticate(server, 'nobody-here', key)],
      ['empty body', conjurAuthenticate(server, 'donna', '')],
      ['password as key', conjurAuthenticate(server, 'donna', PASSWORD)],
    ];
    for (const [name, pending] of refusals) {
      const response = await pending;
      expect(response.status, name).toBe(401);
      expect(await response.text(), name).toBe('');
    }
    expect((await conjurAuthenticate(server, 'donna', key)).status).toBe(200);
  });

  it('authenticates logins with @ . + in them, percent-encoded or not, and an NFD spelling of an NFC name', async () => {
    await server.createUser('donna.smith+ops@example.com', PASSWORD);
    const email = await apiKeyOf(server, 'donna.smith+ops@example.com', PASSWORD);
    for (const path of [
      '/api/authn/users/donna.smith+ops@example.com/authenticate',
      `/api/authn/users/${encodeURIComponent('donna.smith+ops@example.com')}/authenticate`,
      '/authn/default/donna.smith%2Bops%40example.com/authenticate',
    ]) {
      const response = await conjurAuthenticate(server, '', email, { path });
      expect(response.status, path).toBe(200);
      const token = (await response.json()) as Record<string, string>;
      expect(token.data).toBe('donna.smith+ops@example.com');
      expect(await whoamiStatusWith(server, token)).toBe(200);
    }

    const nfc = 'zo\u00eb';
    const nfd = 'zoe\u0308';
    await server.createUser(nfc, PASSWORD);
    const key = await apiKeyOf(server, nfd, PASSWORD);
    expect(await apiKeyOf(server, nfd, key)).toBe(key);
    const token = await tokenFor(server, nfd, key);
    expect(token.data).toBe(nfc);
    expect(await whoamiStatusWith(server, token)).toBe(200);
  });

  it('takes surrounding whitespace off the API key body, as from a file with a newline', async () => {
    const key = await apiKeyOf(server, 'donna', PASSWORD);
    const response = await conjurAuthenticate(server, 'donna', `${key}\n`, {
      headers: { 'content-type': 'text/plain' },
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as Record<string, string>).data).toBe('donna');
  });

  it('rotates the API key with Basic login:password, and the old key stops at once', async () => {
    const old = await apiKeyOf(server, 'donna', PASSWORD);
    expect((await conjurAuthenticate(server, 'donna', old)).status).toBe(200);
    const rotated = await fetch(`${server.url}/api/authn/users/api_key`, {
      method: 'PUT',
      headers: { authorization: basicHeader('donna', PASSWORD) },
    });
    expect(rotated.status).toBe(200);
    expect(rotated.headers.get('content-type')).toMatch(/^text\/plain/);
    const fresh = await rotated.text();
    expect(fresh).toMatch(CONJUR_API_KEY_SHAPE);
    expect(fresh).not.toBe(old);

    const withOld = await conjurAuthenticate(server, 'donna', old);
    expect(withOld.status).toBe(401);
    expect(await withOld.text()).toBe('');
    expect((await conjurLogin(server, basicHeader('donna', old))).status).toBe(401);
    expect((await conjurAuthenticate(server, 'donna', fresh)).status).toBe(200);
    expect(await apiKeyOf(server, 'donna', PASSWORD)).toBe(fresh);
  });

  it('rotates the API key with Basic login:api_key, on the seed and the v5 path', async () => {
    const first = await apiKeyOf(server, 'donna', PASSWORD);
    const second = await fetch(`${server.url}/api/authn/users/api_key`, {
      method: 'PUT',
      headers: { authorization: basicHeader('donna', first) },
    });
    expect(second.status).toBe(200);
    const secondKey = await second.text();
    expect(secondKey).toMatch(CONJUR_API_KEY_SHAPE);
    expect(secondKey).not.toBe(first);
    expect((await conjurAuthenticate(server, 'donna', first)).status).toBe(401);

    const third = await fetch(`${server.url}/authn/default/api_key`, {
      method: 'PUT',
      headers: { authorization: basicHeader('donna', secondKey) },
    });
    expect(third.status).toBe(200);
    const thirdKey = await third.text();
    expect(thirdKey).not.toBe(secondKey);
    expect((await conjurAuthenticate(server, 'donna', secondKey)).status).toBe(401);
    expect((await conjurAuthenticate(server, 'donna', thirdKey)).status).toBe(200);
  });

  it('keeps verifying a rotated signing key until its tokens have expired, then drops it everywhere', async () => {
    const apiKey = await apiKeyOf(server, 'donna', PASSWORD);
    const old = server.tessera.keyring.current;
    const before = await tokenFor(server, 'donna', apiKey);
    expect(before.key).toBe(old.fingerprint);
    const lastOldIssue = server.clock.now;

    const fresh = await server.tessera.keyring.rotate();
    expect(fresh.fingerprint).not.toBe(old.fingerprint);
    expect(server.tessera.keyring.current.fingerprint).toBe(fresh.fingerprint);
    // First used after the rotation, so it is verified, not remembered.
    expect(await whoamiStatusWith(server, before)).toBe(200);
    expect(await whoamiStatusWith(server, signLegacyToken(old, 'donna', server.clock.now, donna.id))).toBe(200);
    const after = await tokenFor(server, 'donna', apiKey);
    expect(after.key).toBe(fresh.fingerprint);
    expect(await whoamiStatusWith(server, after)).toBe(200);

    const jwksKids = async () => {
      const response = await fetch(`${server.url}/.well-known/jwks.json`);
      expect(response.status).toBe(200);
      return ((await response.json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
    };
    expect((await jwksKids()).sort()).toEqual([old.fingerprint, fresh.fingerprint].sort());

    const retiring = server.tessera.keyring.keys.find((k) => k.fingerprint === old.fingerprint);
    const retireAfter = retiring?.retireAfter ?? 0;
    // The old key must outlive every token it signed (SECURITY F8).
    expect(retireAfter).toBeGreaterThanOrEqual(lastOldIssue + TTL_MS + SKEW_MS);
    server.clock.advance(retireAfter - server.clock.now);
    await server.tessera.keyring.load();

    expect(server.tessera.keyring.keys.map((k) => k.fingerprint)).toEqual([fresh.fingerprint]);
    expect(await jwksKids()).toEqual([fresh.fingerprint]);
    const stored = await server.tessera.database.db.selectFrom('signing_keys').select('fingerprint').execute();
    expect(stored.map((r) => r.fingerprint)).toEqual([fresh.fingerprint]);
    // A token the retired key signs now, fresh in every other respect, is refused.
    expect(await whoamiStatusWith(server, signLegacyToken(old, 'donna', server.clock.now, donna.id))).toBe(401);
    expect(await whoamiStatusWith(server, signLegacyToken(fresh, 'donna', server.clock.now, donna.id))).toBe(200);
  });

  it("issues today's JWS format when configured: EdDSA, the key's fingerprint as kid, 480 s between iat and exp", async () => {
    await restartWith({ conjur: { ttlMs: 480_000, format: 'jws', accounts: ['default'] } });
    const apiKey = await apiKeyOf(server, 'donna', PASSWORD);
    const now = server.clock.now;
    const token = await tokenFor(server, 'donna', apiKey);
    expect(Object.keys(token).sort()).toEqual(['payload', 'protected', 'signature']);
    const current = server.tessera.keyring.current;
    expect(decodeSegment(token.protected ?? '')).toEqual({
      alg: 'EdDSA',
      kid: current.fingerprint,
      typ: CONJUR_JWS_TYP,
    });
    const payload = decodeSegment(token.payload ?? '');
    expect(payload).toEqual(conjurJwsClaims('donna', donna.id, now, 480));
    const signingInput = Buffer.from(`${token.protected}.${token.payload}`);
    expect(verify(null, signingInput, current.publicKey, Buffer.from(token.signature ?? '', 'base64url'))).toBe(true);

    const me = await withAuthorization(server, tokenHeader(token));
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ username: 'donna' });
    const v5 = await conjurAuthenticate(server, 'donna', apiKey, { path: '/authn/default/donna/authenticate' });
    expect(Object.keys((await v5.json()) as object).sort()).toEqual(['payload', 'protected', 'signature']);

    server.clock.advance(TTL_MS + SKEW_MS + 1000);
    expect(await whoamiStatusWith(server, token)).toBe(401);
  });

  it('accepts either format signed by its own key, whichever it issues', async () => {
    const now = server.clock.now;
    const donnaSubject = { login: 'donna', userId: donna.id, validAfter: 0 };
    const jwsOnLegacy = issueConjurToken(server.tessera.keyring, donnaSubject, now, TTL_MS, 'jws');
    expect(jwsOnLegacy).toHaveProperty('protected');
    expect(await whoamiStatusWith(server, jwsOnLegacy)).toBe(200);

    await restartWith({ conjur: { ttlMs: 480_000, format: 'jws', accounts: ['default'] } });
    const legacyOnJws = issueConjurToken(
      server.tessera.keyring,
      { login: 'donna', userId: donna.id, validAfter: 0 },
      server.clock.now,
      TTL_MS,
      'legacy',
    );
    expect(legacyOnJws).toHaveProperty('data', 'donna');
    expect(await whoamiStatusWith(server, legacyOnJws)).toBe(200);
    // The other server's token is not this one's: its key is unknown here.
    expect(await whoamiStatusWith(server, jwsOnLegacy)).toBe(401);
  });

  it("holds a JWS to this server's TTL whatever its exp claims, and refuses a JWS with a bad header", async () => {
    const iat = Math.floor(alignClock() / 1000);
    const current = server.tessera.keyring.current;
    const header = { alg: 'EdDSA', kid: current.fingerprint, typ: CONJUR_JWS_TYP };
    const claims = conjurJwsClaims('donna', donna.id, iat * 1000, 60);
    const longLived = signJwsToken(current.privateKey, header, { ...claims, exp: iat + 3600 });
    expect(await whoamiStatusWith(server, longLived)).toBe(200);

    const refused = [
      signJwsToken(current.privateKey, { ...header, alg: 'none' }, claims),
      signJwsToken(current.privateKey, { ...header, crit: ['exp'] }, claims),
      signJwsToken(current.privateKey, { alg: 'EdDSA', typ: CONJUR_JWS_TYP }, claims),
      signJwsToken(current.privateKey, header, { ...claims, iat: iat + 0.5 }),
      signJwsToken(current.privateKey, header, { ...claims, iat: String(iat) }),
      signJwsToken(current.privateKey, header, {
        ...claims,
        iat: iat - 120,
        iat_ms: (iat - 120) * 1000,
        exp: iat - 60,
      }),
      signJwsToken(generateKeyPairSync('ed25519').privateKey, header, claims),
    ];
    for (const token of refused) expect(await whoamiStatusWith(server, token), JSON.stringify(token)).toBe(401);

    server.clock.advance(TTL_MS + SKEW_MS);
    expect(await whoamiStatusWith(server, longLived)).toBe(401);
  });

  it('ends a token the moment its user is deactivated, with the API key', async () => {
    const apiKey = await apiKeyOf(server, 'donna', PASSWORD);
    const token = await tokenFor(server, 'donna', apiKey);
    expect(await whoamiStatusWith(server, token)).toBe(200);

    await server.tessera.users.update(donna.id, { isActive: false }, { actorId: null });
    // The clock has not moved: no re-check interval or cache lifetime is waited out.
    expect(await whoamiStatusWith(server, token)).toBe(401);
    const authenticate = await conjurAuthenticate(server, 'donna', apiKey);
    expect(authenticate.status).toBe(401);
    expect(await authenticate.text()).toBe('');
    const login = await conjurLogin(server, basicHeader('donna', PASSWORD));
    expect(login.status).toBe(401);
    expect(await login.text()).toBe('');
  });
});
