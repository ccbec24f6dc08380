import {
  createHmac,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, TEST_MASTER_KEY, TestClock } from '../../test/helpers/harness.js';
import { craftJws, decodeParts } from '../../test/helpers/jwt.js';
import { resolveConfig } from '../config.js';
import { openTessera, type Tessera } from '../tessera.js';
import { decodeConjurHeader, issueConjurToken, verifyConjurToken } from './conjur-token.js';
import { issueJwt, keyringKeys, verifyJwt } from './jwt.js';
import type { Keyring, SigningKey } from './keyring.js';

/**
 * Wycheproof vectors against Tessera's own verifiers (jose.vectors.test.ts and
 * ed25519.vectors.test.ts hold them against jose and node:crypto): every JWS in the file is
 * refused by the EdDSA-only JWT verifier even when the keyring hands it the vector's very
 * key; HS256 and ES256 tokens — checked first to be real ones, by the HMAC and P-256
 * vectors — are refused under our key id; and the Ed25519 file's kinds of invalid signature
 * (malleable S, garbage appended, truncated) are refused when made from our own tokens.
 */

const VECTOR_DIR = new URL('../../test/vectors/wycheproof/', import.meta.url);

function load<T>(name: string): { numberOfTests: number; testGroups: T[] } {
  const path = fileURLToPath(new URL(name, VECTOR_DIR));
  if (!existsSync(path)) throw new Error(`the Wycheproof vectors are missing: ${path}`);
  return JSON.parse(readFileSync(path, 'utf8')) as { numberOfTests: number; testGroups: T[] };
}

interface JwsGroup {
  comment: string;
  private?: JsonWebKey & { kty: string; k?: string };
  public?: JsonWebKey & { kty: string };
  tests: Array<{ tcId: number; jws: string; result: string }>;
}

interface MacGroup {
  keySize: number;
  tagSize: number;
  tests: Array<{ tcId: number; key: string; msg: string; tag: string; result: string }>;
}

interface EcdsaGroup {
  publicKeyDer: string;
  tests: Array<{ tcId: number; msg: string; sig: string; result: string }>;
}

const SETTINGS = { issuer: 'https://tessera.test', audience: 'tessera', ttlMs: 900_000, skewMs: 30_000 };
const LIMITS = { ttlMs: 480_000, skewMs: 30_000 };
/** The user id the Conjur tokens below name: `alice` is user 1. */
const ALICE_ID = async (login: string) => (login === 'alice' ? 1 : undefined);

/** A keyring whose every lookup answers `publicKey`: the most a confused verifier could be given. */
function keyringAnswering(publicKey: KeyObject): Keyring {
  const key = {
    fingerprint: 'any',
    publicKey,
    privateKey: publicKey,
    createdAt: 0,
    rotatedAt: null,
    retireAfter: null,
  };
  return { find: async () => key as SigningKey } as unknown as Keyring;
}

/** The vector group's key as node holds it: the secret for `oct`, else the public key. */
function keyObjectOf(group: JwsGroup): KeyObject {
  const jwk = group.public ?? group.private;
  if (!jwk) throw new Error(`group ${group.comment} has no key`);
  if (jwk.kty === 'oct') return createSecretKey(Buffer.from(jwk.k ?? '', 'base64url'));
  const { alg: _alg, key_ops: _ops, use: _use, kid: _kid, ...bare } = jwk as Record<string, unknown>;
  return createPublicKey({ key: bare as JsonWebKey, format: 'jwk' });
}

let tessera: Tessera;
let dispose: () => Promise<void>;
const clock = new TestClock();

beforeAll(async () => {
  const database = await freshDatabase('sqlite');
  dispose = database.dispose;
  const config = resolveConfig(
    {},
    { databaseUrl: database.url, masterKey: { kind: 'env', value: TEST_MASTER_KEY }, logLevel: 'silent' },
  );
  tessera = await openTessera(config, { clock: clock.read });
});
afterAll(async () => {
  await tessera?.close();
  await dispose?.();
});

describe('Wycheproof JWS vectors against Tessera’s JWT verifier (json_web_signature_test.json)', () => {
  const file = load<JwsGroup>('json_web_signature_test.json');

  it('refuses every JWS in the file, valid ones included, even with the vector’s own key in the keyring', async () => {
    let run = 0;
    const accepted: string[] = [];
    for (const group of file.testGroups) {
      const keyring = keyringAnswering(keyObjectOf(group));
      for (const test of group.tests) {
        run += 1;
        const verdict = await verifyJwt(test.jws, keyringKeys(keyring), SETTINGS, clock.now);
        if (verdict.ok) accepted.push(`tcId ${test.tcId} ${group.comment}`);
      }
    }
    expect(accepted).toEqual([]);
    expect(run).toBe(file.numberOfTests);
  });
});

