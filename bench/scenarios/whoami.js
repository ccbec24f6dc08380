// whoami with every credential kind, warm (the server's caches on, one credential repeated) and
// cold (a second server on the same database with TESSERA_TOKEN_CACHE=0 and the Basic cache off,
// so every request reads the database, verifies a signature or hashes a password), plus rejections.

import { basicHeader, conjurHeader, drfToken, jwtHeader, probe, sessionCookie } from '../lib/credentials.js';
import { cli, log, runCli, startServer } from '../lib/processes.js';
import { addUsers, createDatabase } from '../lib/seed.js';

/** Users besides `bench`: the login storm and cold Basic spread over them (the per-account login limit is 20). */
export const EXTRA_USERS = 32;

/** The database and the two Tessera servers the whoami and login-storm scenarios share. */
export async function startMain(ctx) {
  log('setting up: database, users, credentials, a warm and a cold Tessera');
  const { path, env } = await createDatabase(ctx.dir, 'main');
  const users = addUsers(path, EXTRA_USERS);
  const keys = JSON.parse(await runCli(['keys', 'generate', 'bench', '--json'], env));
  const personal = (await runCli(['token', 'create', 'bench', '--name', 'bench'], env)).trim();
  // The request log stays on (info), as a deployment runs it: its cost is part of the hot path.
  const serve = [cli, 'serve', '--port', '0'];
  const warm = await startServer(serve, { ...env, TESSERA_LOG_LEVEL: 'info' });
  const cold = await startServer(serve, {
    ...env,
    TESSERA_LOG_LEVEL: 'info',
    TESSERA_TOKEN_CACHE: '0',
    TESSERA_BASIC_CACHE_TTL: '0',
  });
  return { path, env, users, keys, personal, warm, cold, stop: () => Promise.all([warm.stop(), cold.stop()]) };
}

const WARM = { ratioAtLeast: 85 };

/** Runs the whoami scenarios; returns Tessera's rows by kind, for the peer comparison. */
export async function whoami(ctx, main) {
  const { warm, cold, keys, personal, users } = main;
  const cookie = await sessionCookie(warm.url);
  const drf = await drfToken(warm.url);
  const frappe = `token ${keys.api_key}:${keys.api_secret}`;
  const kinds = [
    { kind: 'session cookie', path: '/authentication/whoami/', headers: async () => ({ cookie }) },
    { kind: 'DRF token', headers: async () => ({ authorization: `Token ${drf}` }) },
    { kind: 'Frappe key:secret', headers: async () => ({ authorization: frappe }) },
    {
      kind: 'Basic user:password',
      headers: async () => ({ authorization: basicHeader() }),
      // Cold Basic is argon2id per request; spread over many accounts so the per-account login
      // limit (20 at once) measures hashing, not throttling.
      coldVariants: users.map((u) => ({ headers: { authorization: basicHeader(u) } })),
    },
    { kind: 'Conjur token', headers: async (base) => ({ authorization: await conjurHeader(base) }) },
    { kind: 'JWT', headers: async (base) => ({ authorization: await jwtHeader(base, personal) }) },
    { kind: 'personal token', headers: async () => ({ authorization: `Bearer ${personal}` }) },
  ];
  const byKind = {};
  for (const k of kinds) {
    for (const [temp, server] of [
      ['warm', warm],
      ['cold', cold],
    ]) {
      const url = `${server.url}${k.path ?? '/api/whoami/'}`;
      const headers = await k.headers(server.url);
      await probe(url, headers);
      const variants = temp === 'cold' ? k.coldVariants : undefined;
      const row = await ctx.load(`whoami, ${k.kind} (${temp})`, { url, headers, ...(variants && { variants }) });
      ctx.rows.push({
        ...row,
        chart: { kind: k.kind, temp },
        target: temp === 'warm' ? WARM : null,
      });
      byKind[`${k.kind} ${temp}`] = row;
    }
  }

  const unknown = { authorization: `Token ${'0'.repeat(40)}` };
  await probe(`${warm.url}/api/whoami/`, unknown, 401);
  ctx.rows.push({
    ...(await ctx.load('rejected: unknown DRF token (401)', {
      url: `${warm.url}/api/whoami/`,
      headers: unknown,
      expect: 401,
    })),
    target: null,
  });
  const jwt = (await jwtHeader(warm.url, personal)).split('.');
  // The same token with its signature's first characters changed: costs a signature check each time.
  jwt[2] = `${jwt[2][0] === 'A' ? 'B' : 'A'}${jwt[2].slice(1)}`;
  const forged = { authorization: jwt.join('.') };
  await probe(`${warm.url}/api/whoami/`, forged, 401);
  ctx.rows.push({
    ...(await ctx.load('rejected: JWT with a bad signature (401)', {
      url: `${warm.url}/api/whoami/`,
      headers: forged,
      expect: 401,
    })),
    target: null,
  });
  return byKind;
}
