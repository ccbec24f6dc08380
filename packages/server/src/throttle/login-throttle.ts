import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Database } from '../store/database.js';
import { canonicalUsername } from '../users/username-identity.js';

export interface ThrottleRule {
  /** Attempts allowed in one window. */
  max: number;
  windowMs: number;
}

export interface ThrottleRules {
  /** Per submitted username, known or not. ASVS 4.0 2.2.1 allows at most 100 failures an hour. */
  account: ThrottleRule;
  /** Per client address (IPv6 by /64). */
  address: ThrottleRule;
}

export type ThrottleVerdict = { ok: true } | { ok: false; retryAfterSeconds: number };

/**
 * Login throttling with fixed-window counters in the database, so that every instance on one
 * PostgreSQL shares them. An attempt is counted *before* the password is checked — the
 * increment is one atomic upsert, so parallel attempts cannot slip past the limit or lose
 * updates — and a successful login gives its attempt back.
 */
export class LoginThrottle {
  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly rules: ThrottleRules,
  ) {}

  /** The longer of the two windows: refused attempts are audited once per key per this long. */
  get windowMs(): number {
    return Math.max(this.rules.account.windowMs, this.rules.address.windowMs);
  }

  /**
   * Counts one attempt for this username and address; refuses when either is over. A null
   * username (one that can name no account, such as an over-long one) counts for the address only.
   */
  async attempt(username: string | null, address: string): Promise<ThrottleVerdict> {
    const now = this.clock();
    const checks = [
      ...(username === null ? [] : [{ key: accountKey(username), rule: this.rules.account }]),
      { key: addressKey(address), rule: this.rules.address },
    ];
    let retryAfterMs = 0;
    for (const { key, rule } of checks) {
      const row = await this.#increment(key, rule, now);
      if (row.count > rule.max) retryAfterMs = Math.max(retryAfterMs, row.reset_at - now);
    }
    return retryAfterMs > 0
      ? { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) }
      : { ok: true };
  }

  /**
   * Whether an attempt now would be refused, without counting one: for a credential verified
   * earlier (HTTP Basic's remembered header), which must not answer 200 where a fresh check
   * of the same password would get 429 (SECURITY B3).
   */
  async check(username: string, address: string): Promise<ThrottleVerdict> {
    const now = this.clock();
    const rules = new Map([
      [accountKey(username), this.rules.account],
      [addressKey(address), this.rules.address],
    ]);
    const rows = await this.database.db
      .selectFrom('throttle')
      .select(['key', 'count', 'reset_at'])
      .where('key', 'in', [...rules.keys()])
      .where('reset_at', '>', now)
      .execute();
    let retryAfterMs = 0;
    for (const row of rows) {
      const rule = rules.get(row.key);
      // The next counted attempt would make it count + 1: refused once that passes the max.
      if (rule && row.count >= rule.max) retryAfterMs = Math.max(retryAfterMs, row.reset_at - now);
    }
    return retryAfterMs > 0
      ? { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) }
      : { ok: true };
  }

  /**
   * After a successful login: the account's failures are forgiven, the address's attempt
   * returned. Pass the username of the account that signed in, not what was typed: the key is
   * the account's canonical name, unique to it (item 3), so a success forgives only failures
   * counted against that very account — never another spelling's.
   */
  async succeeded(username: string, address: string): Promise<void> {
    await this.database.db.deleteFrom('throttle').where('key', '=', accountKey(username)).execute();
    await this.database.db
      .updateTable('throttle')
      .set((eb) => ({ count: eb('count', '-', 1) }))
      .where('key', '=', addressKey(address))
      .where('count', '>', 0)
      .execute();
  }

  /** Forgets counters whose window has ended; returns how many. */
  async deleteExpired(): Promise<number> {
    const result = await this.database.db
      .deleteFrom('throttle')
      .where('reset_at', '<=', this.clock())
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async #increment(key: string, rule: ThrottleRule, now: number): Promise<{ count: number; reset_at: number }> {
    return this.database.db
      .insertInto('throttle')
      .values({ key, count: 1, reset_at: now + rule.windowMs })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet((eb) => ({
          // A window that has ended starts afresh with this attempt.
          count: eb
            .case()
            .when('throttle.reset_at', '<=', now)
            .then(1)
            .else(eb('throttle.count', '+', 1))
            .end(),
          reset_at: eb
            .case()
            .when('throttle.reset_at', '<=', now)
            .then(now + rule.windowMs)
            .else(eb.ref('throttle.reset_at'))
            .end(),
        })),
      )
      .returning(['count', 'reset_at'])
      .executeTakeFirstOrThrow();
  }
}

/** Longer canonical names than this can be no account's (usernames are at most 150 characters). */
const KEY_MAX = 150;

/**
 * An account is keyed by its username's canonical form (NFKC, case-folded: the identity rule
 * of item 9), so `DAVE`, `dave` and `ｄａｖｅ` share one counter, as they name one account
 * (item 3). A name too long to be anyone's is keyed by its SHA-256, so an index row stays
 * small whatever is submitted (PostgreSQL refuses btree rows over ~2.7 kB; item 7).
 */
export function accountKey(username: string): string {
  const canonical = canonicalUsername(username);
  if (canonical.length <= KEY_MAX) return `account:${canonical}`;
  return `account-sha256:${createHash('sha256').update(canonical).digest('base64url')}`;
}

/**
 * IPv6 clients usually hold a whole /64, so an address key covers the /64 — otherwise one
 * client could rotate through 2^64 addresses (better-auth CVE-2026-45364; SECURITY B4).
 */
export function addressKey(address: string): string {
  // Hex digits have two cases; `::FFFF:` is as much a mapped IPv4 address as `::ffff:`.
  const lower = address.toLowerCase();
  const v4 = lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice(7) : lower;
  if (!v4.includes(':')) return `address:${v4}`;
  return `address:${ipv6Prefix64(v4)}::/64`;
}

function ipv6Prefix64(address: string): string {
  const withoutZone = address.split('%')[0] ?? address;
  const [head = '', tail = ''] = withoutZone.split('::');
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === '' ? [] : tail.split(':');
  // A dotted IPv4 tail (`::1:2:192.0.2.1`) stands for two groups.
  const tailGroups = tailParts.reduce((n, part) => n + (part.includes('.') ? 2 : 1), 0);
  const missing = withoutZone.includes('::') ? 8 - headParts.length - tailGroups : 0;
  const groups = [...headParts, ...Array<string>(Math.max(0, missing)).fill('0'), ...tailParts];
  return groups
    .slice(0, 4)
    .map((g) => (Number.parseInt(g || '0', 16) || 0).toString(16))
    .join(':');
}
