import type { Scheme } from '../schemes/scheme.js';
import { AUTH_FAILURES, type AuthInput, type AuthResult } from './principal.js';

/**
 * Runs the configured schemes over a request (DESIGN: one `authenticate(request)` for the
 * routes, the middleware and the tests).
 *
 * An `Authorization` header, when present, decides alone: a header no scheme accepts is a
 * failure, never a reason to fall back to the session cookie (SECURITY D6). Only without
 * the header are cookie schemes consulted. The request never chooses which store is
 * consulted beyond that (SECURITY E4).
 */
export class Authenticator {
  readonly #headerSchemes: Map<string, Scheme>;
  readonly #cookieSchemes: Scheme[];
  readonly #challenge: string;

  constructor(schemes: readonly Scheme[]) {
    this.#headerSchemes = new Map();
    this.#cookieSchemes = [];
    for (const scheme of schemes) {
      if (scheme.source === 'cookie') this.#cookieSchemes.push(scheme);
      else for (const name of scheme.authorizationSchemes) this.#headerSchemes.set(name.toLowerCase(), scheme);
    }
    this.#challenge = schemes.map((s) => s.challenge).join(', ');
  }

  async authenticate(input: AuthInput): Promise<AuthResult> {
    const authorization = input.headers.authorization;
    if (authorization !== undefined) {
      if (typeof authorization !== 'string')
        return this.#fail('MALFORMED_CREDENTIALS', 'Send one Authorization header.');
      const space = authorization.indexOf(' ');
      const name = (space === -1 ? authorization : authorization.slice(0, space)).toLowerCase();
      const scheme = this.#headerSchemes.get(name);
      if (!scheme) return this.#fail('UNSUPPORTED_SCHEME', AUTH_FAILURES.UNSUPPORTED_SCHEME);
      return scheme.authenticate(input);
    }
    for (const scheme of this.#cookieSchemes) {
      const result = await scheme.authenticate(input);
      if (result.ok || result.code !== 'NO_CREDENTIALS') return result;
    }
    return this.#fail('NO_CREDENTIALS', AUTH_FAILURES.NO_CREDENTIALS);
  }

  #fail(code: keyof typeof AUTH_FAILURES, message: string): AuthResult {
    return { ok: false, code, message, challenge: this.#challenge };
  }
}
