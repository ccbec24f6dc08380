import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cliEnv, type ServeProcess, startServe } from './helpers/cli.js';
import { freshDatabase } from './helpers/harness.js';

/**
 * Every ```sh block of the top-level README, run in order with bash against a real
 * `tessera serve` on a fresh database, as a newcomer would paste them (issue 14): the README
 * cannot drift from what the server and CLI do. Each block runs in its own `bash -euo pipefail`
 * (so a failing command anywhere fails it) in one directory inside the clone, where
 * `npx tessera` finds the workspace's own command and `tessera.db` is the server's database.
 *
 * Only two things change in a block: the README's `http://127.0.0.1:8000` becomes the test
 * server's address (another process may hold port 8000), and the PostgreSQL example's URL
 * becomes a schema of this run. A block that cannot run here is marked in the README with
 * `<!-- readme-test: skip (reason) -->` and reported; `<!-- readme-test: postgres -->` marks
 * one that needs PostgreSQL, skipped loudly (as the rest of the suite does) when it is away.
 */

const REPO = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const README = join(REPO, 'README.md');
const README_URL = 'http://127.0.0.1:8000';
const README_POSTGRES_URL = 'postgres://tessera@127.0.0.1:5432/tessera';

interface Block {
  /** 1-based, among the README's sh blocks. */
  index: number;
  line: number;
  code: string;
  marker: { kind: 'skip'; reason: string } | { kind: 'postgres' } | null;
}

