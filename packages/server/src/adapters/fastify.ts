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

/** The parts of a Fastify request the hook reads (typed here: fastify is optional). */
export interface FastifyRequestLike {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  raw: { headersDistinct?: Record<string, string[] | undefined> };
  protocol?: string;
  ip?: string;
  principal?: VerifiedPrincipal | null;
}

export interface FastifyReplyLike {
  code(status: number): unknown;
  headers(values: Record<string, string>): unknown;
  send(body: unknown): unknown;
}

export type FastifyHook = (request: FastifyRequestLike, reply: FastifyReplyLike) => Promise<void>;

/**
 * A Fastify `onRequest` hook that authenticates every request: sets `request.principal`, or
 * answers 401/403/429/503 with `{"detail": …}` (and `WWW-Authenticate` on 401).
 *
 * @example
 * ```js
 * import Fastify from 'fastify';
 * import { tessera, requireScopes } from 'tessera/fastify';
 * const app = Fastify();
 * app.decorateRequest('principal', null);
 * app.addHook('onRequest', tessera({ mode: 'offline', url: 'http://127.0.0.1:8000' }));
 * app.get('/notes', { preHandler: requireScopes('notes:read') }, async (request) => request.principal);
 * ```
 * @throws TypeError naming the option when the options are unusable.
 */
export function tessera(options: VerifierOptions | Verifier): FastifyHook & { verifier: Verifier } {
  const verifier = 'verify' in options ? options : createVerifier(options);
  const hook: FastifyHook = async (request, reply) => {
    const result = await verifier.verify({
      method: request.method,
      headers: request.headers,
      ...(request.raw.headersDistinct && { headersDistinct: request.raw.headersDistinct }),
      ...(request.ip !== undefined && { clientAddress: request.ip }),
      secure: request.protocol === 'https',
    });
    if (!result.ok) return refuse(reply, result);
    request.principal = result.principal;
  };
  return Object.assign(hook, { verifier });
}

/**
 * A `preHandler` that needs every scope (unscoped credentials hold all).
 *
 * @example
 * ```js
 * app.post('/notes', { preHandler: requireScopes('notes:write') }, handler);
 * ```
 */
export function requireScopes(...scopes: string[]): FastifyHook {
  return async (request, reply) => {
    const refusal = checkScopes(request.principal, scopes);
    if (refusal) refuse(reply, refusal);
  };
}

/**
 * A `preHandler` that needs the role (`local` and `remote` modes).
 *
 * @example
 * ```js
 * app.get('/admin', { preHandler: requireRole('admin') }, handler);
 * ```
 */
export function requireRole(role: string): FastifyHook {
  return async (request, reply) => {
    const refusal = checkRole(request.principal, role);
    if (refusal) refuse(reply, refusal);
  };
}

function refuse(reply: FastifyReplyLike, failure: VerifyFailure): void {
  reply.code(failure.status);
  reply.headers(failureHeaders(failure));
  reply.send({ detail: failure.detail });
}
