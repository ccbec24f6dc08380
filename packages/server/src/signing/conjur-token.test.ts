import { sign, verify } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freshDatabase, TEST_MASTER_KEY, TestClock } from '../../test/helpers/harness.js';
import { resolveConfig } from '../config.js';
import { openTessera, type Tessera } from '../tessera.js';
import {
  type ConjurVerdict,
  decodeConjurHeader,
  formatTimestamp,
  issueConjurToken,
  legacyStamp,
  verifyConjurToken,
} from './conjur-token.js';
import type { SigningKey } from './keyring.js';

const TTL_MS = 8 * 60_000;
const SKEW_MS = 30_000;
const LIMITS = { ttlMs: TTL_MS, skewMs: SKEW_MS };
/** Mid-second on purpose: the legacy timestamp keeps whole seconds only. */
const START = Date.UTC(2026, 0, 15, 12, 0, 0, 250);
const START_SECOND = Date.UTC(2026, 0, 15, 12, 0, 0);

/** The users the tokens name: login → immutable id. */
const IDS: Record<string, number> = { alice: 7, 'zoë@example': 8, bob: 9 };
const ALICE = { login: 'alice', userId: 7, validAfter: 0 };
const userIdOf = async (login: string) => IDS[login];

/** The header value a client sends: `Token token="<this>"`, standard base64 of the JSON. */
function encode(token: unknown): string {
  return Buffer.from(JSON.stringify(token), 'utf8').toString('base64');
}

function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8').toString('base64url');
}

