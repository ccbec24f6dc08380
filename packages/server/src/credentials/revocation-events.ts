/** A change that caches of verified credentials must hear of. */
export type ChangeNotice =
  | { type: 'credential'; id: number }
  | { type: 'user'; id: number }
  | { type: 'jti'; jti: string }
  | { type: 'keyring' };

/**
 * Notice that credentials, users or signing keys changed, so caches of verified tokens
 * forget at once. A change made here reaches this instance's listeners synchronously and is
 * handed to the relay (on PostgreSQL, {@link PostgresChangeFeed}) for the other instances,
 * which {@link deliver} it to theirs. Caches also re-check the database at least once a
 * second, so a notice lost with a dropped connection costs at most that second.
 */
export class RevocationEvents {
  readonly #listeners: Array<(notice: ChangeNotice) => void> = [];
  #relay: ((notice: ChangeNotice) => void) | undefined;

  onChange(listener: (notice: ChangeNotice) => void): void {
    this.#listeners.push(listener);
  }

  onCredentialRevoked(listener: (credentialId: number) => void): void {
    this.onChange((notice) => notice.type === 'credential' && listener(notice.id));
  }

  onUserChanged(listener: (userId: number) => void): void {
    this.onChange((notice) => notice.type === 'user' && listener(notice.id));
  }

  /** Sends every change made on this instance on to the others as well. */
  relayTo(relay: (notice: ChangeNotice) => void): void {
    this.#relay = relay;
  }

  credentialRevoked(credentialId: number): void {
    this.#emit({ type: 'credential', id: credentialId });
  }

  /** A user was deactivated, deleted, or had their password or roles changed. */
  userChanged(userId: number): void {
    this.#emit({ type: 'user', id: userId });
  }

  /** A signed token's `jti` was put on the deny-list. */
  jtiDenied(jti: string): void {
    this.#emit({ type: 'jti', jti });
  }

  /** A signing key was made, rotated or retired. */
  keyringChanged(): void {
    this.#emit({ type: 'keyring' });
  }

  /** A change another instance made: tell the listeners here, relay it no further. */
  deliver(notice: ChangeNotice): void {
    for (const listener of this.#listeners) listener(notice);
  }

  #emit(notice: ChangeNotice): void {
    this.deliver(notice);
    this.#relay?.(notice);
  }
}
