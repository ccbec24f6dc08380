import type { RequestContext } from '../http/context.js';
import { Fields } from '../http/fields.js';
import { HttpError, throttled } from '../http/http-error.js';
import { anyCredential, selfChecked } from '../http/route-policy.js';
import type { Reply, Route } from '../http/routes.js';
import { publicUser } from '../users/user.js';
import { CREDENTIALS_SCOPE } from './guards.js';

/**
 * Django REST Framework's authtoken (DESIGN "drf"; seed 002): obtain a token with a username
 * and password, send `Authorization: Token <key>`, log out by deleting the token.
 */
export function drfRoutes(): Route[] {
  return [
    {
      methods: ['POST'],
      path: '/api-token-auth',
      auth: 'none',
      policy: selfChecked(['password'], 'mint-credential'),
      handler: obtainToken,
    },
    { methods: ['GET'], path: '/api/whoami', auth: 'required', policy: anyCredential(), handler: whoami },
    // It deletes a credential, so a scope-limited caller needs the credentials scope.
    {
      methods: ['POST'],
      path: '/api/logout',
      auth: 'required',
      scope: CREDENTIALS_SCOPE,
      policy: anyCredential('revoke-credential'),
      handler: logout,
    },
  ];
}

async function obtainToken(ctx: RequestContext): Promise<Reply> {
  const fields = new Fields(await ctx.body());
  const username = fields.string('username', { required: true });
  const password = fields.string('password', { required: true });
  fields.check();
  const outcome = await ctx.tessera.passwordLogin.attempt({
    username,
    password,
    clientAddress: ctx.clientAddress,
    via: 'drf',
  });
  if (!outcome.ok) {
    if (outcome.reason === 'throttled') throw throttled(outcome.retryAfterSeconds);
    throw new HttpError(400, { non_field_errors: ['Unable to log in with provided credentials.'] });
  }
  const token = await ctx.tessera.issuer.drfToken(outcome.user.id, {
    actorId: outcome.user.id,
    clientAddress: ctx.clientAddress,
  });
  return { body: { token } };
}

async function whoami(ctx: RequestContext): Promise<Reply> {
  return { body: publicUser(ctx.user.user) };
}

/**
 * The seed's logout view deletes the user's token. A DRF token used to call it is deleted;
 * called with another credential, the user's per-user DRF token is (the view's
 * `Token.objects.get(user=request.user).delete()`).
 */
async function logout(ctx: RequestContext): Promise<Reply> {
  const principal = ctx.user;
  const actor = { actorId: principal.user.id, clientAddress: ctx.clientAddress };
  const { credentials, issuer } = ctx.tessera;
  const used = principal.credential.kind.startsWith('drf')
    ? await credentials.findInfo(principal.credential.id)
    : undefined;
  const targets = used ? [used] : await credentials.listForUser(principal.user.id, ['drf']);
  for (const info of targets) await issuer.revoke(info, actor);
  await ctx.tessera.audit.record('logout', {
    ...actor,
    subjectId: principal.user.id,
    detail: { credential: principal.credential.kind },
  });
  return { body: { username: null } };
}
