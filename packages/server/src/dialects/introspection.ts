import { decodeJwt } from 'jose';
import type { RequestContext } from '../http/context.js';
import { Fields } from '../http/fields.js';
import { detail } from '../http/http-error.js';
import { anyCredential } from '../http/route-policy.js';
import type { Reply, Route } from '../http/routes.js';

/** Scope a credential needs to call `POST /v1/introspect`. */
export const INTROSPECT_SCOPE = 'introspect';

/**
 * Token introspection (RFC 7662) for the `remote` middleware mode: a service holding a
 * credential with the `introspect` scope submits the `Authorization` value its own caller
 * sent (field `token`, e.g. `Token abc…` or `Bearer tsr_…`) and learns whether it is active.
 *
 * @example
 * ```sh
 * curl -X POST -H "Authorization: Bearer $INTROSPECT_TOKEN" -H 'Content-Type: application/json' \
 *   -d '{"token": "Bearer tsr_…"}' http://127.0.0.1:8000/v1/introspect
 * ```
 */
export function introspectionRoutes(): Route[] {
  return [
    { methods: ['POST'], path: '/v1/introspect', auth: 'required', policy: anyCredential(), handler: introspect },
  ];
}

async function introspect(ctx: RequestContext): Promise<Reply> {
  // Not a route `scope`: that lets unscoped credentials (sessions, passwords) through, and
  // introspection answers questions about other people's credentials, so it is opt-in only.
  if (!ctx.user.scopes?.includes(INTROSPECT_SCOPE)) {
    throw detail(403, `This credential lacks the "${INTROSPECT_SCOPE}" scope.`);
  }
  const fields = new Fields(await ctx.body());
  const token = fields.string('token', { required: true });
  fields.check();
  // Password checks made through here are throttled under the calling service's address.
  const result = await ctx.tessera.authenticator.authenticate({
    headers: { authorization: token },
    clientAddress: ctx.clientAddress,
  });
  // RFC 7662 2.2: an inactive token says nothing more than that, whatever the reason.
  if (!result.ok) return inactive();
  const { user, credential, scopes } = result.principal;
  const exp = await expiryOf(ctx, token, credential);
  return {
    body: {
      active: true,
      sub: String(user.id),
      username: user.username,
      ...(scopes !== null && { scope: scopes.join(' ') }),
      ...(exp !== null && { exp }),
      kind: credential.kind,
      // An extension member (RFC 7662 2.2 allows them): lets `requireRole` work remotely.
      roles: user.roles,
    },
  };
}

function inactive(): Reply {
  return { body: { active: false } };
}

/** Seconds since the epoch when the credential stops working, when it has a fixed end. */
async function expiryOf(ctx: RequestContext, token: string, credential: { kind: string; id: number }) {
  if (credential.kind === 'jwt') {
    const exp = decodeJwt(token.trim().slice('bearer'.length).trim()).exp;
    return typeof exp === 'number' ? exp : null;
  }
  const info = await ctx.tessera.credentials.findInfo(credential.id);
  return info?.expiresAt ? Math.floor(info.expiresAt / 1000) : null;
}
