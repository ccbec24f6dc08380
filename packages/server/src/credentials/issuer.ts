import type { AuditLog } from '../audit/audit-log.js';
import type { Sealer } from '../crypto/seal.js';
import { digestSecret } from '../crypto/secrets.js';
import type { Actor } from '../users/users.js';
import type { CredentialInfo, CredentialStore } from './credential-store.js';
import { displayPrefix, newApiKey, newApiSecret, newConjurApiKey, newDrfKey, newPersonalToken } from './formats.js';
import type { RevocationEvents } from './revocation-events.js';

/** DRF token policy: one recoverable token per user (the seed's way) or one per login (knox). */
export type DrfTokenMode = 'per-user' | 'per-login';

export interface PersonalTokenRequest {
  userId: number;
  name: string;
  expiresAt: number | null;
  scopes: string[] | null;
}

/**
 * Makes the opaque credentials. Every secret is stored as a digest; a sealed copy is kept
 * only for DRF's per-user token, because DRF login must return the same token again
 * (DESIGN "drf"). Each issue and revocation is audited, without the secret.
 */
export class CredentialIssuer {
  constructor(
    private readonly credentials: CredentialStore,
    private readonly sealer: Sealer,
    private readonly audit: AuditLog,
    private readonly drfMode: DrfTokenMode,
    private readonly events: RevocationEvents,
  ) {}

  /**
   * The user's DRF token. Per-user: the existing one if any, else a new one — two first
   * logins at once converge on one row through the unique index (DRF #2012's race).
   * Per-login: always a new one.
   */
  async drfToken(userId: number, actor: Actor): Promise<string> {
    const key = newDrfKey();
    if (this.drfMode === 'per-login') {
      const info = await this.credentials.insert({
        kind: 'drf-login',
        userId,
        lookup: digestSecret(key),
        prefix: key.slice(0, 6),
      });
      await this.#issued(info.id, 'drf-login', userId, actor);
      return key;
    }
    return this.#sealedOnePerUser('drf', userId, key, drfContext(userId), null, actor);
  }

  /**
   * Frappe's generate_keys: the api key is made once and never changes; every call replaces
   * the secret, and the old secret stops working in the same statement.
   */
  async generateApiKeys(userId: number, actor: Actor): Promise<{ apiKey: string; apiSecret: string }> {
    const apiSecret = newApiSecret();
    const candidate = newApiKey();
    const { id, lookup, created } = await this.credentials.upsertSecret({
      kind: 'api-key',
      userId,
      lookup: candidate,
      // The api key is public, like a username: listings may show it whole.
      prefix: candidate,
      secretDigest: digestSecret(apiSecret),
      name: 'api key',
    });
    // The old secret stops working at once: forget what was remembered of it.
    if (!created) this.events.credentialRevoked(id);
    await this.audit.record(created ? 'credential.created' : 'credential.rotated', {
      ...actor,
      subjectId: userId,
      detail: { kind: 'api-key', api_key: lookup },
    });
    return { apiKey: lookup, apiSecret };
  }

  /** The user's Conjur API key: the same one at every login until it is rotated. */
  async conjurApiKey(userId: number, actor: Actor): Promise<string> {
    return this.#sealedOnePerUser('conjur', userId, newConjurApiKey(), conjurContext(userId), 'conjur api key', actor);
  }

  /**
   * The user's one credential of a kind that must be handed out again: `secret` is stored
   * (digest + sealed copy) if the user has none yet; otherwise the standing one is unsealed.
   * Racing callers converge on one row through the partial unique index.
   */
  async #sealedOnePerUser(
    kind: 'drf' | 'conjur',
    userId: number,
    secret: string,
    context: string,
    name: string | null,
    actor: Actor,
  ): Promise<string> {
    const standing = await this.credentials.insertOnePerUser({
      kind,
      userId,
      lookup: digestSecret(secret),
      sealed: this.sealer.seal(secret, context),
      name,
      prefix: secret.slice(0, 6),
    });
    if (standing.created) {
      await this.audit.record('credential.created', { ...actor, subjectId: userId, detail: { kind } });
      return secret;
    }
    if (standing.sealed === null) throw new Error(`a ${kind} credential has no sealed copy`);
    return this.sealer.unseal(standing.sealed, context);
  }

  /** Replaces the user's Conjur API key; the old one stops working at once (SECURITY E8). */
  async rotateConjurApiKey(userId: number, actor: Actor): Promise<string> {
    const key = newConjurApiKey();
    const id = await this.credentials.replaceOnePerUser({
      kind: 'conjur',
      userId,
      lookup: digestSecret(key),
      sealed: this.sealer.seal(key, conjurContext(userId)),
      name: 'conjur api key',
      prefix: key.slice(0, 6),
    });
    this.events.credentialRevoked(id);
    await this.audit.record('credential.rotated', {
      ...actor,
      subjectId: userId,
      detail: { kind: 'conjur', credential_id: id },
    });
    return key;
  }

  /** A native personal token, shown once. */
  async personalToken(request: PersonalTokenRequest, actor: Actor): Promise<{ token: string; info: CredentialInfo }> {
    const token = newPersonalToken();
    const info = await this.credentials.insert({
      kind: 'personal',
      userId: request.userId,
      lookup: digestSecret(token),
      name: request.name,
      prefix: displayPrefix(token),
      scopes: request.scopes,
      expiresAt: request.expiresAt,
    });
    await this.#issued(info.id, 'personal', request.userId, actor, { name: request.name, scopes: request.scopes });
    return { token, info };
  }

  /** Deletes a credential; true when it existed. */
  async revoke(info: CredentialInfo, actor: Actor): Promise<boolean> {
    const deleted = await this.credentials.delete(info.id);
    this.events.credentialRevoked(info.id);
    if (deleted) {
      await this.audit.record('credential.revoked', {
        ...actor,
        subjectId: info.userId,
        detail: { kind: info.kind, credential_id: info.id },
      });
    }
    return deleted;
  }

  async #issued(id: number, kind: string, userId: number, actor: Actor, extra: Record<string, unknown> = {}) {
    await this.audit.record('credential.created', {
      ...actor,
      subjectId: userId,
      detail: { kind, credential_id: id, ...extra },
    });
  }
}

/** Binds a sealed Conjur API key to its user. */
function conjurContext(userId: number): string {
  return `conjur-api-key:${userId}`;
}

/** Binds a sealed DRF token to its user: a sealed value copied to another row will not open. */
function drfContext(userId: number): string {
  return `drf-token:${userId}`;
}
