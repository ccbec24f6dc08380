import { type AuthResult, authFailure } from '../auth/principal.js';
import type { CredentialStore } from '../credentials/credential-store.js';
import { DRF_KEY } from '../credentials/formats.js';
import { digestSecret } from '../crypto/secrets.js';
import { principalOf } from './principal-of.js';
import type { HeaderScheme } from './scheme.js';

const CHALLENGE = 'Token';

/**
 * `Authorization: Token <key>` (DESIGN "drf"; seed 002), answering in DRF's exact words so
 * DRF clients see what they expect. Claims any `Token` credential without a colon or
 * `token=`, which are Frappe's and Conjur's.
 */
export class DrfTokenScheme implements HeaderScheme {
  readonly source = 'authorization';
  readonly authorizationScheme = 'Token';
  readonly challenge = CHALLENGE;
  readonly form = 'Token <40-hex key>';

  constructor(private readonly credentials: CredentialStore) {}

  accepts(credentials: string): boolean {
    return !credentials.includes(':') && !/^token=/i.test(credentials);
  }

  async authenticate(credentials: string): Promise<AuthResult> {
    // DRF splits the header on whitespace: one part is no key, three are too many. Only
    // HTTP whitespace separates: a U+00A0 after the key is part of it, not a gap.
    const parts = credentials.split(/[\t\n\r ]+/).filter(Boolean);
    if (parts.length === 0) return fail('MALFORMED_CREDENTIALS', 'Invalid token header. No credentials provided.');
    if (parts.length > 1) {
      return fail('MALFORMED_CREDENTIALS', 'Invalid token header. Token string should not contain spaces.');
    }
    const key = parts[0] ?? '';
    if (!DRF_KEY.test(key)) {
      return /^[\x21-\x7e]+$/.test(key)
        ? fail('INVALID_CREDENTIALS', 'Invalid token.')
        : fail('MALFORMED_CREDENTIALS', 'Invalid token header. Token string should not contain invalid characters.');
    }
    const lookup = digestSecret(key);
    const found = (await this.credentials.find('drf', lookup)) ?? (await this.credentials.find('drf-login', lookup));
    if (!found) return fail('INVALID_CREDENTIALS', 'Invalid token.');
    if (!found.user.isActive) return fail('INACTIVE_USER', 'User inactive or deleted.');
    await this.credentials.touch(found.info);
    return { ok: true, principal: principalOf(found) };
  }
}

function fail(code: 'MALFORMED_CREDENTIALS' | 'INVALID_CREDENTIALS' | 'INACTIVE_USER', message: string): AuthResult {
  return authFailure(code, CHALLENGE, message);
}
