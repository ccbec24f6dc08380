import type { RequestContext } from '../http/context.js';
import { expireCookie, serializeCookie } from '../http/cookies.js';
import { checkSameOrigin } from '../http/csrf.js';
import { Fields } from '../http/fields.js';
import { detail, HttpError } from '../http/http-error.js';
import type { Reply, Route } from '../http/routes.js';
import { publicUser } from '../users/user.js';

/**
 * The session dialect (DESIGN "session"; seed 000, Keystone-API): password login to a
 * server-side session, a `sessionid` cookie plus a script-readable `csrftoken` cookie,
 * `X-CSRFToken` on writes, logout that ends the session on the server.
 */
export function sessionRoutes(): Route[] {
  return [
    { methods: ['POST'], path: '/authentication/login', auth: 'none', handler: login },
    { methods: ['GET'], path: '/authentication/whoami', auth: 'required', handler: whoami },
    { methods: ['POST'], path: '/authentication/logout', auth: 'required', handler: logout },
  ];
}

async function login(ctx: RequestContext): Promise<Reply> {
  // No session exists yet, so no token to check: a cross-site login form is refused by
  // origin instead (login CSRF; SECURITY D2). API clients send no Origin and pass.
  checkSameOrigin(ctx, { requireReferer: false });
  const fields = new Fields(await ctx.body());
  const username = fields.string('username', { required: true });
  const password = fields.string('password', { required: true });
  fields.check();

  const { tessera } = ctx;
  const outcome = await tessera.passwordLogin.attempt({
    username,
    password,
    clientAddress: ctx.clientAddress,
    via: 'session',
  });
  if (!outcome.ok) {
    if (outcome.reason === 'throttled') throw throttled(outcome.retryAfterSeconds);
    throw new HttpError(400, { non_field_errors: ['Invalid username or password.'] });
  }

  // A new id at every login; whatever session the client held before is ended, never
  // adopted or upgraded (session fixation; SECURITY C2, D3).
  const previous = tessera.sessionScheme.secretOf(ctx.req);
  if (previous) {
    const old = await tessera.sessions.find(previous);
    if (old) await tessera.sessions.deleteById(old.credentialId);
  }
  const session = await tessera.sessions.create(outcome.user.id);
  return {
    body: publicUser(outcome.user),
    cookies: sessionCookies(ctx, session.secret, session.csrfToken, tessera.config.session.absoluteMs / 1000),
  };
}

async function whoami(ctx: RequestContext): Promise<Reply> {
  return { body: publicUser(ctx.user.user) };
}

async function logout(ctx: RequestContext): Promise<Reply> {
  const { tessera } = ctx;
  const principal = ctx.user;
  if (principal.credential.kind === 'session') await tessera.sessions.deleteById(principal.credential.id);
  await tessera.audit.record('logout', {
    actorId: principal.user.id,
    subjectId: principal.user.id,
    clientAddress: ctx.clientAddress,
    detail: { credential: principal.credential.kind },
  });
  const { cookieName, csrfCookieName } = tessera.config.session;
  return {
    body: { detail: 'Successfully logged out.' },
    cookies: [
      expireCookie(cookieName, ctx.secureCookie(cookieName)),
      expireCookie(csrfCookieName, ctx.secureCookie(csrfCookieName)),
    ],
  };
}

/** The two cookies of a session: the HttpOnly id, and the CSRF token scripts must read. */
export function sessionCookies(
  ctx: RequestContext,
  secret: string,
  csrfToken: string,
  maxAgeSeconds: number,
): string[] {
  const { cookieName, csrfCookieName } = ctx.tessera.config.session;
  return [
    serializeCookie(cookieName, secret, { httpOnly: true, secure: ctx.secureCookie(cookieName), maxAgeSeconds }),
    serializeCookie(csrfCookieName, csrfToken, { secure: ctx.secureCookie(csrfCookieName), maxAgeSeconds }),
  ];
}

/** 429 in DRF's words, with `Retry-After` (SECURITY B3). */
export function throttled(retryAfterSeconds: number): HttpError {
  return detail(429, `Request was throttled. Expected available in ${retryAfterSeconds} seconds.`, {
    'Retry-After': String(retryAfterSeconds),
  });
}