describe('HS256 tokens (hmac_sha256_test.json) under Tessera’s key id', () => {
  const file = load<MacGroup>('hmac_sha256_test.json');
  const fullTags = file.testGroups.filter((g) => g.tagSize === 256);

  it('computes every full-length HMAC-SHA256 tag of the file as node:crypto does', () => {
    const wrong: string[] = [];
    for (const group of fullTags) {
      for (const test of group.tests) {
        const tag = createHmac('sha256', Buffer.from(test.key, 'hex'))
          .update(Buffer.from(test.msg, 'hex'))
          .digest('hex');
        if ((tag === test.tag) !== (test.result === 'valid')) wrong.push(`tcId ${test.tcId}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(fullTags.flatMap((g) => g.tests).length).toBeGreaterThan(80);
  });

  it('refuses HS256 tokens keyed with each vector key or with any form of our public key (SECURITY F1, F2)', async () => {
    const current = tessera.keyring.current;
    const jwk = current.publicKey.export({ format: 'jwk' });
    const publicForms: Buffer[] = [
      current.publicKey.export({ type: 'spki', format: 'der' }),
      Buffer.from(current.publicKey.export({ type: 'spki', format: 'pem' })),
      Buffer.from(jwk.x ?? '', 'base64url'),
      Buffer.from(jwk.x ?? ''),
      Buffer.from(JSON.stringify(tessera.keyring.jwks().keys[0])),
      Buffer.from(current.fingerprint),
    ];
    const vectorKeys = fullTags.flatMap((g) =>
      g.tests.filter((t) => t.result === 'valid').map((t) => Buffer.from(t.key, 'hex')),
    );
    const { token } = await issueJwt(
      tessera.keyring,
      SETTINGS,
      { userId: 1, credentialId: 0, credentialKind: 'x', scopes: null },
      clock.now,
    );
    const { payload } = decodeParts(token);
    const accepted: string[] = [];
    for (const [index, secret] of [...publicForms, ...vectorKeys].entries()) {
      const hs = (input: Buffer) => createHmac('sha256', secret).update(input).digest();
      const jws = craftJws({ alg: 'HS256', kid: current.fingerprint, typ: 'JWT' }, payload, hs);
      if ((await verifyJwt(jws, keyringKeys(tessera.keyring), SETTINGS, clock.now)).ok)
        accepted.push(`JWT with key #${index}`);
      // Even a keyring that handed over the HMAC secret itself must not make HS256 pass.
      if ((await verifyJwt(jws, keyringKeys(keyringAnswering(createSecretKey(secret))), SETTINGS, clock.now)).ok) {
        accepted.push(`JWT with key #${index} in the keyring`);
      }
      const conjur = {
        protected: Buffer.from(JSON.stringify({ alg: 'HS256', kid: current.fingerprint, typ: 'conjur+jws' })).toString(
          'base64url',
        ),
        payload: Buffer.from(
          JSON.stringify({
            sub: 'alice',
            uid: 1,
            token_kind: 'conjur',
            iat: Math.floor(clock.now / 1000),
            iat_ms: clock.now,
            exp: Math.floor(clock.now / 1000) + 60,
          }),
        ).toString('base64url'),
        signature: '',
      };
      conjur.signature = hs(Buffer.from(`${conjur.protected}.${conjur.payload}`)).toString('base64url');
      if ((await verifyConjurToken(conjur, tessera.keyring, clock.now, LIMITS, ALICE_ID)).ok)
        accepted.push(`Conjur with key #${index}`);
    }
    expect(accepted).toEqual([]);
  });
});

describe('ES256 tokens (ecdsa_secp256r1_sha256_p1363_test.json) under Tessera’s key id', () => {
  const file = load<EcdsaGroup>('ecdsa_secp256r1_sha256_p1363_test.json');

  it('verifies the file’s P1363 signatures as it says, so the ES256 tokens below are real ones', () => {
    const wrong: string[] = [];
    for (const group of file.testGroups) {
      const key = createPublicKey({ key: Buffer.from(group.publicKeyDer, 'hex'), format: 'der', type: 'spki' });
      for (const test of group.tests) {
        let ok: boolean;
        try {
          ok = verify(
            'sha256',
            Buffer.from(test.msg, 'hex'),
            { key, dsaEncoding: 'ieee-p1363' },
            Buffer.from(test.sig, 'hex'),
          );
        } catch {
          ok = false;
        }
        if (test.result !== 'acceptable' && ok !== (test.result === 'valid')) wrong.push(`tcId ${test.tcId}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(file.testGroups.flatMap((g) => g.tests)).toHaveLength(file.numberOfTests);
  });

  it('refuses an ES256 token under our key id, even when the keyring would hand over the P-256 key', async () => {
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const es256 = (input: Buffer) => sign('sha256', input, { key: p256.privateKey, dsaEncoding: 'ieee-p1363' });
    const { token } = await issueJwt(
      tessera.keyring,
      SETTINGS,
      { userId: 1, credentialId: 0, credentialKind: 'x', scopes: null },
      clock.now,
    );
    const { payload } = decodeParts(token);
    const jws = craftJws({ alg: 'ES256', kid: tessera.keyring.current.fingerprint, typ: 'JWT' }, payload, es256);
    // The signature is sound: a P-256 verifier takes it.
    const [head, body, signature] = jws.split('.');
    expect(
      verify(
        'sha256',
        Buffer.from(`${head}.${body}`),
        { key: p256.publicKey, dsaEncoding: 'ieee-p1363' },
        Buffer.from(signature ?? '', 'base64url'),
      ),
    ).toBe(true);
    expect((await verifyJwt(jws, keyringKeys(tessera.keyring), SETTINGS, clock.now)).ok).toBe(false);
    expect((await verifyJwt(jws, keyringKeys(keyringAnswering(p256.publicKey)), SETTINGS, clock.now)).ok).toBe(false);
  });
});

/** The order of the Ed25519 group (RFC 8032 5.1): S must be below it (RFC 8032 5.1.7). */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

/** The signature with S replaced by S + k·L: the same point equation, a non-canonical encoding. */
function malleate(signature: Buffer, k: bigint): Buffer | undefined {
  const s = BigInt(`0x${Buffer.from(signature.subarray(32)).reverse().toString('hex')}`) + k * L;
  if (s >= 2n ** 256n) return undefined;
  const bytes = Buffer.from(s.toString(16).padStart(64, '0'), 'hex').reverse();
  return Buffer.concat([signature.subarray(0, 32), bytes]);
}

describe('the Ed25519 file’s kinds of invalid signature, made from Tessera’s own tokens (ed25519_test.json)', () => {
  const file = load<{ tests: Array<{ flags: string[]; result: string }> }>('ed25519_test.json');

  /** Each kind of change the file marks invalid, as a function of a valid signature. */
  const CHANGES: Array<[flag: string, change: (sig: Buffer) => Buffer[]]> = [
    ['SignatureMalleability', (sig) => [1n, 2n, 8n].flatMap((k) => malleate(sig, k) ?? [])],
    ['SignatureWithGarbage', (sig) => [Buffer.concat([sig, Buffer.from([0])]), Buffer.concat([sig, sig])]],
    ['TruncatedSignature', (sig) => [sig.subarray(0, 63), sig.subarray(0, 32), Buffer.alloc(0)]],
    ['InvalidSignature', (sig) => [Buffer.concat([sig.subarray(0, 63), Buffer.from([(sig[63] ?? 0) ^ 0x01])])]],
  ];

  it('names each of these kinds of change as invalid', () => {
    const invalidFlags = new Set(
      file.testGroups.flatMap((g) => g.tests.filter((t) => t.result === 'invalid').flatMap((t) => t.flags)),
    );
    for (const [flag] of CHANGES) expect(invalidFlags.has(flag), flag).toBe(true);
  });

  it('refuses JWTs and both Conjur token forms carrying a malleated, padded or truncated signature', async () => {
    const { token } = await issueJwt(
      tessera.keyring,
      SETTINGS,
      { userId: 1, credentialId: 0, credentialKind: 'x', scopes: null },
      clock.now,
    );
    expect((await verifyJwt(token, keyringKeys(tessera.keyring), SETTINGS, clock.now)).ok).toBe(true);
    const legacy = issueConjurToken(
      tessera.keyring,
      { login: 'alice', userId: 1, validAfter: 0 },
      clock.now,
      LIMITS.ttlMs,
      'legacy',
    );
    const jws = issueConjurToken(
      tessera.keyring,
      { login: 'alice', userId: 1, validAfter: 0 },
      clock.now,
      LIMITS.ttlMs,
      'jws',
    );
    for (const t of [legacy, jws])
      expect((await verifyConjurToken(t, tessera.keyring, clock.now, LIMITS, ALICE_ID)).ok).toBe(true);

    const accepted: string[] = [];
    let tried = 0;
    for (const [flag, change] of CHANGES) {
      const [head, body, sig] = token.split('.');
      for (const changed of change(Buffer.from(sig ?? '', 'base64url'))) {
        tried += 1;
        // node:crypto itself must refuse the changed signature: otherwise the case proves nothing.
        expect(verify(null, Buffer.from(`${head}.${body}`), tessera.keyring.current.publicKey, changed), flag).toBe(
          false,
        );
        const forged = `${head}.${body}.${changed.toString('base64url')}`;
        if ((await verifyJwt(forged, keyringKeys(tessera.keyring), SETTINGS, clock.now)).ok)
          accepted.push(`JWT ${flag}`);
      }
      for (const original of [legacy, jws]) {
        for (const changed of change(Buffer.from(original.signature ?? '', 'base64url'))) {
          tried += 1;
          const forged = { ...original, signature: changed.toString('base64url') };
          const decoded = decodeConjurHeader(Buffer.from(JSON.stringify(forged)).toString('base64'));
          if (typeof decoded === 'string') throw new Error(decoded);
          if ((await verifyConjurToken(decoded, tessera.keyring, clock.now, LIMITS, ALICE_ID)).ok)
            accepted.push(`Conjur ${flag}`);
        }
      }
    }
    expect(accepted).toEqual([]);
    expect(tried).toBeGreaterThanOrEqual(24);
  });
});
