import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { openTessera } from '../src/tessera.js';
import { cliEnv, expectOneLineRefusal, runCli } from './helpers/cli.js';
import { apiKeyOf, CONJUR_API_KEY_SHAPE, withAuthorization } from './helpers/conjur.js';
import { freshDatabase, PASSWORD, startServer, TEST_MASTER_KEY, type TestServer } from './helpers/harness.js';

/** Each test runs CLI processes; on a loaded machine each takes seconds. */
const CLI_TIMEOUT = 120_000;
const HEADER_LINE = /^Authorization: Token token="([A-Za-z0-9+/]+={0,2})"\n$/;

describe('tessera authn against a running server', () => {
  let server: TestServer;
  let cwd: string;
  beforeEach(async () => {
    server = await startServer('sqlite');
    await server.createUser('donna', PASSWORD);
    cwd = mkdtempSync(join(tmpdir(), 'tessera-cli-authn-'));
  });
  afterEach(async () => {
    rmSync(cwd, { recursive: true, force: true });
    await server.close();
  });

  const cli = (args: string[], options: { env?: Record<string, string>; input?: string } = {}) =>
    runCli(args, {
      cwd,
      env: cliEnv({ NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost', ...options.env }),
      ...(options.input !== undefined && { input: options.input }),
    });

  it(
    'prints the API key for the password read from standard input, the one the server hands out',
    async () => {
      const result = await cli(['authn', 'login', '--login', 'donna', '--url', server.url], { input: `${PASSWORD}\n` });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(/^[0-9a-z]{52}\n$/);
      const key = result.stdout.trim();
      expect(key).toMatch(CONJUR_API_KEY_SHAPE);
      expect(await apiKeyOf(server, 'donna', PASSWORD)).toBe(key);
    },
    CLI_TIMEOUT,
  );

  it(
    'prints with -H a ready Authorization header that the server accepts, and the token JSON without it',
    async () => {
      const key = await apiKeyOf(server, 'donna', PASSWORD);
      const env = { TESSERA_API_KEY: key };
      const header = await cli(['authn', 'authenticate', '--login', 'donna', '--url', server.url, '-H'], { env });
      expect(header.code, header.stderr).toBe(0);
      expect(header.stdout).toMatch(HEADER_LINE);
      const value = header.stdout.trim().slice('Authorization: '.length);
      const me = await withAuthorization(server, value);
      expect(me.status).toBe(200);
      expect(await me.json()).toMatchObject({ username: 'donna' });

      const json = await cli(['authn', 'authenticate', '--login', 'donna', '--url', server.url], { env });
      expect(json.code, json.stderr).toBe(0);
      const token = JSON.parse(json.stdout) as Record<string, string>;
      expect(token).toMatchObject({ data: 'donna', key: server.tessera.keyring.current.fingerprint });

      // Without the variable, the key comes from standard input.
      const fromStdin = await cli(['authn', 'authenticate', '--login', 'donna', '--url', server.url, '--header'], {
        input: `${key}\n`,
      });
      expect(fromStdin.code, fromStdin.stderr).toBe(0);
      expect(fromStdin.stdout).toMatch(HEADER_LINE);
    },
    CLI_TIMEOUT,
  );

  it(
    'prints who the token belongs to with authn whoami',
    async () => {
      const key = await apiKeyOf(server, 'donna', PASSWORD);
      const result = await cli(['authn', 'whoami', '--login', 'donna', '--url', server.url], {
        env: { TESSERA_API_KEY: key },
      });
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ username: 'donna', account: 'default' });
    },
    CLI_TIMEOUT,
  );

  it(
    'exits 1 with one tessera: line for a wrong API key, a wrong password or no login',
    async () => {
      const key = await apiKeyOf(server, 'donna', PASSWORD);
      const wrongKey = key.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
      for (const command of ['authenticate', 'whoami']) {
        const result = await cli(['authn', command, '--login', 'donna', '--url', server.url], {
          env: { TESSERA_API_KEY: wrongKey },
        });
        expectOneLineRefusal(result, /refused the credentials \(401\)/);
      }
      const header = await cli(['authn', 'authenticate', '--login', 'donna', '--url', server.url, '-H'], {
        env: { TESSERA_API_KEY: wrongKey },
      });
      expectOneLineRefusal(header, /401/);

      const badPassword = await cli(['authn', 'login', '--login', 'donna', '--url', server.url], {
        input: 'not the password\n',
      });
      expectOneLineRefusal(badPassword, /401/);

      const noLogin = await cli(['authn', 'authenticate', '--url', server.url], { env: { TESSERA_API_KEY: key } });
      expectOneLineRefusal(noLogin, /--login/);
    },
    CLI_TIMEOUT,
  );
});

