import { trimHttpWhitespace } from '../http/whitespace.js';
import type { CookieScheme, HeaderScheme, Scheme } from '../schemes/scheme.js';
import { type AuthInput, type AuthResult, authFailure } from './principal.js';

/** Longest `Authorization` header considered; longer ones are refused unread. */
export const MAX_AUTHORIZATION_BYTES = 8192;

/**
 * Runs the configured schemes over a request (DESIGN: one `authenticate(request)` for the
 * routes, the middleware and the tests).
 *
 * An `Authorization` header, when present, decides alone: a header no scheme accepts is a
 * failure, never a reason to fall back to the session cookie (SECURITY D6). Only without
 * the header are cookie schemes consulted. Which store is consulted follows from the
 * header's form alone; nothing else in the request can choose it (SECURITY E4).
 */
export class Authenticator {
  readonly #byName = new Map<string, HeaderScheme[]>();
  readonly #cookieSchemes: CookieScheme[] = [];
  readonly #challenge: string;

  constructor(schemes: readonly Scheme[]) {
    for (const scheme of schemes) {
      if (scheme.source === 'cookie') {
        this.#cookieSchemes.push(scheme);
        continue;
      }
      const name = scheme.authorizationScheme.toLowerCase();
      this.#byName.set(name, [...(this.#byName.get(name) ?? []), scheme]);
    }
    this.#challenge = [...new Set(schemes.map((s) => s.challenge))].join(', ');
  }

  /** Every scheme's challenge, for a 401 that has no more specific one. */
  get challenge(): string {
    return this.#challenge;
  }

  async authenticate(input: AuthInput): Promise<AuthResult> {
    const authorization = input.headers.authorization;
    if (authorization !== undefined) return this.#fromHeader(authorization, input);
    for (const scheme of this.#cookieSchemes) {
      const result = await scheme.authenticate(input);
      if (result.ok || result.code !== 'NO_CREDENTIALS') return result;
    }
    return authFailure('NO_CREDENTIALS', this.#challenge);
  }

  async #fromHeader(authorization: string | string[], input: AuthInput): Promise<AuthResult> {
    const distinct = input.headersDistinct?.authorization;
    if (typeof authorization !== 'string' || (distinct && distinct.length > 1)) {
      return authFailure('MALFORMED_CREDENTIALS', this.#challenge, 'Send exactly one Authorization header.');
    }
    if (authorization.length > MAX_AUTHORIZATION_BYTES) {
      return authFailure('MALFORMED_CREDENTIALS', this.#challenge, 'The Authorization header is too long.');
    }
    const trimmed = trimHttpWhitespace(authorization);
    const gap = trimmed.search(/[ \t]/);
    const name = (gap === -1 ? trimmed : trimmed.slice(0, gap)).toLowerCase();
    const credentials = gap === -1 ? '' : trimHttpWhitespace(trimmed.slice(gap + 1));
    const schemes = this.#byName.get(name);
    if (!schemes) {
      return authFailure(
        'UNSUPPORTED_SCHEME',
        this.#challenge,
        `Unsupported Authorization scheme; expected one of: ${this.#forms()}.`,
      );
    }
    const scheme = schemes.find((s) => s.accepts(credentials));
    if (!scheme) {
      const forms = schemes.map((s) => s.form).join(' or ');
      return authFailure(
        'MALFORMED_CREDENTIALS',
        schemes[0]?.challenge ?? this.#challenge,
        `Malformed ${name} header; expected ${forms}.`,
      );
    }
    return scheme.authenticate(credentials, input);
  }

  #forms(): string {
    return [...this.#byName.values()]
      .flat()
      .map((s) => s.form)
      .join(', ');
  }
}
