import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { PasswordHasher } from '../crypto/passwords.js';
import { PASSWORD_MAX_BYTES } from '../crypto/passwords.js';
import type { SessionStore } from '../sessions/session-store.js';
import type { LoginThrottle, ThrottleVerdict } from '../throttle/login-throttle.js';
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
    const verdict = await this.throttle.attempt(username, clientAddress);
    if (!verdict.ok) {
      this.#failures++;
      await this.audit.record('login.throttled', { clientAddress, detail: { username: username.slice(0, 150), via } });
      return { ok: false, reason: 'throttled', retryAfterSeconds: verdict.retryAfterSeconds };
    }
    // Over-long input never reaches argon2 (SECURITY A4): it cannot be anyone's password.
    if (username.length > 150 || Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES) {
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
    await this.throttle.succeeded(username, clientAddress);
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
