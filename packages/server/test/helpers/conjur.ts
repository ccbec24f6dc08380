import { createHash, type KeyObject, sign } from 'node:crypto';
import { basicHeader } from './credentials.js';
import type { TestServer } from './harness.js';
import { type ProcessResult, runProcess } from './process.js';

/**
 * Conjur's authn calls and token forms, written from seed 004 and DESIGN "conjur" rather
 * than from the server's own code, so the tests check the format instead of echoing it.
 */

/** A Conjur API key: 52 characters of lower-case Crockford base32. */
export const CONJUR_API_KEY_SHAPE = /^[0-9a-hjkmnp-tv-z]{52}$/;

/** `GET /api/authn/users/login` (or another login path) with `Authorization: <authorization>`. */
export function conjurLogin(server: TestServer, authorization: string, path = '/api/authn/users/login') {
  return fetch(`${server.url}${path}`, { headers: { authorization } });
}

/** The user's API key through Basic login:password; throws unless the server answers 200. */
export async function apiKeyOf(server: TestServer, login: string, password: string): Promise<string> {
  const response = await conjurLogin(server, basicHeader(login, password));
  const text = await response.text();
  if (response.status !== 200) throw new Error(`Conjur login failed: ${response.status} ${text}`);
  return text;
}

/** `POST /api/authn/users/{login}/authenticate` with the API key as the whole body, as curl --data sends it. */
export function conjurAuthenticate(
  server: TestServer,
  login: string,
  apiKey: string,
  options: { path?: string; headers?: Record<string, string> } = {},
) {
  return fetch(`${server.url}${options.path ?? `/api/authn/users/${encodeURIComponent(login)}/authenticate`}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...options.headers },
    body: apiKey,
  });
}

/** A token JSON object for `login`; throws unless `authenticate` answers 200. */
export async function tokenFor(server: TestServer, login: string, apiKey: string): Promise<Record<string, string>> {
  const response = await conjurAuthenticate(server, login, apiKey);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`Conjur authenticate failed: ${response.status} ${text}`);
  return JSON.parse(text) as Record<string, string>;
}

/** `Token token="<base64 of the token JSON>"`: a token object, or raw text put inside the quotes as is. */
export function tokenHeader(token: Record<string, unknown> | { raw: string }): string {
  const encoded =
    'raw' in token && typeof token.raw === 'string' ? token.raw : Buffer.from(JSON.stringify(token)).toString('base64');
  return `Token token="${encoded}"`;
}

/** `GET path` (the Conjur whoami by default) with `Authorization: <authorization>`. */
export function withAuthorization(server: TestServer, authorization: string, path = '/api/authn/whoami') {
  return fetch(`${server.url}${path}`, { headers: { authorization } });
}

/** The status of Conjur's whoami with this token. */
export async function whoamiStatusWith(server: TestServer, token: Record<string, unknown>): Promise<number> {
  const response = await withAuthorization(server, tokenHeader(token));
  await response.arrayBuffer();
  return response.status;
}

/** The seed's timestamp form, `YYYY-MM-DD HH:MM:SS UTC`, of a moment. */
export function conjurTimestamp(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} UTC`
  );
}

/**
 * The documented signed bytes of a seed-format token: `{"data":…,"timestamp":…,"uid":…}`, sorted
 * keys, no spaces, where `uid` is the id of the user `data` names (not sent: the server knows it).
 */
export function legacySignedBytes(data: string, timestamp: string, uid: number): Buffer {
  return Buffer.from(`{"data":${JSON.stringify(data)},"timestamp":${JSON.stringify(timestamp)},"uid":${uid}}`);
}

/** The documented `typ` of a Conjur JWS, distinct from the bearer JWT's `at+jwt`. */
export const CONJUR_JWS_TYP = 'conjur+jws';

/** The documented claims of a Conjur JWS for a user, issued at `iatMs`, living `lifeSeconds`. */
export function conjurJwsClaims(login: string, uid: number, iatMs: number, lifeSeconds = 480): Record<string, unknown> {
  const iat = Math.floor(iatMs / 1000);
  return { sub: login, uid, token_kind: 'conjur', iat, iat_ms: iatMs, exp: iat + lifeSeconds };
}

/** Hex SHA-256 of a public key's SubjectPublicKeyInfo DER (DESIGN: Conjur's `key`, the JWKS `kid`). */
export function fingerprintOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/** A seed-format token for user `uid` named `data`, signed with a given Ed25519 key, at any moment. */
export function signLegacyToken(
  key: { privateKey: KeyObject; fingerprint: string },
  data: string,
  issuedAtMs: number,
  uid: number,
): Record<string, string> {
  const timestamp = conjurTimestamp(issuedAtMs);
  const signature = sign(null, legacySignedBytes(data, timestamp, uid), key.privateKey).toString('base64url');
  return { data, timestamp, signature, key: key.fingerprint };
}

/** A flattened JWS (Conjur's current format) over any header and payload, signed with a given key. */
export function signJwsToken(
  privateKey: KeyObject,
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
): Record<string, string> {
  const protectedHeader = Buffer.from(JSON.stringify(header)).toString('base64url');
  const encodedPayload = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const signature = sign(null, Buffer.from(`${protectedHeader}.${encodedPayload}`), privateKey).toString('base64url');
  return { protected: protectedHeader, payload: encodedPayload, signature };
}

/** A base64url segment decoded as JSON. */
export function decodeSegment(segment: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/**
 * Runs a bash script to completion, with `env` added to the environment (and 127.0.0.1 kept
 * away from any proxy the environment names). A missing bash rejects; a missing command
 * inside the script shows as its exit status.
 */
export function runBash(script: string, env: Record<string, string>): Promise<ProcessResult> {
  return runProcess('bash', ['-c', script], { env });
}

/** `name=value` lines, as the shell scripts print their results, into a map. */
export function shellValues(stdout: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return values;
}
