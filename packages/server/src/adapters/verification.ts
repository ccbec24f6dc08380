import type { AuthInput } from '../auth/principal.js';
import type { User } from '../users/user.js';

/**
 * Who a request is, as the middleware sees it. The three modes know different amounts:
 * `local` knows everything (`user` is set), `remote` knows the username and roles, `offline`
 * (a signed token alone) knows only the user id, scopes and credential kind.
 */
export interface VerifiedPrincipal {
  userId: number;
  /** Null in `offline` mode: a JWT carries only the user id. */
  username: string | null;
  /** Null when the mode cannot tell (`offline`); `requireRole` then refuses. */
  roles: string[] | null;
  /** `id` is null when the mode cannot tell (`remote`). */
  credential: { kind: string; id: number | null };
  /** Scopes the credential is limited to, or null for the user's full authority. */
  scopes: string[] | null;
  /** For cookie sessions (`local` mode only): the token unsafe requests must echo. */
  csrfToken: string | null;
  /** The full user record, in `local` mode only. */
  user: User | null;
}

/** A refusal, already in HTTP terms: what the adapters answer. */
export interface VerifyFailure {
  ok: false;
  status: 401 | 403 | 429 | 503;
  /** For the JSON body `{"detail": …}`. */
  detail: string;
  /** `WWW-Authenticate`, on 401. */
  challenge?: string;
  /** `Retry-After`, on 429 and 503. */
  retryAfterSeconds?: number;
}

export type VerifyResult = { ok: true; principal: VerifiedPrincipal } | VerifyFailure;

/** The request parts a verifier reads: `AuthInput` plus whether it came over HTTPS (for CSRF). */
export interface VerifyInput extends AuthInput {
  secure?: boolean;
}

/** Checks one request's credential against one source of truth. */
export interface Verifier {
  readonly mode: 'local' | 'offline' | 'remote';
  verify(input: VerifyInput): Promise<VerifyResult>;
  /** Releases what the verifier holds (the database in `local` mode). */
  close(): Promise<void>;
}
