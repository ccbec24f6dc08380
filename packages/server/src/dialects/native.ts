import type { Principal } from '../auth/principal.js';
import { parseDuration } from '../config.js';
import { publicCredential } from '../credentials/public-credential.js';
import type { RequestContext } from '../http/context.js';
import { Fields } from '../http/fields.js';
import { detail, HttpError } from '../http/http-error.js';
import { ANY_CREDENTIAL, anyCredential, lasting, PUBLIC, type RoutePolicy } from '../http/route-policy.js';
import type { Reply, Route } from '../http/routes.js';
import { issueJwt, keyringKeys, verifyJwt } from '../signing/jwt.js';
import { isAdmin, publicUser } from '../users/user.js';
import { CREDENTIALS_SCOPE } from './guards.js';

const SCOPE = /^[a-z][a-z0-9:._-]{0,63}$/;
const MAX_LIFETIME_MS = 10 * 366 * 86_400_000;

/**
 * Tessera's own API under `/v1` (DESIGN "native API"): who am I, and my credentials — list,
 * create (the secret shown once), revoke. Admins may act for another user by id.
 */
export function nativeRoutes(): Route[] {
  return [
    { methods: ['GET'], path: '/v1/me', auth: 'required', policy: anyCredential(), handler: me },
    {
      methods: ['GET'],
      path: '/v1/credentials',
      auth: 'required',
      scope: CREDENTIALS_SCOPE,
      policy: anyCredential(),
      handler: list,
    },
    {
      methods: ['POST'],
      path: '/v1/credentials',
      auth: 'required',
      scope: CREDENTIALS_SCOPE,
      policy: lasting(['mint-credential']),
      handler: create,
    },
    {
      methods: ['DELETE'],
      path: '/v1/credentials/:id',
      auth: 'required',
      scope: CREDENTIALS_SCOPE,
      policy: anyCredential('revoke-credential'),
      handler: revoke,
    },
    { methods: ['POST'], path: '/v1/token', auth: 'required', policy: TOKEN_POLICY, handler: issueToken },
    {
      methods: ['POST'],
      path: '/v1/token/revoke',
      auth: 'required',
      scope: CREDENTIALS_SCOPE,
      policy: anyCredential('revoke-credential'),
      handler: revokeToken,
    },
    { methods: ['GET'], path: '/.well-known/jwks.json', auth: 'none', policy: PUBLIC, handler: jwks },
  ];
}

/** A JWT cannot buy another: the chain would outlive what it was bought with. */
const TOKEN_POLICY: RoutePolicy = {
  callers: ANY_CREDENTIAL.filter((kind) => kind !== 'jwt'),
  session: 'any',
  effects: ['mint-short-lived'],
};

async function me(ctx: RequestContext): Promise<Reply> {
  const { user, credential, scopes } = ctx.user;
  return { body: { user: publicUser(user), credential, scopes } };
}

async function list(ctx: RequestContext): Promise<Reply> {
  const principal = ctx.user;
  const userId = await subjectOf(ctx, principal, ctx.query.user);
  const infos = await ctx.tessera.credentials.listForUser(userId);
  return { body: infos.map(publicCredential) };
}

async function create(ctx: RequestContext): Promise<Reply> {
  const principal = ctx.user;
  const body = await ctx.body();
  const fields = new Fields(body);
  const name = fields.string('name', { required: true });
  const scopes = fields.stringList('scopes');
  const expiresAt = expiryFrom(fields, body.expires_in, ctx.tessera.clock());
  if (name !== undefined && name.length > 100)
    fields.error('name', 'Ensure this field has no more than 100 characters.');
  for (const scope of scopes ?? []) {
    if (!SCOPE.test(scope)) fields.error('scopes', `"${scope.slice(0, 70)}" is not a valid scope name.`);
  }
  fields.check();
  // A user id in the body counts only for an admin (SECURITY E5; better-auth CVE-2025-61928).
  const forUser = isAdmin(principal.user) && body.user !== undefined ? String(body.user) : undefined;
  const userId = await subjectOf(ctx, principal, forUser);
  // A new credential never holds more than the one that made it.
  const granted = scopes ?? principal.scopes;
  if (principal.scopes !== null && granted !== null && !granted.every((s) => principal.scopes?.includes(s))) {
    throw detail(403, 'A new credential may only have scopes the current credential has.');
  }
  const { token, info } = await ctx.tessera.issuer.personalToken(
    { userId, name, expiresAt, scopes: granted === null ? null : [...new Set(granted)].sort() },
    { actorId: principal.user.id, clientAddress: ctx.clientAddress },
  );
  return { status: 201, body: { ...publicCredential(info), token } };
}

