import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { PasswordLogin } from '../auth/password-login.js';
import { type AuthFailureCode, type AuthResult, authFailure, type Principal } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import type { CredentialStore } from '../credentials/credential-store.js';
import type { RevocationEvents } from '../credentials/revocation-events.js';
import { canonicalUsername } from '../users/username-identity.js';
import type { Users } from '../users/users.js';
import { verifyKeyPair } from './key-pair.js';
import type { HeaderScheme } from './scheme.js';

const CHALLENGE = 'Basic realm="tessera", charset="UTF-8"';
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const decoder = new TextDecoder('utf-8', { fatal: true });
/** A remembered header confirmed against the database this recently is answered from memory. */
const RECHECK_MS = 1_000;

export interface BasicCacheOptions {
  /** How long a verified username:password is remembered. */
  ttlMs: number;
  /** Entries kept at most; the oldest go first. */
  maxEntries: number;
}

interface Remembered {
  userId: number;
  /** SHA-256 of the stored password hash when verified: a new password changes it. */
  hashTag: string;
  until: number;
  /** The last confirmation against the database, and what it yielded. */
  checkedAt: number;
  /** {@link PasswordLogin.failures} then: any failed login since may have started a limit. */
  failures: number;
  principal: Principal;
}

/**
 * `Authorization: Basic base64(<left>:<right>)` (RFC 7617). When the left side is a known
 * Frappe api key the pair is a key and secret (seed 003); otherwise it is a username and
 * password, checked through the one password-login path (so it is throttled and audited
 * like any login).
 *
 * argon2 on every call would cost tens of milliseconds each, so a verified header is
 * remembered for a short time under an HMAC of the header (with a key that lives only in
 * this process, so the cache holds nothing an attacker could replay or crack). A remembered
 * entry is honoured only while the user is active, their username and stored hash unchanged
 * and the login limit not reached, re-read from the database at most once a second — so a
 * password change, rename, deactivation or deletion ends it at once here (user-change events)
 * and within a second on any other instance, as with every other cached credential.
 */
export class BasicScheme implements HeaderScheme {
  readonly source = 'authorization';
  readonly authorizationScheme = 'Basic';
  readonly challenge = CHALLENGE;
  readonly form = 'Basic base64(<username>:<password>) or Basic base64(<api_key>:<api_secret>)';
  readonly #cacheKey = randomBytes(32);
  readonly #remembered = new Map<string, Remembered>();
  readonly #inflight = new Map<string, Promise<AuthResult>>();
  /** Bumped by every user change: a check that began before one must not be remembered. */
  #generation = 0;

  constructor(
    private readonly credentials: CredentialStore,
    private readonly users: Users,
    private readonly passwordLogin: PasswordLogin,
    private readonly clock: Clock,
    private readonly cache: BasicCacheOptions,
    events: RevocationEvents,
  ) {
    events.onUserChanged((id) => {
      this.#generation++;
      for (const [tag, entry] of this.#remembered) if (entry.userId === id) this.#remembered.delete(tag);
    });
  }

  accepts(): boolean {
    return true;
  }

  async authenticate(credentials: string, input: { clientAddress?: string }): Promise<AuthResult> {
    const pair = decodeBasic(credentials);
    if (typeof pair === 'string') return authFailure('MALFORMED_CREDENTIALS', CHALLENGE, pair);
    const [left, right] = pair;

    const fail = (code: AuthFailureCode) =>
      authFailure(
        code,
        CHALLENGE,
        code === 'INACTIVE_USER' ? 'User inactive or deleted.' : 'Invalid username/password.',
      );
    const asKeyPair = await verifyKeyPair(this.credentials, left, right, fail);
    if (asKeyPair) return asKeyPair;

    const tag = createHmac('sha256', this.#cacheKey).update(credentials).digest('base64url');
    const remembered = this.#remembered.get(tag);
    const now = this.clock();
    if (remembered && remembered.until > now) {
      if (now - remembered.checkedAt < RECHECK_MS && remembered.failures === this.passwordLogin.failures) {
        return { ok: true, principal: remembered.principal };
      }
      const found = await this.users.findWithHashById(remembered.userId);
      if (
        found?.user.isActive &&
        // A rename retires the old username:password at once, like a password change. Any
        // spelling of the name is the account's (item 9): compared by canonical key.
        canonicalUsername(found.user.username) === canonicalUsername(left) &&
        found.passwordHash !== null &&
        hashTag(found.passwordHash) === remembered.hashTag
      ) {
        // Remembered, but not a way round a running login limit (SECURITY B3).
        const verdict = await this.passwordLogin.throttled(left, input.clientAddress ?? 'unknown');
        if (!verdict.ok) return authFailure('THROTTLED', CHALLENGE, undefined, verdict.retryAfterSeconds);
        remembered.checkedAt = now;
        remembered.failures = this.passwordLogin.failures;
        remembered.principal = passwordPrincipal(found.user);
        return { ok: true, principal: remembered.principal };
      }
    }
    this.#remembered.delete(tag);

    // Concurrent requests with one header share a single password check: a client opening
    // many connections at once must not run argon2 (and count a login attempt) per connection.
    let pending = this.#inflight.get(tag);
    if (!pending) {
      pending = this.#verifyPassword(tag, left, right, input.clientAddress ?? 'unknown', this.#generation).finally(() =>
        this.#inflight.delete(tag),
      );
      this.#inflight.set(tag, pending);
    }
    return pending;
  }

  async #verifyPassword(
    tag: string,
    left: string,
    right: string,
    clientAddress: string,
    generation: number,
  ): Promise<AuthResult> {
    const fail = (code: AuthFailureCode) => authFailure(code, CHALLENGE, 'Invalid username/password.');
    const outcome = await this.passwordLogin.attempt({
      username: left,
      password: right,
      clientAddress,
      via: 'basic',
    });
    if (!outcome.ok) {
      return outcome.reason === 'throttled'
        ? authFailure('THROTTLED', CHALLENGE, undefined, outcome.retryAfterSeconds)
        : fail('INVALID_CREDENTIALS');
    }
    // Remember the hash this password was checked against, not whatever is stored by now: a
    // password change racing this check must not leave the old password remembered.
    const principal = passwordPrincipal(outcome.user);
    // A password change or deactivation that landed during the check answers the next use.
    if (generation === this.#generation) {
      this.#remember(tag, { userId: outcome.user.id, hashTag: hashTag(outcome.passwordHash), principal });
    }
    return { ok: true, principal };
  }

