import { randomBytes } from 'node:crypto';
import {
  type CryptoKey,
  errors,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
  jwtVerify,
  type KeyObject,
  SignJWT,
} from 'jose';
import type { Keyring } from './keyring.js';

export interface JwtSettings {
  issuer: string;
  audience: string;
  ttlMs: number;
  skewMs: number;
}

/**
 * The explicit type of a Tessera bearer JWT: RFC 9068's access-token media type. Verification
 * demands it, so no other signed object of the shared keyring — a Conjur JWS, whose header
 * says `conjur+jws` — can pass for a bearer JWT (RFC 8725 3.11; SECURITY F5). Tokens minted
 * before it was introduced said `JWT`; they are refused: they lived five minutes, carry
 * neither the kind claim nor a millisecond issue time, and one restart ends them anyway.
 */
export const JWT_TYPE = 'at+jwt';
/** The claim naming the kind of a Tessera signed token, and its value in a bearer JWT. */
export const KIND_CLAIM = 'token_kind';
export const JWT_KIND = 'bearer';

/** What a Tessera JWT says beyond the registered claims. */
export interface JwtClaims {
  /** The user id, as a string (RFC 7519 `sub`). */
  sub: string;
  jti: string;
  /** Seconds since the epoch. */
  exp: number;
  iat: number;
  /**
   * The issue time in milliseconds (`iat` is whole seconds): compared with the user's
   * "credentials valid after" instant, so a token minted just after that moved is accepted
   * and one minted just before it, in the same second, is not.
   */
  iatMs: number;
  /** The credential the token was bought with: revoking it revokes the token. */
  cid: number;
  /** That credential's kind. */
  ckind: string;
  scope?: string;
}

/**
 * Why a token failed: `INVALID_TOKEN` for the token itself (answer 401), `KEYS_UNAVAILABLE`
 * when the key resolver could not get at the keys (answer 503: the token may well be good).
 */
export type JwtFailureCode = 'INVALID_TOKEN' | 'KEYS_UNAVAILABLE';

export type JwtVerdict = { ok: true; claims: JwtClaims } | { ok: false; code: JwtFailureCode; reason: string };

/** What verification needs of the settings: who issues, for whom, and the clock skew allowed. */
export type JwtVerifySettings = Pick<JwtSettings, 'issuer' | 'audience' | 'skewMs'>;

/**
 * Finds the public key for a token's protected header (by `kid`), as jose's `getKey` does:
 * null when no key has that `kid`. Throwing means the keys themselves cannot be reached.
 */
export type KeyResolver = (
  header: JWSHeaderParameters,
  token: FlattenedJWSInput,
) => Promise<KeyObject | CryptoKey | null>;

/**
 * The server's resolver: the key the local keyring holds under the `kid`. `jwk`, `jku` and
 * `x5u` are never followed (SECURITY F3).
 *
 * @example
 * ```ts
 * const verdict = await verifyJwt(token, keyringKeys(tessera.keyring), settings, Date.now());
 * ```
 */
export function keyringKeys(keyring: Keyring): KeyResolver {
  return async (header) => {
    const key = typeof header.kid === 'string' ? await keyring.find(header.kid) : undefined;
    return key?.publicKey ?? null;
  };
}

const invalid = (reason: string): JwtVerdict => ({ ok: false, code: 'INVALID_TOKEN', reason });

const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * True when every part is canonical base64url (RFC 4648 3.5): the bits after the last whole
 * byte are zero. `jose` decodes leniently, so otherwise one signature had up to 16 spellings,
 * each a separate cache entry — and a revoked token came back at once under another one.
 */
function isCanonical(token: string): boolean {
  return token.split('.').every((part) => {
    const spareBits = (part.length * 6) % 8;
    return spareBits !== 6 && (BASE64URL.indexOf(part.at(-1) ?? '') & ((1 << spareBits) - 1)) === 0;
  });
}

/** True when the text has the shape of a compact JWS (three base64url parts). */
export function looksLikeJwt(text: string): boolean {
  return COMPACT.test(text);
}

/** Issues an EdDSA JWT signed by the current key; `iat` and `exp` come from one clock reading. */
export async function issueJwt(
  keyring: Keyring,
  settings: JwtSettings,
  subject: { userId: number; credentialId: number; credentialKind: string; scopes: string[] | null },
  now: number,
): Promise<{ token: string; jti: string; expiresAt: number }> {
  const key = keyring.current;
  const iat = Math.floor(now / 1000);
  const exp = iat + Math.floor(settings.ttlMs / 1000);
  const jti = randomBytes(16).toString('base64url');
  const token = await new SignJWT({
    [KIND_CLAIM]: JWT_KIND,
    iat_ms: now,
    cid: subject.credentialId,
    ckind: subject.credentialKind,
    ...(subject.scopes !== null && { scope: subject.scopes.join(' ') }),
  })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.fingerprint, typ: JWT_TYPE })
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setSubject(String(subject.userId))
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(jti)
    .sign(key.privateKey);
  return { token, jti, expiresAt: exp * 1000 };
}

