import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

// The README's way to use the client before it is published: `npm pack -w packages/client` in
// the clone, then `npm install <tarball>` in another project. The tarball has no dependencies,
// so the install needs no registry (--offline makes sure of it).
describe('installing @tessera/client from the tarball the README makes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-client-install-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('packs, installs into an empty project, and imports by its package name', () => {
    const readme = readFileSync(join(REPO, 'packages/client/README.md'), 'utf8');
    expect(readme).toContain('npm pack -w packages/client');
    const packed = join(dir, 'packed');
    mkdirSync(packed);
    execFileSync('npm', ['pack', '-w', 'packages/client', '--pack-destination', packed, '--silent'], {
      cwd: REPO,
      stdio: 'pipe',
    });
    mkdirAndWrite(join(dir, 'app', 'package.json'), '{"name":"app","private":true,"type":"module"}\n');
    const [tarball] = readdirSync(packed);
    expect(tarball).toMatch(/^tessera-client-\d+\.\d+\.\d+\.tgz$/);
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', join(packed, tarball ?? '')], {
      cwd: join(dir, 'app'),
      stdio: 'pipe',
    });
    writeFileSync(
      join(dir, 'app', 'check.mjs'),
      "import { Client, TokenAuthentication, isHTTPError } from '@tessera/client';\n" +
        'console.log(typeof Client, typeof TokenAuthentication, typeof isHTTPError);\n',
    );
    const out = execFileSync(process.execPath, ['check.mjs'], { cwd: join(dir, 'app'), encoding: 'utf8' });
    expect(out).toBe('function function function\n');
  }, 60_000);
});

function mkdirAndWrite(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}
