import { constantTimeEqual } from '../crypto/secrets.js';

/**
 * The cross-site rules for credentials a browser attaches on its own (SECURITY D1, D2, D4), as
 * pure functions over the request's method, headers and HTTPS flag. The server and the
 * middleware's `local` mode both ask these and turn a refusal into their own 403, so the two
 * cannot drift apart.
 */

/**
 * The request parts the rules read. The server's `RequestContext` is one; the middleware makes
 * one with {@link browserRequest}.
 */
export interface BrowserRequest {
  readonly method: string | undefined;
  /** A header's value (the first, when repeated); `name` is lower case. */
  header(name: string): string | undefined;
  /** The request came over HTTPS (directly or through a trusted proxy). */
  readonly secure: boolean;
}

/** Where the rules take their settings from: the server's configuration. */
export interface CrossSiteSettings {
  /** Origins trusted besides the request's own, lower case (`TESSERA_TRUSTED_ORIGINS`). */
  trustedOrigins: readonly string[];
  /** The header an unsafe cookie-authenticated request echoes its CSRF token in. */
  csrfHeaderName: string;
}

/** A refusal, in the words of Django's CSRF middleware; the caller answers it with 403. */
export type CrossSiteRefusal = { reason: string };

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** True for methods that may change state (RFC 9110 9.2.1): the ones CSRF rules guard. */
export function isUnsafe(method: string | undefined): boolean {
  return !SAFE_METHODS.has(method ?? 'GET');
}

/**
 * A {@link BrowserRequest} over a Node-style header record (lower-case names), reading the
 * first value of a repeated header as the server does.
 *
 * @example
 * ```ts
 * browserRequest({ method: req.method, headers: req.headers, secure: req.secure });
 * ```
 */
export function browserRequest(input: {
  method?: string | undefined;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  secure: boolean;
}): BrowserRequest {
  return {
    method: input.method,
    secure: input.secure,
    header: (name) => {
      const value = input.headers[name];
      return Array.isArray(value) ? value[0] : value;
    },
  };
}

/**
 * Refuses a request a browser sent on behalf of another site (SECURITY D4): a foreign or
 * `null` Origin, `Sec-Fetch-Site: cross-site`, or — over HTTPS, where browsers always send it,
 * and when `requireReferer` — a missing, malformed or foreign Referer when there is no Origin.
 * The request's own origin is its scheme and `Host`. Returns null when the request may pass.
 *
 * @example
 * ```ts
 * const request = browserRequest({ method: 'POST', headers: { host: 'a.example', origin: 'https://evil.example' }, secure: true });
 * sameOriginRefusal(request, [], { requireReferer: true }); // { reason: 'CSRF Failed: Origin checking failed - …' }
 * ```
 */
export function sameOriginRefusal(
  request: Pick<BrowserRequest, 'header' | 'secure'>,
  trustedOrigins: readonly string[],
  options: { requireReferer: boolean },
): CrossSiteRefusal | null {
  if (request.header('sec-fetch-site') === 'cross-site') {
    return { reason: 'CSRF Failed: Cross-site request refused (Sec-Fetch-Site: cross-site).' };
  }
  const own = `${request.secure ? 'https' : 'http'}://${(request.header('host') ?? '').toLowerCase()}`;
  const origin = request.header('origin');
  if (origin !== undefined) {
    const normal = origin.toLowerCase();
    if (normal === own || trustedOrigins.includes(normal)) return null;
    return {
      reason: `CSRF Failed: Origin checking failed - ${origin.slice(0, 200)} does not match any trusted origins.`,
    };
  }
  if (!request.secure || !options.requireReferer) return null;
  const referer = request.header('referer');
  if (!referer) return { reason: 'CSRF Failed: Referer checking failed - no Referer.' };
  let refOrigin: string;
  try {
    refOrigin = new URL(referer).origin.toLowerCase();
  } catch {
    return { reason: 'CSRF Failed: Referer checking failed - Referer is malformed.' };
  }
  if (refOrigin === own || trustedOrigins.includes(refOrigin)) return null;
  return {
    reason: `CSRF Failed: Referer checking failed - ${refOrigin.slice(0, 200)} does not match any trusted origins.`,
  };
}

/**
 * The synchroniser-token check (SECURITY D1): the token sent must equal the one bound to this
 * very session, compared in constant time. Returns null when it does.
 *
 * @example
 * ```ts
 * csrfTokenRefusal(undefined, expected); // { reason: 'CSRF Failed: CSRF token missing.' }
 * ```
 */
export function csrfTokenRefusal(sent: string | undefined, expected: string): CrossSiteRefusal | null {
  if (!sent) return { reason: 'CSRF Failed: CSRF token missing.' };
  if (!constantTimeEqual(sent, expected)) return { reason: 'CSRF Failed: CSRF token incorrect.' };
  return null;
}

/**
 * The rule for an authenticated request, once its credential is known. A cookie session
 * (`csrfToken` not null) on an unsafe method needs the same origin — Origin, or over HTTPS a
 * Referer — and its CSRF token echoed (SECURITY D1, D4). Basic credentials on an unsafe method
 * need the same origin too, without the Referer rule: browsers replay cached Basic credentials
 * on their own, like cookies, while scripts send no Origin and pass. Header credentials a
 * script must set deliberately need neither. Returns null when the request may pass.
 *
 * @example
 * ```ts
 * const refusal = browserCredentialRefusal(ctx, principal.csrfToken, config);
 * if (refusal) answer(403, refusal.reason);
 * ```
 */
export function browserCredentialRefusal(
  request: BrowserRequest,
  csrfToken: string | null,
  settings: CrossSiteSettings,
): CrossSiteRefusal | null {
  if (!isUnsafe(request.method)) return null;
  if (csrfToken !== null) {
    return (
      sameOriginRefusal(request, settings.trustedOrigins, { requireReferer: true }) ??
      csrfTokenRefusal(request.header(settings.csrfHeaderName), csrfToken)
    );
  }
  if (/^basic\s/i.test(request.header('authorization') ?? '')) {
    return sameOriginRefusal(request, settings.trustedOrigins, { requireReferer: false });
  }
  return null;
}
