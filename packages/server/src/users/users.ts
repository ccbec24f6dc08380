import type { Transaction } from 'kysely';
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { RevocationEvents } from '../credentials/revocation-events.js';
import { checkNewPassword, type PasswordHasher } from '../crypto/passwords.js';
import { isTesseraError, TesseraError } from '../errors.js';
import type { SessionStore } from '../sessions/session-store.js';
import type { Database } from '../store/database.js';
import type { Schema } from '../store/schema.js';
import { commonPasswordCheck } from './common-passwords.js';
import { moveValidAfter, validAfterAtCreation } from './credentials-valid-after.js';
import {
  ADMIN_ROLE,
  type User,
  type UsernameIdentity,
  userFromRow,
  usernameIdentity,
  validateEmail,
  validateUsername,
} from './user.js';
import { canonicalUsername } from './username-identity.js';

export interface NewUser {
  username: string;
  password: string;
  email?: string;
  roles?: string[];
  isActive?: boolean;
}

export interface UserChanges {
  username?: string;
  email?: string;
  password?: string;
  roles?: string[];
  isActive?: boolean;
}

/** Who is making a change, for the audit log. */
export interface Actor {
  actorId: number | null;
  clientAddress?: string | null;
}

const ROLE_NAME = /^[a-z][a-z0-9_.-]{0,63}$/;

/**
 * Users and their passwords: creation, lookup, updates, deletion. Rules that hold whoever
 * calls (HTTP API or CLI) live here; who may call what is the HTTP layer's business.
 */
export class Users {
  constructor(
    private readonly database: Database,
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionStore,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly events: RevocationEvents,
  ) {}

