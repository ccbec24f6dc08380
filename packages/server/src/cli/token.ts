import type { Command } from 'commander';
import { parseDuration } from '../config.js';
import { publicCredential } from '../credentials/public-credential.js';
import { TesseraError } from '../errors.js';
import { CliError, type DatabaseOption, withTessera } from './common.js';
import { io } from './io.js';

const CLI_ACTOR = { actorId: null, clientAddress: 'cli' };

/** `tessera token create | list | revoke`: native personal tokens. */
export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('manage personal tokens (Authorization: Bearer tsr_…)');

  token
    .command('create <username>')
    .description('make a personal token for a user; it is printed once')
    .option('--name <name>', 'what the token is for', 'cli')
    .option('--expires-in <duration>', 'lifetime, such as 30d or 12h (default: no expiry)')
    .option('--scopes <list>', 'comma-separated scopes (default: the user’s full authority)')
    .option('--json', 'print the credential as JSON')
    .option('--database <url>', 'SQLite path or postgres:// URL (env TESSERA_DATABASE_URL)')
    .action(
      async (
        username: string,
        options: DatabaseOption & { name: string; expiresIn?: string; scopes?: string; json?: boolean },
      ) => {
        let lifetime: number | undefined;
        if (options.expiresIn !== undefined) {
          lifetime = parseDuration(options.expiresIn);
          if (lifetime === undefined || lifetime <= 0)
            throw new CliError(`--expires-in ${options.expiresIn} is not a duration such as 30d`);
        }
        const listed = options.scopes
          ?.split(',')
          .map((scope) => scope.trim())
          .filter(Boolean);
        // Stored as the HTTP API stores them: sorted, each once.
        const scopes = listed === undefined ? null : [...new Set(listed)].sort();
        if (scopes?.some((s) => !/^[a-z][a-z0-9:._-]{0,63}$/.test(s)))
          throw new CliError('scopes are lower-case names such as read or credentials');
        if (options.name.length === 0 || options.name.length > 100)
          throw new CliError('--name must be 1 to 100 characters');
        await withTessera(options, async (tessera) => {
          const user = await tessera.users.findByUsername(username);
          if (!user) throw new TesseraError('USER_NOT_FOUND', `no user named ${username}`);
          const expiresAt = lifetime === undefined ? null : tessera.clock() + lifetime;
          const { token: secret, info } = await tessera.issuer.personalToken(
            { userId: user.id, name: options.name, expiresAt, scopes },
            CLI_ACTOR,
          );
          if (options.json) {
            io().stdout.write(
              `${JSON.stringify({ id: info.id, name: info.name, token: secret, expires_at: expiresAt === null ? null : new Date(expiresAt).toISOString(), scopes })}\n`,
            );
          } else {
            io().stdout.write(`${secret}\n`);
            io().stderr.write(
              `token ${info.id} for ${user.username}${expiresAt ? `, expires ${new Date(expiresAt).toISOString()}` : ''}; shown only now\n`,
            );
          }
        });
      },
    );

  token
    .command('list <username>')
    .description("list a user's credentials (never their secrets)")
    .option('--json', 'print JSON')
    .option('--database <url>', 'SQLite path or postgres:// URL (env TESSERA_DATABASE_URL)')
    .action(async (username: string, options: DatabaseOption & { json?: boolean }) => {
      await withTessera(options, async (tessera) => {
        const user = await tessera.users.findByUsername(username);
        if (!user) throw new TesseraError('USER_NOT_FOUND', `no user named ${username}`);
        const infos = await tessera.credentials.listForUser(user.id);
        const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());
        if (options.json) {
          io().stdout.write(`${JSON.stringify(infos.map(publicCredential), null, 2)}\n`);
          return;
        }
        const rows = infos.map((c) => [
          String(c.id),
          c.kind,
          c.name ?? '',
          c.prefix ?? '',
          iso(c.createdAt),
          iso(c.lastUsedAt),
          iso(c.expiresAt),
        ]);
        const header = ['ID', 'KIND', 'NAME', 'PREFIX', 'CREATED', 'LAST USED', 'EXPIRES'];
        const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
        for (const cells of [header, ...rows]) {
          io().stdout.write(
            `${cells
              .map((c, i) => c.padEnd(widths[i] ?? 0))
              .join('  ')
              .trimEnd()}\n`,
          );
        }
      });
    });

  token
    .command('revoke <id>')
    .description('revoke a credential by id (any kind: token, key, session)')
    .option('--database <url>', 'SQLite path or postgres:// URL (env TESSERA_DATABASE_URL)')
    .action(async (idText: string, options: DatabaseOption) => {
      const id = /^\d{1,15}$/.test(idText) ? Number(idText) : 0;
      if (id < 1) throw new CliError(`${idText} is not a credential id`);
      await withTessera(options, async (tessera) => {
        const info = await tessera.credentials.findInfo(id);
        if (!info) throw new CliError(`no credential with id ${id}`);
        await tessera.issuer.revoke(info, CLI_ACTOR);
        io().stdout.write(`revoked credential ${id} (${info.kind})\n`);
      });
    });
}
