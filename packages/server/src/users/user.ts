import { TesseraError } from '../errors.js';
import type { UsersTable } from '../store/schema.js';
import { canonicalUsername, usernameSkeleton } from './username-identity.js';

/** A user as the core sees it (never with its password hash). */
export interface User {
  id: number;
  username: string;
  email: string | null;
  isActive: boolean;
  roles: string[];
  createdAt: number;
  updatedAt: number;
  lastLoginAt: number | null;
}

/** The role that may manage users and make keys for others (DESIGN's "system manager"). */
export const ADMIN_ROLE = 'admin';

export function isAdmin(user: Pick<User, 'roles'>): boolean {
  return user.roles.includes(ADMIN_ROLE);
}

// The valid-after instant is read only by the signed-token checks (users/credentials-valid-after.ts).
type UserRow = Omit<UsersTable, 'id' | 'credentials_valid_after' | 'username_key' | 'username_skeleton'> & {
  id: number;
};

/** The user columns, as `u.*` refs, for queries that join users to what a user holds. */
export const USER_COLUMNS = [
  'u.id',
  'u.username',
  'u.email',
  'u.is_active',
  'u.roles',
  'u.password_hash',
  'u.created_at',
  'u.updated_at',
  'u.last_login_at',
] as const;

export function userFromRow(row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    isActive: row.is_active === 1,
    roles: parseRoles(row.roles),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastLoginAt: row.last_login_at,
  };
}

function parseRoles(text: string): string[] {
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) ? value.filter((r): r is string => typeof r === 'string') : [];
}

/** Built once per user object: a cached credential hands out the same object for a second. */
const shown = new WeakMap<User, Readonly<Record<string, unknown>>>();

/**
 * The user object the HTTP API returns, in Django's field names because the session
 * dialect's clients (Keystone-API, DRF) expect them. Never carries a password hash.
 */
export function publicUser(user: User): Readonly<Record<string, unknown>> {
  let view = shown.get(user);
  if (!view) {
    view = Object.freeze(buildPublicUser(user));
    shown.set(user, view);
  }
  return view;
}

function buildPublicUser(user: User): Record<string, unknown> {
  return {
    id: user.id,
    username: user.username,
    email: user.email ?? '',
    is_active: user.isActive,
    is_staff: isAdmin(user),
    roles: user.roles,
    date_joined: new Date(user.createdAt).toISOString(),
    last_login: user.lastLoginAt === null ? null : new Date(user.lastLoginAt).toISOString(),
  };
}

const USERNAME = /^[\p{L}\p{M}\p{N}@.+_-]{1,150}$/u;
/** Invisible code points (variation selectors, the Hangul filler): `admin︀` must not pass for `admin`. */
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/u;

/**
 * Normalises a username to NFC, the spelling kept for display: "é" typed as one code point
 * or as "e" plus a combining accent is stored the same way. Identity (uniqueness, login,
 * throttling) is the canonical key instead: see {@link usernameIdentity}.
 */
export function normalizeUsername(username: string): string {
  return username.normalize('NFC');
}

/** What a username is known by: the unique canonical key and its UTS #39 skeleton. */
export interface UsernameIdentity {
  key: string;
  skeleton: string;
}

/** The canonical key (NFKC, case-folded) and the confusable skeleton of a username (item 9). */
export function usernameIdentity(username: string): UsernameIdentity {
  const key = canonicalUsername(username);
  return { key, skeleton: usernameSkeleton(key) };
}

/**
 * Checks a new username: 1–150 letters, digits and `@ . + - _` (Django's rule), before and
 * after NFKC folding, and no invisible code point. A colon is refused because HTTP Basic
 * splits on the first one.
 *
 * @returns the NFC spelling to store and show.
 * @throws TesseraError `USERNAME_INVALID`.
 */
export function validateUsername(username: string): string {
  const normal = normalizeUsername(username);
  if (!USERNAME.test(normal) || INVISIBLE.test(normal) || !USERNAME.test(canonicalUsername(normal))) {
    throw new TesseraError(
      'USERNAME_INVALID',
      'Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters (at most 150).',
    );
  }
  return normal;
}

const EMAIL = /^[^\s@\p{Cc}]{1,64}@[^\s@\p{Cc}]{1,255}$/u;

/** @throws TesseraError `EMAIL_INVALID`. An empty string clears the address. */
export function validateEmail(email: string): string | null {
  if (email === '') return null;
  if (email.length > 320 || !EMAIL.test(email) || !email.split('@')[1]?.includes('.')) {
    throw new TesseraError('EMAIL_INVALID', 'Enter a valid email address.');
  }
  return email;
}
