import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Known answers for the Ed25519 primitive the keyring signs with: node:crypto's
 * `sign(null, …)` / `verify(null, …)` over keys it holds as KeyObjects.
 */

/** PKCS#8 PrivateKeyInfo for Ed25519 (RFC 8410 7) up to the 32-byte seed. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** SubjectPublicKeyInfo for Ed25519 (RFC 8410 4) up to the 32-byte public key. */
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function privateKeyFromSeed(seedHex: string): KeyObject {
  return createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, Buffer.from(seedHex, 'hex')]),
    format: 'der',
    type: 'pkcs8',
  });
}

function publicKeyFromRaw(raw: Buffer): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** `verify`, with a refusal to parse the signature counted as "does not verify". */
function verifies(message: Buffer, key: KeyObject, signature: Buffer): boolean {
  try {
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

// RFC 8032 7.1, TEST 1 to TEST 3, typed in from the RFC.
const RFC8032 = [
  {
    name: 'TEST 1 (empty message)',
    secretKey: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2 (one byte)',
    secretKey: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3 (two bytes)',
    secretKey: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
];

describe('Ed25519 known answers (RFC 8032 7.1)', () => {
  for (const vector of RFC8032) {
    it(`derives the public key and signs exactly the RFC's signature for ${vector.name}`, () => {
      const privateKey = privateKeyFromSeed(vector.secretKey);
      const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
      expect(spki.subarray(0, SPKI_ED25519_PREFIX.length)).toEqual(SPKI_ED25519_PREFIX);
      expect(spki.subarray(SPKI_ED25519_PREFIX.length).toString('hex')).toBe(vector.publicKey);
      // Ed25519 is deterministic (RFC 8032 5.1.6): the same key and message give the same bytes.
      const signature = sign(null, Buffer.from(vector.message, 'hex'), privateKey);
      expect(signature.toString('hex')).toBe(vector.signature);
    });

    it(`verifies the RFC's signature for ${vector.name} and refuses it altered`, () => {
      const publicKey = publicKeyFromRaw(Buffer.from(vector.publicKey, 'hex'));
      const message = Buffer.from(vector.message, 'hex');
      const signature = Buffer.from(vector.signature, 'hex');
      expect(verifies(message, publicKey, signature)).toBe(true);
      const flipped = Buffer.from(signature);
      flipped[0] = (flipped[0] ?? 0) ^ 0x01;
      expect(verifies(message, publicKey, flipped)).toBe(false);
      expect(verifies(Buffer.concat([message, Buffer.from([0])]), publicKey, signature)).toBe(false);
    });
  }
});

interface EddsaTest {
  tcId: number;
  comment: string;
  flags: string[];
  msg: string;
  sig: string;
  result: 'valid' | 'invalid' | 'acceptable';
}

interface EddsaGroup {
  type: string;
  publicKey: { curve: string; pk: string };
  publicKeyDer: string;
  tests: EddsaTest[];
}

const VECTORS = fileURLToPath(new URL('../../test/vectors/wycheproof/ed25519_test.json', import.meta.url));

function loadWycheproof(): { numberOfTests: number; testGroups: EddsaGroup[] } {
  if (!existsSync(VECTORS)) throw new Error(`the Wycheproof vectors are missing: ${VECTORS}`);
  return JSON.parse(readFileSync(VECTORS, 'utf8')) as { numberOfTests: number; testGroups: EddsaGroup[] };
}

describe('Ed25519 Wycheproof vectors (ed25519_test.json)', () => {
  const file = loadWycheproof();
  const cases = file.testGroups.flatMap((group) => group.tests.map((test) => ({ group, test })));

  it('reads every test group, all EddsaVerify over edwards25519, and nothing is left out', () => {
    expect(file.testGroups.length).toBeGreaterThan(0);
    for (const group of file.testGroups) {
      expect(group.type).toBe('EddsaVerify');
      expect(group.publicKey.curve).toBe('edwards25519');
      // The DER and the raw key are one key: the public key the test runs under is the group's.
      expect(group.publicKeyDer).toBe(`${SPKI_ED25519_PREFIX.toString('hex')}${group.publicKey.pk}`);
    }
    expect(cases).toHaveLength(file.numberOfTests);
    // Ed25519 verification has no "acceptable" middle ground in this file: each case decides.
    expect(cases.filter(({ test }) => test.result === 'acceptable')).toEqual([]);
  });

  it('verifies every valid vector', () => {
    const valid = cases.filter(({ test }) => test.result === 'valid');
    expect(valid.length).toBeGreaterThan(0);
    const refused = valid
      .filter(({ group, test }) => {
        const key = createPublicKey({ key: Buffer.from(group.publicKeyDer, 'hex'), format: 'der', type: 'spki' });
        return !verifies(Buffer.from(test.msg, 'hex'), key, Buffer.from(test.sig, 'hex'));
      })
      .map(({ test }) => `tcId ${test.tcId} ${test.comment}`);
    expect(refused).toEqual([]);
  });

  it('refuses every invalid vector: malleable, truncated, non-canonical and garbage signatures', () => {
    const invalid = cases.filter(({ test }) => test.result === 'invalid');
    expect(invalid.length).toBeGreaterThan(0);
    const accepted = invalid
      .filter(({ group, test }) => {
        const key = createPublicKey({ key: Buffer.from(group.publicKeyDer, 'hex'), format: 'der', type: 'spki' });
        return verifies(Buffer.from(test.msg, 'hex'), key, Buffer.from(test.sig, 'hex'));
      })
      .map(({ test }) => `tcId ${test.tcId} ${test.comment} [${test.flags.join(', ')}]`);
    expect(accepted).toEqual([]);
  });

  it('includes the RFC 8032 answers above among its known-answer vectors', () => {
    for (const vector of RFC8032) {
      const found = cases.find(
        ({ group, test }) =>
          group.publicKey.pk === vector.publicKey && test.msg === vector.message && test.sig === vector.signature,
      );
      expect(found?.test.result, vector.name).toBe('valid');
    }
  });
});
