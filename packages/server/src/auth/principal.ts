import type { User } from '../users/user.js';

/** What authentication yields for a request (DESIGN "Principal"). */
export interface Principal {
  user: User;
  credential: { kind: string; id: number };
  /** Scopes the credential is limited to, or null for the user's full authority. */
  scopes: string[] | null;
  /**
   * For credentials a browser attaches by itself (cookies): the CSRF token this request must
   * echo on unsafe methods. Null for credentials sent deliberately in a header.
   */
  csrfToken: string | null;
  /** For a session: when its user signed in with a password, which recent-login checks read (SECURITY G3). */
  signedInAt?: number;
}

/** Stable reasons a credential was not accepted. */
export const AUTH_FAILURES = {
  NO_CREDENTIALS: 'Authentication credentials were not provided.',
  MALFORMED_CREDENTIALS: 'The credentials are malformed.',
  INVALID_CREDENTIALS: 'Invalid credentials.',
  INACTIVE_USER: 'User inactive or deleted.',
  UNSUPPORTED_SCHEME: 'The Authorization scheme is not supported.',
  THROTTLED: 'Too many failed attempts; try again later.',
} as const;

export type AuthFailureCode = keyof typeof AUTH_FAILURES;

export type AuthFailure = {
  ok: false;
  code: AuthFailureCode;
  /** Said to the client, in the dialect's words (DRF's, where the scheme is DRF's). */
  message: string;
  /** The `WWW-Authenticate` value for the 401. */
  challenge: string;
  /** With `THROTTLED`: when to come back (HTTP 429 `Retry-After`). */
  retryAfterSeconds?: number;
};

export type AuthResult = { ok: true; principal: Principal } | AuthFailure;

/**
 * The parts of a request that authentication reads. Node's `IncomingMessage` fits as is
 * (and then two `Authorization` headers are caught through `headersDistinct`); Express and
 * Fastify requests fit too.
 */
export interface AuthInput {
  method?: string | undefined;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  headersDistinct?: Readonly<Record<string, string[] | undefined>>;
  /** The client address, for throttling password checks (HTTP Basic). */
  clientAddress?: string;
}

/** A failure value; schemes use it so every failure carries its challenge. */
export function authFailure(
  code: AuthFailureCode,
  challenge: string,
  message: string = AUTH_FAILURES[code],
  retryAfterSeconds?: number,
): AuthFailure {
  return retryAfterSeconds === undefined
    ? { ok: false, code, message, challenge }
    : { ok: false, code, message, challenge, retryAfterSeconds };
}
