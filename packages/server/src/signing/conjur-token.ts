import { sign, verify } from 'node:crypto';
import { KIND_CLAIM } from './jwt.js';
import type { Keyring } from './keyring.js';

/**
 * Conjur access tokens (DESIGN "conjur"; seed 004), in the seed's format
 * `{"data", "timestamp", "signature", "key"}` or today's `{"protected", "payload", "signature"}`.
 *
 * Seed format: `timestamp` is `YYYY-MM-DD HH:MM:SS UTC`; `signature` is base64url Ed25519 over
 * the canonical JSON `{"data":…,"timestamp":…,"uid":…}` (keys sorted, no spaces), where `uid`
 * is the user's immutable id: it is not sent, the verifier takes it from the user that `data`
 * names, so a user deleted and re-created under the same name (a new id) does not inherit
 * the token (issue 13 item 5). `key` is the signing key's fingerprint.
 *
 * Today's format is a flattened JWS whose protected header is `alg: EdDSA`, `kid` (the
 * fingerprint) and `typ: conjur+jws`, and whose payload holds `sub` (the login), `uid` (the
 * user id), `token_kind: "conjur"`, `iat`, `iat_ms` and `exp`.
 *
 * The bearer JWTs share the keyring, so the kinds are kept apart (RFC 8725 3.11): each JWS
 * kind has its own `typ` and kind claim, checked on verify, and `sub` is read only by the kind
 * that wrote it. The seed format needs no such label: its signing input is a JSON text, which
 * begins with `{`, while every JWS signing input is `BASE64URL(header).BASE64URL(payload)`,
 * made of base64url characters and one dot only. No byte string is both, and an Ed25519
 * signature verifies for the exact message it was made over (RFC 8032 5.1.7), so no signature
 * of one form is ever a signature of the other.
 */
export type ConjurTokenFormat = 'legacy' | 'jws';

/** The `typ` of a Conjur JWS (never `JWT` or `at+jwt`, which name the bearer tokens). */
export const CONJUR_JWS_TYPE = 'conjur+jws';
/** The kind claim's value in a Conjur JWS. */
export const CONJUR_KIND = 'conjur';

export interface ConjurTokenClaims {
  login: string;
  /** The user id the token was issued to. */
  userId: number;
  /** Milliseconds since the epoch (the seed format carries whole seconds). */
  issuedAt: number;
  expiresAt: number;
}

export type ConjurVerdict = { ok: true; claims: ConjurTokenClaims } | { ok: false; reason: string };

/** Who a token is for, and since when their signed tokens count (item 6). */
export interface ConjurSubject {
  login: string;
  userId: number;
  /** The user's "credentials valid after" instant, in milliseconds. */
  validAfter: number;
}

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const B64URL = /^[A-Za-z0-9_-]+$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) UTC$/;

/** Issues a token for the subject. `iat` and `exp` come from one clock reading (SECURITY E9). */
export function issueConjurToken(
  keyring: Keyring,
  subject: ConjurSubject,
  now: number,
  ttlMs: number,
  format: ConjurTokenFormat,
): Record<string, string> {
  const key = keyring.current;
  if (format === 'jws') {
    const header = b64url(JSON.stringify({ alg: 'EdDSA', kid: key.fingerprint, typ: CONJUR_JWS_TYPE }));
    const iat = Math.floor(now / 1000);
    const payload = b64url(
      JSON.stringify({
        sub: subject.login,
        uid: subject.userId,
        [KIND_CLAIM]: CONJUR_KIND,
        iat,
        iat_ms: now,
        exp: iat + Math.floor(ttlMs / 1000),
      }),
    );
    const signature = sign(null, Buffer.from(`${header}.${payload}`), key.privateKey).toString('base64url');
    return { protected: header, payload, signature };
  }
  const timestamp = formatTimestamp(legacyStamp(now, subject.validAfter));
  const signature = sign(
    null,
    Buffer.from(canonical(subject.login, timestamp, subject.userId)),
    key.privateKey,
  ).toString('base64url');
  return { data: subject.login, timestamp, signature, key: key.fingerprint };
}

