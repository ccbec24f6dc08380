import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cliEnv, runCli } from './helpers/cli.js';

const SERVER = resolve(dirname(fileURLToPath(import.meta.url)), '..');

describe('the tessera command as npm links it', () => {
  const manifest = JSON.parse(readFileSync(join(SERVER, 'package.json'), 'utf8')) as {
    bin: Record<string, string>;
    files: string[];
  };

  it('points at a file committed as executable, which npm can link before anything is built', () => {
    // npm links workspace bins before the root `prepare` builds dist/, and links nothing to a
    // missing file: a bin under dist/ left `npx tessera` "not found" after the first npm ci.
    const bin = manifest.bin.tessera ?? '';
    expect(bin).not.toMatch(/^(\.\/)?dist\//);
    const staged = execFileSync('git', ['ls-files', '--stage', '--', bin], { cwd: SERVER, encoding: 'utf8' });
    expect(staged, `${bin} is tracked by git`).toMatch(/^100755 /);
    expect(manifest.files).toContain(bin.split('/')[0]);
    expect(readFileSync(join(SERVER, bin), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
  });

  it('runs the CLI through the committed launcher', () => {
    const out = execFileSync(process.execPath, [join(SERVER, manifest.bin.tessera ?? ''), '--help'], {
      encoding: 'utf8',
    });
    expect(out).toContain('Usage: tessera');
    expect(out).toContain('master-key');
  });
});

describe('tessera master-key generate', () => {
  it('prints a different 32-byte base64 key each time, which the server accepts as TESSERA_MASTER_KEY', async () => {
    const cwd = SERVER;
    const first = await runCli(['master-key', 'generate'], { cwd, env: cliEnv() });
    const second = await runCli(['master-key', 'generate'], { cwd, env: cliEnv() });
    expect(first.code).toBe(0);
    expect(first.stderr).toBe('');
    expect(first.stdout).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    expect(Buffer.from(first.stdout.trim(), 'base64')).toHaveLength(32);
    expect(second.stdout).not.toBe(first.stdout);
    // Accepted where the key is checked: an in-memory SQLite database keeps the test hermetic.
    const listed = await runCli(['user', 'list', '--database', ':memory:'], {
      cwd,
      env: cliEnv({ TESSERA_MASTER_KEY: first.stdout.trim() }),
    });
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
  });
});
