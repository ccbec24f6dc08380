import type { Command } from 'commander';
import { resolveConfig } from '../config.js';
import { createHttpServer } from '../http/server.js';
import { lowerBackgroundThreads } from '../runtime/thread-priority.js';
import { openTessera } from '../tessera.js';
import { CliError } from './common.js';

/** `tessera serve`: the HTTP server, until SIGTERM or SIGINT. */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the HTTP server (SQLite ./tessera.db unless told otherwise)')
    .option('--host <host>', 'address to listen on (env TESSERA_HOST)')
    .option('--port <port>', 'port to listen on (env TESSERA_PORT)')
    .option('--database <url>', 'SQLite path or postgres:// URL (env TESSERA_DATABASE_URL)')
    .action(async (options: { host?: string; port?: string; database?: string }) => {
      let port: number | undefined;
      if (options.port !== undefined) {
        port = Number(options.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          throw new CliError(`--port ${options.port} is not a port number`);
      }
      const config = resolveConfig(process.env, {
        ...(options.host !== undefined && { host: options.host }),
        ...(port !== undefined && { port }),
        ...(options.database !== undefined && { databaseUrl: options.database }),
      });
      const tessera = await openTessera(config);
      const http = createHttpServer(tessera);
      // Said before "listening": whoever waits for that line gets a migrated database.
      if (tessera.migrationsApplied.length > 0)
        http.logger.info({ migrations: tessera.migrationsApplied }, 'database schema migrated');
      const address = await http.listen();
      // Handlers first: from here on the server answers requests, so a SIGTERM must drain it
      // gracefully rather than kill it (SECURITY I4), even while the checks below still run.
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        http.logger.info({ signal }, 'shutting down: finishing in-flight requests');
        await http.close();
        await tessera.close();
        http.logger.flush();
        process.exit(0);
      };
      process.on('SIGTERM', () => void stop('SIGTERM'));
      process.on('SIGINT', () => void stop('SIGINT'));

      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      http.logger.info({ database: tessera.database.location }, `tessera listening on http://${host}:${address.port}`);
      http.logger.flush(); // whoever waits for this line (a supervisor, a test) sees it now
      const priority = await lowerBackgroundThreads(config.backgroundNice);
      if (priority.skipped === undefined) {
        http.logger.info(
          { threads: priority.threads, nice: config.backgroundNice },
          'background threads run below the event loop',
        );
      } else {
        http.logger.info(`background threads keep their priority: ${priority.skipped}`);
      }
      try {
        if ((await tessera.users.list({ limit: 1 })).length === 0) {
          http.logger.warn(
            'no users yet: create the first admin, in the Tessera directory, with `npx tessera user create <name> --admin --password-stdin`',
          );
        }
      } catch (error) {
        if (!stopping) throw error; // the database was closed by a shutdown that began meanwhile
      }
      http.logger.flush();
    });
}
