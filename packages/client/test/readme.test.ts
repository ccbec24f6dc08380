import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../../server/test/helpers/harness.js';
import { buildClient } from './helpers.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const run = promisify(execFile);

/** The README's runnable ```js examples, keyed by the heading above each. */
function examples(): { title: string; code: string }[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const found: { title: string; code: string }[] = [];
  for (const section of readme.split(/^### /m).slice(1)) {
    const title = section.slice(0, section.indexOf('\n'));
    const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
    if (code?.includes("from '@tessera/client'")) found.push({ title, code });
  }
  return found;
}

describe('the README examples', () => {
  let server: TestServer;
  let dir: string;
  let keys: { apiKey: string; apiSecret: string };
  beforeAll(async () => {
    dir = buildClient();
    server = await startServer('sqlite');
    const user = await server.createUser('user', 'userpassword', { admin: true });
    keys = await server.tessera.issuer.generateApiKeys(user.id, { actorId: null });
  }, 60_000);
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await server.close();
  });

  it('has one example for each of seeds 000, 002, 003 and 004 and for JWTs', () => {
    expect(examples().map((e) => e.title.slice(0, 8))).toEqual([
      'Seed 000',
      'Seed 002',
      'Seed 003',
      'Seed 004',
      'Tessera ',
    ]);
  });

  it('runs every example against a real Tessera without an error', async () => {
    const outputs: string[] = [];
    for (const [i, example] of examples().entries()) {
      const file = join(dir, `example-${i}.mjs`);
      // The package name points at this build of it, not at whatever dist/ holds.
      const entry = pathToFileURL(join(dir, 'index.js')).href;
      writeFileSync(file, example.code.replaceAll("from '@tessera/client'", `from '${entry}'`));
      const { stdout } = await run(process.execPath, [file], {
        env: {
          ...process.env,
          TESSERA_URL: server.url,
          TESSERA_API_KEY: keys.apiKey,
          TESSERA_API_SECRET: keys.apiSecret,
        },
        timeout: 20_000,
      });
      outputs.push(stdout);
    }
    expect(outputs[0]).toContain("[ 'sessionid', 'csrftoken' ]");
    expect(outputs[0]).toContain('logged out:');
    expect(outputs[1]).toContain('{ username: null }');
    expect(outputs[2]).toContain("{ message: 'user' }\n{ message: 'user' }");
    expect(outputs[3]).toMatch(/username: 'user'[\s\S]*Token token="[A-Za-z0-9+/=]+"/);
    expect(outputs[4]).toContain("kind: 'jwt'");
  }, 60_000);
});