/** The README's ```sh blocks, each with the `readme-test` marker on the line above it, if any. */
function shBlocks(markdown: string): { blocks: Block[]; strayMarkers: number[] } {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  const usedMarkers = new Set<number>();
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```sh') continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i] as string);
    let above = start - 1;
    while (above >= 0 && (lines[above] as string).trim() === '') above--;
    const markerLine = lines[above] ?? '';
    const skip = /^<!-- readme-test: skip \((.+)\) -->$/.exec(markerLine);
    let marker: Block['marker'] = null;
    if (skip) marker = { kind: 'skip', reason: skip[1] as string };
    else if (markerLine === '<!-- readme-test: postgres -->') marker = { kind: 'postgres' };
    if (marker) usedMarkers.add(above);
    blocks.push({ index: blocks.length + 1, line: start + 1, code: `${body.join('\n')}\n`, marker });
  }
  // A marker that names nothing (a typo, or a block moved away from it) must not go unnoticed.
  const strayMarkers = lines.flatMap((line, n) => (line.includes('readme-test') && !usedMarkers.has(n) ? [n + 1] : []));
  return { blocks, strayMarkers };
}

/** Placeholders a reader would have to replace by hand, outside `# comments`. */
function placeholders(code: string): string[] {
  return code
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .map((line) => line.replace(/\s#\s.*$/, ''))
    .filter((line) => /…|<[a-z_]+>/.test(line));
}

/**
 * What a block's output must show, found by a text only that block holds. Each must match
 * exactly one block, so a flow dropped from the README fails here too.
 */
const EXPECTED: Array<{ holds: string; lacks?: string; stdout: RegExp[] }> = [
  {
    holds: 'npx tessera user create user --admin',
    lacks: 'TESSERA_DATABASE_URL',
    stdout: [/^created user user \(id 1, admin\)$/m],
  },
  {
    holds: '/authentication/login/',
    stdout: [/"username":"user"/, /"detail":"Successfully logged out\."/, /Authentication credentials were not/],
  },
  { holds: '/api-token-auth/', stdout: [/^[0-9a-f]{40}$/m, /"username":"user"/, /\{"username":null\}/] },
  {
    holds: 'frappe.auth.get_logged_user',
    stdout: [/"api_key":"[^"]+","api_secret":"[^"]+"/, /\{"message":\{"api_key"/, /\{"message":"donna"\}/],
  },
  { holds: '/api/authn/whoami', stdout: [/^[0-9a-z]{52,}$/m, /"username":"donna"/] },
  { holds: 'master-key generate', stdout: [/^created user user \(id 1, admin\)$/m] },
];

const expects = (expected: (typeof EXPECTED)[number], code: string) =>
  code.includes(expected.holds) && (expected.lacks === undefined || !code.includes(expected.lacks));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function bash(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', ['-euo', 'pipefail', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`README block ${script} did not finish in 60 s; stderr: ${stderr}`));
    }, 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

describe('README.md sh blocks, in order, against a real `tessera serve`', () => {
  const { blocks, strayMarkers } = shBlocks(readFileSync(README, 'utf8'));
  const postgresUrl = inject('postgresUrl');
  let dir: string;
  let server: ServeProcess;
  let postgres: { url: string; dispose(): Promise<void> } | undefined;

  beforeAll(async () => {
    // Inside the clone, so `npx tessera` resolves to this workspace's command (outside it npx
    // would fetch an unrelated package); ignored by git.
    // A checkout installed before bin/tessera.js existed has no link: npm made none to a file
    // that was missing then. Say so rather than fail on 'tessera: not found'.
    if (!existsSync(join(REPO, 'node_modules/.bin/tessera'))) {
      throw new Error('node_modules/.bin/tessera is missing: run `npm ci` (or `npm install`) again to link it');
    }
    dir = mkdtempSync(join(REPO, '.readme-test-'));
    server = await startServe([], { cwd: dir, env: cliEnv() });
    if (postgresUrl) postgres = await freshDatabase('postgres');
  });
  afterAll(async () => {
    if (server) {
      server.child.kill('SIGTERM');
      await server.exited(10_000).catch(() => server.kill());
    }
    await postgres?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds the README blocks, every marker on a block, and no placeholder left to fill in by hand', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(10);
    expect(strayMarkers, 'lines with a readme-test marker that precedes no sh block').toEqual([]);
    for (const block of blocks) {
      if (block.marker?.kind === 'skip') continue;
      expect(placeholders(block.code), `README.md:${block.line}`).toEqual([]);
    }
    for (const expected of EXPECTED) {
      expect(
        blocks.filter((b) => b.marker?.kind !== 'skip' && expects(expected, b.code)).map((b) => b.line),
        expected.holds,
      ).toHaveLength(1);
    }
  });

  it('runs every unmarked block with bash, in order, and each does what the README says', async () => {
    const env = {
      ...cliEnv(),
      // Should the workspace's command ever go missing, npx must fail, not download the npm
      // package that happens to be called tessera.
      npm_config_offline: 'true',
      NO_PROXY: '127.0.0.1,localhost',
      no_proxy: '127.0.0.1,localhost',
    };
    const report: string[] = [];
    let ran = 0;
    for (const block of blocks) {
      const where = `README.md:${block.line} (sh block ${block.index})`;
      if (block.marker?.kind === 'skip') {
        report.push(`${where}: skipped, ${block.marker.reason}`);
        continue;
      }
      if (block.marker?.kind === 'postgres' && !postgres) {
        report.push(`${where}: SKIPPED, PostgreSQL is unreachable`);
        continue;
      }
      let code = block.code;
      if (code.includes(README_URL)) code = code.replaceAll(README_URL, server.url);
      if (block.marker?.kind === 'postgres' && postgres) {
        expect(code, `${where} names ${README_POSTGRES_URL}`).toContain(README_POSTGRES_URL);
        code = code.replaceAll(README_POSTGRES_URL, postgres.url);
      }
      const script = join(dir, `block-${block.index}.sh`);
      writeFileSync(script, code);
      const result = await bash(script, dir, env);
      const shown = `${where}\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`;
      expect(result.code, shown).toBe(0);
      for (const expected of EXPECTED.filter((e) => expects(e, block.code))) {
        for (const pattern of expected.stdout) expect(result.stdout, shown).toMatch(pattern);
      }
      ran++;
      report.push(`${where}: ran`);
    }
    console.log(`README sh blocks: ${blocks.length}, ran ${ran}\n  ${report.join('\n  ')}`);
    expect(ran).toBeGreaterThanOrEqual(EXPECTED.length - (postgres ? 0 : 1));
    // The server logged no failure while the blocks ran against it.
    expect(server.stdout()).not.toMatch(/"level":5\d/);
  }, 300_000);
});
