import {
  checkRole,
  checkScopes,
  createVerifier,
  failureHeaders,
  type VerifiedPrincipal,
  type Verifier,
  type VerifierOptions,
  type VerifyFailure,
} from './verifier.js';

export type { VerifiedPrincipal, Verifier, VerifierOptions } from './verifier.js';
export { createVerifier } from './verifier.js';

/** The Hono `Env` the middleware fills: `new Hono<TesseraEnv>()` types `c.get('principal')`. */
export type TesseraEnv = { Variables: { principal: VerifiedPrincipal } };

/** The parts of a Hono context the middleware uses (typed here: hono is optional). */
export interface HonoContextLike {
  req: { raw: Request };
  get(key: 'principal'): VerifiedPrincipal | undefined;
  set(key: 'principal', value: VerifiedPrincipal): void;
}

export type HonoMiddleware = (c: HonoContextLike, next: () => Promise<void>) => Promise<Response | undefined>;

/**
 * Hono middleware that authenticates every request: `c.get('principal')`, or a 401/403/429/503
 * answer with `{"detail": …}` (and `WWW-Authenticate` on 401).
 *
 * @example
 * ```js
 * import { Hono } from 'hono';
 * import { tessera, requireScopes } from 'tessera/hono';
 * const app = new Hono();
 * app.use(tessera({ mode: 'offline', url: 'http://127.0.0.1:8000' }));
 * app.get('/notes', requireScopes('notes:read'), (c) => c.json(c.get('principal')));
 * ```
 * @throws TypeError naming the option when the options are unusable.
 */
export function tessera(options: VerifierOptions | Verifier): HonoMiddleware & { verifier: Verifier } {
  const verifier = 'verify' in options ? options : createVerifier(options);
  const middleware: HonoMiddleware = async (c, next) => {
    const request = c.req.raw;
    const result = await verifier.verify({
      method: request.method,
      // Headers joins repeated fields with ", ", which no scheme accepts: still one refusal.
      headers: Object.fromEntries(request.headers),
      secure: request.url.startsWith('https:'),
    });
    if (!result.ok) return refuse(result);
    c.set('principal', result.principal);
    await next();
    return undefined;
  };
  return Object.assign(middleware, { verifier });
}

/**
 * Lets a request through only when its credential holds every scope (unscoped credentials hold all).
 *
 * @example
 * ```js
 * app.post('/notes', requireScopes('notes:write'), handler);
 * ```
 */
export function requireScopes(...scopes: string[]): HonoMiddleware {
  return async (c, next) => {
    const refusal = checkScopes(c.get('principal'), scopes);
    if (refusal) return refuse(refusal);
    await next();
    return undefined;
  };
}

/**
 * Lets a request through only when the user has the role (`local` and `remote` modes).
 *
 * @example
 * ```js
 * app.get('/admin', requireRole('admin'), handler);
 * ```
 */
export function requireRole(role: string): HonoMiddleware {
  return async (c, next) => {
    const refusal = checkRole(c.get('principal'), role);
    if (refusal) return refuse(refusal);
    await next();
    return undefined;
  };
}

function refuse(failure: VerifyFailure): Response {
  return Response.json({ detail: failure.detail }, { status: failure.status, headers: failureHeaders(failure) });
}
