import {
  BasicAuthentication,
  Client,
  ConjurAuthentication,
  isHTTPError,
  isNetworkError,
  isRedirectError,
  isTimeoutError,
} from '@tessera/client';
import type { Command } from 'commander';
import { CliError, readPasswordFromStdin } from './common.js';
import { io } from './io.js';

interface ServerOptions {
  url: string;
  login?: string;
}

const TIMEOUT_MS = 30_000;

/**
 * `tessera authn …`: Conjur's authn flow against a running server, like Conjur's own CLI —
 * login (password → API key), authenticate (API key → token, `-H` for the header), whoami.
 * The HTTP side is `@tessera/client`'s BasicAuthentication and ConjurAuthentication.
 */
export function registerAuthnCommands(program: Command): void {
  const authn = program.command('authn').description('Conjur-style authentication against a Tessera server');
  const common = (command: Command) =>
    command
      .option('--url <url>', 'server URL (env TESSERA_URL)', io().env.TESSERA_URL ?? 'http://127.0.0.1:8000')
      .option('--login <login>', 'login name (env TESSERA_LOGIN)', io().env.TESSERA_LOGIN);

  common(authn.command('login'))
    .description('exchange the password (read from standard input) for the API key, printed on standard output')
    .action(async (options: ServerOptions) => {
      const login = requireLogin(options);
      const url = serverUrl(options);
      const password = await readPasswordFromStdin();
      const client = new Client({
        baseUrl: url,
        timeoutMs: TIMEOUT_MS,
        auth: new BasicAuthentication({ username: login, password }),
      });
      const apiKey = await explain(url, client.get<string>('/api/authn/users/login', { responseType: 'text' }));
      io().stdout.write(`${apiKey}\n`);
    });

  common(authn.command('authenticate'))
    .description('exchange the API key (env TESSERA_API_KEY, or standard input) for a signed token')
    .option('-H, --header', 'print the ready Authorization header instead of the token JSON')
    .action(async (options: ServerOptions & { header?: boolean }) => {
      const { auth, url } = await conjur(options);
      const token = await explain(url, auth.token());
      io().stdout.write(options.header ? `Authorization: ${token.header}\n` : `${token.raw}\n`);
    });

  common(authn.command('whoami'))
    .description(
      'authenticate with the API key (env TESSERA_API_KEY, or standard input) and print who the token belongs to',
    )
    .action(async (options: ServerOptions) => {
      const { auth, url } = await conjur(options);
      const client = new Client({ baseUrl: url, timeoutMs: TIMEOUT_MS, auth });
      const body = await explain(url, client.get<string>('/api/authn/whoami', { responseType: 'text' }));
      io().stdout.write(`${body}\n`);
    });
}

/** A ConjurAuthentication for the login and the API key (env TESSERA_API_KEY, or standard input). */
async function conjur(options: ServerOptions): Promise<{ auth: ConjurAuthentication; url: URL }> {
  const login = requireLogin(options);
  const url = serverUrl(options);
  const apiKey = (io().env.TESSERA_API_KEY ?? (await readPasswordFromStdin())).trim();
  return { auth: new ConjurAuthentication({ url, login, apiKey, timeoutMs: TIMEOUT_MS }), url };
}

function requireLogin(options: ServerOptions): string {
  if (!options.login) throw new CliError('give --login <login> (or set TESSERA_LOGIN)');
  return options.login;
}

function serverUrl(options: ServerOptions): URL {
  try {
    return new URL(options.url);
  } catch {
    throw new CliError(`--url ${options.url} is not a URL`);
  }
}

/** Turns the client's typed errors into one-line CLI failures. */
async function explain<T>(url: URL, pending: Promise<T>): Promise<T> {
  try {
    return await pending;
  } catch (error) {
    if (isHTTPError(error)) {
      if (error.status === 401) throw new CliError('the server refused the credentials (401)');
      const body = typeof error.body === 'string' ? error.body : JSON.stringify(error.body ?? '');
      throw new CliError(`the server answered ${error.status}: ${body.slice(0, 200)}`);
    }
    if (isNetworkError(error)) {
      const cause = error.cause instanceof Error ? error.cause : undefined;
      const reason = cause?.cause instanceof Error ? cause.cause.message : (cause?.message ?? error.message);
      throw new CliError(`cannot reach ${url.origin}: ${reason}`);
    }
    if (isTimeoutError(error))
      throw new CliError(`cannot reach ${url.origin}: no answer within ${TIMEOUT_MS / 1000} s`);
    if (isRedirectError(error)) throw new CliError(error.message);
    throw error;
  }
}