/**
 * Verifies a Tessera bearer JWT — the one verification the server's bearer scheme and the
 * offline middleware share, differing only in where the keys come from (`resolveKey`: the
 * local keyring, or the JWKS the middleware fetched). Canonical base64url only; EdDSA only
 * (`none`, HS* and RS* are refused, so a public key can never be used as an HMAC secret —
 * SECURITY F1, F2); no `b64` header (F6); `typ` `at+jwt` and the kind claim `bearer` (RFC 8725
 * 3.11: no other token kind of the keyring passes); issuer and audience checked;
 * `exp`/`iat`/`jti`/`sub` required with numeric times and a numeric `sub`; `iat` not in the
 * future; unknown `crit` refused (F4–F6); `settings.skewMs` of clock difference allowed.
 *
 * @example
 * ```ts
 * const verdict = await verifyJwt(token, keyringKeys(keyring), { issuer: 'tessera', audience: 'tessera', skewMs: 30_000 }, Date.now());
 * if (verdict.ok) console.log(verdict.claims.sub);
 * ```
 */
export async function verifyJwt(
  token: string,
  resolveKey: KeyResolver,
  settings: JwtVerifySettings,
  now: number,
): Promise<JwtVerdict> {
  if (!COMPACT.test(token)) return invalid('The token is not a compact JWT.');
  if (!isCanonical(token)) return invalid('The token is not canonical base64url.');
  let keysUnavailable = false;
  try {
    const { payload } = await jwtVerify(
      token,
      async (header, input) => {
        // RFC 7797's `b64` has no place in a JWT (RFC 7797 7; SECURITY F6). jose honours it
        // only when listed in `crit` and otherwise reads past it: refuse it either way.
        if ('b64' in header) throw new errors.JWSInvalid('The b64 header parameter is not allowed.');
        let key: KeyObject | CryptoKey | null;
        try {
          key = await resolveKey(header, input);
        } catch (error) {
          keysUnavailable = true;
          throw error;
        }
        if (!key) throw new errors.JWKSNoMatchingKey();
        return key;
      },
      {
        algorithms: ['EdDSA'],
        typ: JWT_TYPE,
        issuer: settings.issuer,
        audience: settings.audience,
        requiredClaims: ['exp', 'iat', 'jti', 'sub'],
        currentDate: new Date(now),
        clockTolerance: Math.floor(settings.skewMs / 1000),
      },
    );
    const { sub, jti, exp, iat, cid, ckind, scope, iat_ms: iatMs } = payload;
    if (payload[KIND_CLAIM] !== JWT_KIND) return invalid('The token is not a bearer access token.');
    if (typeof iat !== 'number' || iat * 1000 > now + settings.skewMs)
      return invalid('The token was issued in the future.');
    if (
      typeof sub !== 'string' ||
      // `sub` is the user's id (issueJwt): anything else was never issued here.
      !/^\d{1,15}$/.test(sub) ||
      typeof jti !== 'string' ||
      typeof exp !== 'number' ||
      !Number.isSafeInteger(cid) ||
      typeof ckind !== 'string' ||
      !Number.isSafeInteger(iatMs) ||
      Math.floor((iatMs as number) / 1000) !== iat
    ) {
      return invalid('The token claims are incomplete.');
    }
    if (scope !== undefined && typeof scope !== 'string') return invalid('The scope claim must be a string.');
    return {
      ok: true,
      claims: {
        sub,
        jti,
        exp,
        iat,
        iatMs: iatMs as number,
        cid: cid as number,
        ckind,
        ...(scope !== undefined && { scope }),
      },
    };
  } catch (error) {
    if (keysUnavailable) {
      return { ok: false, code: 'KEYS_UNAVAILABLE', reason: 'The signing keys cannot be fetched; try again shortly.' };
    }
    return invalid(joseFailureReason(error));
  }
}

/** A client-facing reason for a jose verification failure. */
function joseFailureReason(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'The token has expired.';
  if (error instanceof errors.JWKSNoMatchingKey) return 'The token names an unknown key.';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'The token signature is invalid.';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'The token algorithm is not allowed.';
  if (error instanceof errors.JWTClaimValidationFailed) return `The token claim "${error.claim}" is invalid.`;
  return 'The token is invalid.';
}
