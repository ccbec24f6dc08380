import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { io } from './io.js';

/** The size `TESSERA_MASTER_KEY` must decode to (see crypto/master-key.ts: 32 bytes, base64). */
const MASTER_KEY_BYTES = 32;

/**
 * `tessera master-key generate`: prints a new random master key, base64, for
 * `TESSERA_MASTER_KEY` or a key file. PostgreSQL deployments must supply one (every instance
 * shares it), and a newcomer should not have to know the format to make it. Nothing is stored.
 */
export function registerMasterKeyCommands(program: Command): void {
  const masterKey = program.command('master-key').description('the master key that seals secrets in the database');
  masterKey
    .command('generate')
    .description('print a new random master key (32 bytes, base64) for TESSERA_MASTER_KEY or a key file')
    .action(() => {
      io().stdout.write(`${randomBytes(MASTER_KEY_BYTES).toString('base64')}\n`);
    });
}
