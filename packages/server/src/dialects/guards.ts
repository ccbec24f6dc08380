/** Scope a limited credential needs to list, make or revoke credentials. */
export const CREDENTIALS_SCOPE = 'credentials';

/** Scope a limited credential needs to change users (its own password included). */
export const USERS_SCOPE = 'users';
