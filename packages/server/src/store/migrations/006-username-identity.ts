import { type Kysely, sql } from 'kysely';
import { TesseraError } from '../../errors.js';
import { usernameIdentity } from '../../users/user.js';
import type { DatabaseKind } from '../database.js';

/**
 * One identity per username (issue 13 items 3 and 9): `username_key` (NFKC, case-folded) under
 * a unique index, which logins and the login throttle use, and `username_skeleton` (UTS #39)
 * for refusing lookalike new names. Also the audit log's coalescing columns, so repeated
 * throttled attempts add to one row's `count` instead of a row each (issue 13, "also observed").
 *
 * Existing rows are never merged. Names that fold to one key (`dave` and `DAVE`) stop the
 * migration: it changes nothing and lists them, to be renamed by hand. Names that merely look
 * alike (`admin` and Cyrillic `аdmin`) are distinct accounts and are kept, with a warning:
 * only new names and renames are refused a taken skeleton.
 */
export async function up(db: Kysely<unknown>, _kind: DatabaseKind): Promise<void> {
  await db.schema.alterTable('users').addColumn('username_key', 'text').execute();
  await db.schema.alterTable('users').addColumn('username_skeleton', 'text').execute();

  const { rows } = await sql<{
    id: number | string;
    username: string;
  }>`select id, username from users order by id`.execute(db);
  const byKey = new Map<string, Array<{ id: string; username: string }>>();
  const bySkeleton = new Map<string, Array<{ id: string; username: string }>>();
  const identities = rows.map((row) => {
    const identity = usernameIdentity(row.username);
    const user = { id: String(row.id), username: row.username };
    byKey.set(identity.key, [...(byKey.get(identity.key) ?? []), user]);
    bySkeleton.set(identity.skeleton, [...(bySkeleton.get(identity.skeleton) ?? []), user]);
    return { id: row.id, ...identity };
  });
  const clashes = [...byKey.values()].filter((group) => group.length > 1);
  if (clashes.length > 0) {
    // Thrown inside the migration's transaction: nothing above is kept.
    throw new TesseraError(
      'USERNAMES_CLASH',
      `migration 006-username-identity: these users' names differ only by case or Unicode form, and a username is now one identity: ${describe(clashes)}. Nothing was changed. Rename all but one user of each group with the previous Tessera version (PATCH /users/users/{id}/ with a new "username", or SQL: UPDATE users SET username = '<new name>' WHERE id = <id>), then start again.`,
    );
  }
  for (const { id, key, skeleton } of identities) {
    await sql`update users set username_key = ${key}, username_skeleton = ${skeleton} where id = ${id}`.execute(db);
  }
  await db.schema.createIndex('users_identity_key').on('users').column('username_key').unique().execute();
  await db.schema.createIndex('users_identity_skeleton').on('users').column('username_skeleton').execute();

  const lookalikes = [...bySkeleton.values()].filter((group) => group.length > 1);
  if (lookalikes.length > 0) {
    process.emitWarning(
      `these existing users' names look alike (one Unicode TS #39 skeleton); they are kept as separate accounts, but consider renaming: ${describe(lookalikes)}`,
      { code: 'TESSERA_LOOKALIKE_USERNAMES' },
    );
  }

  await db.schema
    .alterTable('audit_log')
    .addColumn('count', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();
  await db.schema.alterTable('audit_log').addColumn('coalesce_key', 'text').execute();
  // NULLs are distinct in a unique index on both databases: only coalesced rows compete.
  await db.schema.createIndex('audit_log_coalesce_key').on('audit_log').column('coalesce_key').unique().execute();
}

function describe(groups: Array<Array<{ id: string; username: string }>>): string {
  return groups
    .map((group) => group.map((user) => `${JSON.stringify(user.username)} (id ${user.id})`).join(' = '))
    .join('; ');
}
