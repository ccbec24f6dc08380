import { expect } from 'vitest';
import { type DatabaseKind, login, PASSWORD, type Session, startServer, type TestServer } from './harness.js';
import { api } from './requests.js';

/** A credential as `GET /v1/credentials` lists it (with `token` once, when it is made). */
export interface Credential {
  id: number;
  kind: string;
  name: string | null;
  prefix: string | null;
  scopes: string[] | null;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  token?: string;
}

/** What `GET /v1/me` answers. */
export interface Me {
  user: { id: number; username: string };
  credential: { kind: string; id: number };
  scopes: string[] | null;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * A fresh server with `admin` (id 1), `alice` (id 2) and `bob` (id 3), all with {@link PASSWORD};
 * admin and alice logged in.
 */
export async function threeUsers(
  kind: DatabaseKind,
  options: { aliceEmail?: string } = {},
): Promise<{ server: TestServer; admin: Session; alice: Session }> {
  const server = await startServer(kind);
  await server.createUser('admin', PASSWORD, { admin: true });
  await server.createUser('alice', PASSWORD, options.aliceEmail === undefined ? {} : { email: options.aliceEmail });
  await server.createUser('bob', PASSWORD);
  return { server, admin: await login(server, 'admin', PASSWORD), alice: await login(server, 'alice', PASSWORD) };
}

/**
 * The `/v1/credentials` and `/v1/me` calls tests make, against whichever server `current`
 * returns (each test starts its own).
 */
export function nativeCalls(current: () => TestServer) {
  /** `POST /v1/credentials` as a session (with its CSRF token) or with an Authorization header. */
  const create = (as: Session | Record<string, string>, body: Record<string, unknown>) =>
    'cookie' in as
      ? api(current(), 'POST', '/v1/credentials', { session: as as Session, body })
      : api(current(), 'POST', '/v1/credentials', { headers: as as Record<string, string>, body });

  /** Makes a token and returns it with its listing fields; fails the test on anything but 201. */
  const made = async (as: Session | Record<string, string>, body: Record<string, unknown>) => {
    const response = await create(as, body);
    const text = await response.text();
    expect(response.status, text).toBe(201);
    return JSON.parse(text) as Credential & { token: string };
  };

  /** `GET /v1/me` with these headers, expecting a 200. */
  const meOf = async (headers: Record<string, string>) => {
    const response = await fetch(`${current().url}/v1/me`, { headers });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    return JSON.parse(text) as Me;
  };

  /** The status of `GET /v1/me` with these headers. */
  const meStatus = async (headers: Record<string, string>) => {
    const response = await fetch(`${current().url}/v1/me`, { headers });
    await response.arrayBuffer();
    return response.status;
  };

  /** A user's personal-token rows, all columns. */
  const personalRows = (userId: number) =>
    current()
      .tessera.database.db.selectFrom('credentials')
      .selectAll()
      .where('user_id', '=', userId)
      .where('kind', '=', 'personal')
      .execute();

  return { create, made, meOf, meStatus, personalRows };
}

/**
 * Buying JWTs through `POST /v1/token` and presenting them to `GET /v1/me`, against whichever
 * server `current` returns (each test starts its own).
 */
export function bearerCalls(current: () => TestServer) {
  /** `POST /v1/token` with these request headers (a cookie session brings its CSRF header). */
  const buy = (as: Session | Record<string, string>) =>
    'cookie' in as
      ? api(current(), 'POST', '/v1/token', { session: as as Session })
      : api(current(), 'POST', '/v1/token', { headers: as as Record<string, string> });

  /** A JWT bought with this credential; fails the test on anything but 200. */
  const jwtFor = async (as: Session | Record<string, string>): Promise<string> => {
    const response = await buy(as);
    const text = await response.text();
    expect(response.status, text).toBe(200);
    return (JSON.parse(text) as { access_token: string }).access_token;
  };

  /** `GET /v1/me` with `Authorization: Bearer <token>`. */
  const me = async (token: string) => {
    const response = await fetch(`${current().url}/v1/me`, { headers: bearer(token) });
    const text = await response.text();
    return {
      status: response.status,
      challenge: response.headers.get('www-authenticate'),
      body: JSON.parse(text) as Me & { detail?: string },
    };
  };

  /** Asserts the token is refused with a 401 that names the Bearer scheme; returns its detail. */
  const expectRefused = async (token: string, label: string): Promise<string | undefined> => {
    const response = await me(token);
    expect(response.status, label).toBe(401);
    expect(response.challenge, label).toMatch(/(^|, )Bearer realm="tessera"/);
    return response.body.detail;
  };

  return { buy, jwtFor, me, expectRefused };
}
