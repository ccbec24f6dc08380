import type { Command } from 'commander';
import { TesseraError } from '../errors.js';
import { type DatabaseOption, withTessera } from './common.js';
import { io } from './io.js';

const CLI_ACTOR = { actorId: null, clientAddress: 'cli' };

/** `tessera keys generate`: Frappe's api key and secret for a user (bench execute …generate_keys). */
export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('manage api keys (Frappe) and the signing keyring');
  keys
    .command('generate <username>')
    .description("make the user's api key, or replace its secret (the key stays; the old secret stops working)")
    .option('--json', 'print {"api_key", "api_secret"} as JSON')
    .option('--database <url>', 'SQLite path or postgres:// URL (env TESSERA_DATABASE_URL)')
    .action(async (username: string, options: DatabaseOption & { json?: boolean }) => {
      await withTessera(options, async (tessera) => {
        const user = await tessera.users.findByUsername(username);
        if (!user) throw new TesseraError('USER_NOT_FOUND', `no user named ${username}`);
        const { apiKey, apiSecret } = await tessera.issuer.generateApiKeys(user.id, CLI_ACTOR);
        io().stdout.write(
          options.json
            ? `${JSON.stringify({ api_key: apiKey, api_secret: apiSecret })}\n`
            : `api_key:    ${apiKey}\napi_secret: ${apiSecret}\n(the secret is shown only now)\n`,
        );
      });
    });

  keys
    .command('rotate-signing')
    .description('make a new current signing key; older keys verify until their tokens expire')
    .option('--database <url>', 'SQLite path or postgres:// URL (env TESSERA_DATABASE_URL)')
    .action(async (options: DatabaseOption) => {
      await withTessera(options, async (tessera) => {
        const key = await tessera.keyring.rotate();
        io().stdout.write(`new signing key ${key.fingerprint}\n`);
      });
    });

  keys
    .command('list-signing')
    .description('list the signing keys that still verify tokens')
    .option('--json', 'print JSON')
    .option('--database <url>', 'SQLite path or postgres:// URL (env TESSERA_DATABASE_URL)')
    .action(async (options: DatabaseOption & { json?: boolean }) => {
      await withTessera(options, async (tessera) => {
        const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
        const rows = tessera.keyring.keys.map((k) => ({
          fingerprint: k.fingerprint,
          status: k.rotatedAt === null ? 'current' : 'verify-only',
          created_at: iso(k.createdAt),
          retire_after: iso(k.retireAfter),
        }));
        if (options.json) {
          io().stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          return;
        }
        for (const r of rows) {
          io().stdout.write(
            `${r.fingerprint}  ${r.status.padEnd(11)}  created ${r.created_at}${r.retire_after ? `  retires ${r.retire_after}` : ''}\n`,
          );
        }
      });
    });
}
