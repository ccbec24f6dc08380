import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { CLI, type CliResult, cliEnv, runCli, startServe } from './helpers/cli.js';
import { freshDatabase, PASSWORD } from './helpers/harness.js';
import { within } from './helpers/poll.js';

// Each test starts real `tessera serve` processes; a loaded machine makes that slow, not stuck.
vi.setConfig({ testTimeout: 120_000 });

/** issue 14 items 5–7: `tessera serve` refuses with one line naming the file and the fix, exit 1. */
function expectRefusal(result: CliResult, reason: RegExp): void {
  expect(result.code, result.stderr).toBe(1);
  expect(result.stdout).not.toMatch(/listening/);
  expect(result.stderr.endsWith('\n')).toBe(true);
  const lines = result.stderr.slice(0, -1).split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^tessera: /);
  expect(lines[0]).toMatch(reason);
}

const isRoot = process.getuid?.() === 0;

describe('tessera serve on a SQLite path that cannot be a database', () => {
  let cwd: string;
  beforeEach(() => {
    cwd = mkdtempSync(join(tmpdir(), 'tessera-startup-'));
  });
  afterEach(() => rmSync(cwd, { recursive: true, force: true }));

  const serve = (database: string, extra: Record<string, string> = {}) =>
    runCli(['serve', '--port', '0', '--database', database], { cwd, env: cliEnv(extra), timeoutMs: 30_000 });

  it('names a directory given as the database', async () => {
    const dir = join(cwd, 'adir');
    mkdirSync(dir);
    expectRefusal(await serve(dir), new RegExp(`${dir} is a directory, not a file`));
    expect(readdirSync(dir)).toEqual([]);
  });

  it('names a file that is not a SQLite database, and /proc/version', async () => {
    const notes = join(cwd, 'notes.txt');
    writeFileSync(notes, 'shopping list\n', { mode: 0o600 });
    expectRefusal(await serve(notes), new RegExp(`${notes} is not a SQLite database`));
    if (existsSync('/proc/version')) {
      expectRefusal(await serve('/proc/version'), /\/proc\/version is not a SQLite database/);
    }
    // No key file was made for a database that was never opened.
    expect(readdirSync(cwd)).toEqual(['notes.txt']);
  });

  it.skipIf(isRoot)('names a database file it may not read', async () => {
    const locked = join(cwd, 'locked.db');
    writeFileSync(locked, '', { mode: 0o000 });
    expectRefusal(await serve(locked), new RegExp(`${locked} cannot be read \\(permission denied\\)`));
  });

  it('says a missing directory does not exist and creates nothing', async () => {
    const typo = join(cwd, 'nonexistent', 'dir', 't.db');
    expectRefusal(
      await serve(typo),
      new RegExp(`the directory ${join(cwd, 'nonexistent', 'dir')} for the SQLite database ${typo} does not exist`),
    );
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('creates the database, its -wal and -shm files and its key file with mode 0600', async () => {
    const database = join(cwd, 'data.db');
    const server = await startServe(['--database', database], { cwd, env: cliEnv() });
    try {
      // A write puts pages in the WAL: the -wal and -shm files exist while the server runs.
      const created = await runCli(['user', 'create', 'alice', '--password-stdin', '--database', database], {
        cwd,
        env: cliEnv(),
        input: `${PASSWORD}\n`,
      });
      expect(created.stderr).toBe('');
      for (const name of ['data.db', 'data.db-wal', 'data.db-shm', 'data.db.key']) {
        expect(statSync(join(cwd, name)).mode & 0o777, name).toBe(0o600);
      }
    } finally {
      server.kill();
      await server.exited(10_000);
    }
  });

  it('refuses a database that group or others may read, with the chmod to run', async () => {
    const database = join(cwd, 'data.db');
    expect((await runCli(['migrate', '--database', database], { cwd, env: cliEnv() })).code).toBe(0);
    for (const mode of [0o644, 0o640, 0o604]) {
      chmodSync(database, mode);
      expectRefusal(
        await serve(database),
        new RegExp(
          `${database} \\(mode ${mode.toString(8)}\\) may be read by group or others; run: chmod 600 ${database}$`,
        ),
      );
    }
    chmodSync(database, 0o600);
    // SQLite gives -wal/-shm files the database's mode: a readable one left over is named too.
    writeFileSync(`${database}-wal`, '', { mode: 0o644 });
    chmodSync(`${database}-wal`, 0o644);
    expectRefusal(await serve(database), new RegExp(`run: chmod 600 ${database}-wal$`));
  });
});

describe('tessera serve with a master key the database was not made with', () => {
  let cwd: string;
  beforeEach(() => {
    cwd = mkdtempSync(join(tmpdir(), 'tessera-startup-key-'));
  });
  afterEach(() => rmSync(cwd, { recursive: true, force: true }));

  const serve = (env: NodeJS.ProcessEnv) => runCli(['serve', '--port', '0'], { cwd, env, timeoutMs: 30_000 });

  async function makeDatabase(env: NodeJS.ProcessEnv): Promise<void> {
    const created = await runCli(['user', 'create', 'alice', '--password-stdin'], { cwd, env, input: `${PASSWORD}\n` });
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
  }

  it('never replaces a lost key file beside a database that has data', async () => {
    const env = cliEnv({ TESSERA_DATABASE_URL: join(cwd, 'data.db') });
    await makeDatabase(env);
    const keyFile = join(cwd, 'data.db.key');
    rmSync(keyFile);
    expectRefusal(
      await serve(env),
      new RegExp(
        `master key file ${keyFile} does not exist, but the database ${join(cwd, 'data.db')} already holds data \\(made under key id [0-9a-f]{12}\\)`,
      ),
    );
    expect(existsSync(keyFile)).toBe(false);
  });

  it('refuses another key, even on a database made before the key id was recorded', async () => {
    const database = join(cwd, 'data.db');
    const original = randomBytes(32).toString('base64');
    await makeDatabase(cliEnv({ TESSERA_DATABASE_URL: database, TESSERA_MASTER_KEY: original }));
    const other = cliEnv({ TESSERA_DATABASE_URL: database, TESSERA_MASTER_KEY: randomBytes(32).toString('base64') });
    const mismatch =
      /this master key \(key id [0-9a-f]{12}\) does not match the database .*data\.db \(made under key id [0-9a-f]{12}\)/;
    expectRefusal(await serve(other), mismatch);

    // As a database from before migration 007 would be: no record, only sealed values.
    const sqlite = new Sqlite(database);
    sqlite.prepare("delete from meta where name = 'master_key_id'").run();
    sqlite.close();
    expectRefusal(await serve(other), mismatch);

    // The right key still opens it (and records its id again).
    const server = await startServe([], {
      cwd,
      env: cliEnv({ TESSERA_DATABASE_URL: database, TESSERA_MASTER_KEY: original }),
    });
    server.kill();
    await server.exited(10_000);
  });

  it('accepts a rotated key whose predecessor is listed in TESSERA_PREVIOUS_MASTER_KEYS', async () => {
    const database = join(cwd, 'data.db');
    const original = randomBytes(32).toString('base64');
    await makeDatabase(cliEnv({ TESSERA_DATABASE_URL: database, TESSERA_MASTER_KEY: original }));
    const rotated = cliEnv({
      TESSERA_DATABASE_URL: database,
      TESSERA_MASTER_KEY: randomBytes(32).toString('base64'),
      TESSERA_PREVIOUS_MASTER_KEYS: original,
    });
    const listed = await runCli(['user', 'list', '--json'], { cwd, env: rotated });
    expect(listed.stderr).toBe('');
    expect(JSON.parse(listed.stdout)).toHaveLength(1);
  });

  it('gives two databases in one folder a key file each, and still reads an older tessera.key', async () => {
    await makeDatabase(cliEnv({ TESSERA_DATABASE_URL: join(cwd, 'a.db') }));
    await makeDatabase(cliEnv({ TESSERA_DATABASE_URL: join(cwd, 'b.db') }));
    expect(readdirSync(cwd).filter((name) => name.endsWith('.key'))).toEqual(['a.db.key', 'b.db.key']);

    // An install from before: its key is tessera.key, and no c.db.key is made beside it.
    const legacy = join(cwd, 'tessera.key');
    writeFileSync(legacy, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    const env = cliEnv({ TESSERA_DATABASE_URL: join(cwd, 'c.db') });
    await makeDatabase(env);
    expect(existsSync(join(cwd, 'c.db.key'))).toBe(false);
    rmSync(legacy);
    expectRefusal(await serve(env), /c\.db already holds data/);
  });

  it.skipIf(!inject('postgresUrl'))('refuses PostgreSQL with the wrong TESSERA_MASTER_KEY', async () => {
    const database = await freshDatabase('postgres');
    try {
      await makeDatabase(
        cliEnv({ TESSERA_DATABASE_URL: database.url, TESSERA_MASTER_KEY: randomBytes(32).toString('base64') }),
      );
      expectRefusal(
        await serve(
          cliEnv({ TESSERA_DATABASE_URL: database.url, TESSERA_MASTER_KEY: randomBytes(32).toString('base64') }),
        ),
        /this master key \(key id [0-9a-f]{12}\) does not match the database postgres:.* \(made under key id [0-9a-f]{12}\)/,
      );
    } finally {
      await database.dispose();
    }
  });
});

describe.skipIf(!existsSync('/usr/bin/script'))('tessera serve logs', () => {
  let cwd: string;
  beforeEach(() => {
    cwd = mkdtempSync(join(tmpdir(), 'tessera-startup-tty-'));
  });
  afterEach(() => rmSync(cwd, { recursive: true, force: true }));

  it('prints human-readable lines, not JSON, when standard output is a terminal', async () => {
    // script(1) gives the server a pseudo-terminal as standard output.
    const command = [process.execPath, CLI, 'serve', '--port', '0', '--database', join(cwd, 't.db')]
      .map((part) => `'${part}'`)
      .join(' ');
    const child = spawn('/usr/bin/script', ['-qefc', command, '/dev/null'], {
      cwd,
      env: cliEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    try {
      await within(30_000, async () => /tessera listening on/.test(output));
      const lines = output.split(/\r?\n/).filter((line) => line !== '');
      expect(lines.find((line) => line.includes('database schema migrated'))).toMatch(
        /^\d\d:\d\d:\d\d\.\d{3} INFO {2}database schema migrated {2}migrations=\["001-initial",/,
      );
      expect(lines.find((line) => line.includes('listening'))).toMatch(
        /^\d\d:\d\d:\d\d\.\d{3} INFO {2}tessera listening on http:\/\/127\.0\.0\.1:\d+ {2}database=\//,
      );
      expect(output).not.toContain('{"level"');
    } finally {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }
  });
});
