import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { AuthResult } from '../src/auth/principal.js';
import { resolveConfig } from '../src/config.js';
import { openTessera, type Tessera } from '../src/tessera.js';
import { cliEnv, expectOneLineRefusal, runCli } from './helpers/cli.js';
import { basicHeader } from './helpers/credentials.js';
import {
  type DatabaseKind,
  describeEachDatabase,
  freshDatabase,
  PASSWORD,
  TEST_MASTER_KEY,
} from './helpers/harness.js';

const TOKEN = /^tsr_[A-Za-z0-9_-]{40}$/;
const DAY = 86_400_000;
/** Each test runs several CLI processes; on a loaded machine each takes seconds. */
const CLI_TIMEOUT = 120_000;

/** Asserts a successful authentication and returns its principal. */
function principalOf(result: AuthResult) {
  if (!result.ok) throw new Error(`expected the credential to authenticate, got ${result.code}: ${result.message}`);
  return result.principal;
}

describeEachDatabase('tessera token and keys commands', (kind: DatabaseKind) => {
  let database: { url: string; dispose(): Promise<void> };
  let cwd: string;
  let env: NodeJS.ProcessEnv;

  beforeEach(async () => {
    database = await freshDatabase(kind);
    cwd = mkdtempSync(join(tmpdir(), 'tessera-cli-tokens-'));
    env = cliEnv({ TESSERA_DATABASE_URL: database.url, TESSERA_MASTER_KEY: TEST_MASTER_KEY });
    const created = await cli(['user', 'create', 'alice', '--password-stdin'], `${PASSWORD}\n`);
    expect(created.code, created.stderr).toBe(0);
  });
  afterEach(async () => {
    rmSync(cwd, { recursive: true, force: true });
    await database.dispose();
  });

  const cli = (args: string[], input?: string) => runCli(args, { cwd, env, ...(input !== undefined && { input }) });

  /** Opens the database the CLI wrote, through the library, as a server would. */
  async function withLibrary<T>(work: (tessera: Tessera) => Promise<T>): Promise<T> {
    const tessera = await openTessera(
      resolveConfig(
        {},
        { databaseUrl: database.url, masterKey: { kind: 'env', value: TEST_MASTER_KEY }, logLevel: 'silent' },
      ),
    );
    try {
      return await work(tessera);
    } finally {
      await tessera.close();
    }
  }

  const authenticate = (tessera: Tessera, authorization: string) =>
    tessera.authenticator.authenticate({ headers: { authorization }, clientAddress: '127.0.0.1' });

  it(
    'generates an api key and secret, and again keeps the key and replaces the secret',
    async () => {
      const first = await cli(['keys', 'generate', 'alice', '--json']);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stderr).toBe('');
      const one = JSON.parse(first.stdout) as { api_key: string; api_secret: string };
      expect(Object.keys(one).sort()).toEqual(['api_key', 'api_secret']);
      expect(one.api_key).toMatch(/^[0-9a-f]{16}$/);
      expect(one.api_secret).toMatch(/^[0-9a-f]{40}$/);

      const second = await cli(['keys', 'generate', 'alice', '--json']);
      expect(second.code, second.stderr).toBe(0);
      const two = JSON.parse(second.stdout) as { api_key: string; api_secret: string };
      expect(two.api_key).toBe(one.api_key);
      expect(two.api_secret).toMatch(/^[0-9a-f]{40}$/);
      expect(two.api_secret).not.toBe(one.api_secret);

      // Without --json: the same pair in words, and a reminder that it is shown once.
      const third = await cli(['keys', 'generate', 'alice']);
      expect(third.code).toBe(0);
      const words = /^api_key: +([0-9a-f]{16})\napi_secret: +([0-9a-f]{40})\n\(the secret is shown only now\)\n$/.exec(
        third.stdout,
      );
      expect(words?.[1]).toBe(one.api_key);
      const latest = words?.[2] ?? '';
      expect([one.api_secret, two.api_secret]).not.toContain(latest);

      await withLibrary(async (tessera) => {
        const viaToken = principalOf(await authenticate(tessera, `token ${one.api_key}:${latest}`));
        expect(viaToken.user.username).toBe('alice');
        expect(viaToken.credential.kind).toBe('api-key');
        const viaBasic = principalOf(await authenticate(tessera, basicHeader(one.api_key, latest)));
        expect(viaBasic.user.username).toBe('alice');
        for (const old of [one.api_secret, two.api_secret]) {
          const refused = await authenticate(tessera, `token ${one.api_key}:${old}`);
          expect(refused).toMatchObject({ ok: false, code: 'INVALID_CREDENTIALS' });
        }
        expect((await tessera.credentials.listForUser(1, ['api-key'])).length).toBe(1);
      });
    },
    CLI_TIMEOUT,
  );

  it(
    'prints a new personal token once on stdout, and the library accepts it as Bearer',
    async () => {
      const before = Date.now();
      const created = await cli(['token', 'create', 'alice', '--name', 'ci', '--expires-in', '30d']);
      const after = Date.now();
      expect(created.code, created.stderr).toBe(0);
      expect(created.stdout).toMatch(/^tsr_[A-Za-z0-9_-]{40}\n$/);
      const token = created.stdout.trim();
      // What it is goes to stderr, so `$(tessera token create …)` captures the token alone.
      expect(created.stderr).toMatch(/^token \d+ for alice, expires \d{4}-\d\d-\d\dT[\d:.]+Z; shown only now\n$/);
      expect(created.stderr).not.toContain(token);

      await withLibrary(async (tessera) => {
        const principal = principalOf(await authenticate(tessera, `Bearer ${token}`));
        expect(principal.user.username).toBe('alice');
        expect(principal.credential.kind).toBe('personal');
        expect(principal.scopes).toBeNull();
        const info = await tessera.credentials.findInfo(principal.credential.id);
        expect(info?.name).toBe('ci');
        expect(info?.expiresAt).toBeGreaterThanOrEqual(before + 30 * DAY);
        expect(info?.expiresAt).toBeLessThanOrEqual(after + 30 * DAY);
        // The database keeps no copy of the token.
        const rows = await tessera.database.db.selectFrom('credentials').selectAll().execute();
        expect(JSON.stringify(rows)).not.toContain(token.slice(4));
      });
    },
    CLI_TIMEOUT,
  );

  it(
    'prints a token with --json, with its scopes, and without --expires-in it never expires',
    async () => {
      const created = await cli(['token', 'create', 'alice', '--scopes', 'read, credentials', '--json']);
      expect(created.code, created.stderr).toBe(0);
      const printed = JSON.parse(created.stdout) as Record<string, unknown>;
      expect(printed).toEqual({
        id: expect.any(Number),
        name: 'cli',
        token: expect.stringMatching(TOKEN),
        expires_at: null,
        // Sorted and each once, as the HTTP API stores them.
        scopes: ['credentials', 'read'],
      });
      await withLibrary(async (tessera) => {
        const principal = principalOf(await authenticate(tessera, `Bearer ${printed.token}`));
        expect(principal.credential.id).toBe(printed.id);
        expect([...(principal.scopes ?? [])].sort()).toEqual(['credentials', 'read']);
      });
    },
    CLI_TIMEOUT,
  );

  it(
    "lists a user's credentials as a table and as JSON, never with a secret",
    async () => {
      const created = await cli(['token', 'create', 'alice', '--name', 'ci', '--expires-in', '30d']);
      const token = created.stdout.trim();
      expect(token).toMatch(TOKEN);
      const keys = JSON.parse((await cli(['keys', 'generate', 'alice', '--json'])).stdout) as { api_secret: string };

      const table = await cli(['token', 'list', 'alice']);
      expect(table.code, table.stderr).toBe(0);
      expect(table.stdout).not.toContain(token.slice(10));
      expect(table.stdout).not.toContain(keys.api_secret);
      const rows = table.stdout.trimEnd().split('\n');
      expect(rows[0]?.split(/\s{2,}/)).toEqual(['ID', 'KIND', 'NAME', 'PREFIX', 'CREATED', 'LAST USED', 'EXPIRES']);
      const tokenRow = rows.find((r) => r.includes(' personal '));
      expect(tokenRow).toBeDefined();
      expect(tokenRow).toContain(` ci `);
      expect(tokenRow).toContain(token.slice(0, 10));
      expect(rows.some((r) => r.includes(' api-key '))).toBe(true);

      const json = await cli(['token', 'list', 'alice', '--json']);
      expect(json.code, json.stderr).toBe(0);
      expect(json.stdout).not.toContain(token.slice(10));
      expect(json.stdout).not.toContain(keys.api_secret);
      const listed = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
      expect(listed.map((c) => c.kind).sort()).toEqual(['api-key', 'personal']);
      const entry = listed.find((c) => c.kind === 'personal');
      expect(entry).toMatchObject({ name: 'ci', prefix: token.slice(0, 10) });
      expect(JSON.stringify(entry)).not.toMatch(/secret|digest|sealed|lookup/i);

      const empty = await cli(['user', 'create', 'bob', '--password-stdin'], `${PASSWORD}\n`);
      expect(empty.code).toBe(0);
      const none = await cli(['token', 'list', 'bob', '--json']);
      expect(JSON.parse(none.stdout)).toEqual([]);
    },
    CLI_TIMEOUT,
  );

  it(
    'revokes a token by id, after which it no longer authenticates',
    async () => {
      const keep = JSON.parse((await cli(['token', 'create', 'alice', '--name', 'keep', '--json'])).stdout);
      const gone = JSON.parse((await cli(['token', 'create', 'alice', '--name', 'gone', '--json'])).stdout);
      const revoked = await cli(['token', 'revoke', String(gone.id)]);
      expect(revoked.code, revoked.stderr).toBe(0);
      expect(revoked.stdout).toBe(`revoked credential ${gone.id} (personal)\n`);

      await withLibrary(async (tessera) => {
        expect(await authenticate(tessera, `Bearer ${gone.token}`)).toMatchObject({
          ok: false,
          code: 'INVALID_CREDENTIALS',
        });
        expect(principalOf(await authenticate(tessera, `Bearer ${keep.token}`)).credential.id).toBe(keep.id);
      });
      const listed = JSON.parse((await cli(['token', 'list', 'alice', '--json'])).stdout) as Array<{ id: number }>;
      expect(listed.map((c) => c.id)).toEqual([keep.id]);

      expectOneLineRefusal(
        await cli(['token', 'revoke', String(gone.id)]),
        new RegExp(`no credential with id ${gone.id}`),
      );
    },
    CLI_TIMEOUT,
  );

  /** Runs each refused command, three at a time, and checks its one-line refusal. */
  async function expectRefusals(cases: Array<[string[], RegExp]>): Promise<void> {
    const queue = [...cases];
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const [args, reason] = next;
        const result = await cli(args);
        expectOneLineRefusal(result, reason);
      }
    };
    await Promise.all([worker(), worker(), worker()]);
    await withLibrary(async (tessera) => {
      expect(await tessera.credentials.listForUser(1)).toEqual([]);
    });
  }

  it(
    'refuses an unknown user with exit 1 and one tessera: line',
    async () => {
      await expectRefusals([
        [['keys', 'generate', 'nobody'], /no user named nobody/],
        [['token', 'create', 'nobody'], /no user named nobody/],
        [['token', 'list', 'nobody'], /no user named nobody/],
      ]);
    },
    CLI_TIMEOUT,
  );

  it(
    'refuses a bad --expires-in, --scopes or --name with exit 1 and one tessera: line, making nothing',
    async () => {
      await expectRefusals([
        [['token', 'create', 'alice', '--expires-in', 'soon'], /--expires-in soon/],
        [['token', 'create', 'alice', '--expires-in', '30x'], /--expires-in 30x/],
        [['token', 'create', 'alice', '--expires-in', '0'], /--expires-in 0/],
        [['token', 'create', 'alice', '--expires-in=-1d'], /--expires-in -1d/],
        [['token', 'create', 'alice', '--expires-in', ''], /--expires-in/],
        [['token', 'create', 'alice', '--scopes', 'Not A Scope'], /scopes/],
        [['token', 'create', 'alice', '--name', ''], /--name/],
      ]);
    },
    CLI_TIMEOUT,
  );

  it(
    'refuses a bad or unknown credential id with exit 1 and one tessera: line',
    async () => {
      await expectRefusals([
        [['token', 'revoke', 'abc'], /abc is not a credential id/],
        [['token', 'revoke', '0'], /0 is not a credential id/],
        [['token', 'revoke', '1.5'], /not a credential id/],
        [['token', 'revoke', '999999'], /no credential with id 999999/],
      ]);
    },
    CLI_TIMEOUT,
  );
});
