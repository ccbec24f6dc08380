import { sign, verify } from 'node:crypto';
import type { Keyring } from './keyring.js';

/**
 * Conjur access tokens (DESIGN "conjur"; seed 004), in the seed's format
 * `{"data", "timestamp", "signature", "key"}` or today's `{"protected", "payload", "signature"}`.
 *
 * Seed format: `timestamp` is `YYYY-MM-DD HH:MM:SS UTC`; `signature` is base64url Ed25519 over
 * the canonical JSON `{"data":…,"timestamp":…}` (keys sorted, no spaces); `key` is the signing
 * key's fingerprint. Today's format is a flattened JWS whose protected header names
 * `alg: EdDSA` and `kid` (the fingerprint) and whose payload holds `sub`, `iat`, `exp`.
 */
export type ConjurTokenFormat = 'legacy' | 'jws';

export interface ConjurTokenClaims {
  login: string;
  /** Milliseconds since the epoch. */
  issuedAt: number;
  expiresAt: number;
}

export type ConjurVerdict = { ok: true; claims: ConjurTokenClaims } | { ok: false; reason: string };

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const B64URL = /^[A-Za-z0-9_-]+$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) UTC$/;

/** Issues a token for `login`. `iat` and `exp` come from one clock reading (SECURITY E9). */
export function issueConjurToken(
  keyring: Keyring,
  login: string,
  now: number,
  ttlMs: number,
  format: ConjurTokenFormat,
): Record<string, string> {
  const key = keyring.current;
  if (format === 'jws') {
    const header = b64url(JSON.stringify({ alg: 'EdDSA', kid: key.fingerprint }));
    const iat = Math.floor(now / 1000);
    const payload = b64url(JSON.stringify({ sub: login, iat, exp: iat + Math.floor(ttlMs / 1000) }));
    const signature = sign(null, Buffer.from(`${header}.${payload}`), key.privateKey).toString('base64url');
    return { protected: header, payload, signature };
  }
  const timestamp = formatTimestamp(now);
  const signature = sign(null, Buffer.from(canonical(login, timestamp)), key.privateKey).toString('base64url');
  return { data: login, timestamp, signature, key: key.fingerprint };
}

/**
 * Reads `Token token="<base64 of the token JSON>"`'s value: strict base64, then a JSON
 * object (SECURITY F10). Returns the object or why it is malformed.
 */
export function decodeConjurHeader(encoded: string): Record<string, unknown> | string {
  if (encoded.length === 0 || encoded.length > 8192 || !STRICT_BASE64.test(encoded))
    return 'The token is not strict base64.';
  const bytes = Buffer.from(encoded, 'base64');
  // Unused bits after the last character must be zero: one token, one spelling (SECURITY H).
  if (bytes.toString('base64') !== encoded) return 'The token is not strict base64.';
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return 'The token is not JSON.';
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'The token is not a JSON object.';
  return value as Record<string, unknown>;
}

/**
 * Verifies a decoded token: the signature under the named key of the local keyring, then
 * its age. The signature is checked before any claim is trusted (SECURITY F6).
 */
export async function verifyConjurToken(
  token: Record<string, unknown>,
  keyring: Keyring,
  now: number,
  limits: { ttlMs: number; skewMs: number },
): Promise<ConjurVerdict> {
  if ('protected' in token) return verifyJws(token, keyring, now, limits);
  const { data, timestamp, signature, key } = token;
  if (
    typeof data !== 'string' ||
    typeof timestamp !== 'string' ||
    typeof signature !== 'string' ||
    typeof key !== 'string'
  ) {
    return { ok: false, reason: 'The token lacks data, timestamp, signature or key.' };
  }
  if (Object.keys(token).length !== 4) return { ok: false, reason: 'The token has unexpected members.' };
  const signingKey = await keyring.find(key);
  if (!signingKey) return { ok: false, reason: 'The token names an unknown key.' };
  if (
    !isCanonicalB64url(signature) ||
    !verify(null, Buffer.from(canonical(data, timestamp)), signingKey.publicKey, Buffer.from(signature, 'base64url'))
  ) {
    return { ok: false, reason: 'The token signature is invalid.' };
  }
  const issuedAt = parseTimestamp(timestamp);
  if (issuedAt === undefined) return { ok: false, reason: 'The token timestamp is malformed.' };
  return checkAge(data, issuedAt, issuedAt + limits.ttlMs, now, limits);
}

async function verifyJws(
  token: Record<string, unknown>,
  keyring: Keyring,
  now: number,
  limits: { ttlMs: number; skewMs: number },
): Promise<ConjurVerdict> {
  const { protected: header, payload, signature } = token;
  if (
    typeof header !== 'string' ||
    typeof payload !== 'string' ||
    typeof signature !== 'string' ||
    Object.keys(token).length !== 3
  ) {
    return { ok: false, reason: 'The token must hold exactly protected, payload and signature.' };
  }
  if (!isCanonicalB64url(header) || !isCanonicalB64url(payload) || !isCanonicalB64url(signature))
    return { ok: false, reason: 'The token is not canonical base64url.' };
  const head = parseObject(header);
  // One algorithm, no `crit`, and `kid` only selects from the local keyring (SECURITY F1, F3, F6).
  if (head?.alg !== 'EdDSA' || typeof head.kid !== 'string' || 'crit' in head) {
    return { ok: false, reason: 'The token header is not an EdDSA header with a key id.' };
  }
  const signingKey = await keyring.find(head.kid);
  if (!signingKey) return { ok: false, reason: 'The token names an unknown key.' };
  if (!verify(null, Buffer.from(`${header}.${payload}`), signingKey.publicKey, Buffer.from(signature, 'base64url'))) {
    return { ok: false, reason: 'The token signature is invalid.' };
  }
  const claims = parseObject(payload);
  const { sub, iat, exp } = claims ?? {};
  if (typeof sub !== 'string' || !Number.isSafeInteger(iat) || !Number.isSafeInteger(exp)) {
    return { ok: false, reason: 'The token claims sub, iat and exp are missing or of the wrong type.' };
  }
  const issuedAt = (iat as number) * 1000;
  const expiresAt = Math.min((exp as number) * 1000, issuedAt + limits.ttlMs);
  return checkAge(sub, issuedAt, expiresAt, now, limits);
}

function checkAge(
  login: string,
  issuedAt: number,
  expiresAt: number,
  now: number,
  limits: { skewMs: number },
): ConjurVerdict {
  if (issuedAt > now + limits.skewMs) return { ok: false, reason: 'The token was issued in the future.' };
  if (expiresAt + limits.skewMs <= now) return { ok: false, reason: 'The token has expired.' };
  return { ok: true, claims: { login, issuedAt, expiresAt } };
}

function canonical(data: string, timestamp: string): string {
  return JSON.stringify({ data, timestamp });
}

export function formatTimestamp(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function parseTimestamp(text: string): number | undefined {
  const m = TIMESTAMP.exec(text);
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return Number.isNaN(ms) || formatTimestamp(ms) !== text ? undefined : ms;
}

/**
 * Base64url whose spare bits after the last whole byte are zero (RFC 4648 3.5), as the JWT
 * verifier requires: otherwise one signature has many spellings, each a new token.
 */
function isCanonicalB64url(text: string): boolean {
  return B64URL.test(text) && Buffer.from(text, 'base64url').toString('base64url') === text;
}

function b64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

function parseObject(encoded: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
