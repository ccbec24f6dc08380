import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { sql } from 'kysely';
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import type { RevocationEvents } from '../credentials/revocation-events.js';
import type { Sealer } from '../crypto/seal.js';
import type { Database } from '../store/database.js';

/** One Ed25519 key of the keyring. */
export interface SigningKey {
  /** Hex SHA-256 of the public key's SubjectPublicKeyInfo DER: the `kid` and Conjur's `key`. */
  fingerprint: string;
  publicKey: KeyObject;
  privateKey: KeyObject;
  createdAt: number;
  /** When a newer key took over signing; null for the current key. */
  rotatedAt: number | null;
  /** When the last token this key may have signed expires; then the key leaves the keyring. */
  retireAfter: number | null;
}

export interface KeyringOptions {
  /** A current key older than this is replaced at the next check (0: never automatically). */
  rotationMs: number;
  /** The longest any signed token lives, plus allowed clock skew: how long a rotated key still verifies. */
  verifyWindowMs: number;
}

/** How often an instance re-reads the shared keyring, to see rotations made elsewhere. */
const REFRESH_MS = 60_000;
/** An unknown key id reloads the keyring at most this often, so junk `kid`s cannot hammer the database. */
const MISS_RELOAD_MS = 1_000;

/**
 * The Ed25519 signing keys for Conjur tokens and JWTs, kept in the database so that every
 * instance shares them; each private key is sealed under the master key. The newest
 * unrotated key signs. A rotated key keeps verifying until every token it could have signed
 * has expired, then it is deleted — from the database, the keyring and the JWKS (SECURITY F8).
 * A key is stored before it is first used (SECURITY I3).
 */
export class Keyring {
  #keys = new Map<string, SigningKey>();
  #current: SigningKey | undefined;
  #lastMissReload = 0;
  /** Loads started and the latest one applied: an older read finishing late must not win. */
  #loadsStarted = 0;
  #loadApplied = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly database: Database,
    private readonly sealer: Sealer,
    private readonly clock: Clock,
    private readonly options: KeyringOptions,
    private readonly audit: AuditLog,
    private readonly events: RevocationEvents,
  ) {
    // Another instance rotated: sign with its new key now rather than at the next refresh.
    events.onChange((notice) => notice.type === 'keyring' && void this.load().catch(() => undefined));
  }

  /** Loads the keyring, making the first key or rotating a stale one. Call once at start. */
  async start(): Promise<void> {
    await this.#check();
    this.#timer = setInterval(() => void this.#check().catch(() => undefined), REFRESH_MS);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  /** The key that signs now. */
  get current(): SigningKey {
    if (!this.#current) throw new Error('the keyring is not loaded: call start() first');
    return this.#current;
  }

  /** Every key that still verifies, newest first. */
  get keys(): SigningKey[] {
    return [...this.#keys.values()].sort((a, b) => b.createdAt - a.createdAt);
  }

  /**
   * The key with this fingerprint if it still verifies. A miss re-reads the shared keyring
   * (another instance may have rotated), at most once a second; `kid` only ever selects
   * from this local set (SECURITY F3).
   */
  async find(fingerprint: string): Promise<SigningKey | undefined> {
    const key = this.#usable(this.#keys.get(fingerprint));
    if (key || !/^[0-9a-f]{64}$/.test(fingerprint)) return key;
    const now = this.clock();
    if (now - this.#lastMissReload < MISS_RELOAD_MS) return undefined;
    this.#lastMissReload = now;
    await this.load();
    return this.#usable(this.#keys.get(fingerprint));
  }

  /** Makes a new current key; the previous ones verify until their tokens have expired. */
  async rotate(): Promise<SigningKey> {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    const fingerprint = createHash('sha256').update(spki).digest('hex');
    const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64');
    const now = this.clock();
    await this.database.db.transaction().execute(async (trx) => {
      // Under READ COMMITTED two rotations each retire the keys they saw and both insert, leaving
      // two current keys (SECURITY I1 "one winner"); the lock queues them. SQLite's BEGIN IMMEDIATE
      // already does.
      if (this.database.kind === 'postgres') await sql`lock table signing_keys in exclusive mode`.execute(trx);
      await trx
        .updateTable('signing_keys')
        .set({ rotated_at: now, retire_after: now + this.options.verifyWindowMs })
        .where('rotated_at', 'is', null)
        .execute();
      await trx
        .insertInto('signing_keys')
        .values({
          fingerprint,
          public_key: spki.toString('base64'),
          private_sealed: this.sealer.seal(pkcs8, sealContext(fingerprint)),
          created_at: now,
        })
        .execute();
    });
    await this.load();
    this.events.keyringChanged();
    await this.audit.record('signing_key.created', { detail: { fingerprint } });
    return this.current;
  }

  /** Re-reads the keyring from the database, deleting keys past their retirement. */
  async load(): Promise<void> {
    const started = ++this.#loadsStarted;
    const now = this.clock();
    await this.database.db.deleteFrom('signing_keys').where('retire_after', '<=', now).execute();
    const rows = await this.database.db.selectFrom('signing_keys').selectAll().orderBy('created_at', 'desc').execute();
    const keys = new Map<string, SigningKey>();
    for (const row of rows) {
      const known = this.#keys.get(row.fingerprint);
      keys.set(row.fingerprint, {
        fingerprint: row.fingerprint,
        publicKey:
          known?.publicKey ??
          createPublicKey({ key: Buffer.from(row.public_key, 'base64'), format: 'der', type: 'spki' }),
        privateKey:
          known?.privateKey ??
          createPrivateKey({
            key: Buffer.from(this.sealer.unseal(row.private_sealed, sealContext(row.fingerprint)), 'base64'),
            format: 'der',
            type: 'pkcs8',
          }),
        createdAt: row.created_at,
        rotatedAt: row.rotated_at,
        retireAfter: row.retire_after,
      });
    }
    // Reads on a pool may finish out of order: only the newest view of the keyring counts.
    if (started < this.#loadApplied) return;
    this.#loadApplied = started;
    this.#keys = keys;
    // Two instances rotating at once may both leave an unrotated key: the newest signs.
    this.#current = [...keys.values()].find((k) => k.rotatedAt === null);
  }

  /** The public keys that still verify, as a JWK Set (RFC 7517): public members only. */
  jwks(): { keys: Array<Record<string, string>> } {
    return {
      keys: this.keys
        .filter((k) => this.#usable(k))
        .map((k) => {
          const jwk = k.publicKey.export({ format: 'jwk' });
          return { kty: 'OKP', crv: 'Ed25519', x: String(jwk.x), kid: k.fingerprint, alg: 'EdDSA', use: 'sig' };
        }),
    };
  }

  async #check(): Promise<void> {
    await this.load();
    const current = this.#current;
    const stale = current && this.options.rotationMs > 0 && this.clock() - current.createdAt >= this.options.rotationMs;
    if (!current || stale) await this.rotate();
  }

  #usable(key: SigningKey | undefined): SigningKey | undefined {
    return key && (key.retireAfter === null || key.retireAfter > this.clock()) ? key : undefined;
  }
}

/** Binds a sealed private key to its fingerprint, so rows cannot be swapped. */
function sealContext(fingerprint: string): string {
  return `signing-key:${fingerprint}`;
}
