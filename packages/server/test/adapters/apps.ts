import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import * as expressAdapter from '../../src/adapters/express.js';
import * as fastifyAdapter from '../../src/adapters/fastify.js';
import * as honoAdapter from '../../src/adapters/hono.js';
import type { VerifiedPrincipal, Verifier } from '../../src/adapters/verifier.js';
import { apiKeyOf, tokenFor, tokenHeader } from '../helpers/conjur.js';
import { basicHeader } from '../helpers/credentials.js';
import { login, PASSWORD, type Session, type TestServer } from '../helpers/harness.js';

export const FRAMEWORKS = ['express', 'fastify', 'hono'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

export interface App {
  url: string;
  close(): Promise<void>;
}

/** What the apps' routes answer: the principal, minus the full user record. */
export function summary(principal: VerifiedPrincipal | null | undefined) {
  if (!principal) return null;
  const { user: _user, csrfToken: _csrf, ...rest } = principal;
  return rest;
}

/**
 * One small API per framework, protected by the adapter: `GET /whoami` (the principal),
 * `POST /notes` (an unsafe method, for CSRF), `GET /notes` (needs scope `notes:read`),
 * `GET /admin` (needs role `admin`). Listens on 127.0.0.1:0.
 */
export async function startApp(framework: Framework, verifier: Verifier): Promise<App> {
  if (framework === 'express') {
    const { tessera, requireScopes, requireRole } = expressAdapter;
    const app = express();
    app.use(tessera(verifier));
    app.get('/whoami', (req, res) => {
      res.json(summary(req.principal));
    });
    app.post('/notes', (_req, res) => {
      res.status(201).json({ created: true });
    });
    app.get('/notes', requireScopes('notes:read'), (_req, res) => {
      res.json([]);
    });
    app.get('/admin', requireRole('admin'), (_req, res) => {
      res.json({ admin: true });
    });
    const server = await new Promise<import('node:http').Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () =>
        new Promise((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    };
  }
  if (framework === 'fastify') {
    const { tessera, requireScopes, requireRole } = fastifyAdapter;
    const app = Fastify();
    app.decorateRequest('principal', null);
    app.addHook('onRequest', tessera(verifier));
    const principalOf = (request: object) => (request as { principal?: VerifiedPrincipal }).principal;
    app.get('/whoami', async (request) => summary(principalOf(request)));
    app.post('/notes', async (_request, reply) => reply.code(201).send({ created: true }));
    app.get('/notes', { preHandler: requireScopes('notes:read') }, async () => []);
    app.get('/admin', { preHandler: requireRole('admin') }, async () => ({ admin: true }));
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    return { url, close: () => app.close() };
  }
  const { tessera, requireScopes, requireRole } = honoAdapter;
  const app = new Hono<honoAdapter.TesseraEnv>();
  app.use(tessera(verifier));
  app.get('/whoami', (c) => c.json(summary(c.get('principal'))));
  app.post('/notes', (c) => c.json({ created: true }, 201));
  app.get('/notes', requireScopes('notes:read'), (c) => c.json([]));
  app.get('/admin', requireRole('admin'), (c) => c.json({ admin: true }));
  const { server, port } = await new Promise<{ server: ReturnType<typeof serve>; port: number }>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve({ server: s, port: info.port }),
    );
  });
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}

/** A user's credentials of every header kind, each as its `Authorization` value. */
export async function headerCredentials(server: TestServer, username: string): Promise<Record<string, string>> {
  const user = await server.tessera.users.findByUsername(username);
  if (!user) throw new Error(`no user ${username}`);
  const actor = { actorId: user.id };
  const basic = basicHeader(username, PASSWORD);
  const drf = await fetch(`${server.url}/api-token-auth/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  const { token: drfToken } = (await drf.json()) as { token: string };
  const { apiKey, apiSecret } = await server.tessera.issuer.generateApiKeys(user.id, actor);
  const personal = await server.tessera.issuer.personalToken(
    { userId: user.id, name: 'adapter test', expiresAt: null, scopes: null },
    actor,
  );
  const conjur = await tokenFor(server, username, await apiKeyOf(server, username, PASSWORD));
  return {
    basic,
    drf: `Token ${drfToken}`,
    frappe: `token ${apiKey}:${apiSecret}`,
    personal: `Bearer ${personal.token}`,
    conjur: tokenHeader(conjur),
    jwt: await jwtFor(server, basic),
  };
}

/** A Bearer JWT bought with the given credential through `POST /v1/token`. */
export async function jwtFor(server: TestServer, authorization: string): Promise<string> {
  const response = await fetch(`${server.url}/v1/token`, { method: 'POST', headers: { authorization } });
  if (response.status !== 200) throw new Error(`token exchange failed: ${response.status}`);
  const { access_token } = (await response.json()) as { access_token: string };
  return `Bearer ${access_token}`;
}

/** A personal token with the given scopes, as `Bearer tsr_…`. */
export async function scopedToken(
  server: TestServer,
  userId: number,
  scopes: string[] | null,
  expiresAt: number | null = null,
) {
  const { token, info } = await server.tessera.issuer.personalToken(
    { userId, name: `scoped ${scopes?.join(',')}`, expiresAt, scopes },
    { actorId: userId },
  );
  return { header: `Bearer ${token}`, id: info.id };
}

/** `GET path` on an app with extra headers; resolves with status, headers and parsed JSON body. */
export async function call(app: App, path: string, headers: Record<string, string> = {}, method = 'GET') {
  const response = await fetch(`${app.url}${path}`, { method, headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as unknown) : null };
}

export type { Session };
export { login };
