import { describe, expect, inject, it } from 'vitest';
import { openDatabase } from '../src/store/database.js';
import { migrate } from '../src/store/migrator.js';
import { freshDatabase } from './helpers/harness.js';

describe.skipIf(!inject('postgresUrl'))('PostgreSQL schemas', () => {
  it('migrates a fresh schema while a sibling schema on the same database already holds Tessera’s tables', async () => {
    const first = await freshDatabase('postgres');
    const second = await freshDatabase('postgres');
    const sibling = await openDatabase(first.url);
    const fresh = await openDatabase(second.url);
    try {
      const applied = await migrate(sibling);
      expect(applied.length).toBeGreaterThan(0);
      expect(await migrate(fresh)).toEqual(applied);
      expect(await migrate(fresh)).toEqual([]);
      // Each schema has tables of its own.
      await fresh.db
        .insertInto('users')
        .values({
          username: 'only-here',
          username_key: 'only-here',
          username_skeleton: 'only-here',
          is_active: 1,
          roles: '[]',
          created_at: 0,
          updated_at: 0,
        })
        .execute();
      expect(await sibling.db.selectFrom('users').select('username').execute()).toEqual([]);
    } finally {
      await sibling.close();
      await fresh.close();
      await first.dispose();
      await second.dispose();
    }
  });
});
