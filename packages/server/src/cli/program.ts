import { Command, CommanderError } from 'commander';
import { registerAuditCommands } from './audit.js';
import { registerAuthnCommands } from './authn.js';
import { failureMessage } from './common.js';
import { type CliIo, io, withIo } from './io.js';
import { registerKeysCommands } from './keys.js';
import { registerMasterKeyCommands } from './master-key.js';
import { registerMigrateCommand } from './migrate.js';
import { registerServeCommand } from './serve.js';
import { registerTokenCommands } from './token.js';
import { registerUserCommands } from './user.js';

/**
 * The `tessera` command line. With `inProcess`, commander throws instead of exiting the
 * process (help, version and usage errors included); subcommands inherit that setting and
 * the output streams, so both are set before they are registered.
 */
export function buildProgram(options: { inProcess?: boolean } = {}): Command {
  const program = new Command('tessera');
  if (options.inProcess) program.exitOverride();
  program
    .configureOutput({
      writeOut: (text) => io().stdout.write(text),
      writeErr: (text) => io().stderr.write(text),
    })
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
  return program;
}

/** What an in-process run printed, and the exit status the process would have had. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs one `tessera …` command in this process, without exiting it: the streams, the
 * environment and the directory are the caller's. For tests and embedding; `tessera serve` and
 * `audit tail --follow` run until a signal and belong in a process of their own.
 *
 * @example
 * ```ts
 * const { code, stdout } = await runCli(['user', 'list', '--json'], { env: { TESSERA_DATABASE_URL: 'app.db' } });
 * ```
 */
export async function runCli(
  argv: readonly string[],
  options: { stdin?: string | Buffer; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CliRun> {
  const output = { stdout: '', stderr: '' };
  const input = options.stdin;
  const runIo: CliIo = {
    stdout: { write: (text: string) => (output.stdout += text) },
    stderr: { write: (text: string) => (output.stderr += text) },
    stdin: (async function* () {
      if (input !== undefined && input.length > 0) yield Buffer.from(input);
    })(),
    env: options.env ?? process.env,
    cwd: options.cwd ?? process.cwd(),
  };
  const code = await withIo(runIo, async () => {
    try {
      await buildProgram({ inProcess: true }).parseAsync([...argv], { from: 'user' });
      return 0;
    } catch (error) {
      // Commander has already printed its own message (usage errors) or the help.
      if (error instanceof CommanderError) return error.exitCode;
      runIo.stderr.write(failureMessage(error));
      return 1;
    }
  });
  return { code, ...output };
}
