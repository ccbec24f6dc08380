import type { AuthResult } from '../auth/principal.js';
import type { CredentialStore } from '../credentials/credential-store.js';
import { API_KEY, API_SECRET } from '../credentials/formats.js';
import { constantTimeEqual, digestSecret } from '../crypto/secrets.js';
import { principalOf } from './principal-of.js';

/**
 * Verifies a Frappe api key and secret, whichever header carried them. The key is public and
 * finds the row; the secret's digest is then compared in constant time. Returns undefined
 * when no such api key exists, so Basic can fall through to a password check.
 */
export async function verifyKeyPair(
  credentials: CredentialStore,
  apiKey: string,
  apiSecret: string,
  fail: (code: 'INVALID_CREDENTIALS' | 'INACTIVE_USER') => AuthResult,
): Promise<AuthResult | undefined> {
  if (!API_KEY.test(apiKey)) return undefined;
  const found = await credentials.find('api-key', apiKey);
  if (!found) return undefined;
  const ok = API_SECRET.test(apiSecret) && constantTimeEqual(digestSecret(apiSecret), found.secretDigest ?? '');
  if (!ok) return fail('INVALID_CREDENTIALS');
  // Only enabled users (SECURITY E3).
  if (!found.user.isActive) return fail('INACTIVE_USER');
  await credentials.touch(found.info);
  return { ok: true, principal: principalOf(found) };
}
