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
}

/** Stable reasons a credential was not accepted. */
export const AUTH_FAILURES = {
  NO_CREDENTIALS: 'Authentication credentials were not provided.',
  MALFORMED_CREDENTIALS: 'The credentials are malformed.',
  INVALID_CREDENTIALS: 'Invalid credentials.',
  UNSUPPORTED_SCHEME: 'The Authorization scheme is not supported.',
} as const;

export type AuthFailureCode = keyof typeof AUTH_FAILURES;

export type AuthResult =
  | { ok: true; principal: Principal }
  | { ok: false; code: AuthFailureCode; message: string; challenge: string };

/** The parts of a request that authentication reads; Node's, Express's and Fastify's requests fit. */
export interface AuthInput {
  method?: string | undefined;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}
