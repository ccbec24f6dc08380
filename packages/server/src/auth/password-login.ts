import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { PasswordHasher } from '../crypto/passwords.js';
import { PASSWORD_MAX_BYTES } from '../crypto/passwords.js';
import type { SessionStore } from '../sessions/session-store.js';
import { accountKey, addressKey, type LoginThrottle, type ThrottleVerdict } from '../throttle/login-throttle.js';
import type { User } from '../users/user.js';
import type { Users } from '../users/users.js';

const SWEEP_INTERVAL_MS = 60_000;

export type LoginOutcome =
  /** `passwordHash`: the stored hash this login was checked against (or replaced it with). */
  | { ok: true; user: User; passwordHash: string }
  /** Unknown user, wrong password, inactive user: one outcome, deliberately (SECURITY B1). */
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'throttled'; retryAfterSeconds: number };

export interface LoginAttempt {
  username: string;
  password: string;
  clientAddress: string;
  /** Which door was used (`session`, `drf`, …), for the audit log. */
  via: string;
}

/**
 * The one password check every dialect's login goes through: throttle, verify (with equal
 * work whether or not the user exists), rehash when the stored hash is weak, audit.
 */
export class PasswordLogin {
  #lastSweep = 0;
  #failures = 0;

  constructor(
    private readonly users: Users,
    private readonly hasher: PasswordHasher,
    private readonly throttle: LoginThrottle,
    private readonly sessions: SessionStore,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  async attempt({ username, password, clientAddress, via }: LoginAttempt): Promise<LoginOutcome> {
    await this.#sweep();
    // A name over 150 characters is no one's: checked before any storage sees it, so it is
    // counted against the address only and never becomes an index key (item 7).
    const nameTooLong = username.length > 150;
    const verdict = await this.throttle.attempt(nameTooLong ? null : username, clientAddress);
    if (!verdict.ok) {
      this.#failures++;
      await this.recordThrottled(nameTooLong ? null : username, clientAddress, via);
      return { ok: false, reason: 'throttled', retryAfterSeconds: verdict.retryAfterSeconds };
    }
    // Over-long input never reaches argon2 (SECURITY A4): it cannot be anyone's password.
    if (nameTooLong || Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES) {
      this.#failures++;
      await this.audit.record('login.failed', { clientAddress, detail: { reason: 'too_long', via } });
      return { ok: false, reason: 'invalid' };
    }
    const found = await this.users.findForLogin(username);
    let ok = false;
    let needsRehash = false;
    if (found?.passwordHash) {
      ({ ok, needsRehash } = await this.hasher.verify(found.passwordHash, password));
    } else {
      await this.hasher.verifyDummy(password);
    }
    if (!found || !ok || !found.user.isActive) {
      this.#failures++;
      const reason = !found ? 'unknown_user' : !ok ? 'wrong_password' : 'inactive';
      await this.audit.record('login.failed', {
        clientAddress,
        subjectId: found?.user.id ?? null,
        detail: { username: username.slice(0, 150), reason, via },
      });
      return { ok: false, reason: 'invalid' };
    }
    const passwordHash = needsRehash
      ? await this.users.rehash(found.user.id, password)
      : (found.passwordHash as string);
    // The account that signed in, by its own name: a success forgives only its failures (item 3).
    await this.throttle.succeeded(found.user.username, clientAddress);
    const lastLoginAt = await this.users.recordLogin(found.user.id);
    await this.audit.record('login.succeeded', {
      actorId: found.user.id,
      subjectId: found.user.id,
      clientAddress,
      detail: { via },
    });
    return { ok: true, user: { ...found.user, lastLoginAt }, passwordHash };
  }

  /**
   * Failed or refused attempts made through this instance so far. A cache of verified
   * passwords that saw this change knows a login limit may have been reached meanwhile.
   */
  get failures(): number {
    return this.#failures;
  }

  /**
   * Audits a refused attempt (SECURITY B6), one row per account and address per throttle
   * window with a count, so that refused tries cannot grow the audit log without bound.
   */
  async recordThrottled(username: string | null, clientAddress: string, via: string): Promise<void> {
    const account = username === null ? 'account-too-long' : accountKey(username);
    await this.audit.recordRepeated(
      'login.throttled',
      `${account}\n${addressKey(clientAddress)}`,
      this.throttle.windowMs,
      {
        clientAddress,
        detail: { ...(username !== null && { username: username.slice(0, 150) }), via },
      },
    );
  }

  /** Whether an attempt for this username and address would be throttled now; counts nothing. */
  throttled(username: string, clientAddress: string): Promise<ThrottleVerdict> {
    return this.throttle.check(username, clientAddress);
  }

  /**
   * Dead sessions and ended throttle windows are removed here, at most once a minute: logins
   * are what create both, so the tables stay bounded without a timer of their own.
   */
  async #sweep(): Promise<void> {
    const now = this.clock();
    if (now - this.#lastSweep < SWEEP_INTERVAL_MS) return;
    this.#lastSweep = now;
    await this.sessions.deleteExpired();
    await this.throttle.deleteExpired();
  }
}
