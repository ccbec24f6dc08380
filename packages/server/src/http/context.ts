import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../auth/principal.js';
import type { Tessera } from '../tessera.js';
import { readBody } from './body.js';
import { detail } from './http-error.js';

/** One request as route handlers see it. */
export class RequestContext {
  /** Set by the server before the handler runs on routes that require authentication. */
  principal: Principal | null = null;
  #body: Promise<Record<string, unknown>> | undefined;

  constructor(
    readonly tessera: Tessera,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly params: Readonly<Record<string, string | undefined>>,
    readonly query: Readonly<Record<string, string>>,
    readonly clientAddress: string,
    /** The request came over HTTPS (directly or via a trusted proxy). */
    readonly secure: boolean,
  ) {}

  get method(): string {
    return this.req.method ?? 'GET';
  }

  header(name: string): string | undefined {
    const value = this.req.headers[name];
    return Array.isArray(value) ? value[0] : value;
  }

  /** The parsed body (JSON or form), read once. */
  body(): Promise<Record<string, unknown>> {
    this.#body ??= readBody(this.req, this.tessera.config.bodyLimitBytes);
    return this.#body;
  }

  /** The authenticated principal; only call on routes declared `auth: 'required'`. */
  get user(): Principal {
    if (!this.principal) throw detail(401, 'Authentication credentials were not provided.');
    return this.principal;
  }

  /** Whether a cookie of this name must carry `Secure`. */
  secureCookie(name: string): boolean {
    const mode = this.tessera.config.session.secureCookies;
    // Browsers drop __Host-/__Secure- cookies that are not Secure (RFC 6265bis 4.1.3).
    if (name.startsWith('__Host-') || name.startsWith('__Secure-')) return true;
    return mode === 'always' || (mode === 'auto' && this.secure);
  }
}
