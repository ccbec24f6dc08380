import type { Generated } from 'kysely';

/**
 * The database schema as Kysely sees it. Times are integer milliseconds since the epoch in
 * both databases (PostgreSQL `bigint`, parsed to numbers), so code never juggles time zones.
 * Flags are 0/1 integers, which both databases store the same way.
 */
export interface Schema {
  users: UsersTable;
  credentials: CredentialsTable;
  audit_log: AuditLogTable;
  throttle: ThrottleTable;
  signing_keys: SigningKeysTable;
  revoked_jtis: RevokedJtisTable;
  meta: MetaTable;
}

export interface UsersTable {
  id: Generated<number>;
  /** NFC-normalised, as the user spelled it (for display); unique. */
  username: string;
  /** The identity: NFKC and case-folded (`canonicalUsername`); unique, what logins look up. */
  username_key: string;
  /** UTS #39 skeleton of `username_key`; a new name may not share an existing one's. */
  username_skeleton: string;
  email: string | null;
  is_active: number;
  /** JSON array of role names, e.g. `["admin"]`. */
  roles: string;
  /** PHC string (argon2id) or an importable legacy hash; null means password login is off. */
  password_hash: string | null;
  created_at: number;
  updated_at: number;
  last_login_at: number | null;
  /**
   * Signed tokens (JWT, Conjur) issued before this instant are refused: set at creation,
   * moved on deactivation, password change and "sign out everywhere" (migration 005).
   */
  credentials_valid_after: Generated<number>;
}

/**
 * DESIGN's single table for every secret a user holds. `lookup` is what a presented
 * credential is found by: the SHA-256 digest of the secret for single-part credentials
 * (sessions, tokens), or the public half (an api key) of a key/secret pair, whose secret's
 * digest is then in `secret_digest`. No column ever holds a usable secret; `sealed` holds an
 * AES-GCM copy only for dialects that must hand the same secret out again.
 */
export interface CredentialsTable {
  id: Generated<number>;
  kind: string;
  user_id: number;
  lookup: string;
  secret_digest: string | null;
  sealed: string | null;
  name: string | null;
  /** The first characters of a token, shown in listings so its owner can tell tokens apart. */
  prefix: string | null;
  /** JSON array of scopes, or null for the owner's full authority. */
  scopes: string | null;
  created_at: number;
  last_used_at: number | null;
  expires_at: number | null;
  revoked_at: number | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: number;
  event: string;
  actor_id: number | null;
  subject_id: number | null;
  client_address: string | null;
  /** JSON object with event details; never a secret. */
  detail: string | null;
  /** How many occurrences this row stands for (>1 only for coalesced rows). */
  count: Generated<number>;
  /** Set on coalesced events (one row per account/address per window); unique. */
  coalesce_key: string | null;
}

/** Fixed-window counters for login throttling, shared by every instance on one database. */
export interface ThrottleTable {
  key: string;
  count: number;
  reset_at: number;
}

/** Ed25519 signing keys. The private key is sealed under the master key; never stored plain. */
export interface SigningKeysTable {
  /** Hex SHA-256 of the public key's SubjectPublicKeyInfo DER. */
  fingerprint: string;
  /** SubjectPublicKeyInfo DER, base64. */
  public_key: string;
  /** PKCS#8 DER, base64, sealed (AES-256-GCM) and bound to the fingerprint. */
  private_sealed: string;
  created_at: number;
  /** When a newer key replaced it for signing; null while it is the current key. */
  rotated_at: number | null;
  /** After this no token it signed can still be valid: it leaves the keyring and the JWKS. */
  retire_after: number | null;
}

/** JWT ids revoked before their expiry; a row may go once `expires_at` has passed. */
export interface RevokedJtisTable {
  jti: string;
  expires_at: number;
}

/** Facts about the database itself, by name (`master_key_id`: the key it was made with). */
export interface MetaTable {
  name: string;
  value: string;
}
