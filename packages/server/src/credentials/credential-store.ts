import { CompiledQuery, sql } from 'kysely';
import type { Clock } from '../clock.js';
import { VerifiedCache } from '../signing/verified-cache.js';
import type { Database } from '../store/database.js';
import type { CredentialsTable } from '../store/schema.js';
import { USER_COLUMNS, type User, userFromRow } from '../users/user.js';
import type { RevocationEvents } from './revocation-events.js';

/**
 * The kinds of rows in the credentials table. `drf` is DRF's one token per user (sealed so
 * login can hand it out again); `drf-login` a knox-style token per login; `api-key` a Frappe
 * key/secret pair (one per user); `personal` a native token made under `/v1/credentials`;
 * `conjur` a Conjur API key (one per user, sealed so login can hand it out again).
 */
export type CredentialKind = 'session' | 'drf' | 'drf-login' | 'api-key' | 'personal' | 'conjur';

/** A credential as listings show it: never the secret, its digest or its sealed copy. */
export interface CredentialInfo {
  id: number;
  kind: string;
  userId: number;
  name: string | null;
  prefix: string | null;
  scopes: string[] | null;
  createdAt: number;
  lastUsedAt: number | null;
  expiresAt: number | null;
}

/** A credential found by its lookup value, with what verification needs. */
export interface FoundCredential {
  info: CredentialInfo;
  user: User;
  secretDigest: string | null;
  sealed: string | null;
}

export interface NewCredential {
  kind: CredentialKind;
  userId: number;
  lookup: string;
  secretDigest?: string | null;
  sealed?: string | null;
  name?: string | null;
  prefix?: string | null;
  scopes?: string[] | null;
  expiresAt?: number | null;
}

/** How long a credential read from the database is answered from memory. */
export const RECENT_MS = 1_000;

/** `last_used_at` moves at most once a minute per credential: no write per request. */
export const TOUCH_INTERVAL_MS = 60_000;

type Row = Pick<
  CredentialsTable,
  'kind' | 'user_id' | 'name' | 'prefix' | 'scopes' | 'created_at' | 'last_used_at' | 'expires_at'
> & { id: number };

