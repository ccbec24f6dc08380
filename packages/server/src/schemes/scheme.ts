import type { AuthInput, AuthResult } from '../auth/principal.js';

/**
 * One way of presenting a credential (DESIGN: one small module per scheme). A scheme parses
 * its header or cookie and verifies the candidate, answering with a Principal or a failure
 * value — a credential that fails is an expected outcome, not an exception.
 */
export type Scheme = HeaderScheme | CookieScheme;

export interface HeaderScheme {
  readonly source: 'authorization';
  /** The `Authorization` scheme name it answers for, matched without case (RFC 9110 11.1). */
  readonly authorizationScheme: string;
  /** The `WWW-Authenticate` challenge naming this scheme. */
  readonly challenge: string;
  /** How this form is written, for the 401 that tells a client what was expected. */
  readonly form: string;
  /**
   * Whether this scheme owns the credentials after the scheme name: several forms share a
   * name (`Token <key>` for DRF, `token <key>:<secret>` for Frappe), and each claims its own.
   */
  accepts(credentials: string): boolean;
  authenticate(credentials: string, input: AuthInput): Promise<AuthResult>;
}

export interface CookieScheme {
  readonly source: 'cookie';
  readonly challenge: string;
  authenticate(input: AuthInput): Promise<AuthResult>;
}
