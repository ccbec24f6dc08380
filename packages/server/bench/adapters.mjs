// Requests/s of each framework's authenticated route against the same framework's
// unauthenticated route, in one run, on 127.0.0.1. Run `npm run build -w tessera` first, then
//   node packages/server/bench/adapters.mjs [seconds per scenario, default 5]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import autocannon from 'autocannon';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createHttpServer, openTessera, resolveConfig } from 'tessera';
import * as expressAdapter from 'tessera/express';
import * as fastifyAdapter from 'tessera/fastify';
import * as honoAdapter from 'tessera/hono';

const SECONDS = Number(process.argv[2] ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
const config = resolveConfig(
  {},
  {
    databaseUrl: join(dir, 'tessera.db'),
    masterKey: { kind: 'env', value: randomBytes(32).toString('base64') },
    logLevel: 'silent',
  },
);
const tessera = await openTessera(config);
const http = createHttpServer(tessera);
const { port } = await http.listen(0, '127.0.0.1');
const tesseraUrl = `http://127.0.0.1:${port}`;
const user = await tessera.users.create(
  { username: 'bench', password: 'correct horse battery staple', roles: [] },
  { actorId: null },
);
const { token } = await tessera.issuer.personalToken(
  { userId: user.id, name: 'bench', expiresAt: null, scopes: null },
  { actorId: user.id },
);
const personal = `Bearer ${token}`;
const exchanged = await fetch(`${tesseraUrl}/v1/token`, { method: 'POST', headers: { authorization: personal } });
const jwt = `Bearer ${(await exchanged.json()).access_token}`;

const modes = {
  offline: { options: { mode: 'offline', url: tesseraUrl }, authorization: jwt },
  local: { options: { mode: 'local', tessera }, authorization: personal },
};
const body = { hello: 'world' };

async function startExpress(options) {
  const app = express();
  const auth = expressAdapter.tessera(options);
  app.get('/open', (_req, res) => res.json(body));
  app.get('/me', auth, (req, res) => res.json({ ...body, user: req.principal.userId }));
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { port: server.address().port, close: () => new Promise((r) => server.close(r)) };
}

async function startFastify(options) {
  const app = Fastify();
  app.decorateRequest('principal', null);
  app.get('/open', async () => body);
  app.get('/me', { onRequest: fastifyAdapter.tessera(options) }, async (request) => ({
    ...body,
    user: request.principal.userId,
  }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { port: app.server.address().port, close: () => app.close() };
}

async function startHono(options) {
  const app = new Hono();
  app.get('/open', (c) => c.json(body));
  app.get('/me', honoAdapter.tessera(options), (c) => c.json({ ...body, user: c.get('principal').userId }));
  const { server, port } = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve({ server: s, port: info.port }),
    );
  });
  return { port, close: () => new Promise((r) => server.close(r)) };
}

async function measure(url, headers) {
  const result = await autocannon({ url, headers, connections: 32, duration: SECONDS });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: Math.round(result.requests.average), p99: result.latency.p99 };
}

const rows = [];
for (const [framework, start] of [
  ['express', startExpress],
  ['fastify', startFastify],
  ['hono', startHono],
]) {
  for (const [mode, { options, authorization }] of Object.entries(modes)) {
    const app = await start(options);
    const base = `http://127.0.0.1:${app.port}`;
    // Warm-up: the first request fetches the JWKS (offline) or fills the caches (local).
    await fetch(`${base}/me`, { headers: { authorization } });
    await autocannon({ url: `${base}/open`, connections: 32, duration: 1 });
    await autocannon({ url: `${base}/me`, headers: { authorization }, connections: 32, duration: 1 });
    const open = await measure(`${base}/open`, {});
    const authed = await measure(`${base}/me`, { authorization });
    rows.push({
      framework,
      mode,
      'open req/s': open.rps,
      'auth req/s': authed.rps,
      ratio: `${Math.round((authed.rps / open.rps) * 100)}%`,
      'open p99 ms': open.p99,
      'auth p99 ms': authed.p99,
    });
    await app.close();
  }
}
console.table(rows);
console.log(JSON.stringify({ seconds: SECONDS, connections: 32, node: process.version, rows }));
await http.close();
await tessera.close();
rmSync(dir, { recursive: true, force: true });
