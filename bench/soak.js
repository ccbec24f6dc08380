// Tessera soak: `npm run soak` (3 minutes) or `npm run soak -- --duration 20`.
// Starts the built server on a temporary SQLite file, drives mixed traffic (logins, token
// calls, token creations and revocations, JWT issues) from this process, prints a progress
// line every 10 s, then reports memory at start and end, requests by kind and errors. Exits 1
// on any 5xx, network error or unexpected answer, or if a revoked token is still accepted.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cli, rssMiB, runCli } from './lib/processes.js';

const { values: args } = parseArgs({
  options: { duration: { type: 'string', default: '180' }, workers: { type: 'string', default: '8' } },
});
const durationS = Number(args.duration);
const workers = Number(args.workers);
if (!(durationS > 0) || !Number.isInteger(workers) || workers < 1) {
  console.error('usage: node bench/soak.js [--duration SECONDS] [--workers N]');
  process.exit(2);
}

const PASSWORD = 'soak password that is long enough';
const USERS = ['soak-1', 'soak-2', 'soak-3', 'soak-4'];
/** Relative weights of each kind of request in the mix. */
const MIX = [
  ['token call', 60],
  ['login', 8],
  ['token create', 14],
  ['revoke', 10],
  ['jwt issue', 4],
  ['jwt call', 4],
];

function log(line) {
  process.stdout.write(`${line}\n`);
}

/** Starts `tessera serve --port 0` and resolves once it logs the port it listens on. */
function startServer(env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'serve', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const onData = (chunk) => {
      buffer += chunk;
      const port = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(buffer)?.[1];
      if (!port) return;
      child.stdout.off('data', onData);
      child.stdout.resume(); // the request log keeps flowing; drain it
      resolve({ child, url: `http://127.0.0.1:${port}`, stderr: () => stderr });
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.once('exit', (code) => reject(new Error(`tessera serve exited with ${code} before listening: ${stderr}`)));
  });
}

function pick(items) {
  return items[Math.floor(Math.random() * items.length)];
}

