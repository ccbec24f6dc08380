import { type ConfigOverrides, resolveConfig } from '../config.js';
import { isTesseraError } from '../errors.js';
import { openTessera, type Tessera } from '../tessera.js';

export interface DatabaseOption {
  database?: string;
}

/** Opens the core for a one-shot CLI command, runs `work`, and always closes it. */
export async function withTessera<T>(options: DatabaseOption, work: (tessera: Tessera) => Promise<T>): Promise<T> {
  const overrides: ConfigOverrides = options.database ? { databaseUrl: options.database } : {};
  const tessera = await openTessera(resolveConfig(process.env, overrides));
  try {
    return await work(tessera);
  } finally {
    await tessera.close();
  }
}

/** A failure the user can act on: printed as one line, exit status 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/** Prints `tessera: <reason>` and exits non-zero; stack traces only for the unexpected. */
export function fail(error: unknown): never {
  if (error instanceof CliError || isTesseraError(error)) {
    process.stderr.write(`tessera: ${error.message}\n`);
  } else if (
    error instanceof Error &&
    'code' in error &&
    typeof error.code === 'string' &&
    /^E[A-Z]+$/.test(error.code)
  ) {
    // System errors (ECONNREFUSED, EACCES, …) say enough in one line.
    process.stderr.write(`tessera: ${error.message}\n`);
  } else {
    process.stderr.write(
      `tessera: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  }
  process.exit(1);
}

/**
 * Reads a password from standard input. Exactly one trailing newline is dropped (what
 * `echo` and a typed line add); nothing else is trimmed, because spaces are legitimate
 * password characters (SECURITY A3).
 */
export async function readPasswordFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    if (Buffer.concat(chunks).length > 64 * 1024) throw new CliError('the password on standard input is too long');
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const password = text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
  if (password === '') throw new CliError('no password on standard input');
  return password;
}
