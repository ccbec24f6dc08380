import { AUTH_FAILURES, type AuthInput, type AuthResult, authFailure } from '../auth/principal.js';
import { parseCookies } from '../http/cookies.js';
import type { SessionStore } from '../sessions/session-store.js';
import type { CookieScheme } from './scheme.js';

/** Session secrets are 32 random bytes, base64url: exactly 43 characters of that alphabet. */
const SESSION_SECRET = /^[A-Za-z0-9_-]{43}$/;

/**
 * The session cookie (DESIGN "session"). Unknown, expired and malformed cookies all read as
 * "no credentials", as Django's SessionAuthentication answers; two cookies of the session's
 * name are refused outright rather than one of them being picked.
 */
export class SessionScheme implements CookieScheme {
  readonly source = 'cookie';
  readonly challenge: string;

  constructor(
    private readonly sessions: SessionStore,
    private readonly cookieName: string,
  ) {
    this.challenge = `Session realm="tessera", cookie="${cookieName}"`;
  }

  async authenticate(input: AuthInput): Promise<AuthResult> {
    const header = input.headers.cookie;
    const values = parseCookies(typeof header === 'string' ? header : undefined).get(this.cookieName);
    if (!values) return this.#fail('NO_CREDENTIALS', AUTH_FAILURES.NO_CREDENTIALS);
    if (values.length > 1)
      return this.#fail('MALFORMED_CREDENTIALS', `More than one ${this.cookieName} cookie was sent.`);
    const secret = values[0] ?? '';
    if (!SESSION_SECRET.test(secret)) return this.#fail('INVALID_CREDENTIALS', AUTH_FAILURES.NO_CREDENTIALS);
    const session = await this.sessions.find(secret);
    if (!session) return this.#fail('INVALID_CREDENTIALS', AUTH_FAILURES.NO_CREDENTIALS);
    return {
      ok: true,
      principal: {
        user: session.user,
        credential: { kind: 'session', id: session.credentialId },
        scopes: null,
        csrfToken: session.csrfToken,
        signedInAt: session.signedInAt,
      },
    };
  }

  /** The raw session secret of a request, for logout and rotation at login. */
  secretOf(input: AuthInput): string | undefined {
    const header = input.headers.cookie;
    const values = parseCookies(typeof header === 'string' ? header : undefined).get(this.cookieName);
    return values?.length === 1 && SESSION_SECRET.test(values[0] ?? '') ? values[0] : undefined;
  }

  #fail(code: 'NO_CREDENTIALS' | 'MALFORMED_CREDENTIALS' | 'INVALID_CREDENTIALS', message: string): AuthResult {
    return authFailure(code, this.challenge, message);
  }
}
