import type { Command } from 'commander';
import { CliError, readPasswordFromStdin } from './common.js';

interface ServerOptions {
  url: string;
  login?: string;
}

/**
 * `tessera authn …`: Conjur's authn flow against a running server, like Conjur's own CLI —
 * login (password → API key), authenticate (API key → token, `-H` for the header), whoami.
 */
export function registerAuthnCommands(program: Command): void {
  const authn = program.command('authn').description('Conjur-style authentication against a Tessera server');
  const common = (command: Command) =>
    command
      .option('--url <url>', 'server URL (env TESSERA_URL)', process.env.TESSERA_URL ?? 'http://127.0.0.1:8000')
      .option('--login <login>', 'login name (env TESSERA_LOGIN)', process.env.TESSERA_LOGIN);

  common(authn.command('login'))
    .description('exchange the password (read from standard input) for the API key, printed on standard output')
    .action(async (options: ServerOptions) => {
      const login = requireLogin(options);
      const password = await readPasswordFromStdin();
      const response = await call(options, '/api/authn/users/login', {
        headers: { authorization: basic(login, password) },
      });
      process.stdout.write(`${await response.text()}\n`);
    });

  common(authn.command('authenticate'))
    .description('exchange the API key (env TESSERA_API_KEY, or standard input) for a signed token')
    .option('-H, --header', 'print the ready Authorization header instead of the token JSON')
    .action(async (options: ServerOptions & { header?: boolean }) => {
      const token = await authenticate(options);
      process.stdout.write(
        options.header ? `Authorization: Token token="${Buffer.from(token).toString('base64')}"\n` : `${token}\n`,
      );
    });

  common(authn.command('whoami'))
    .description(
      'authenticate with the API key (env TESSERA_API_KEY, or standard input) and print who the token belongs to',
    )
    .action(async (options: ServerOptions) => {
      const token = await authenticate(options);
      const response = await call(options, '/api/authn/whoami', {
        headers: { authorization: `Token token="${Buffer.from(token).toString('base64')}"` },
      });
      process.stdout.write(`${await response.text()}\n`);
    });
}

async function authenticate(options: ServerOptions): Promise<string> {
  const login = requireLogin(options);
  const apiKey = process.env.TESSERA_API_KEY ?? (await readPasswordFromStdin());
  const response = await call(options, `/api/authn/users/${encodeURIComponent(login)}/authenticate`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: apiKey.trim(),
  });
  return response.text();
}

function requireLogin(options: ServerOptions): string {
  if (!options.login) throw new CliError('give --login <login> (or set TESSERA_LOGIN)');
  return options.login;
}

function basic(login: string, secret: string): string {
  return `Basic ${Buffer.from(`${login}:${secret}`, 'utf8').toString('base64')}`;
}

async function call(options: ServerOptions, path: string, init: RequestInit): Promise<Response> {
  let url: URL;
  try {
    url = new URL(path, options.url);
  } catch {
    throw new CliError(`--url ${options.url} is not a URL`);
  }
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    throw new CliError(
      `cannot reach ${url.origin}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`,
    );
  }
  if (response.status === 401) throw new CliError('the server refused the credentials (401)');
  if (!response.ok)
    throw new CliError(`the server answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
  return response;
}
