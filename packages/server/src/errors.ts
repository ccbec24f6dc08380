/**
 * Every failure Tessera throws has a stable UPPER_SNAKE code from this registry. The codes
 * are part of the public contract: scripts match on them, and `docs/errors.md` documents each
 * one (a test fails when a code is missing there).
 */
export const ERROR_CODES = {
  CONFIG_INVALID: 'A configuration value is missing or malformed.',
  MASTER_KEY_INVALID: 'The master key is not 32 bytes of base64.',
  MASTER_KEY_FILE_INSECURE: 'The master key file is readable by group or others.',
  MASTER_KEY_REQUIRED: 'PostgreSQL deployments must name a shared master key.',
  SEALED_VALUE_INVALID: 'A sealed value is malformed, was sealed under an unknown key, or was tampered with.',
  DATABASE_URL_INVALID: 'The database URL is neither a SQLite path nor a postgres:// URL.',
  DATABASE_FILE_INVALID:
    'The SQLite path is in a directory that does not exist, is not a file, cannot be read or written, or is not a SQLite database.',
  DATABASE_FILE_INSECURE: 'The SQLite database file (or its -wal/-shm file) is readable by group or others.',
  MASTER_KEY_MISMATCH: 'The master key is not the one this database was made with.',
  USERNAME_INVALID: 'The username is empty, too long, or holds characters that are not allowed.',
  USERNAME_TAKEN: 'Another user already has this username.',
  USERNAME_CONFUSABLE: "The username looks like another user's (same Unicode TS #39 skeleton).",
  USERNAMES_CLASH: 'Existing usernames differ only by case or Unicode form; the migration cannot proceed.',
  LAST_ADMIN: 'The change would leave no active admin.',
  EMAIL_INVALID: 'The email address is malformed.',
  PASSWORD_TOO_SHORT: 'The password is shorter than the minimum length.',
  PASSWORD_TOO_LONG: 'The password is longer than the maximum length.',
  PASSWORD_TOO_COMMON: 'The password is one of the most common passwords.',
  ROLE_INVALID: 'A role name is not lower-case letters, digits and . _ -.',
  USER_NOT_FOUND: 'No user has this id or username.',
  HASHER_BUSY: 'Too many password hashes are queued; try again shortly.',
} as const;

/** A stable code naming one kind of failure. */
export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * The one error class Tessera throws for expected failures. Narrow on `code`.
 *
 * @example
 * ```ts
 * try { await users.create({ username: 'a:b', password }) }
 * catch (e) { if (e instanceof TesseraError && e.code === 'USERNAME_INVALID') … }
 * ```
 */
export class TesseraError extends Error {
  override readonly name = 'TesseraError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string = ERROR_CODES[code], options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True when `value` is a {@link TesseraError}, optionally with the given code. */
export function isTesseraError(value: unknown, code?: ErrorCode): value is TesseraError {
  return value instanceof TesseraError && (code === undefined || value.code === code);
}
