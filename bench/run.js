// Tessera benchmark: `npm run bench` (about 2½ minutes) or `npm run bench -- --quick`.
// Starts the built server and a bare node:http baseline as separate processes on loopback,
// drives both with autocannon in this process, prints a table and writes bench/results.json.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'packages', 'server', 'dist', 'cli', 'main.js');
const quick = process.argv.includes('--quick');
const duration = quick ? 5 : 15;
const connections = 32;
const PASSWORD = 'bench password that is long enough';

function log(line) {
  process.stderr.write(`${line}\n`);
}

/** Spawns a process and resolves with the port from its first JSON line that names one. */
function startProcess(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buffer = '';
    const onData = (chunk) => {
      buffer += chunk;
      for (const line of buffer.split('\n').slice(0, -1)) {
        const port = /"port":\s*(\d+)/.exec(line)?.[1] ?? /listening on http:\/\/[^:]+:(\d+)/.exec(line)?.[1];
        if (port) {
          child.stdout.off('data', onData);
          child.stdout.resume(); // keep draining the request log
          resolve({ child, port: Number(port) });
          return;
        }
      }
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code} before listening`)));
  });
}

/** Runs the CLI; resolves with its standard output. */
function runCli(args, env, input) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.stdin.end(input ?? '');
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`tessera ${args.join(' ')}: ${err}`))));
  });
}

async function load(name, url, headers = {}, expectStatus = 200) {
  log(`  ${name}: ${duration}s, ${connections} connections…`);
  const result = await autocannon({ url, connections, duration, headers, pipelining: 1 });
  const wrong = expectStatus === 200 ? result.non2xx : result['2xx'] + result['5xx'];
  const bad = wrong + result.errors + result.timeouts;
  if (bad > 0)
    throw new Error(`${name}: ${bad} unexpected answers (errors ${result.errors}, timeouts ${result.timeouts})`);
  return { name, rps: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99 };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
  const env = { TESSERA_DATABASE_URL: join(dir, 'tessera.db'), TESSERA_LOG_LEVEL: 'warn' };
  const children = [];
  try {
    log('setting up: a user, the server, the baseline');
    await runCli(['user', 'create', 'bench', '--password-stdin'], env, `${PASSWORD}\n`);
    const keys = JSON.parse(await runCli(['keys', 'generate', 'bench', '--json'], env));
    const personal = (await runCli(['token', 'create', 'bench', '--name', 'bench'], env)).trim();
    const tessera = await startProcess([cli, 'serve', '--port', '0'], { ...env, TESSERA_LOG_LEVEL: 'info' });
    children.push(tessera.child);
    // The same database served with the verified-token cache off: signed tokens "cold".
    const cold = await startProcess([cli, 'serve', '--port', '0'], {
      ...env,
      TESSERA_LOG_LEVEL: 'info',
      TESSERA_TOKEN_CACHE: '0',
    });
    children.push(cold.child);
    const coldBase = `http://127.0.0.1:${cold.port}`;
    const baseline = await startProcess([join(here, 'baseline-server.js')], {});
    children.push(baseline.child);
    const base = `http://127.0.0.1:${tessera.port}`;

    // Login latency: 20 sequential logins, median (argon2id m=19 MiB, t=2, p=1).
    const times = [];
    let cookie = '';
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      const response = await fetch(`${base}/authentication/login/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'bench', password: PASSWORD }),
      });
      times.push(performance.now() - started);
      if (response.status !== 200) throw new Error(`login: ${response.status}`);
      cookie = response.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
    }
    times.sort((a, b) => a - b);
    const loginMedian = Math.round(((times[9] + times[10]) / 2) * 10) / 10;

    log('load:');
    const rows = [];
    rows.push(await load('bare node:http (baseline)', `http://127.0.0.1:${baseline.port}/`));
    const drf = await fetch(`${base}/api-token-auth/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bench', password: PASSWORD }),
    }).then((r) => r.json());
    const basic = Buffer.from(`bench:${PASSWORD}`).toString('base64');
    rows.push(await load('whoami, session cookie', `${base}/authentication/whoami/`, { cookie }));
    rows.push(await load('whoami, DRF Token', `${base}/api/whoami/`, { authorization: `Token ${drf.token}` }));
    rows.push(
      await load('whoami, Frappe token key:secret', `${base}/api/whoami/`, {
        authorization: `token ${keys.api_key}:${keys.api_secret}`,
      }),
    );
    rows.push(
      await load('whoami, Basic user:password (warm)', `${base}/api/whoami/`, { authorization: `Basic ${basic}` }),
    );
    rows.push(
      await load('whoami, personal token (Bearer tsr_)', `${base}/api/whoami/`, {
        authorization: `Bearer ${personal}`,
      }),
    );
    const basicAuth = { authorization: `Basic ${basic}` };
    const apiKey = await fetch(`${base}/api/authn/users/login`, { headers: basicAuth }).then((r) => r.text());
    const conjur = await fetch(`${base}/api/authn/users/bench/authenticate`, { method: 'POST', body: apiKey }).then(
      (r) => r.text(),
    );
    const conjurHeader = { authorization: `Token token="${Buffer.from(conjur).toString('base64')}"` };
    const jwt = await fetch(`${base}/v1/token`, {
      method: 'POST',
      headers: { authorization: `Bearer ${personal}` },
    }).then((r) => r.json());
    const jwtHeader = { authorization: `Bearer ${jwt.access_token}` };
    rows.push(await load('whoami, Conjur token (warm)', `${base}/api/whoami/`, conjurHeader));
    rows.push(await load('whoami, Conjur token (cold: cache off)', `${coldBase}/api/whoami/`, conjurHeader));
    rows.push(await load('whoami, JWT (warm)', `${base}/api/whoami/`, jwtHeader));
    rows.push(await load('whoami, JWT (cold: cache off)', `${coldBase}/api/whoami/`, jwtHeader));
    rows.push(
      await load(
        'rejected: unknown DRF token (401)',
        `${base}/api/whoami/`,
        { authorization: `Token ${'0'.repeat(40)}` },
        401,
      ),
    );
    rows.push(await load('baseline again (drift check)', `http://127.0.0.1:${baseline.port}/`));
    const baselineRps = (rows[0].rps + rows.at(-1).rps) / 2;
    for (const row of rows) row.ratio = Math.round((row.rps / baselineRps) * 1000) / 10;

    const results = {
      when: new Date().toISOString(),
      node: process.version,
      quick,
      durationSeconds: duration,
      connections,
      loginMedianMs: loginMedian,
      scenarios: rows,
    };
    writeFileSync(join(here, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);

    console.log(`\nlogin (POST /authentication/login/), median of 20: ${loginMedian} ms\n`);
    console.log('| scenario | req/s | % of bare node:http | p50 ms | p99 ms |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    for (const r of rows) console.log(`| ${r.name} | ${r.rps} | ${r.ratio}% | ${r.p50} | ${r.p99} |`);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`bench: ${error.message}`);
  process.exit(1);
});
