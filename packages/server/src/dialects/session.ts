import type { LoginOutcome } from '../auth/password-login.js';
import type { RequestContext } from '../http/context.js';
import { expireCookie, serializeCookie } from '../http/cookies.js';
import { checkSameOrigin } from '../http/csrf.js';
import { Fields } from '../http/fields.js';
import { HttpError, throttled } from '../http/http-error.js';
import { anyCredential, selfChecked } from '../http/route-policy.js';
import type { Reply, Route } from '../http/routes.js';
import { publicUser, type User } from '../users/user.js';

/**
 * The session dialect (DESIGN "session"; seed 000, Keystone-API): password login to a
 * server-side session, a `sessionid` cookie plus a script-readable `csrftoken` cookie,
 * `X-CSRFToken` on writes, logout that ends the session on the server.
 */
export function sessionRoutes(): Route[] {
  return [
    {
      methods: ['POST'],
      path: '/authentication/login',
      auth: 'none',
      policy: selfChecked(['password'], 'sign-in'),
      handler: login,
    },
    { methods: ['GET'], path: '/authentication/whoami', auth: 'required', policy: anyCredential(), handler: whoami },
    {
      methods: ['POST'],
      path: '/authentication/logout',
      auth: 'required',
      policy: anyCredential('revoke-credential'),
      handler: logout,
    },
  ];
}

async function login(ctx: RequestContext): Promise<Reply> {
  const fields = new Fields(await ctx.body());
  const username = fields.string('username', { required: true });
  const password = fields.string('password', { required: true });
  fields.check();
  const session = await startSession(ctx, username, password, 'session');
  if (!session.ok) {
    if (session.reason === 'throttled') throw throttled(session.retryAfterSeconds);
    throw new HttpError(400, { non_field_errors: ['Invalid username or password.'] });
  }
  return { body: publicUser(session.user), cookies: session.cookies };
}

async function whoami(ctx: RequestContext): Promise<Reply> {
  return { body: publicUser(ctx.user.user) };
}

async function logout(ctx: RequestContext): Promise<Reply> {
  return { body: { detail: 'Successfully logged out.' }, cookies: await endSession(ctx) };
}

export type SessionStart = Exclude<LoginOutcome, { ok: true }> | { ok: true; user: User; cookies: string[] };

/**
 * A password login that opens a server-side session, shared by every dialect that has one
 * (Keystone's and Frappe's). A cross-site login form is refused by origin, since no session
 * token exists yet to check (login CSRF; SECURITY D2); API clients send no Origin and pass.
 * A new id is issued at every login and whatever session the client held before is ended,
 * never adopted (session fixation; SECURITY C2, D3).
 */
export async function startSession(
  ctx: RequestContext,
  username: string,
  password: string,
  via: string,
): Promise<SessionStart> {
  checkSameOrigin(ctx, { requireReferer: false });
  const { tessera } = ctx;
  const outcome = await tessera.passwordLogin.attempt({ username, password, clientAddress: ctx.clientAddress, via });
  if (!outcome.ok) return outcome;
  const previous = tessera.sessionScheme.secretOf(ctx.req);
  if (previous) {
    const old = await tessera.sessions.find(previous);
    if (old) await tessera.sessions.deleteById(old.credentialId);
  }
  const session = await tessera.sessions.create(outcome.user.id);
  const { cookieName, csrfCookieName, absoluteMs } = tessera.config.session;
  const maxAgeSeconds = absoluteMs / 1000;
  return {
    ok: true,
    user: outcome.user,
    cookies: [
      serializeCookie(cookieName, session.secret, {
        httpOnly: true,
        secure: ctx.secureCookie(cookieName),
        maxAgeSeconds,
      }),
      serializeCookie(csrfCookieName, session.csrfToken, { secure: ctx.secureCookie(csrfCookieName), maxAgeSeconds }),
    ],
  };
}

/** Ends the session that authenticated the request (if it was one) and returns cookies clearing it. */
export async function endSession(ctx: RequestContext): Promise<string[]> {
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
  return [
    expireCookie(cookieName, ctx.secureCookie(cookieName)),
    expireCookie(csrfCookieName, ctx.secureCookie(csrfCookieName)),
  ];
}
