import { sql } from 'kysely';
import { TesseraError } from '../errors.js';
import type { Database } from '../store/database.js';
import { masterKeyId } from './seal.js';

const MASTER_KEY_ID = 'master_key_id';

/**
 * Binds the database to its master key: the first start records the key's id in `meta`;
 * every later start compares, so the wrong key (a lost key file replaced, another
 * deployment's `TESSERA_MASTER_KEY`) is refused at start with one clear line instead of
 * "sealed value is malformed" on the first request (SECURITY G4: start is refused without a
 * usable master key). A database made before this record existed is judged by the key ids
 * its sealed values carry.
 *
 * After a rotation (the recorded key now listed in `previous`), the record moves to the
 * current key.
 *
 * @throws TesseraError `MASTER_KEY_MISMATCH`.
 */
export async function bindMasterKey(database: Database, current: Buffer, previous: readonly Buffer[]): Promise<void> {
  const currentId = masterKeyId(current);
  const known = new Set([currentId, ...previous.map(masterKeyId)]);
  const recorded = await recordedKeyId(database);
  if (recorded !== undefined) {
    if (!known.has(recorded)) throw mismatch(database, currentId, recorded);
    if (recorded !== currentId) {
      await database.db.updateTable('meta').set({ value: currentId }).where('name', '=', MASTER_KEY_ID).execute();
    }
    return;
  }
  const foreign = (await sealedKeyIds(database)).find((id) => !known.has(id));
  if (foreign !== undefined) throw mismatch(database, currentId, foreign);
  await database.db
    .insertInto('meta')
    .values({ name: MASTER_KEY_ID, value: currentId })
    .onConflict((conflict) => conflict.column('name').doNothing())
    .execute();
  // Another instance starting at the same moment may have recorded its key first.
  const winner = await recordedKeyId(database);
  if (winner !== undefined && !known.has(winner)) throw mismatch(database, currentId, winner);
}

/**
 * The key id the database was made under, if it holds anything made with a key (a recorded
 * id, or sealed values), or `"unknown"` when it holds users or credentials but nothing says
 * which key; `undefined` for a database with no data, beside which a new key may be made.
 */
export async function databaseKeyOwner(database: Database): Promise<string | undefined> {
  const recorded = await recordedKeyId(database);
  if (recorded !== undefined) return recorded;
  const [sealed] = await sealedKeyIds(database);
  if (sealed !== undefined) return sealed;
  const users = await database.db.selectFrom('users').select('id').limit(1).execute();
  const credentials = await database.db.selectFrom('credentials').select('id').limit(1).execute();
  return users.length + credentials.length > 0 ? 'unknown' : undefined;
}

async function recordedKeyId(database: Database): Promise<string | undefined> {
  const row = await database.db.selectFrom('meta').select('value').where('name', '=', MASTER_KEY_ID).executeTakeFirst();
  return row?.value;
}

/** The key ids in sealed values (`v1.<key id>.<…>`, see seal.ts); read once, on a database's first start after 007. */
async function sealedKeyIds(database: Database): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`
    select distinct substr(private_sealed, 4, 12) as id from signing_keys
    union
    select distinct substr(sealed, 4, 12) as id from credentials where sealed is not null`.execute(database.db);
  return rows.map((row) => row.id);
}

function mismatch(database: Database, currentId: string, madeUnder: string): TesseraError {
  return new TesseraError(
    'MASTER_KEY_MISMATCH',
    `this master key (key id ${currentId}) does not match the database ${database.location} (made under key id ${madeUnder}); ` +
      'start with the key it was made with (list a replaced key in TESSERA_PREVIOUS_MASTER_KEYS)',
  );
}