async function revoke(ctx: RequestContext): Promise<Reply> {
  const principal = ctx.user;
  const id = /^\d{1,15}$/.test(ctx.params.id ?? '') ? Number(ctx.params.id) : 0;
  const info = id > 0 ? await ctx.tessera.credentials.findInfo(id) : undefined;
  // Another user's credential is "not found" to a non-admin: its existence is not theirs to learn.
  if (!info || (info.userId !== principal.user.id && !isAdmin(principal.user))) throw detail(404, 'Not found.');
  await ctx.tessera.issuer.revoke(info, { actorId: principal.user.id, clientAddress: ctx.clientAddress });
  return { status: 204 };
}

/**
 * Exchanges the request's credential for a short-lived EdDSA JWT (DESIGN "bearer"). A JWT
 * cannot buy another (TOKEN_POLICY).
 */
async function issueToken(ctx: RequestContext): Promise<Reply> {
  const principal = ctx.user;
  const { tessera } = ctx;
  const now = tessera.clock();
  const { token, expiresAt } = await issueJwt(
    tessera.keyring,
    { ...tessera.config.jwt, skewMs: tessera.config.clockSkewMs },
    {
      userId: principal.user.id,
      credentialId: principal.credential.id,
      credentialKind: principal.credential.kind,
      scopes: principal.scopes,
    },
    now,
  );
  return {
    body: {
      access_token: token,
      token_type: 'Bearer',
      // The token's own lifetime, exp − iat (RFC 6749 5.1): `iat` is whole seconds, so
      // measuring from `now` said 299 whenever the clock was past the half second.
      expires_in: expiresAt / 1000 - Math.floor(now / 1000),
    },
  };
}

/**
 * Puts a JWT on the deny-list until it expires (SECURITY F7). Its owner or an admin may;
 * everyone else learns nothing about the token.
 */
async function revokeToken(ctx: RequestContext): Promise<Reply> {
  const principal = ctx.user;
  const fields = new Fields(await ctx.body());
  const token = fields.string('token', { required: true });
  fields.check();
  const { tessera } = ctx;
  const verdict = await verifyJwt(
    token,
    keyringKeys(tessera.keyring),
    { ...tessera.config.jwt, skewMs: tessera.config.clockSkewMs },
    tessera.clock(),
  );
  if (!verdict.ok) throw new HttpError(400, { token: [verdict.reason] });
  if (verdict.claims.sub !== String(principal.user.id) && !isAdmin(principal.user)) throw detail(404, 'Not found.');
  await tessera.jtiDenyList.deny(verdict.claims.jti, verdict.claims.exp * 1000);
  tessera.events.jtiDenied(verdict.claims.jti);
  await tessera.audit.record('credential.revoked', {
    actorId: principal.user.id,
    subjectId: Number(verdict.claims.sub),
    clientAddress: ctx.clientAddress,
    detail: { kind: 'jwt', jti: verdict.claims.jti },
  });
  return { status: 204 };
}

/** The public keys that verify Tessera's signed tokens (RFC 7517), for offline verifiers. */
async function jwks(ctx: RequestContext): Promise<Reply> {
  return { body: ctx.tessera.keyring.jwks(), headers: { 'Cache-Control': 'public, max-age=300' } };
}

/** The user a request acts for: the caller, or — for an admin — the user it names. */
async function subjectOf(ctx: RequestContext, principal: Principal, requested: string | undefined): Promise<number> {
  if (requested === undefined || requested === String(principal.user.id)) return principal.user.id;
  if (!isAdmin(principal.user)) throw detail(403, 'Only an admin may act for another user.');
  const id = /^\d{1,15}$/.test(requested) ? Number(requested) : 0;
  if (!(id > 0 && (await ctx.tessera.users.findById(id)))) throw new HttpError(400, { user: ['No user has this id.'] });
  return id;
}

/** `expires_in`: seconds as a number, or a duration such as `30d`; absent means no expiry. */
function expiryFrom(fields: Fields, value: unknown, now: number): number | null {
  if (value === undefined || value === null) return null;
  const ms =
    typeof value === 'number' && Number.isInteger(value)
      ? value * 1000
      : typeof value === 'string'
        ? parseDuration(value)
        : undefined;
  if (ms === undefined || ms <= 0 || ms > MAX_LIFETIME_MS) {
    fields.error('expires_in', 'Give a positive number of seconds or a duration such as 30d (at most 10 years).');
    return null;
  }
  return now + ms;
}
