import type { Principal } from '../auth/principal.js';
import { type ErrorCode, isTesseraError } from '../errors.js';
import type { RequestContext } from '../http/context.js';
import { Fields } from '../http/fields.js';
import { detail, HttpError, throttled } from '../http/http-error.js';
import { optionalInt } from '../http/query.js';
import type { Reply, Route } from '../http/routes.js';
import { isAdmin, publicUser } from '../users/user.js';
import type { UserChanges } from '../users/users.js';
import { requireRecentLogin, USERS_SCOPE } from './guards.js';

/**
 * Keystone-API's users API (seed 000): `/users/users/` and `/users/users/{id}/`. Any signed-in
 * user reads; admins create and delete; a user or an admin updates, and only admins touch
 * roles or the active flag (SECURITY G2).
 */
export function usersRoutes(): Route[] {
  return [
    { methods: ['GET'], path: '/users/users', auth: 'required', handler: list },
    { methods: ['POST'], path: '/users/users', auth: 'required', scope: USERS_SCOPE, handler: create },
    { methods: ['GET'], path: '/users/users/:id', auth: 'required', handler: retrieve },
    { methods: ['PATCH', 'PUT'], path: '/users/users/:id', auth: 'required', scope: USERS_SCOPE, handler: update },
    { methods: ['DELETE'], path: '/users/users/:id', auth: 'required', scope: USERS_SCOPE, handler: remove },
  ];
}

const FORBIDDEN = 'You do not have permission to perform this action.';

async function list(ctx: RequestContext): Promise<Reply> {
  const limit = optionalInt(ctx.query.limit, 'limit', 1, 1000);
  const offset = optionalInt(ctx.query.offset, 'offset', 0, Number.MAX_SAFE_INTEGER);
  const users = await ctx.tessera.users.list({
    ...(limit !== undefined && { limit }),
    ...(offset !== undefined && { offset }),
  });
  return { body: users.map(publicUser) };
}

async function create(ctx: RequestContext): Promise<Reply> {
  const actor = ctx.user;
  if (!isAdmin(actor.user)) throw detail(403, FORBIDDEN);
  const fields = new Fields(await ctx.body());
  const username = fields.string('username', { required: true });
  const password = fields.string('password', { required: true });
  const email = fields.string('email');
  const isActive = fields.boolean('is_active');
  const roles = fields.stringList('roles');
  fields.check();
  const user = await mapErrors(() =>
    ctx.tessera.users.create(
      {
        username,
        password,
        ...(email !== undefined && { email }),
        ...(roles !== undefined && { roles }),
        ...(isActive !== undefined && { isActive }),
      },
      { actorId: actor.user.id, clientAddress: ctx.clientAddress },
    ),
  );
  return { status: 201, body: publicUser(user) };
}

async function retrieve(ctx: RequestContext): Promise<Reply> {
  const user = await ctx.tessera.users.findById(userId(ctx));
  if (!user) throw detail(404, 'Not found.');
  return { body: publicUser(user) };
}

async function update(ctx: RequestContext): Promise<Reply> {
  const actor = ctx.user;
  const id = userId(ctx);
  const admin = isAdmin(actor.user);
  const self = actor.user.id === id;
  if (!admin && !self) {
    // Another user's object: say "not found" only if it truly is missing.
    if (!(await ctx.tessera.users.findById(id))) throw detail(404, 'Not found.');
    throw detail(403, FORBIDDEN);
  }
  const fields = new Fields(await ctx.body());
  const changes: UserChanges = {};
  const username = fields.string('username');
  const email = fields.string('email');
  const password = fields.string('password');
  const currentPassword = fields.string('current_password');
  const isActive = fields.boolean('is_active');
  const roles = fields.stringList('roles');
  fields.check();
  // `is_staff` is read-only (roles decide it), but a non-admin sending it is trying to
  // raise their own rights: refuse rather than ignore.
  if ((isActive !== undefined || roles !== undefined || fields.has('is_staff')) && !admin) {
    throw detail(403, 'Only an admin may change roles or the active flag.');
  }
  const target = await ctx.tessera.users.findById(id);
  if (!target) throw detail(404, 'Not found.');
  // A PUT resends the email unchanged: only a real change counts. One's own password change
  // proves the current password itself (SECURITY A6).
  // `''` is how a missing email reads (and clears it): compare what would be stored.
  const emailChanges = email !== undefined && (email === '' ? null : email) !== target.email;
  if (emailChanges || (password !== undefined && !self)) requireRecentLogin(ctx);
  if (username !== undefined) changes.username = username;
  if (email !== undefined) changes.email = email;
  if (isActive !== undefined) changes.isActive = isActive;
  if (roles !== undefined) changes.roles = roles;
  if (password !== undefined) {
    // Changing one's own password takes the current one (SECURITY A6), admin or not.
    if (self) await requireCurrentPassword(ctx, actor, currentPassword);
    changes.password = password;
  }
  const keep = actor.credential.kind === 'session' && self ? actor.credential.id : undefined;
  const user = await mapErrors(() =>
    ctx.tessera.users.update(id, changes, { actorId: actor.user.id, clientAddress: ctx.clientAddress }, keep),
  );
  return { body: publicUser(user) };
}

async function remove(ctx: RequestContext): Promise<Reply> {
  const actor = ctx.user;
  if (!isAdmin(actor.user)) throw detail(403, FORBIDDEN);
  await mapErrors(() =>
    ctx.tessera.users.delete(userId(ctx), { actorId: actor.user.id, clientAddress: ctx.clientAddress }),
  );
  return { status: 204 };
}

async function requireCurrentPassword(
  ctx: RequestContext,
  actor: Principal,
  current: string | undefined,
): Promise<void> {
  if (current === undefined) throw new HttpError(400, { current_password: ['This field is required.'] });
  // The same throttled, audited check as a login: a stolen session must not become an
  // unlimited password-guessing oracle.
  const outcome = await ctx.tessera.passwordLogin.attempt({
    username: actor.user.username,
    password: current,
    clientAddress: ctx.clientAddress,
    via: 'password-change',
  });
  if (!outcome.ok) {
    if (outcome.reason === 'throttled') throw throttled(outcome.retryAfterSeconds);
    throw new HttpError(400, { current_password: ['The current password is incorrect.'] });
  }
}

function userId(ctx: RequestContext): number {
  const text = ctx.params.id ?? '';
  const id = /^\d{1,15}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(id) || id < 1) throw detail(404, 'Not found.');
  return id;
}

const FIELD_OF: Partial<Record<ErrorCode, string>> = {
  USERNAME_INVALID: 'username',
  USERNAME_TAKEN: 'username',
  USERNAME_CONFUSABLE: 'username',
  EMAIL_INVALID: 'email',
  PASSWORD_TOO_SHORT: 'password',
  PASSWORD_TOO_LONG: 'password',
  PASSWORD_TOO_COMMON: 'password',
  ROLE_INVALID: 'roles',
};

/**
 * Turns the core's validation errors into DRF-shaped 400s, a missing user into 404, and the
 * last admin's removal into 409 (the request conflicts with the state: another admin first).
 */
async function mapErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isTesseraError(error)) {
      if (error.code === 'USER_NOT_FOUND') throw detail(404, 'Not found.');
      if (error.code === 'LAST_ADMIN') throw detail(409, error.message);
      const field = FIELD_OF[error.code];
      if (field) throw new HttpError(400, { [field]: [error.message] });
    }
    throw error;
  }
}