/**
 * The seed format's issue time, which is whole seconds. Rounded down, a token minted in the
 * same second as — but after — a move of the user's valid-after instant would read as older
 * than it and be refused; so that one token is stamped with the next whole second instead (at
 * most a second ahead, inside the clock-skew allowance; its life is that much longer). A token
 * minted before the move is stamped as usual, below the instant, and refused.
 */
export function legacyStamp(now: number, validAfter: number): number {
  const down = Math.floor(now / 1000) * 1000;
  return down < validAfter && validAfter <= now ? Math.ceil(validAfter / 1000) * 1000 : down;
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
 * its age. The signature is checked before any claim is trusted (SECURITY F6); for the seed
 * format, whose signature covers the user id, `userIdOf` names the id of the user that `data`
 * names (a lookup, not trust: nothing is accepted unless the signature then verifies).
 */
export async function verifyConjurToken(
  token: Record<string, unknown>,
  keyring: Keyring,
  now: number,
  limits: { ttlMs: number; skewMs: number },
  userIdOf: (login: string) => Promise<number | undefined>,
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
  // An unknown login reads as a bad signature: a forged token learns nothing about who exists.
  const userId = isCanonicalB64url(signature) ? await userIdOf(data) : undefined;
  if (
    userId === undefined ||
    !verify(
      null,
      Buffer.from(canonical(data, timestamp, userId)),
      signingKey.publicKey,
      Buffer.from(signature, 'base64url'),
    )
  ) {
    return { ok: false, reason: 'The token signature is invalid.' };
  }
  const issuedAt = parseTimestamp(timestamp);
  if (issuedAt === undefined) return { ok: false, reason: 'The token timestamp is malformed.' };
  return checkAge(data, userId, issuedAt, issuedAt + limits.ttlMs, now, limits);
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
  // Explicit typing (RFC 8725 3.11): a bearer JWT (`at+jwt`) re-wrapped as a flattened JWS
  // stops here, and so do Conjur JWS tokens minted before the type existed (they lived 8 min).
  if (head.typ !== CONJUR_JWS_TYPE) return { ok: false, reason: `The token type is not ${CONJUR_JWS_TYPE}.` };
  const signingKey = await keyring.find(head.kid);
  if (!signingKey) return { ok: false, reason: 'The token names an unknown key.' };
  if (!verify(null, Buffer.from(`${header}.${payload}`), signingKey.publicKey, Buffer.from(signature, 'base64url'))) {
    return { ok: false, reason: 'The token signature is invalid.' };
  }
  const claims = parseObject(payload);
  if (claims?.[KIND_CLAIM] !== CONJUR_KIND) return { ok: false, reason: 'The token is not a Conjur access token.' };
  const { sub, uid, iat, iat_ms: iatMs, exp } = claims;
  if (
    typeof sub !== 'string' ||
    !Number.isSafeInteger(uid) ||
    (uid as number) < 1 ||
    !Number.isSafeInteger(iat) ||
    !Number.isSafeInteger(iatMs) ||
    Math.floor((iatMs as number) / 1000) !== iat ||
    !Number.isSafeInteger(exp)
  ) {
    return { ok: false, reason: 'The token claims sub, uid, iat, iat_ms and exp are missing or of the wrong type.' };
  }
  const expiresAt = Math.min((exp as number) * 1000, (iat as number) * 1000 + limits.ttlMs);
  return checkAge(sub, uid as number, iatMs as number, expiresAt, now, limits);
}

function checkAge(
  login: string,
  userId: number,
  issuedAt: number,
  expiresAt: number,
  now: number,
  limits: { skewMs: number },
): ConjurVerdict {
  if (issuedAt > now + limits.skewMs) return { ok: false, reason: 'The token was issued in the future.' };
  if (expiresAt + limits.skewMs <= now) return { ok: false, reason: 'The token has expired.' };
  return { ok: true, claims: { login, userId, issuedAt, expiresAt } };
}

/** The seed format's signing input: keys in sorted order, no spaces. */
function canonical(data: string, timestamp: string, uid: number): string {
  return JSON.stringify({ data, timestamp, uid });
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
