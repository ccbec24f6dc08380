import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dictionary } from '@zxcvbn-ts/language-common';
import argon2 from 'argon2';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { cliEnv, runCli } from '../helpers/cli.js';
import { auditRows } from '../helpers/credentials.js';
import {
  describeEachDatabase,
  login,
  PASSWORD,
  type Session,
  startServer,
  TEST_MASTER_KEY,
  type TestServer,
} from '../helpers/harness.js';
import { api, sessionRows, whoamiStatus } from '../helpers/requests.js';

/** `$argon2id$v=19$<params>$<salt>$<hash>`: the PHC string format, salt and hash in unpadded base64. */
const PHC = /^\$argon2id\$v=19\$([a-z]=\d+(?:,[a-z]=\d+)*)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** A PHC string's parts, its parameters by name (their order is the library's choice). */
function parsePhc(phc: string): { m: number; t: number; p: number; salt: Buffer; hash: Buffer } | undefined {
  const match = PHC.exec(phc);
  if (!match) return undefined;
  const params = Object.fromEntries((match[1] ?? '').split(',').map((kv) => kv.split('=') as [string, string]));
  return {
    m: Number(params.m),
    t: Number(params.t),
    p: Number(params.p),
    salt: Buffer.from(match[2] ?? '', 'base64'),
    hash: Buffer.from(match[3] ?? '', 'base64'),
  };
}

const POLICY = { m: 19456, t: 2, p: 1 };
const paramsOf = (phc: string) => {
  const parsed = parsePhc(phc);
  return parsed && { m: parsed.m, t: parsed.t, p: parsed.p };
};

