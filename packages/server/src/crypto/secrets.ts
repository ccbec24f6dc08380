import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * A new secret of `bytes` random bytes from the OS CSPRNG, base64url-encoded. Session ids use
 * 32 bytes (256 bits), above the 128-bit floor of OWASP ASVS 5.0 7.2.3.
 */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * The lookup digest of a high-entropy secret: hex SHA-256. A fast, unkeyed hash is enough
 * here because the secrets carry ≥128 bits of entropy; it is what the database stores and
 * indexes, so a leaked table hands out no usable secret.
 */
export function digestSecret(secret: string): string {
  // The one-shot form: no Hash object per call, and this runs on every token request.
  return hash('sha256', secret, 'hex');
}

/** Compares two strings in time that depends only on their lengths. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  if (left.length !== right.length) {
    // Still do the work so the early return does not stand out by much.
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}
