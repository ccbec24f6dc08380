import { resolveConfig } from '../config.js';
import { browserCredentialRefusal, browserRequest } from '../http/cross-site.js';
import { openTessera, type Tessera } from '../tessera.js';
import { type OfflineOptions, OfflineVerifier } from './offline.js';
import { type RemoteOptions, RemoteVerifier } from './remote.js';
import type { VerifiedPrincipal, Verifier, VerifyFailure, VerifyInput, VerifyResult } from './verification.js';

// The shared types live in a module of their own, so the verifiers need not import this one
// (which imports them): no cycle between the modes and the factory.
export type { VerifiedPrincipal, Verifier, VerifyFailure, VerifyInput, VerifyResult } from './verification.js';

/** `local`: open Tessera's own database in-process and run the server's `authenticate()`. */
export interface LocalOptions {
  mode: 'local';
  /** An already opened core; else one is opened from `databaseUrl` + `masterKey` (or `env`). */
  tessera?: Tessera;
  databaseUrl?: string;
  /** The server's master key, base64 (as in `TESSERA_MASTER_KEY`). */
  masterKey?: string;
  /** Environment read for the rest of the configuration (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

export type VerifierOptions = LocalOptions | OfflineOptions | RemoteOptions;
export type { OfflineOptions, RemoteOptions };

/**
 * Makes the verifier for a mode. Synchronous: `local` opens its database in the background,
 * and `ready()` (or the first request) reports a failure to open it.
 *
 * @example
 * ```ts
 * const verifier = createVerifier({ mode: 'offline', url: 'http://127.0.0.1:8000' });
 * const result = await verifier.verify({ method: 'GET', headers: { authorization: 'Bearer eyJ…' } });
 * if (result.ok) console.log(result.principal.userId);
 * ```
 * @throws TypeError naming the option when the options are unusable.
 */
export function createVerifier(options: VerifierOptions): Verifier {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  switch (options.mode) {
    case 'local':
      return new LocalVerifier(options);
    case 'offline':
      return new OfflineVerifier(options);
    case 'remote':
      return new RemoteVerifier(options);
    default:
      throw new TypeError('options.mode must be "local", "offline" or "remote"');
  }
}

/** The same `authenticate()` the server runs, over the server's database. */
export class LocalVerifier implements Verifier {
  readonly mode = 'local';
  readonly #tessera: Promise<Tessera>;
  readonly #owned: boolean;

  constructor(options: LocalOptions) {
    this.#owned = options.tessera === undefined;
    if (options.tessera) {
      this.#tessera = Promise.resolve(options.tessera);
    } else {
      const config = resolveConfig(options.env ?? process.env, {
        ...(options.databaseUrl !== undefined && { databaseUrl: options.databaseUrl }),
        ...(options.masterKey !== undefined && { masterKey: { kind: 'env', value: options.masterKey } }),
        logLevel: 'silent',
      });
      // The server owns the schema: a service never migrates the database under it.
      this.#tessera = openTessera(config, { migrate: false });
      this.#tessera.catch(() => undefined); // reported by ready() and by each request
    }
  }

  /** Resolves once the database is open; rejects with the reason it could not be. */
  async ready(): Promise<void> {
    await this.#tessera;
  }

  async verify(input: VerifyInput): Promise<VerifyResult> {
    let tessera: Tessera;
    let result: Awaited<ReturnType<Tessera['authenticator']['authenticate']>>;
    try {
      tessera = await this.#tessera;
      result = await tessera.authenticator.authenticate(input);
    } catch {
      // The database is unreachable (or never opened: see ready()); a clear 503, not a 500.
      return { ok: false, status: 503, detail: 'The credential store cannot be reached.', retryAfterSeconds: 1 };
    }
    if (!result.ok) {
      if (result.code === 'THROTTLED') {
        return { ok: false, status: 429, detail: result.message, retryAfterSeconds: result.retryAfterSeconds ?? 60 };
      }
      return { ok: false, status: 401, detail: result.message, challenge: result.challenge };
    }
    const { user, credential, scopes, csrfToken } = result.principal;
    // The server's own cross-site rule (SECURITY D1, D4): cookies need the same origin and the
    // CSRF token, cached Basic credentials the same origin.
    const { session, trustedOrigins } = tessera.config;
    const refused = browserCredentialRefusal(
      browserRequest({ method: input.method, headers: input.headers, secure: input.secure === true }),
      csrfToken,
      { trustedOrigins, csrfHeaderName: session.csrfHeaderName },
    );
    if (refused) return { ok: false, status: 403, detail: refused.reason };
    return {
      ok: true,
      principal: { userId: user.id, username: user.username, roles: user.roles, credential, scopes, csrfToken, user },
    };
  }

  async close(): Promise<void> {
    if (this.#owned) await (await this.#tessera).close();
  }
}

/**
 * A guard's verdict on a principal: null to let it through, else the refusal to answer.
 *
 * @example
 * ```ts
 * const refusal = checkScopes(principal, ['read']); // { ok: false, status: 403, … } or null
 * ```
 */
export function checkScopes(principal: VerifiedPrincipal | undefined | null, scopes: string[]): VerifyFailure | null {
  if (!principal) return notAuthenticated();
  // Unlimited credentials (sessions, passwords, unscoped tokens) hold every scope, as on the server.
  const missing = principal.scopes === null ? undefined : scopes.find((s) => !principal.scopes?.includes(s));
  return missing === undefined
    ? null
    : { ok: false, status: 403, detail: `This credential lacks the "${missing}" scope.` };
}

/**
 * Null when the principal has the role; else a 403 (also when the mode cannot tell roles).
 *
 * @example
 * ```ts
 * const refusal = checkRole(principal, 'admin');
 * ```
 */
export function checkRole(principal: VerifiedPrincipal | undefined | null, role: string): VerifyFailure | null {
  if (!principal) return notAuthenticated();
  if (principal.roles === null) {
    return { ok: false, status: 403, detail: `Roles are unknown in this mode; "${role}" cannot be confirmed.` };
  }
  return principal.roles.includes(role)
    ? null
    : { ok: false, status: 403, detail: `You do not have the "${role}" role.` };
}

function notAuthenticated(): VerifyFailure {
  return { ok: false, status: 401, detail: 'Authentication credentials were not provided.', challenge: 'Bearer' };
}

/**
 * The headers a refusal is answered with (`WWW-Authenticate`, `Retry-After`).
 *
 * @example
 * ```ts
 * for (const [name, value] of Object.entries(failureHeaders(result))) res.setHeader(name, value);
 * ```
 */
export function failureHeaders(failure: VerifyFailure): Record<string, string> {
  const headers: Record<string, string> = {};
  if (failure.challenge !== undefined) headers['WWW-Authenticate'] = failure.challenge;
  if (failure.retryAfterSeconds !== undefined) headers['Retry-After'] = String(failure.retryAfterSeconds);
  return headers;
}
