// The public API of the `tessera` package. Each name is exported on purpose; a test
// snapshots this list so an export never changes by accident.
export { Authenticator } from './auth/authenticate.js';
export type { AuthFailureCode, AuthInput, AuthResult, Principal } from './auth/principal.js';
export { AUTH_FAILURES } from './auth/principal.js';
export type { ConfigOverrides, TesseraConfig } from './config.js';
export { resolveConfig } from './config.js';
export type { ErrorCode } from './errors.js';
export { ERROR_CODES, isTesseraError, TesseraError } from './errors.js';
export type { HttpServerOptions, TesseraServer } from './http/server.js';
export { createHttpServer } from './http/server.js';
export type { OpenOptions, Tessera } from './tessera.js';
export { openTessera } from './tessera.js';
export type { User } from './users/user.js';
