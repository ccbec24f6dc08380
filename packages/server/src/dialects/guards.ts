import type { Principal } from '../auth/principal.js';
import { detail } from '../http/http-error.js';

/** Scope a limited credential needs to list, make or revoke credentials. */
export const CREDENTIALS_SCOPE = 'credentials';

/** Scope a limited credential needs to change users (its own password included). */
export const USERS_SCOPE = 'users';

/**
 * A JWT or Conjur token lives minutes; letting it make a lasting credential would let
 * anyone handed one keep access after it (and what it was bought with) is gone.
 */
export function refuseShortLived(principal: Principal): void {
  if (principal.credential.kind === 'jwt' || principal.credential.kind === 'conjur-token') {
    throw detail(403, 'A short-lived token cannot make a lasting credential; use the credential it came from.');
  }
}
