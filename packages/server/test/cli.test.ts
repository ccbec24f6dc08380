import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { openTessera, type Tessera } from '../src/tessera.js';
import { type CliResult, cliEnv, expectOneLineRefusal, runCli, type ServeProcess, startServe } from './helpers/cli.js';
import {
  type DatabaseKind,
  describeEachDatabase,
  freshDatabase,
  PASSWORD,
  TEST_MASTER_KEY,
} from './helpers/harness.js';

// Tests here spawn several real node processes each; on a loaded machine that is slow, not stuck.
vi.setConfig({ testTimeout: 120_000 });

/** Success: exit status 0 and nothing on stderr (shown when it fails). */
function expectSuccess(result: CliResult): void {
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'tessera-cli-'));
}

describeEachDatabase('tessera CLI', (kind: DatabaseKind) => {
  let database: { url: string; dispose(): Promise<void> };
  let cwd: string;
  let env: NodeJS.ProcessEnv;
  const servers: ServeProcess[] = [];

  beforeEach(async () => {
    database = await freshDatabase(kind);
    cwd = tempDir();
    // SQLite: no key in the environment, so the CLI makes `tessera.db.key` beside the database.
    env = cliEnv(
      kind === 'sqlite'
        ? { TESSERA_DATABASE_URL: database.url }
        : { TESSERA_DATABASE_URL: database.url, TESSERA_MASTER_KEY: TEST_MASTER_KEY },
    );
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) server.kill();
    rmSync(cwd, { recursive: true, force: true });
    await database.dispose();
  });

  const cli = (args: string[], input?: string) => runCli(args, { cwd, env, ...(input !== undefined && { input }) });

  /** Opens the same database the CLI uses, with the same configuration, runs `work`, closes. */
  async function withLibrary<T>(work: (tessera: Tessera) => Promise<T>): Promise<T> {
    const tessera = await openTessera(resolveConfig(env, { logLevel: 'silent' }));
    try {
      return await work(tessera);
    } finally {
      await tessera.close();
    }
  }

  const canLogIn = (tessera: Tessera, username: string, password: string) =>
    tessera.passwordLogin
      .attempt({ username, password, clientAddress: '127.0.0.1', via: 'test' })
      .then((outcome) => outcome.ok);

  it('creates an admin from the password on stdin, dropping exactly one trailing newline and nothing else', async () => {
    const created = await cli(['user', 'create', 'alice', '--admin', '--password-stdin'], `${PASSWORD} \n`);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toBe('created user alice (id 1, admin)\n');

    const twoNewlines = await cli(['user', 'create', 'bob', '--password-stdin'], `${PASSWORD}\n\n`);
    expect(twoNewlines.code).toBe(0);
    expect(twoNewlines.stdout).toBe('created user bob (id 2)\n');
    const crlf = await cli(['user', 'create', 'carol', '--password-stdin'], `${PASSWORD}\r\n`);
    expect(crlf.code).toBe(0);
    const noNewline = await cli(['user', 'create', 'dave', '--password-stdin'], PASSWORD);
    expect(noNewline.code).toBe(0);

    await withLibrary(async (tessera) => {
      const alice = await tessera.users.findByUsername('alice');
      expect(alice?.roles).toEqual(['admin']);
      expect((await tessera.users.findByUsername('bob'))?.roles).toEqual([]);
      // The trailing space is part of alice's password.
      expect(await canLogIn(tessera, 'alice', `${PASSWORD} `)).toBe(true);
      expect(await canLogIn(tessera, 'alice', PASSWORD)).toBe(false);
      expect(await canLogIn(tessera, 'alice', `${PASSWORD} \n`)).toBe(false);
      // Only one of bob's two newlines was dropped.
      expect(await canLogIn(tessera, 'bob', `${PASSWORD}\n`)).toBe(true);
      expect(await canLogIn(tessera, 'bob', PASSWORD)).toBe(false);
      expect(await canLogIn(tessera, 'carol', PASSWORD)).toBe(true);
      expect(await canLogIn(tessera, 'dave', PASSWORD)).toBe(true);
    });
  });

  it('lists users as a table and as JSON, never with a password hash', async () => {
    expectSuccess(await cli(['user', 'create', 'alice', '--admin', '--password-stdin'], `${PASSWORD}\n`));
    expectSuccess(
      await cli(['user', 'create', 'bob', '--email', 'bob@example.com', '--password-stdin'], `${PASSWORD}\n`),
    );

    const table = await cli(['user', 'list']);
    expect(table.code).toBe(0);
    expect(table.stderr).toBe('');
    const rows = table.stdout.trimEnd().split('\n');
    expect(rows).toHaveLength(3);
    expect(rows[0]?.split(/\s+/)).toEqual(['ID', 'USERNAME', 'EMAIL', 'ACTIVE', 'ROLES']);
    expect(rows[1]?.split(/\s+/)).toEqual(['1', 'alice', 'yes', 'admin']);
    expect(rows[2]?.split(/\s+/)).toEqual(['2', 'bob', 'bob@example.com', 'yes']);

    const json = await cli(['user', 'list', '--json']);
    expect(json.code).toBe(0);
    const users = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    expect(users.map((u) => [u.id, u.username, u.email, u.is_active, u.is_staff, u.roles])).toEqual([
      [1, 'alice', '', true, true, ['admin']],
      [2, 'bob', 'bob@example.com', true, false, []],
    ]);
    for (const user of users) {
      expect(Object.keys(user).sort()).toEqual([
        'date_joined',
        'email',
        'id',
        'is_active',
        'is_staff',
        'last_login',
        'roles',
        'username',
      ]);
    }
    for (const output of [table.stdout, json.stdout]) expect(output).not.toMatch(/argon2|password|hash|\$/i);
  });

  it('set-password makes the old password stop working, the new one work, and ends the user’s sessions', async () => {
    expectSuccess(await cli(['user', 'create', 'alice', '--password-stdin'], `${PASSWORD}\n`));
    const session = await withLibrary(async (tessera) => {
      const alice = await tessera.users.findByUsername('alice');
      return tessera.sessions.create(alice?.id ?? -1);
    });

    const changed = await cli(['user', 'set-password', 'alice', '--password-stdin'], 'a brand new passphrase\n');
    expect(changed.stderr).toBe('');
    expect(changed.code).toBe(0);
    expect(changed.stdout).toBe('password of alice changed; their sessions were ended\n');

    await withLibrary(async (tessera) => {
      expect(await canLogIn(tessera, 'alice', PASSWORD)).toBe(false);
      expect(await canLogIn(tessera, 'alice', 'a brand new passphrase')).toBe(true);
      expect(await tessera.sessions.find(session.secret)).toBeNull();
    });
  });

  it('deletes a user with their sessions; the user is gone from the list and cannot log in', async () => {
    expectSuccess(await cli(['user', 'create', 'alice', '--admin', '--password-stdin'], `${PASSWORD}\n`));
    expectSuccess(await cli(['user', 'create', 'bob', '--password-stdin'], `${PASSWORD}\n`));
    const session = await withLibrary(async (tessera) =>
      tessera.sessions.create((await tessera.users.findByUsername('bob'))?.id ?? -1),
    );

    const deleted = await cli(['user', 'delete', 'bob']);
    expect(deleted.stderr).toBe('');
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toBe('deleted user bob\n');

    const listing = await cli(['user', 'list', '--json']);
    expectSuccess(listing);
    const listed = JSON.parse(listing.stdout) as Array<{ username: string }>;
    expect(listed.map((u) => u.username)).toEqual(['alice']);
    await withLibrary(async (tessera) => {
      expect(await tessera.users.findByUsername('bob')).toBeUndefined();
      expect(await tessera.sessions.find(session.secret)).toBeNull();
      expect(await canLogIn(tessera, 'bob', PASSWORD)).toBe(false);
    });
  });

  it('migrates a fresh database once, and then says it is up to date', async () => {
    const first = await cli(['migrate']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const applied = /^applied (\d+) migration\(s\) to .+: ([\w, -]+)\n$/.exec(first.stdout);
    expect(applied, first.stdout).not.toBeNull();
    const names = applied?.[2]?.split(', ') ?? [];
    expect(names[0]).toBe('001-initial');
    expect(names).toHaveLength(Number(applied?.[1]));
    expect([...names].sort()).toEqual(names);
    const second = await cli(['migrate']);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^database .+ is up to date\n$/);
    if (kind === 'sqlite') expect(second.stdout).toContain(database.url);
  });

  it('answers --help on every command with its usage and exit status 0', async () => {
    const commands = [
      [],
      ['serve'],
      ['migrate'],
      ['user'],
      ['user', 'create'],
      ['user', 'list'],
      ['user', 'set-password'],
      ['user', 'delete'],
    ];
    for (const command of commands) {
      const result = await cli([...command, '--help']);
      expect(result.code, command.join(' ')).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(new RegExp(`^Usage: tessera ${command.join(' ')}`.trimEnd()));
    }
    // No database was needed to print help.
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('refuses a duplicate user with one line on stderr and leaves the first user as it was', async () => {
    expectSuccess(await cli(['user', 'create', 'alice', '--password-stdin'], `${PASSWORD}\n`));
    const duplicate = await cli(['user', 'create', 'alice', '--admin', '--password-stdin'], 'another passphrase\n');
    expectOneLineRefusal(duplicate, /already exists/);
    await withLibrary(async (tessera) => {
      expect((await tessera.users.findByUsername('alice'))?.roles).toEqual([]);
      expect(await canLogIn(tessera, 'alice', PASSWORD)).toBe(true);
    });
  });

  it('refuses unknown users, a missing --password-stdin and bad passwords with one line on stderr', async () => {
    expectOneLineRefusal(await cli(['user', 'delete', 'nobody']), /no user named nobody/);
    expectOneLineRefusal(
      await cli(['user', 'set-password', 'nobody', '--password-stdin'], `${PASSWORD}\n`),
      /no user named nobody/,
    );
    expectOneLineRefusal(await cli(['user', 'create', 'alice'], `${PASSWORD}\n`), /--password-stdin/);
    expectOneLineRefusal(await cli(['user', 'set-password', 'alice'], `${PASSWORD}\n`), /--password-stdin/);
    expectOneLineRefusal(await cli(['user', 'create', 'alice', '--password-stdin'], 'seven77\n'), /at least 8/);
    expectOneLineRefusal(await cli(['user', 'create', 'alice', '--password-stdin'], 'password\n'), /too common/);
    expectOneLineRefusal(await cli(['user', 'create', 'alice', '--password-stdin'], ''), /no password/);
    expectOneLineRefusal(await cli(['user', 'create', 'al:ice', '--password-stdin'], `${PASSWORD}\n`), /username/);
    // Nothing was created by any of them.
    const listed = await cli(['user', 'list', '--json']);
    expectSuccess(listed);
    expect(JSON.parse(listed.stdout)).toEqual([]);
  });

  it('refuses an unsupported database URL with one line, creating no file at all', async () => {
    for (const args of [
      ['user', 'list', '--database', 'mysql://x'],
      ['migrate', '--database', 'mysql://x'],
      ['serve', '--database', 'mysql://x'],
    ]) {
      expectOneLineRefusal(await cli(args), /unsupported database URL/);
    }
    expectOneLineRefusal(
      // The real binary, for its exit status and stderr: most commands here run in-process.
      await runCli(['user', 'list'], { cwd, env: { ...env, TESSERA_DATABASE_URL: 'mysql://x' }, process: true }),
      /unsupported database URL/,
    );
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('exits 0 on a SIGTERM that arrives as soon as it says it is listening', async () => {
    const server = await startServe([], { cwd, env });
    servers.push(server);
    server.child.kill('SIGTERM');
    expect(await server.exited(5000)).toEqual({ code: 0, signal: null });
    expect(server.stderr()).toBe('');
  });

  it('serves /healthz on the port it logs, exits 0 on SIGTERM, and starts again on the migrated database', async () => {
    const first = await startServe([], { cwd, env });
    servers.push(first);
    expect(first.firstLine.level).toBe(30);
    // "listening" comes only once the fresh database is migrated (issue 14 item 9).
    const migrated = first.stdout().indexOf('database schema migrated');
    expect(migrated).toBeGreaterThanOrEqual(0);
    expect(migrated).toBeLessThan(first.stdout().indexOf('tessera listening on'));
    expect(first.port).toBeGreaterThan(0);
    const health = await fetch(`${first.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    first.child.kill('SIGTERM');
    expect(await first.exited(5000)).toEqual({ code: 0, signal: null });
    expect(first.stdout()).toMatch(/"signal":"SIGTERM"/);
    expect(first.stderr()).toBe('');

    // Same database, now migrated: it answers as soon as it says it listens. How fast it gets
    // there is a figure for `npm run bench` (start-up scenario), not a bound for a shared CI box.
    const second = await startServe([], { cwd, env });
    servers.push(second);
    expect((await fetch(`${second.url}/healthz`)).status).toBe(200);
    expect(second.stdout()).not.toContain('database schema migrated');
    second.child.kill('SIGTERM');
    expect((await second.exited(5000)).code).toBe(0);
  });
});

describe('tessera CLI master key on SQLite', () => {
  let cwd: string;
  beforeEach(() => {
    cwd = tempDir();
  });
  afterEach(() => rmSync(cwd, { recursive: true, force: true }));

  it('creates app.db.key beside the database on first start, mode 0600, and reuses it', async () => {
    mkdirSync(join(cwd, 'data'));
    const env = cliEnv();
    const created = await runCli(['user', 'create', 'alice', '--password-stdin', '--database', 'data/app.db'], {
      cwd,
      env,
      input: `${PASSWORD}\n`,
    });
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const keyPath = join(cwd, 'data', 'app.db.key');
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    expect(existsSync(join(cwd, 'data', 'tessera.key'))).toBe(false);
    const key = readFileSync(keyPath, 'utf8');
    expect(key).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    expect(existsSync(join(cwd, 'tessera.key'))).toBe(false);

    const listed = await runCli(['user', 'list', '--database', 'data/app.db'], { cwd, env });
    expect(listed.code).toBe(0);
    expect(readFileSync(keyPath, 'utf8')).toBe(key);
  });

  it('uses ./tessera.db and ./tessera.db.key by default', async () => {
    const result = await runCli(['migrate'], { cwd, env: cliEnv() });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(join(cwd, 'tessera.db'));
    const listed = await runCli(['user', 'list'], { cwd, env: cliEnv() });
    expect(listed.code).toBe(0);
    expect(statSync(join(cwd, 'tessera.db.key')).mode & 0o777).toBe(0o600);
  });

  it('refuses a key file that others may read, with one line that says how to chmod it', async () => {
    // The name older installs have: still read when no tessera.db.key exists.
    const keyPath = join(cwd, 'tessera.key');
    writeFileSync(keyPath, `${randomBytes(32).toString('base64')}\n`);
    for (const mode of [0o644, 0o640, 0o604]) {
      chmodSync(keyPath, mode);
      const result = await runCli(['user', 'list'], { cwd, env: cliEnv() });
      expectOneLineRefusal(result, /chmod 600/);
      expect(result.stderr).toContain(keyPath);
      expect(result.stderr).toContain(`mode ${mode.toString(8)}`);
    }
    // The refusal came before the database was touched.
    expect(readdirSync(cwd)).toEqual(['tessera.key']);
    chmodSync(keyPath, 0o600);
    expect((await runCli(['user', 'list'], { cwd, env: cliEnv() })).code).toBe(0);
  });

  it('refuses a TESSERA_MASTER_KEY that is not 32 bytes, and makes no key file or database', async () => {
    for (const bytes of [16, 31, 33, 64]) {
      const result = await runCli(['user', 'list'], {
        cwd,
        env: cliEnv({ TESSERA_MASTER_KEY: randomBytes(bytes).toString('base64') }),
      });
      expectOneLineRefusal(result, new RegExp(`TESSERA_MASTER_KEY must be 32 bytes .*got ${bytes} bytes`));
    }
    const junk = await runCli(['user', 'list'], { cwd, env: cliEnv({ TESSERA_MASTER_KEY: `${'!'.repeat(43)}=` }) });
    expectOneLineRefusal(junk, /TESSERA_MASTER_KEY must be 32 bytes/);
    expect(readdirSync(cwd)).toEqual([]);

    const good = await runCli(['user', 'list'], { cwd, env: cliEnv({ TESSERA_MASTER_KEY: TEST_MASTER_KEY }) });
    expect(good.code).toBe(0);
    expect(existsSync(join(cwd, 'tessera.key'))).toBe(false);
    expect(existsSync(join(cwd, 'tessera.db.key'))).toBe(false);
  });
});

describe.skipIf(!inject('postgresUrl'))('tessera CLI master key on PostgreSQL', () => {
  let cwd: string;
  let database: { url: string; dispose(): Promise<void> };
  beforeEach(async () => {
    cwd = tempDir();
    database = await freshDatabase('postgres');
  });
  afterEach(async () => {
    rmSync(cwd, { recursive: true, force: true });
    await database.dispose();
  });

  it('refuses to run without a master key, with one line naming the variables, before touching the database', async () => {
    const env = cliEnv({ TESSERA_DATABASE_URL: database.url });
    const commands: Array<[string[], string?]> = [
      [['user', 'list']],
      [['user', 'create', 'alice', '--password-stdin'], `${PASSWORD}\n`],
      [['serve', '--port', '0']],
    ];
    for (const [args, input] of commands) {
      const result = await runCli(args, { cwd, env, ...(input !== undefined && { input }) });
      expectOneLineRefusal(result, /TESSERA_MASTER_KEY/);
      expect(result.stderr).toMatch(/master key/);
    }
    const schema = new URL(database.url).searchParams.get('schema');
    const client = new pg.Client({ connectionString: inject('postgresUrl') });
    await client.connect();
    try {
      const found = await client.query('select 1 from information_schema.schemata where schema_name = $1', [schema]);
      expect(found.rowCount).toBe(0);
    } finally {
      await client.end();
    }
    expect(readdirSync(cwd)).toEqual([]);
  });
});