describe('Conjur access tokens (issueConjurToken, decodeConjurHeader, verifyConjurToken)', () => {
  let tessera: Tessera;
  let clock: TestClock;
  let dispose: () => Promise<void>;

  beforeEach(async () => {
    const database = await freshDatabase('sqlite');
    dispose = database.dispose;
    clock = new TestClock();
    clock.now = START;
    const config = resolveConfig(
      {},
      { databaseUrl: database.url, masterKey: { kind: 'env', value: TEST_MASTER_KEY }, logLevel: 'silent' },
    );
    tessera = await openTessera(config, { clock: clock.read });
  });
  afterEach(async () => {
    await tessera.close();
    await dispose();
  });

  const check = (token: Record<string, unknown>, now = clock.now): Promise<ConjurVerdict> =>
    verifyConjurToken(token, tessera.keyring, now, LIMITS, userIdOf);

  /** Decodes the header form, then verifies: the path a request takes. */
  const roundTrip = async (token: unknown, now = clock.now): Promise<ConjurVerdict> => {
    const decoded = decodeConjurHeader(encode(token));
    if (typeof decoded === 'string') throw new Error(decoded);
    return check(decoded, now);
  };

  /** A legacy token signed by hand, so that a refusal can only be down to what was changed. */
  const signedLegacy = (
    data: string,
    timestamp: string,
    key: SigningKey = tessera.keyring.current,
    uid: number | undefined = IDS[data],
  ) => ({
    data,
    timestamp,
    signature: sign(null, Buffer.from(JSON.stringify({ data, timestamp, uid })), key.privateKey).toString('base64url'),
    key: key.fingerprint,
  });

  /** A JWS token signed by hand from header and claims as given. */
  const signedJws = (header: unknown, claims: unknown, key: SigningKey = tessera.keyring.current) => {
    const protectedHeader = b64url(header);
    const payload = b64url(claims);
    const signature = sign(null, Buffer.from(`${protectedHeader}.${payload}`), key.privateKey).toString('base64url');
    return { protected: protectedHeader, payload, signature };
  };

  const reasonOf = (verdict: ConjurVerdict) => (verdict.ok ? 'ok' : verdict.reason);

  describe('the legacy form {data, timestamp, signature, key}', () => {
    it('issues data, a UTC timestamp in whole seconds, a base64url Ed25519 signature and the key fingerprint', () => {
      const token = issueConjurToken(tessera.keyring, ALICE, clock.now, TTL_MS, 'legacy');
      const { current } = tessera.keyring;
      expect(Object.keys(token).sort()).toEqual(['data', 'key', 'signature', 'timestamp']);
      expect(token.data).toBe('alice');
      expect(token.timestamp).toBe('2026-01-15 12:00:00 UTC');
      expect(token.key).toBe(current.fingerprint);
      expect(token.signature).toMatch(/^[A-Za-z0-9_-]{86}$/);
      // Signed over the canonical JSON {"data":…,"timestamp":…,"uid":…}: keys sorted, no spaces.
      const canonical = Buffer.from('{"data":"alice","timestamp":"2026-01-15 12:00:00 UTC","uid":7}');
      expect(verify(null, canonical, current.publicKey, Buffer.from(token.signature ?? '', 'base64url'))).toBe(true);
    });

    it('round-trips through the header encoding to the login, issued at the timestamp, for the TTL', async () => {
      const token = issueConjurToken(tessera.keyring, ALICE, clock.now, TTL_MS, 'legacy');
      expect(await roundTrip(token)).toEqual({
        ok: true,
        claims: { login: 'alice', userId: 7, issuedAt: START_SECOND, expiresAt: START_SECOND + TTL_MS },
      });
      const unicode = issueConjurToken(
        tessera.keyring,
        { login: 'zoë@example', userId: 8, validAfter: 0 },
        clock.now,
        TTL_MS,
        'legacy',
      );
      expect(await roundTrip(unicode)).toMatchObject({ ok: true, claims: { login: 'zoë@example', userId: 8 } });
    });

    it('binds the signature to the user id that data names: another id, no id or no such user is refused', async () => {
      const timestamp = formatTimestamp(clock.now);
      const { current } = tessera.keyring;
      const bare = sign(null, Buffer.from(JSON.stringify({ data: 'alice', timestamp })), current.privateKey);
      const cases: Array<[string, Record<string, unknown>]> = [
        // The form signed before the id was bound: a token of a deleted user with the same name.
        [
          'no uid signed',
          { data: 'alice', timestamp, signature: bare.toString('base64url'), key: current.fingerprint },
        ],
        ['another user id', signedLegacy('alice', timestamp, current, 8)],
        ['a login no user has', signedLegacy('mallory', timestamp, current, 7)],
      ];
      for (const [label, token] of cases) {
        expect(reasonOf(await check(token)), label).toBe('The token signature is invalid.');
      }
      expect(reasonOf(await check(signedLegacy('alice', timestamp)))).toBe('ok');
    });

    it('stamps a token minted in the second of a valid-after move after it, and no other', () => {
      const move = START_SECOND + 500;
      // Before the move, in its second: the plain stamp, below the instant (so refused later).
      expect(legacyStamp(START_SECOND + 200, move)).toBe(START_SECOND);
      // After the move, in its second: the next whole second, at or above the instant.
      expect(legacyStamp(START_SECOND + 700, move)).toBe(START_SECOND + 1000);
      expect(legacyStamp(move, move)).toBe(START_SECOND + 1000);
      // A later second, or an instant on a whole second: the plain stamp.
      expect(legacyStamp(START_SECOND + 1200, move)).toBe(START_SECOND + 1000);
      expect(legacyStamp(START_SECOND + 700, START_SECOND)).toBe(START_SECOND);
      const token = issueConjurToken(
        tessera.keyring,
        { ...ALICE, validAfter: move },
        START_SECOND + 700,
        TTL_MS,
        'legacy',
      );
      expect(token.timestamp).toBe('2026-01-15 12:00:01 UTC');
    });

    it('lives until its end plus the skew, and is refused from that instant', async () => {
      const token = issueConjurToken(tessera.keyring, ALICE, clock.now, TTL_MS, 'legacy');
      const end = START_SECOND + TTL_MS + SKEW_MS;
      expect(reasonOf(await roundTrip(token, end - 1))).toBe('ok');
      expect(reasonOf(await roundTrip(token, end))).toBe('The token has expired.');
    });

    it('refuses a timestamp further ahead than the skew', async () => {
      const ahead = (ms: number) => signedLegacy('alice', formatTimestamp(START_SECOND + ms));
      expect(reasonOf(await check(ahead(SKEW_MS)))).toBe('ok');
      expect(reasonOf(await check(ahead(SKEW_MS + 1000)))).toBe('The token was issued in the future.');
    });

    it('refuses changed data, a changed timestamp, a changed signature and a respelled signature', async () => {
      const token = issueConjurToken(tessera.keyring, ALICE, clock.now, TTL_MS, 'legacy');
      const signature = token.signature ?? '';
      const last = signature.at(-1) ?? 'A';
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const respelled = `${signature.slice(0, -1)}${alphabet[alphabet.indexOf(last) ^ 1]}`;
      expect(Buffer.from(respelled, 'base64url')).toEqual(Buffer.from(signature, 'base64url'));
      const changes: Array<[string, Record<string, string>]> = [
        ['data', { data: 'admin' }],
        ['timestamp', { timestamp: '2026-01-15 12:00:01 UTC' }],
        ['signature', { signature: `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}` }],
        ['respelled signature', { signature: respelled }],
        ['standard-alphabet signature', { signature: Buffer.from(signature, 'base64url').toString('base64') }],
        ['empty signature', { signature: '' }],
      ];
      for (const [label, change] of changes) {
        expect(reasonOf(await roundTrip({ ...token, ...change })), label).toBe('The token signature is invalid.');
      }
      expect(reasonOf(await roundTrip(token))).toBe('ok');
    });

    it('refuses a key that is unknown, not a fingerprint, or retired', async () => {
      const token = issueConjurToken(tessera.keyring, ALICE, clock.now, TTL_MS, 'legacy');
      for (const key of ['0'.repeat(64), '../../etc/passwd', "' OR 1=1 --", '']) {
        expect(reasonOf(await check({ ...token, key })), key).toBe('The token names an unknown key.');
      }
      const old = tessera.keyring.current;
      await tessera.keyring.rotate();
      expect(reasonOf(await check(token))).toBe('ok');
      const retireAfter = tessera.keyring.keys.find((k) => k.fingerprint === old.fingerprint)?.retireAfter ?? 0;
      clock.now = retireAfter;
      await tessera.keyring.load();
      // Freshly dated and correctly signed by the retired key: refused for the key alone.
      const fresh = signedLegacy('alice', formatTimestamp(clock.now), old);
      expect(reasonOf(await check(fresh))).toBe('The token names an unknown key.');
      expect(reasonOf(await check(signedLegacy('alice', formatTimestamp(clock.now))))).toBe('ok');
    });

    it('refuses extra or missing members even under a good signature', async () => {
      const token = issueConjurToken(tessera.keyring, ALICE, clock.now, TTL_MS, 'legacy');
      expect(reasonOf(await roundTrip({ ...token, expires: '2099-01-01 00:00:00 UTC' }))).toBe(
        'The token has unexpected members.',
      );
      expect(reasonOf(await roundTrip({ ...token, admin: true }))).toBe('The token has unexpected members.');
      const { key: _key, ...keyless } = token;
      expect(reasonOf(await roundTrip(keyless))).toBe('The token lacks data, timestamp, signature or key.');
      expect(reasonOf(await roundTrip({ ...token, data: ['alice'] }))).toBe(
        'The token lacks data, timestamp, signature or key.',
      );
      // A `protected` member switches to the JWS form, which then refuses the legacy members.
      expect(reasonOf(await roundTrip({ ...token, protected: b64url({ alg: 'EdDSA' }) }))).toBe(
        'The token must hold exactly protected, payload and signature.',
      );
    });
  });

  describe('the JWS form {protected, payload, signature}', () => {
    it('issues a header naming EdDSA, the key and typ conjur+jws, and a payload of sub, uid, kind and times', () => {
      const token = issueConjurToken(tessera.keyring, ALICE, clock.now, TTL_MS, 'jws');
      const { current } = tessera.keyring;
      expect(Object.keys(token).sort()).toEqual(['payload', 'protected', 'signature']);
      const decode = (part: string | undefined) => JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8'));
      expect(decode(token.protected)).toEqual({ alg: 'EdDSA', kid: current.fingerprint, typ: 'conjur+jws' });
      const iat = Math.floor(START / 1000);
      expect(decode(token.payload)).toEqual({
        sub: 'alice',
        uid: 7,
        token_kind: 'conjur',
        iat,
        iat_ms: START,
        exp: iat + TTL_MS / 1000,
      });
      const input = Buffer.from(`${token.protected}.${token.payload}`);
      expect(verify(null, input, current.publicKey, Buffer.from(token.signature ?? '', 'base64url'))).toBe(true);
    });

    it('round-trips through the header encoding to the login, the user id and its times', async () => {
      const token = issueConjurToken(tessera.keyring, ALICE, clock.now, TTL_MS, 'jws');
      expect(await roundTrip(token)).toEqual({
        ok: true,
        claims: { login: 'alice', userId: 7, issuedAt: START, expiresAt: START_SECOND + TTL_MS },
      });
      const end = START_SECOND + TTL_MS + SKEW_MS;
      expect(reasonOf(await roundTrip(token, end - 1))).toBe('ok');
      expect(reasonOf(await roundTrip(token, end))).toBe('The token has expired.');
    });

    it('caps a token’s life at the TTL whatever its exp says', async () => {
      const iat = Math.floor(START / 1000);
      const token = signedJws(
        { alg: 'EdDSA', kid: tessera.keyring.current.fingerprint, typ: 'conjur+jws' },
        { sub: 'alice', uid: 7, token_kind: 'conjur', iat, iat_ms: START, exp: iat + 86_400 },
      );
      expect(await check(token)).toMatchObject({ ok: true, claims: { expiresAt: START_SECOND + TTL_MS } });
      expect(reasonOf(await check(token, START_SECOND + TTL_MS + SKEW_MS))).toBe('The token has expired.');
    });

    it('refuses other algorithms, crit, a missing kid, another typ or kind, bad claims, changed parts and respellings', async () => {
      const kid = tessera.keyring.current.fingerprint;
      const iat = Math.floor(START / 1000);
      const claims = { sub: 'alice', uid: 7, token_kind: 'conjur', iat, iat_ms: START, exp: iat + 480 };
      const typ = 'conjur+jws';
      const good = signedJws({ alg: 'EdDSA', kid, typ }, claims);
      expect(reasonOf(await check(good))).toBe('ok');
      const header = 'The token header is not an EdDSA header with a key id.';
      const cases: Array<[string, Record<string, unknown>, string]> = [
        ['alg none', signedJws({ alg: 'none', kid }, claims), header],
        ['alg HS256', signedJws({ alg: 'HS256', kid }, claims), header],
        ['alg Ed25519', signedJws({ alg: 'Ed25519', kid }, claims), header],
        ['no kid', signedJws({ alg: 'EdDSA' }, claims), header],
        ['numeric kid', signedJws({ alg: 'EdDSA', kid: 1 }, claims), header],
        ['crit', signedJws({ alg: 'EdDSA', kid, crit: ['exp'] }, claims), header],
        ['header an array', signedJws([{ alg: 'EdDSA', kid }], claims), header],
        [
          'unknown kid',
          signedJws({ alg: 'EdDSA', kid: '0'.repeat(64), typ }, claims),
          'The token names an unknown key.',
        ],
        // RFC 8725 3.11: the bearer JWT's type, none, or JWT are another kind of token.
        ['typ at+jwt', signedJws({ alg: 'EdDSA', kid, typ: 'at+jwt' }, claims), 'The token type is not conjur+jws.'],
        ['typ JWT', signedJws({ alg: 'EdDSA', kid, typ: 'JWT' }, claims), 'The token type is not conjur+jws.'],
        ['no typ', signedJws({ alg: 'EdDSA', kid }, claims), 'The token type is not conjur+jws.'],
        [
          'kind bearer',
          signedJws({ alg: 'EdDSA', kid, typ }, { ...claims, token_kind: 'bearer' }),
          'The token is not a Conjur access token.',
        ],
        [
          'no kind',
          signedJws({ alg: 'EdDSA', kid, typ }, { ...claims, token_kind: undefined }),
          'The token is not a Conjur access token.',
        ],
        [
          'no uid',
          signedJws({ alg: 'EdDSA', kid, typ }, { ...claims, uid: undefined }),
          expect.stringMatching(/claims/),
        ],
        [
          'uid a string',
          signedJws({ alg: 'EdDSA', kid, typ }, { ...claims, uid: '7' }),
          expect.stringMatching(/claims/),
        ],
        [
          'iat_ms in another second',
          signedJws({ alg: 'EdDSA', kid, typ }, { ...claims, iat_ms: START + 1000 }),
          expect.stringMatching(/claims/),
        ],
        [
          'changed payload',
          { ...good, payload: b64url({ ...claims, sub: 'admin' }) },
          'The token signature is invalid.',
        ],
        [
          'iat a string',
          signedJws({ alg: 'EdDSA', kid, typ }, { ...claims, iat: String(iat) }),
          expect.stringMatching(/claims/),
        ],
        [
          'no exp',
          signedJws({ alg: 'EdDSA', kid, typ }, { ...claims, exp: undefined }),
          expect.stringMatching(/claims/),
        ],
        ['sub a number', signedJws({ alg: 'EdDSA', kid, typ }, { ...claims, sub: 1 }), expect.stringMatching(/claims/)],
        [
          'iat ahead of the skew',
          signedJws({ alg: 'EdDSA', kid, typ }, { ...claims, iat: iat + 60, iat_ms: START + 60_000, exp: iat + 540 }),
          'The token was issued in the future.',
        ],
        ['padded signature', { ...good, signature: `${good.signature}==` }, 'The token is not canonical base64url.'],
        [
          'standard base64 signature',
          { ...good, signature: Buffer.from(good.signature, 'base64url').toString('base64') },
          'The token is not canonical base64url.',
        ],
      ];
      for (const [label, token, reason] of cases) {
        const verdict = await check(token);
        expect(verdict.ok, label).toBe(false);
        expect(reasonOf(verdict), label).toEqual(reason);
      }
    });

    it('refuses an extra member even under a good signature', async () => {
      const token = issueConjurToken(tessera.keyring, ALICE, clock.now, TTL_MS, 'jws');
      for (const extra of [{ header: { kid: 'x' } }, { data: 'admin' }, { key: tessera.keyring.current.fingerprint }]) {
        expect(reasonOf(await roundTrip({ ...token, ...extra })), JSON.stringify(extra)).toBe(
          'The token must hold exactly protected, payload and signature.',
        );
      }
    });
  });

  describe('formatTimestamp and the strict timestamp parse', () => {
    it('formats a time as YYYY-MM-DD HH:MM:SS UTC, zero-padded, milliseconds dropped', () => {
      expect(formatTimestamp(Date.UTC(2026, 1, 3, 4, 5, 6, 789))).toBe('2026-02-03 04:05:06 UTC');
      expect(formatTimestamp(0)).toBe('1970-01-01 00:00:00 UTC');
      expect(formatTimestamp(Date.UTC(2026, 11, 31, 23, 59, 59, 999))).toBe('2026-12-31 23:59:59 UTC');
      expect(formatTimestamp(START)).toBe('2026-01-15 12:00:00 UTC');
    });

    it('refuses any timestamp that is not a real time written exactly that way, even when signed', async () => {
      const malformed = [
        '2026-02-30 00:00:00 UTC',
        '2025-02-29 12:00:00 UTC',
        '2026-13-01 00:00:00 UTC',
        '2026-00-10 00:00:00 UTC',
        '2026-01-00 00:00:00 UTC',
        '2026-01-15 24:00:00 UTC',
        '2026-01-15 12:60:00 UTC',
        '2026-01-15 12:00:60 UTC',
        '0099-01-15 12:00:00 UTC',
        '2026-01-15T12:00:00Z',
        '2026-01-15 12:00:00 GMT',
        '2026-01-15 12:00:00 utc',
        '2026-01-15 12:00:00',
        '2026-01-15 12:00:00.000 UTC',
        '2026-1-15 12:00:00 UTC',
        '26-01-15 12:00:00 UTC',
        '+02026-01-15 12:00:00 UTC',
        ' 2026-01-15 12:00:00 UTC',
        '2026-01-15 12:00:00 UTC\n',
        '2026-01-15  12:00:00 UTC',
        '２０２６-01-15 12:00:00 UTC',
        '',
      ];
      for (const timestamp of malformed) {
        const verdict = await check(signedLegacy('alice', timestamp));
        expect(reasonOf(verdict), JSON.stringify(timestamp)).toBe('The token timestamp is malformed.');
      }
      // Real times in the exact form parse; they are then judged by age alone.
      expect(reasonOf(await check(signedLegacy('alice', '2026-01-15 12:00:00 UTC')))).toBe('ok');
      expect(reasonOf(await check(signedLegacy('alice', '2024-02-29 12:00:00 UTC')))).toBe('The token has expired.');
      expect(reasonOf(await check(signedLegacy('alice', '2026-12-31 23:59:59 UTC')))).toBe(
        'The token was issued in the future.',
      );
    });
  });

  describe('decodeConjurHeader: strict base64, then a JSON object (SECURITY F10)', () => {
    const NOT_BASE64 = 'The token is not strict base64.';

    it('reads standard, padded base64 of a JSON object', () => {
      const token = issueConjurToken(tessera.keyring, ALICE, clock.now, TTL_MS, 'legacy');
      expect(decodeConjurHeader(encode(token))).toEqual(token);
    });

    it('refuses the url-safe alphabet, missing padding, and embedded or trailing whitespace', () => {
      // Chosen so its standard base64 needs '+', '/' and padding.
      const value = { data: '>>>???~~~ÿ', n: 1 };
      const encoded = encode(value);
      expect(encoded).toMatch(/\+/);
      expect(encoded).toMatch(/\//);
      expect(encoded).toMatch(/=$/);
      expect(decodeConjurHeader(encoded)).toEqual(value);
      const urlSafe = encoded.replace(/\+/g, '-').replace(/\//g, '_');
      const variants: Array<[string, string]> = [
        ['url-safe alphabet', urlSafe],
        ['url-safe alphabet, unpadded', urlSafe.replace(/=+$/, '')],
        ['missing padding', encoded.replace(/=+$/, '')],
        ['extra padding', `${encoded}=`],
        ['newline inside', `${encoded.slice(0, 8)}\n${encoded.slice(8)}`],
        ['CRLF inside', `${encoded.slice(0, 8)}\r\n${encoded.slice(8)}`],
        ['trailing newline', `${encoded}\n`],
        ['space inside', `${encoded.slice(0, 8)} ${encoded.slice(8)}`],
        ['leading space', ` ${encoded}`],
        ['tab', `\t${encoded}`],
        ['a character outside base64', `${encoded.slice(0, 8)}*${encoded.slice(9)}`],
        ['empty', ''],
        ['too long', 'A'.repeat(8196)],
      ];
      for (const [label, text] of variants) expect(decodeConjurHeader(text), label).toBe(NOT_BASE64);
    });

    it('refuses a final character whose spare bits are not zero', () => {
      const encoded = encode({ data: 'alice' });
      const padding = encoded.length - encoded.replace(/=+$/, '').length;
      expect(padding).toBeGreaterThan(0);
      const at = encoded.length - padding - 1;
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
      const respelled = `${encoded.slice(0, at)}${alphabet[alphabet.indexOf(encoded[at] ?? 'A') ^ 1]}${encoded.slice(at + 1)}`;
      expect(Buffer.from(respelled, 'base64')).toEqual(Buffer.from(encoded, 'base64'));
      expect(decodeConjurHeader(respelled)).toBe(NOT_BASE64);
    });

    it('refuses what is not UTF-8 JSON, and JSON that is not an object', () => {
      const base64 = (bytes: Buffer | string) => Buffer.from(bytes).toString('base64');
      expect(decodeConjurHeader(base64('hello'))).toBe('The token is not JSON.');
      expect(decodeConjurHeader(base64(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])))).toBe('The token is not JSON.');
      expect(decodeConjurHeader(base64('{"data":"alice"'))).toBe('The token is not JSON.');
      for (const json of ['[]', '[{"data":"alice"}]', 'null', '42', '"alice"', 'true']) {
        expect(decodeConjurHeader(base64(json)), json).toBe('The token is not a JSON object.');
      }
    });
  });
});
