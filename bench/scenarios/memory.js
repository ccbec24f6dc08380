// Server memory with 100 000 distinct credentials active: each personal token authenticated once
// on a fresh server, then VmRSS read from /proc. Exact counts matter here, not speed, so the
// requests come from this process (keep-alive, 32 at a time) rather than from wrk.
import { Agent, request } from 'node:http';
import { cli, log, rssMiB, startServer } from '../lib/processes.js';
import { seededToken } from '../lib/seed.js';

function whoami(agent, port, token) {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/api/whoami/', agent, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        res.resume();
        res.once('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`whoami answered ${res.statusCode}`)),
        );
      },
    );
    req.once('error', reject);
    req.end();
  });
}

async function authenticateAll(port, seed, count) {
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  let next = 0;
  const worker = async () => {
    while (next < count) await whoami(agent, port, seededToken(seed, next++));
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  agent.destroy();
}

export async function memory(ctx, db) {
  const count = Math.min(db.count, ctx.quick ? 5_000 : 100_000);
  if (ctx.quick) ctx.notes.push(`--quick: RSS with ${count.toLocaleString('en')} credentials, not 100 000`);
  const server = await startServer([cli, 'serve', '--port', '0'], { ...db.env, TESSERA_LOG_LEVEL: 'info' });
  try {
    // A few hundred requests first, so the "before" figure includes a warmed-up JIT and pools.
    await authenticateAll(server.port, db.seed, 500);
    const before = rssMiB(server.child);
    log(`  memory: authenticating ${count.toLocaleString('en')} distinct personal tokens`);
    const started = performance.now();
    await authenticateAll(server.port, db.seed, count);
    const seconds = (performance.now() - started) / 1000;
    const after = rssMiB(server.child);
    const perCredential = Math.round(((after - before) * 1024 * 1024) / count);
    ctx.figures.push({
      name: `server RSS after ${count.toLocaleString('en')} distinct personal tokens`,
      value: `${after} MiB (${before} MiB before; ≈ ${perCredential} B per credential)`,
      target: 'informational',
      met: null,
      rssMiB: after,
      rssBeforeMiB: before,
      firstUseRps: Math.round(count / seconds),
    });
    ctx.notes.push(
      `memory: the credential cache (CredentialStore, a VerifiedCache of TESSERA_TOKEN_CACHE = 100 000 entries) ` +
        'keeps every one of them: an entry answers for 1 s, but stays in the map until it is read again or ' +
        `evicted by a newer one; first uses ran at ${Math.round(count / seconds)} req/s from one client process`,
    );
  } finally {
    await server.stop();
  }
}
