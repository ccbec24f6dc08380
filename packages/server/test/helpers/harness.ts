import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, inject } from 'vitest';
import { type ConfigOverrides, resolveConfig } from '../../src/config.js';
import { createHttpServer } from '../../src/http/server.js';
import { openTessera, type Tessera } from '../../src/tessera.js';
import type { User } from '../../src/users/user.js';

export type DatabaseKind = 'sqlite' | 'postgres';

/** Runs a suite once per database: every storage-touching test proves both (STYLE "Tests"). */
export function describeEachDatabase(name: string, suite: (kind: DatabaseKind) => void): void {
  for (const kind of ['sqlite', 'postgres'] as const) {
    const skip = kind === 'postgres' && !inject('postgresUrl');
    describe.skipIf(skip)(`${name} [${kind}]`, () => suite(kind));
  }
}

/** A clock tests can move. */
export class TestClock {
  now = Date.now();
  readonly read = () => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

/** A fresh, empty database: a SQLite file in its own directory, or a PostgreSQL schema of its own. */
export async function freshDatabase(kind: DatabaseKind): Promise<{ url: string; dispose(): Promise<void> }> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-test-'));
    return { url: join(dir, 'tessera.db'), dispose: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const base = inject('postgresUrl');
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const url = `${base}${base.includes('?') ? '&' : '?'}schema=${schema}`;
  return {
    url,
    dispose: async () => {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      await client.query(`drop schema if exists "${schema}" cascade`);
      await client.end();
    },
  };
}

export const TEST_MASTER_KEY = randomBytes(32).toString('base64');

export interface TestServer {
  url: string;
  tessera: Tessera;
  clock: TestClock;
  databaseUrl: string;
  createUser(username: string, password: string, options?: { admin?: boolean; email?: string }): Promise<User>;
  close(): Promise<void>;
}

/** Starts the real HTTP server on 127.0.0.1, on a free port, over a fresh database. */
export async function startServer(kind: DatabaseKind, overrides: ConfigOverrides = {}): Promise<TestServer> {
  const database = await freshDatabase(kind);
  const clock = new TestClock();
  const config = resolveConfig(
    {},
    {
      databaseUrl: database.url,
      masterKey: { kind: 'env', value: TEST_MASTER_KEY },
      logLevel: 'silent',
      host: '127.0.0.1',
      port: 0,
      ...overrides,
    },
  );
  const tessera = await openTessera(config, { clock: clock.read });
  const http = createHttpServer(tessera);
  const address = await http.listen(0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${address.port}`,
    tessera,
    clock,
    databaseUrl: database.url,
    createUser: (username, password, options = {}) =>
      tessera.users.create(
        {
          username,
          password,
          roles: options.admin ? ['admin'] : [],
          ...(options.email !== undefined && { email: options.email }),
        },
        { actorId: null },
      ),
    async close() {
      await http.close();
      await tessera.close();
      await database.dispose();
    },
  };
}

/** The cookies a response sets, by name. */
export function setCookies(response: Response): Map<string, { value: string; raw: string }> {
  const cookies = new Map<string, { value: string; raw: string }>();
  for (const raw of response.headers.getSetCookie()) {
    const [pair = ''] = raw.split(';');
    const eq = pair.indexOf('=');
    cookies.set(pair.slice(0, eq), { value: pair.slice(eq + 1), raw });
  }
  return cookies;
}

/** A signed-in browser-like client: the session cookie plus its CSRF token. */
export interface Session {
  cookie: string;
  csrfToken: string;
  sessionId: string;
}

/** Logs in through `POST /authentication/login/` and returns the session's cookies. */
export async function login(server: TestServer, username: string, password: string): Promise<Session> {
  const response = await fetch(`${server.url}/authentication/login/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (response.status !== 200) throw new Error(`login failed: ${response.status} ${await response.text()}`);
  const cookies = setCookies(response);
  const sessionId = cookies.get('sessionid')?.value ?? '';
  const csrfToken = cookies.get('csrftoken')?.value ?? '';
  return { sessionId, csrfToken, cookie: `sessionid=${sessionId}; csrftoken=${csrfToken}` };
}

/** A strong password that is not on the common-password list. */
export const PASSWORD = 'correct horse battery staple';