describe('tessera keys rotate-signing and list-signing', () => {
  let database: { url: string; dispose(): Promise<void> };
  let cwd: string;
  let env: NodeJS.ProcessEnv;
  beforeEach(async () => {
    database = await freshDatabase('sqlite');
    cwd = mkdtempSync(join(tmpdir(), 'tessera-cli-keys-'));
    env = cliEnv({ TESSERA_DATABASE_URL: database.url, TESSERA_MASTER_KEY: TEST_MASTER_KEY });
  });
  afterEach(async () => {
    rmSync(cwd, { recursive: true, force: true });
    await database.dispose();
  });

  const cli = (args: string[]) => runCli(args, { cwd, env });

  interface Listed {
    fingerprint: string;
    status: string;
    created_at: string;
    retire_after: string | null;
  }

  it(
    'lists one current key on a fresh database, then one current and one verify-only after a rotation',
    async () => {
      const first = await cli(['keys', 'list-signing', '--json']);
      expect(first.code, first.stderr).toBe(0);
      const before = JSON.parse(first.stdout) as Listed[];
      expect(before).toHaveLength(1);
      expect(before[0]).toMatchObject({ status: 'current', retire_after: null });
      const original = before[0]?.fingerprint ?? '';
      expect(original).toMatch(/^[0-9a-f]{64}$/);

      const rotated = await cli(['keys', 'rotate-signing']);
      expect(rotated.code, rotated.stderr).toBe(0);
      const match = /^new signing key ([0-9a-f]{64})\n$/.exec(rotated.stdout);
      expect(match, rotated.stdout).not.toBeNull();
      const fresh = match?.[1] ?? '';
      expect(fresh).not.toBe(original);

      const second = await cli(['keys', 'list-signing', '--json']);
      expect(second.code, second.stderr).toBe(0);
      const after = JSON.parse(second.stdout) as Listed[];
      expect(after.map((k) => [k.fingerprint, k.status])).toEqual([
        [fresh, 'current'],
        [original, 'verify-only'],
      ]);
      const retiring = after[1];
      expect(retiring?.retire_after).not.toBeNull();
      // The rotated key verifies for at least a token's life and the skew (SECURITY F8).
      expect(Date.parse(retiring?.retire_after ?? '') - Date.now()).toBeGreaterThan(8 * 60_000);

      // A server opened on the database signs with the key the CLI made.
      const tessera = await openTessera(
        resolveConfig(
          {},
          { databaseUrl: database.url, masterKey: { kind: 'env', value: TEST_MASTER_KEY }, logLevel: 'silent' },
        ),
      );
      try {
        expect(tessera.keyring.current.fingerprint).toBe(fresh);
        expect(tessera.keyring.keys.map((k) => k.fingerprint)).toEqual([fresh, original]);
      } finally {
        await tessera.close();
      }

      const text = await cli(['keys', 'list-signing']);
      expect(text.code, text.stderr).toBe(0);
      const lines = text.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(new RegExp(`^${fresh}\\s+current\\s+created `));
      expect(lines[1]).toMatch(new RegExp(`^${original}\\s+verify-only\\s+created .*retires `));
    },
    CLI_TIMEOUT,
  );
});