describeEachDatabase('SECURITY A: passwords', (kind) => {
  let server: TestServer;
  let admin: Session;

  beforeEach(async () => {
    server = await startServer(kind);
    await server.createUser('admin', PASSWORD, { admin: true });
    admin = await login(server, 'admin', PASSWORD);
  });
  afterEach(() => server.close());

  const storedHash = async (username: string) =>
    (
      await server.tessera.database.db
        .selectFrom('users')
        .select('password_hash')
        .where('username', '=', username)
        .executeTakeFirstOrThrow()
    ).password_hash ?? '';

  const loginStatus = async (username: string, password: string) => {
    const response = await api(server, 'POST', '/authentication/login/', { body: { username, password } });
    await response.arrayBuffer();
    return response.status;
  };

  const createUser = (username: string, password: string) =>
    api(server, 'POST', '/users/users/', { session: admin, body: { username, password } });

  it('A1 stores a password set through the API as an argon2id PHC string with m=19456, t=2, p=1 and a 16-byte salt', async () => {
    expect((await createUser('carol', PASSWORD)).status).toBe(201);
    const created = parsePhc(await storedHash('carol'));
    expect(created, 'a PHC string').toBeDefined();
    expect(created).toMatchObject(POLICY);
    expect(created?.salt.length).toBeGreaterThanOrEqual(16);
    expect(created?.hash.length).toBeGreaterThanOrEqual(32);

    // Every hash has its own salt: the same password set again hashes differently.
    const carol = await login(server, 'carol', PASSWORD);
    const change = await api(server, 'PATCH', '/users/users/2/', {
      session: carol,
      body: { password: PASSWORD, current_password: PASSWORD },
    });
    expect(change.status).toBe(200);
    const changed = parsePhc(await storedHash('carol'));
    expect(changed).toMatchObject(POLICY);
    expect(changed?.salt.equals(created?.salt ?? Buffer.alloc(0))).toBe(false);
  });

  it('A2 replaces a weaker argon2id hash and a Django pbkdf2 hash with a policy hash at the next successful login', async () => {
    const weak = await argon2.hash(PASSWORD, { type: argon2.argon2id, memoryCost: 4096, timeCost: 1, parallelism: 1 });
    const salt = randomBytes(9).toString('hex');
    const django = `pbkdf2_sha256$1000$${salt}$${pbkdf2Sync(PASSWORD, salt, 1000, 32, 'sha256').toString('base64')}`;
    await server.createUser('weak', PASSWORD);
    await server.createUser('legacy', PASSWORD);
    for (const [username, hash] of [
      ['weak', weak],
      ['legacy', django],
    ] as const) {
      await server.tessera.database.db
        .updateTable('users')
        .set({ password_hash: hash })
        .where('username', '=', username)
        .execute();
      // A failed login leaves the weak hash alone: only the right password may be rehashed.
      expect(await loginStatus(username, 'not the password')).toBe(400);
      expect(await storedHash(username)).toBe(hash);
      expect(await loginStatus(username, PASSWORD)).toBe(200);
      const now = await storedHash(username);
      expect(paramsOf(now), username).toEqual(POLICY);
      expect(await argon2.verify(now, PASSWORD)).toBe(true);
    }
    // A hash already at policy is left as it is.
    const atPolicy = await storedHash('admin');
    expect(await loginStatus('admin', PASSWORD)).toBe(200);
    expect(await storedHash('admin')).toBe(atPolicy);
  });

  it('A3 accepts any Unicode password and never trims, truncates or case-folds it', async () => {
    const passwords = {
      spaced: '  spaces at both ends  ',
      unicode: 'Ünïcødé пароль 密码 🔐🗝️ مرحبا',
      long: `${'k'.repeat(99)}A`,
    };
    for (const [username, password] of Object.entries(passwords)) {
      expect((await createUser(username, password)).status, username).toBe(201);
      expect(await loginStatus(username, password), username).toBe(200);
    }
    const refused: Array<[string, string]> = [
      ['spaced', passwords.spaced.trim()],
      ['spaced', ` ${passwords.spaced}`],
      ['unicode', passwords.unicode.toUpperCase()],
      ['unicode', passwords.unicode.toLowerCase()],
      ['unicode', passwords.unicode.replace('🗝️', '🗝')],
      // Differs only past bcrypt's 72 bytes, or by case of the last character.
      ['long', `${'k'.repeat(99)}B`],
      ['long', `${'k'.repeat(99)}a`],
      ['long', 'k'.repeat(72)],
    ];
    for (const [username, password] of refused) {
      expect(await loginStatus(username, password), JSON.stringify(password)).toBe(400);
    }
  });

  it('A4 takes 8 characters to 1024 bytes, checked in characters and bytes before any hashing', async () => {
    const cases: Array<[string, string, number]> = [
      ['seven', 'qz7#pk2', 400],
      ['sevenemoji', '🐙🦑🦀🦞🐡🐠🐟', 400],
      ['eight', 'qz7#pk2!', 201],
      ['eightemoji', '🐙🦑🦀🦞🐡🐠🐟🐬', 201],
      ['sixtyfour', 'Zq8'.repeat(21).concat('x'), 201],
      ['kibibyte', 'k'.repeat(1024), 201],
      ['overkib', 'k'.repeat(1025), 400],
    ];
    for (const [username, password, status] of cases) {
      const response = await createUser(username, password);
      expect(response.status, username).toBe(status);
      if (status === 400) {
        expect(await response.json()).toEqual({
          password: [
            password.length > 1000 ? 'Password must be at most 1024 bytes.' : 'Password must be at least 8 characters.',
          ],
        });
      } else {
        expect(await loginStatus(username, password), username).toBe(200);
      }
    }
  });

  it('A4 answers a 10,000-character password with a fast 400 before hashing', async () => {
    const hash = vi.spyOn(server.tessera.hasher, 'hash');
    const verify = vi.spyOn(server.tessera.hasher, 'verify');
    const dummy = vi.spyOn(server.tessera.hasher, 'verifyDummy');
    const huge = 'x'.repeat(10_000);

    const started = performance.now();
    const loginResponse = await api(server, 'POST', '/authentication/login/', {
      body: { username: 'admin', password: huge },
    });
    const loginMs = performance.now() - started;
    expect(loginResponse.status).toBe(400);
    expect(await loginResponse.json()).toEqual({ non_field_errors: ['Invalid username or password.'] });

    const createResponse = await createUser('huge', huge);
    expect(createResponse.status).toBe(400);
    expect(await createResponse.json()).toEqual({ password: ['Password must be at most 1024 bytes.'] });

    const change = await api(server, 'PATCH', '/users/users/1/', {
      session: admin,
      body: { password: huge, current_password: PASSWORD },
    });
    expect(change.status).toBe(400);

    // The change above checked the current password (one verify); nothing else reached argon2.
    expect(hash).not.toHaveBeenCalled();
    expect(dummy).not.toHaveBeenCalled();
    expect(verify).toHaveBeenCalledTimes(1);
    expect(verify.mock.calls.every(([, password]) => password === PASSWORD)).toBe(true);
    const tooLong = (await auditRows(server)).filter((row) => row.detail?.includes('"too_long"'));
    expect(tooLong).toHaveLength(1);
    // argon2id at 19 MiB takes tens of milliseconds; this answer took no hash at all.
    expect(loginMs).toBeLessThan(1_000);
  });

  it('A5 refuses the 3,000 most common passwords in any case, at creation and at a password change', async () => {
    const ranked = dictionary['passwords-common'] ?? [];
    const commonLongEnough = ranked.slice(0, 3000).filter((p) => [...p].length >= 8);
    const lastOfTop = commonLongEnough.at(-1) ?? '';
    const samples = [commonLongEnough[0] ?? '', 'Password1', 'QWERTYUIOP', lastOfTop];
    expect(samples.every((p) => p.length >= 8)).toBe(true);
    for (const [index, password] of samples.entries()) {
      const response = await createUser(`common${index}`, password);
      expect(response.status, password).toBe(400);
      expect(await response.json()).toEqual({ password: ['This password is too common.'] });
    }
    const change = await api(server, 'PATCH', '/users/users/1/', {
      session: admin,
      body: { password: lastOfTop, current_password: PASSWORD },
    });
    expect(change.status).toBe(400);
    expect(await change.json()).toEqual({ password: ['This password is too common.'] });
    expect(await loginStatus('admin', PASSWORD)).toBe(200);

    // Just past the list, an entry of the same dictionary is a password like any other.
    const beyond = ranked.slice(3000).find((p) => p.length >= 8 && !ranked.slice(0, 3000).includes(p.toLowerCase()));
    expect(beyond).toBeDefined();
    expect((await createUser('beyond', beyond ?? '')).status).toBe(201);
  });

  it('A6 changes a password only with the current one, and ends every other session of that user', async () => {
    await server.createUser('alice', PASSWORD);
    await server.createUser('bob', PASSWORD);
    const alice = await login(server, 'alice', PASSWORD);
    const aliceElsewhere = await login(server, 'alice', PASSWORD);
    const bob = await login(server, 'bob', PASSWORD);
    const next = 'a new and different passphrase';

    const missing = await api(server, 'PATCH', '/users/users/2/', { session: alice, body: { password: next } });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ current_password: ['This field is required.'] });
    const wrong = await api(server, 'PATCH', '/users/users/2/', {
      session: alice,
      body: { password: next, current_password: `${PASSWORD}!` },
    });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toEqual({ current_password: ['The current password is incorrect.'] });
    expect(await whoamiStatus(server, aliceElsewhere)).toBe(200);
    expect(await sessionRows(server, 2)).toHaveLength(2);

    const right = await api(server, 'PATCH', '/users/users/2/', {
      session: alice,
      body: { password: next, current_password: PASSWORD },
    });
    expect(right.status).toBe(200);
    expect(await whoamiStatus(server, aliceElsewhere)).toBe(401);
    expect(await whoamiStatus(server, alice)).toBe(200);
    expect(await whoamiStatus(server, bob)).toBe(200);
    expect(await sessionRows(server, 2)).toHaveLength(1);
    expect(await loginStatus('alice', PASSWORD)).toBe(400);
    expect(await loginStatus('alice', next)).toBe(200);
    const events = (await auditRows(server)).filter((row) => row.event === 'user.password_changed');
    expect(events).toMatchObject([{ actor_id: 2, subject_id: 2 }]);
  });
});

