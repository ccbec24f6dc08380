// Databases for the benchmark: one user made by the CLI (so the schema, the master key and the
// password hash are the server's own), then users and credentials written straight into SQLite
// in one transaction each — a million rows through the HTTP API would take longer than the run.
import { hash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { canonicalUsername, usernameSkeleton } from '../../packages/server/dist/users/username-identity.js';
import { runCli } from './processes.js';

export const PASSWORD = 'bench password that is long enough';

/** A migrated SQLite database in `dir` holding the user `bench`; returns its env for the CLI and server. */
export async function createDatabase(dir, name) {
  const path = join(dir, `${name}.db`);
  const env = {
    TESSERA_DATABASE_URL: path,
    TESSERA_LOG_LEVEL: 'warn',
    TESSERA_MASTER_KEY_FILE: join(dir, `${name}.key`),
  };
  await runCli(['user', 'create', 'bench', '--password-stdin'], env, `${PASSWORD}\n`);
  return { path, env };
}

/**
 * Adds `bench-1` … `bench-<count>` with bench's password hash: argon2id PHC strings carry their
 * own salt, so one hash verifies the same password for every row and seeding needs no hashing.
 */
export function addUsers(path, count) {
  const db = new Database(path);
  try {
    const { password_hash: hash } = db.prepare('select password_hash from users where username = ?').get('bench');
    const insert = db.prepare(
      `insert into users (username, username_key, username_skeleton, email, is_active, roles, password_hash,
                          created_at, updated_at, credentials_valid_after)
       values (?, ?, ?, null, 1, '[]', ?, ?, ?, ?)`,
    );
    const now = Date.now();
    db.transaction(() => {
      for (let i = 1; i <= count; i++) {
        // The identity columns the server writes itself (issue 13 item 9): a login looks up the key.
        const name = `bench-${i}`;
        const key = canonicalUsername(name);
        insert.run(name, key, usernameSkeleton(key), hash, now, now, Math.floor(now / 1000) * 1000);
      }
    })();
    return Array.from({ length: count }, (_, i) => `bench-${i + 1}`);
  } finally {
    db.close();
  }
}

/**
 * The i-th seeded personal token: `tsr_` and 40 base64url characters, the server's format,
 * derived from a seed so the harness can name any of a million tokens without keeping them.
 */
export function seededToken(seed, i) {
  return `tsr_${hash('sha256', `${seed}:${i}`, 'buffer').subarray(0, 30).toString('base64url')}`;
}

/**
 * Stores `count` personal tokens of user `bench` as the server stores them (CredentialStore /
 * CredentialIssuer.personalToken): lookup = hex SHA-256 of the whole token, prefix = its first
 * 10 characters, no expiry, full scopes. Returns how long the insert took, in seconds.
 */
export function addPersonalTokens(path, seed, count) {
  const started = performance.now();
  const db = new Database(path);
  try {
    const { id } = db.prepare('select id from users where username = ?').get('bench');
    const insert = db.prepare(
      `insert into credentials (kind, user_id, lookup, secret_digest, sealed, name, prefix, scopes, created_at)
       values ('personal', ?, ?, null, null, ?, ?, null, ?)`,
    );
    const now = Date.now();
    const rows = Array.from({ length: count }, (_, i) => {
      const token = seededToken(seed, i);
      return { i, prefix: token.slice(0, 10), lookup: hash('sha256', token, 'hex') };
    });
    // In index order, every insert appends to the (kind, lookup) b-tree instead of splitting a
    // random page: several times faster at a million rows, and the same table in the end.
    rows.sort((a, b) => (a.lookup < b.lookup ? -1 : 1));
    db.pragma('cache_size = -262144');
    db.transaction(() => {
      for (const row of rows) insert.run(id, row.lookup, `bench ${row.i}`, row.prefix, now);
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  return Math.round((performance.now() - started) / 100) / 10;
}
