// The peer comparison: Better Auth, from its own workspace (bench/peers/better-auth, never a
// dependency of Tessera), over the same loopback, core and load as Tessera in the same run.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { benchDir, log, startServer } from '../lib/processes.js';

const peerDir = join(benchDir, 'peers', 'better-auth');

/** Installs the peer's pinned dependencies on first use; false (said loudly) when that fails. */
function installed() {
  if (existsSync(join(peerDir, 'node_modules', 'better-auth'))) return true;
  log('installing Better Auth for the comparison: npm ci in bench/peers/better-auth (first run only)…');
  const result = spawnSync('npm', ['ci', '--prefix', peerDir, '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (result.status === 0) return true;
  log('!!! SKIPPING THE BETTER AUTH COMPARISON: npm ci failed (see above); run with --no-peers to silence this');
  return false;
}

async function post(url, body, headers = {}) {
  const origin = new URL(url).origin;
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin, ...headers },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`Better Auth ${url}: HTTP ${response.status} ${await response.text()}`);
  return response;
}

/**
 * `tessera` maps a peer scenario to Tessera's comparable row: a session cookie to a session
 * cookie, an API key to a personal token — both on Tessera's default settings (caches on).
 */
export async function peers(ctx, tessera) {
  if (!installed()) {
    ctx.notes.push('Better Auth comparison skipped: its dependencies could not be installed');
    return;
  }
  const server = await startServer([join(peerDir, 'server.js'), join(ctx.dir, 'better-auth.db')]);
  try {
    const signUp = await post(`${server.url}/api/auth/sign-up/email`, {
      email: 'bench@example.com',
      password: 'bench password that is long enough',
      name: 'bench',
    });
    const cookie = signUp.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const { key } = await (await post(`${server.url}/api/auth/api-key/create`, { name: 'bench' }, { cookie })).json();
    const url = `${server.url}/api/auth/get-session`;
    const scenarios = [
      ['Better Auth getSession, session cookie', { cookie }, 'session cookie warm'],
      ['Better Auth getSession, API key', { 'x-api-key': key }, 'personal token warm'],
    ];
    for (const [name, headers, comparable] of scenarios) {
      const check = await fetch(url, { headers });
      const body = await check.json();
      if (!body?.user) throw new Error(`${name}: no user in ${JSON.stringify(body)}`);
      const row = await ctx.load(name, { url, headers });
      const ours = tessera[comparable];
      ctx.rows.push({ ...row, peer: true, target: ours ? { tesseraTimes: ours.name, min: 10 } : null });
    }
  } finally {
    await server.stop();
  }
}
