import { type AuthResult, authFailure } from '../auth/principal.js';
import type { CredentialStore } from '../credentials/credential-store.js';
import { verifyKeyPair } from './key-pair.js';
import type { HeaderScheme } from './scheme.js';

const CHALLENGE = 'Token';

/**
 * `Authorization: token <api_key>:<api_secret>` (DESIGN "frappe"; seed 003). The scheme name
 * is matched without case; the pair is split on the first colon (SECURITY E3).
 */
export class FrappeTokenScheme implements HeaderScheme {
  readonly source = 'authorization';
  readonly authorizationScheme = 'token';
  readonly challenge = CHALLENGE;
  readonly form = 'token <api_key>:<api_secret>';

  constructor(private readonly credentials: CredentialStore) {}

  accepts(credentials: string): boolean {
    return credentials.includes(':') && !/^token=/i.test(credentials);
  }

  async authenticate(credentials: string): Promise<AuthResult> {
    const colon = credentials.indexOf(':');
    const apiKey = credentials.slice(0, colon);
    const apiSecret = credentials.slice(colon + 1);
    if (apiKey === '' || apiSecret === '' || /\s/.test(credentials)) {
      return authFailure('MALFORMED_CREDENTIALS', CHALLENGE, `Malformed token header; expected ${this.form}.`);
    }
    const fail = (code: 'INVALID_CREDENTIALS' | 'INACTIVE_USER') => authFailure(code, CHALLENGE);
    return (await verifyKeyPair(this.credentials, apiKey, apiSecret, fail)) ?? fail('INVALID_CREDENTIALS');
  }
}
