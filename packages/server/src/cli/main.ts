#!/usr/bin/env node
import { Command } from 'commander';
import { registerAuditCommands } from './audit.js';
import { registerAuthnCommands } from './authn.js';
import { fail } from './common.js';
import { registerKeysCommands } from './keys.js';
import { registerMasterKeyCommands } from './master-key.js';
import { registerMigrateCommand } from './migrate.js';
import { registerServeCommand } from './serve.js';
import { registerTokenCommands } from './token.js';
import { registerUserCommands } from './user.js';

const program = new Command('tessera')
  .description('Tessera: one authentication server for every common API credential')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)');

registerServeCommand(program);
registerMigrateCommand(program);
registerUserCommands(program);
registerKeysCommands(program);
registerTokenCommands(program);
registerAuthnCommands(program);
registerAuditCommands(program);
registerMasterKeyCommands(program);

program.parseAsync(process.argv).catch(fail);
