import { constantTimeEqual } from '../crypto/secrets.js';
import type { RequestContext } from './context.js';
import { detail } from './http-error.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isUnsafe(method: string): boolean {
  return !SAFE_METHODS.has(method);
}

/**
 * Refuses requests a browser sent on behalf of another site (SECURITY D4): a foreign or
 * `null` Origin, `Sec-Fetch-Site: cross-site`, or — over HTTPS, where browsers always send it —
 * a missing or foreign Referer when there is no Origin. Used for cookie-authenticated unsafe
 * requests, and — without the Referer rule, since API clients send none and hold no cookie
 * worth forging — for the login form, which has no session yet (Django's login CSRF; D2).
 */
export function checkSameOrigin(ctx: RequestContext, options: { requireReferer: boolean }): void {
  if (ctx.header('sec-fetch-site') === 'cross-site') {
    throw detail(403, 'CSRF Failed: Cross-site request refused (Sec-Fetch-Site: cross-site).');
  }
  const own = `${ctx.secure ? 'https' : 'http'}://${(ctx.header('host') ?? '').toLowerCase()}`;
  const trusted = ctx.tessera.config.trustedOrigins;
  const origin = ctx.header('origin');
  if (origin !== undefined) {
    const normal = origin.toLowerCase();
    if (normal !== own && !trusted.includes(normal)) {
      throw detail(
        403,
        `CSRF Failed: Origin checking failed - ${origin.slice(0, 200)} does not match any trusted origins.`,
      );
    }
    return;
  }
  if (ctx.secure && options.requireReferer) {
    const referer = ctx.header('referer');
    if (!referer) throw detail(403, 'CSRF Failed: Referer checking failed - no Referer.');
    let refOrigin: string;
    try {
      refOrigin = new URL(referer).origin.toLowerCase();
    } catch {
      throw detail(403, 'CSRF Failed: Referer checking failed - Referer is malformed.');
    }
    if (refOrigin !== own && !trusted.includes(refOrigin)) {
      throw detail(
        403,
        `CSRF Failed: Referer checking failed - ${refOrigin.slice(0, 200)} does not match any trusted origins.`,
      );
    }
  }
}

/**
 * The synchroniser-token check for a cookie-authenticated unsafe request (SECURITY D1): the
 * CSRF header must equal the token bound to this very session, compared in constant time.
 */
export function checkCsrfToken(ctx: RequestContext, expected: string): void {
  const sent = ctx.header(ctx.tessera.config.session.csrfHeaderName);
  if (!sent) throw detail(403, 'CSRF Failed: CSRF token missing.');
  if (!constantTimeEqual(sent, expected)) throw detail(403, 'CSRF Failed: CSRF token incorrect.');
}
