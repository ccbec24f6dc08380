/** A token that stops being valid at `expiresAt` (epoch ms). */
export interface Expiring {
  expiresAt: number;
}

/**
 * Holds one short-lived token and fetches the next when less than `marginMs` of it remains.
 * Concurrent callers share one fetch in flight; a failed fetch is not cached.
 */
export class TokenCache<T extends Expiring> {
  #current: T | undefined;
  #pending: Promise<T> | undefined;
  readonly #fetch: () => Promise<T>;
  readonly #now: () => number;
  readonly #marginMs: number;

  constructor(fetchToken: () => Promise<T>, now: () => number, marginMs: number) {
    this.#fetch = fetchToken;
    this.#now = now;
    this.#marginMs = marginMs;
  }

  get(): Promise<T> {
    const current = this.#current;
    if (current !== undefined && this.#now() < current.expiresAt - this.#marginMs) return Promise.resolve(current);
    this.#pending ??= this.#fetch().then(
      (token) => {
        this.#current = token;
        this.#pending = undefined;
        return token;
      },
      (error: unknown) => {
        this.#pending = undefined;
        throw error;
      },
    );
    return this.#pending;
  }

  /** Forgets the current token, so the next `get()` fetches one. */
  clear(): void {
    this.#current = undefined;
  }
}
