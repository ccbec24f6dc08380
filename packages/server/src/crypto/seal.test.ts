import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isTesseraError } from '../errors.js';
import { deriveKey, Sealer } from './seal.js';

const current = randomBytes(32);
const previous = randomBytes(32);

/** What `unseal` threw, or a failure when it did not throw. */
function unsealError(sealer: Sealer, sealed: string, context: string): unknown {
  try {
    sealer.unseal(sealed, context);
  } catch (error) {
    return error;
  }
  throw new Error(`unseal(${sealed}) opened instead of failing`);
}

function expectInvalid(sealer: Sealer, sealed: string, context: string): void {
  const error = unsealError(sealer, sealed, context);
  expect(isTesseraError(error, 'SEALED_VALUE_INVALID'), String(error)).toBe(true);
}

/** The sealed value with one byte of its decoded body flipped. */
function flipByte(sealed: string, index: number): string {
  const [version, id, encoded = ''] = sealed.split('.');
  const body = Buffer.from(encoded, 'base64url');
  body[index] = (body[index] ?? 0) ^ 0x01;
  return `${version}.${id}.${body.toString('base64url')}`;
}

describe('Sealer', () => {
  it('opens what it sealed, for any text including empty and non-ASCII', () => {
    const sealer = new Sealer([current]);
    for (const plaintext of ['', 'a', 'drf token 0123456789abcdef', 'pässwörd 🔑', 'x'.repeat(10_000)]) {
      expect(sealer.unseal(sealer.seal(plaintext, 'drf:user:1'), 'drf:user:1')).toBe(plaintext);
    }
  });

  it('writes v1.<12-hex key id>.<base64url of iv, ciphertext and tag>', () => {
    const sealer = new Sealer([current]);
    const sealed = sealer.seal('secret value', 'ctx');
    expect(sealed).toMatch(/^v1\.[0-9a-f]{12}\.[A-Za-z0-9_-]+$/);
    const [, id, encoded = ''] = sealed.split('.');
    expect(id).toBe(sealer.keyId);
    // 12-byte IV + ciphertext as long as the plaintext + 16-byte tag.
    expect(Buffer.from(encoded, 'base64url')).toHaveLength(12 + 'secret value'.length + 16);
    expect(sealed).not.toContain('secret');
  });

  it('seals the same text differently every time (fresh IV)', () => {
    const sealer = new Sealer([current]);
    const values = new Set(Array.from({ length: 20 }, () => sealer.seal('same', 'ctx')));
    expect(values.size).toBe(20);
  });

  it('names keys by an id that differs between keys and never shows the key', () => {
    const a = new Sealer([current]);
    const b = new Sealer([previous]);
    expect(a.keyId).not.toBe(b.keyId);
    expect(new Sealer([current]).keyId).toBe(a.keyId);
    expect(current.toString('hex')).not.toContain(a.keyId);
  });

  it('refuses to open a value under another context with SEALED_VALUE_INVALID', () => {
    const sealer = new Sealer([current]);
    const sealed = sealer.seal('token', 'drf:user:1');
    expectInvalid(sealer, sealed, 'drf:user:2');
    expectInvalid(sealer, sealed, '');
    expectInvalid(sealer, sealed, 'drf:user:1 ');
  });

  it('refuses a value with any byte tampered: IV, ciphertext or tag', () => {
    const sealer = new Sealer([current]);
    const sealed = sealer.seal('sixteen chars!!!', 'ctx');
    const length = Buffer.from(sealed.split('.')[2] ?? '', 'base64url').length;
    for (const index of [0, 11, 12, 12 + 15, length - 16, length - 1]) {
      expectInvalid(sealer, flipByte(sealed, index), 'ctx');
    }
  });

  it('refuses malformed values: wrong version, extra or missing parts, short body, unknown key id', () => {
    const sealer = new Sealer([current]);
    const sealed = sealer.seal('value', 'ctx');
    const [, id, encoded] = sealed.split('.');
    for (const bad of [
      '',
      'v1',
      `v1.${id}`,
      `v2.${id}.${encoded}`,
      `${sealed}.extra`,
      `v1.${id}.${Buffer.alloc(27).toString('base64url')}`,
      `v1.000000000000.${encoded}`,
      `v1..${encoded}`,
    ]) {
      expectInvalid(sealer, bad, 'ctx');
    }
  });

  it('opens a value sealed under a previous key only while that key is listed after the current one', () => {
    const old = new Sealer([previous]);
    const sealed = old.seal('api key', 'conjur:alice');

    const rotated = new Sealer([current, previous]);
    expect(rotated.unseal(sealed, 'conjur:alice')).toBe('api key');
    // New values go under the current key.
    expect(rotated.keyId).toBe(new Sealer([current]).keyId);
    expect(rotated.seal('x', 'c').split('.')[1]).toBe(rotated.keyId);
    expect(rotated.seal('x', 'c').split('.')[1]).not.toBe(old.keyId);

    const forgotten = new Sealer([current]);
    expectInvalid(forgotten, sealed, 'conjur:alice');
  });

  it('refuses to be built without a key', () => {
    expect(() => new Sealer([])).toThrow(TypeError);
  });
});

describe('deriveKey', () => {
  it('derives 32 bytes that depend on both the master key and the purpose', () => {
    const a = deriveKey(current, 'tessera seal v1');
    expect(a).toHaveLength(32);
    expect(deriveKey(current, 'tessera seal v1').equals(a)).toBe(true);
    expect(deriveKey(current, 'tessera csrf v1').equals(a)).toBe(false);
    expect(deriveKey(previous, 'tessera seal v1').equals(a)).toBe(false);
    expect(a.equals(current)).toBe(false);
  });

  it('matches HKDF-SHA256 with an empty salt (RFC 5869 test case 3)', () => {
    // RFC 5869 A.3: IKM = 22 × 0x0b, salt and info empty, L = 42; deriveKey takes the first 32.
    const ikm = Buffer.alloc(22, 0x0b);
    expect(deriveKey(ikm, '').toString('hex')).toBe('8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d');
  });
});
