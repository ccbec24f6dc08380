/**
 * Remembers signed tokens that verified, until they expire: Ed25519 verification is the
 * costly part of the hot path, and a client sends one token many times (issue 4). Bounded:
 * past `maxEntries` the oldest entry goes. Entries carry when their revocation state was
 * last confirmed, so the caller can re-check the database at most once a second — which is
 * how a revocation reaches every instance within a second without a message bus.
 */
export class VerifiedCache<T> {
  readonly #entries = new Map<string, { value: T; expiresAt: number; checkedAt: number }>();
  #generation = 0;

  constructor(private readonly maxEntries: number) {}

  get(token: string, now: number): { value: T; checkedAt: number } | undefined {
    const entry = this.#entries.get(token);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.#entries.delete(token);
      return undefined;
    }
    return entry;
  }

  /**
   * Bumped by every {@link forget}. A caller reads it before checking the database and
   * passes it to {@link set}: a revocation that lands during the check then keeps the
   * entry out, instead of the check caching a token that was revoked meanwhile.
   */
  get generation(): number {
    return this.#generation;
  }

  set(token: string, value: T, expiresAt: number, checkedAt: number, generation = this.#generation): void {
    if (this.maxEntries <= 0 || generation !== this.#generation) return;
    this.#entries.delete(token);
    if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(token, { value, expiresAt, checkedAt });
  }

  /** Records a fresh confirmation (and the re-read value) without extending the expiry. */
  refresh(token: string, value: T, checkedAt: number, generation = this.#generation): void {
    const entry = this.#entries.get(token);
    if (generation !== this.#generation) {
      this.#entries.delete(token);
    } else if (entry) {
      entry.value = value;
      entry.checkedAt = checkedAt;
    }
  }

  delete(token: string): void {
    this.#entries.delete(token);
  }

  /** Forgets every entry the predicate picks (a revoked credential's tokens, a user's). */
  forget(predicate: (value: T) => boolean): void {
    this.#generation++;
    for (const [token, entry] of this.#entries) if (predicate(entry.value)) this.#entries.delete(token);
  }

  get size(): number {
    return this.#entries.size;
  }
}