function chooseKind() {
  const total = MIX.reduce((sum, [, weight]) => sum + weight, 0);
  let roll = Math.random() * total;
  for (const [kind, weight] of MIX) {
    roll -= weight;
    if (roll < 0) return kind;
  }
  return MIX[0][0];
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-soak-'));
  const env = {
    ...process.env,
    TESSERA_DATABASE_URL: join(dir, 'tessera.db'),
    TESSERA_MASTER_KEY: randomBytes(32).toString('base64'),
    TESSERA_LOG_LEVEL: 'info',
    // One client address makes every login: the soak measures the server, not the throttle.
    TESSERA_LOGIN_LIMIT_ACCOUNT: '1000000/15m',
    TESSERA_LOGIN_LIMIT_ADDRESS: '1000000/15m',
  };
  let server;
  try {
    log(`soak: ${durationS} s, ${workers} workers, SQLite in ${dir}`);
    const tokens = new Map(); // user → live personal tokens [{ id, token }]
    for (const user of USERS) {
      await runCli(['user', 'create', user, '--password-stdin'], env, `${PASSWORD}\n`);
      const made = JSON.parse(await runCli(['token', 'create', user, '--name', 'soak', '--json'], env));
      tokens.set(user, [{ id: made.id, token: made.token }]);
    }
    server = await startServer(env);
    const { url } = server;

    const counts = Object.fromEntries(MIX.map(([kind]) => [kind, 0]));
    const failures = { '5xx': 0, network: 0, unexpected: 0 };
    const samples = [];
    const revoked = [];
    const jwts = [];
    const fail = (kind, detail) => {
      if (failures.unexpected + failures.network + failures['5xx'] < 20) log(`  ! ${kind}: ${detail}`);
    };

    const request = async (kind, path, init, expected) => {
      try {
        const response = await fetch(`${url}${path}`, init);
        const text = await response.text();
        counts[kind]++;
        if (response.status >= 500) {
          failures['5xx']++;
          fail(kind, `${response.status} ${text.slice(0, 200)}`);
        } else if (response.status !== expected) {
          failures.unexpected++;
          fail(kind, `${response.status} (expected ${expected}) ${text.slice(0, 200)}`);
        }
        return response.status === expected ? text : undefined;
      } catch (error) {
        failures.network++;
        fail(kind, String(error));
        return undefined;
      }
    };

    const step = async () => {
      const user = pick(USERS);
      const mine = tokens.get(user);
      const kind = chooseKind();
      if (kind === 'token call') {
        await request(kind, '/v1/me', { headers: { Authorization: `Bearer ${pick(mine).token}` } }, 200);
      } else if (kind === 'login') {
        await request(
          kind,
          '/authentication/login/',
          {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ username: user, password: PASSWORD }),
          },
          200,
        );
      } else if (kind === 'token create') {
        const text = await request(
          kind,
          '/v1/credentials',
          {
            method: 'POST',
            headers: { Authorization: `Bearer ${mine[0].token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ name: 'soak', expires_in: '1d' }),
          },
          201,
        );
        if (text !== undefined) {
          const { id, token } = JSON.parse(text);
          mine.push({ id, token });
        }
      } else if (kind === 'revoke') {
        // The first token makes and revokes the others; it stays.
        if (mine.length < 2) return;
        const index = 1 + Math.floor(Math.random() * (mine.length - 1));
        const [victim] = mine.splice(index, 1);
        const text = await request(
          kind,
          `/v1/credentials/${victim.id}`,
          { method: 'DELETE', headers: { Authorization: `Bearer ${mine[0].token}` } },
          204,
        );
        if (text !== undefined) revoked.push(victim.token);
      } else if (kind === 'jwt issue') {
        const text = await request(
          kind,
          '/v1/token',
          { method: 'POST', headers: { Authorization: `Bearer ${mine[0].token}` } },
          200,
        );
        if (text !== undefined) {
          jwts.push(JSON.parse(text).access_token);
          if (jwts.length > 200) jwts.shift();
        }
      } else if (jwts.length > 0) {
        await request(kind, '/v1/me', { headers: { Authorization: `Bearer ${pick(jwts)}` } }, 200);
      }
    };

    // Warm up, then measure the starting memory.
    for (let i = 0; i < 50; i++) await step();
    const rssStart = rssMiB(server.child);
    for (const key of Object.keys(counts)) counts[key] = 0;
    const started = performance.now();
    const deadline = started + durationS * 1000;
    let lastTotal = 0;
    const progress = setInterval(() => {
      const elapsed = (performance.now() - started) / 1000;
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      const rss = rssMiB(server.child);
      samples.push(rss);
      log(
        `  ${elapsed.toFixed(0).padStart(4)} s  ${total} requests (${((total - lastTotal) / 10).toFixed(0)}/s)  ` +
          `RSS ${rss.toFixed(1)} MiB  errors ${failures['5xx'] + failures.network + failures.unexpected}`,
      );
      lastTotal = total;
    }, 10_000);
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (performance.now() < deadline) await step();
      }),
    );
    clearInterval(progress);
    const elapsedS = (performance.now() - started) / 1000;
    const rssEnd = rssMiB(server.child);

    // Every revoked token must be refused now, with nothing left to settle.
    let stillAccepted = 0;
    for (let i = 0; i < revoked.length; i += 32) {
      const statuses = await Promise.all(
        revoked.slice(i, i + 32).map(async (token) => {
          const response = await fetch(`${url}/v1/me`, { headers: { Authorization: `Bearer ${token}` } });
          await response.arrayBuffer();
          return response.status;
        }),
      );
      stillAccepted += statuses.filter((s) => s !== 401).length;
    }

    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const peak = Math.max(rssStart, rssEnd, ...samples);
    log('');
    log(`duration        ${elapsedS.toFixed(1)} s, ${workers} workers`);
    log(`requests        ${total} (${(total / elapsedS).toFixed(0)}/s)`);
    for (const [kind] of MIX) log(`  ${kind.padEnd(14)}${counts[kind]}`);
    log(`RSS             start ${rssStart.toFixed(1)} MiB, end ${rssEnd.toFixed(1)} MiB, peak ${peak.toFixed(1)} MiB`);
    log(`errors          5xx ${failures['5xx']}, network ${failures.network}, unexpected ${failures.unexpected}`);
    log(`revoked tokens  ${revoked.length}, still accepted at the end: ${stillAccepted}`);
    const ok = failures['5xx'] + failures.network + failures.unexpected + stillAccepted === 0;
    log(ok ? 'soak: OK' : 'soak: FAILED');
    return ok;
  } finally {
    if (server) {
      server.child.kill('SIGTERM');
      await new Promise((resolve) => {
        if (server.child.exitCode !== null) resolve();
        else server.child.once('exit', resolve);
      });
      if (server.stderr()) log(`server stderr: ${server.stderr()}`);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
