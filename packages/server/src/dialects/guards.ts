import type { Principal } from '../auth/principal.js';
import type { RequestContext } from '../http/context.js';
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
  if (isShortLived(principal)) {
    throw detail(403, 'A short-lived token cannot make a lasting credential; use the credential it came from.');
  }
}

/**
 * A password or email change, or a new long-lived key, made through a browser session needs
 * the session to have signed in recently (SECURITY G3; ASVS5 7.5): a session left open on a
 * shared machine, or ridden by injected script, cannot quietly take the account over. Basic
 * user:password proves the password on the request itself; a long-lived token is limited by
 * its scopes instead; a short-lived one (bought with anything, an old session included) may not.
 */
export function requireRecentLogin(ctx: RequestContext): void {
  const { credential, signedInAt } = ctx.user;
  // A JWT or Conjur token can be bought with any session, however old: it would be a way
  // round this check, so it may not make these changes at all.
  if (isShortLived(ctx.user)) {
    throw detail(403, 'A short-lived token cannot make this change; use the credential it came from.');
  }
  if (credential.kind !== 'session') return;
  if (signedInAt !== undefined && ctx.tessera.clock() - signedInAt <= ctx.tessera.config.recentLoginMs) return;
  throw detail(403, 'This change needs a recent sign-in: sign in again, then retry.');
}

function isShortLived(principal: Principal): boolean {
  return principal.credential.kind === 'jwt' || principal.credential.kind === 'conjur-token';
}
