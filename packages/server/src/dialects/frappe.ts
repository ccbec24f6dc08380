import type { RequestContext } from '../http/context.js';
import { Fields } from '../http/fields.js';
import { detail, HttpError, throttled } from '../http/http-error.js';
import { anyCredential, lasting, selfChecked } from '../http/route-policy.js';
import type { Reply, Route } from '../http/routes.js';
import { endSession, startSession } from './session.js';

/**
 * Frappe's API keys and login (DESIGN "frappe"; seed 003). Only an admin (Frappe's
 * "System Manager") makes keys; the key stays, each generation replaces the secret.
 */
export function frappeRoutes(): Route[] {
  return [
    {
      methods: ['POST'],
      path: '/api/method/frappe.core.doctype.user.user.generate_keys',
      auth: 'required',
      policy: lasting(['mint-credential'], 'Only an admin may generate API keys.'),
      handler: generateKeys,
    },
    {
      methods: ['GET', 'POST'],
      path: '/api/method/frappe.auth.get_logged_user',
      auth: 'required',
      policy: anyCredential(),
      handler: loggedUser,
    },
    {
      methods: ['POST'],
      path: '/api/method/login',
      auth: 'none',
      policy: selfChecked(['password'], 'sign-in'),
      handler: login,
    },
    // POST only: a GET that ends a session breaks "GET changes nothing" (SECURITY D5).
    {
      methods: ['POST'],
      path: '/api/method/logout',
      auth: 'required',
      policy: anyCredential('revoke-credential'),
      handler: logout,
    },
  ];
}

async function generateKeys(ctx: RequestContext): Promise<Reply> {
  const principal = ctx.user;
  // Admins only, no short-lived token, a recent sign-in: the route's policy (issue 13 item 4).
  // An api key carries the user's full authority, so a scope-limited credential may not make
  // one: a new key's scopes must be a subset of its creator's (SECURITY E5).
  if (principal.scopes !== null) throw detail(403, 'A credential limited to scopes may not generate API keys.');
  const fields = new Fields({ ...ctx.query, ...(await ctx.body()) });
  const username = fields.string('user', { required: true });
  fields.check();
  const user = await ctx.tessera.users.findByUsername(username);
  if (!user) throw detail(404, `User ${username.slice(0, 150)} not found.`);
  const { apiKey, apiSecret } = await ctx.tessera.issuer.generateApiKeys(user.id, {
    actorId: principal.user.id,
    clientAddress: ctx.clientAddress,
  });
  return { body: { message: { api_key: apiKey, api_secret: apiSecret } } };
}

async function loggedUser(ctx: RequestContext): Promise<Reply> {
  return { body: { message: ctx.user.user.username } };
}

async function login(ctx: RequestContext): Promise<Reply> {
  const fields = new Fields(await ctx.body());
  const usr = fields.string('usr', { required: true });
  const pwd = fields.string('pwd', { required: true });
  fields.check();
  const session = await startSession(ctx, usr, pwd, 'frappe');
  if (!session.ok) {
    if (session.reason === 'throttled') throw throttled(session.retryAfterSeconds);
    // Every 401 names a scheme (RFC 9110 11.6.1); a session challenge, so no browser pops a Basic dialog.
    throw new HttpError(
      401,
      { message: 'Invalid login credentials', exc_type: 'AuthenticationError' },
      { 'WWW-Authenticate': ctx.tessera.sessionScheme.challenge },
    );
  }
  return {
    body: { message: 'Logged In', home_page: '/app', full_name: session.user.username },
    cookies: session.cookies,
  };
}

async function logout(ctx: RequestContext): Promise<Reply> {
  return { body: { message: null }, cookies: await endSession(ctx) };
}
