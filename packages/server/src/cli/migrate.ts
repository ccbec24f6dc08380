import type { Command } from 'commander';
import { openDatabase } from '../store/database.js';
import { migrate } from '../store/migrator.js';
import { cliConfig } from './common.js';
import { io } from './io.js';

/** `tessera migrate`: brings the schema up to date and says what it did. */
export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations (serve also does this on start)')
    .option('--database <url>', 'SQLite path or postgres:// URL (env TESSERA_DATABASE_URL)')
    .action(async (options: { database?: string }) => {
      const config = cliConfig(options);
      const database = await openDatabase(config.databaseUrl);
      try {
        const applied = await migrate(database);
        io().stdout.write(
          applied.length === 0
            ? `database ${database.location} is up to date\n`
            : `applied ${applied.length} migration(s) to ${database.location}: ${applied.join(', ')}\n`,
        );
      } finally {
        await database.close();
      }
    });
}
