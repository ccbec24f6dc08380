import { randomBytes } from 'node:crypto';

/**
 * The shapes of Tessera's opaque secrets. Each carries at least 160 random bits from the OS
 * CSPRNG (DESIGN security baseline), and each has a pattern its scheme checks before any
 * database work, so garbage never costs a query.
 */

/** DRF's key: 40 hex characters (160 bits), as `rest_framework.authtoken` makes them. */
export const DRF_KEY = /^[0-9a-f]{40}$/;
export function newDrfKey(): string {
  return randomBytes(20).toString('hex');
}

/** A Frappe api key: 16 hex characters. It is an identifier, public like a username. */
export const API_KEY = /^[0-9a-f]{16}$/;
/** A Frappe api secret: 40 hex characters (160 bits). */
export const API_SECRET = /^[0-9a-f]{40}$/;
export function newApiKey(): string {
  return randomBytes(8).toString('hex');
}
export function newApiSecret(): string {
  return randomBytes(20).toString('hex');
}

/**
 * A native personal token: `tsr_` and 40 base64url characters (240 bits). The fixed prefix
 * lets secret scanners recognise a leaked token.
 */
export const PERSONAL_TOKEN_PREFIX = 'tsr_';
export const PERSONAL_TOKEN = /^tsr_[A-Za-z0-9_-]{40}$/;
export function newPersonalToken(): string {
  return `${PERSONAL_TOKEN_PREFIX}${randomBytes(30).toString('base64url')}`;
}
/** What listings show of a personal token: enough to tell tokens apart, useless to an attacker. */
export function displayPrefix(token: string): string {
  return token.slice(0, PERSONAL_TOKEN_PREFIX.length + 6);
}

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';

/** A Conjur API key: 32 random bytes in lower-case Crockford base32 (52 characters), like Conjur's. */
export const CONJUR_API_KEY = /^[0-9a-hjkmnp-tv-z]{52}$/;
export function newConjurApiKey(): string {
  const bytes = randomBytes(32);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += CROCKFORD[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += CROCKFORD[(value << (5 - bits)) & 31];
  return out;
}
