import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type KeyResolver, verifyJwt } from './jwt.js';

const NOW = 1_750_000_000_000;
const SETTINGS = { issuer: 'tessera', audience: 'tessera', skewMs: 30_000 };
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
/** A resolver over one key, as the server's keyring or the middleware's fetched JWKS would be. */
const resolveKey: KeyResolver = async (header) => (header.kid === 'k1' ? publicKey : null);

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A compact EdDSA JWS over any header and claims, signed with the test key. */
function jws(header: Record<string, unknown> = {}, claims: Record<string, unknown> = {}): string {
  const iat = Math.floor(NOW / 1000);
  const protectedHeader = b64url({ alg: 'EdDSA', kid: 'k1', typ: 'at+jwt', ...header });
  const payload = b64url({
    iss: 'tessera',
    aud: 'tessera',
    sub: '7',
    jti: 'j1',
    iat,
    exp: iat + 300,
    iat_ms: NOW,
    cid: 3,
    ckind: 'token',
    token_kind: 'bearer',
    ...claims,
  });
  const signature = sign(null, Buffer.from(`${protectedHeader}.${payload}`), privateKey).toString('base64url');
  return `${protectedHeader}.${payload}.${signature}`;
}

async function reason(token: string, now = NOW, resolver = resolveKey): Promise<string | null> {
  const verdict = await verifyJwt(token, resolver, SETTINGS, now);
  return verdict.ok ? null : verdict.reason;
}

describe('verifyJwt', () => {
  it('accepts a bearer access token and returns its claims', async () => {
    const verdict = await verifyJwt(jws({}, { scope: 'notes:read' }), resolveKey, SETTINGS, NOW);
    expect(verdict).toEqual({
      ok: true,
      claims: {
        sub: '7',
        jti: 'j1',
        iat: NOW / 1000,
        exp: NOW / 1000 + 300,
        iatMs: NOW,
        cid: 3,
        ckind: 'token',
        scope: 'notes:read',
      },
    });
  });

  it('refuses a non-canonical base64url spelling of a valid signature (RFC 4648 3.5)', async () => {
    const token = jws();
    // 64 signature bytes leave 4 spare bits in the last character; setting one keeps the bytes.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(token.at(-1) ?? '');
    const respelled = `${token.slice(0, -1)}${alphabet[last | 1]}`;
    expect(Buffer.from(respelled.split('.')[2] ?? '', 'base64url')).toEqual(
      Buffer.from(token.split('.')[2] ?? '', 'base64url'),
    );
    expect(await reason(respelled)).toBe('The token is not canonical base64url.');
  });

  it('refuses a b64 header, listed in crit or not (RFC 7797 7)', async () => {
    expect(await reason(jws({ b64: true }))).toBe('The token is invalid.');
    expect(await reason(jws({ b64: false, crit: ['b64'] }))).not.toBeNull();
  });

  it('refuses another typ, another token kind and another algorithm', async () => {
    expect(await reason(jws({ typ: 'JWT' }))).toBe('The token claim "typ" is invalid.');
    expect(await reason(jws({ typ: 'conjur+jws' }))).toBe('The token claim "typ" is invalid.');
    expect(await reason(jws({}, { token_kind: 'conjur' }))).toBe('The token is not a bearer access token.');
    expect(await reason(jws({ alg: 'HS256' }))).toBe('The token algorithm is not allowed.');
  });

  it('checks issuer and audience', async () => {
    expect(await reason(jws({}, { iss: 'other' }))).toBe('The token claim "iss" is invalid.');
    expect(await reason(jws({}, { aud: 'billing' }))).toBe('The token claim "aud" is invalid.');
  });

  it('allows 30 s of clock skew past exp, and no more', async () => {
    const expiresAt = NOW + 300_000;
    expect(await reason(jws(), expiresAt + 29_000)).toBeNull();
    expect(await reason(jws(), expiresAt + 31_000)).toBe('The token has expired.');
    expect(await reason(jws(), expiresAt + 45_000)).toBe('The token has expired.');
  });

  it('refuses a token issued in the future beyond the skew', async () => {
    const later = { iat: NOW / 1000 + 60, iat_ms: NOW + 60_000, exp: NOW / 1000 + 360 };
    expect(await reason(jws({}, later))).toBe('The token was issued in the future.');
  });

  it('refuses incomplete claims, a non-numeric sub among them', async () => {
    expect(await reason(jws({}, { sub: 'alice' }))).toBe('The token claims are incomplete.');
    expect(await reason(jws({}, { cid: 'x' }))).toBe('The token claims are incomplete.');
    expect(await reason(jws({}, { iat_ms: NOW + 5_000 }))).toBe('The token claims are incomplete.');
    expect(await reason(jws({}, { scope: 3 }))).toBe('The scope claim must be a string.');
  });

  it('says an unknown kid is unknown, and a resolver that cannot reach its keys is KEYS_UNAVAILABLE', async () => {
    expect(await reason(jws({ kid: 'k2' }))).toBe('The token names an unknown key.');
    const unreachable: KeyResolver = async () => {
      throw new Error('JWKS endpoint down');
    };
    expect(await verifyJwt(jws(), unreachable, SETTINGS, NOW)).toEqual({
      ok: false,
      code: 'KEYS_UNAVAILABLE',
      reason: 'The signing keys cannot be fetched; try again shortly.',
    });
    expect(await verifyJwt(jws({ kid: 'k2' }), resolveKey, SETTINGS, NOW)).toMatchObject({ code: 'INVALID_TOKEN' });
  });

  it('refuses a signature from another key under a known kid', async () => {
    const other = generateKeyPairSync('ed25519').publicKey;
    expect(await reason(jws(), NOW, async () => other)).toBe('The token signature is invalid.');
  });
});
