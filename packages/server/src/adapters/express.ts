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

declare global {
  namespace Express {
    interface Request {
      /** Set by Tessera's middleware on authenticated requests. */
      principal?: VerifiedPrincipal;
    }
  }
}

/** The parts of an Express request the middleware reads (typed here: express is optional). */
export interface ExpressRequestLike {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  headersDistinct?: Record<string, string[] | undefined>;
  secure?: boolean;
  ip?: string | undefined;
  principal?: VerifiedPrincipal;
}

export interface ExpressResponseLike {
  status(code: number): unknown;
  set(field: Record<string, string>): unknown;
  json(body: unknown): unknown;
}

export type ExpressMiddleware = (
  req: ExpressRequestLike,
  res: ExpressResponseLike,
  next: (error?: unknown) => void,
) => void;

/**
 * Express middleware that authenticates every request: sets `req.principal`, or answers
 * 401/403/429/503 with `{"detail": …}` (and `WWW-Authenticate` on 401).
 *
 * @example
 * ```js
 * import express from 'express';
 * import { tessera, requireScopes } from 'tessera/express';
 * const app = express();
 * app.use(tessera({ mode: 'offline', url: 'http://127.0.0.1:8000' }));
 * app.get('/notes', requireScopes('notes:read'), (req, res) => res.json({ user: req.principal.userId }));
 * ```
 * @throws TypeError naming the option when the options are unusable.
 */
export function tessera(options: VerifierOptions | Verifier): ExpressMiddleware & { verifier: Verifier } {
  const verifier = 'verify' in options ? options : createVerifier(options);
  const middleware: ExpressMiddleware = (req, res, next) => {
    verifier
      .verify({
        method: req.method,
        headers: req.headers,
        ...(req.headersDistinct && { headersDistinct: req.headersDistinct }),
        ...(req.ip !== undefined && { clientAddress: req.ip }),
        secure: req.secure === true,
      })
      .then((result) => {
        if (!result.ok) return refuse(res, result);
        req.principal = result.principal;
        next();
      }, next);
  };
  return Object.assign(middleware, { verifier });
}

/**
 * Lets a request through only when its credential holds every scope (unscoped credentials hold all).
 *
 * @example
 * ```js
 * app.delete('/notes/:id', requireScopes('notes:write'), handler);
 * ```
 */
export function requireScopes(...scopes: string[]): ExpressMiddleware {
  return (req, res, next) => {
    const refusal = checkScopes(req.principal, scopes);
    if (refusal) refuse(res, refusal);
    else next();
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
export function requireRole(role: string): ExpressMiddleware {
  return (req, res, next) => {
    const refusal = checkRole(req.principal, role);
    if (refusal) refuse(res, refusal);
    else next();
  };
}

function refuse(res: ExpressResponseLike, failure: VerifyFailure): void {
  res.status(failure.status);
  res.set(failureHeaders(failure));
  res.json({ detail: failure.detail });
}
