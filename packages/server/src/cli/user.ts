import type { Command } from 'commander';
import { TesseraError } from '../errors.js';
import { ADMIN_ROLE, publicUser } from '../users/user.js';
import { CliError, type DatabaseOption, readPasswordFromStdin, withTessera } from './common.js';
import { io } from './io.js';

const CLI_ACTOR = { actorId: null, clientAddress: 'cli' };

/** `tessera user …`: create, list, set-password, sign-out, delete. */
export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('manage users');

  user
    .command('create <username>')
    .description('create a user; the password is read from standard input')
    .option('--email <email>', 'email address')
    .option('--admin', 'give the user the admin role (may manage users and keys)')
    .option('--password-stdin', 'read the password from standard input (required)')
    .option('--database <url>', 'SQLite path or postgres:// URL (env TESSERA_DATABASE_URL)')
    .action(
      async (
        username: string,
        options: DatabaseOption & { email?: string; admin?: boolean; passwordStdin?: boolean },
      ) => {
        if (!options.passwordStdin) {
          throw new CliError(
            'pass --password-stdin and give the password on standard input (never on the command line)',
          );
        }
        const password = await readPasswordFromStdin();
        await withTessera(options, async (tessera) => {
          const created = await tessera.users.create(
            {
              username,
              password,
              ...(options.email !== undefined && { email: options.email }),
              roles: options.admin ? [ADMIN_ROLE] : [],
            },
            CLI_ACTOR,
          );
          io().stdout.write(`created user ${created.username} (id ${created.id}${options.admin ? ', admin' : ''})\n`);
        });
      },
    );

  user
    .command('list')
    .description('list users')
    .option('--json', 'print JSON instead of a table')
    .option('--database <url>', 'SQLite path or postgres:// URL (env TESSERA_DATABASE_URL)')
    .action(async (options: DatabaseOption & { json?: boolean }) => {
      await withTessera(options, async (tessera) => {
        const users = [];
        for (let offset = 0; ; offset += 1000) {
          const page = await tessera.users.list({ limit: 1000, offset });
          users.push(...page);
          if (page.length < 1000) break;
        }
        if (options.json) {
          io().stdout.write(`${JSON.stringify(users.map(publicUser), null, 2)}\n`);
          return;
        }
        const rows = users.map((u) => [
          String(u.id),
          u.username,
          u.email ?? '',
          u.isActive ? 'yes' : 'no',
          u.roles.join(','),
        ]);
        io().stdout.write(table(['ID', 'USERNAME', 'EMAIL', 'ACTIVE', 'ROLES'], rows));
      });
    });

  user
    .command('set-password <username>')
    .description("replace a user's password (read from standard input); ends their sessions")
    .option('--password-stdin', 'read the password from standard input (required)')
    .option('--database <url>', 'SQLite path or postgres:// URL (env TESSERA_DATABASE_URL)')
    .action(async (username: string, options: DatabaseOption & { passwordStdin?: boolean }) => {
      if (!options.passwordStdin) throw new CliError('pass --password-stdin and give the password on standard input');
      const password = await readPasswordFromStdin();
      await withTessera(options, async (tessera) => {
        const found = await tessera.users.findByUsername(username);
        if (!found) throw new TesseraError('USER_NOT_FOUND', `no user named ${username}`);
        await tessera.users.update(found.id, { password }, CLI_ACTOR);
        io().stdout.write(`password of ${found.username} changed; their sessions were ended\n`);
      });
    });

  user
    .command('sign-out <username>')
    .description('sign a user out everywhere: end their sessions and every JWT and Conjur token issued so far')
    .option('--database <url>', 'SQLite path or postgres:// URL (env TESSERA_DATABASE_URL)')
    .action(async (username: string, options: DatabaseOption) => {
      await withTessera(options, async (tessera) => {
        const found = await tessera.users.findByUsername(username);
        if (!found) throw new TesseraError('USER_NOT_FOUND', `no user named ${username}`);
        const ended = await tessera.users.signOutEverywhere(found.id, CLI_ACTOR);
        io().stdout.write(
          `signed ${found.username} out everywhere: ${ended} session(s) ended; signed tokens issued before now are refused\n`,
        );
      });
    });

  user
    .command('delete <username>')
    .description('delete a user with all their sessions and credentials')
    .option('--database <url>', 'SQLite path or postgres:// URL (env TESSERA_DATABASE_URL)')
    .action(async (username: string, options: DatabaseOption) => {
      await withTessera(options, async (tessera) => {
        const found = await tessera.users.findByUsername(username);
        if (!found) throw new TesseraError('USER_NOT_FOUND', `no user named ${username}`);
        await tessera.users.delete(found.id, CLI_ACTOR);
        io().stdout.write(`deleted user ${found.username}\n`);
      });
    });
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `${cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()}\n`;
  return [header, ...rows].map(line).join('');
}