/** Storage of the opaque credential kinds in DESIGN's single credentials table. */
export class CredentialStore {
  readonly #recent: VerifiedCache<FoundCredential>;
  /**
   * The lookup query, built and compiled by Kysely once: on a cache miss (every request of an
   * unknown token, or with the cache off) building it cost more than SQLite's index lookup.
   */
  readonly #findQuery: { sql: string; order: ('kind' | 'lookup')[] };

  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
    events: RevocationEvents,
    cacheEntries = 100_000,
  ) {
    this.#recent = new VerifiedCache(cacheEntries);
    this.#findQuery = compileFindQuery(database);
    events.onCredentialRevoked((id) => this.#recent.forget((found) => found.info.id === id));
    events.onUserChanged((id) => this.#recent.forget((found) => found.user.id === id));
  }

  /**
   * The credential whose lookup value this is, if it exists, is not revoked and has not
   * expired (`expires_at <= now` is expired; SECURITY E6). Its user is returned whatever
   * their active flag, so schemes can say "inactive" in their dialect's words.
   */
  async find(kind: CredentialKind, lookup: string): Promise<FoundCredential | undefined> {
    // A credential read in the last second is answered from memory: the hot path then costs
    // no query. Changes made here reach this cache at once (revocation events); changes made
    // by another instance within RECENT_MS — DESIGN's bound for revocation across instances.
    const now = this.clock();
    const key = `${kind}\u0000${lookup}`;
    const recent = this.#recent.get(key, now);
    if (recent) {
      const { expiresAt } = recent.value.info;
      return expiresAt !== null && expiresAt <= now ? undefined : recent.value;
    }
    const generation = this.#recent.generation;
    const row = await this.#findRow(kind, lookup);
    if (!row || row.revoked_at !== null) return undefined;
    if (row.expires_at !== null && row.expires_at <= now) return undefined;
    const info = infoFromRow({ ...row, id: row.credential_id, created_at: row.credential_created_at });
    const found = { info, user: userFromRow(row), secretDigest: row.secret_digest, sealed: row.sealed };
    this.#recent.set(key, found, now + RECENT_MS, now, generation);
    return found;
  }

  async #findRow(kind: CredentialKind, lookup: string): Promise<FindRow | undefined> {
    const { sql, order } = this.#findQuery;
    const parameters = order.map((name) => (name === 'kind' ? kind : lookup));
    const result = await this.database.db.executeQuery<FindRow>(CompiledQuery.raw(sql, parameters));
    return result.rows[0];
  }

  /** Records use, at most once a minute per credential. */
  async touch(info: CredentialInfo): Promise<void> {
    const now = this.clock();
    if (info.lastUsedAt !== null && now - info.lastUsedAt < TOUCH_INTERVAL_MS) return;
    // Recorded on the (possibly remembered) object too, so the next call does not write again.
    info.lastUsedAt = now;
    await this.database.db.updateTable('credentials').set({ last_used_at: now }).where('id', '=', info.id).execute();
  }

  async insert(credential: NewCredential): Promise<CredentialInfo> {
    const row = await this.database.db
      .insertInto('credentials')
      .values(this.#values(credential))
      .returning(['id', 'kind', 'user_id', 'name', 'prefix', 'scopes', 'created_at', 'last_used_at', 'expires_at'])
      .executeTakeFirstOrThrow();
    return infoFromRow(row);
  }

  /**
   * Inserts unless the user already has a credential of this one-per-user kind (the partial
   * unique index decides, so racing callers converge); returns the row that stands.
   */
  async insertOnePerUser(
    credential: NewCredential,
  ): Promise<{ created: boolean; lookup: string; sealed: string | null }> {
    // The standing row can be deleted (a logout) between the insert that yields to it and
    // the read of it; then insert again rather than fail.
    for (let attempt = 1; ; attempt++) {
      const inserted = await this.database.db
        .insertInto('credentials')
        .values(this.#values(credential))
        .onConflict((oc) => oc.column('user_id').where('kind', '=', onePerUserPredicate(credential.kind)).doNothing())
        .returning(['lookup', 'sealed'])
        .executeTakeFirst();
      if (inserted) return { created: true, ...inserted };
      const existing = await this.database.db
        .selectFrom('credentials')
        .select(['lookup', 'sealed'])
        .where('user_id', '=', credential.userId)
        .where('kind', '=', credential.kind)
        .executeTakeFirst();
      if (existing) return { created: false, ...existing };
      if (attempt >= 5)
        throw new Error(`the ${credential.kind} credential of user ${credential.userId} keeps vanishing`);
    }
  }

  /**
   * Creates the user's one credential of this kind, or replaces only its secret if it
   * exists: the lookup (a Frappe api key) never changes, and the old secret stops working
   * in the same statement. Concurrent callers each get a consistent pair; the last wins.
   */
  async upsertSecret(
    credential: NewCredential & { secretDigest: string },
  ): Promise<{ id: number; lookup: string; created: boolean }> {
    const now = this.clock();
    const row = await this.database.db
      .insertInto('credentials')
      .values(this.#values(credential))
      .onConflict((oc) =>
        oc
          .column('user_id')
          .where('kind', '=', onePerUserPredicate(credential.kind))
          .doUpdateSet({ secret_digest: credential.secretDigest, created_at: now, last_used_at: null }),
      )
      .returning(['id', 'lookup', 'created_at'])
      .executeTakeFirstOrThrow();
    return { id: row.id, lookup: row.lookup, created: row.lookup === credential.lookup };
  }

  /**
   * Makes the user's one credential of this kind, or replaces it whole — lookup, digest and
   * sealed copy in one statement, so the old secret stops working at once (Conjur's API key
   * rotation). Returns the credential's id.
   */
  async replaceOnePerUser(credential: NewCredential): Promise<number> {
    const values = this.#values(credential);
    const row = await this.database.db
      .insertInto('credentials')
      .values(values)
      .onConflict((oc) =>
        oc.column('user_id').where('kind', '=', onePerUserPredicate(credential.kind)).doUpdateSet({
          lookup: values.lookup,
          secret_digest: values.secret_digest,
          sealed: values.sealed,
          prefix: values.prefix,
          created_at: values.created_at,
          last_used_at: null,
        }),
      )
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async listForUser(userId: number, kinds?: readonly CredentialKind[]): Promise<CredentialInfo[]> {
    let query = this.database.db
      .selectFrom('credentials')
      .select(['id', 'kind', 'user_id', 'name', 'prefix', 'scopes', 'created_at', 'last_used_at', 'expires_at'])
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .orderBy('id');
    if (kinds) query = query.where('kind', 'in', kinds);
    const now = this.clock();
    return (await query.execute()).filter((r) => r.expires_at === null || r.expires_at > now).map(infoFromRow);
  }

  async findInfo(id: number): Promise<CredentialInfo | undefined> {
    const row = await this.database.db
      .selectFrom('credentials')
      .select(['id', 'kind', 'user_id', 'name', 'prefix', 'scopes', 'created_at', 'last_used_at', 'expires_at'])
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return row && infoFromRow(row);
  }

  /** Deletes one credential; true when it existed. */
  async delete(id: number): Promise<boolean> {
    const result = await this.database.db.deleteFrom('credentials').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Deletes every credential of the given kinds a user holds; returns how many. */
  async deleteForUser(userId: number, kinds: readonly CredentialKind[]): Promise<number> {
    const result = await this.database.db
      .deleteFrom('credentials')
      .where('user_id', '=', userId)
      .where('kind', 'in', kinds)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  #values(credential: NewCredential) {
    return {
      kind: credential.kind,
      user_id: credential.userId,
      lookup: credential.lookup,
      secret_digest: credential.secretDigest ?? null,
      sealed: credential.sealed ?? null,
      name: credential.name ?? null,
      prefix: credential.prefix ?? null,
      scopes: credential.scopes ? JSON.stringify(credential.scopes) : null,
      created_at: this.clock(),
      expires_at: credential.expiresAt ?? null,
    };
  }
}

/**
 * The kind as a literal: the conflict target must repeat the partial index's predicate, and
 * SQLite only matches it written out, not as a bound parameter.
 */
function onePerUserPredicate(kind: CredentialKind) {
  return sql.lit(kind);
}

/** Stand-ins for the two parameters, found again in the compiled parameter list. */
const KIND_SLOT = '\u0000kind';
const LOOKUP_SLOT = '\u0000lookup';

function findQueryBuilder(database: Database, kind: string, lookup: string) {
  return database.db
    .selectFrom('credentials as c')
    .innerJoin('users as u', 'u.id', 'c.user_id')
    .select([
      'c.id as credential_id',
      'c.kind',
      'c.user_id',
      'c.name',
      'c.prefix',
      'c.scopes',
      'c.created_at as credential_created_at',
      'c.last_used_at',
      'c.expires_at',
      'c.revoked_at',
      'c.secret_digest',
      'c.sealed',
      ...USER_COLUMNS,
    ])
    .where('c.kind', '=', kind as CredentialKind)
    .where('c.lookup', '=', lookup);
}

type FindRow = Awaited<ReturnType<ReturnType<typeof findQueryBuilder>['executeTakeFirstOrThrow']>>;

/** The lookup's SQL, and which parameter goes where (the dialect decides the order). */
function compileFindQuery(database: Database): { sql: string; order: ('kind' | 'lookup')[] } {
  const compiled = findQueryBuilder(database, KIND_SLOT, LOOKUP_SLOT).compile();
  const order = compiled.parameters.map((value) => {
    if (value === KIND_SLOT) return 'kind' as const;
    if (value === LOOKUP_SLOT) return 'lookup' as const;
    throw new Error(`the credential lookup query has an unexpected parameter: ${String(value)}`);
  });
  return { sql: compiled.sql, order };
}

function infoFromRow(row: Row): CredentialInfo {
  return {
    id: row.id,
    kind: row.kind,
    userId: row.user_id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes === null ? null : (JSON.parse(row.scopes) as string[]),
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
  };
}
