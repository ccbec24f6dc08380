import type { RequestContext } from './context.js';
import { csrfTokenRefusal, sameOriginRefusal } from './cross-site.js';
import { detail } from './http-error.js';

/**
 * The same-origin rule of `cross-site.ts` (SECURITY D4) as the server answers it: a 403. Used
 * for the login form, which has no session yet (Django's login CSRF; D2), without the Referer
 * rule, since API clients send none and hold no cookie worth forging.
 */
export function checkSameOrigin(ctx: RequestContext, options: { requireReferer: boolean }): void {
  const refusal = sameOriginRefusal(ctx, ctx.tessera.config.trustedOrigins, options);
  if (refusal) throw detail(403, refusal.reason);
}

/** The synchroniser-token rule of `cross-site.ts` (SECURITY D1) as the server answers it: a 403. */
export function checkCsrfToken(ctx: RequestContext, expected: string): void {
  const refusal = csrfTokenRefusal(ctx.header(ctx.tessera.config.session.csrfHeaderName), expected);
  if (refusal) throw detail(403, refusal.reason);
}
