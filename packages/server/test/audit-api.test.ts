import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { cliEnv, runCli, startCli } from './helpers/cli.js';
import { auditRows, columnsContaining } from './helpers/credentials.js';
import {
  describeEachDatabase,
  login,
  PASSWORD,
  type Session,
  startServer,
  TEST_MASTER_KEY,
  type TestServer,
} from './helpers/harness.js';
import { api } from './helpers/requests.js';

interface Entry {
  id: number;
  at: string;
  event: string;
  actor_id: number | null;
  subject_id: number | null;
  client_address: string | null;
  detail: Record<string, unknown> | null;
}
interface Page {
  entries: Entry[];
  next: string | null;
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describeEachDatabase('audit log: GET /v1/audit and tessera audit tail', (kind) => {
  let server: TestServer;
  let admin: Session;
  let adminId: number;
  let aliceId: number;

  beforeEach(async () => {
    server = await startServer(kind);
    adminId = (await server.createUser('root', PASSWORD, { admin: true })).id;
    aliceId = (await server.createUser('alice', PASSWORD)).id;
    admin = await login(server, 'root', PASSWORD);
  });
  afterEach(async () => {
    await server.close();
  });

  async function page(query = ''): Promise<Page> {
    const response = await api(server, 'GET', `/v1/audit${query}`, { session: admin });
    expect(response.status, await response.clone().text()).toBe(200);
    return (await response.json()) as Page;
  }

  it('records logins, logouts, credentials, keys and user changes with actor, subject, address and time', async () => {
    const alice = await login(server, 'alice', PASSWORD);
    await api(server, 'POST', '/authentication/login/', { body: { username: 'alice', password: 'not her password' } });
    const made = await api(server, 'POST', '/v1/credentials', { session: alice, body: { name: 'ci' } });
    const { id: tokenId } = (await made.json()) as { id: number };
    expect((await api(server, 'DELETE', `/v1/credentials/${tokenId}`, { session: alice })).status).toBe(204);
    expect((await api(server, 'POST', '/authentication/logout/', { session: alice })).status).toBe(200);
    const patch = (body: unknown) => api(server, 'PATCH', `/users/users/${aliceId}/`, { session: admin, body });
    expect((await patch({ roles: ['admin'] })).status).toBe(200);
    expect((await patch({ is_active: false })).status).toBe(200);

    const { entries } = await page();
    const events = entries.map((e) => e.event);
    for (const event of [
      'signing_key.created',
      'login.succeeded',
      'login.failed',
      'credential.created',
      'credential.revoked',
      'logout',
      'user.roles_changed',
      'user.deactivated',
    ]) {
      expect(events).toContain(event);
    }
    // Newest first.
    expect(entries.map((e) => e.id)).toEqual([...entries.map((e) => e.id)].sort((x, y) => y - x));
    expect(entries[0]?.event).toBe('user.deactivated');
    expect(entries[0]).toMatchObject({ actor_id: adminId, subject_id: aliceId, client_address: '127.0.0.1' });
    expect(entries[0]?.at).toMatch(ISO);
    const revoked = entries.find((e) => e.event === 'credential.revoked');
    expect(revoked).toMatchObject({ actor_id: aliceId, subject_id: aliceId, client_address: '127.0.0.1' });
    const failed = entries.find((e) => e.event === 'login.failed');
    expect(failed).toMatchObject({ client_address: '127.0.0.1' });
  });

  it('never records a password or a token secret', async () => {
    const wrong = 'a wrong password that must not be kept';
    await api(server, 'POST', '/authentication/login/', { body: { username: 'alice', password: wrong } });
    const alice = await login(server, 'alice', PASSWORD);
    const made = await api(server, 'POST', '/v1/credentials', { session: alice, body: { name: 'ci' } });
    const { token } = (await made.json()) as { token: string };
    const drf = await api(server, 'POST', '/api-token-auth/', { body: { username: 'alice', password: PASSWORD } });
    const { token: drfToken } = (await drf.json()) as { token: string };

    const rows = await auditRows(server);
    expect(rows.length).toBeGreaterThan(4);
    for (const secret of [PASSWORD, wrong, token, token.slice(12), drfToken, alice.sessionId, alice.csrfToken]) {
      expect(columnsContaining(rows, secret)).toEqual([]);
    }
    expect(JSON.stringify(await page())).not.toContain(token.slice(12));
  });

  it('is for admins only: 401 anonymous, 403 for a user, 403 for a scoped token without "audit"', async () => {
    expect((await api(server, 'GET', '/v1/audit')).status).toBe(401);
    const alice = await login(server, 'alice', PASSWORD);
    const forbidden = await api(server, 'GET', '/v1/audit', { session: alice });
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toEqual({ detail: 'Only an admin may read the audit log.' });

    const scoped = async (scopes: string[]) => {
      const made = await api(server, 'POST', '/v1/credentials', { session: admin, body: { name: 'x', scopes } });
      return ((await made.json()) as { token: string }).token;
    };
    const without = await scoped(['read']);
    const withAudit = await scoped(['audit']);
    expect((await api(server, 'GET', '/v1/audit', { headers: { authorization: `Bearer ${without}` } })).status).toBe(
      403,
    );
    expect((await api(server, 'GET', '/v1/audit', { headers: { authorization: `Bearer ${withAudit}` } })).status).toBe(
      200,
    );
  });

  it('filters by event, user and time, and pages newest first without overlap', async () => {
    for (let i = 0; i < 5; i++) {
      await api(server, 'POST', '/authentication/login/', { body: { username: 'alice', password: `wrong ${i}` } });
    }
    const failed = await page('?event=login.failed');
    expect(failed.entries).toHaveLength(5);
    expect(new Set(failed.entries.map((e) => e.event))).toEqual(new Set(['login.failed']));

    const both = await page('?event=login.failed,login.succeeded');
    expect(both.entries.map((e) => e.event)).toContain('login.succeeded');

    const aboutAlice = await page(`?user=${aliceId}`);
    expect(aboutAlice.entries.every((e) => e.actor_id === aliceId || e.subject_id === aliceId)).toBe(true);
    expect(aboutAlice.entries.map((e) => e.event)).toContain('user.created');

    const future = new Date(server.clock.now + 60_000).toISOString();
    expect((await page(`?since=${encodeURIComponent(future)}`)).entries).toEqual([]);
    expect((await page(`?until=${encodeURIComponent(future)}`)).entries.length).toBeGreaterThan(5);

    // Pages of two, following `next`, give every failure once, newest first.
    const seen: number[] = [];
    let next: string | null = '/v1/audit?event=login.failed&limit=2';
    while (next) {
      const response = await api(server, 'GET', next, { session: admin });
      const body = (await response.json()) as Page;
      expect(body.entries.length).toBeLessThanOrEqual(2);
      seen.push(...body.entries.map((e) => e.id));
      next = body.next;
    }
    expect(seen).toEqual(failed.entries.map((e) => e.id));
  });

  it('answers a malformed filter with a 400 naming the parameter', async () => {
    for (const [query, field] of [
      ['?event=login.failde', 'event'],
      ['?limit=0', 'limit'],
      ['?limit=5000', 'limit'],
      ['?user=alice', 'user'],
      ['?since=yesterday', 'since'],
      ['?until=2026-11-22T10:00:00', 'until'],
      ['?before=-1', 'before'],
      ['?event=logout&event=login.failed', 'event'],
    ] as const) {
      const response = await api(server, 'GET', `/v1/audit${query}`, { session: admin });
      expect(response.status, query).toBe(400);
      expect(Object.keys((await response.json()) as object), query).toEqual([field]);
    }
  });

  it('tessera audit tail -n 2 --follow prints the two newest, then only new events, in the API shape', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tessera-audit-'));
    const env = cliEnv({ TESSERA_DATABASE_URL: server.databaseUrl, TESSERA_MASTER_KEY: TEST_MASTER_KEY });
    try {
      for (let i = 0; i < 5; i++) {
        await api(server, 'POST', '/authentication/login/', { body: { username: 'alice', password: `wrong ${i}` } });
      }
      const older = (await page('?limit=2')).entries.reverse();
      const follow = startCli(['audit', 'tail', '-n', '2', '--follow', '--json'], { cwd, env });
      try {
        await follow.waitForStart();
        const alice = await login(server, 'alice', PASSWORD);
        await api(server, 'POST', '/authentication/logout/', { session: alice });
        await follow.waitForOutput(/"logout"/, 10_000);
        follow.child.kill('SIGINT');
        expect((await follow.exited(10_000)).code).toBe(0);
      } finally {
        follow.kill();
      }
      const printed = follow
        .stdout()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Entry);
      // The two asked for, then the login and logout made while following: no older event.
      const lastOlder = older.at(-1)?.id ?? 0;
      const newer = (await page()).entries.filter((entry) => entry.id > lastOlder).reverse();
      expect(newer.map((entry) => entry.event)).toEqual(['login.succeeded', 'logout']);
      expect(printed).toEqual([...older, ...newer]);
      expect(printed[0]?.at).toMatch(ISO);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('tessera audit tail prints the newest events, filtered, and follows new ones', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tessera-audit-'));
    const env = cliEnv({ TESSERA_DATABASE_URL: server.databaseUrl, TESSERA_MASTER_KEY: TEST_MASTER_KEY });
    try {
      await api(server, 'POST', '/authentication/login/', { body: { username: 'alice', password: 'wrong' } });
      const tail = await runCli(['audit', 'tail', '-n', '3', '--json'], { cwd, env });
      expect(tail.code, tail.stderr).toBe(0);
      const lines = tail.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { id: number; event: string });
      expect(lines).toHaveLength(3);
      // Oldest first, like tail(1): the failed login just made is the last line.
      expect(lines.map((l) => l.id)).toEqual([...lines.map((l) => l.id)].sort((x, y) => x - y));
      expect(lines.at(-1)?.event).toBe('login.failed');

      const text = await runCli(['audit', 'tail', '--event', 'login.failed', '--user', 'alice'], { cwd, env });
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(
        /^\d{4}-\d\d-\d\dT[\d:.]+Z {2}login\.failed +actor=- {2}subject=\d+ {2}from=127\.0\.0\.1/,
      );

      const typo = await runCli(['audit', 'tail', '--event', 'login.fail'], { cwd, env });
      expect(typo.code).toBe(1);
      expect(typo.stderr).toContain('unknown audit event login.fail');

      const follow = startCli(['audit', 'tail', '-n', '0', '--follow', '--event', 'logout'], { cwd, env });
      try {
        await follow.waitForStart();
        const alice = await login(server, 'alice', PASSWORD);
        await api(server, 'POST', '/authentication/logout/', { session: alice });
        await follow.waitForOutput(/logout/, 10_000);
        follow.child.kill('SIGINT');
        expect((await follow.exited(10_000)).code).toBe(0);
        expect(follow.stdout().trim().split('\n')).toHaveLength(1);
      } finally {
        follow.kill();
      }
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
