import type { AuthInput, AuthResult } from '../auth/principal.js';

/**
 * One way of presenting a credential (DESIGN: one small module per scheme). `authenticate`
 * parses its header or cookie and verifies the candidate, answering with a Principal or a
 * failure value — a credential that fails is an expected outcome, not an exception.
 */
export type Scheme = HeaderScheme | CookieScheme;

interface SchemeBase {
  /** The `WWW-Authenticate` challenge naming this scheme. */
  readonly challenge: string;
  authenticate(input: AuthInput): Promise<AuthResult>;
}

export interface HeaderScheme extends SchemeBase {
  readonly source: 'authorization';
  /** The `Authorization` scheme names it answers for, matched without case (RFC 9110 11.1). */
  readonly authorizationSchemes: readonly string[];
}

export interface CookieScheme extends SchemeBase {
  readonly source: 'cookie';
}
