import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { Session, TestServer } from './harness.js';

/**
 * A JSON request through `fetch`, signed in as `session` when one is given: its cookies, and
 * the `X-CSRFToken` header that cookie-authenticated unsafe requests need.
 */
export function api(
  server: TestServer,
  method: string,
  path: string,
  options: { session?: Session; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (options.session) {
    headers.cookie = options.session.cookie;
    if (method !== 'GET') headers['X-CSRFToken'] = options.session.csrfToken;
  }
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${server.url}${path}`, {
    method,
    headers: { ...headers, ...options.headers },
    ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
  });
}

/** `GET /authentication/whoami/` with a session's cookie; resolves with the status. */
export async function whoamiStatus(server: TestServer, session: Session): Promise<number> {
  const response = await fetch(`${server.url}/authentication/whoami/`, { headers: { cookie: session.cookie } });
  await response.arrayBuffer();
  return response.status;
}

/** The session rows of one user in the `credentials` table. */
export function sessionRows(server: TestServer, userId: number): Promise<Array<{ id: number }>> {
  return server.tessera.database.db
    .selectFrom('credentials')
    .select('id')
    .where('user_id', '=', userId)
    .where('kind', '=', 'session')
    .execute();
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A request through `node:http`, for what `fetch` will not send: any method (TRACE), a path
 * exactly as written (`/a/%2e%2e/b`, `//a`), oversized headers, no Content-Type at all.
 */
export function rawRequest(
  server: TestServer,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<RawResponse> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: Number(port),
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers ?? {},
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