  #remember(tag: string, entry: Omit<Remembered, 'until' | 'checkedAt' | 'failures'>): void {
    if (this.#remembered.size >= this.cache.maxEntries) {
      const oldest = this.#remembered.keys().next().value;
      if (oldest !== undefined) this.#remembered.delete(oldest);
    }
    const now = this.clock();
    this.#remembered.set(tag, {
      ...entry,
      until: now + this.cache.ttlMs,
      checkedAt: now,
      failures: this.passwordLogin.failures,
    });
  }
}

/**
 * Strict RFC 7617 decoding: canonical base64, UTF-8, a colon, no control characters.
 * Returns the two sides, or the reason (DRF's wording) the header is malformed.
 */
export function decodeBasic(credentials: string): [string, string] | string {
  if (credentials === '') return 'Invalid basic header. No credentials provided.';
  if (/\s/.test(credentials)) return 'Invalid basic header. Credentials string should not contain spaces.';
  const bytes = Buffer.from(credentials, 'base64');
  // Buffer.from skips junk silently; only a value that re-encodes to itself is canonical.
  if (!BASE64.test(credentials) || credentials.length % 4 !== 0 || bytes.toString('base64') !== credentials) {
    return 'Invalid basic header. Credentials not correctly base64 encoded.';
  }
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return 'Invalid basic header. Credentials are not valid UTF-8.';
  }
  // `echo user:pass | base64` — as seed 004 shows it — encodes echo's newline too. No
  // credential can hold a control character, so one trailing newline is dropped, not refused.
  text = text.replace(/\r?\n$/, '');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(text)) return 'Invalid basic header. Credentials contain control characters.';
  const colon = text.indexOf(':');
  if (colon === -1) return 'Invalid basic header. Credentials should be <username>:<password>.';
  const left = text.slice(0, colon);
  if (left === '') return 'Invalid basic header. The username is empty.';
  return [left, text.slice(colon + 1)];
}

function hashTag(passwordHash: string): string {
  return createHash('sha256').update(passwordHash).digest('base64url');
}

function passwordPrincipal(user: Principal['user']): Principal {
  return { user, credential: { kind: 'password', id: 0 }, scopes: null, csrfToken: null };
}

/**
 * The credentials of a whole `Authorization: Basic <credentials>` header, as Conjur's login
 * reads it: the scheme name in any case, spaces or tabs, the credentials up to the first
 * whitespace, then only whitespace. Undefined for any other header.
 *
 * A scan rather than `/^basic[ \t]+(\S*)\s*$/i`: there `[ \t]+` and `\s*` overlap across an
 * empty `\S*`, so `Basic` + 16,000 spaces + `a b` backtracked in O(n²) — over half a second of
 * event loop per request (issue 13 item 1; SECURITY H: never a hang).
 */
export function basicCredentialsOf(header: string): string | undefined {
  if (header.length < 6 || header.slice(0, 5).toLowerCase() !== 'basic') return undefined;
  let start = 5;
  while (start < header.length && (header[start] === ' ' || header[start] === '\t')) start++;
  if (start === 5) return undefined;
  const rest = header.slice(start);
  const gap = rest.search(/\s/);
  if (gap === -1) return rest;
  // `\s` and String.prototype.trim agree on what whitespace is (ECMAScript WhiteSpace and LineTerminator).
  return rest.slice(gap).trim() === '' ? rest.slice(0, gap) : undefined;
}
