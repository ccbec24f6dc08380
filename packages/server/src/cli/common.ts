import { isAbsolute, resolve } from 'node:path';
import { type ConfigOverrides, DEFAULT_DATABASE, resolveConfig, sqlitePath, type TesseraConfig } from '../config.js';
import { isTesseraError } from '../errors.js';
import { openTessera, type Tessera } from '../tessera.js';
import { io } from './io.js';

export interface DatabaseOption {
  database?: string;
}

/** Opens the core for a one-shot CLI command, runs `work`, and always closes it. */
export async function withTessera<T>(options: DatabaseOption, work: (tessera: Tessera) => Promise<T>): Promise<T> {
  const tessera = await openTessera(cliConfig(options));
  try {
    return await work(tessera);
  } finally {
    await tessera.close();
  }
}

/**
 * The configuration from the command's environment and `--database`, with relative paths
 * taken from the command's directory (which, run in-process by `runCli`, is not the process's).
 */
export function cliConfig(options: DatabaseOption, overrides: ConfigOverrides = {}): TesseraConfig {
  const { env, cwd } = io();
  const url = options.database || (env.TESSERA_DATABASE_URL ?? DEFAULT_DATABASE);
  const path = sqlitePath(url);
  const databaseUrl =
    /^[a-z][a-z0-9+.-]*:\/\//i.test(path) || path === ':memory:' || isAbsolute(path) ? url : resolve(cwd, path);
  const keyFile = env.TESSERA_MASTER_KEY_FILE;
  return resolveConfig(
    keyFile && !isAbsolute(keyFile) ? { ...env, TESSERA_MASTER_KEY_FILE: resolve(cwd, keyFile) } : env,
    { ...overrides, databaseUrl },
  );
}

/** A failure the user can act on: printed as one line, exit status 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/** Prints `tessera: <reason>` and exits non-zero; stack traces only for the unexpected. */
export function fail(error: unknown): never {
  io().stderr.write(failureMessage(error));
  process.exit(1);
}

/** What `fail` prints: `tessera: <reason>` on one line, or the stack of an unexpected error. */
export function failureMessage(error: unknown): string {
  if (error instanceof CliError || isTesseraError(error)) return `tessera: ${error.message}\n`;
  if (error instanceof Error && 'code' in error && typeof error.code === 'string' && /^E[A-Z]+$/.test(error.code)) {
    // System errors (ECONNREFUSED, EACCES, …) say enough in one line.
    return `tessera: ${error.message}\n`;
  }
  return `tessera: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`;
}

/**
 * Reads a password from standard input. Exactly one trailing newline is dropped (what
 * `echo` and a typed line add); nothing else is trimmed, because spaces are legitimate
 * password characters (SECURITY A3).
 */
export async function readPasswordFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of io().stdin) {
    chunks.push(chunk as Buffer);
    if (Buffer.concat(chunks).length > 64 * 1024) throw new CliError('the password on standard input is too long');
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const password = text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
  if (password === '') throw new CliError('no password on standard input');
  return password;
}
