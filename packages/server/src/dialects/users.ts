import type { Principal } from '../auth/principal.js';
import { type ErrorCode, isTesseraError } from '../errors.js';
import type { RequestContext } from '../http/context.js';
import { Fields } from '../http/fields.js';
import { detail, HttpError, throttled } from '../http/http-error.js';
import { optionalInt } from '../http/query.js';
import { anyCredential, LONG_LIVED, lasting, type RoutePolicy } from '../http/route-policy.js';
import type { Reply, Route } from '../http/routes.js';
import { isAdmin, publicUser } from '../users/user.js';
import type { UserChanges } from '../users/users.js';
import { USERS_SCOPE } from './guards.js';

const FORBIDDEN = 'You do not have permission to perform this action.';

/** Fields only an admin may send (SECURITY G2); `is_staff` is read-only, but sending it is trying. */
const ADMIN_FIELDS = ['roles', 'is_active', 'is_staff'];

/**
 * An update may be a rename (any credential) or a lasting change of rights or of how the
 * account is reached: what the body asks for picks the stricter rules (issue 13 item 4).
 */
const UPDATE_POLICY: RoutePolicy = {
  ...anyCredential(),
  stricter: {
    rules: {
      admin_fields: {
        when: 'the body sets roles, is_active or is_staff',
        ...lasting(['change-roles'], 'Only an admin may change roles or the active flag.'),
      },
      password: { when: "the body sets another user's password", ...lasting(['set-password'], FORBIDDEN) },
      // One's own password change proves the current password instead (SECURITY A6).
      own_password: {
        when: "the body sets the caller's own password",
        callers: LONG_LIVED,
        session: 'current-password',
        effects: ['set-password'],
      },
      email: { when: 'the body changes the email', ...lasting(['change-email']) },
    },
    select: sensitiveChanges,
  },
};

/**
 * Keystone-API's users API (seed 000): `/users/users/` and `/users/users/{id}/`. Any signed-in
 * user reads; admins create and delete; a user or an admin updates, and only admins touch
 * roles or the active flag (SECURITY G2).
 */
export function usersRoutes(): Route[] {
  return [
    { methods: ['GET'], path: '/users/users', auth: 'required', policy: anyCredential(), handler: list },
    {
      methods: ['POST'],
      path: '/users/users',
      auth: 'required',
      scope: USERS_SCOPE,
      policy: lasting(['create-user', 'change-roles', 'set-password'], FORBIDDEN),
      handler: create,
    },
    { methods: ['GET'], path: '/users/users/:id', auth: 'required', policy: anyCredential(), handler: retrieve },
    {
      methods: ['PATCH', 'PUT'],
      path: '/users/users/:id',
      auth: 'required',
      scope: USERS_SCOPE,
      policy: UPDATE_POLICY,
      handler: update,
    },
    {
      methods: ['DELETE'],
      path: '/users/users/:id',
      auth: 'required',
      scope: USERS_SCOPE,
      policy: lasting(['delete-user'], FORBIDDEN),
      handler: remove,
    },
  ];
}

/** Which of {@link UPDATE_POLICY}'s rules this request triggers. */
async function sensitiveChanges(ctx: RequestContext): Promise<string[]> {
  const body = await ctx.body();
  const id = userId(ctx);
  const rules: string[] = [];
  if (ADMIN_FIELDS.some((name) => body[name] !== undefined)) rules.push('admin_fields');
  if (body.password !== undefined && body.password !== null) {
    rules.push(id === ctx.user.user.id ? 'own_password' : 'password');
  }
  // A PUT resends the email unchanged: only a real change counts. `''` is how a missing
  // email reads (and clears it): compare what would be stored.
  if (typeof body.email === 'string') {
    const target = await ctx.tessera.users.findById(id);
    if (target && (body.email === '' ? null : body.email) !== target.email) rules.push('email');
  }
  return rules;
}

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
  // Who may send roles, is_active, a password or a new email was settled by the route's
  // policy before this handler ran (UPDATE_POLICY).
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