describeEachDatabase('SECURITY A7: no default accounts', (kind) => {
  let server: TestServer;
  let dir: string;
  beforeEach(async () => {
    server = await startServer(kind);
    dir = mkdtempSync(join(tmpdir(), 'tessera-a7-'));
  });
  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('A7 starts with no user at all, logs no one in with default credentials, and makes the first admin only when told', async () => {
    expect(await server.tessera.database.db.selectFrom('users').selectAll().execute()).toEqual([]);
    for (const [username, password] of [
      ['admin', 'admin'],
      ['admin', 'password'],
      ['admin', 'changeme'],
      ['root', 'root'],
      ['tessera', 'tessera'],
      ['user', 'userpassword'],
    ]) {
      const response = await api(server, 'POST', '/authentication/login/', { body: { username, password } });
      expect(response.status, `${username}:${password}`).toBe(400);
    }

    const created = await runCli(['user', 'create', 'first', '--admin', '--password-stdin'], {
      cwd: dir,
      env: cliEnv({ TESSERA_DATABASE_URL: server.databaseUrl, TESSERA_MASTER_KEY: TEST_MASTER_KEY }),
      input: `${PASSWORD}\n`,
    });
    expect(created.code, created.stderr).toBe(0);
    const users = await server.tessera.database.db.selectFrom('users').select(['username', 'roles']).execute();
    expect(users).toEqual([{ username: 'first', roles: '["admin"]' }]);
    const response = await api(server, 'POST', '/authentication/login/', {
      body: { username: 'first', password: PASSWORD },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ username: 'first', roles: ['admin'], is_staff: true });
  });
});
