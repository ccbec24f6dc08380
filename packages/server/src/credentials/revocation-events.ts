/**
 * In-process notice that credentials or users changed, so caches of verified tokens can
 * forget at once on this instance. Other instances learn within a second by re-checking the
 * database (see {@link VerifiedCache}); this only makes the local case immediate.
 */
export class RevocationEvents {
  readonly #credentialListeners: Array<(credentialId: number) => void> = [];
  readonly #userListeners: Array<(userId: number) => void> = [];

  onCredentialRevoked(listener: (credentialId: number) => void): void {
    this.#credentialListeners.push(listener);
  }

  onUserChanged(listener: (userId: number) => void): void {
    this.#userListeners.push(listener);
  }

  credentialRevoked(credentialId: number): void {
    for (const listener of this.#credentialListeners) listener(credentialId);
  }

  /** A user was deactivated, deleted, or had their password or roles changed. */
  userChanged(userId: number): void {
    for (const listener of this.#userListeners) listener(userId);
  }
}