  /**
   * @throws TesseraError `USERNAME_INVALID`, `USERNAME_TAKEN`, `USERNAME_CONFUSABLE`,
   *   `EMAIL_INVALID`, `PASSWORD_TOO_SHORT`, `PASSWORD_TOO_LONG`, `PASSWORD_TOO_COMMON`.
   */
  async create(input: NewUser, actor: Actor): Promise<User> {
    const username = validateUsername(input.username);
    const identity = usernameIdentity(username);
    const email = input.email === undefined ? null : validateEmail(input.email);
    const roles = validateRoles(input.roles ?? []);
    checkNewPassword(input.password, await commonPasswordCheck());
    await this.#refuseTakenName(identity, null);
    const passwordHash = await this.hasher.hash(input.password);
    const now = this.clock();
    let row: Parameters<typeof userFromRow>[0];
    try {
      row = await this.database.db
        .insertInto('users')
        .values({
          username,
          username_key: identity.key,
          username_skeleton: identity.skeleton,
          email,
          is_active: input.isActive === false ? 0 : 1,
          roles: JSON.stringify(roles),
          password_hash: passwordHash,
          created_at: now,
          updated_at: now,
          credentials_valid_after: validAfterAtCreation(now),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    } catch (error) {
      // Two creations racing past the check above: the unique index decides.
      if (await this.findByUsername(username)) {
        throw new TesseraError('USERNAME_TAKEN', 'A user with that username already exists.', { cause: error });
      }
      throw error;
    }
    const user = userFromRow(row);
    await this.audit.record('user.created', { ...actor, subjectId: user.id, detail: { username, roles } });
    return user;
  }

  async findById(id: number): Promise<User | undefined> {
    const row = await this.database.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row && userFromRow(row);
  }

  /** By the username's canonical key: `DAVE`, `dave` and `ｄａｖｅ` find one user (item 9). */
  async findByUsername(username: string): Promise<User | undefined> {
    const row = await this.database.db
      .selectFrom('users')
      .selectAll()
      .where('username_key', '=', canonicalUsername(username))
      .executeTakeFirst();
    return row && userFromRow(row);
  }

  /** The user and stored hash for a login attempt; the hash never leaves the core. */
  async findForLogin(username: string): Promise<{ user: User; passwordHash: string | null } | undefined> {
    const row = await this.database.db
      .selectFrom('users')
      .selectAll()
      .where('username_key', '=', canonicalUsername(username))
      .executeTakeFirst();
    return row && { user: userFromRow(row), passwordHash: row.password_hash };
  }

  /** A user with their stored hash, by id: for checks that must see a password change. */
  async findWithHashById(id: number): Promise<{ user: User; passwordHash: string | null } | undefined> {
    const row = await this.database.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row && { user: userFromRow(row), passwordHash: row.password_hash };
  }

  async list(options: { limit?: number; offset?: number } = {}): Promise<User[]> {
    const rows = await this.database.db
      .selectFrom('users')
      .selectAll()
      .orderBy('id')
      .limit(options.limit ?? 1000)
      .offset(options.offset ?? 0)
      .execute();
    return rows.map(userFromRow);
  }

  /**
   * Applies changes. A new password ends every other session of the user (ASVS 5.0 7.4.3);
   * deactivation ends all of them (SECURITY C6).
   *
   * @param keepSessionId the session making the change, kept alive across a password change.
   * @throws TesseraError `USER_NOT_FOUND`, `LAST_ADMIN` and the validation codes of {@link create}.
   */
  async update(id: number, changes: UserChanges, actor: Actor, keepSessionId?: number): Promise<User> {
    const current = await this.findById(id);
    if (!current) throw new TesseraError('USER_NOT_FOUND');
    const set: Partial<{
      username: string;
      username_key: string;
      username_skeleton: string;
      email: string | null;
      password_hash: string;
      roles: string;
      is_active: number;
    }> = {};
    if (changes.username !== undefined) {
      const username = validateUsername(changes.username);
      if (username !== current.username) {
        // `dave` → `Dave` keeps the identity; anything else must be free and not a lookalike.
        const identity = usernameIdentity(username);
        await this.#refuseTakenName(identity, id);
        set.username = username;
        set.username_key = identity.key;
        set.username_skeleton = identity.skeleton;
      }
    }
    if (changes.email !== undefined) set.email = validateEmail(changes.email);
    if (changes.roles !== undefined) set.roles = JSON.stringify(validateRoles(changes.roles));
    if (changes.isActive !== undefined) set.is_active = changes.isActive ? 1 : 0;
    if (changes.password !== undefined) {
      checkNewPassword(changes.password, await commonPasswordCheck());
      set.password_hash = await this.hasher.hash(changes.password);
    }
    if (Object.keys(set).length === 0) return current;

    const dropsAdmin =
      current.isActive &&
      current.roles.includes(ADMIN_ROLE) &&
      (set.is_active === 0 || (changes.roles !== undefined && !changes.roles.includes(ADMIN_ROLE)));
    try {
      await this.database.db.transaction().execute(async (trx) => {
        if (dropsAdmin) await this.#refuseLastAdmin(trx, id);
        await trx
          .updateTable('users')
          .set({ ...set, updated_at: this.clock() })
          .where('id', '=', id)
          .execute();
      });
    } catch (error) {
      if (isTesseraError(error)) throw error;
      // A rename racing another to the same name past the check above: the unique index
      // decides, as in create().
      const holder = set.username_key === undefined ? undefined : await this.findByUsername(set.username_key);
      if (holder && holder.id !== id) {
        throw new TesseraError('USERNAME_TAKEN', 'A user with that username already exists.', { cause: error });
      }
      throw error;
    }
    // Signed tokens issued before a deactivation or a password change stop counting, so a
    // reactivation does not revive them (issue 13 item 6); before the notice below, which
    // makes every instance's caches re-read the user.
    if (set.password_hash !== undefined || set.is_active === 0) await moveValidAfter(this.database, id, this.clock());
    const updated = await this.findById(id);
    if (!updated) throw new TesseraError('USER_NOT_FOUND');
    // Caches of verified tokens re-read this user now rather than within the second.
    this.events.userChanged(id);

    const subject = { ...actor, subjectId: id };
    if (set.password_hash !== undefined) {
      await this.sessions.deleteAllForUser(id, keepSessionId);
      await this.audit.record('user.password_changed', subject);
    }
    if (set.is_active !== undefined && updated.isActive !== current.isActive) {
      // Deactivation ends every session, token and key at once (SECURITY C6).
      if (!updated.isActive) await this.database.db.deleteFrom('credentials').where('user_id', '=', id).execute();
      await this.audit.record(updated.isActive ? 'user.activated' : 'user.deactivated', subject);
    }
    if (set.roles !== undefined && JSON.stringify(updated.roles) !== JSON.stringify(current.roles)) {
      await this.audit.record('user.roles_changed', { ...subject, detail: { from: current.roles, to: updated.roles } });
    }
    if (set.username !== undefined || set.email !== undefined) {
      await this.audit.record('user.updated', {
        ...subject,
        detail: { fields: (['username', 'email'] as const).filter((k) => set[k] !== undefined) },
      });
    }
    return updated;
  }

  /** Replaces a stored hash after a login found it weaker than policy (SECURITY A2). */
  async rehash(id: number, password: string): Promise<string> {
    const hash = await this.hasher.hash(password);
    await this.database.db.updateTable('users').set({ password_hash: hash }).where('id', '=', id).execute();
    return hash;
  }

  /** Stamps the user's last login; returns the time stamped. */
  async recordLogin(id: number): Promise<number> {
    const now = this.clock();
    await this.database.db.updateTable('users').set({ last_login_at: now }).where('id', '=', id).execute();
    return now;
  }

  /**
   * "Sign out everywhere" (issue 13 item 6): ends every session of the user and every signed
   * token (JWT, Conjur) issued so far, on every instance; lasting credentials — personal
   * tokens, API keys, DRF tokens — stay, each revoked on its own. Returns the sessions ended.
   * @throws TesseraError `USER_NOT_FOUND`.
   */
  async signOutEverywhere(id: number, actor: Actor): Promise<number> {
    if (!(await this.findById(id))) throw new TesseraError('USER_NOT_FOUND');
    await moveValidAfter(this.database, id, this.clock());
    const ended = await this.sessions.deleteAllForUser(id);
    this.events.userChanged(id);
    await this.audit.record('user.signed_out_everywhere', { ...actor, subjectId: id, detail: { sessions: ended } });
    return ended;
  }

  /**
   * Deletes a user; their sessions and credentials go with them (foreign-key cascade).
   *
   * @throws TesseraError `USER_NOT_FOUND`, `LAST_ADMIN`.
   */
  async delete(id: number, actor: Actor): Promise<void> {
    const user = await this.findById(id);
    if (!user) throw new TesseraError('USER_NOT_FOUND');
    await this.database.db.transaction().execute(async (trx) => {
      if (user.isActive && user.roles.includes(ADMIN_ROLE)) await this.#refuseLastAdmin(trx, id);
      await trx.deleteFrom('users').where('id', '=', id).execute();
    });
    this.events.userChanged(id);
    await this.audit.record('user.deleted', { ...actor, subjectId: id, detail: { username: user.username } });
  }

  /**
   * A username's key must be free, and its skeleton not another user's (UTS #39 §4; item 9).
   * The unique index on `username_key` settles racing creations; a skeleton race is left to
   * this check, since existing lookalikes are kept (migration 006).
   */
  async #refuseTakenName(identity: UsernameIdentity, self: number | null): Promise<void> {
    const rows = await this.database.db
      .selectFrom('users')
      .select(['id', 'username_key'])
      .where((eb) => eb.or([eb('username_key', '=', identity.key), eb('username_skeleton', '=', identity.skeleton)]))
      .execute();
    const others = rows.filter((row) => Number(row.id) !== self);
    if (others.some((row) => row.username_key === identity.key)) {
      throw new TesseraError('USERNAME_TAKEN', 'A user with that username already exists.');
    }
    if (others.length > 0) {
      throw new TesseraError('USERNAME_CONFUSABLE', 'This username is too similar to an existing username.');
    }
  }

  /**
   * Refuses to remove the last active admin (issue 13, "also observed"): recovery would need
   * shell access to the database. On PostgreSQL the active admins' rows are locked (in id
   * order, so two such transactions cannot deadlock) until the change commits, so two admins
   * demoting each other at once cannot both succeed; SQLite's BEGIN IMMEDIATE serialises them.
   */
  async #refuseLastAdmin(trx: Transaction<Schema>, id: number): Promise<void> {
    let query = trx
      .selectFrom('users')
      .select(['id', 'roles'])
      .where('is_active', '=', 1)
      .where('roles', 'like', `%${JSON.stringify(ADMIN_ROLE)}%`)
      .orderBy('id');
    if (this.database.kind === 'postgres') query = query.forUpdate();
    const admins = await query.execute();
    const others = admins.filter((row) => Number(row.id) !== id && parseRoleList(row.roles).includes(ADMIN_ROLE));
    if (others.length === 0) {
      throw new TesseraError(
        'LAST_ADMIN',
        'This is the last active admin: give another user the admin role before removing it, deactivating or deleting this one.',
      );
    }
  }
}

function parseRoleList(text: string): string[] {
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) ? value.filter((r): r is string => typeof r === 'string') : [];
}

function validateRoles(roles: string[]): string[] {
  for (const role of roles) {
    if (typeof role !== 'string' || !ROLE_NAME.test(role)) {
      throw new TesseraError(
        'ROLE_INVALID',
        `Role names are lower-case letters, digits and . _ - (got ${JSON.stringify(role)}).`,
      );
    }
  }
  return [...new Set(roles)].sort();
}
