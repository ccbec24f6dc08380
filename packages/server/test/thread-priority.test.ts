import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cliEnv, runCli, type ServeProcess, startServe } from './helpers/cli.js';
import { PASSWORD } from './helpers/harness.js';
import { within } from './helpers/poll.js';

// Spawns real servers; on a loaded machine that is slow, not stuck.
vi.setConfig({ testTimeout: 60_000 });

/** Each thread's nice value, from /proc (field 19 of a task's stat, after the parenthesised name). */
function niceValues(pid: number): Map<number, number> {
  const nice = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      nice.set(Number(tid), Number(fields[16]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return nice;
}

describe.skipIf(process.platform !== 'linux')('tessera serve: background threads below the event loop', () => {
  let cwd: string;
  const servers: ServeProcess[] = [];

  beforeEach(() => {
    cwd = mkdtempSync(join(tmpdir(), 'tessera-nice-'));
  });
  afterEach(() => {
    for (const server of servers.splice(0)) server.kill();
    rmSync(cwd, { recursive: true, force: true });
  });

  async function serve(extra: Record<string, string>): Promise<ServeProcess> {
    const env = cliEnv({ TESSERA_DATABASE_URL: join(cwd, 'tessera.db'), ...extra });
    const created = await runCli(['user', 'create', 'alice', '--password-stdin'], { cwd, env, input: PASSWORD });
    expect(created.code, created.stderr).toBe(0);
    const server = await startServe([], { cwd, env });
    servers.push(server);
    await within(10_000, async () => server.stdout().includes('background threads'));
    return server;
  }

  it('runs every thread but the event loop at nice 10, so hashing yields to requests, and logins still work', async () => {
    const server = await serve({});
    const pid = server.child.pid as number;
    // The server inherits this process's nice value (0 unless the tests run under `nice`), and
    // only ever lowers priorities.
    const own = getPriority();
    const background = Math.max(own, 10);
    const nice = niceValues(pid);
    expect(nice.get(pid)).toBe(own);
    const others = [...nice].filter(([tid]) => tid !== pid).map(([, value]) => value);
    // V8's helpers and libuv's pool (four threads, where argon2 runs) at the least.
    expect(others.length).toBeGreaterThanOrEqual(4);
    expect(new Set(others)).toEqual(new Set([background]));
    expect(server.stdout()).toMatch(/"nice":10,"msg":"background threads run below the event loop"/);

    const login = await fetch(`${server.url}/api-token-auth/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: PASSWORD }),
    });
    expect(login.status).toBe(200);
    // The pool's threads stay where they were put after hashing.
    expect(niceValues(pid).get(pid)).toBe(own);
    expect(new Set([...niceValues(pid)].filter(([tid]) => tid !== pid).map(([, value]) => value))).toEqual(
      new Set([background]),
    );
  });

  it('leaves every thread alone with TESSERA_BACKGROUND_NICE=0, and says so', async () => {
    const server = await serve({ TESSERA_BACKGROUND_NICE: '0' });
    const values = new Set(niceValues(server.child.pid as number).values());
    expect(values).toEqual(new Set([getPriority()]));
    expect(server.stdout()).toContain('background threads keep their priority: TESSERA_BACKGROUND_NICE is 0');
  });

  it('refuses a nice value outside 0–19 before starting, naming the variable', async () => {
    const env = cliEnv({ TESSERA_DATABASE_URL: join(cwd, 'tessera.db'), TESSERA_BACKGROUND_NICE: '-5' });
    const result = await runCli(['serve', '--port', '0'], { cwd, env, timeoutMs: 20_000 });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/TESSERA_BACKGROUND_NICE/);
    expect(result.stderr).toMatch(/0 to 19/);
  });
});
