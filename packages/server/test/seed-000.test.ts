import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cliEnv, runCli, type ServeProcess, startServe } from './helpers/cli.js';
import { type ProcessResult, runProcess } from './helpers/process.js';

// Tests here spawn several real node processes each; on a loaded machine that is slow, not stuck.
vi.setConfig({ testTimeout: 120_000 });

const SEED = fileURLToPath(new URL('./seeds/000_5a441cb78a270871.txt', import.meta.url));
const SEED_ORIGIN = 'https://keystone.domain.com';
// The seed's own credentials. 'userpassword' is 12 characters and not among the 3,000 most
// common passwords, so the policy accepts it unchanged (the user creation below proves it).
const SEED_USERNAME = 'user';
const SEED_PASSWORD = 'userpassword';

/** The fenced code blocks of one language, in order, de-indented from their `=== "tab"`. */
function fencedBlocks(markdown: string, language: string): string[] {
  const blocks: string[] = [];
  const fence = new RegExp(`^( *)\`\`\`${language}[ \\t]*\\n([\\s\\S]*?)^\\1\`\`\`[ \\t]*$`, 'gm');
  for (const match of markdown.matchAll(fence)) {
    const indent = match[1]?.length ?? 0;
    const body = (match[2] ?? '')
      .split('\n')
      .map((line) => line.replace(new RegExp(`^ {0,${indent}}`), ''))
      .join('\n');
    blocks.push(body);
  }
  return blocks;
}

/** Runs a program to completion in `cwd`, with `script` as its file argument. */
function run(command: string, script: string, cwd: string): Promise<ProcessResult> {
  return runProcess(command, [script], { cwd });
}

const whoamiStatus = (url: string, sessionId: string) =>
  fetch(`${url}/authentication/whoami/`, { headers: { cookie: `sessionid=${sessionId}` } }).then((r) => r.status);

describe('seed 000 snippets against a real `tessera serve`', () => {
  const seed = readFileSync(SEED, 'utf8');
  let dir: string;
  let server: ServeProcess;

  beforeAll(async () => {
    // Missing tools fail the suite loudly: the seed's clients are the point of these tests.
    execFileSync('python3', ['-c', 'import requests'], { stdio: 'pipe' });
    execFileSync('curl', ['--version'], { stdio: 'pipe' });

    dir = mkdtempSync(join(tmpdir(), 'tessera-seed-000-'));
    const env = cliEnv();
    const created = await runCli(['user', 'create', SEED_USERNAME, '--password-stdin'], {
      cwd: dir,
      env,
      input: `${SEED_PASSWORD}\n`,
    });
    if (created.code !== 0) throw new Error(`could not create the seed's user: ${created.stderr}`);
    server = await startServe([], { cwd: dir, env });
  });
  afterAll(async () => {
    if (server) {
      server.child.kill('SIGTERM');
      await server.exited(5000).catch(() => server.kill());
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const localize = (code: string) => code.replaceAll(SEED_ORIGIN, server.url);

  it('holds three python blocks and three bash blocks, all aimed at the Keystone origin', () => {
    const python = fencedBlocks(seed, 'python');
    const bash = fencedBlocks(seed, 'bash');
    expect(python).toHaveLength(3);
    expect(bash).toHaveLength(3);
    for (const block of [...python, ...bash]) expect(block).toContain(SEED_ORIGIN);
  });

  it('runs the python blocks as one script: login prints cookies, GET a list, PATCH the user, logout JSON', async () => {
    const script = join(dir, 'seed.py');
    writeFileSync(script, localize(fencedBlocks(seed, 'python').join('\n')));
    const result = await run('python3', script, dir);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);

    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    const [cookies = '', list = '', patched = '', logout = ''] = lines;
    expect(cookies).toMatch(/^<RequestsCookieJar\[/);
    expect(cookies).toMatch(/<Cookie csrftoken=[A-Za-z0-9_-]+ for 127\.0\.0\.1\/>/);
    const sessionId = /<Cookie sessionid=([A-Za-z0-9_-]{43}) for 127\.0\.0\.1\/>/.exec(cookies)?.[1];
    expect(sessionId).toBeDefined();
    // Python prints the parsed JSON as its repr: a list holding the one user, then the user.
    expect(list).toMatch(/^\[\{'id': 1, 'username': 'user', /);
    expect(list).toMatch(/\}\]$/);
    expect(patched).toMatch(/^\{'id': 1, 'username': 'user', /);
    expect(`${list}${patched}`).not.toMatch(/argon2|password/);
    expect(logout).toBe("{'detail': 'Successfully logged out.'}");

    expect(await whoamiStatus(server.url, sessionId ?? '')).toBe(401);
  });

  it('runs the bash blocks (block 3 with its one missing `\\` restored): cookies, list, user, logout', async () => {
    const [first = '', second = '', third = ''] = fencedBlocks(seed, 'bash');
    // The seed's logout block breaks its command after `-b cookies.txt` (no `\`), so `-H …`
    // would run as a command of its own and logout would never be sent. Restore exactly that.
    const broken = third.split('\n').filter((line) => /-b cookies\.txt\s*$/.test(line));
    expect(broken).toHaveLength(1);
    const fixed = third.replace(/-b cookies\.txt[ \t]*\n/, '-b cookies.txt \\\n');
    const changed = fixed.split('\n').filter((line, i) => line !== third.split('\n')[i]);
    expect(changed).toEqual(['  -b cookies.txt \\']);

    // One shell for all three: block 3 uses `$csrf_token` from block 2.
    const script = join(dir, 'seed.sh');
    writeFileSync(script, localize([first, second, fixed].join('\n')));
    const result = await run('bash', script, dir);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);

    // curl prints the login response's body (no newline after it), then `cat cookies.txt`.
    const marker = result.stdout.indexOf('# Netscape HTTP Cookie File');
    expect(marker).toBeGreaterThan(0);
    expect(JSON.parse(result.stdout.slice(0, marker))).toMatchObject({ id: 1, username: 'user' });
    const lines = result.stdout.slice(marker).trimEnd().split('\n');
    const cookieLines = lines.filter((line) => /^(#HttpOnly_)?127\.0\.0\.1\t/.test(line));
    expect(cookieLines.map((line) => line.split('\t')[5]).sort()).toEqual(['csrftoken', 'sessionid']);
    expect(cookieLines.find((line) => line.split('\t')[5] === 'sessionid')).toMatch(/^#HttpOnly_/);

    const json = lines.filter((line) => line.startsWith('[') || line.startsWith('{'));
    expect(json).toHaveLength(3);
    const [list, patched, logout] = json.map((line) => JSON.parse(line) as unknown);
    expect(Array.isArray(list)).toBe(true);
    expect((list as Array<{ username: string }>).map((u) => u.username)).toEqual(['user']);
    expect(patched).toMatchObject({ id: 1, username: 'user', is_active: true });
    expect(logout).toEqual({ detail: 'Successfully logged out.' });

    // The session cookie curl saved at login is dead after the logout.
    const saved = readFileSync(join(dir, 'cookies.txt'), 'utf8')
      .split('\n')
      .map((line) => line.split('\t'))
      .find((fields) => fields[5] === 'sessionid');
    const sessionId = saved?.[6] ?? '';
    expect(sessionId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await whoamiStatus(server.url, sessionId)).toBe(401);
  });
});
