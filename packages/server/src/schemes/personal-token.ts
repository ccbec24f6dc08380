import { type AuthResult, authFailure } from '../auth/principal.js';
import type { CredentialStore } from '../credentials/credential-store.js';
import { PERSONAL_TOKEN, PERSONAL_TOKEN_PREFIX } from '../credentials/formats.js';
import { digestSecret } from '../crypto/secrets.js';
import { principalOf } from './principal-of.js';
import type { HeaderScheme } from './scheme.js';

const CHALLENGE = 'Bearer realm="tessera"';

/** `Authorization: Bearer tsr_…`, the native personal tokens made under `/v1/credentials`. */
export class PersonalTokenScheme implements HeaderScheme {
  readonly source = 'authorization';
  readonly authorizationScheme = 'Bearer';
  readonly challenge = CHALLENGE;
  readonly form = 'Bearer tsr_<token>';

  constructor(private readonly credentials: CredentialStore) {}

  accepts(credentials: string): boolean {
    return credentials.startsWith(PERSONAL_TOKEN_PREFIX);
  }

  async authenticate(credentials: string): Promise<AuthResult> {
    if (!PERSONAL_TOKEN.test(credentials)) {
      return authFailure('MALFORMED_CREDENTIALS', CHALLENGE, `Malformed bearer token; expected ${this.form}.`);
    }
    const found = await this.credentials.find('personal', digestSecret(credentials));
    if (!found) return authFailure('INVALID_CREDENTIALS', CHALLENGE, 'Invalid token.');
    if (!found.user.isActive) return authFailure('INACTIVE_USER', CHALLENGE);
    await this.credentials.touch(found.info);
    return { ok: true, principal: principalOf(found) };
  }
}
